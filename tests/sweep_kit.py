"""The machinery of the robustness sweep: input kinds, one spec per public name, one verdict rule.

A :class:`Spec` says how to call one public function with valid arguments (``args``), which
of them are tensors, real numbers or sizes, and, where one exists, the torch / scikit-learn
call that must give the same answer (``reference``). :func:`verdict` perturbs one argument
with one input kind and decides:

* the call returns, and the result equals the reference's (or, without a reference, equals
  the result on the input the perturbed one *means*: a NumPy array means the tensor it was
  made from, an fp16 tensor means its values, a non-contiguous tensor means its copy); or
* the call raises ``ValueError``/``TypeError`` whose message names the argument; or
* the reference raises the same exception type (we refuse exactly what torch refuses).

Anything else (an ``IndexError`` from deep inside, a silently different answer, an input or a
module changed behind the caller's back) fails the sweep.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

CLEAR = (ValueError, TypeError)


@dataclass
class Spec:
    fn: Callable
    args: dict
    tensors: tuple = ()          # tensor arguments, perturbed with TENSOR_KINDS
    numbers: tuple = ()          # real hyperparameters, perturbed with NUMBER_KINDS
    nonneg: tuple = ()           # the numbers that must also refuse -1
    sizes: dict = field(default_factory=dict)  # integer counts -> their smallest valid value
    reference: Callable | None = None
    names: dict = field(default_factory=dict)  # argument -> words its error message may use instead
    mutates: tuple = ()          # arguments the function changes by contract (in-place, training)
    skip: tuple = ()             # (argument, kind) pairs that make no sense for this function
    kinds: tuple | None = None   # restrict the tensor kinds (None: all of TENSOR_KINDS)
    rtol: float = 1e-6


# ---------------------------------------------------------------- input kinds
def _noncontiguous(t: torch.Tensor) -> torch.Tensor:
    if t.ndim == 0:
        return t.clone()
    wide = torch.stack([t, t], dim=-1)  # same values, last stride 2
    out = wide[..., 0]
    assert t.numel() <= 1 or not out.is_contiguous()
    return out


def _set_first(value: float):
    def make(t: torch.Tensor) -> torch.Tensor:
        out = t.clone() if t.is_floating_point() or t.is_complex() else t.double()
        if out.numel():
            out.view(-1)[0] = value
        return out
    return make


# name -> (make perturbed value, the tensor it means or None, relative tolerance against it)
TENSOR_KINDS: dict[str, tuple[Callable, Callable | None, float]] = {
    "float16": (lambda t: t.half(), lambda t: t.half().to(t.dtype), 2e-2),
    "bfloat16": (lambda t: t.bfloat16(), lambda t: t.bfloat16().to(t.dtype), 1e-1),
    "float32": (lambda t: t.float(), lambda t: t.float().to(t.dtype), 1e-4),
    "float64": (lambda t: t.double(), lambda t: t.double().to(t.dtype), 1e-4),
    "int64": (lambda t: t.round().long(), lambda t: t.round(), 1e-6),
    "bool": (lambda t: t > 0, lambda t: (t > 0).to(t.dtype), 1e-6),
    "noncontiguous": (_noncontiguous, lambda t: t, 1e-6),
    "numpy": (lambda t: t.numpy(), lambda t: t, 1e-6),
    "list": (lambda t: t.tolist(), lambda t: t, 1e-6),
    "nan": (_set_first(math.nan), None, 0.0),
    "inf": (_set_first(math.inf), None, 0.0),
    "empty": (lambda t: t[:0] if t.ndim else t.reshape(1)[:0], None, 0.0),
    "single": (lambda t: t[:1] if t.ndim else t.reshape(1), None, 0.0),
    "extra_dim": (lambda t: t.unsqueeze(0), None, 0.0),
    "scalar_0d": (lambda t: t.reshape(-1)[0].clone() if t.numel() else t.sum(), None, 0.0),
}

# name -> (make perturbed value from a valid number, the number it means or None)
NUMBER_KINDS: dict[str, tuple[Callable, Callable | None]] = {
    "np.float64": (np.float64, float),
    "np.float32": (np.float32, lambda v: float(np.float32(v))),
    "np.int64": (lambda v: np.int64(v) if float(v).is_integer() else np.float64(v),
                 lambda v: v),
    "bool": (lambda v: True, None),
    "nan": (lambda v: math.nan, None),
    "str": (lambda v: str(v), None),
}

SIZE_KINDS: dict[str, Callable] = {
    "np.int64": lambda v, low: np.int64(v),
    "below_min": lambda v, low: low - 1,
    "negative": lambda v, low: -1,
    "float": lambda v, low: v + 0.5,
    "bool": lambda v, low: True,
}


def cases(specs: dict[str, Spec]) -> list[tuple[str, str, str]]:
    """Every (spec name, argument, kind) the sweep runs; ``("base", "base")`` is the plain call."""
    out = []
    for name, s in specs.items():
        out.append((name, "base", "base"))
        kinds = TENSOR_KINDS if s.kinds is None else s.kinds
        out += [(name, a, k) for a in s.tensors for k in kinds if (a, k) not in s.skip and k not in s.skip]
        out += [(name, a, "number:" + k) for a in s.numbers for k in NUMBER_KINDS
                if (a, k) not in s.skip and "number:" + k not in s.skip]
        out += [(name, a, "number:negative") for a in s.nonneg]
        out += [(name, a, "size:" + k) for a in s.sizes for k in SIZE_KINDS if (a, k) not in s.skip]
    return out


# ---------------------------------------------------------------- comparing results
def same(a: Any, b: Any, rtol: float, check_dtype: bool) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return False
        if check_dtype and a.dtype != b.dtype:
            return False
        if a.shape != b.shape:
            return False
        a, b = a.detach().cpu(), b.detach().cpu()
        if a.is_complex() or b.is_complex():
            a, b = torch.view_as_real(a.to(torch.complex128)), torch.view_as_real(b.to(torch.complex128))
        return bool(torch.allclose(a.double(), b.double(), rtol=rtol, atol=rtol, equal_nan=True))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return False
        if a.dtype.kind in "fciub" and b.dtype.kind in "fciub":
            return bool(np.allclose(a.astype(complex), b.astype(complex), rtol=rtol, atol=rtol, equal_nan=True))
        return bool((a == b).all())
    if isinstance(a, (float, int, np.number)) and isinstance(b, (float, int, np.number)):
        a, b = float(a), float(b)
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rtol, abs_tol=rtol)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], rtol, check_dtype) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y, rtol, check_dtype) for x, y in zip(a, b))
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
        return same(dataclasses.asdict(a), dataclasses.asdict(b), rtol, check_dtype)
    if isinstance(a, torch.nn.Module) and isinstance(b, torch.nn.Module):
        return same(dict(a.state_dict()), dict(b.state_dict()), rtol, check_dtype)
    return a == b


def call(fn: Callable, args: dict):
    try:
        return True, fn(**args)
    except Exception as e:  # noqa: BLE001 - the verdict classifies it
        return False, e


def names_argument(e: BaseException, arg: str, spec: Spec) -> bool:
    words = (arg,) + tuple(spec.names.get(arg, ()))
    return isinstance(e, CLEAR) and any(w in str(e) for w in words)


# ---------------------------------------------------------------- inputs stay untouched
def snapshot(args: dict, spec: Spec) -> dict:
    snap = {}
    for k, v in args.items():
        if k in spec.mutates:  # changed by contract, but a module must still keep its mode
            if isinstance(v, torch.nn.Module):
                snap[k] = ({n: m.training for n, m in v.named_modules()}, None)
            continue
        if isinstance(v, torch.Tensor):
            snap[k] = v.detach().clone()
        elif isinstance(v, np.ndarray):
            snap[k] = v.copy()
        elif isinstance(v, torch.nn.Module):
            snap[k] = ({n: m.training for n, m in v.named_modules()},
                       {n: t.detach().clone() for n, t in v.state_dict().items()})
    return snap


def unchanged(args: dict, snap: dict) -> list[str]:
    problems = []
    for k, before in snap.items():
        now = args[k]
        if isinstance(now, torch.nn.Module):
            modes, state = before
            if {n: m.training for n, m in now.named_modules()} != modes:
                problems.append(f"{k}: train/eval mode changed")
            after = now.state_dict()
            if state is not None and (after.keys() != state.keys()
                                      or not all(torch.equal(after[n], state[n]) for n in state)):
                problems.append(f"{k}: parameters or buffers changed")
        elif isinstance(now, torch.Tensor):
            if not torch.equal(torch.nan_to_num(now.detach()), torch.nan_to_num(before)):
                problems.append(f"{k}: tensor changed in place")
        elif isinstance(now, np.ndarray):
            if not np.array_equal(now, before, equal_nan=before.dtype.kind in "fc"):
                problems.append(f"{k}: array changed in place")
    return problems


# ---------------------------------------------------------------- the verdict
def verdict(spec: Spec, arg: str, kind: str) -> str | None:
    """None if the behaviour is acceptable, else a sentence saying what went wrong."""
    if kind == "base":
        for training in (True, False):
            args = dict(spec.args)
            for v in args.values():
                if isinstance(v, torch.nn.Module):
                    v.train(training)
            snap = snapshot(args, spec)
            ok, got = call(spec.fn, args)
            if not ok and spec.reference is not None:  # a spec of an input that must be refused
                ok_ref, ref = call(spec.reference, dict(spec.args))
                if not ok_ref and type(got) is type(ref) and isinstance(got, CLEAR):
                    if problems := unchanged(args, snap):
                        return "; ".join(problems)
                    continue  # refused with the reference's clear error type, inputs untouched
            if not ok:
                return f"the valid call raised {type(got).__name__}: {got}"
            problems = unchanged(args, snap)
            if problems:
                return "; ".join(problems)
            if spec.reference is not None:
                ok_ref, ref = call(spec.reference, dict(spec.args))
                if not ok_ref:
                    return f"the reference raised {type(ref).__name__}: {ref}"
                if not same(got, ref, spec.rtol, check_dtype=True):
                    return f"differs from the reference: {got!r} vs {ref!r}"
        return None

    base = spec.args[arg]
    args = dict(spec.args)
    meant = None
    tol = spec.rtol
    if kind.startswith("number:"):
        k = kind.split(":", 1)[1]
        if k == "negative":
            args[arg], meaning = -1.0, None
        else:
            make, meaning = NUMBER_KINDS[k]
            args[arg] = make(base)
        if meaning is not None:
            meant = dict(spec.args, **{arg: meaning(base)})
    elif kind.startswith("size:"):
        args[arg] = SIZE_KINDS[kind.split(":", 1)[1]](base, spec.sizes[arg])
        if kind == "size:np.int64":
            meant = dict(spec.args)
    else:
        make, meaning, tol = TENSOR_KINDS[kind]
        args[arg] = make(base)
        if meaning is not None:
            meant = dict(spec.args, **{arg: meaning(base)})
        tol = max(tol, spec.rtol)

    snap = snapshot(args, spec)
    ok, got = call(spec.fn, args)
    if ok and (problems := unchanged(args, snap)):
        return "; ".join(problems)
    if not ok and kind in ("number:np.float64", "number:np.float32", "number:np.int64", "size:np.int64"):
        return f"refused a NumPy scalar where a Python number works: {type(got).__name__}: {got}"
    if spec.reference is not None and not kind.startswith(("number:", "size:")):
        ok_ref, ref = call(spec.reference, dict(args))
        if ok and ok_ref:
            if same(got, ref, tol, check_dtype=kind not in ("numpy", "list", "int64", "bool")):
                return None
            return f"differs from the reference: {got!r} vs {ref!r}"
        if not ok and not ok_ref and type(got) is type(ref):
            return None  # refused exactly as the reference refuses
        if not ok and not ok_ref and names_argument(got, arg, spec):
            return None
    if not ok:
        if names_argument(got, arg, spec):
            return None
        return f"raised {type(got).__name__} without naming {arg!r}: {got}"
    if meant is None:
        if kind.startswith("number:") or kind.startswith("size:"):
            return f"accepted {arg}={args[arg]!r} silently"
        return None  # an unusual but valid input, and no reference to hold it to
    ok_m, want = call(spec.fn, meant)
    if not ok_m:
        return f"the equivalent valid call raised {type(want).__name__}: {want}"
    if not same(got, want, tol, check_dtype=False):
        return f"differs from the same call on the equivalent input: {got!r} vs {want!r}"
    return None
