r"""Mode-collapse metrics exactly as VEEGAN and PacGAN report them.

Given generated samples :math:`x_1..x_N` (the papers use :math:`N = 2500`) and mode centres
:math:`\mu_1..\mu_M` of common standard deviation :math:`\sigma`:

* a sample is **high quality** if :math:`\min_k \lVert x_i-\mu_k\rVert \le 3\sigma` (VEEGAN);
* a mode is **captured** if at least one high-quality sample has it as its nearest mode;
* the **reverse KL** (PacGAN) is :math:`\sum_k p_k \log(p_k / (1/M))`, where :math:`p_k` is
  the fraction of high-quality samples whose nearest mode is :math:`k` (0 for a uniform
  spread, :math:`\log M` when every high-quality sample sits in one mode).

Dtypes: samples and centres of any floating dtype are upcast to float64 for the distances, so
fp16 samples are scored without rounding the distances.
"""
from __future__ import annotations

import numbers
import math

import torch

__all__ = ["mode_metrics"]


def mode_metrics(samples: torch.Tensor, centers: torch.Tensor, std: float) -> dict:
    """``modes`` captured, ``high_quality`` fraction in [0, 1], ``reverse_kl`` and ``counts``.

    ``reverse_kl`` is ``inf`` when no sample is high quality (the histogram is undefined).
    """
    if not isinstance(samples, torch.Tensor) or not isinstance(centers, torch.Tensor):
        raise TypeError(
            f"samples and centers must be torch.Tensors, got {type(samples).__name__} "
            f"and {type(centers).__name__}"
        )
    if samples.ndim != 2 or centers.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"samples (N, d) and centers (M, d) must share d, got shapes "
            f"{tuple(samples.shape)} and {tuple(centers.shape)}"
        )
    if len(samples) == 0 or len(centers) == 0:
        raise ValueError(
            f"samples and centers must be non-empty, got {len(samples)} and {len(centers)}"
        )
    if isinstance(std, bool) or not isinstance(std, numbers.Real):
        raise TypeError(f"std must be a real number, got {std!r}")
    if not std > 0:
        raise ValueError(f"std must be positive, got {std}")
    distance = torch.cdist(samples.double(), centers.double())
    nearest_distance, nearest = distance.min(dim=1)
    high_quality = nearest_distance <= 3 * std
    counts = torch.bincount(nearest[high_quality], minlength=len(centers))
    n_hq = int(high_quality.sum())
    if n_hq == 0:
        reverse_kl = math.inf
    else:
        p = counts.double() / n_hq
        p = p[p > 0]
        reverse_kl = float((p * torch.log(p * len(centers))).sum())
    return {
        "modes": int((counts > 0).sum()),
        "high_quality": n_hq / len(samples),
        "reverse_kl": reverse_kl,
        "counts": counts,
    }
