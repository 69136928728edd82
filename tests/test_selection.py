"""Splits against scikit-learn, fold by fold; the training loop on a problem it must solve."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import KFold, cross_val_score, train_test_split
from sklearn.linear_model import LogisticRegression
from torch import nn

from dlnotes import selection
from dlnotes.early_stopping import EarlyStopping
from dlnotes.ema import EMA


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 60), data=st.data(), shuffle=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_kfold_matches_sklearn(n, data, shuffle, seed):
    k = data.draw(st.integers(2, n))
    seed = seed if shuffle else None
    ours = selection.kfold_indices(n, k, shuffle=shuffle, seed=seed)
    ref = list(KFold(n_splits=k, shuffle=shuffle, random_state=seed).split(np.arange(n)))
    assert len(ours) == len(ref) == k
    for (tr, va), (tr_ref, va_ref) in zip(ours, ref):
        np.testing.assert_array_equal(tr, tr_ref)
        np.testing.assert_array_equal(va, va_ref)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 50), data=st.data())
def test_kfold_folds_partition_the_data(n, data):
    k = data.draw(st.integers(2, n))
    folds = selection.kfold_indices(n, k, shuffle=True, seed=0)
    all_val = np.concatenate([va for _, va in folds])
    assert sorted(all_val.tolist()) == list(range(n))
    for tr, va in folds:
        assert set(tr).isdisjoint(va) and len(tr) + len(va) == n
        assert len(va) in (n // k, n // k + 1)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 80), frac=st.floats(0.05, 0.9), shuffle=st.booleans(), seed=st.integers(0, 2**31 - 1),
       as_int=st.booleans())
def test_train_val_split_matches_sklearn(n, frac, shuffle, seed, as_int):
    val_size = max(1, min(n - 1, int(frac * n))) if as_int else frac
    if not as_int and np.ceil(frac * n) >= n:
        return
    seed = seed if shuffle else None
    tr, va = selection.train_val_split(n, val_size, shuffle=shuffle, seed=seed)
    tr_ref, va_ref = train_test_split(np.arange(n), test_size=val_size, shuffle=shuffle, random_state=seed)
    np.testing.assert_array_equal(tr, tr_ref)
    np.testing.assert_array_equal(va, va_ref)


def test_cross_val_scores_matches_sklearn():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    y = (X[:, 0] + 0.5 * rng.randn(60) > 0).astype(int)

    def score(tr, va):
        return LogisticRegression().fit(X[tr], y[tr]).score(X[va], y[va])

    ours = selection.cross_val_scores(score, 60, k=4, shuffle=True, seed=3)
    ref = cross_val_score(LogisticRegression(), X, y, cv=KFold(4, shuffle=True, random_state=3))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: selection.kfold_indices(10, 1), ValueError, "k must be at least 2, got 1"),
        (lambda: selection.kfold_indices(5, 6), ValueError, "k must be at most n=5"),
        (lambda: selection.kfold_indices(10.0, 2), TypeError, "n must be an int, got float"),
        (lambda: selection.kfold_indices(10, 2, seed=1), ValueError, "seed=1 has no effect"),
        (lambda: selection.kfold_indices(10, 2, shuffle=True, seed=1.5), TypeError, "seed must be an int"),
        (lambda: selection.train_val_split(10, 1.5), ValueError, r"val_size must be in \(0, 1\)"),
        (lambda: selection.train_val_split(10, 10), ValueError, r"val_size must be in \[1, n=10\)"),
        (lambda: selection.train_val_split(10, "a"), TypeError, "val_size must be a float"),
        (lambda: selection.train_val_split(2, 0.99), ValueError, "leaves no training samples"),
        (lambda: selection.cross_val_scores(3, 10), TypeError, "score must be callable"),
    ],
    ids=["k<2", "k>n", "n-float", "seed-no-shuffle", "seed-float", "val-float-range", "val-int-range",
         "val-type", "val-all", "score-callable"],
)
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def _blobs(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    X = torch.randn(n, 2, generator=g) * 0.5 + torch.tensor([[0.0, 3.0], [3.0, 0.0], [-3.0, -3.0]])[y]
    return X, y


def test_fit_classifier_learns_separable_blobs():
    torch.manual_seed(0)
    X, y = _blobs()
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    hist = selection.fit_classifier(model, X[:150], y[:150], X_val=X[150:], y_val=y[150:],
                                    epochs=30, lr=0.05, batch_size=32)
    assert hist["train_acc"][-1] > 0.97 and hist["val_acc"][-1] > 0.95
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert hist["epochs_run"] == [30]
    assert selection.evaluate(model, X[150:], y[150:])[1] == pytest.approx(hist["val_acc"][-1])


def test_fit_classifier_is_reproducible_for_a_seed():
    X, y = _blobs()
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3))
        runs.append(selection.fit_classifier(model, X, y, epochs=5, batch_size=16, seed=7)["train_loss"])
    assert runs[0] == runs[1]


def test_fit_classifier_early_stopping_and_ema_hooks():
    torch.manual_seed(0)
    X, y = _blobs(120)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    stopper = EarlyStopping(patience=1, min_delta=10.0)  # nothing beats epoch 0 by 10: stops at epoch 1
    ema = EMA(model, decay=0.9)
    hist = selection.fit_classifier(model, X[:80], y[:80], X_val=X[80:], y_val=y[80:], epochs=20,
                                    early_stopping=stopper, ema=ema, batch_size=20)
    assert hist["epochs_run"] == [2] and len(hist["val_loss"]) == 2 and len(hist["ema_val_acc"]) == 2
    assert int(ema.n_averaged) == 2 * 4
    # restored to the epoch-0 weights
    assert selection.evaluate(model, X[80:], y[80:])[0] == pytest.approx(hist["val_loss"][0])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(epochs=0), ValueError, "epochs must be at least 1, got 0"),
        (dict(lr=0.0), ValueError, "lr must be positive, got 0.0"),
        (dict(weight_decay=-1.0), ValueError, "weight_decay must be non-negative, got -1.0"),
        (dict(optimizer="rmsprop"), ValueError, "optimizer must be one of"),
        (dict(batch_size=0), ValueError, "batch_size must be at least 1"),
        (dict(X_val=torch.zeros(2, 2)), ValueError, "X_val and y_val must be given together"),
        (dict(early_stopping=EarlyStopping(2)), ValueError, "early_stopping needs validation data"),
    ],
    ids=["epochs", "lr", "wd", "optimizer", "batch", "val-pair", "es-no-val"],
)
def test_fit_classifier_bad_inputs(kwargs, exc, match):
    X, y = _blobs(20)
    with pytest.raises(exc, match=match):
        selection.fit_classifier(nn.Linear(2, 3), X, y, **kwargs)


def test_fit_classifier_rejects_non_module():
    X, y = _blobs(20)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got function"):
        selection.fit_classifier(lambda x: x, X, y)


def test_fit_classifier_tracks_several_emas_and_each_equals_a_single_ema_run():
    import copy

    from dlnotes.ema import EMA
    torch.manual_seed(0)
    X, y = torch.randn(40, 5), torch.randint(0, 3, (40,))
    base = torch.nn.Linear(5, 3)
    runs = {}
    for decays in ((0.5,), (0.5, 0.9)):
        model = copy.deepcopy(base)
        emas = {str(d): EMA(model, decay=d) for d in decays}
        runs[decays] = selection.fit_classifier(model, X, y, X_val=X, y_val=y, epochs=3, batch_size=10, ema=emas)
    single = selection.fit_classifier(copy.deepcopy(base), X, y, X_val=X, y_val=y, epochs=3, batch_size=10,
                                      ema=EMA(copy.deepcopy(base), decay=0.9))
    assert runs[(0.5,)]["ema_val_loss/0.5"] == runs[(0.5, 0.9)]["ema_val_loss/0.5"]
    assert runs[(0.5, 0.9)]["ema_val_loss/0.9"] == single["ema_val_loss"]
    assert runs[(0.5, 0.9)]["ema_val_loss/0.9"] != runs[(0.5, 0.9)]["ema_val_loss/0.5"]
    with pytest.raises(TypeError, match="ema must be an EMA or a dict"):
        selection.fit_classifier(copy.deepcopy(base), X, y, ema={"a": 0.9})
