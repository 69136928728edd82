r"""Second-derivative test: is a critical point a minimum, a maximum or a saddle (鞍点)?

At a point where :math:`\nabla f(x) = 0`, the Taylor expansion
:math:`f(x+h) \approx f(x) + \tfrac12 h^\top H h` is decided by the Hessian :math:`H`'s
eigenvalues: all positive, a strict local minimum; all negative, a strict local maximum; both
signs, a saddle point. If some eigenvalue is zero the test says nothing: :math:`x^4`
(a minimum), :math:`-x^4` (a maximum) and :math:`x^3` (neither) all have :math:`H = 0` at 0.

Dtypes: ``x`` must be floating point; the Hessian and its eigenvalues are computed in ``x``'s
dtype, so use float64 (in half precision the zero-eigenvalue tolerance is meaningless).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ._base import real

__all__ = ["CriticalPoint", "classify_critical_point"]


@dataclass(frozen=True)
class CriticalPoint:
    kind: str                   # "minimum", "maximum", "saddle", "degenerate" or "not critical"
    eigenvalues: torch.Tensor   # of the Hessian, ascending
    grad_norm: float


def classify_critical_point(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                            atol: float = 1e-6) -> CriticalPoint:
    r"""Classify ``x`` by the gradient and the Hessian eigenvalues of scalar ``f`` there.

    .. math::

        \lVert\nabla f(x)\rVert > \text{atol} &\Rightarrow \text{not critical} \\
        \lambda_{\min}(H) > \text{atol} \Rightarrow \text{minimum}, \quad
        \lambda_{\max}(H) < -\text{atol} &\Rightarrow \text{maximum}, \quad
        \lambda_{\min} < -\text{atol} < \text{atol} < \lambda_{\max} \Rightarrow \text{saddle}

    and ``"degenerate"`` otherwise (an eigenvalue within ``atol`` of 0: the test is
    inconclusive). Use float64.

    Matches: ``torch.linalg.eigvalsh(torch.autograd.functional.hessian(f, x))``.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"x must have a floating-point dtype, got {x.dtype}")
    if x.ndim != 1 or x.numel() == 0:
        raise ValueError(f"x must be a non-empty vector (1-D), got shape {tuple(x.shape)}")
    atol = real("atol", atol)
    if not atol > 0:
        raise ValueError(f"atol must be positive, got {atol}")
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    if not isinstance(y, torch.Tensor) or y.numel() != 1:
        raise ValueError(f"f must return a scalar tensor, got {type(y).__name__} "
                         f"{tuple(getattr(y, 'shape', ()))}")
    (grad,) = torch.autograd.grad(y.reshape(()), x)
    hessian = torch.autograd.functional.hessian(lambda z: f(z).reshape(()), x.detach())
    eigenvalues = torch.linalg.eigvalsh((hessian + hessian.T) / 2)
    grad_norm = torch.linalg.vector_norm(grad).item()
    lo, hi = eigenvalues.min().item(), eigenvalues.max().item()
    if grad_norm > atol:
        kind = "not critical"
    elif lo > atol:
        kind = "minimum"
    elif hi < -atol:
        kind = "maximum"
    elif lo < -atol and hi > atol:
        kind = "saddle"
    else:
        kind = "degenerate"
    return CriticalPoint(kind, eigenvalues, grad_norm)
