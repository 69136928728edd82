r"""Where the bytes of a training step go: weights, gradients, optimizer state, saved activations.

With Adam, fp32 training holds 4 (weights) + 4 (gradients) + 8 (two moments) = 16 bytes per
parameter. Mixed precision with fp32 master weights (Micikevicius et al., 2018) holds the same
16, whether the 16-bit copies are made per op (``torch.autocast``) or kept (then 2 + 2 more
bytes, and fp32 gradients replaced by 16-bit ones): what halves is the activations saved for
the backward pass. Only pure 16-bit training, which loses small updates, halves the rest.

Dtypes: any; bytes are counted from each tensor's own ``element_size()`` (2 for fp16/bf16,
4 for fp32, 1 for fp8).
"""
from __future__ import annotations

from typing import Callable

import torch

__all__ = ["state_bytes", "saved_tensor_bytes"]


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def state_bytes(model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None) -> dict[str, int]:
    r"""Bytes held by the parameters, their ``.grad`` and the optimizer's per-parameter state.

    Counts tensors only (an optimizer's scalar ``step`` counters of 0 dimensions are left out).
    Returns ``{"parameters", "gradients", "optimizer", "total", "per_parameter"}``, the last one
    being total bytes divided by the number of parameters.

    Matches: ``sum(t.numel() * t.element_size())`` over ``model.parameters()``, their grads and
    ``optimizer.state``.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {type(optimizer).__name__}")
    params = list(model.parameters())
    n = sum(p.numel() for p in params)
    if n == 0:
        raise ValueError("model has no parameters")
    out = {
        "parameters": sum(_nbytes(p) for p in params),
        "gradients": sum(_nbytes(p.grad) for p in params if p.grad is not None),
        "optimizer": 0,
    }
    if optimizer is not None:
        out["optimizer"] = sum(_nbytes(v) for s in optimizer.state.values() for v in s.values()
                               if isinstance(v, torch.Tensor) and v.dim() > 0)
    out["total"] = out["parameters"] + out["gradients"] + out["optimizer"]
    out["per_parameter"] = out["total"] / n
    return out


def saved_tensor_bytes(closure: Callable[[], torch.Tensor]) -> int:
    r"""Bytes of the tensors autograd saves for the backward pass while ``closure()`` runs.

    Uses ``torch.autograd.graph.saved_tensors_hooks``; a tensor saved twice counts twice (an
    upper bound on what is resident). Returns the byte count; the closure's result is discarded.

    Matches: the sum of ``numel() * element_size()`` of every tensor passed to the pack hook.
    """
    if not callable(closure):
        raise TypeError(f"closure must be callable, got {type(closure).__name__}")
    total = 0

    def pack(t):
        nonlocal total
        total += _nbytes(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        closure()
    return total
