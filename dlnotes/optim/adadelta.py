r"""AdaDelta (Zeiler, 2012): RMSProp whose step size is a running RMS of past steps.

AdaDelta divides the gradient by the RMS of recent gradients, as RMSProp does, but multiplies it
by the RMS of recent *updates* instead of a learning rate, so that the update has the units of
the parameter. The paper has no learning rate; torch adds one (``lr``, default 1.0) that simply
scales every step, and the notes' claim that AdaDelta "has no learning rate" holds only at
``lr=1``.

Dtypes: as for every optimizer here (see :mod:`dlnotes.optim`): the update runs in each
parameter's own dtype, half precision included, with no float32 accumulation; complex
parameters are handled as torch does (as pairs of reals where the rule is not linear in g).
"""
from __future__ import annotations

import torch

from ._base import Optimizer, flag, in_unit_interval, non_negative

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""AdaDelta.

    .. math::

        g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        s_t &= \rho\, s_{t-1} + (1-\rho)\, g_t^2 \\
        \Delta x_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{s_t + \epsilon}}\, g_t \\
        u_t &= \rho\, u_{t-1} + (1-\rho)\, \Delta x_t^2 \\
        \theta_t &= \theta_{t-1} - \eta\, \Delta x_t

    with :math:`s_0 = u_0 = 0`; the paper's rule is :math:`\eta = 1`.

    Matches: ``torch.optim.Adadelta(params, lr, rho, eps, weight_decay, maximize=...,
    foreach=False)``.

    Differences: the notes (seed B §7.4) say AdaDelta has no learning rate; torch's ``lr``
    multiplies :math:`\Delta x_t` after :math:`u_t` is updated, so ``lr != 1`` changes the
    trajectory while the accumulator :math:`u` keeps recording the unscaled step.
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False):
        defaults = dict(
            lr=non_negative("lr", lr),
            rho=in_unit_interval("rho", rho, include_one=True),
            eps=non_negative("eps", eps),
            weight_decay=non_negative("weight_decay", weight_decay),
            maximize=flag("maximize", maximize),
        )
        super().__init__(params, defaults)

    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        rho, eps = group["rho"], group["eps"]
        if "square_avg" not in state:
            state["step"] = torch.tensor(0.0)
            state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["acc_delta"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        s, u = state["square_avg"], state["acc_delta"]
        s.mul_(rho).addcmul_(grad, grad, value=1 - rho)          # s = rho s + (1-rho) g^2
        delta_x = u.add(eps).sqrt_().div_(s.add(eps).sqrt_()).mul_(grad)  # sqrt(u+eps)/sqrt(s+eps) g
        u.mul_(rho).addcmul_(delta_x, delta_x, value=1 - rho)    # u = rho u + (1-rho) dx^2
        p.add_(delta_x, alpha=-group["lr"])                      # theta -= lr dx
