r"""The 2-D benchmarks of the mode-collapse literature, and digits scaled for a tanh generator.

VEEGAN (Srivastava et al., 2017) and PacGAN (Lin et al., 2018) use two mixtures of Gaussians:

* **ring**: 8 modes at angles :math:`2\pi k/8`, :math:`k=0,\dots,7`, on the unit circle,
  standard deviation 0.01;
* **grid**: 25 modes at :math:`\{-4,-2,0,2,4\}^2`, standard deviation 0.05.

Each mode has equal weight. A common bug builds the ring with ``linspace(0, 2*pi, 8)``, whose
first and last angles give the same point: 7 distinct modes, not 8.

Dtypes: mode centres are laid out in float64 and samples drawn in float64, then returned in the
requested ``dtype`` (float32 by default); the digits are float32 unless another dtype is asked for.
"""
from __future__ import annotations

import numbers
import functools
import math

import torch

__all__ = ["BENCHMARKS", "ring_centers", "grid_centers", "centers", "sample_mixture", "digits"]

BENCHMARKS = {"ring": {"n_modes": 8, "std": 0.01}, "grid": {"n_modes": 25, "std": 0.05}}


def ring_centers(n_modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    r"""Centres :math:`r(\cos 2\pi k/n, \sin 2\pi k/n)`, :math:`k=0..n-1`, shape ``(n, 2)``."""
    if isinstance(n_modes, bool) or not isinstance(n_modes, numbers.Integral):
        raise TypeError(f"n_modes must be an int, got {type(n_modes).__name__}")
    if n_modes < 1:
        raise ValueError(f"n_modes must be at least 1, got {n_modes}")
    if isinstance(radius, bool) or not isinstance(radius, numbers.Real):
        raise TypeError(f"radius must be a real number, got {radius!r}")
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius}")
    angle = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    return radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)


def grid_centers(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    r"""Centres of a ``side`` x ``side`` grid centred at 0 (``{-4,-2,0,2,4}^2`` by default)."""
    if isinstance(side, bool) or not isinstance(side, numbers.Integral):
        raise TypeError(f"side must be an int, got {type(side).__name__}")
    if side < 1:
        raise ValueError(f"side must be at least 1, got {side}")
    if isinstance(spacing, bool) or not isinstance(spacing, numbers.Real):
        raise TypeError(f"spacing must be a real number, got {spacing!r}")
    if not spacing > 0:
        raise ValueError(f"spacing must be positive, got {spacing}")
    axis = spacing * (torch.arange(side, dtype=torch.float64) - (side - 1) / 2)
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


@functools.lru_cache(maxsize=None)
def _centers(name: str) -> torch.Tensor:
    return ring_centers() if name == "ring" else grid_centers()


def centers(name: str) -> torch.Tensor:
    """The mode centres of benchmark ``name`` (``"ring"`` or ``"grid"``)."""
    if name not in BENCHMARKS:
        raise ValueError(f"name must be one of {sorted(BENCHMARKS)}, got {name!r}")
    return _centers(name).clone()


def sample_mixture(
    name: str, n: int, generator: torch.Generator | None = None, dtype=torch.float32, device=None
) -> torch.Tensor:
    r"""``n`` samples of benchmark ``name``: a uniformly chosen centre plus :math:`\mathcal N(0, \sigma^2 I)`.

    ``device``: where the samples (and the draws) are made; ``generator`` must live there too.
    """
    mu = centers(name)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    mu = mu.to(device)
    k = torch.randint(len(mu), (n,), generator=generator, device=mu.device)
    noise = torch.randn(n, 2, generator=generator, dtype=torch.float64, device=mu.device)
    return (mu[k] + BENCHMARKS[name]["std"] * noise).to(dtype)


def digits(scale: str = "tanh", dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    r"""scikit-learn's 1,797 8x8 digits, flattened to 64 features, and their labels.

    ``scale="tanh"`` maps the pixel range [0, 16] to [-1, 1] (:math:`x/8 - 1`, the
    ``(images - 127.5) / 127.5`` of 8-bit images), the range of a tanh output layer;
    ``scale="raw"`` keeps [0, 16].
    """
    from sklearn.datasets import load_digits

    if scale not in ("tanh", "raw"):
        raise ValueError(f"scale must be 'tanh' or 'raw', got {scale!r}")
    bunch = load_digits()
    x = torch.as_tensor(bunch.data, dtype=dtype)
    if scale == "tanh":
        x = x / 8.0 - 1.0
    return x, torch.as_tensor(bunch.target)


BOX = {"ring": 1.5, "grid": 5.0}  # half-widths: the square each benchmark's modes sit in


def box_noise(name: str, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    r"""The baseline a generator has to beat: ``n`` points uniform on the square :math:`[-a, a]^2`.

    :math:`a` = ``BOX[name]``: 5 for the grid (a cell of side 2 around each of its 25 centres), 1.5
    for the ring. A point is high quality with probability :math:`M\pi(3\sigma)^2/(2a)^2` (1.77 % on
    the grid, 0.25 % on the ring), and each mode is captured with probability :math:`1-(1-p)^n`,
    :math:`p = \pi(3\sigma)^2/(2a)^2`: noise "captures" about 21 of the grid's 25 modes from 2,500 points.
    """
    if name not in BENCHMARKS:
        raise ValueError(f"name must be one of {sorted(BENCHMARKS)}, got {name!r}")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    a = BOX[name]
    return a * (2 * torch.rand(n, 2, generator=generator, device=device) - 1)
