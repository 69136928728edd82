r"""Weight initialization that keeps the signal's variance from layer to layer.

For a linear layer :math:`y = Wx` with i.i.d. zero-mean weights of variance :math:`\sigma_W^2`
and inputs of variance :math:`\operatorname{Var}[x]`,

.. math:: \operatorname{Var}[y_i] = n_\text{in}\,\sigma_W^2\,\operatorname{Var}[x], \qquad
          \operatorname{Var}\Bigl[\frac{\partial L}{\partial x_j}\Bigr]
          = n_\text{out}\,\sigma_W^2\,\operatorname{Var}\Bigl[\frac{\partial L}{\partial y}\Bigr].

Keeping both factors near 1 (forward and backward) is what stops activations and gradients
from shrinking or growing geometrically with depth. Glorot & Bengio (2010) compromise between
the two: :math:`\sigma_W^2 = 2/(n_\text{in}+n_\text{out})`. He et al. (2015) account for ReLU
zeroing half its inputs: :math:`\sigma_W^2 = 2/n_\text{in}`. A *gain* rescales the standard
deviation for the non-linearity that follows (:func:`calculate_gain`).

A uniform distribution :math:`U(-a, a)` has variance :math:`a^2/3`, so the uniform variants use
:math:`a = \sqrt3\,\sigma_W`.

Dtypes: the fill functions sample in place in the tensor's own floating-point dtype and
device, as ``torch.nn.init`` does (half precision included: the draw is torch's, rounded to
the dtype); the standard deviation itself is a Python float.
"""
from __future__ import annotations

import math
import numbers

import torch

__all__ = [
    "calculate_gain", "fan_in_and_fan_out", "init_std",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d",
           "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
NONLINEARITIES = _LINEAR + ("sigmoid", "tanh", "relu", "leaky_relu", "selu")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""Recommended gain :math:`g` (the standard deviation is multiplied by it).

    ============== ==========================================
    linear, conv*  :math:`1`
    sigmoid        :math:`1`
    tanh           :math:`5/3`
    relu           :math:`\sqrt2` (ReLU halves the second moment)
    leaky_relu     :math:`\sqrt{2/(1+k^2)}`, :math:`k` = ``param`` (default 0.01)
    selu           :math:`3/4`
    ============== ==========================================

    Matches: ``torch.nn.init.calculate_gain(nonlinearity, param)``.
    """
    if not isinstance(nonlinearity, str) or nonlinearity not in NONLINEARITIES:
        raise ValueError(
            f"nonlinearity must be one of {', '.join(NONLINEARITIES)}, got {nonlinearity!r}"
        )
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    if param is None:
        negative_slope = 0.01
    elif isinstance(param, bool) or not isinstance(param, numbers.Real) or not math.isfinite(param):
        raise ValueError(f"param (the negative slope) must be a finite number, got {param!r}")
    else:
        negative_slope = float(param)
    return math.sqrt(2.0 / (1 + negative_slope**2))


def fan_in_and_fan_out(tensor: torch.Tensor) -> tuple[int, int]:
    r"""Fan-in and fan-out of a weight of shape ``(out, in, *kernel)``.

    .. math:: n_\text{in} = \text{in}\cdot\prod \text{kernel},\qquad
              n_\text{out} = \text{out}\cdot\prod \text{kernel}

    Matches: ``torch.nn.init._calculate_fan_in_and_fan_out(tensor)``.
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dim() < 2:
        raise ValueError(
            f"tensor must have at least 2 dimensions (out, in, ...) to have a fan-in and "
            f"fan-out, got shape {tuple(tensor.shape)}"
        )
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _check_gain(gain) -> float:
    if isinstance(gain, bool) or not isinstance(gain, numbers.Real) or not math.isfinite(gain):
        raise TypeError(f"gain must be a finite real number, got {gain!r}")
    if gain < 0:
        raise ValueError(f"gain must be non-negative, got {gain}")
    return float(gain)


def _check_mode(mode) -> str:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return mode


def init_std(tensor: torch.Tensor, scheme: str, gain: float = 1.0, mode: str = "fan_in") -> float:
    r"""The standard deviation a scheme gives the weights of ``tensor``.

    .. math:: \sigma_\text{xavier} = g\sqrt{\frac{2}{n_\text{in}+n_\text{out}}},\qquad
              \sigma_\text{kaiming} = \frac{g}{\sqrt{n_\text{mode}}}

    ``scheme`` is ``"xavier"`` or ``"kaiming"``; ``mode`` (``"fan_in"`` or ``"fan_out"``) is used
    by Kaiming only. The sampling functions below all draw from this number.
    """
    if scheme not in ("xavier", "kaiming"):
        raise ValueError(f"scheme must be 'xavier' or 'kaiming', got {scheme!r}")
    gain, mode = _check_gain(gain), _check_mode(mode)
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    fan = fan_in + fan_out if scheme == "xavier" else (fan_in if mode == "fan_in" else fan_out)
    if fan == 0:
        which = "fan_in + fan_out" if scheme == "xavier" else mode
        raise ValueError(f"tensor of shape {tuple(tensor.shape)} has {which} = 0, so the {scheme} "
                         "standard deviation (which divides by it) is undefined")
    if scheme == "xavier":
        return gain * math.sqrt(2.0 / fan)
    return gain / math.sqrt(fan)


def _fill(tensor, scheme: str, gain: float, mode: str, uniform: bool, generator) -> torch.Tensor:
    """Sample ``tensor`` in place from U(-sqrt(3) std, sqrt(3) std) or N(0, std^2)."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    _check_gain(gain), _check_mode(mode)
    if tensor.dim() >= 2 and tensor.numel() == 0:
        return tensor  # nothing to fill (torch warns and returns too)
    std = init_std(tensor, scheme, gain, mode)
    with torch.no_grad():
        if uniform:
            bound = math.sqrt(3.0) * std  # Var U(-a, a) = a^2 / 3
            return tensor.uniform_(-bound, bound, generator=generator)
        return tensor.normal_(0, std, generator=generator)


def xavier_uniform_(tensor: torch.Tensor, gain: float = 1.0,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Glorot/Xavier uniform, in place: :math:`W\sim U(-a, a)`, :math:`a = g\sqrt{6/(n_\text{in}+n_\text{out})}`.

    Matches: ``torch.nn.init.xavier_uniform_(tensor, gain, generator)`` (same numbers for the
    same generator state).
    """
    return _fill(tensor, "xavier", gain, "fan_in", True, generator)


def xavier_normal_(tensor: torch.Tensor, gain: float = 1.0,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Glorot/Xavier normal, in place: :math:`W\sim\mathcal N(0, \sigma^2)`, :math:`\sigma = g\sqrt{2/(n_\text{in}+n_\text{out})}`.

    Matches: ``torch.nn.init.xavier_normal_(tensor, gain, generator)``.
    """
    return _fill(tensor, "xavier", gain, "fan_in", False, generator)


def kaiming_uniform_(tensor: torch.Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: torch.Generator | None = None) -> torch.Tensor:
    r"""He/Kaiming uniform, in place: :math:`W\sim U(-b, b)`, :math:`b = g\sqrt{3/n_\text{mode}}`.

    With ``nonlinearity="relu"`` (:math:`g=\sqrt2`), :math:`\operatorname{Var}W = 2/n_\text{in}`.
    ``a`` is the negative slope of a following leaky ReLU.

    Matches: ``torch.nn.init.kaiming_uniform_(tensor, a, mode, nonlinearity, generator)``.
    Differences: torch's default ``nonlinearity="leaky_relu"`` with ``a=0`` equals ``"relu"``;
    ``nn.Linear`` itself uses ``a=sqrt(5)``, i.e. :math:`\operatorname{Var}W = 1/(3n_\text{in})`.
    """
    return _fill(tensor, "kaiming", calculate_gain(nonlinearity, a), mode, True, generator)


def kaiming_normal_(tensor: torch.Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: torch.Generator | None = None) -> torch.Tensor:
    r"""He/Kaiming normal, in place: :math:`W\sim\mathcal N(0,\sigma^2)`, :math:`\sigma = g/\sqrt{n_\text{mode}}`.

    For ReLU, :math:`\sigma = \sqrt{2/n_\text{in}}`: that is the *standard deviation*; the
    variance is :math:`2/n_\text{in}`.

    Matches: ``torch.nn.init.kaiming_normal_(tensor, a, mode, nonlinearity, generator)``.
    """
    return _fill(tensor, "kaiming", calculate_gain(nonlinearity, a), mode, False, generator)
