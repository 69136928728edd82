r"""An exponential moving average (EMA, 指数移动平均) of a model's weights.

SGD's iterates jitter around a minimum; averaging them (Polyak & Juditsky, 1992) cancels part
of the jitter. The EMA keeps a second copy of the weights that trails the trained ones,

.. math:: \theta^{\text{EMA}}_0 = \theta_0, \qquad
          \theta^{\text{EMA}}_t = \text{decay}\cdot\theta^{\text{EMA}}_{t-1} + (1-\text{decay})\cdot\theta_t ,

so step :math:`t-j` carries weight :math:`(1-\text{decay})\,\text{decay}^{j}`: an average over
roughly the last :math:`1/(1-\text{decay})` steps. The notes write the same rule as
:math:`EMA_t = \alpha x_t + (1-\alpha) EMA_{t-1}`, i.e. :math:`\alpha = 1 - \text{decay}`.
The averaged copy is used for evaluation only; training continues on the raw weights.

Dtypes: the average is kept in each parameter's own dtype and device, fp16 and bf16 included:
the floating-point tensors are updated by one fused ``lerp`` in their dtype, as
``torch.optim.swa_utils.get_ema_multi_avg_fn`` does. Buffers are copied (with
``use_buffers=True`` they are averaged too, integer ones truncated to their dtype).
"""
from __future__ import annotations

import copy
import itertools
import numbers

import torch
from torch import nn

__all__ = ["EMA"]


class EMA(nn.Module):
    r"""Keep ``module``, a copy of ``model`` whose weights are the EMA of ``model``'s weights.

    Call :meth:`update_parameters` after every optimizer step. The first call copies the
    weights; each later call applies, to every parameter (and, with ``use_buffers``, every
    buffer such as BatchNorm's ``running_mean``)

    .. math:: \theta^{\text{EMA}} \leftarrow \theta^{\text{EMA}} + (1-\text{decay})\,(\theta - \theta^{\text{EMA}}).

    Without ``use_buffers`` the buffers are copied from ``model`` at every update.
    ``forward`` runs the averaged copy.

    Matches: ``torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=use_buffers)``,
    step for step.
    Differences: integer buffers (``num_batches_tracked``) are averaged and truncated, exactly
    as ``get_ema_multi_avg_fn`` does, so with ``use_buffers`` they lag the model's count.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, use_buffers: bool = False):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if isinstance(decay, bool) or not isinstance(decay, numbers.Real):
            raise TypeError(f"decay must be a float in [0, 1], got {type(decay).__name__}")
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"decay must be in [0, 1], got {decay}")
        self.module = copy.deepcopy(model)
        self.module.requires_grad_(False)
        self.decay = float(decay)
        self.use_buffers = bool(use_buffers)
        self.register_buffer("n_averaged", torch.tensor(0, dtype=torch.long))

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _tensors(self, model: nn.Module):
        if self.use_buffers:
            return itertools.chain(model.parameters(), model.buffers())
        return model.parameters()

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """Fold the current weights of ``model`` (same architecture as ``module``) into the average."""
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        pairs = list(itertools.zip_longest(self._tensors(self.module), self._tensors(model)))
        if any(a is None or b is None or a.shape != b.shape for a, b in pairs):
            raise ValueError("model must have the same parameters and buffers (names and shapes) as the averaged copy")
        pairs = [(ema_t, t.detach().to(ema_t.device)) for ema_t, t in pairs]
        if self.n_averaged == 0:
            for ema_t, t in pairs:
                ema_t.copy_(t)
        else:
            floats = [(ema_t, t) for ema_t, t in pairs if ema_t.is_floating_point() or ema_t.is_complex()]
            if floats:  # one fused lerp over every float tensor, as get_ema_multi_avg_fn does
                torch._foreach_lerp_([ema_t for ema_t, _ in floats], [t for _, t in floats], 1.0 - self.decay)
            for ema_t, t in pairs:
                if not (ema_t.is_floating_point() or ema_t.is_complex()):
                    ema_t.copy_(ema_t * self.decay + t * (1.0 - self.decay))
        if not self.use_buffers:
            for ema_b, b in zip(self.module.buffers(), model.buffers()):
                ema_b.copy_(b.detach().to(ema_b.device))
        self.n_averaged += 1
