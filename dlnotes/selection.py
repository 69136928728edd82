r"""Model selection: hold-out splits, K-fold cross-validation, and the training loop they share.

The test set estimates the generalization error of the *final* model and is used once; choosing
a model (degree, weight decay, dropout rate, epochs) on it makes that estimate optimistic. Model
selection therefore uses data carved out of the training set: a validation split, or, when data
are scarce, K-fold cross-validation (Stone, 1974), which averages K validation scores

.. math:: \widehat{\mathrm{err}}_{\mathrm{CV}} = \frac{1}{K}\sum_{k=1}^{K}
          \frac{1}{|V_k|}\sum_{i\in V_k} \ell\big(f^{(-k)}(x_i), y_i\big),

where :math:`f^{(-k)}` is trained on every fold but :math:`V_k`.

Dtypes: index splits are NumPy int arrays; ``evaluate`` and ``fit_classifier`` run the model in
its own dtype (``X`` must share it, half precision included) with int64 labels, and return
losses and accuracies as Python floats.
"""
from __future__ import annotations

import math
import numbers
from typing import Callable

import numpy as np
import torch
from torch import nn
from .progress import tqdm

__all__ = ["kfold_indices", "train_val_split", "cross_val_scores", "evaluate", "fit_classifier"]

Indices = np.ndarray


def _check_int(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    return int(value)


def _check_seed(seed, shuffle: bool) -> None:
    if seed is not None and not shuffle:
        raise ValueError(f"seed={seed} has no effect without shuffle=True; set shuffle=True or seed=None")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")


def _rng(seed) -> np.random.RandomState:
    # scikit-learn's check_random_state: None means NumPy's global generator.
    return np.random.mtrand._rand if seed is None else np.random.RandomState(seed)


def kfold_indices(n: int, k: int, shuffle: bool = False, seed: int | None = None) -> list[tuple[Indices, Indices]]:
    r"""Split ``range(n)`` into ``k`` folds; return ``k`` pairs ``(train_idx, val_idx)``.

    The first :math:`n \bmod k` folds hold :math:`\lfloor n/k\rfloor + 1` indices, the others
    :math:`\lfloor n/k\rfloor`; with ``shuffle`` the indices are permuted first by
    ``numpy.random.RandomState(seed).shuffle``. Validation folds are disjoint and cover
    ``range(n)``; each training set is the complement of its fold; both are returned sorted.

    Matches: ``list(sklearn.model_selection.KFold(n_splits=k, shuffle=shuffle, random_state=seed).split(np.arange(n)))``.
    """
    n = _check_int(n, "n", 2)
    k = _check_int(k, "k", 2)
    if k > n:
        raise ValueError(f"k must be at most n={n} (one sample per fold), got {k}")
    _check_seed(seed, shuffle)
    indices = np.arange(n)
    if shuffle:
        _rng(seed).shuffle(indices)
    fold_sizes = np.full(k, n // k, dtype=int)
    fold_sizes[: n % k] += 1
    folds, start = [], 0
    for size in fold_sizes:
        in_val = np.zeros(n, dtype=bool)
        in_val[indices[start : start + size]] = True
        folds.append((np.flatnonzero(~in_val), np.flatnonzero(in_val)))
        start += size
    return folds


def train_val_split(n: int, val_size: float | int = 0.25, shuffle: bool = True,
                    seed: int | None = None) -> tuple[Indices, Indices]:
    r"""Hold out ``val_size`` of ``range(n)`` for validation; return ``(train_idx, val_idx)``.

    A float ``val_size`` in (0, 1) holds out :math:`\lceil \text{val\_size}\cdot n\rceil`
    samples, an int holds out that many. With ``shuffle`` the split comes from
    ``numpy.random.RandomState(seed).permutation(n)``: validation first, training after.

    Matches: ``sklearn.model_selection.train_test_split(np.arange(n), test_size=val_size, shuffle=shuffle, random_state=seed)``.
    Differences: named ``val_size`` because the test set is not for model selection.
    """
    n = _check_int(n, "n", 2)
    if isinstance(val_size, bool) or not isinstance(val_size, (int, float, np.integer, np.floating)):
        raise TypeError(f"val_size must be a float in (0, 1) or an int, got {type(val_size).__name__}")
    if isinstance(val_size, (float, np.floating)):
        val_size = float(val_size)  # np.float32 arithmetic would round val_size * n differently
        if not 0 < val_size < 1:
            raise ValueError(f"val_size must be in (0, 1) when a float, got {val_size}")
        n_val = math.ceil(val_size * n)
    else:
        if not 0 < val_size < n:
            raise ValueError(f"val_size must be in [1, n={n}) when an int, got {val_size}")
        n_val = int(val_size)
    if n_val >= n:
        raise ValueError(f"val_size={val_size} leaves no training samples out of n={n}")
    _check_seed(seed, shuffle)
    if not shuffle:
        return np.arange(n - n_val), np.arange(n - n_val, n)
    permutation = _rng(seed).permutation(n)
    return permutation[n_val:], permutation[:n_val]


def cross_val_scores(score: Callable[[Indices, Indices], float], n: int, k: int = 5,
                     shuffle: bool = False, seed: int | None = None) -> np.ndarray:
    r"""K-fold scores: ``score(train_idx, val_idx)`` for each fold of :func:`kfold_indices`.

    ``score`` trains a fresh model on ``train_idx`` and returns its validation error on
    ``val_idx``; the CV estimate is the mean of the returned array.

    Matches: ``sklearn.model_selection.cross_val_score(estimator, X, y, cv=KFold(k, shuffle=shuffle, random_state=seed))``
    with the fitting written inside ``score``.
    """
    if not callable(score):
        raise TypeError(f"score must be callable as score(train_idx, val_idx), got {type(score).__name__}")
    return np.array([float(score(tr, va)) for tr, va in kfold_indices(n, k, shuffle, seed)])


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Cross-entropy and accuracy of a classifier on ``(X, y)``, in evaluation mode."""
    was_training = model.training
    model.eval()
    logits = model(X)
    model.train(was_training)
    loss = nn.functional.cross_entropy(logits, y).item()
    return loss, (logits.argmax(dim=1) == y).double().mean().item()


def fit_classifier(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *,
                   X_val: torch.Tensor | None = None, y_val: torch.Tensor | None = None,
                   epochs: int = 100, lr: float = 1e-2, batch_size: int | None = None,
                   weight_decay: float = 0.0, optimizer: str = "adam",
                   augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
                   early_stopping=None, ema=None, seed: int = 0,
                   progress: bool = False) -> dict[str, list[float]]:
    r"""Train ``model`` with cross-entropy and return its per-epoch history.

    Each epoch visits the training set once in shuffled minibatches (``batch_size=None``:
    one full batch). ``optimizer`` is ``"adam"`` (``torch.optim.Adam``), ``"adamw"`` or
    ``"sgd"``, with ``weight_decay`` passed through. ``augment(xb, generator)`` transforms each
    minibatch. After each epoch the history records ``train_loss``/``train_acc`` (evaluation
    mode, on the un-augmented training set) and, with validation data, ``val_loss``/``val_acc``;
    an :class:`~dlnotes.ema.EMA` is updated after every step and evaluated as ``ema_val_*``
    (a dict ``{name: EMA}`` keeps several, recorded as ``ema_val_loss/<name>``, ``ema_val_acc/<name>``).
    An :class:`~dlnotes.early_stopping.EarlyStopping` watches ``val_loss`` and may end training
    (restoring its best weights); ``history["epochs_run"]`` says how many epochs ran. The
    model ends in the mode (train or eval) it came in.

    Dtypes: ``X`` must have the model's dtype (half precision included: the loss and the
    update then run in it, as a plain torch loop would); ``y`` holds int64 class labels.
    Empty data and mismatched lengths raise ``ValueError``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_data(X, y, "X", "y")
    weight = next(model.parameters(), None)
    if weight is not None and X.dtype != weight.dtype:
        raise TypeError(f"X must have the model's dtype {weight.dtype}, got {X.dtype}")
    epochs = _check_int(epochs, "epochs", 1)
    for name, value in (("lr", lr), ("weight_decay", weight_decay)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be non-negative, got {weight_decay}")
    if batch_size is not None:
        batch_size = _check_int(batch_size, "batch_size", 1)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together")
    if X_val is not None:
        _check_data(X_val, y_val, "X_val", "y_val")
    if early_stopping is not None and X_val is None:
        raise ValueError("early_stopping needs validation data (X_val, y_val)")
    optimizers = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
    if optimizer not in optimizers:
        raise ValueError(f"optimizer must be one of {sorted(optimizers)}, got {optimizer!r}")
    opt = optimizers[optimizer](model.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    n = len(X)
    size = n if batch_size is None else min(batch_size, n)
    keys = ["train_loss", "train_acc"] + (["val_loss", "val_acc"] if X_val is not None else [])
    emas = {} if ema is None else dict(ema) if isinstance(ema, dict) else {"": ema}
    if any(not isinstance(e, nn.Module) for e in emas.values()):
        raise TypeError("ema must be an EMA or a dict of them")
    suffix = lambda name: f"/{name}" if name else ""
    if X_val is not None:
        keys += [f"ema_val_{kind}{suffix(name)}" for name in emas for kind in ("loss", "acc")]
    history: dict[str, list[float]] = {key: [] for key in keys}
    was_training = model.training
    model.train()
    for _ in tqdm(range(epochs), disable=not progress):
        order = torch.randperm(n, generator=generator).to(X.device)
        for start in range(0, n, size):
            batch = order[start : start + size]
            xb = X[batch] if augment is None else augment(X[batch], generator)
            loss = nn.functional.cross_entropy(model(xb), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            for averaged in emas.values():
                averaged.update_parameters(model)
        for key, value in zip(["train_loss", "train_acc"], evaluate(model, X, y)):
            history[key].append(value)
        if X_val is not None:
            val_loss, val_acc = evaluate(model, X_val, y_val)
            history["val_loss"].append(val_loss)
            history["val_acc"].append(val_acc)
            for name, averaged in emas.items():
                for kind, value in zip(("loss", "acc"), evaluate(averaged, X_val, y_val)):
                    history[f"ema_val_{kind}{suffix(name)}"].append(value)
            if early_stopping is not None and early_stopping.step(val_loss, model):
                break
    if early_stopping is not None:
        early_stopping.restore(model)
    model.train(was_training)  # leave the caller's model in the mode it came in
    history["epochs_run"] = [len(history["train_loss"])]
    return history


def _check_data(X, y, x_name: str, y_name: str) -> None:
    for name, t in ((x_name, X), (y_name, y)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"{x_name} must hold at least one sample, got shape {tuple(X.shape)}")
    if y.shape != X.shape[:1]:
        raise ValueError(f"{y_name} must have shape ({len(X)},) to match {x_name}, got {tuple(y.shape)}")
    if y.dtype not in (torch.int64, torch.uint8):  # what cross_entropy takes as class labels
        raise TypeError(f"{y_name} must hold class labels as int64 (torch.long), got dtype {y.dtype}")

