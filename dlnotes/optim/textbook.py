r"""The momentum rules as the notes write them, next to torch's reformulations.

The notes (seed B §7.1, seed E Q48) write heavy-ball momentum with the learning rate *inside*
the velocity, :math:`v_t = \gamma v_{t-1} + \eta g_t`, and seed D also uses the exponential
average :math:`m_t = \beta m_{t-1} + (1-\beta) g_t`. Nesterov's method is usually taught as
"take the gradient at the look-ahead point :math:`\theta + \gamma v`" (Sutskever et al., 2013),
which costs moving the parameters before every gradient; torch stores the look-ahead point
itself and needs no second evaluation. These classes implement the textbook forms literally so
the tests and the chapter can measure when they coincide with ``torch.optim.SGD``.

Dtypes: as for every optimizer here (see :mod:`dlnotes.optim`): the update runs in each
parameter's own dtype, half precision included, with no float32 accumulation; complex
parameters are handled as torch does (as pairs of reals where the rule is not linear in g).
"""
from __future__ import annotations

from typing import Callable

import torch

from ._base import Optimizer, flag, in_unit_interval, non_negative

__all__ = ["MomentumTextbook", "NesterovLookahead"]


class MomentumTextbook(Optimizer):
    r"""Heavy-ball momentum in the notes' form.

    .. math::

        v_t &= \gamma\, v_{t-1} + \eta\, g_t, \qquad \theta_t = \theta_{t-1} - v_t
        \qquad (\text{ema=False, seeds B, E}) \\
        v_t &= \gamma\, v_{t-1} + (1-\gamma)\, g_t, \qquad \theta_t = \theta_{t-1} - \eta\, v_t
        \qquad (\text{ema=True, seed D})

    with :math:`v_0 = 0`.

    Matches: while ``lr`` stays constant, ``ema=False`` gives exactly the iterates of
    ``torch.optim.SGD(params, lr, momentum=gamma)`` (its buffer is :math:`v_t/\eta`), and
    ``ema=True`` those of ``torch.optim.SGD(params, lr * (1 - gamma), momentum=gamma)``.

    Differences: when ``lr`` changes between steps, ``ema=False`` keeps the old learning rate
    inside :math:`v`, while torch applies the new one to the whole buffer; and
    ``SGD(lr, momentum=gamma, dampening=gamma)`` is *not* ``ema=True``, because torch's first
    step sets the buffer to :math:`g_1`, not :math:`(1-\gamma) g_1`.
    """

    complex_as_real = False  # linear in g

    def __init__(self, params, lr: float = 1e-3, gamma: float = 0.9, ema: bool = False):
        defaults = dict(lr=non_negative("lr", lr), gamma=in_unit_interval("gamma", gamma),
                        ema=flag("ema", ema), maximize=False)
        super().__init__(params, defaults)

    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        lr, gamma = group["lr"], group["gamma"]
        v = state.setdefault("velocity", torch.zeros_like(p))
        if group["ema"]:
            v.mul_(gamma).add_(grad, alpha=1 - gamma)     # v = gamma v + (1-gamma) g
            p.add_(v, alpha=-lr)                          # theta -= lr v
        else:
            v.mul_(gamma).add_(grad, alpha=lr)            # v = gamma v + lr g
            p.sub_(v)                                     # theta -= v


class NesterovLookahead(Optimizer):
    r"""Nesterov momentum as taught: the gradient is taken at the look-ahead point.

    .. math::

        v_t = \gamma\, v_{t-1} - \eta\, \nabla f(\theta_{t-1} + \gamma\, v_{t-1}), \qquad
        \theta_t = \theta_{t-1} + v_t

    (Sutskever, Martens, Dahl & Hinton, 2013, eq. 3-4). ``step`` needs a ``closure`` that
    zeroes the gradients, recomputes the loss and calls ``backward()``: it moves the parameters
    to :math:`\theta + \gamma v`, evaluates the closure there, moves them back, and updates.
    It returns the loss at the look-ahead point.

    Matches: with constant ``lr``, ``torch.optim.SGD(params, lr, momentum=gamma,
    nesterov=True)`` produces exactly :math:`\phi_t = \theta_t + \gamma v_t`, this method's
    look-ahead points (Bengio, Boulanger-Lewandowski & Pascanu, 2013).

    Differences: with a changing ``lr`` the two drift apart, because :math:`v` keeps past
    learning rates and torch's buffer does not.
    """

    complex_as_real = False  # linear in g

    def __init__(self, params, lr: float = 1e-3, gamma: float = 0.9):
        defaults = dict(lr=non_negative("lr", lr), gamma=in_unit_interval("gamma", gamma),
                        maximize=False)
        super().__init__(params, defaults)

    def _shift(self, sign: float) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                v = self.state[p].get("velocity")
                if v is not None:
                    p.add_(v, alpha=sign * group["gamma"])

    def step(self, closure: Callable[[], torch.Tensor] | None = None):
        if closure is None:
            raise ValueError("closure is required: NesterovLookahead evaluates the gradient "
                             "at the look-ahead point, got closure=None")
        with torch.no_grad():
            self._shift(+1.0)                             # theta + gamma v
        try:
            with torch.enable_grad():
                loss = closure()
        finally:  # back to theta, even when the closure raises
            with torch.no_grad():
                self._shift(-1.0)
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self._update(p, p.grad, group)
        return loss

    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        v = state.setdefault("velocity", torch.zeros_like(p))
        v.mul_(group["gamma"]).add_(grad, alpha=-group["lr"])   # v = gamma v - lr grad
        p.add_(v)                                               # theta += v
