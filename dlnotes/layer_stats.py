r"""What the forward pass does to the signal, layer by layer.

Initialisation schemes are derived from one requirement (Glorot & Bengio, 2010; He et al.,
2015, *Delving deep into rectifiers*): the variance of each layer's pre-activations should
stay constant with depth. For :math:`y_\ell = W_\ell x_\ell` with zero-mean independent
weights,

.. math:: \operatorname{Var}[y_\ell] = n_\ell\,\operatorname{Var}[W_\ell]\;\mathbb E[x_\ell^2],

so the signal keeps its scale when :math:`n_\ell\operatorname{Var}[W_\ell]\,\mathbb E[x^2]/\operatorname{Var}[y]`
is 1. :func:`forward_stats` measures the left-hand side of every layer in one forward pass, and
:func:`first_nonfinite` finds where a forward pass first overflows.

Dtypes: the model runs in its own dtype (half precision included: that is where overflow is
looked for); each recorded input and output is upcast to float64 before its mean and variance
are taken, so the statistics of an fp16 layer do not overflow themselves.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["forward_stats", "first_nonfinite"]


def _check(model, inputs) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(f"inputs must be a torch.Tensor, got {type(inputs).__name__}")
    if inputs.dim() < 1 or inputs.shape[0] == 0:
        raise ValueError(f"inputs must be a non-empty batch of shape (N, ...), got {tuple(inputs.shape)}")


def _leaf_modules(model: nn.Module, module_type) -> list[tuple[str, nn.Module]]:
    if module_type is None:
        return [(n, m) for n, m in model.named_modules() if not list(m.children())]
    if not (isinstance(module_type, type) and issubclass(module_type, nn.Module)):
        raise TypeError(f"module_type must be a subclass of torch.nn.Module or None, got {module_type!r}")
    return [(n, m) for n, m in model.named_modules() if isinstance(m, module_type)]


def forward_stats(model: nn.Module, inputs: torch.Tensor,
                  module_type: type | None = nn.Linear) -> list[dict[str, float | str]]:
    r"""Mean, variance and second moment of each matching module's input and output, in execution order.

    .. math:: \mu = \overline{y},\quad \sigma^2 = \overline{(y-\mu)^2},\quad
              \text{second moment} = \overline{y^2}

    over every entry of the batch. One forward pass under ``torch.no_grad()``; a module
    called twice appears twice. ``module_type=None`` records every leaf module.

    Returns a list of dicts with keys ``name``, ``in_mean``, ``in_var``, ``in_sq``,
    ``out_mean``, ``out_var``, ``out_sq``.

    Matches: the same statistics computed by hand from ``h = layer(h)`` applied layer by layer.
    """
    _check(model, inputs)
    records: list[dict[str, float | str]] = []

    def hook(name):
        def record(module, args, output):
            x = args[0].detach().double() if args and isinstance(args[0], torch.Tensor) else None
            y = output.detach().double()
            entry: dict[str, float | str] = {"name": name}
            for key, t in (("in", x), ("out", y)):
                if t is None:
                    entry.update({f"{key}_mean": float("nan"), f"{key}_var": float("nan"), f"{key}_sq": float("nan")})
                else:
                    entry.update({f"{key}_mean": t.mean().item(), f"{key}_var": t.var(unbiased=False).item(),
                                  f"{key}_sq": t.pow(2).mean().item()})
            records.append(entry)
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in _leaf_modules(model, module_type)]
    if not handles:
        raise ValueError(f"model has no modules of type {module_type.__name__} to record")
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for h in handles:
            h.remove()
    return records


def first_nonfinite(model: nn.Module, inputs: torch.Tensor) -> tuple[int, str] | None:
    r"""The first leaf module, in execution order, whose output holds inf or NaN.

    Returns ``(position, name)``, where ``position`` counts leaf-module calls from 0, or
    ``None`` when the whole forward pass stays finite. Where a run has blown up, this is the
    layer at which the signal first left the format's range; :func:`dlnotes.diagnostics.find_nonfinite`
    lists every damaged tensor instead.

    Matches: applying the leaf modules one by one and stopping at the first
    ``~torch.isfinite(h).all()``.
    """
    _check(model, inputs)
    calls: list[tuple[int, str]] = []
    found: list[tuple[int, str]] = []

    def hook(name):
        def record(module, args, output):
            position = len(calls)
            calls.append((position, name))
            if not found and isinstance(output, torch.Tensor) and not torch.isfinite(output).all():
                found.append((position, name))
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in _leaf_modules(model, None)]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for h in handles:
            h.remove()
    return found[0] if found else None
