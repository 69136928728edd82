r"""AdaGrad (Duchi, Hazan & Singer, 2011): a learning rate per coordinate.

Each coordinate's step is divided by the root of the sum of its squared gradients so far, so
coordinates with large or frequent gradients slow down and rare ones keep large steps. The sum
only grows, so the effective learning rate :math:`\eta/\sqrt{G_t}` decays toward zero: the
weakness RMSProp and AdaDelta fix.

Dtypes: as for every optimizer here (see :mod:`dlnotes.optim`): the update runs in each
parameter's own dtype, half precision included, with no float32 accumulation; complex
parameters are handled as torch does (as pairs of reals where the rule is not linear in g).
"""
from __future__ import annotations

import torch

from ._base import Optimizer, flag, next_step, non_negative

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""AdaGrad.

    .. math::

        g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        \tilde\eta_t &= \frac{\eta}{1 + (t-1)\,\delta} \\
        G_t &= G_{t-1} + g_t^2, \qquad G_0 = \text{initial\_accumulator\_value} \\
        \theta_t &= \theta_{t-1} - \tilde\eta_t\, \frac{g_t}{\sqrt{G_t} + \epsilon}

    with ``lr`` :math:`\eta` and ``lr_decay`` :math:`\delta`.

    Matches: ``torch.optim.Adagrad(params, lr, lr_decay, weight_decay,
    initial_accumulator_value, eps, maximize=..., foreach=False)``.

    Differences: the notes write :math:`\eta / \sqrt{G_t + \epsilon}` (epsilon inside the
    root); torch adds :math:`\epsilon` (default 1e-10) outside. The two differ only while
    :math:`G_t` is of order :math:`\epsilon`.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False):
        defaults = dict(
            lr=non_negative("lr", lr),
            lr_decay=non_negative("lr_decay", lr_decay),
            weight_decay=non_negative("weight_decay", weight_decay),
            initial_accumulator_value=non_negative("initial_accumulator_value",
                                                   initial_accumulator_value),
            eps=non_negative("eps", eps),
            maximize=flag("maximize", maximize),
        )
        super().__init__(params, defaults)

    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        if "sum" not in state:
            state["sum"] = torch.full_like(p, group["initial_accumulator_value"],
                                           memory_format=torch.preserve_format)
        t = next_step(state)
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        lr_t = group["lr"] / (1 + (t - 1) * group["lr_decay"])
        G = state["sum"]
        G.addcmul_(grad, grad)                                      # G_t = G + g^2
        p.addcdiv_(grad, G.sqrt().add_(group["eps"]), value=-lr_t)  # theta -= lr g / (sqrt(G) + eps)
