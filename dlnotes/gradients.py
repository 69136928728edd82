r"""Derivatives three ways: by finite differences, by autograd, and along a direction.

For a scalar function :math:`f:\mathbb{R}^n\to\mathbb{R}` and a unit vector :math:`u`,

.. math::

    D_u f(x) = \lim_{t\to 0}\frac{f(x + t u) - f(x)}{t}
             = \nabla f(x)\cdot u = \lVert\nabla f(x)\rVert \cos\theta ,

where :math:`\theta` is the angle between :math:`\nabla f(x)` and :math:`u`. The functions
here compute each side *independently*, so the chapter can measure that they agree instead
of assuming it.

Dtypes: ``x`` is a float32 or float64 tensor; use float64 for checks. Finite differences
refuse float16 and bfloat16 with a ``TypeError`` rather than compute in float64 behind the
caller's back: a step small enough for a derivative is below their resolution
(:math:`1 + 10^{-6}` rounds to 1 in both), so they would return zeros and
:func:`check_gradient` would report an error of 1 on a correct gradient. Cast ``x`` (and
the model) to float64 to check a half-precision function. The default step ``eps`` depends
on the dtype (:func:`default_eps`).
"""
from __future__ import annotations

import math
import numbers
from typing import Callable

import torch

__all__ = ["default_eps", "numerical_gradient", "gradient", "directional_derivative", "check_gradient"]

ScalarFn = Callable[[torch.Tensor], torch.Tensor]

_HALF = (torch.float16, torch.bfloat16)


def default_eps(dtype: torch.dtype) -> float:
    r"""The central-difference step used when ``eps`` is not given.

    The error of a central difference is about
    :math:`\epsilon_\text{mach}|f|/h + h^2|f^{(3)}|/6`, smallest near
    :math:`h = \epsilon_\text{mach}^{1/3}`: ``1e-6`` in float64 (close to
    :math:`6\cdot 10^{-6}`, and the value every check here was written with) and
    :math:`\epsilon_\text{mach}^{1/3} \approx 4.9\cdot 10^{-3}` in float32, where ``1e-6``
    would leave only one significant digit. Half precision is refused.
    """
    if dtype == torch.float64:
        return 1e-6
    if dtype == torch.float32:
        return torch.finfo(torch.float32).eps ** (1 / 3)
    raise TypeError(f"dtype must be torch.float32 or torch.float64 for finite differences, got {dtype}")


def _check_eps(eps, x: torch.Tensor) -> float:
    if x.dtype in _HALF:
        raise TypeError(
            f"x must be float32 or float64 for finite differences, got {x.dtype}: a step small "
            "enough for a derivative is below half precision's resolution; use x.double()"
        )
    if eps is None:
        return default_eps(x.dtype)
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be a positive number or None, got {type(eps).__name__}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    return float(eps)


def _check_point(x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"x must have a floating-point dtype, got {x.dtype}")
    if x.numel() == 0:
        raise ValueError("x must have at least one element, got an empty tensor")
    return x.detach()


def _check_fn(f) -> None:
    if not callable(f):
        raise TypeError(f"f must be callable as f(x), got {type(f).__name__}")


def _scalar(y, where: str) -> torch.Tensor:
    if not isinstance(y, torch.Tensor):
        raise ValueError(f"f must return a scalar tensor {where}, got {type(y).__name__}")
    if y.numel() != 1:
        raise ValueError(
            f"f must return a scalar (one element) {where}, got shape {tuple(y.shape)}; "
            "reduce it first (e.g. .sum()) or differentiate each output separately"
        )
    return y.reshape(())


def numerical_gradient(f: ScalarFn, x: torch.Tensor, eps: float | None = None) -> torch.Tensor:
    r"""Gradient of a scalar ``f`` at ``x`` by central differences.

    .. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + \epsilon e_i) - f(x - \epsilon e_i)}{2\epsilon}

    The truncation error is :math:`O(\epsilon^2)`; use float64 (rounding error grows like
    :math:`\text{machine eps}/\epsilon`). ``eps=None`` is :func:`default_eps` of ``x``'s
    dtype (1e-6 in float64); float16/bfloat16 raise ``TypeError``. Costs :math:`2n`
    evaluations of ``f``.

    Matches: ``torch.autograd.functional.jacobian(f, x)`` for smooth ``f``, to about 1e-8 in float64.
    """
    _check_fn(f)
    x = _check_point(x)
    eps = _check_eps(eps, x)
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
    _check_fn(f)
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


def check_gradient(f: ScalarFn, x: torch.Tensor, eps: float | None = None) -> float:
    r"""Largest error between the autograd gradient and central differences, relative to the gradient's size.

    .. math:: \frac{\max_i |g_i - n_i|}{\max(\max_i |g_i|,\ \max_i |n_i|)}

    with :math:`g = \nabla f(x)` from autograd and :math:`n` from :func:`numerical_gradient`
    (0 when both are exactly zero). Dividing by the largest entry, not entry by entry, keeps
    tiny gradient entries, where both methods agree only in absolute terms, from dominating.
    In float64 a correct gradient of a smooth function gives about 1e-7 or less, in float32
    (with its default ``eps``) about 1e-4; a wrong backward gives values of order 1.
    float16/bfloat16 ``x`` raise ``TypeError`` (see the module docstring).

    Matches (as a pass/fail test): ``torch.autograd.gradcheck``.
    """
    _check_eps(eps, _check_point(x))
    g = gradient(f, x)
    n = numerical_gradient(f, x, eps=eps)
    scale = max(g.abs().max().item(), n.abs().max().item())
    if scale == 0:
        return 0.0
    return ((g - n).abs().max() / scale).item()
