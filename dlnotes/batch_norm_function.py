r"""Training-mode batch normalization as one autograd node whose backward is derived by hand.

Autograd would differentiate the forward's reductions and elementwise steps one by one and
traverse the big :math:`(N, C, *)` tensor many times. The derivation of Ioffe & Szegedy (2015,
arXiv:1502.03167, §3) collapses the three paths from :math:`x_i` to the loss (directly, through
:math:`\mu_B` and through :math:`\sigma_B^2`) into one formula with two per-channel sums, which
:class:`BatchNormFunction` evaluates. :class:`dlnotes.norm.BatchNorm` uses it in training mode.

Half precision: for ``float16`` / ``bfloat16`` input the statistics and both sums are computed
in ``float32`` (as torch does), and the output is cast back to the input's dtype.
"""
from __future__ import annotations

import torch

__all__ = ["BatchNormFunction"]


def _channel_view(p: torch.Tensor, dim: int) -> torch.Tensor:
    """Shape a per-channel vector (C,) as (1, C, 1, ..., 1) to broadcast over (N, C, *)."""
    return p.reshape(1, -1, *([1] * (dim - 2)))


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """``float32`` for half-precision input (its variance overflows fp16 above std ~256), else its own."""
    return torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype


def _statistics(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-channel mean, the centred input and the biased variance, in two passes (accurate
    for a large mean; on the CPU also several times faster than ``torch.var_mean`` over dims 0, 2, ...)."""
    dims = [0, *range(2, x.dim())]
    mu_B = x.mean(dim=dims)
    x_centered = x - _channel_view(mu_B, x.dim())
    return mu_B, x_centered, x_centered.square().mean(dim=dims)


class BatchNormFunction(torch.autograd.Function):
    r"""Training-mode batch norm with the backward pass derived by hand.

    With :math:`g_i = \partial L/\partial y_i` over the :math:`m` values of one channel,

    .. math::

        \frac{\partial L}{\partial\beta} = \sum_i g_i,\qquad
        \frac{\partial L}{\partial\gamma} = \sum_i g_i\hat x_i,\qquad
        \frac{\partial L}{\partial x_i} = \frac{\gamma}{m\sqrt{\sigma_B^2+\epsilon}}
            \Big(m g_i - \sum_j g_j - \hat x_i\sum_j g_j\hat x_j\Big).

    The two sums are what the mean and the variance feed back: shifting every :math:`x_i`
    by a constant, or scaling them about :math:`\mu_B`, leaves :math:`\hat x` unchanged, so
    the input gradient has zero mean and is orthogonal to :math:`\hat x`.

    ``apply(x, weight, bias, eps)`` returns ``(y, mu_B, var_B)``; the batch statistics (biased
    variance) are for the running estimates and carry no gradient. ``weight`` and ``bias`` may
    be ``None`` (no affine). The backward is itself differentiable: under ``create_graph=True``
    it recomputes :math:`\mu_B, \sigma_B^2` from :math:`x` with tracked operations, so a
    gradient penalty through the layer gets the exact second derivative.

    Matches: ``F.batch_norm(x, None, None, weight, bias, training=True, eps=eps)``, values,
    gradients and second derivatives.
    Differences: it keeps the centred input for the backward (one activation-sized tensor more
    than torch's kernel, one pass less in the backward).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        mu_B, x_centered, var_B = _statistics(x.to(compute_dtype(x)))
        inv_std = torch.rsqrt(var_B + eps)
        # gamma * (x - mu_B) * inv_std + beta as (x - mu_B) * scale + beta: one pass over the big tensor
        scale = inv_std if weight is None else weight * inv_std
        y = x_centered * _channel_view(scale, x.dim()) if bias is None else \
            torch.addcmul(_channel_view(bias, x.dim()), x_centered, _channel_view(scale, x.dim()))
        ctx.save_for_backward(x, x_centered, weight, inv_std)
        ctx.eps, ctx.bias_dtype = eps, None if bias is None else bias.dtype
        ctx.mark_non_differentiable(mu_B, var_B)
        return y.to(x.dtype), mu_B, var_B

    @staticmethod
    def backward(ctx, g, _grad_mu, _grad_var):
        x, x_centered, weight, inv_std = ctx.saved_tensors
        dims = [0, *range(2, x.dim())]
        m = x.numel() // x.shape[1]
        g = g.to(compute_dtype(x))
        if torch.is_grad_enabled():  # double backward: the statistics must depend on x
            _, x_centered, var_B = _statistics(x.to(compute_dtype(x)))
            inv_std = torch.rsqrt(var_B + ctx.eps)
        view = lambda p: _channel_view(p, x.dim())
        # x_hat = x_centered * inv_std is never formed: inv_std is per channel and folds into
        # the per-channel coefficients below (two fewer passes over the big tensor)
        sum_g = g.sum(dim=dims)                                        # = dL/d beta
        sum_g_x_hat = (g * x_centered).sum(dim=dims) * inv_std         # = dL/d gamma
        k = inv_std if weight is None else weight * inv_std            # gamma / sqrt(var + eps)
        # dL/dx = k/m (m g - sum g - x_hat sum g x_hat)
        #       = g * k  +  (-k sum g / m)  +  x_centered * (-k inv_std sum g x_hat / m)
        grad_x = torch.addcmul(torch.addcmul(view(-k * sum_g / m), g, view(k)),
                               x_centered, view(-k * inv_std * sum_g_x_hat / m))
        grad_weight = None if weight is None else sum_g_x_hat.to(weight.dtype)
        grad_bias = None if ctx.bias_dtype is None else sum_g.to(ctx.bias_dtype)
        return grad_x.to(x.dtype), grad_weight, grad_bias, None
