r"""Batch, layer, instance and group normalization, written as reductions over tensor axes.

Batch normalization (Ioffe & Szegedy, 2015, arXiv:1502.03167) standardises each channel of a
layer's input with statistics of the mini-batch, then lets the network undo it with a learned
scale :math:`\gamma` and shift :math:`\beta`. The other three keep the same formula and change
only the axes of an :math:`(N, C, *)` tensor that the mean and variance are taken over:

- :class:`BatchNorm` (Ioffe & Szegedy 2015): over :math:`N` and every spatial axis, per channel;
- :class:`LayerNorm` (Ba et al. 2016): over the last ``len(normalized_shape)`` axes, per sample;
- :class:`InstanceNorm` (Ulyanov et al. 2016): over the spatial axes, per sample and channel;
- :class:`GroupNorm` (Wu & He 2018): over a group of channels and the spatial axes, per sample.

Every forward is the formula in its docstring with autograd doing the backward, except
training-mode :class:`BatchNorm` and :func:`batch_norm_hand`, whose backward is derived by hand
(:class:`~dlnotes.batch_norm_function.BatchNormFunction`).

Dtypes: float16, bfloat16, float32, float64. Half-precision input is normalised with
statistics computed in float32 (as torch does: an fp16 variance overflows once a channel's
standard deviation passes about 256) and the output has the input's dtype. An empty batch
(N = 0) gives an empty output, as in torch.
"""
from __future__ import annotations

import math
from numbers import Real

import torch
from torch import nn

from dlnotes.batch_norm_function import BatchNormFunction, _channel_view, compute_dtype

__all__ = [
    "BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm", "BatchNormFunction", "batch_norm_hand",
]


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def _positive_float(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return float(value)


def _momentum(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"momentum must be a real number or None, got {type(value).__name__}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"momentum must be in [0, 1] or None, got {value}")
    return float(value)


def _flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def _check_input(x, min_dim: int, what: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"input must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"input must have a floating-point dtype, got {x.dtype}")
    if x.dim() < min_dim:
        raise ValueError(f"input must have shape {what}, got {x.dim()}D input {tuple(x.shape)}")


def _check_channels(x: torch.Tensor, expected: int, name: str) -> None:
    if x.shape[1] != expected:
        raise ValueError(
            f"input has {x.shape[1]} channels (dim 1 of shape {tuple(x.shape)}), "
            f"but the layer was built with {name}={expected}"
        )


class BatchNorm(nn.Module):
    r"""Batch normalization of an (N, C) or (N, C, \*) input, one set of statistics per channel.

    With :math:`m = N \cdot \prod \text{spatial}` values of channel :math:`c` in the batch,

    .. math::

        \mu_B = \frac1m\sum_i x_i,\qquad \sigma_B^2 = \frac1m\sum_i (x_i-\mu_B)^2,\qquad
        \hat x_i = \frac{x_i-\mu_B}{\sqrt{\sigma_B^2+\epsilon}},\qquad y_i = \gamma\hat x_i+\beta .

    In training mode the running estimates are updated with factor :math:`f`
    (``momentum``, or :math:`1/t` after the :math:`t`-th batch when ``momentum=None``):

    .. math::

        \text{running\_mean} \leftarrow (1-f)\,\text{running\_mean} + f\,\mu_B,\qquad
        \text{running\_var} \leftarrow (1-f)\,\text{running\_var} + f\,\frac{m}{m-1}\sigma_B^2 .

    ``momentum=None`` therefore gives the paper's estimate, the plain average of the batch
    means and of the unbiased batch variances. In evaluation mode (with tracked statistics)
    :math:`\mu_B, \sigma_B^2` are replaced by ``running_mean``, ``running_var``. The code
    computes :math:`y = x\cdot s + (\beta - \mu_B s)` with :math:`s = \gamma/\sqrt{\sigma_B^2+\epsilon}`,
    the same formula regrouped so that the big tensor is traversed once. In training mode the
    forward and the hand-derived backward are one node, :class:`BatchNormFunction`. Half-precision
    input is normalised with ``float32`` statistics, as torch does; an empty batch returns an
    empty output and leaves the running estimates unchanged.

    Matches: ``nn.BatchNorm1d`` / ``nn.BatchNorm2d`` / ``nn.BatchNorm3d`` with the same arguments.
    Differences: the paper's running average is cumulative; torch's default ``momentum=0.1``
    is an exponential average that weights the last batch by 0.1 (the opposite convention to
    an optimizer's momentum). Normalization uses the biased :math:`\sigma_B^2`; only the running
    estimate uses the unbiased one.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 device=None, dtype=None):
        super().__init__()
        self.num_features = _positive_int(num_features, "num_features")
        self.eps = _positive_float(eps, "eps")
        self.momentum = _momentum(momentum)
        self.affine = _flag(affine, "affine")
        self.track_running_stats = _flag(track_running_stats, "track_running_stats")
        factory = {"device": device, "dtype": dtype}
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features, **factory))    # gamma
            self.bias = nn.Parameter(torch.zeros(num_features, **factory))     # beta
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **factory))
            self.register_buffer("running_var", torch.ones(num_features, **factory))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long,
                                                                     device=device))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, 2, "(N, C) or (N, C, *)")
        _check_channels(x, self.num_features, "num_features")
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
        if x.numel() == 0:  # an empty batch: nothing to normalise, running estimates untouched
            return x.clone() if not self.affine else (
                x * _channel_view(self.weight, x.dim()) + _channel_view(self.bias, x.dim()))
        if self.training or not self.track_running_stats:
            m = x.numel() // x.shape[1]
            if m == 1:
                raise ValueError(
                    "Expected more than 1 value per channel when training, "
                    f"got input size {list(x.shape)}"
                )
            # one autograd node with the hand-derived backward (dlnotes.batch_norm_function)
            y, mu_B, var_B = BatchNormFunction.apply(x, self.weight, self.bias, self.eps)
            if self.training and self.track_running_stats:
                self._update_running_stats(mu_B, var_B, m)
            return y
        inv_std = torch.rsqrt(self.running_var.to(compute_dtype(x)) + self.eps)
        scale = self.weight * inv_std if self.affine else inv_std
        shift = (self.bias if self.affine else 0.0) - self.running_mean * scale
        # gamma * (x - mean) * inv_std + beta as x * scale + shift, per channel
        y = torch.addcmul(_channel_view(shift, x.dim()), x.to(scale.dtype), _channel_view(scale, x.dim()))
        return y.to(x.dtype)

    @torch.no_grad()
    def _update_running_stats(self, mu_B: torch.Tensor, var_B: torch.Tensor, m: int) -> None:
        f = 1.0 / self.num_batches_tracked.item() if self.momentum is None else self.momentum
        self.running_mean.mul_(1 - f).add_((f * mu_B).to(self.running_mean.dtype))
        self.running_var.mul_(1 - f).add_((f * var_B * m / (m - 1)).to(self.running_var.dtype))

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class LayerNorm(nn.Module):
    r"""Layer normalization (Ba, Kiros & Hinton, 2016) over the last ``len(normalized_shape)`` axes.

    .. math::

        \mu = \frac1H\sum_{k} x_k,\quad \sigma^2 = \frac1H\sum_k (x_k-\mu)^2,\quad
        y = \frac{x-\mu}{\sqrt{\sigma^2+\epsilon}}\odot\gamma + \beta

    where :math:`k` runs over the :math:`H` entries of one sample's trailing axes; the
    statistics never mix samples, so training and evaluation compute the same thing.

    Matches: ``nn.LayerNorm(normalized_shape, eps, elementwise_affine, bias)``.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        if not isinstance(shape, (tuple, list, torch.Size)) or len(shape) == 0:
            raise TypeError(f"normalized_shape must be an int or a non-empty sequence of ints, "
                            f"got {normalized_shape!r}")
        self.normalized_shape = tuple(_positive_int(s, "normalized_shape") for s in shape)
        self.eps = _positive_float(eps, "eps")
        self.elementwise_affine = _flag(elementwise_affine, "elementwise_affine")
        _flag(bias, "bias")
        factory = {"device": device, "dtype": dtype}
        self.weight = (nn.Parameter(torch.ones(self.normalized_shape, **factory))
                       if elementwise_affine else None)
        self.bias = (nn.Parameter(torch.zeros(self.normalized_shape, **factory))
                     if elementwise_affine and bias else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = len(self.normalized_shape)
        _check_input(x, k, f"(*, {', '.join(map(str, self.normalized_shape))})")
        if tuple(x.shape[-k:]) != self.normalized_shape:
            raise ValueError(f"input's last {k} dims must be normalized_shape="
                             f"{list(self.normalized_shape)}, got input shape {list(x.shape)}")
        dims = list(range(-k, 0))
        xc = x.to(compute_dtype(x))                          # fp32 statistics for half input
        var, mu = torch.var_mean(xc, dim=dims, unbiased=False, keepdim=True)
        y = (xc - mu) / torch.sqrt(var + self.eps)
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y.to(x.dtype)


class InstanceNorm(nn.Module):
    r"""Instance normalization (Ulyanov et al., 2016) of an (N, C, \*) input: each sample's
    each channel is standardised over its own spatial axes.

    .. math::

        \mu_{nc} = \frac1{HW}\sum_{h,w} x_{nchw},\quad
        \sigma^2_{nc} = \frac1{HW}\sum_{h,w}(x_{nchw}-\mu_{nc})^2,\quad
        y_{nchw} = \gamma_c\frac{x_{nchw}-\mu_{nc}}{\sqrt{\sigma^2_{nc}+\epsilon}}+\beta_c

    With ``track_running_stats=True`` the running estimates move towards the batch average of
    :math:`\mu_{nc}` and of the unbiased :math:`\sigma^2_{nc}` (as torch does), and are used
    in evaluation mode.

    Matches: ``nn.InstanceNorm1d/2d/3d(num_features, eps, momentum, affine, track_running_stats)``.
    Differences: an unbatched (C, \*) input is rejected; ``momentum=None`` freezes the running
    estimates, as torch's instance norm does (torch passes momentum 0 in that case).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False,
                 device=None, dtype=None):
        super().__init__()
        self.num_features = _positive_int(num_features, "num_features")
        self.eps = _positive_float(eps, "eps")
        self.momentum = _momentum(momentum)
        self.affine = _flag(affine, "affine")
        self.track_running_stats = _flag(track_running_stats, "track_running_stats")
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.ones(num_features, **factory)) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_features, **factory)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **factory))
            self.register_buffer("running_var", torch.ones(num_features, **factory))
        else:
            self.running_mean = self.running_var = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, 3, "(N, C, L), (N, C, H, W) or (N, C, D, H, W)")
        _check_channels(x, self.num_features, "num_features")
        dims = list(range(2, x.dim()))                       # the spatial axes only
        if x.numel() == 0:                                   # N = 0: an empty output, as in torch
            return x.clone()
        xc = x.to(compute_dtype(x))                          # fp32 statistics for half input
        if self.training or not self.track_running_stats:
            hw = math.prod(x.shape[2:])
            if hw == 1:
                raise ValueError("Expected more than 1 spatial element when training, "
                                 f"got input size {list(x.shape)}")
            var, mu = torch.var_mean(xc, dim=dims, unbiased=False, keepdim=True)
            if self.training and self.track_running_stats:
                f = self.momentum if self.momentum is not None else 0.0
                with torch.no_grad():
                    self.running_mean.mul_(1 - f).add_(f * mu.mean(dim=0).flatten().to(self.running_mean.dtype))
                    unbiased = var * hw / (hw - 1)
                    self.running_var.mul_(1 - f).add_(f * unbiased.mean(dim=0).flatten().to(self.running_var.dtype))
        else:
            mu = _channel_view(self.running_mean, x.dim())
            var = _channel_view(self.running_var, x.dim())
        y = (xc - mu) / torch.sqrt(var + self.eps)
        if self.affine:
            y = _channel_view(self.weight, x.dim()) * y + _channel_view(self.bias, x.dim())
        return y.to(x.dtype)


class GroupNorm(nn.Module):
    r"""Group normalization (Wu & He, 2018): channels split into ``num_groups`` groups, each
    sample's group standardised over its channels and spatial axes.

    .. math::

        \mu_{ng} = \frac{1}{|S_g|}\sum_{(c,h,w)\in S_g} x_{nchw},\quad
        \sigma^2_{ng} = \frac{1}{|S_g|}\sum_{S_g}(x_{nchw}-\mu_{ng})^2,\quad
        y_{nchw} = \gamma_c\frac{x_{nchw}-\mu_{ng}}{\sqrt{\sigma^2_{ng}+\epsilon}}+\beta_c

    One group is layer norm over (C, \*) with per-channel affine; ``num_groups = C`` is
    instance norm.

    Matches: ``nn.GroupNorm(num_groups, num_channels, eps, affine)``.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None):
        super().__init__()
        self.num_groups = _positive_int(num_groups, "num_groups")
        self.num_channels = _positive_int(num_channels, "num_channels")
        if num_channels % num_groups:
            raise ValueError(f"num_channels must be divisible by num_groups, got "
                             f"num_channels={num_channels}, num_groups={num_groups}")
        self.eps = _positive_float(eps, "eps")
        self.affine = _flag(affine, "affine")
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.ones(num_channels, **factory)) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_channels, **factory)) if affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, 2, "(N, C, *)")
        _check_channels(x, self.num_channels, "num_channels")
        N, G = x.shape[0], self.num_groups
        if x.numel() == 0:                                   # N = 0: an empty output, as in torch
            return x.clone()
        # (N, G, C/G * spatial), in fp32 for half input; the size is explicit so that N = 0 works
        grouped = x.to(compute_dtype(x)).reshape(N, G, math.prod(x.shape[1:]) // G)
        var, mu = torch.var_mean(grouped, dim=2, unbiased=False, keepdim=True)
        y = ((grouped - mu) / torch.sqrt(var + self.eps)).reshape(x.shape)
        if self.affine:
            y = _channel_view(self.weight, x.dim()) * y + _channel_view(self.bias, x.dim())
        return y.to(x.dtype)


def batch_norm_hand(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                    eps: float = 1e-5) -> torch.Tensor:
    r"""Training-mode batch norm of an (N, C, \*) input whose backward is
    :class:`BatchNormFunction`'s hand derivation instead of autograd's.

    Matches: ``F.batch_norm(x, None, None, weight, bias, training=True, eps=eps)``, values and
    gradients for ``x``, ``weight`` and ``bias``.
    """
    _check_input(x, 2, "(N, C) or (N, C, *)")
    for name, p in (("weight", weight), ("bias", bias)):
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(p).__name__}")
        if p.shape != (x.shape[1],):
            raise ValueError(f"{name} must have shape ({x.shape[1]},) (one per channel), "
                             f"got {tuple(p.shape)}")
    eps = _positive_float(eps, "eps")
    if x.numel() // x.shape[1] == 1:
        raise ValueError("Expected more than 1 value per channel when training, "
                         f"got input size {list(x.shape)}")
    return BatchNormFunction.apply(x, weight, bias, eps)[0]


from .sync_norm import SyncBatchNorm  # noqa: E402,F401  (synchronized over processes; after the rest)
