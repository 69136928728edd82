r"""Adam (Kingma & Ba, 2015) and its AMSGrad variant (Reddi, Kale & Kumar, 2018).

Adam keeps two exponentially weighted averages per coordinate: of the gradient (momentum, the
first moment) and of the squared gradient (RMSProp's denominator, the second moment). Both start
at zero, so early averages are biased toward zero; dividing by :math:`1-\beta^t` removes that
bias. AMSGrad divides by the running *maximum* of the second moment so the effective learning
rate never grows, which repairs Adam's non-convergence counterexample.

Dtypes: as for every optimizer here (see :mod:`dlnotes.optim`): the update runs in each
parameter's own dtype, half precision included, with no float32 accumulation; complex
parameters are handled as torch does (as pairs of reals where the rule is not linear in g).
"""
from __future__ import annotations

import math

import torch

from ._base import Optimizer, betas_pair, flag, next_step, non_negative

__all__ = ["Adam"]


class Adam(Optimizer):
    r"""Adam, with optional AMSGrad and L2 or decoupled weight decay.

    .. math::

        g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1}
            \qquad (\text{L2; decoupled: } \theta_{t-1} \leftarrow (1-\eta\lambda)\,\theta_{t-1}) \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
        \hat m_t &= \frac{m_t}{1-\beta_1^t}, \qquad
        \hat v_t = \frac{v_t}{1-\beta_2^t}
        \qquad (\text{AMSGrad: } \hat v_t = \frac{\max(v_1,\dots,v_t)}{1-\beta_2^t}) \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    Matches: ``torch.optim.Adam(params, lr, betas, eps, weight_decay, amsgrad, maximize=...,
    decoupled_weight_decay=..., foreach=False)``.

    Differences: AMSGrad's paper takes the maximum of :math:`\hat v` and has no bias
    correction; torch (and this class) take the maximum of the raw :math:`v_t` and then
    bias-correct it. ``weight_decay`` adds :math:`\lambda\theta` to the gradient (L2), which
    then passes through the adaptive denominator; see :class:`AdamW` for the decoupled form.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False):
        defaults = dict(
            lr=non_negative("lr", lr),
            betas=betas_pair(betas),
            eps=non_negative("eps", eps),
            weight_decay=non_negative("weight_decay", weight_decay),
            amsgrad=flag("amsgrad", amsgrad),
            maximize=flag("maximize", maximize),
            decoupled_weight_decay=flag("decoupled_weight_decay", decoupled_weight_decay),
        )
        super().__init__(params, defaults)

    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if "exp_avg" not in state:
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        t = next_step(state)
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.mul_(1 - lr * wd)                                    # theta *= 1 - lr lambda
            else:
                grad = grad.add(p, alpha=wd)                           # g + lambda theta
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(grad, 1 - beta1)                                       # m = b1 m + (1-b1) g
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)            # v = b2 v + (1-b2) g^2
        if group["amsgrad"]:
            v = torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        # sqrt(v_hat) + eps, and m_hat = m / bias_correction1 folded into the scalar step size
        denom = (v.sqrt() / math.sqrt(bias_correction2)).add_(eps)
        p.addcdiv_(m, denom, value=-lr / bias_correction1)             # theta -= lr m_hat / denom
