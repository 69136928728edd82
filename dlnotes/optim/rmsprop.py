r"""RMSProp (Hinton, Coursera lecture 6e, 2012): AdaGrad with a forgetting accumulator.

Replacing AdaGrad's sum of squared gradients by an exponentially weighted average keeps the
denominator at the scale of *recent* gradients (a window of about :math:`1/(1-\alpha)` steps),
so the effective learning rate stops shrinking. The centered variant (Graves, 2013) divides by
an estimate of the gradient's standard deviation instead of its root mean square.

Dtypes: as for every optimizer here (see :mod:`dlnotes.optim`): the update runs in each
parameter's own dtype, half precision included, with no float32 accumulation; complex
parameters are handled as torch does (as pairs of reals where the rule is not linear in g).
"""
from __future__ import annotations

import torch

from ._base import Optimizer, flag, in_unit_interval, non_negative

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSProp, optionally centered and with momentum.

    .. math::

        g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        s_t &= \alpha\, s_{t-1} + (1-\alpha)\, g_t^2 \\
        \bar g_t &= \alpha\, \bar g_{t-1} + (1-\alpha)\, g_t \qquad\text{(centered only)} \\
        r_t &= \sqrt{s_t - \bar g_t^2} + \epsilon \ \text{(centered)}, \qquad
        r_t = \sqrt{s_t} + \epsilon \ \text{(otherwise)} \\
        b_t &= \mu\, b_{t-1} + g_t / r_t, \qquad \theta_t = \theta_{t-1} - \eta\, b_t
        \qquad (\mu > 0) \\
        \theta_t &= \theta_{t-1} - \eta\, g_t / r_t \qquad (\mu = 0)

    Matches: ``torch.optim.RMSprop(params, lr, alpha, eps, weight_decay, momentum, centered,
    maximize=..., foreach=False)``.

    Differences: the notes call :math:`\alpha` "gamma" and give it the default 0.9 (torch: 0.99,
    a ten times longer memory), write :math:`\sqrt{s_t + \epsilon}` with
    :math:`\epsilon = 10^{-6}` or :math:`10^{-8}` (torch: :math:`\sqrt{s_t} + 10^{-8}`) and a default
    learning rate of 0.001 (torch: 0.01).
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False):
        defaults = dict(
            lr=non_negative("lr", lr),
            alpha=in_unit_interval("alpha", alpha, include_one=True),
            eps=non_negative("eps", eps),
            weight_decay=non_negative("weight_decay", weight_decay),
            momentum=non_negative("momentum", momentum),
            centered=flag("centered", centered),
            maximize=flag("maximize", maximize),
        )
        super().__init__(params, defaults)

    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        alpha, eps, mu = group["alpha"], group["eps"], group["momentum"]
        if "square_avg" not in state:
            state["step"] = torch.tensor(0.0)
            state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            if mu > 0:
                state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            if group["centered"]:
                state["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        s = state["square_avg"]
        s.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)          # s = alpha s + (1-alpha) g^2
        if group["centered"]:
            g_bar = state["grad_avg"]
            g_bar.lerp_(grad, 1 - alpha)                              # g_bar = alpha g_bar + (1-alpha) g
            r = s.addcmul(g_bar, g_bar, value=-1).sqrt_().add_(eps)   # sqrt(s - g_bar^2) + eps
        else:
            r = s.sqrt().add_(eps)                                    # sqrt(s) + eps
        if mu > 0:
            b = state["momentum_buffer"]
            b.mul_(mu).addcdiv_(grad, r)                              # b = mu b + g / r
            p.add_(b, alpha=-group["lr"])
        else:
            p.addcdiv_(grad, r, value=-group["lr"])                   # theta -= lr g / r
