r"""fp8 training's recipe: e4m3 for the forward pass, e5m2 for gradients, one scale per tensor.

Micikevicius et al. (2022), *FP8 formats for deep learning*: e4m3 (max 448, :math:`\epsilon = 2^{-3}`)
has the precision weights and activations need; e5m2 (max 57,344, :math:`\epsilon = 2^{-2}`)
has the range gradients need. Neither covers a tensor's values unscaled, so each tensor
:math:`x` is multiplied by a power-of-two scale chosen from its largest magnitude before the
cast, and divided by it afterwards (delayed scaling uses the amax of earlier steps; this is
the current-tensor version):

.. math:: s = 2^{\lfloor \log_2(\text{max}_{fmt} / \operatorname{amax}(x)) \rfloor - \text{margin}},
          \qquad \hat x = \operatorname{round}_{fmt}(s\,x) / s

A power of two changes only the exponent, so scaling itself loses nothing.

Dtypes: ``x`` is a floating-point tensor of any dtype; it is scaled and rounded from float32,
and the dequantized result is float32. The scale is a Python float (a power of two).
"""
from __future__ import annotations

import math
import numbers

import torch

from .formats import FormatLike, get_format, round_to

__all__ = ["per_tensor_scale", "fp8_quantize"]


def per_tensor_scale(x: torch.Tensor, fmt: FormatLike, margin: int = 0) -> float:
    r"""The power-of-two scale that maps :math:`\operatorname{amax}(x)` just below the format's max.

    Returns 1.0 for an all-zero tensor. Matches: Transformer Engine's
    ``2 ** (floor(log2(fp8_max / amax)) - margin)``.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if isinstance(margin, bool) or not isinstance(margin, numbers.Integral) or margin < 0:
        raise ValueError(f"margin must be a non-negative int, got {margin!r}")
    f = get_format(fmt)
    amax = x.detach().abs().max().item() if x.numel() else 0.0
    if not math.isfinite(amax):
        raise ValueError(f"x must be finite to choose a scale, got amax {amax}")
    if amax == 0:
        return 1.0
    return 2.0 ** (math.floor(math.log2(f.max / amax)) - int(margin))


def fp8_quantize(x: torch.Tensor, fmt: FormatLike = "e4m3", scaled: bool = True, margin: int = 0):
    r"""``x`` cast to ``fmt`` and back to float32, with a per-tensor scale (or none).

    Returns ``(x_hat, scale)``: :math:`\hat x = \operatorname{round}_{fmt}(s x)/s`.

    Matches: ``(x * scale).to(fmt_dtype).float() / scale`` with ``scale = per_tensor_scale(x, fmt)``.
    """
    if not isinstance(scaled, bool):
        raise TypeError(f"scaled must be a bool, got {type(scaled).__name__}")
    scale = per_tensor_scale(x, fmt, margin) if scaled else 1.0
    q = round_to(x.detach().float() * scale, fmt).reshape(x.shape).to(x.device)
    return q / scale, scale
