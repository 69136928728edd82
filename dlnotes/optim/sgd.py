r"""Stochastic gradient descent with momentum and Nesterov momentum.

Plain SGD (Robbins & Monro, 1951) steps against the gradient of a minibatch; heavy-ball momentum
(Polyak, 1964) keeps a running sum of past gradients so that directions that agree add up and
oscillating directions cancel; Nesterov momentum (Nesterov, 1983; Sutskever et al., 2013) takes
the gradient at the point the momentum is about to carry us to.

Dtypes: as for every optimizer here (see :mod:`dlnotes.optim`): the update runs in each
parameter's own dtype, half precision included, with no float32 accumulation; complex
parameters are handled as torch does (as pairs of reals where the rule is not linear in g).
"""
from __future__ import annotations

import torch

from ._base import Optimizer, flag, non_negative, real

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""SGD with optional momentum, dampening, L2 weight decay and Nesterov momentum.

    .. math::

        g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        b_t &= \begin{cases} g_t & t = 1 \\ \mu\, b_{t-1} + (1-\tau)\, g_t & t > 1 \end{cases} \\
        d_t &= \begin{cases} g_t + \mu\, b_t & \text{nesterov} \\ b_t & \text{otherwise} \end{cases} \\
        \theta_t &= \theta_{t-1} - \eta\, d_t

    with learning rate :math:`\eta` (``lr``), momentum :math:`\mu`, dampening :math:`\tau`
    and weight decay :math:`\lambda`. With :math:`\mu = 0` this is plain SGD.

    Matches: ``torch.optim.SGD(params, lr, momentum, dampening, weight_decay, nesterov,
    maximize=..., foreach=False)``.

    Differences: the notes write momentum as :math:`v_t = \gamma v_{t-1} + \eta g_t`,
    :math:`\theta_t = \theta_{t-1} - v_t` (the learning rate inside the buffer; see
    :class:`dlnotes.optim.MomentumTextbook`); torch keeps :math:`\eta` outside, so the two agree
    only while :math:`\eta` is constant. The first step sets :math:`b_1 = g_1` without
    dampening, so ``dampening=momentum`` is *not* an exponential average started at zero.
    Nesterov here is torch's reformulation, which tracks the look-ahead point
    (see :class:`dlnotes.optim.NesterovLookahead`).
    """

    complex_as_real = False  # linear in g: complex arithmetic as it stands, as torch does

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False):
        defaults = dict(
            lr=non_negative("lr", lr),
            momentum=non_negative("momentum", momentum),
            dampening=real("dampening", dampening),
            weight_decay=non_negative("weight_decay", weight_decay),
            nesterov=flag("nesterov", nesterov),
            maximize=flag("maximize", maximize),
        )
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "nesterov=True needs momentum > 0 and dampening == 0, "
                f"got momentum={momentum}, dampening={dampening}"
            )
        super().__init__(params, defaults)

    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])       # g + lambda theta
        if mu != 0:
            b = state.get("momentum_buffer")
            if b is None:
                b = state["momentum_buffer"] = grad.clone()        # b_1 = g_1
            else:
                b.mul_(mu).add_(grad, alpha=1 - tau)               # b_t = mu b + (1 - tau) g
            grad = grad.add(b, alpha=mu) if group["nesterov"] else b
        p.add_(grad, alpha=-lr)                                     # theta -= lr d
