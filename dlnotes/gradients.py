r"""Derivatives three ways: by finite differences, by autograd, and along a direction.

For a scalar function :math:`f:\mathbb{R}^n\to\mathbb{R}` and a unit vector :math:`u`,

.. math::

    D_u f(x) = \lim_{t\to 0}\frac{f(x + t u) - f(x)}{t}
             = \nabla f(x)\cdot u = \lVert\nabla f(x)\rVert \cos\theta ,

where :math:`\theta` is the angle between :math:`\nabla f(x)` and :math:`u`. The functions
here compute each side *independently*, so the chapter can measure that they agree instead
of assuming it.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

ScalarFn = Callable[[torch.Tensor], torch.Tensor]


def _check_point(x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"x must have a floating-point dtype, got {x.dtype}")
    if x.numel() == 0:
        raise ValueError("x must have at least one element, got an empty tensor")
    return x.detach()


def _scalar(y, where: str) -> torch.Tensor:
    if not isinstance(y, torch.Tensor):
        raise ValueError(f"f must return a scalar tensor {where}, got {type(y).__name__}")
    if y.numel() != 1:
        raise ValueError(
            f"f must return a scalar (one element) {where}, got shape {tuple(y.shape)}; "
            "reduce it first (e.g. .sum()) or differentiate each output separately"
        )
    return y.reshape(())


def numerical_gradient(f: ScalarFn, x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    r"""Gradient of a scalar ``f`` at ``x`` by central differences.

    .. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + \epsilon e_i) - f(x - \epsilon e_i)}{2\epsilon}

    The truncation error is :math:`O(\epsilon^2)`; use float64 (rounding error grows like
    :math:`\text{machine eps}/\epsilon`). Costs :math:`2n` evaluations of ``f``.

    Matches: ``torch.autograd.functional.jacobian(f, x)`` for smooth ``f``, to about 1e-8 in float64.
    """
    x = _check_point(x)
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    flat = x.reshape(-1)
    grad = torch.empty_like(flat)
    with torch.no_grad():
        for i in range(flat.numel()):
            step = torch.zeros_like(flat)
            step[i] = eps
            f_plus = _scalar(f((flat + step).reshape(x.shape)), "at x + eps e_i")
            f_minus = _scalar(f((flat - step).reshape(x.shape)), "at x - eps e_i")
            grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad.reshape(x.shape)


def gradient(f: ScalarFn, x: torch.Tensor) -> torch.Tensor:
    r"""Gradient :math:`\nabla f(x)` by reverse-mode autograd (one backward pass).

    Matches: ``torch.autograd.grad(f(x), x)[0]``.
    """
    x = _check_point(x).clone().requires_grad_(True)
    y = _scalar(f(x), "at x")
    if not y.requires_grad:  # f does not depend on x
        return torch.zeros_like(x)
    (grad,) = torch.autograd.grad(y, x, allow_unused=True)
    return torch.zeros_like(x) if grad is None else grad


_METHODS = ("forward", "central")


def directional_derivative(f: ScalarFn, x: torch.Tensor, direction: torch.Tensor,
                           method: str = "forward", eps: float | None = None) -> torch.Tensor:
    r"""Rate of change of ``f`` at ``x`` along ``direction`` (normalised to unit length).

    .. math:: D_u f(x) = g'(0), \qquad g(t) = f(x + t u), \qquad u = \frac{d}{\lVert d\rVert_2}

    Computed from the definition, **without reverse-mode autograd**, so that comparing it
    with :math:`\nabla f\cdot u` (which :func:`gradient` gets from a backward pass) tests the
    backward pass instead of repeating it:

    - ``method="forward"``: forward-mode differentiation, one Jacobian-vector product
      ``torch.func.jvp(f, (x,), (u,))``; every operation pushes the tangent :math:`u`
      forwards with its own derivative rule, and no ``backward`` is ever called.
    - ``method="central"``: the central difference
      :math:`\bigl(g(\epsilon) - g(-\epsilon)\bigr)/(2\epsilon)`, refined once by Richardson
      extrapolation, :math:`\bigl(4 D(\epsilon/2) - D(\epsilon)\bigr)/3` (truncation error
      :math:`O(\epsilon^4)`); ``eps`` defaults to :math:`\varepsilon_{mach}^{1/5}` of the dtype
      (about 7e-4 in float64). Uses only evaluations of ``f``.

    Matches: ``torch.func.jvp(f, (x,), (u,))[1]`` (``"forward"``); ``torch.autograd.grad(f(x), x)[0] @ u``
    for a correct backward, to about 1e-15 (``"forward"``) or 1e-9 (``"central"``, float64).
    """
    x = _check_point(x)
    if not isinstance(direction, torch.Tensor):
        raise TypeError(f"direction must be a torch.Tensor, got {type(direction).__name__}")
    if direction.shape != x.shape:
        raise ValueError(
            f"direction must have the shape of x, {tuple(x.shape)}, got {tuple(direction.shape)}"
        )
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    norm = torch.linalg.vector_norm(direction.detach().to(x.dtype))
    if not torch.isfinite(norm) or norm == 0:
        raise ValueError(f"direction must be a finite, non-zero vector, got norm {norm.item()}")
    u = direction.detach().to(x.dtype) / norm
    if method == "forward":
        if eps is not None:
            raise ValueError(f"eps is only used by method='central', got eps={eps} with method='forward'")
        shape_checked = {}

        def g(point):
            y = f(point)
            shape_checked["y"] = _scalar(y, "at x")
            return shape_checked["y"]

        _, dy = torch.func.jvp(g, (x,), (u,))
        return dy.detach().reshape(())
    if eps is None:
        eps = torch.finfo(x.dtype).eps ** 0.2
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0 or not math.isfinite(eps):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    with torch.no_grad():
        def central(h):
            plus = _scalar(f(x + h * u), "at x + eps u")
            minus = _scalar(f(x - h * u), "at x - eps u")
            return (plus - minus) / (2 * h)

        return ((4 * central(eps / 2) - central(eps)) / 3).detach().reshape(())


def check_gradient(f: ScalarFn, x: torch.Tensor, eps: float = 1e-6) -> float:
    r"""Largest error between the autograd gradient and central differences, relative to the gradient's size.

    .. math:: \frac{\max_i |g_i - n_i|}{\max(\max_i |g_i|,\ \max_i |n_i|)}

    with :math:`g = \nabla f(x)` from autograd and :math:`n` from :func:`numerical_gradient`
    (0 when both are exactly zero). Dividing by the largest entry, not entry by entry, keeps
    tiny gradient entries, where both methods agree only in absolute terms, from dominating.
    In float64 a correct gradient of a smooth function gives about 1e-7 or less; a wrong
    backward gives values of order 1.

    Matches (as a pass/fail test): ``torch.autograd.gradcheck``.
    """
    g = gradient(f, x)
    n = numerical_gradient(f, x, eps=eps)
    scale = max(g.abs().max().item(), n.abs().max().item())
    if scale == 0:
        return 0.0
    return ((g - n).abs().max() / scale).item()
