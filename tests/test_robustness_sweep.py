"""The robustness sweep: every public name of dlnotes, fed unusual and bad inputs.

Each spec (``sweep_specs_*.py``) calls one public function with valid arguments; the sweep
perturbs one argument at a time with each input kind of ``sweep_kit`` (fp16/bf16/float64/int,
bool, non-contiguous, NumPy, list, NaN, inf, empty, single element, an extra dimension, 0-d;
NumPy scalars, bools, NaN, strings and negatives for numbers; NumPy ints, zero, negatives,
floats and bools for sizes) and applies ``sweep_kit.verdict``: equal to the torch /
scikit-learn reference (or to the same call on the equivalent input), or a ValueError /
TypeError naming the argument; inputs and modules left as they were.

A public name (in some module's ``__all__``) without a spec fails ``test_every_public_name_is_swept``:
the next function added gets the same treatment.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pytest
import torch

import dlnotes
from sweep_kit import cases, verdict
from sweep_specs_core import EXEMPT as EXEMPT_CORE
from sweep_specs_core import SPECS as SPECS_CORE
from sweep_specs_drills import EXEMPT as EXEMPT_DRILLS
from sweep_specs_drills import SPECS as SPECS_DRILLS
from sweep_specs_more import EXEMPT as EXEMPT_MORE
from sweep_specs_more import SPECS as SPECS_MORE
from sweep_specs_more import XFAIL as XFAIL_MORE
from sweep_specs_hparams import EXEMPT_OTHERS
from sweep_specs_hparams import SPECS as SPECS_HPARAMS
from sweep_specs_hparams import XFAIL as XFAIL_HPARAMS
from sweep_specs_inference import SPECS as SPECS_INFERENCE
from sweep_specs_others import SPECS as SPECS_OTHERS
from sweep_specs_others import XFAIL as XFAIL_OTHERS

SPECS = {**SPECS_CORE, **SPECS_MORE, **SPECS_OTHERS, **SPECS_HPARAMS, **SPECS_INFERENCE, **SPECS_DRILLS}
EXEMPT = {**EXEMPT_CORE, **EXEMPT_MORE, **EXEMPT_OTHERS, **EXEMPT_DRILLS}
XFAIL = {**XFAIL_MORE, **XFAIL_OTHERS, **XFAIL_HPARAMS}


def public_names() -> dict[str, object]:
    """``module.name`` -> object for every non-module name in some ``__all__`` (first module wins)."""
    found: dict[int, tuple[str, object]] = {}
    modules = [dlnotes] + [importlib.import_module(m.name)
                           for m in pkgutil.walk_packages(dlnotes.__path__, "dlnotes.")]
    for module in sorted(modules, key=lambda m: m.__name__.count(".")):
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not inspect.ismodule(obj) and id(obj) not in found:
                found[id(obj)] = (f"{obj.__module__.removeprefix('dlnotes.')}.{name}"
                                  if hasattr(obj, "__module__") else name, obj)
    return dict(found.values())


def test_every_module_has_an_all():
    modules = [importlib.import_module(m.name) for m in pkgutil.walk_packages(dlnotes.__path__, "dlnotes.")]
    missing = [m.__name__ for m in modules if not hasattr(m, "__all__") and not m.__name__.split(".")[-1].startswith("_")]
    assert missing == []


def test_every_public_name_is_swept():
    covered = {key.split("(")[0].split(".")[-1] for key in SPECS}
    missing = [q for q in public_names() if q.split(".")[-1] not in covered and q.split(".")[-1] not in EXEMPT]
    assert missing == [], f"public names with no sweep spec (add one, or an EXEMPT entry with a reason): {missing}"


CASES = cases(SPECS)


def _param(name, arg, kind):
    marks = []
    reason = XFAIL.get((name, arg, kind)) or XFAIL.get((name, arg, "*")) or XFAIL.get((name, "*", kind))
    if reason:
        marks.append(pytest.mark.xfail(strict=True, reason=reason))
    return pytest.param(name, arg, kind, id=f"{name}-{arg}-{kind}", marks=marks)


@pytest.mark.parametrize("name, arg, kind", [_param(*c) for c in CASES])
def test_sweep(name, arg, kind):
    torch.manual_seed(0)
    problem = verdict(SPECS[name], arg, kind)
    assert problem is None, problem


def test_sweep_size():
    functions = len(SPECS)
    kinds = {k for _, _, k in CASES}
    assert functions >= 100 and len(kinds) >= 25 and len(CASES) >= 1500, (functions, len(kinds), len(CASES))


# ---------------------------------------------------------------- property tests on arbitrary floats
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

from sweep_specs_core import ACT  # noqa: E402

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
TOLERANCE = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2, torch.float32: 2e-6, torch.float64: 1e-12}


@pytest.mark.parametrize("name", list(ACT))
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@settings(max_examples=25)
@given(values=arrays(np.float64, st.integers(0, 12), elements=st.floats(allow_nan=True, allow_infinity=True,
                                                                       min_value=None, max_value=None)))
def test_activations_equal_torch_on_any_floats(name, dtype, values):
    """Every element-wise activation equals torch's on arbitrary floats (NaN, +-inf, huge, tiny) in every dtype."""
    ours, ref, kw, _ = ACT[name]
    x = torch.as_tensor(values).to(dtype)
    got, want = ours(x, **kw), ref(x, **kw)
    assert got.dtype == want.dtype == dtype
    finite = torch.isfinite(want)
    tol = TOLERANCE[dtype]
    torch.testing.assert_close(got[finite], want[finite], rtol=tol, atol=tol)
    assert torch.isnan(got[torch.isnan(x)]).all()  # NaN in, NaN out: divergence stays visible
    # (where torch overflows, e.g. its GELU at 1.7e38 or at inf, we may give the finite limit instead)
