r"""Data-parallel SGD: W processes, each with its shard of the batch, averaging gradients.

Process :math:`r` computes the gradient :math:`g_r` of the mean loss over its :math:`b` samples;
the processes replace it by :math:`\bar g = \frac1W \sum_r g_r`, which is the gradient of the
mean loss over the whole batch of :math:`Wb` samples. Every process then takes the same SGD
step from the same parameters, so W processes with batch :math:`b` follow exactly the
trajectory of one process with batch :math:`Wb` (Li et al. 2020, "PyTorch Distributed").
``DistributedDataParallel`` does the averaging during backward, in buckets;
:func:`allreduce_gradients` does it by hand after backward. Each process must read a
different shard of every batch (``DistributedSampler``): with the same samples on every
process the average is just the gradient of :math:`b` samples.

The large-batch rule of Goyal et al. (2017, arXiv:1706.02677) — multiply the learning rate by
:math:`k` when the batch grows :math:`k`-fold, and ramp it up linearly over the first epochs —
is :func:`linear_scaling_run`.

Dtypes: the models train in float32 by default (``digits_cnn(dtype=...)`` picks another floating
dtype); gradients are all-reduced in their own dtype; rates are Python floats.
"""
from __future__ import annotations

from numbers import Integral, Real

import os

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

__all__ = ["allreduce_gradients", "data_parallel_sgd", "digits_cnn", "linear_scaling_run",
           "sgd_variants", "syncbn_study", "warmup_linear_lr"]

SYNCS = ("ddp", "hand", "none")


def allreduce_gradients(module: nn.Module, group=None) -> int:
    r"""Average every parameter's gradient over the processes: :math:`g \leftarrow \frac1W\sum_r g_r`.

    One ``all_reduce`` (sum) per parameter, then a division by the world size. Returns how
    many numbers were communicated.

    Matches: the gradients ``DistributedDataParallel(module)`` leaves after ``backward()``.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    world = dist.get_world_size(group)
    sent = 0
    for p in module.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM, group=group)
            p.grad.div_(world)
            sent += p.grad.numel()
    return sent


def _positive(value, name: str, kind=Integral):
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
        raise ValueError(f"{name} must be a positive {'int' if kind is Integral else 'number'}, got {value!r}")
    return value


def data_parallel_sgd(rank: int, model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                      batch_size: int, steps: int, lr: float, sync: str = "ddp",
                      shard: bool = True, seed: int = 0, momentum: float = 0.0) -> dict:
    r"""Train ``model`` with SGD on cross-entropy for ``steps`` steps on this process's shard.

    Each process reads ``batch_size`` samples per step from ``DistributedSampler(shuffle=True,
    seed=seed)``: the same permutation on every process, process :math:`r` taking positions
    :math:`r, r+W, r+2W, \dots` (with ``shard=False`` every process reads the whole permutation,
    i.e. the same samples). Gradients are averaged by ``sync``: ``"ddp"``
    (``DistributedDataParallel``), ``"hand"`` (:func:`allreduce_gradients`) or ``"none"``.
    Without a process group it is ordinary single-process SGD with the same sampler, so
    ``data_parallel_sgd(0, model, X, y, W * b, ...)`` is the reference for W processes with
    batch ``b``. Returns the final ``state_dict`` (copied tensors).

    Matches: the loop of ``torchrun --nproc-per-node=W train.py`` with
    ``DistributedDataParallel`` and ``DistributedSampler``.
    """
    from torch.nn.parallel import DistributedDataParallel

    if sync not in SYNCS:
        raise ValueError(f"sync must be one of {SYNCS}, got {sync!r}")
    _positive(batch_size, "batch_size")
    _positive(steps, "steps")
    _positive(lr, "lr", Real)
    grouped = dist.is_available() and dist.is_initialized()
    world = dist.get_world_size() if grouped else 1
    if sync != "none" and not grouped:
        raise ValueError(f"sync={sync!r} needs an initialised process group (run it under "
                         "dlnotes.distributed.launch or torchrun), or use sync='none'")
    net = DistributedDataParallel(model) if sync == "ddp" else model
    data = TensorDataset(X, y)
    sampler = DistributedSampler(data, num_replicas=world if shard else 1, rank=rank if shard else 0,
                                 shuffle=True, seed=seed, drop_last=True)
    loader = DataLoader(data, batch_size=batch_size, sampler=sampler, drop_last=True)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    step, epoch = 0, 0
    while step < steps:
        sampler.set_epoch(epoch)  # a new permutation each epoch, the same on every process
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(net(xb), yb).backward()
            if sync == "hand":
                allreduce_gradients(model)
            opt.step()
            step += 1
            if step == steps:
                break
        epoch += 1
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def digits_cnn(norm: str = "batch", width: int = 8, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """A small CNN for 8x8 digits with a normalization layer after each hidden layer.

    ``norm``: ``"batch"`` (``nn.BatchNorm2d`` / ``nn.BatchNorm1d``), ``"sync"``
    (:class:`dlnotes.sync_norm.SyncBatchNorm`) or ``"none"``.
    """
    from .sync_norm import SyncBatchNorm

    if norm not in ("batch", "sync", "none"):
        raise ValueError(f"norm must be 'batch', 'sync' or 'none', got {norm!r}")
    _positive(width, "width")

    def bn(c, two_d):
        if norm == "none":
            return nn.Identity()
        if norm == "sync":
            return SyncBatchNorm(c, dtype=dtype)
        return (nn.BatchNorm2d if two_d else nn.BatchNorm1d)(c, dtype=dtype)

    w = width
    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)),
        nn.Conv2d(1, w, 3, padding=1, dtype=dtype), bn(w, True), nn.ReLU(),
        nn.Conv2d(w, 2 * w, 3, padding=1, dtype=dtype), bn(2 * w, True), nn.ReLU(),
        nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(2 * w * 16, 4 * w, dtype=dtype), bn(4 * w, False), nn.ReLU(),
        nn.Linear(4 * w, 10, dtype=dtype),
    )


def warmup_linear_lr(step: int, base_lr: float, k: float, warmup_steps: int) -> float:
    r"""Goyal et al.'s gradual warm-up to the linearly scaled rate :math:`k\eta`.

    .. math:: \eta_t = \eta\,\big(1 + (k-1)\min(1, t/T_w)\big)

    (from :math:`\eta` at step 0 to :math:`k\eta` at step :math:`T_w`, then constant).

    Matches: ``torch.optim.lr_scheduler.LinearLR(opt, start_factor=1/k, total_iters=T_w)`` on
    an optimizer whose ``lr`` is :math:`k\eta`.
    """
    for name, value in (("step", step), ("warmup_steps", warmup_steps)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    base_lr, k = float(_positive(base_lr, "base_lr", Real)), float(_positive(k, "k", Real))
    if warmup_steps <= 0:
        return base_lr * k
    return base_lr * (1 + (k - 1) * min(1.0, step / warmup_steps))


def linear_scaling_run(batch_size: int, data, base_lr: float = 0.1, base_batch: int = 32,
                       epochs: int = 10, warmup_epochs: float = 2.0, scale: bool = True,
                       seed: int = 0, width: int = 64, device=None) -> float:
    r"""Train an MLP on digits with batch ``batch_size`` for a fixed number of ``epochs``; return
    the validation accuracy.

    With ``scale`` the rate is :math:`\eta\,k`, :math:`k` = ``batch_size / base_batch`` (the linear
    scaling rule), reached by :func:`warmup_linear_lr` over ``warmup_epochs`` epochs (0: none);
    without it the rate stays ``base_lr``. SGD with momentum 0.9, as in Goyal et al. (2017).
    One process with batch :math:`B` is exactly W processes with batch :math:`B/W` (see
    :func:`data_parallel_sgd`), so this measures the rule for any split of the global batch.
    """
    _positive(batch_size, "batch_size")
    _positive(base_batch, "base_batch")
    _positive(epochs, "epochs")
    X_tr, y_tr, X_val, y_val = (t.to(device) for t in data)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(X_tr.shape[1], width), nn.ReLU(), nn.Linear(width, 10)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=0.9)
    n = X_tr.shape[0]
    per_epoch = max(1, n // batch_size)
    k = batch_size / base_batch if scale else 1.0
    warmup = round(warmup_epochs * per_epoch) if scale else 0
    step = 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=g).to(device)
        for i in range(per_epoch):
            idx = order[i * batch_size:(i + 1) * batch_size]
            for group in opt.param_groups:
                group["lr"] = warmup_linear_lr(step, base_lr, k, warmup)
            opt.zero_grad()
            F.cross_entropy(model(X_tr[idx]), y_tr[idx]).backward()
            opt.step()
            step += 1
    with torch.no_grad():
        return (model(X_val).argmax(1) == y_val).double().mean().item()


def sgd_variants(rank: int, model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int,
                 steps: int, lr: float, seed: int = 0) -> dict:
    """Run :func:`data_parallel_sgd` three ways from the same ``model`` on this process:
    ``"ddp"``, ``"hand"`` (hand-written all-reduce) and ``"ddp-same-data"`` (``shard=False``).

    Returns ``{name: state_dict}``; a worker for :func:`dlnotes.distributed.launch`.
    """
    import copy

    runs = {"ddp": ("ddp", True), "hand": ("hand", True), "ddp-same-data": ("ddp", False)}
    return {name: data_parallel_sgd(rank, copy.deepcopy(model), X, y, batch_size, steps, lr,
                                    sync=sync, shard=shard, seed=seed)
            for name, (sync, shard) in runs.items()}


def main() -> None:
    """``torchrun --nproc-per-node=W -m dlnotes.data_parallel``: 20 DDP steps on digits.

    Each process prints its rank, local rank, world size and a checksum of its parameters;
    after the steps the checksums agree, because every process took the same averaged step.
    """
    from .data import load_digits_tensors

    backend = "nccl" if torch.cuda.is_available() and "LOCAL_RANK" in os.environ \
        and torch.cuda.device_count() > 1 else "gloo"
    dist.init_process_group(backend)          # reads RANK, WORLD_SIZE, MASTER_ADDR/PORT from torchrun
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10)).double()
    X, y = load_digits_tensors(torch.float64)
    state = data_parallel_sgd(rank, model, X, y, batch_size=8, steps=20, lr=0.5, sync="ddp", seed=3)
    checksum = sum(v.double().sum().item() for v in state.values())
    line = f"rank {rank} of world size {world} (local rank {local_rank}): checksum {checksum:.6f}\n"
    os.write(1, line.encode())   # one write: the processes share stdout and must not interleave
    dist.destroy_process_group()


if __name__ == "__main__":
    main()


def syncbn_study(rank: int, models: dict, X: torch.Tensor, y: torch.Tensor, batch_size: int,
                 steps: int, lr: float, seed: int = 0) -> dict:
    """A worker for the chapter on synchronized BatchNorm (run it under
    :func:`dlnotes.distributed.launch`).

    Returns ``{"allreduce": (forward sizes, backward sizes)}`` of one step of a SyncBN CNN without
    DDP, ``{"torch_cpu": message}`` of ``torch.nn.SyncBatchNorm`` on CPU tensors, and for each
    ``models[name]`` its ``state_dict`` after :func:`data_parallel_sgd` with DDP.
    """
    import copy

    calls, all_reduce = [], dist.all_reduce

    def counting(tensor, *args, **kwargs):
        calls.append(tensor.numel())
        return all_reduce(tensor, *args, **kwargs)

    probe = digits_cnn("sync", width=4, dtype=X.dtype)
    dist.all_reduce = counting
    try:
        out = probe(X[rank * batch_size:(rank + 1) * batch_size])
        n_forward = len(calls)
        F.cross_entropy(out, y[rank * batch_size:(rank + 1) * batch_size]).backward()
    finally:
        dist.all_reduce = all_reduce
    result = {"allreduce": (calls[:n_forward], calls[n_forward:])}
    try:
        nn.SyncBatchNorm(3)(torch.randn(4, 3, 2, 2))
        result["torch_cpu"] = "no error"
    except ValueError as exc:
        result["torch_cpu"] = f"{type(exc).__name__}: {exc}"
    for name, model in models.items():
        result[name] = data_parallel_sgd(rank, copy.deepcopy(model), X, y, batch_size, steps, lr,
                                         sync="ddp", seed=seed)
    return result
