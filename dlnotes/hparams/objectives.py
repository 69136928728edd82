r"""Objectives for the distributed-tuning section: module-level, so worker processes can import them.

The Branin function (Dixon & Szegő 1978), a standard test of global optimizers,

.. math:: f(x_1, x_2) = \Big(x_2 - \frac{5.1}{4\pi^2}x_1^2 + \frac5\pi x_1 - 6\Big)^2
          + 10\Big(1 - \frac1{8\pi}\Big)\cos x_1 + 10,

on :math:`x_1\in[-5, 10]`, :math:`x_2\in[0, 15]`, has three global minima of value
:math:`0.397887` (at :math:`(-\pi, 12.275)`, :math:`(\pi, 2.275)`, :math:`(9.42478, 2.475)`).

Dtypes: ``branin`` takes Python or NumPy reals and returns a Python float (float64).
"""
from __future__ import annotations

import math
import numbers
import time

__all__ = ["BRANIN_MINIMUM", "branin", "branin_objective", "slow_branin_objective"]

BRANIN_MINIMUM = 0.397887


def branin(x1: float, x2: float) -> float:
    """The Branin function (minimum 0.397887).

    Matches: ``0.397887`` at ``(math.pi, 2.275)``.
    """
    for name, value in (("x1", x1), ("x2", x2)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {value!r}")
    b, c = 5.1 / (4 * math.pi ** 2), 5 / math.pi
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def branin_objective(trial) -> float:
    """Minimize :func:`branin` over its usual box."""
    return branin(trial.suggest_float("x1", -5.0, 10.0), trial.suggest_float("x2", 0.0, 15.0))


def slow_branin_objective(trial) -> float:
    """:func:`branin_objective` that takes 0.3 s, like a short training run, so that a worker can
    be stopped in the middle of a trial."""
    value = branin_objective(trial)
    time.sleep(0.3)
    return value
