r"""The surrogate of Bayesian optimization (贝叶斯优化): a Gaussian process and expected improvement.

A Gaussian process (高斯过程) puts a prior on the unknown score :math:`f(x)` of a
hyperparameter setting :math:`x`; after observing :math:`(X, y)` its posterior at new points is
Gaussian with a mean (the guess) and a variance (how unsure the guess is). Expected improvement
(Jones, Schonlau & Welch, 1998) turns the two into one number: how much a new trial is expected
to beat the best value so far. Written in torch, float64, so the tests can compare it with
scikit-learn to 1e-6.

Dtypes: inputs of any real dtype (tensors, NumPy arrays, lists) are converted to float64, and
every kernel matrix, Cholesky factor and prediction is float64; there is no half precision.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch

__all__ = ["RBF", "GaussianProcessRegressor", "expected_improvement"]


def _as_matrix(X, name: str) -> torch.Tensor:
    X = torch.as_tensor(np.asarray(X, dtype=np.float64) if not isinstance(X, torch.Tensor) else X,
                        dtype=torch.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (n_samples, n_features), got shape {tuple(X.shape)}")
    if not torch.isfinite(X).all():
        raise ValueError(f"{name} must be finite, got a NaN or inf entry")
    return X


class RBF:
    r"""Squared-exponential kernel :math:`k(x, x') = \sigma^2 \exp\!\big(-\tfrac12 \lVert (x - x')/\ell \rVert^2\big)`.

    ``length_scale`` :math:`\ell` is a scalar or one value per feature; ``variance`` is :math:`\sigma^2`.

    Matches: ``ConstantKernel(variance, "fixed") * sklearn.gaussian_process.kernels.RBF(length_scale, "fixed")``.
    """

    def __init__(self, length_scale=1.0, variance: float = 1.0):
        if isinstance(length_scale, (bool, np.bool_, str, bytes)):
            raise TypeError(f"length_scale must be a positive number or array, got {length_scale!r}")
        ls = np.atleast_1d(np.asarray(length_scale, dtype=np.float64))
        if ls.ndim != 1 or not np.all(ls > 0) or not np.all(np.isfinite(ls)):
            raise ValueError(f"length_scale must be positive and finite, got {length_scale}")
        if not (isinstance(variance, (int, float, np.floating)) and variance > 0 and math.isfinite(variance)):
            raise ValueError(f"variance must be positive and finite, got {variance}")
        self.length_scale, self.variance = torch.as_tensor(ls), float(variance)

    def __call__(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        A, B = _as_matrix(A, "A"), _as_matrix(B, "B")
        if A.shape[1] != B.shape[1] or self.length_scale.numel() not in (1, A.shape[1]):
            raise ValueError(f"A and B must have the same number of features as length_scale, got shapes "
                             f"{tuple(A.shape)}, {tuple(B.shape)} and {self.length_scale.numel()} length scales")
        a, b = A / self.length_scale, B / self.length_scale
        sq_dist = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
        return self.variance * torch.exp(-0.5 * sq_dist.clamp_min(0))

    def __repr__(self) -> str:
        return f"RBF(length_scale={self.length_scale.tolist()}, variance={self.variance})"


class GaussianProcessRegressor:
    r"""Exact GP regression with a fixed kernel.

    With :math:`K = k(X, X) + \alpha I = L L^\top` and targets :math:`y` (standardized if
    ``normalize_y``), the posterior at :math:`x_*` is

    .. math::

        \mu(x_*) = k_*^\top K^{-1} y, \qquad
        \sigma^2(x_*) = k(x_*, x_*) - k_*^\top K^{-1} k_*, \qquad k_* = k(X, x_*),

    and the log marginal likelihood is
    :math:`-\tfrac12 y^\top K^{-1} y - \sum_i \log L_{ii} - \tfrac n2 \log 2\pi`.

    Matches: ``sklearn.gaussian_process.GaussianProcessRegressor(kernel, alpha=alpha,
    normalize_y=normalize_y, optimizer=None)``: ``predict(X, return_std=True)`` and
    ``log_marginal_likelihood_value_``.
    """

    def __init__(self, kernel: RBF | None = None, *, alpha: float = 1e-10, normalize_y: bool = False):
        if kernel is not None and not isinstance(kernel, RBF):
            raise TypeError(f"kernel must be an RBF or None, got {type(kernel).__name__}")
        if not (isinstance(alpha, (int, float)) and alpha >= 0):
            raise ValueError(f"alpha must be a non-negative number, got {alpha}")
        self.kernel = kernel if kernel is not None else RBF()
        self.alpha, self.normalize_y = float(alpha), bool(normalize_y)

    def fit(self, X, y) -> "GaussianProcessRegressor":
        X = _as_matrix(X, "X")
        y = torch.as_tensor(np.asarray(y, dtype=np.float64)).reshape(-1)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y must have one value per row of X ({X.shape[0]}), got {y.shape[0]}")
        if not torch.isfinite(y).all():
            raise ValueError("y must be finite, got a NaN or inf value")
        self._y_mean, self._y_std = torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
        if self.normalize_y:
            self._y_mean, std = y.mean(), y.std(unbiased=False)
            self._y_std = std if std > 0 else torch.tensor(1.0, dtype=torch.float64)
        y = (y - self._y_mean) / self._y_std
        K = self.kernel(X, X) + self.alpha * torch.eye(X.shape[0], dtype=torch.float64)
        self.L_ = torch.linalg.cholesky(K)
        self.alpha_ = torch.cholesky_solve(y[:, None], self.L_)[:, 0]  # K^{-1} y
        self.X_train_ = X
        n = X.shape[0]
        self.log_marginal_likelihood_value_ = float(
            -0.5 * y @ self.alpha_ - torch.log(torch.diagonal(self.L_)).sum() - 0.5 * n * math.log(2 * math.pi))
        return self

    def predict(self, X, return_std: bool = False):
        if not hasattr(self, "L_"):
            raise ValueError("this GaussianProcessRegressor is not fitted yet; call fit(X, y) first")
        X = _as_matrix(X, "X")
        if X.shape[1] != self.X_train_.shape[1]:
            raise ValueError(f"X must have {self.X_train_.shape[1]} features, got {X.shape[1]}")
        k_star = self.kernel(self.X_train_, X)
        mean = k_star.T @ self.alpha_ * self._y_std + self._y_mean
        if not return_std:
            return mean
        v = torch.linalg.solve_triangular(self.L_, k_star, upper=False)
        var = (self.kernel.variance - (v * v).sum(0)).clamp_min(0) * self._y_std**2
        return mean, var.sqrt()


def expected_improvement(mean, std, best: float, xi: float = 0.0) -> torch.Tensor:
    r"""Expected improvement below ``best`` (minimization) of :math:`Y \sim \mathcal N(\mu, \sigma^2)`.

    .. math::

        \mathrm{EI} = \mathbb E\,[\max(\text{best} - \xi - Y, 0)]
                    = (\text{best} - \xi - \mu)\,\Phi(z) + \sigma\,\varphi(z),
        \qquad z = \frac{\text{best} - \xi - \mu}{\sigma},

    and :math:`\max(\text{best} - \xi - \mu, 0)` where :math:`\sigma = 0`.

    Matches: the integral :math:`\int \max(\text{best}-\xi-y, 0)\,\mathcal N(y;\mu,\sigma^2)\,dy`
    (checked with ``scipy.integrate.quad`` in the tests).
    """
    mean = torch.as_tensor(mean, dtype=torch.float64)
    std = torch.as_tensor(std, dtype=torch.float64)
    if (std < 0).any():
        raise ValueError(f"std must be non-negative, got a minimum of {float(std.min())}")
    for name, v in (("best", best), ("xi", xi)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {type(v).__name__} {v!r}")
    best, xi = float(best), float(xi)  # a np.float32 would make the arithmetic float32
    if not math.isfinite(best):
        raise ValueError(f"best must be finite, got {best}")
    gap = best - xi - mean
    safe = torch.where(std > 0, std, torch.ones_like(std))
    z = gap / safe
    normal = torch.distributions.Normal(torch.zeros((), dtype=torch.float64), torch.ones((), dtype=torch.float64))
    ei = gap * normal.cdf(z) + safe * normal.log_prob(z).exp()
    return torch.where(std > 0, ei.clamp_min(0), gap.clamp_min(0))  # far below, the two terms cancel to -1e-17


def fit_kernel(X, y, ard: bool = True, alpha: float = 1e-6, bounds: tuple[float, float] = (1e-3, 1e3),
               n_restarts: int = 2, seed: int = 0, init: RBF | None = None, max_iter: int = 60) -> RBF:
    r"""Type-II maximum likelihood: the RBF kernel whose length scales (one per feature if ``ard``,
    automatic relevance determination) and variance maximize the log marginal likelihood of the
    standardized targets,

    .. math:: \hat\ell, \hat\sigma^2 = \arg\max\; -\tfrac12 y^\top K^{-1} y - \tfrac12\log\lvert K\rvert,
              \qquad K = \sigma^2 k_\ell(X, X) + \alpha I,

    by L-BFGS on :math:`\log\ell, \log\sigma^2` (autograd, at most ``max_iter`` iterations), from
    :math:`\ell = 1` (or the kernel ``init``, a warm start) and ``n_restarts`` random starts, each
    parameter clamped to ``bounds``. A long fitted :math:`\ell_j` says the
    objective barely depends on feature :math:`j`.

    Matches: ``sklearn.gaussian_process.GaussianProcessRegressor(ConstantKernel(1.0, bounds) *
    RBF(np.ones(d), bounds), alpha=alpha, normalize_y=True).fit(X, y).kernel_`` (its log marginal
    likelihood, to the tolerance of the two optimizers).
    """
    X = _as_matrix(X, "X")
    y = torch.as_tensor(np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y, dtype=np.float64))
    if y.shape != (X.shape[0],) or not torch.isfinite(y).all():
        raise ValueError(f"y must be 1-D with one finite value per row of X ({X.shape[0]} rows), "
                         f"got shape {tuple(y.shape)}")
    lo, hi = (math.log(b) for b in bounds)
    if not lo < hi:
        raise ValueError(f"bounds must be (low, high) with 0 < low < high, got {bounds}")
    std = y.std(unbiased=False)
    y = (y - y.mean()) / (std if std > 0 else 1.0)
    n, d = X.shape
    k = d if ard else 1
    eye = torch.eye(n, dtype=torch.float64)

    def neg_lml(theta):
        ls, var = theta[:k].exp(), theta[k].exp()
        a = X / ls
        sq = ((a * a).sum(1)[:, None] + (a * a).sum(1)[None, :] - 2 * a @ a.T).clamp_min(0)
        L = torch.linalg.cholesky(var * torch.exp(-0.5 * sq) + alpha * eye)
        return 0.5 * y @ torch.cholesky_solve(y[:, None], L)[:, 0] + torch.log(torch.diagonal(L)).sum()

    rng = np.random.default_rng(seed)
    first = np.zeros(k + 1)
    if init is not None:
        first = np.append(np.log(np.broadcast_to(init.length_scale.numpy(), (k,))), math.log(init.variance))
    starts = [first] + [np.append(rng.uniform(-2, 1, k), 0.0) for _ in range(n_restarts)]
    best, best_value = None, math.inf
    for start in starts:
        theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([theta], max_iter=max_iter, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            with torch.no_grad():
                theta.clamp_(lo, hi)
            value = neg_lml(theta)
            value.backward()
            return value

        try:
            opt.step(closure)
            with torch.no_grad():
                theta.clamp_(lo, hi)
                value = float(neg_lml(theta))
        except (RuntimeError, torch.linalg.LinAlgError):  # a start whose kernel matrix is not positive definite
            continue
        if value < best_value:
            best, best_value = theta.detach().clone(), value
    if best is None:
        raise ValueError("the kernel matrix was singular from every start; add noise with a larger alpha")
    return RBF(best[:k].exp().numpy(), variance=float(best[k].exp()))
