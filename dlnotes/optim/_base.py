"""What every optimizer here shares: hyperparameter checks and the loop over parameters.

Each optimizer subclasses :class:`Optimizer` and writes only ``update``: the rule for one
parameter tensor, read off its paper. The loop, the closure and ``maximize`` live here once.

Dtypes: as for every optimizer here (see :mod:`dlnotes.optim`): the update runs in each
parameter's own dtype, half precision included, with no float32 accumulation; complex
parameters are handled as torch does (as pairs of reals where the rule is not linear in g).
"""
from __future__ import annotations

import math
import numbers
from typing import Callable, Optional

import numpy as np
import torch


def real(name: str, value) -> float:
    """``value`` as a float (NumPy scalars too); ``TypeError`` for anything that is not a real number."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value}")
    return float(value)


def non_negative(name: str, value) -> float:
    value = real(name, value)
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    return value


def in_unit_interval(name: str, value, include_one: bool = False) -> float:
    """``value`` in [0, 1) (or [0, 1] with ``include_one``): a decay rate."""
    value = real(name, value)
    if not (0 <= value < 1 or (include_one and value == 1)):
        interval = "[0, 1]" if include_one else "[0, 1)"
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return value


def betas_pair(betas) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    return in_unit_interval("betas[0]", betas[0]), in_unit_interval("betas[1]", betas[1])


def flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


class Optimizer(torch.optim.Optimizer):
    r"""A ``torch.optim.Optimizer`` whose subclasses write one method, ``update``.

    ``step`` evaluates the closure (if any) with gradients enabled, then calls
    ``update(p, grad, state, group)`` under ``no_grad`` for every parameter that has a
    gradient, with ``grad`` already negated when the group says ``maximize``.
    ``state_dict`` / ``load_state_dict`` are torch's own; state keys use torch's names, so a
    torch optimizer's state loads into ours and back.

    Complex parameters are updated as torch does: the parameter, its gradient and its state
    are viewed as real tensors with a trailing dimension of 2 (``torch.view_as_real``), so
    the real and imaginary parts are two independent real coordinates (Adam's second moment
    holds :math:`(\operatorname{Re} g)^2` and :math:`(\operatorname{Im} g)^2`, not :math:`g^2`).
    The state stays complex, as torch stores it. A rule that is linear in the gradient (SGD)
    sets ``complex_as_real = False`` and runs on the complex tensors directly, as torch's does.
    """

    complex_as_real = True

    def update(self, p: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define update()")

    def _update(self, p: torch.Tensor, grad: torch.Tensor, group: dict) -> None:
        """``update`` for one parameter, through real views when it is complex."""
        state = self.state[p]
        if not (p.is_complex() and self.complex_as_real):
            self.update(p, grad, state, group)
            return
        p_real = torch.view_as_real(p)
        views = {k: torch.view_as_real(v) if torch.is_tensor(v) and v.is_complex() else v
                 for k, v in state.items()}
        self.update(p_real, torch.view_as_real(grad.resolve_conj()), views, group)
        for k, v in views.items():  # state the update created: store it complex, like p
            is_pair = torch.is_tensor(v) and not v.is_complex() and v.shape == p_real.shape
            state[k] = torch.view_as_complex(v.contiguous()) if is_pair else v

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], torch.Tensor]] = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                grad = -p.grad if group["maximize"] else p.grad
                self._update(p, grad, group)
        return loss


def next_step(state: dict) -> int:
    """Advance the step counter ``t`` (kept as a tensor, as torch keeps it) and return it."""
    if "step" not in state:
        state["step"] = torch.tensor(0.0)
    state["step"] += 1
    return int(state["step"].item())
