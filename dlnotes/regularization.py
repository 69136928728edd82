r"""Regularization (正则化): changes to learning that trade training error for generalization error.

Three of them, written from scratch:

* **weight decay (权重衰减)** as an L2 penalty :math:`\tfrac{\lambda}{2}\lVert\theta\rVert^2` added
  to the loss, or as *decoupled* decay :math:`\theta \leftarrow (1-\eta\lambda)\theta` applied
  beside the update (Loshchilov & Hutter, 2019, "Decoupled weight decay regularization").
  Under SGD the two are the same update; under Adam they are not, because Adam divides the
  penalty's gradient :math:`\lambda\theta` by :math:`\sqrt{\hat v}`. Both forms are options of
  :class:`dlnotes.optim.Adam` (``weight_decay`` and ``decoupled_weight_decay``) and :class:`dlnotes.optim.AdamW`.
* **ridge regression**, the closed form of an L2 penalty on a linear model.
* **inverted dropout (倒置丢弃法)** (Srivastava et al., 2014): during training zero each unit with
  probability ``p`` and scale the survivors by :math:`1/(1-p)`, so that the expectation is
  unchanged and evaluation needs no rescaling. :class:`DropConnectLinear` (Wan et al., 2013,
  "Regularization of neural networks using DropConnect") drops *weights* instead of units.

Dtypes: dropout and the L2 penalty work in the input's floating-point dtype (half precision
included). :func:`ridge` solves in float32 or float64: integer inputs become float64 (as
scikit-learn converts them), mixed float dtypes are promoted to the wider one, and float16 /
bfloat16 are solved in float32 (torch's linear algebra has no half-precision kernels); the
coefficients come back in that dtype.
"""
from __future__ import annotations

import math
import numbers
from typing import Iterable

import torch
from torch import nn

__all__ = ["Dropout", "l2_penalty", "ridge"]


def _check_tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    return x


def _check_non_negative(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    if not value >= 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)


def _solve_dtype(X: torch.Tensor, y: torch.Tensor) -> torch.dtype:
    for name, t in (("X", X), ("y", y)):
        if t.is_complex() or t.dtype == torch.bool:
            raise TypeError(f"{name} must hold real numbers, got dtype {t.dtype}")
    dtype = torch.promote_types(X.dtype, y.dtype)
    if not dtype.is_floating_point:
        return torch.float64
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


class Dropout(nn.Module):
    r"""Inverted dropout with drop probability ``p``.

    .. math:: h' = \frac{\xi}{1-p}\, h,\qquad \xi \sim \text{Bernoulli}(1-p)\ \text{i.i.d.},\qquad
              \mathbb{E}[h'] = \frac{1-p}{1-p}\,h = h

    in training; :math:`h' = h` in evaluation (``model.eval()``). ``p`` is the probability
    of *dropping* a unit: the larger ``p``, the stronger the regularization.

    Matches: ``torch.nn.Dropout(p, inplace)`` in distribution (same mask law, scaling and
    eval behaviour; the random draws differ).
    Differences: ``p = 1`` raises here (it would divide by zero; ``nn.Dropout`` returns zeros).
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise TypeError(f"p must be a float in [0, 1), got {type(p).__name__}")
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1), got {p}")
        self.p, self.inplace = float(p), bool(inplace)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        _check_tensor(h, "input")
        if not self.training or self.p == 0.0:
            return h
        keep = torch.rand(h.shape, device=h.device) >= self.p  # P(keep) = 1 - p
        scale = keep.to(h.dtype) / (1.0 - self.p)
        return h.mul_(scale) if self.inplace else h * scale

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class DropConnectLinear(nn.Linear):
    r"""A linear layer whose *weights* are dropped: DropConnect with drop probability ``p``.

    .. math:: y = \Big(\frac{M}{1-p}\odot W\Big)x + b,\qquad M_{ij}\sim\text{Bernoulli}(1-p)\ \text{i.i.d.},
              \qquad \mathbb{E}[y] = Wx + b

    in training, one mask :math:`M` per forward call (per mini-batch); :math:`y = Wx + b` in
    evaluation. Dropout zeroes whole rows of :math:`W` (a unit and all its weights);
    DropConnect zeroes single entries.

    Matches: ``nn.Linear(in_features, out_features, bias)`` in evaluation mode, exactly.
    Differences: Wan et al. draw a mask per example and, at test time, sample from a Gaussian
    moment-matched to the masked sum; the inverted scaling used here makes the plain layer the
    expectation instead.
    """

    def __init__(self, in_features: int, out_features: int, p: float = 0.5, bias: bool = True,
                 device=None, dtype=None):
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise TypeError(f"p must be a float in [0, 1), got {type(p).__name__}")
        if not 0.0 <= p < 1.0:
            raise ValueError(f"DropConnect probability p must be in [0, 1), got {p}")
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_tensor(x, "input")
        if not self.training or self.p == 0.0:
            return nn.functional.linear(x, self.weight, self.bias)
        keep = torch.rand(self.weight.shape, device=self.weight.device) >= self.p
        return nn.functional.linear(x, self.weight * keep.to(self.weight.dtype) / (1.0 - self.p), self.bias)


def l2_penalty(params: Iterable[torch.Tensor], weight_decay: float) -> torch.Tensor:
    r"""The L2 penalty :math:`\tfrac{\lambda}{2}\sum_j \lVert\theta_j\rVert_2^2`, whose gradient is :math:`\lambda\theta`.

    Adding it to the loss and stepping with plain SGD gives exactly
    ``torch.optim.SGD(params, lr, weight_decay=weight_decay)``.
    """
    weight_decay = _check_non_negative(weight_decay, "weight_decay")
    params = [_check_tensor(p, "each parameter") for p in params]
    if not params:
        raise ValueError("params must contain at least one tensor, got none")
    return 0.5 * weight_decay * sum((p * p).sum() for p in params)


def ridge(X: torch.Tensor, y: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    r"""Coefficients minimizing :math:`\lVert X w - y\rVert^2 + \alpha\lVert w\rVert^2` (no intercept).

    .. math:: w = (X^\top X + \alpha I)^{-1} X^\top y

    With ``alpha = 0`` this is least squares, solved by ``torch.linalg.lstsq`` (the
    minimum-norm solution when :math:`X` has more columns than rows).

    Matches: ``sklearn.linear_model.Ridge(alpha, fit_intercept=False).fit(X, y).coef_``
    (and ``LinearRegression(fit_intercept=False)`` for ``alpha = 0``). Like scikit-learn, NaN or
    infinite entries and empty inputs raise ``ValueError``.
    """
    _check_tensor(X, "X")
    _check_tensor(y, "y")
    alpha = _check_non_negative(alpha, "alpha")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {tuple(X.shape)}")
    if y.shape != X.shape[:1]:
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X, got {tuple(y.shape)}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one sample and one feature, got shape {tuple(X.shape)}")
    dtype = _solve_dtype(X, y)
    X, y = X.to(dtype), y.to(X.device, dtype)
    for name, t in (("X", X), ("y", y)):
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} must not contain NaN or infinity, got {int((~torch.isfinite(t)).sum())} such entries")
    if alpha == 0.0:
        driver = "gelsd" if X.device.type == "cpu" else None
        return torch.linalg.lstsq(X, y.unsqueeze(1), driver=driver).solution.squeeze(1)
    A = X.T @ X + alpha * torch.eye(X.shape[1], dtype=X.dtype, device=X.device)
    return torch.linalg.solve(A, X.T @ y)
