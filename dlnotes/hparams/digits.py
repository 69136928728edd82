r"""The tuning problems of the chapter: the notes' SVC on iris, and a small MLP on scikit-learn's digits (8×8 images, 10 classes).

Four hyperparameters: the learning rate of Adam, the hidden width, the weight decay and the
dropout rate. :func:`train_mlp` trains one setting and returns the validation accuracy; it can
report after every epoch, which is what Optuna's pruners need.

Dtypes: the digits arrive as float32 tensors and the MLPs train in float32 on the chosen
device; accuracies and losses are Python floats.
"""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Callable

import numpy as np
import torch
from torch import nn

from .space import Float, Int, SearchSpace

__all__ = [
    "digits_split", "mlp", "accuracy", "train_mlp", "iterations_per_epoch", "iris_svc_objective",
    "fit_sgd"
]

DIGITS_SPACE = SearchSpace(lr=Float(1e-4, 1.0, log=True), width=Int(4, 64, log=True),
                           weight_decay=Float(1e-6, 1e-1, log=True), dropout=Float(0.0, 0.6))


def _count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _fraction(name: str, value, low: float, high: float, closed_low: bool = False) -> float:
    """A real number in (low, high), or [low, high) with ``closed_low``; NumPy scalars accepted."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if math.isnan(value) or not (low <= value if closed_low else low < value) or not value < high:
        raise ValueError(f"{name} must be in {'[' if closed_low else '('}{low}, {high}), got {value}")
    return value


def _device(device) -> torch.device:
    from ..runtime import device as default_device

    return default_device() if device is None else torch.device(device)


def digits_split(val_fraction: float = 0.25, seed: int = 0):
    """Standardized digits as float32 tensors ``(X_train, y_train, X_val, y_val)``, a stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    val_fraction = _fraction("val_fraction", val_fraction, 0.0, 1.0)
    X, y = load_digits(return_X_y=True)
    X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=val_fraction, random_state=seed, stratify=y)
    mean, std = X_tr.mean(0), X_tr.std(0) + 1e-6  # statistics of the training part only
    as_x = lambda a: torch.as_tensor((a - mean) / std, dtype=torch.float32)  # noqa: E731
    as_y = lambda a: torch.as_tensor(a, dtype=torch.long)  # noqa: E731
    return as_x(X_tr), as_y(y_tr), as_x(X_val), as_y(y_val)


def mlp(width: int, dropout: float = 0.0, n_in: int = 64, n_out: int = 10) -> nn.Sequential:
    """``Linear(n_in, width) → ReLU → Dropout(dropout) → Linear(width, n_out)``."""
    width, n_in, n_out = _count("width", width), _count("n_in", n_in), _count("n_out", n_out)
    dropout = _fraction("dropout", dropout, 0.0, 1.0, closed_low=True)
    return nn.Sequential(nn.Linear(n_in, width), nn.ReLU(), nn.Dropout(dropout), nn.Linear(width, n_out))


def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``X`` classified as ``y``; NaN when the model's outputs are not finite (a diverged run).

    Evaluates in eval mode and leaves ``model`` in the mode it was in.
    """
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        with torch.no_grad():
            logits = model(X)
            if not torch.isfinite(logits).all():
                return float("nan")
            return (logits.argmax(1) == y).double().mean().item()
    finally:
        for m, training in modes.items():
            m.train(training)


def train_mlp(params: dict, data, epochs: int = 8, batch_size: int = 64, seed: int = 0,
              report: Callable[[int, float], bool] | None = None, device=None) -> float:
    r"""Train ``mlp(width, dropout)`` with ``Adam(lr, weight_decay)`` for ``epochs``; return validation accuracy.

    ``params`` holds ``lr``, ``width``, ``weight_decay`` and ``dropout``; ``data`` is
    :func:`digits_split`'s tuple. After each epoch ``report(epoch, val_acc)`` is called if given;
    when it returns ``True`` training stops early (a pruned trial) and the last accuracy is returned.
    A run whose loss turns NaN returns NaN, so a search records it as failed. Training runs on
    ``device`` (``None``: :func:`dlnotes.device`); the minibatch order is drawn on the CPU, so it is
    the same on every device.
    """
    missing = {"lr", "width", "weight_decay", "dropout"} - set(params)
    if missing:
        raise ValueError(f"params must hold lr, width, weight_decay and dropout; missing {sorted(missing)}")
    epochs, batch_size = _count("epochs", epochs), _count("batch_size", batch_size)
    device = _device(device)
    X_tr, y_tr, X_val, y_val = (t.to(device) for t in data)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = mlp(int(params["width"]), float(params["dropout"])).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=float(params["lr"]), weight_decay=float(params["weight_decay"]))
    loss_fn = nn.CrossEntropyLoss()
    acc = float("nan")
    for epoch in range(epochs):
        model.train()
        for idx in torch.randperm(len(X_tr), generator=gen).split(batch_size):
            idx = idx.to(device)
            loss = loss_fn(model(X_tr[idx]), y_tr[idx])
            if not torch.isfinite(loss):
                return float("nan")
            opt.zero_grad()
            loss.backward()
            opt.step()
        acc = accuracy(model, X_val, y_val)
        if report is not None and report(epoch, acc):
            break
    return acc


def iterations_per_epoch(n_samples: int, batch_size: int, drop_last: bool = False) -> int:
    r"""Parameter updates in one epoch: :math:`\lceil N / B \rceil`, or :math:`\lfloor N / B \rfloor` with ``drop_last``.

    Matches: ``len(torch.utils.data.DataLoader(dataset, batch_size, drop_last=drop_last))``.
    """
    for name, v in (("n_samples", n_samples), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(v).__name__}")
        if v < 1:
            raise ValueError(f"{name} must be at least 1, got {v}")
    return n_samples // batch_size if drop_last else -(-n_samples // batch_size)


def _iris_split():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    iris = load_iris()
    return train_test_split(iris.data, iris.target, test_size=0.2, random_state=42)


def iris_svc_objective(trial) -> float:
    """The notes' Optuna example (seed A §6) in today's API: tune an RBF ``SVC`` on iris.

    ``trial.suggest_loguniform(name, low, high)`` has been deprecated since Optuna 3.0 (a
    ``FutureWarning``; removal is announced for 6.0); its replacement is
    ``trial.suggest_float(name, low, high, log=True)``. Module-level, so worker processes can
    import it. Like the notes, it scores on the held-out split it is tuned on.
    """
    from sklearn.metrics import accuracy_score
    from sklearn.svm import SVC

    X_train, X_test, y_train, y_test = _iris_split()
    C = trial.suggest_float("C", 1e-5, 1e2, log=True)
    gamma = trial.suggest_float("gamma", 1e-5, 1e-1, log=True)
    model = SVC(C=C, gamma=gamma).fit(X_train, y_train)
    return accuracy_score(y_test, model.predict(X_test))


def fit_sgd(data, batch_size: int, lr: float, epochs: int, width: int = 32, seed: int = 0, device=None) -> dict:
    r"""Train ``mlp(width)`` with plain minibatch SGD, :math:`\theta \leftarrow \theta - \eta\,\nabla_\theta \tfrac1B \sum_{i\in\mathcal B} \ell_i`.

    Returns the final training loss, training accuracy and validation accuracy, so a chapter can
    tell underfitting (high training loss) from overfitting. Minibatches are a fresh
    permutation each epoch, the last one smaller when ``batch_size`` does not divide ``N``.
    Training runs on ``device`` (``None``: :func:`dlnotes.device`).

    Matches: ``torch.optim.SGD(model.parameters(), lr)`` over ``DataLoader(..., batch_size, shuffle=True)``.
    """
    batch_size, epochs = _count("batch_size", batch_size), _count("epochs", epochs)
    if isinstance(lr, (bool, np.bool_)) or not isinstance(lr, Real):
        raise TypeError(f"lr must be a real number, got {type(lr).__name__} {lr!r}")
    if not (0 < lr < math.inf):
        raise ValueError(f"lr must be positive and finite, got {lr}")
    lr = float(lr)
    device = _device(device)
    X_tr, y_tr, X_val, y_val = (t.to(device) for t in data)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model, loss_fn = mlp(width).to(device), nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(X_tr), generator=gen).split(batch_size):
            idx = idx.to(device)
            loss = loss_fn(model(X_tr[idx]), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        train_loss = loss_fn(model(X_tr), y_tr).item()
    return {"train_loss": train_loss, "train_acc": accuracy(model, X_tr, y_tr), "val_acc": accuracy(model, X_val, y_val)}
