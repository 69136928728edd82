"""EarlyStopping against a plain reading of its rule and against ReduceLROnPlateau's counter."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dlnotes.early_stopping import EarlyStopping


def _reference_stop(values, patience, min_delta, mode):
    """Epoch at which training stops (or None), written directly from the definition."""
    best = math.inf if mode == "min" else -math.inf
    bad = 0
    for epoch, v in enumerate(values):
        improved = v < best - min_delta if mode == "min" else v > best + min_delta
        best, bad = (v, 0) if improved else (best, bad + 1)
        if bad >= patience:
            return epoch
    return None


def _our_stop(values, **kwargs):
    stopper = EarlyStopping(**kwargs)
    for epoch, v in enumerate(values):
        if stopper.step(v):
            return epoch
    return None


def _plateau_first_reduction(values, patience, min_delta, mode):
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=1.0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode=mode, factor=0.5, patience=patience - 1, threshold=min_delta, threshold_mode="abs", cooldown=0)
    for epoch, v in enumerate(values):
        sched.step(v)
        if opt.param_groups[0]["lr"] < 1.0:
            return epoch
    return None


values_st = st.lists(st.integers(0, 20).map(float), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(values=values_st, patience=st.integers(1, 6), min_delta=st.sampled_from([0.0, 0.5, 2.0]),
       mode=st.sampled_from(["min", "max"]))
def test_stop_epoch_matches_definition_and_reduce_lr_on_plateau(values, patience, min_delta, mode):
    ours = _our_stop(values, patience=patience, min_delta=min_delta, mode=mode)
    assert ours == _reference_stop(values, patience, min_delta, mode)
    assert ours == _plateau_first_reduction(values, patience, min_delta, mode)


@settings(max_examples=60, deadline=None)
@given(values=values_st, patience=st.integers(1, 6))
def test_best_is_the_running_optimum_of_the_seen_values(values, patience):
    stopper = EarlyStopping(patience)
    seen = []
    for v in values:
        seen.append(v)
        stop = stopper.step(v)
        assert stopper.best == min(seen)
        assert seen[stopper.best_epoch] == min(seen) and seen.index(min(seen)) == stopper.best_epoch
        if stop:
            assert stopper.epoch - stopper.best_epoch == patience
            break


def test_restore_best_loads_the_best_weights():
    model = nn.Linear(2, 1)
    stopper = EarlyStopping(patience=2)
    snapshots = []
    for v in [3.0, 1.0, 2.0, 5.0]:
        with torch.no_grad():
            model.weight.fill_(v)
        snapshots.append(model.weight.detach().clone())
        if stopper.step(v, model):
            break
    assert stopper.best_epoch == 1 and stopper.epoch == 3
    stopper.restore(model)
    assert torch.equal(model.weight, snapshots[1])


def test_restore_best_false_leaves_the_model_alone():
    model = nn.Linear(2, 1)
    stopper = EarlyStopping(patience=1, restore_best=False)
    stopper.step(1.0, model)
    with torch.no_grad():
        model.weight.fill_(9.0)
    stopper.step(2.0, model)
    stopper.restore(model)
    assert torch.all(model.weight == 9.0)


def test_nan_never_improves_and_tensor_values_accepted():
    stopper = EarlyStopping(patience=2)
    assert not stopper.step(torch.tensor(1.0))
    assert not stopper.step(float("nan"))
    assert stopper.step(float("nan")) and stopper.best == 1.0


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: EarlyStopping(0), ValueError, "patience must be at least 1, got 0"),
        (lambda: EarlyStopping(2.5), TypeError, "patience must be an int, got float"),
        (lambda: EarlyStopping(2, min_delta=-1.0), ValueError, "min_delta must be finite and non-negative, got -1.0"),
        (lambda: EarlyStopping(2, min_delta="0"), TypeError, "min_delta must be a float, got str"),
        (lambda: EarlyStopping(2, mode="minimum"), ValueError, "mode must be 'min' or 'max', got 'minimum'"),
        (lambda: EarlyStopping(2).step("1.0"), TypeError, "value must be a number, got str"),
        (lambda: EarlyStopping(2).step(torch.ones(3)), ValueError, r"value must be a scalar, got a tensor of shape \(3,\)"),
        (lambda: EarlyStopping(2).step(1.0, model="m"), TypeError, "model must be a torch.nn.Module or None"),
        (lambda: EarlyStopping(2).restore(None), TypeError, "model must be a torch.nn.Module, got NoneType"),
    ],
    ids=["patience-0", "patience-type", "delta-neg", "delta-type", "mode", "value-type", "value-shape",
         "model-type", "restore-type"],
)
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_step_after_stop_raises():
    stopper = EarlyStopping(1)
    stopper.step(1.0)
    assert stopper.step(2.0)
    with pytest.raises(RuntimeError, match="step\\(\\) called after stopping at epoch 1"):
        stopper.step(0.5)
