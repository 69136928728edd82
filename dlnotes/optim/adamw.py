r"""AdamW (Loshchilov & Hutter, 2019): Adam with weight decay decoupled from the gradient.

With Adam, an L2 penalty :math:`\tfrac{\lambda}{2}\lVert\theta\rVert^2` enters the gradient and is
then divided by :math:`\sqrt{\hat v}`, so weights with large gradients are barely decayed.
AdamW shrinks the weights directly, :math:`\theta \leftarrow (1-\eta\lambda)\theta`, outside the
adaptive step, which restores the meaning of weight decay.

Dtypes: as for every optimizer here (see :mod:`dlnotes.optim`): the update runs in each
parameter's own dtype, half precision included, with no float32 accumulation; complex
parameters are handled as torch does (as pairs of reals where the rule is not linear in g).
"""
from __future__ import annotations

from ._base import flag, non_negative
from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""AdamW: :class:`Adam` with decoupled weight decay.

    .. math::

        \theta_{t-1} &\leftarrow (1 - \eta\lambda)\, \theta_{t-1} \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    with :math:`\hat m_t, \hat v_t` as in :class:`Adam` (computed from the raw gradient).

    Matches: ``torch.optim.AdamW(params, lr, betas, eps, weight_decay, amsgrad, maximize=...,
    foreach=False)``, and ``torch.optim.Adam(..., decoupled_weight_decay=True)``.

    Differences: the paper decays by :math:`\eta_t\lambda` with a schedule multiplier
    :math:`\eta_t` separate from the learning rate; torch multiplies by ``lr`` itself, so the
    decay per step scales with the learning rate.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps,
                         weight_decay=non_negative("weight_decay", weight_decay),
                         amsgrad=flag("amsgrad", amsgrad), maximize=maximize,
                         decoupled_weight_decay=True)
