r"""NAdam (Dozat, 2016): Adam with Nesterov momentum.

Nesterov momentum evaluates the step at the point momentum is about to reach. NAdam applies the
same look-ahead to Adam's first moment: the update uses the *next* step's momentum coefficient
on :math:`m_t` plus the current coefficient on the fresh gradient, instead of :math:`\hat m_t`.
Dozat also warms the momentum coefficient up, :math:`\mu_t = \beta_1(1 - \tfrac12\,
0.96^{t\psi})`, with ``momentum_decay`` :math:`\psi`.

Dtypes: as for every optimizer here (see :mod:`dlnotes.optim`): the update runs in each
parameter's own dtype, half precision included, with no float32 accumulation; complex
parameters are handled as torch does (as pairs of reals where the rule is not linear in g).
"""
from __future__ import annotations

import torch

from ._base import Optimizer, betas_pair, flag, next_step, non_negative

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam.

    .. math::

        \mu_t &= \beta_1 \bigl(1 - \tfrac12\, 0.96^{\,t\psi}\bigr), \qquad
        \Pi_t = \prod_{i=1}^{t} \mu_i \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, \qquad
        \hat v_t = \frac{v_t}{1-\beta_2^t} \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{1}{\sqrt{\hat v_t} + \epsilon}
            \left( \frac{(1-\mu_t)\, g_t}{1 - \Pi_t}
                 + \frac{\mu_{t+1}\, m_t}{1 - \Pi_{t+1}} \right)

    with L2 weight decay :math:`g_t \mathrel{+}= \lambda\theta_{t-1}`, or with
    ``decoupled_weight_decay`` :math:`\theta_{t-1} \leftarrow (1-\eta\lambda)\theta_{t-1}`.

    Matches: ``torch.optim.NAdam(params, lr, betas, eps, weight_decay, momentum_decay,
    decoupled_weight_decay, maximize=..., foreach=False)``.

    Differences: the notes (seed D) describe NAdam as Adam evaluated at the look-ahead point
    :math:`w_t - \alpha m_{t-1}/\sqrt{V_t}`; Dozat's rule (above) needs no second gradient
    evaluation, and adds the momentum warm-up :math:`\mu_t`.
    """

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False):
        defaults = dict(
            lr=non_negative("lr", lr),
            betas=betas_pair(betas),
            eps=non_negative("eps", eps),
            weight_decay=non_negative("weight_decay", weight_decay),
            momentum_decay=non_negative("momentum_decay", momentum_decay),
            decoupled_weight_decay=flag("decoupled_weight_decay", decoupled_weight_decay),
            maximize=flag("maximize", maximize),
        )
        super().__init__(params, defaults)

    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        psi = group["momentum_decay"]
        if "exp_avg" not in state:
            state["mu_product"] = torch.tensor(1.0)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        t = next_step(state)
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.mul_(1 - lr * wd)
            else:
                grad = grad.add(p, alpha=wd)
        mu_t = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] *= mu_t                                    # Pi_t
        pi_t = state["mu_product"].item()
        pi_next = pi_t * mu_next                                       # Pi_{t+1}
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = v.div(1 - beta2**t).sqrt_().add_(eps)                  # sqrt(v_hat) + eps
        p.addcdiv_(grad, denom, value=-lr * (1 - mu_t) / (1 - pi_t))
        p.addcdiv_(m, denom, value=-lr * mu_next / (1 - pi_next))
