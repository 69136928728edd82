r"""Small data sets for the generalization chapter, generated or shipped with scikit-learn.

* polynomial regression data, :math:`y = \sum_k c_k x^k + \varepsilon`, the classic
  under/overfitting example (fit it with polynomials of growing degree);
* scikit-learn's 1,797 handwritten digits (8×8, values 0..16) as tensors;
* augmentations (数据增强) written with torch ops: shifts and small rotations, drawn per image.

Dtypes: generated data is float64 by default (``dtype=`` picks another floating dtype); the
digits come as float32 (or the requested floating dtype) with int64 labels. Polynomial features
and the augmentations compute in their input's own dtype and device.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["polynomial_features", "polynomial_data", "load_digits_tensors", "affine", "random_augment"]

DEFAULT_COEF = (0.5, 1.2, -3.4, 2.8)  # a cubic with two bends on [-1, 1]


def _check_count(n, name: str, low: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(n).__name__}")
    if n < low:
        raise ValueError(f"{name} must be at least {low}, got {n}")
    return int(n)


def polynomial_features(x: torch.Tensor, degree: int) -> torch.Tensor:
    r"""The Vandermonde matrix :math:`[1, x, x^2, \dots, x^{\text{degree}}]` of a 1-D ``x``.

    Matches: ``sklearn.preprocessing.PolynomialFeatures(degree).fit_transform(x[:, None])``.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D, got shape {tuple(x.shape)}")
    degree = _check_count(degree, "degree", 0)
    return x.unsqueeze(1) ** torch.arange(degree + 1, device=x.device)


def polynomial_data(n: int, coef=DEFAULT_COEF, noise: float = 0.2, seed: int | None = None,
                    dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``n`` points :math:`x \sim U[-1, 1]`, :math:`y = \sum_k \text{coef}_k x^k + \varepsilon`,
    :math:`\varepsilon \sim \mathcal N(0, \text{noise}^2)`. Returns ``(x, y)``, both of shape ``(n,)``.

    The noise variance :math:`\text{noise}^2` is the lowest mean squared error any model can
    reach on fresh data (the Bayes error).
    """
    n = _check_count(n, "n", 1)
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not noise >= 0:
        raise ValueError(f"noise must be a non-negative float, got {noise!r}")
    coef = torch.as_tensor(coef, dtype=dtype)
    if coef.ndim != 1 or coef.numel() == 0:
        raise ValueError(f"coef must be a non-empty 1-D sequence, got shape {tuple(coef.shape)}")
    generator = torch.Generator()
    generator.manual_seed(seed) if seed is not None else generator.seed()
    x = torch.rand(n, generator=generator, dtype=dtype) * 2 - 1
    y = polynomial_features(x, coef.numel() - 1) @ coef
    return x, y + noise * torch.randn(n, generator=generator, dtype=dtype)


def load_digits_tensors(dtype: torch.dtype = torch.float32, images: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits: ``X`` of shape ``(1797, 64)`` (or ``(1797, 8, 8)`` with ``images``)
    scaled to [0, 1] by dividing by 16, and integer labels ``y`` (``torch.long``).

    Matches: ``sklearn.datasets.load_digits()`` (``data / 16``, ``target``).
    """
    from sklearn.datasets import load_digits

    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    digits = load_digits()
    X = torch.as_tensor(digits.images if images else digits.data, dtype=dtype) / 16
    return X, torch.as_tensor(digits.target, dtype=torch.long)


def _as_batch(images: torch.Tensor, name: str = "images") -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(images).__name__}")
    if not images.is_floating_point():
        raise ValueError(f"{name} must have a floating dtype, got {images.dtype}")
    if images.ndim not in (3, 4):
        raise ValueError(f"{name} must have shape (N, H, W) or (N, C, H, W), got {tuple(images.shape)}")
    return images if images.ndim == 4 else images.unsqueeze(1)


def affine(images: torch.Tensor, angle: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    r"""Rotate each image by ``angle[i]`` degrees (counter-clockwise about its centre) and then
    move it by ``shift[i] = (dx, dy)`` pixels (right, down), with bilinear interpolation and
    zeros outside the image. Output pixel :math:`p` reads the input at
    :math:`R(-\text{angle})(p - c - \text{shift}) + c`, :math:`c` the centre.

    Matches: ``scipy.ndimage.shift(image, (dy, dx), order=1, mode="grid-constant")`` for pure
    shifts and ``scipy.ndimage.rotate(image, angle, reshape=False, order=1, mode="grid-constant")``
    for pure rotations of square images.
    """
    x = _as_batch(images)
    n, _, h, w = x.shape
    angle = torch.as_tensor(angle, dtype=x.dtype, device=x.device).reshape(-1)
    shift = torch.as_tensor(shift, dtype=x.dtype, device=x.device).reshape(-1, 2)
    for name, t in (("angle", angle), ("shift", shift)):
        if len(t) not in (1, n):
            raise ValueError(f"{name} must hold one value per image ({n}) or one for all, got {len(t)}")
    if n == 0:
        return x.clone()
    angle, shift = angle.expand(n), shift.expand(n, 2)
    theta = angle * (math.pi / 180)
    cos, sin = torch.cos(theta), torch.sin(theta)
    # affine_grid works in normalized coordinates ([-1, 1] across each axis), y pointing down;
    # a counter-clockwise turn on screen is a clockwise turn in those coordinates.
    sx, sy = 2 * shift[:, 0] / w, 2 * shift[:, 1] / h
    ratio = h / w
    row0 = torch.stack([cos, -sin * ratio, -(cos * sx - sin * ratio * sy)], dim=1)
    row1 = torch.stack([sin / ratio, cos, -(sin / ratio * sx + cos * sy)], dim=1)
    grid = F.affine_grid(torch.stack([row0, row1], dim=1), list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.reshape(images.shape)


def random_augment(images: torch.Tensor, max_shift: int = 1, max_angle: float = 15.0,
                   generator: torch.Generator | None = None,
                   image_shape: tuple[int, int] | None = None) -> torch.Tensor:
    r"""Random shift by whole pixels in :math:`\{-\text{max\_shift},\dots,\text{max\_shift}\}^2`
    and rotation by :math:`U[-\text{max\_angle}, \text{max\_angle}]` degrees, drawn per image.

    Flattened images (``(N, H*W)``) are accepted when ``image_shape=(H, W)`` is given; the
    result has the input's shape.
    """
    max_shift = _check_count(max_shift, "max_shift", 0)
    if isinstance(max_angle, bool) or not isinstance(max_angle, numbers.Real) or not 0 <= max_angle <= 180:
        raise ValueError(f"max_angle must be a number of degrees in [0, 180], got {max_angle!r}")
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    x = images
    if image_shape is not None:
        if images.ndim != 2 or images.shape[1] != math.prod(image_shape):
            raise ValueError(f"images must have shape (N, {math.prod(image_shape)}) for image_shape={image_shape}, "
                             f"got {tuple(images.shape)}")
        x = images.reshape(len(images), *image_shape)
    n = len(x)
    shift = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=generator).to(x.device)
    angle = ((torch.rand(n, generator=generator) * 2 - 1) * max_angle).to(x.device)
    return affine(x, angle, shift).reshape(images.shape)
