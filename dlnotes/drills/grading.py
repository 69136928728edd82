"""Running a candidate function on a drill's cases and comparing what comes back with the reference.

The pieces: :class:`Trial` (one case: inputs and the reference output, or a custom run),
:func:`compare` (tensor, number, tuple and list results against the reference, at tolerances
set by the dtype), :func:`describe` (an input as shape, dtype and a few values, for the
failure report) and :func:`run_trial` (one call, with NumPy conversion, seeding and a check
that no input was modified in place).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

__all__ = ["Trial", "compare", "describe", "run_trial"]

TOLERANCE = {torch.float64: (1e-9, 1e-11), torch.float32: (1e-5, 1e-6), torch.float16: (1e-3, 1e-4),
             torch.bfloat16: (1e-2, 1e-3)}
"""(rtol, atol) by the reference's dtype: float64 is compared almost to rounding."""
SCALAR_TOLERANCE = (1e-9, 1e-12)


class NotAttempted(Exception):
    """The candidate raised NotImplementedError: the stub has not been filled in."""


class Mutated(Exception):
    """The candidate changed one of its inputs in place."""


@dataclass
class Trial:
    """One case of a drill.

    The default run calls the function with ``args``/``kwargs`` and compares the result with
    ``expected``; ``raises`` expects that exception instead; ``judge(got)`` replaces the
    comparison with a property check (random functions); ``run(call)`` replaces the whole call,
    for sequences such as several optimizer steps. Each returns ``None`` or what went wrong.
    """

    description: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    expected: Any = None
    raises: type[BaseException] | None = None
    judge: Callable[[Any], str | None] | None = None
    run: Callable[[Callable], str | None] | None = None
    rtol: float | None = None
    atol: float | None = None
    hint: str | None = None
    section: tuple[str, str, str] | None = None  # (doc, target, title); default: the drill's
    inputs: str | None = None  # how to describe the inputs, where describe() would not do


# --------------------------------------------------------------------------- describing values
def _num(x) -> str:
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, numbers.Integral):
        return str(int(x))
    return f"{float(x):.6g}"


def describe(value, limit: int = 4) -> str:
    """A value as a reader wants to see it in a failure report: shape, dtype, first entries."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        kind = "tensor" if isinstance(value, torch.Tensor) else "array"
        flat = (value.detach().cpu().flatten() if kind == "tensor" else value.ravel())
        vals = ", ".join(_num(v) for v in flat[:limit].tolist())
        more = ", …" if flat.shape[0] > limit else ""
        dtype = str(value.dtype).replace("torch.", "")
        return f"{kind} of shape {tuple(value.shape)}, {dtype}, [{vals}{more}]"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (torch.Tensor, np.ndarray, list, tuple)) for v in value):
            inner = "; ".join(describe(v, 2) for v in value[:3])
            more = f"; … ({len(value)} in all)" if len(value) > 3 else ""
            return f"{type(value).__name__} of {len(value)}: [{inner}{more}]"
        text = repr(type(value)(round(v, 6) if isinstance(v, float) else v for v in value))
        return text if len(text) <= 80 else text[:77] + "…"
    if callable(value):
        return getattr(value, "__doc__", None) or getattr(value, "__name__", "a function")
    if isinstance(value, (numbers.Number, np.generic)) and not isinstance(value, bool):
        return _num(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


# --------------------------------------------------------------------------- conversion
def to_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    if isinstance(value, (list, tuple)):
        return type(value)(to_numpy(v) for v in value)
    return value


def to_torch(value):
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return type(value)(to_torch(v) for v in value)
    return value


def _snapshot(value):
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return [_snapshot(v) for v in value]
    return None


def _unchanged(before, after) -> bool:
    if isinstance(before, torch.Tensor):
        a = after.detach()
        return before.shape == a.shape and bool(((before == a) | (before.isnan() & a.isnan())).all())
    if isinstance(before, np.ndarray):
        return before.shape == after.shape and bool(np.array_equal(before, after, equal_nan=True))
    if isinstance(before, list):
        return len(before) == len(after) and all(_unchanged(b, a) for b, a in zip(before, after))
    return True


# --------------------------------------------------------------------------- comparing
def _as_real(got):
    if isinstance(got, torch.Tensor) and got.numel() == 1 and got.dim() <= 1:
        return float(got.detach())
    if isinstance(got, (numbers.Real, np.floating, np.integer)) and not isinstance(got, bool):
        return float(got)
    return None


def _tensor_problem(got, exp: torch.Tensor, rtol, atol, what: str) -> str | None:
    if exp.dim() == 0 and not isinstance(got, torch.Tensor) and _as_real(got) is not None:
        got = torch.tensor(_as_real(got), dtype=exp.dtype)  # a scalar loss may come back as a float
    if not isinstance(got, torch.Tensor):
        return f"{what}: expected a tensor of shape {tuple(exp.shape)}, got {describe(got)}"
    got = got.detach().cpu()
    if tuple(got.shape) != tuple(exp.shape):
        return f"{what}: shape {tuple(got.shape)}, expected {tuple(exp.shape)}"
    if not exp.is_floating_point():
        if got.is_floating_point() or got.dtype == torch.bool and exp.dtype != torch.bool:
            return f"{what}: dtype {str(got.dtype)[6:]}, expected integers ({str(exp.dtype)[6:]})"
        if torch.equal(got.to(exp.dtype), exp):
            return None
        bad = (got.to(exp.dtype) != exp).nonzero()[0].tolist()
        return (f"{what} differs at index {tuple(bad)}\n  expected {describe(exp, 8)}\n"
                f"  got      {describe(got, 8)}")
    if got.dtype != exp.dtype:
        return f"{what}: dtype {str(got.dtype)[6:]}, expected {str(exp.dtype)[6:]} (the input's dtype)"
    d_rtol, d_atol = TOLERANCE.get(exp.dtype, (1e-5, 1e-6))
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    g, e = got.double(), exp.double()
    both_nan = g.isnan() & e.isnan()
    same_inf = torch.isinf(e) & (g == e)
    diff = (g - e).abs()
    ok = both_nan | same_inf | (torch.isfinite(e) & (diff <= atol + rtol * e.abs()))
    if bool(ok.all()):
        return None
    diff = torch.where(ok, torch.zeros_like(diff), torch.nan_to_num(diff, nan=math.inf))
    flat = int(diff.flatten().argmax())
    idx = tuple(np.unravel_index(flat, tuple(e.shape))) if e.dim() else ()
    return (f"{what} differs from the reference at {int((~ok).sum())} of {e.numel()} entries; "
            f"worst at index {tuple(int(i) for i in idx)}: expected {_num(e.flatten()[flat])}, "
            f"got {_num(g.flatten()[flat])}\n  expected {describe(exp, 6)}\n  got      {describe(got, 6)}")


def compare(got, expected, rtol: float | None = None, atol: float | None = None,
            what: str = "output", names: tuple[str, ...] = ()) -> str | None:
    """``None`` when ``got`` matches ``expected``, else a sentence saying where it does not."""
    if got is None:
        return f"{what}: returned None, expected {describe(expected)}"
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"{what}: expected a tuple of {len(expected)} values {names or ''}, got {describe(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            label = names[i] if i < len(names) else f"{what}[{i}]"
            problem = compare(g, e, rtol, atol, what=label)
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            return f"{what}: expected a list of {len(expected)}, got {describe(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            problem = compare(g, e, rtol, atol, what=f"{what}[{i}]")
            if problem:
                return problem
        return None
    if isinstance(expected, torch.Tensor):
        return _tensor_problem(got, expected, rtol, atol, what)
    if isinstance(expected, bool):
        return None if got is expected or got == expected else f"{what}: expected {expected}, got {describe(got)}"
    if isinstance(expected, numbers.Integral):
        value = _as_real(got)
        if value is None or value != int(expected) or (isinstance(got, float) and not got.is_integer()):
            return f"{what}: expected the integer {expected}, got {describe(got)}"
        return None
    if isinstance(expected, numbers.Real):
        value = _as_real(got)
        if value is None:
            return f"{what}: expected a number ({_num(expected)}), got {describe(got)}"
        r, a = SCALAR_TOLERANCE
        r, a = (r if rtol is None else rtol), (a if atol is None else atol)
        if math.isnan(expected) and math.isnan(value) or value == expected:
            return None
        if math.isfinite(expected) and abs(value - expected) <= a + r * abs(expected):
            return None
        return f"{what}: expected {_num(expected)}, got {_num(value)}"
    raise TypeError(f"cannot compare with a reference of type {type(expected).__name__}")


# --------------------------------------------------------------------------- one call
def make_call(fn: Callable, mode: str, arg_names: list[str], seed: int) -> Callable:
    """``call(*args, **kwargs)``: run ``fn`` as the grader does (NumPy conversion, seeding,
    in-place check) and return its output converted to torch."""

    def call(*args, **kwargs):
        if mode == "numpy":
            args, kwargs = to_numpy(args), {k: to_numpy(v) for k, v in kwargs.items()}
        before = [_snapshot(a) for a in args] + [_snapshot(v) for v in kwargs.values()]
        try:
            out = fn(*args, **kwargs)
        except NotImplementedError as exc:
            raise NotAttempted(str(exc)) from None
        names = arg_names[: len(args)] + list(kwargs)
        for name, b, a in zip(names, before, [*args, *kwargs.values()]):
            if b is not None and not _unchanged(b, a):
                raise Mutated(f"modified its input `{name}` in place; leave the inputs unchanged "
                              "and return new tensors")
        return to_torch(out)

    return call


def run_trial(fn: Callable, trial: Trial, mode: str, arg_names: list[str], seed: int,
              names: tuple[str, ...] = ()) -> str | None:
    """What went wrong in this case (``None`` if nothing). Raises :class:`NotAttempted`."""
    call = make_call(fn, mode, arg_names, seed)
    torch.manual_seed(seed)  # each case sees the same random numbers on every run
    np.random.seed(seed)
    try:
        if trial.run is not None:
            return trial.run(call)
        got = call(*trial.args, **trial.kwargs)
        if trial.raises is not None:
            return f"returned {describe(got)} instead of raising {trial.raises.__name__}"
        if trial.judge is not None:
            return trial.judge(got)
        return compare(got, trial.expected, trial.rtol, trial.atol, names=names)
    except NotAttempted:
        raise
    except Mutated as exc:
        return str(exc)
    except Exception as exc:  # the candidate's own error is a failed case, not a crash
        if trial.raises is not None and isinstance(exc, trial.raises):
            return None
        wanted = f" (expected {trial.raises.__name__})" if trial.raises is not None else ""
        message = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        return f"raised {type(exc).__name__}: {message}{wanted}"
