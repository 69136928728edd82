"""Tests of the chapter's tuning problems (dlnotes.hparams.digits) and of parallel Optuna workers."""
from __future__ import annotations

import math

import optuna
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, TensorDataset

from dlnotes.hparams import digits as D
from dlnotes.hparams import parallel as P

PARAMS = dict(lr=1e-2, width=16, weight_decay=1e-4, dropout=0.1)


@pytest.fixture(scope="module")
def data():
    return D.digits_split()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), b=st.integers(1, 64), drop_last=st.booleans())
def test_iterations_per_epoch_matches_dataloader(n, b, drop_last):
    loader = DataLoader(TensorDataset(torch.zeros(n)), batch_size=b, drop_last=drop_last)
    assert D.iterations_per_epoch(n, b, drop_last) == len(loader)


@pytest.mark.parametrize("args, exc, match", [
    ((0, 4), ValueError, "n_samples must be at least 1, got 0"),
    ((10, 0), ValueError, "batch_size must be at least 1, got 0"),
    ((10.0, 4), TypeError, "n_samples must be an int"),
])
def test_iterations_per_epoch_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        D.iterations_per_epoch(*args)


def test_digits_split_is_standardized_and_stratified(data):
    X_tr, y_tr, X_val, y_val = data
    assert X_tr.shape == (1347, 64) and X_val.shape == (450, 64)
    assert X_tr.mean(0).abs().max() < 1e-4
    assert torch.bincount(y_val).min() >= 43
    with pytest.raises(ValueError, match="val_fraction"):
        D.digits_split(val_fraction=1.0)


def test_train_mlp_learns_is_deterministic_and_reports(data):
    seen = []
    acc = D.train_mlp(PARAMS, data, epochs=3, report=lambda e, a: seen.append((e, a)) or False)
    assert acc > 0.85 and [e for e, _ in seen] == [0, 1, 2] and seen[-1][1] == acc
    assert D.train_mlp(PARAMS, data, epochs=3) == acc
    stopped = []
    D.train_mlp(PARAMS, data, epochs=5, report=lambda e, a: stopped.append(e) or True)
    assert stopped == [0]


def test_train_mlp_diverging_run_is_nan(data):
    assert math.isnan(D.train_mlp(dict(PARAMS, lr=1e30), data, epochs=2))


@pytest.mark.parametrize("kwargs, match", [
    (dict(params={"lr": 0.1}), "missing"), (dict(epochs=0), "epochs"), (dict(batch_size=0), "batch_size"),
])
def test_train_mlp_errors(data, kwargs, match):
    args = dict(params=PARAMS, data=data)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        D.train_mlp(args.pop("params"), args.pop("data"), **args)


def test_iris_objective_is_the_notes_example():
    trial = optuna.trial.FixedTrial({"C": 10.0, "gamma": 0.05})
    acc = D.iris_svc_objective(trial)
    assert 0.9 <= acc <= 1.0


def test_parallel_workers_cover_the_grid_once_and_agree_with_one_process(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    grid = {"C": [0.1, 1.0, 10.0, 100.0], "gamma": [1e-3, 1e-2, 1e-1]}
    study = P.run_workers(D.iris_svc_objective, str(tmp_path / "journal.log"), "iris", n_workers=3,
                          n_trials=12, grid=grid)
    single = optuna.create_study(direction="maximize", sampler=optuna.samplers.GridSampler(grid, seed=0))
    single.optimize(D.iris_svc_objective, n_trials=12)
    as_set = lambda s: {(t.params["C"], t.params["gamma"], t.value) for t in s.trials}  # noqa: E731
    assert len(study.trials) == 12 and as_set(study) == as_set(single)
    assert len({(t.params["C"], t.params["gamma"]) for t in study.trials}) == 12  # no point twice
    assert len({t.user_attrs["worker_pid"] for t in study.trials}) > 1
    assert study.best_value == single.best_value


def test_run_workers_errors(tmp_path):
    with pytest.raises(ValueError, match="n_workers"):
        P.run_workers(D.iris_svc_objective, str(tmp_path / "j.log"), "s", n_workers=0, n_trials=3)
    with pytest.raises(TypeError, match="objective must be callable"):
        P.run_workers(3, str(tmp_path / "j.log"), "s", n_workers=1, n_trials=3)
    with pytest.raises(ValueError, match="grid size"):
        P.run_workers(D.iris_svc_objective, str(tmp_path / "g.log"), "g", n_workers=2, n_trials=3,
                      grid={"C": [1.0, 2.0], "gamma": [0.1]})
    with pytest.raises(TypeError, match="path must be"):
        P.journal_storage(3)


def test_fit_sgd_matches_torch_dataloader_loop(data):
    X_tr, y_tr, X_val, y_val = data
    ours = D.fit_sgd(data, batch_size=100, lr=0.05, epochs=2, width=8, seed=3)
    torch.manual_seed(3)
    gen = torch.Generator().manual_seed(3)
    model = D.mlp(8)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(2):
        model.train()
        order = torch.randperm(len(X_tr), generator=gen).tolist()  # the same shuffle, through a DataLoader
        for xb, yb in DataLoader(TensorDataset(X_tr, y_tr), batch_size=100, sampler=order):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    assert ours["train_acc"] == pytest.approx(D.accuracy(model, X_tr, y_tr))
    assert ours["val_acc"] == pytest.approx(D.accuracy(model, X_val, y_val))
    model.eval()
    with torch.no_grad():
        ref_loss = torch.nn.functional.cross_entropy(model(X_tr), y_tr).item()
    assert ours["train_loss"] == pytest.approx(ref_loss, rel=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=0), "batch_size"), (dict(lr=0.0), "lr must be positive"), (dict(epochs=0), "epochs"),
])
def test_fit_sgd_errors(data, kwargs, match):
    args = dict(batch_size=10, lr=0.1, epochs=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        D.fit_sgd(data, **args)


def test_accuracy_of_a_diverged_model_is_nan(data):
    model = D.mlp(4)
    with torch.no_grad():
        model[0].weight.fill_(float("inf"))
    assert math.isnan(D.accuracy(model, data[2], data[3]))


def test_training_helpers_place_their_work_on_the_requested_device(monkeypatch):
    """train_mlp and fit_sgd move data and model to ``device``; checked on the CPU by recording placement."""
    from dlnotes.hparams import digits as D

    data = D.digits_split()
    seen = []
    original = D.mlp

    def recording_mlp(*args, **kwargs):
        model = original(*args, **kwargs)
        model.register_forward_pre_hook(lambda m, inp: seen.append((next(m.parameters()).device, inp[0].device)))
        return model

    monkeypatch.setattr(D, "mlp", recording_mlp)
    params = {"lr": 1e-2, "width": 16, "weight_decay": 0.0, "dropout": 0.0}
    acc = D.train_mlp(params, data, epochs=1, batch_size=256, device="cpu")
    fit = D.fit_sgd(data, batch_size=256, lr=0.1, epochs=1, device=torch.device("cpu"))
    assert seen and all(p == x == torch.device("cpu") for p, x in seen)
    assert 0 <= acc <= 1 and 0 <= fit["val_acc"] <= 1
    with pytest.raises(RuntimeError):
        D.train_mlp(params, data, epochs=1, device="not-a-device")
