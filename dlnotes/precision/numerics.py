r"""Where low precision breaks: underflow of gradients, stalled sums, lost updates.

The measurements of Micikevicius et al. (2018), "Mixed Precision Training" (histogram of
activation gradients, loss scaling, fp32 master weights), at the scale of a CPU.

Dtypes: the sums take any floating-point tensor and any format of :data:`FORMATS` whose torch
dtype exists in this build (the fp8 formats included); every operation is done in float32 and
rounded to the format. :func:`range_census` reads its input as float32. :func:`train_regression`
computes in fp32, fp16 or bf16 as its ``precision`` says.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import torch
from ..progress import tqdm

from .formats import FormatLike, get_format, round_to
from .scaling import GradScaler

__all__ = [
    "range_census", "sequential_sum", "kahan_sum", "collect_gradients", "TrainResult",
    "train_regression"
]


def range_census(values: torch.Tensor, fmt: FormatLike) -> dict[str, float]:
    r"""Where the non-zero finite ``values`` land when rounded to ``fmt``, as fractions.

    ``zero``: round to :math:`\pm 0` (underflow, :math:`|x| \le 2^{e_{min}-m-1}`);
    ``subnormal``: below the smallest normal (fewer significant bits); ``normal``;
    ``overflow``: beyond the largest finite value (inf, NaN or saturated).
    """
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"values must be a torch.Tensor, got {type(values).__name__}")
    f = get_format(fmt)
    v = values.detach().float().reshape(-1).cpu()
    v = v[torch.isfinite(v) & (v != 0)]
    if v.numel() == 0:
        raise ValueError("values must contain at least one finite non-zero number, got none")
    r = round_to(v, f).abs()
    zero = r == 0
    overflow = ~torch.isfinite(r) | (v.abs() > f.max)
    subnormal = ~zero & ~overflow & (r < f.smallest_normal)
    n = v.numel()
    return {
        "zero": zero.sum().item() / n,
        "subnormal": subnormal.sum().item() / n,
        "normal": (n - zero.sum() - subnormal.sum() - overflow.sum()).item() / n,
        "overflow": overflow.sum().item() / n,
    }


def _low_precision_values(values, fmt: FormatLike):
    """``values`` rounded to ``fmt`` (held in float32) and the rounding ``fl`` of that format."""
    f = get_format(fmt)
    if f.dtype is None:
        raise ValueError(f"fmt must have a torch dtype in this build, got {f.name}")
    if not isinstance(values, torch.Tensor) or not values.is_floating_point():
        raise TypeError(f"values must be a floating-point tensor, got {type(values).__name__}")

    def fl(t: torch.Tensor) -> torch.Tensor:
        return t.to(f.dtype).to(torch.float32)

    return fl(values.detach().reshape(-1).cpu()), fl


def sequential_sum(values: torch.Tensor, fmt: FormatLike) -> float:
    r"""Left-to-right sum with the accumulator stored in ``fmt``:
    :math:`s_k = \operatorname{fl}(s_{k-1} + x_k)`, as a naive loop in half precision does.

    Once :math:`|x_k| < \tfrac12\,\text{ulp}(s)`, adding :math:`x_k` changes nothing and the
    sum stalls. Each addition is computed in float32 and rounded to ``fmt`` (``fl``), which
    is what torch's float16 and bfloat16 additions do and works for the fp8 formats too
    (torch has no fp8 arithmetic). Rounding twice, first to float32 and then to ``fmt``, gives
    the correctly rounded sum, because float32's 24 significant bits are at least
    :math:`2p + 2` for every format here with :math:`p \le 11` (Figueroa, 1995).
    """
    x, fl = _low_precision_values(values, fmt)
    s = torch.zeros((), dtype=torch.float32)
    for x_k in x:
        s = fl(s + x_k)
    return s.item()


def kahan_sum(values: torch.Tensor, fmt: FormatLike) -> float:
    r"""Compensated (Kahan, 1965) sum with every variable in ``fmt``.

    .. math:: y = x_k - c,\quad t = s + y,\quad c = (t - s) - y,\quad s = t

    :math:`c` carries the low-order bits that :math:`s + y` lost; the error bound becomes
    :math:`O(\epsilon)` instead of :math:`O(n\epsilon)`. Each operation is rounded to ``fmt``
    as in :func:`sequential_sum`.
    """
    x, fl = _low_precision_values(values, fmt)
    s = torch.zeros((), dtype=torch.float32)
    c = torch.zeros((), dtype=torch.float32)
    for x_k in x:
        y = fl(x_k - c)
        t = fl(s + y)
        c = fl(fl(t - s) - y)
        s = t
    return s.item()


def collect_gradients(model: torch.nn.Module, loss_fn, *args) -> dict[str, dict[str, torch.Tensor]]:
    r"""Run ``loss_fn(model, *args).backward()`` and return, for every ``nn.Linear``, the
    gradient of the loss with respect to its output (the *activation gradient*
    :math:`\partial L/\partial z`) and to its weight, as flattened float32 tensors.

    A layer that the loss does not reach (never called, or its output has no gradient) is left
    out; a layer called several times gets the activation gradients of every call, concatenated
    in call order; a frozen layer (``weight.requires_grad=False``) has no ``"weight"`` entry.

    Matches: ``z.retain_grad()`` on each layer output, then ``z.grad`` and ``layer.weight.grad``.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    layers = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    if not layers:
        raise ValueError("model must contain at least one nn.Linear, got none")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(model, *args), got {type(loss_fn).__name__}")
    captured: dict[str, dict[int, torch.Tensor]] = {n: {} for n in layers}

    def hook(name):
        def on_forward(module, inputs, output):
            if not output.requires_grad:
                return
            call = len(captured[name])
            captured[name][call] = None  # reserve the slot: backward visits calls in reverse

            def save(grad):
                captured[name][call] = grad.detach().float().reshape(-1).clone()

            output.register_hook(save)

        return on_forward

    handles = [m.register_forward_hook(hook(n)) for n, m in layers.items()]
    try:
        model.zero_grad(set_to_none=True)
        loss_fn(model, *args).backward()
    finally:
        for h in handles:
            h.remove()
    result = {}
    for n, m in layers.items():
        grads = [g for g in captured[n].values() if g is not None]
        if not grads:
            continue
        result[n] = {"activation": torch.cat(grads)}
        if m.weight.grad is not None:
            result[n]["weight"] = m.weight.grad.detach().float().reshape(-1).clone()
    return result


@dataclass
class TrainResult:
    """What :func:`train_regression` measured."""

    final_loss: float  # MSE on all data / mean(Y^2): 1 = predicting zero
    zero_grad_fraction: float  # share of output-weight gradient entries that are exactly 0
    steps_skipped: int = 0
    scales: list = field(default_factory=list)


def train_regression(
    X: torch.Tensor,
    Y: torch.Tensor,
    precision: str = "fp32",
    scaler: GradScaler | None = None,
    master_weights: bool = True,
    steps: int = 200,
    lr: float = 0.1,
    momentum: float = 0.9,
    batch_size: int = 128,
    hidden: int = 32,
    seed: int = 0,
    progress: bool = False,
) -> TrainResult:
    r"""Fit a one-hidden-layer tanh MLP to ``Y`` by SGD with momentum, in a chosen precision.

    ``precision`` is ``"fp32"``, ``"fp16"`` or ``"bf16"``. With ``master_weights=True`` the
    parameters stay fp32 and the forward and backward run under ``torch.autocast`` in that
    format (the mixed-precision recipe); an optional ``scaler`` scales the loss. With
    ``master_weights=False`` the whole model, its gradients and its updates live in the low
    format. The output layer starts at zero, so the prediction starts at 0.
    """
    dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    if precision not in dtypes:
        raise ValueError(f"precision must be one of {sorted(dtypes)}, got {precision!r}")
    if not (isinstance(X, torch.Tensor) and isinstance(Y, torch.Tensor)):
        raise TypeError(f"X and Y must be tensors, got {type(X).__name__} and {type(Y).__name__}")
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise ValueError(f"X and Y must be 2-D with equal rows, got {tuple(X.shape)} and {tuple(Y.shape)}")
    if scaler is not None and not master_weights:
        raise ValueError("scaler needs master_weights=True (fp32 gradients to unscale), got False")
    for name, value in (("steps", steps), ("batch_size", batch_size), ("hidden", hidden)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be a positive int, got {value}")
    steps, batch_size, hidden = int(steps), int(batch_size), int(hidden)
    for name, value in (("lr", lr), ("momentum", momentum)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
        if not (value >= 0 and math.isfinite(value)):
            raise ValueError(f"{name} must be non-negative and finite, got {value}")
    dtype = dtypes[precision]
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, Y.shape[1])
    ).to(X.device)
    with torch.no_grad():
        model[2].weight.zero_()
        model[2].bias.zero_()
    autocast = master_weights and precision != "fp32"
    if not master_weights:
        model = model.to(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    gen = torch.Generator().manual_seed(seed)
    zero_fractions, scales = [], []
    for _ in tqdm(range(steps), disable=not progress):
        idx = torch.randint(0, len(X), (batch_size,), generator=gen).to(X.device)
        xb, yb = X[idx].to(model[0].weight.dtype), Y[idx].to(model[0].weight.dtype)
        opt.zero_grad(set_to_none=True)
        with torch.autocast(X.device.type, dtype=dtype, enabled=autocast):
            loss = torch.nn.functional.mse_loss(model(xb), yb)
        (scaler.scale(loss) if scaler is not None else loss).backward()
        zero_fractions.append((model[2].weight.grad == 0).float().mean().item())
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
            scales.append(scaler.get_scale())
        else:
            opt.step()
    with torch.no_grad():
        prediction = model(X.to(model[0].weight.dtype)).float()
        final = torch.mean((prediction - Y) ** 2) / torch.mean(Y**2)
    return TrainResult(
        final_loss=final.item(),
        zero_grad_fraction=sum(zero_fractions) / steps,
        steps_skipped=scaler.steps_skipped if scaler is not None else 0,
        scales=scales,
    )
