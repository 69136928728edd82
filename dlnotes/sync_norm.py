r"""Synchronized batch normalization: one set of batch statistics across every process.

With data parallelism each process sees only its own slice of the batch. Plain batch
normalization (Ioffe & Szegedy 2015) then normalizes with the statistics of that slice: with
8 GPUs and 2 images each, every channel's mean and variance come from 2 images, and after a
linear layer the two normalized values are exactly :math:`\pm 1`. Synchronized BatchNorm
(Peng et al. 2018, MegDet, arXiv:1711.07240) sums the per-channel statistics over all
processes, so the layer normalizes with the statistics of the whole global batch, exactly as
one process holding that batch would.

Per layer and training step it communicates one all-reduce of :math:`2C+1` numbers forward
(per-channel sums, sums of squares, and the count) and one of :math:`2C` numbers backward (the
two per-channel gradient sums). ``torch.nn.SyncBatchNorm`` works only on GPU tensors; this one
works on any device and backend, CPU processes with ``gloo`` included.

Dtypes: float16, bfloat16, float32, float64; half-precision input is normalised with statistics
gathered in float32 and the output is cast back to the input's dtype, as ``torch.nn.SyncBatchNorm`` does.
"""
from __future__ import annotations

from numbers import Real

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ["SyncBatchNorm", "SyncBatchNormFunction", "convert_sync_batchnorm"]


def _world(process_group) -> int:
    """Size of the group to synchronize over; 1 when no process group is initialised."""
    if not (dist.is_available() and dist.is_initialized()):
        return 1
    return dist.get_world_size(process_group)


class SyncBatchNormFunction(torch.autograd.Function):
    r"""Batch normalization whose statistics and gradient sums are all-reduced over a group.

    Forward, with :math:`n_r` values of a channel on process :math:`r` and sums over all processes:

    .. math::

        n = \sum_r n_r,\quad \mu = \frac1n \sum_r \sum_i x_{ri},\quad
        \sigma^2 = \frac1n \sum_r \sum_i x_{ri}^2 - \mu^2,\quad
        \hat x = \frac{x-\mu}{\sqrt{\sigma^2+\epsilon}},\quad y = \gamma \hat x + \beta .

    Backward, with :math:`g = \partial L/\partial y` and the all-reduced sums
    :math:`S_g = \sum g`, :math:`S_{g\hat x} = \sum g \hat x` over the global batch:

    .. math::

        \frac{\partial L}{\partial x} = \frac{\gamma}{\sqrt{\sigma^2+\epsilon}}
        \Big(g - \frac{S_g}{n} - \hat x\,\frac{S_{g\hat x}}{n}\Big),\qquad
        \frac{\partial L}{\partial \gamma} = \sum_{\text{local}} g\hat x,\qquad
        \frac{\partial L}{\partial \beta} = \sum_{\text{local}} g .

    The weight and bias gradients stay local: DistributedDataParallel averages them with the
    other parameters' gradients. Returns the output and the global mean, biased variance and count.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps, process_group, world_size):
        dims = [0, *range(2, x.dim())]
        shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
        xs = x.to(torch.promote_types(x.dtype, torch.float32))   # half inputs: statistics in fp32
        count = torch.tensor([x.numel() // x.shape[1] if x.shape[1] else 0], dtype=xs.dtype,
                             device=x.device)
        stats = torch.cat([xs.sum(dims), (xs * xs).sum(dims), count])     # 2C + 1 numbers
        if world_size > 1:
            dist.all_reduce(stats, group=process_group)
        C = x.shape[1]
        n = stats[2 * C]
        if n.item() <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got "
                             f"{int(n.item())} over all processes (local input size {list(x.shape)})")
        mean = stats[:C] / n
        var = (stats[C:2 * C] / n - mean * mean).clamp_min(0)
        invstd = torch.rsqrt(var + eps)
        x_hat = ((xs - mean.view(shape)) * invstd.view(shape)).to(x.dtype)
        y = x_hat * weight.view(shape) + bias.view(shape) if weight is not None else x_hat
        ctx.save_for_backward(x_hat, invstd, weight, n)
        ctx.process_group, ctx.world_size = process_group, world_size
        ctx.mark_non_differentiable(mean, var, n)
        return y, mean, var, n

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g, _mean, _var, _n):
        x_hat, invstd, weight, n = ctx.saved_tensors
        dims = [0, *range(2, x_hat.dim())]
        shape = [1, x_hat.shape[1]] + [1] * (x_hat.dim() - 2)
        C = x_hat.shape[1]
        local = torch.cat([g.sum(dims), (g * x_hat).sum(dims)])            # 2C numbers
        sums = local.to(invstd.dtype, copy=True)
        if ctx.world_size > 1:
            dist.all_reduce(sums, group=ctx.process_group)
        S_g, S_gx = sums[:C], sums[C:]
        scale = (invstd if weight is None else weight * invstd).to(g.dtype)
        grad_x = scale.view(shape) * (g - (S_g / n).to(g.dtype).view(shape)
                                      - x_hat * (S_gx / n).to(g.dtype).view(shape))
        if weight is None:
            return grad_x, None, None, None, None, None
        return grad_x, local[C:], local[:C], None, None, None


class SyncBatchNorm(_BatchNorm):
    r"""Batch normalization with statistics of the batch summed over every process of a group.

    In training mode the per-channel :math:`\mu, \sigma^2` are those of the concatenated batch of
    all processes (:class:`SyncBatchNormFunction`), and the running estimates are updated with
    them: :math:`\text{running\_var} \leftarrow (1-f)\,\text{running\_var} + f\,\frac{n}{n-1}\sigma^2`
    with :math:`n` the global count, :math:`f` = ``momentum`` (or :math:`1/t` when it is ``None``).
    In evaluation mode it uses the running estimates and communicates nothing. Without an
    initialised process group (or in a group of one) it is plain batch normalization.
    Per-process batches may differ in size, and a process may hold an empty batch.

    Matches: ``torch.nn.SyncBatchNorm(num_features, eps, momentum, affine, track_running_stats,
    process_group)`` (same arguments, parameters and buffers), which runs on GPUs only; in one
    process, ``nn.BatchNorm2d`` on the concatenation of every process's batch.
    Differences: the variance is :math:`E[x^2]-E[x]^2` from one all-reduce of sums, where torch
    gathers each process's mean and variance; in float32 this loses digits when
    :math:`|\mu| \gg \sigma`.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None):
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"num_features must be a positive int, got {num_features!r}")
        if isinstance(eps, bool) or not isinstance(eps, Real) or not eps > 0:
            raise ValueError(f"eps must be a positive number, got {eps!r}")
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, Real)
                                     or not 0 <= momentum <= 1):
            raise ValueError(f"momentum must be in [0, 1] or None, got {momentum!r}")
        for name, flag in (("affine", affine), ("track_running_stats", track_running_stats)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
        super().__init__(num_features, float(eps), momentum if momentum is None else float(momentum),
                         affine, track_running_stats, device=device, dtype=dtype)
        self.process_group = process_group

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"input must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() < 2:
            raise ValueError(f"expected at least 2D input (N, C, *), got {x.dim()}D input")
        if x.shape[1] != self.num_features:
            raise ValueError(f"input has {x.shape[1]} channels, but num_features={self.num_features}")
        if not x.is_floating_point():
            raise TypeError(f"input must be a floating-point tensor, got {x.dtype}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        use_batch_stats = self.training or not self.track_running_stats
        if not use_batch_stats:                                   # eval: no communication
            shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
            invstd = torch.rsqrt(self.running_var + self.eps)
            x_hat = (x - self.running_mean.view(shape)) * invstd.view(shape)
            return x_hat * self.weight.view(shape) + self.bias.view(shape) if self.affine else x_hat
        world = _world(self.process_group) if self.training else 1
        y, mean, var, n = SyncBatchNormFunction.apply(x, self.weight, self.bias, self.eps,
                                                      self.process_group, world)
        if self.training and self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                f = 1.0 / self.num_batches_tracked.item() if self.momentum is None else self.momentum
                self.running_mean.mul_(1 - f).add_(f * mean)
                self.running_var.mul_(1 - f).add_(f * var * n / (n - 1))
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module: nn.Module, process_group=None) -> nn.Module:
        """Replace every ``BatchNorm*d`` inside ``module`` by a :class:`SyncBatchNorm` with the same
        parameters, buffers, ``requires_grad`` flags and train/eval mode.

        Matches: ``torch.nn.SyncBatchNorm.convert_sync_batchnorm(module, process_group)``.
        """
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, cls):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            if module.affine:
                out.weight, out.bias = module.weight, module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        del module
        return out


convert_sync_batchnorm = SyncBatchNorm.convert_sync_batchnorm
