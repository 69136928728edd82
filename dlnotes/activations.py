r"""Activation functions from scratch, each with its derivative written out by hand.

A network without a non-linearity between its layers is one linear map, however deep; the
activation is what makes depth worth having. Its derivative is what back-propagation
multiplies into the gradient at every layer, so its size decides whether gradients vanish
(sigmoid: :math:`\sigma'(x)\le 1/4`) or pass through unchanged (ReLU: :math:`1` for
:math:`x>0`).

Every function is written so that it cannot overflow: no branch ever evaluates
:math:`e^{x}` for a large positive :math:`x`, so extreme inputs give finite values *and*
finite gradients (a ``torch.where`` whose discarded branch is ``inf`` still poisons the
gradient with ``0 * inf = nan``). NaN stays NaN: a rectifier that mapped NaN to 0 would hide a
diverged run.

Dtypes: any floating-point tensor (float16, bfloat16, float32, float64), on any device; integer,
bool and complex tensors raise ``TypeError``. Half precision (float16, bfloat16) is computed in
float32 and rounded back to the input's dtype once, as torch's kernels do ("opmath"): the
softmax sum over more than 65,504 entries and the cube in the tanh form of GELU would overflow
in float16 otherwise.

References: Glorot & Bengio (2010) for sigmoid/tanh saturation; Nair & Hinton (2010) ReLU;
Maas et al. (2013) leaky ReLU; Clevert et al. (2016) ELU; Ramachandran et al. (2017) Swish;
Hendrycks & Gimpel (2016) GELU.
"""
from __future__ import annotations

import functools
import math
import numbers
from typing import Callable

import torch

__all__ = [
    "sigmoid", "tanh", "relu", "leaky_relu", "elu", "swish", "silu", "gelu",
    "softmax", "log_softmax",
    "sigmoid_derivative", "tanh_derivative", "relu_derivative", "leaky_relu_derivative",
    "elu_derivative", "swish_derivative", "silu_derivative", "gelu_derivative",
    "ACTIVATIONS",
]


_HALF = (torch.float16, torch.bfloat16)


def _check_input(x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"input must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"input must have a floating-point dtype, got {x.dtype}")
    return x


def _opmath(fn: Callable) -> Callable:
    """Run ``fn`` in float32 for half-precision input and round the result back once."""

    @functools.wraps(fn)
    def wrapper(input, *args, **kwargs):
        x = _check_input(input)
        if x.dtype in _HALF:
            return fn(x.float(), *args, **kwargs).to(x.dtype)
        return fn(x, *args, **kwargs)

    return wrapper


def _check_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)


def _check_approximate(approximate) -> str:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return approximate


# --- sigmoid and tanh: the saturating pair -------------------------------------------------

@_opmath
def sigmoid(input: torch.Tensor) -> torch.Tensor:
    r"""Logistic sigmoid, evaluated without overflow.

    .. math:: \sigma(x) = \frac{1}{1+e^{-x}} =
              \begin{cases} \frac{1}{1+e^{-x}} & x \ge 0\\ \frac{e^{x}}{1+e^{x}} & x < 0\end{cases}

    Each branch only ever exponentiates a non-positive number, so nothing overflows.
    (Writing it with :math:`e^{-|x|}` is also stable but gives autograd a zero gradient at 0,
    because the gradient of :math:`|x|` there is taken to be 0.)

    Matches: ``torch.sigmoid(input)``.
    """
    x = _check_input(input)
    pos, neg = x.clamp(min=0), x.clamp(max=0)  # each branch sees only the side it is used on
    return torch.where(x >= 0, 1 / (1 + torch.exp(-pos)), torch.exp(neg) / (1 + torch.exp(neg)))


@_opmath
def sigmoid_derivative(input: torch.Tensor) -> torch.Tensor:
    r""":math:`\sigma'(x) = \sigma(x)\,(1-\sigma(x)) \le \tfrac14`, with equality only at 0.

    Matches: the gradient of ``torch.sigmoid`` by autograd.
    """
    s = sigmoid(input)
    return s * (1 - s)


@_opmath
def tanh(input: torch.Tensor) -> torch.Tensor:
    r"""Hyperbolic tangent, :math:`\tanh x = 2\sigma(2x) - 1`, computed as

    .. math:: \tanh x = \frac{-\operatorname{expm1}(-2x)}{1 + e^{-2x}}\ (x\ge 0),\qquad
              \tanh x = \frac{\operatorname{expm1}(2x)}{1 + e^{2x}}\ (x<0)

    (``expm1`` keeps full relative precision near 0, where :math:`2\sigma(2x)-1` would cancel).

    Matches: ``torch.tanh(input)``.
    """
    x = _check_input(input)
    pos, neg = x.clamp(min=0), x.clamp(max=0)  # each branch sees only the side it is used on
    return torch.where(x >= 0, -torch.expm1(-2 * pos) / (1 + torch.exp(-2 * pos)),
                       torch.expm1(2 * neg) / (1 + torch.exp(2 * neg)))


@_opmath
def tanh_derivative(input: torch.Tensor) -> torch.Tensor:
    r""":math:`\tanh'(x) = 1 - \tanh^2 x \le 1`, with equality only at 0.

    Matches: the gradient of ``torch.tanh`` by autograd.
    """
    t = tanh(input)
    return 1 - t * t


# --- the rectifier family --------------------------------------------------------------------

@_opmath
def relu(input: torch.Tensor) -> torch.Tensor:
    r""":math:`\operatorname{ReLU}(x) = \max(x, 0)`.

    Matches: ``torch.nn.functional.relu(input)``.
    """
    x = _check_input(input)
    return torch.where((x > 0) | torch.isnan(x), x, torch.zeros_like(x))  # NaN stays NaN, as in torch


@_opmath
def relu_derivative(input: torch.Tensor) -> torch.Tensor:
    r""":math:`\operatorname{ReLU}'(x) = \mathbb{1}[x > 0]` (0 at :math:`x=0`, as in torch).

    Matches: the gradient of ``torch.nn.functional.relu`` by autograd.
    Differences: at NaN the derivative is undefined; this gives 0, torch's autograd passes the
    incoming gradient through (1).
    """
    x = _check_input(input)
    return (x > 0).to(x.dtype)


@_opmath
def leaky_relu(input: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    r"""Leaky ReLU, :math:`\max(x, kx)` for :math:`0\le k<1`, i.e.

    .. math:: \operatorname{LeakyReLU}(x) = \begin{cases} x & x > 0\\ k\,x & x \le 0\end{cases}

    Matches: ``torch.nn.functional.leaky_relu(input, negative_slope)``.
    Differences: some notes write it as :math:`\max(kx, 0)`; that is :math:`k\cdot\operatorname{ReLU}(x)`,
    zero for every negative input, and does not leak at all.
    """
    x = _check_input(input)
    k = _check_number(negative_slope, "negative_slope")
    return torch.where(x > 0, x, k * x)


@_opmath
def leaky_relu_derivative(input: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    r""":math:`1` for :math:`x>0`, :math:`k` for :math:`x\le 0`.

    Matches: the gradient of ``torch.nn.functional.leaky_relu`` by autograd.
    """
    x = _check_input(input)
    k = _check_number(negative_slope, "negative_slope")
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, k))


@_opmath
def elu(input: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    r"""Exponential linear unit (Clevert et al., 2016).

    .. math:: \operatorname{ELU}(x) = \begin{cases} x & x > 0\\ \alpha\,(e^{x}-1) & x \le 0\end{cases}

    Matches: ``torch.nn.functional.elu(input, alpha)``.
    """
    x = _check_input(input)
    alpha = _check_number(alpha, "alpha")
    return torch.where(x > 0, x, alpha * torch.expm1(x.clamp(max=0)))


@_opmath
def elu_derivative(input: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    r""":math:`1` for :math:`x>0`, :math:`\alpha e^{x}` for :math:`x\le 0`.

    Matches: the gradient of ``torch.nn.functional.elu`` by autograd.
    """
    x = _check_input(input)
    alpha = _check_number(alpha, "alpha")
    return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(x.clamp(max=0)))


# --- smooth rectifiers -----------------------------------------------------------------------

@_opmath
def swish(input: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    r"""Swish (Ramachandran et al., 2017): :math:`x\,\sigma(\beta x)`; :math:`\beta=1` is SiLU.

    Matches: ``torch.nn.functional.silu(input)`` when ``beta == 1``.
    Differences: torch has no ``beta`` (a learnable :math:`\beta` is a parameter you add).
    """
    x = _check_input(input)
    beta = _check_number(beta, "beta")
    return x * sigmoid(beta * x)


@_opmath
def swish_derivative(input: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    r""":math:`\frac{d}{dx}\,x\sigma(\beta x) = \sigma(\beta x) + \beta x\,\sigma(\beta x)(1-\sigma(\beta x))`."""
    x = _check_input(input)
    beta = _check_number(beta, "beta")
    s = sigmoid(beta * x)
    return s + beta * x * s * (1 - s)


def silu(input: torch.Tensor) -> torch.Tensor:
    r"""SiLU, :math:`x\,\sigma(x)`: Swish with :math:`\beta = 1`.

    Matches: ``torch.nn.functional.silu(input)``.
    """
    return swish(input, 1.0)


def silu_derivative(input: torch.Tensor) -> torch.Tensor:
    r""":math:`\sigma(x)\,(1 + x(1-\sigma(x)))`.

    Matches: the gradient of ``torch.nn.functional.silu`` by autograd.
    """
    return swish_derivative(input, 1.0)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_C = 0.044715
# Past |x| = 30 the tanh form's inner argument exceeds 980 and tanh is exactly +-1 in every
# float format, so clamping there changes no value while keeping x**3 below float16's max.
_GELU_TANH_SATURATES = 30.0


@_opmath
def gelu(input: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    r"""GELU (Hendrycks & Gimpel, 2016): :math:`x\,\Phi(x)`, :math:`\Phi` the standard normal CDF.

    .. math:: \operatorname{GELU}(x) = \tfrac12 x\bigl(1+\operatorname{erf}(x/\sqrt2)\bigr)
              \approx \tfrac12 x\bigl(1+\tanh(\sqrt{2/\pi}\,(x + 0.044715x^3))\bigr)

    Matches: ``torch.nn.functional.gelu(input, approximate=approximate)``.
    """
    x = _check_input(input)
    if _check_approximate(approximate) == "tanh":
        x_c = x.clamp(-_GELU_TANH_SATURATES, _GELU_TANH_SATURATES)  # the cube stays finite
        return 0.5 * x * (1 + tanh(_SQRT_2_OVER_PI * (x_c + _GELU_C * x_c**3)))
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


@_opmath
def gelu_derivative(input: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    r""":math:`\Phi(x) + x\,\varphi(x)` (exact), or the derivative of the tanh form.

    Matches: the gradient of ``torch.nn.functional.gelu`` by autograd.
    Differences: at :math:`\pm\infty` the tanh form's derivative is its limit, 1 or 0, where
    torch's autograd gives NaN.
    """
    x = _check_input(input)
    if _check_approximate(approximate) == "tanh":
        x_c = x.clamp(-_GELU_TANH_SATURATES, _GELU_TANH_SATURATES)  # no inf * 0 past saturation
        inner = _SQRT_2_OVER_PI * (x_c + _GELU_C * x_c**3)
        t = tanh(inner)
        d_inner = _SQRT_2_OVER_PI * (1 + 3 * _GELU_C * x_c**2)
        return 0.5 * (1 + t) + 0.5 * x_c * (1 - t * t) * d_inner
    cdf = 0.5 * (1 + torch.erf(x / math.sqrt(2)))
    pdf = torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return cdf + x * pdf


# --- softmax ---------------------------------------------------------------------------------

def _check_dim(x: torch.Tensor, dim) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    n = max(x.dim(), 1)
    if not -n <= dim < n:
        raise ValueError(f"dim must be in [{-n}, {n - 1}] for a {x.dim()}-d input, got {dim}")
    return dim


@_opmath
def softmax(input: torch.Tensor, dim: int) -> torch.Tensor:
    r"""Softmax along ``dim``, shifted by the maximum so that no exponent is positive.

    .. math:: \operatorname{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}},\qquad m = \max_j x_j

    The shift changes nothing mathematically (it cancels) and keeps every :math:`e^{x_i-m}\le 1`.

    Matches: ``torch.softmax(input, dim)``.
    """
    x = _check_input(input)
    dim = _check_dim(x, dim)
    e = torch.exp(x - x.amax(dim=dim, keepdim=True).detach())
    return e / e.sum(dim=dim, keepdim=True)


@_opmath
def log_softmax(input: torch.Tensor, dim: int) -> torch.Tensor:
    r"""Log-softmax by the log-sum-exp trick; finite even where softmax underflows to 0.

    .. math:: \log\operatorname{softmax}(x)_i = (x_i - m) - \log\sum_j e^{x_j - m}

    Matches: ``torch.log_softmax(input, dim)``.
    """
    x = _check_input(input)
    dim = _check_dim(x, dim)
    shifted = x - x.amax(dim=dim, keepdim=True).detach()
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "sigmoid": (sigmoid, sigmoid_derivative),
    "tanh": (tanh, tanh_derivative),
    "relu": (relu, relu_derivative),
    "leaky_relu": (leaky_relu, leaky_relu_derivative),
    "elu": (elu, elu_derivative),
    "silu": (silu, silu_derivative),
    "gelu": (gelu, gelu_derivative),
}
"""Name → (function, derivative) for every element-wise activation above (default arguments)."""
