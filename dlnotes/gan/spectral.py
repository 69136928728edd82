r"""Spectral normalization (Miyato et al., 2018): divide each weight by its largest singular value.

A linear map :math:`x\mapsto Wx` is :math:`K`-Lipschitz,
:math:`\lVert Wx-Wy\rVert_2\le K\lVert x-y\rVert_2`, for every :math:`K\ge\sigma(W)`, the
spectral norm :math:`\sigma(W)=\max_{\lVert v\rVert=1}\lVert Wv\rVert=\sqrt{\lambda_{\max}(W^\top W)}`.
So :math:`W/\sigma(W)` is 1-Lipschitz, and a network of such layers with 1-Lipschitz
activations (ReLU, leaky ReLU) is 1-Lipschitz. :math:`\sigma(W)` is estimated by power
iteration, one step per training forward pass, warm-started from the previous step's vectors:

.. math::

    u \leftarrow \frac{W v}{\lVert W v\rVert},\qquad
    v \leftarrow \frac{W^\top u}{\lVert W^\top u\rVert},\qquad
    \sigma \approx u^\top W v .

Dtypes: power iteration runs in ``W``'s dtype and device, and ``v`` must share them (a
``TypeError`` says so); :func:`lipschitz_constant` takes the largest singular value
(``torch.linalg.matrix_norm(A, ord=2)``) in ``A``'s dtype, real or complex.
"""
from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["power_iteration", "SpectralNorm", "spectral_norm", "lipschitz_constant"]


def _check_iterations(n) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n_power_iterations must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n_power_iterations must be positive, got {n}")
    return int(n)


def power_iteration(
    W: torch.Tensor, v: torch.Tensor, n_power_iterations: int = 1, eps: float = 1e-12
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""``n_power_iterations`` steps from right vector ``v``; returns ``(sigma, u, v)``.

    After :math:`k` steps :math:`v \propto (W^\top W)^k v_0`, so with :math:`c = V^\top v_0/\lVert v_0\rVert`
    (:math:`W = U\Sigma V^\top`) the **vector**'s angle to the top right singular vector shrinks like
    :math:`(\sigma_2/\sigma_1)^{2k}`. The **estimate** :math:`\hat\sigma = u^\top W v = \lVert W^\top u\rVert`
    is the square root of a Rayleigh quotient, whose error is quadratic in the vector's error:

    .. math::

        \hat\sigma = \sqrt{\frac{\sum_i c_i^2\sigma_i^{4k}}{\sum_i c_i^2\sigma_i^{4k-2}}},\qquad
        1 - \frac{\hat\sigma}{\sigma_1} \approx \frac{c_2^2}{2c_1^2}\Bigl(1 - \frac{\sigma_2^2}{\sigma_1^2}\Bigr)
        \Bigl(\frac{\sigma_2}{\sigma_1}\Bigr)^{4k-2},

    i.e. it shrinks like :math:`(\sigma_2/\sigma_1)^{4k}`, twice as fast (in the exponent) as the vector,
    and always from below.

    Matches: ``torch.linalg.matrix_norm(W, ord=2)`` as the steps grow.
    """
    if not isinstance(W, torch.Tensor) or not isinstance(v, torch.Tensor):
        raise TypeError(f"W and v must be torch.Tensors, got {type(W).__name__} and {type(v).__name__}")
    if W.ndim != 2:
        raise ValueError(f"W must be a matrix (2-D), got shape {tuple(W.shape)}")
    if v.shape != (W.shape[1],):
        raise ValueError(f"v must have shape ({W.shape[1]},), got {tuple(v.shape)}")
    if v.dtype != W.dtype or v.device != W.device:
        raise TypeError(f"v must have W's dtype and device, got {v.dtype} on {v.device} "
                        f"for W {W.dtype} on {W.device}")
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0:
        raise TypeError(f"eps must be a positive number, got {eps!r}")
    n_power_iterations = _check_iterations(n_power_iterations)
    v = F.normalize(v, dim=0, eps=eps)
    for _ in range(n_power_iterations):
        u = F.normalize(W @ v, dim=0, eps=eps)
        v = F.normalize(W.T @ u, dim=0, eps=eps)
    sigma = u @ (W @ v)
    return sigma, u, v


class SpectralNorm(nn.Module):
    r"""Parametrization :math:`W \mapsto W/\sigma(W)` with one power step per training forward.

    ``W`` is viewed as a matrix with ``dim`` first (``(out, in*kh*kw)`` for a convolution).
    At construction, random unit ``u``, ``v`` are refined by 15 power steps (as torch does).

    Matches: ``torch.nn.utils.parametrizations.spectral_norm`` given the same ``_u``, ``_v``.
    """

    def __init__(self, weight: torch.Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12):
        super().__init__()
        if not isinstance(weight, torch.Tensor):
            raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
        if weight.ndim < 2:
            raise ValueError(f"weight must have at least 2 dimensions, got {weight.ndim}")
        n_power_iterations = _check_iterations(n_power_iterations)
        self.dim, self.eps, self.n_power_iterations = dim % weight.ndim, eps, n_power_iterations
        W = self.matrix(weight)
        self.register_buffer("_u", F.normalize(W.new_empty(W.shape[0]).normal_(), dim=0, eps=eps))
        self.register_buffer("_v", F.normalize(W.new_empty(W.shape[1]).normal_(), dim=0, eps=eps))
        self.power_steps(W, 15)

    def matrix(self, weight: torch.Tensor) -> torch.Tensor:
        order = (self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.permute(order).flatten(1)

    @torch.no_grad()
    def power_steps(self, W: torch.Tensor, n: int) -> None:
        _, u, v = power_iteration(W, self._v, n, self.eps)
        self._u.copy_(u)
        self._v.copy_(v)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        W = self.matrix(weight)
        if self.training:
            self.power_steps(W, self.n_power_iterations)
        # clone: a second forward (D(real), then D(fake)) updates the buffers in place
        u, v = self._u.clone(), self._v.clone()
        sigma = u @ (W @ v)
        return weight / sigma


def spectral_norm(
    module: nn.Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12, dim: int | None = None
) -> nn.Module:
    """Register :class:`SpectralNorm` on ``module.<name>``; returns ``module``.

    Matches: ``torch.nn.utils.parametrizations.spectral_norm(module, name, n_power_iterations, eps, dim)``.
    ``dim`` defaults to 1 for transposed convolutions and 0 otherwise, as in torch.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
    weight = getattr(module, name, None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"module has no tensor parameter {name!r}")
    if dim is None:
        transposed = isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d))
        dim = 1 if transposed else 0
    parametrize.register_parametrization(module, name, SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


def lipschitz_constant(A: torch.Tensor) -> torch.Tensor:
    r"""The smallest :math:`K` with :math:`\lVert Ax-Ay\rVert\le K\lVert x-y\rVert`: the largest singular value.

    .. math:: K = \sigma_{\max}(A) = \sqrt{\lambda_{\max}(A^\top A)}

    computed from the singular values of :math:`A` itself, never from :math:`A^\top A`:
    squaring overflows float32 for entries near 1e20 and underflows near 1e-25, and it
    doubles the condition number. An empty matrix is the zero map, :math:`K = 0`.

    Matches: ``torch.linalg.matrix_norm(A, ord=2)``.
    """
    if not isinstance(A, torch.Tensor):
        raise TypeError(f"A must be a 2-D torch.Tensor, got {type(A).__name__}")
    if A.ndim != 2:
        raise ValueError(f"A must be a 2-D torch.Tensor, got shape {tuple(A.shape)}")
    if not (A.is_floating_point() or A.is_complex()):
        raise TypeError(f"A must have a floating-point dtype, got {A.dtype}")
    if A.numel() == 0:
        return torch.zeros((), dtype=A.real.dtype if A.is_complex() else A.dtype, device=A.device)
    return torch.linalg.matrix_norm(A, ord=2)
