r"""Training runs under a learning-rate schedule (chapter 6): the loops the experiments share.

* :func:`fit`: minibatch training of a classifier under a schedule, recording every step;
* :func:`descend`: many independent copies of a toy problem with noisy gradients at once;
* :func:`lr_range_test`: the learning-rate range test of Smith (2017), arXiv:1506.01186
  ("Cyclical Learning Rates for Training Neural Networks", §3.3): raise the rate
  geometrically over one short run and read off where the loss falls fastest and where it
  blows up.

The schedules themselves are pure functions in :mod:`dlnotes.schedules`.

Dtypes: the model and the data keep their own dtype and device (the loop does not cast);
``descend`` draws its gradient noise in ``x0``'s dtype; recorded losses, rates and update sizes
are Python floats (float64).
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .schedules import Schedule, _int, _real, as_scheduler

__all__ = ["fit", "descend", "lr_range_test"]


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    X: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    schedule: Schedule | None = None,
    batch_size: int = 64,
    X_test: torch.Tensor | None = None,
    y_test: torch.Tensor | None = None,
    seed: int = 0,
    progress: bool = False,
) -> dict:
    r"""Train a classifier for ``steps`` minibatch updates under ``schedule`` (``None``: constant).

    Minibatches are drawn from a fresh random permutation each epoch (seeded by ``seed``).
    Training stops early if the loss becomes non-finite.

    Returns a dict with per-step lists ``lr``, ``loss`` (minibatch cross-entropy) and
    ``update_rms`` (root-mean-square parameter change of that step), and the final
    ``train_loss``, ``train_acc``, ``test_acc`` (``nan`` without test data) and ``diverged``.
    """
    from .progress import tqdm

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"X and y must be torch.Tensors, got {type(X).__name__} and {type(y).__name__}")
    if X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ValueError(f"X and y must hold the same, non-zero number of rows, got {X.shape[0]} and {y.shape[0]}")
    if y.dim() == 1 and (y.is_floating_point() or y.is_complex()):
        raise TypeError(f"y must hold integer class labels (int64), got dtype {y.dtype}")
    n_steps = _int("steps", steps, 1)
    b = _int("batch_size", batch_size, 1)
    scheduler = as_scheduler(optimizer, schedule) if schedule is not None else None
    params = [p for group in optimizer.param_groups for p in group["params"]]
    generator = torch.Generator().manual_seed(_int("seed", seed, 0))
    loss_fn = torch.nn.CrossEntropyLoss()
    history = {"lr": [], "loss": [], "update_rms": [], "diverged": False}
    order, pos = torch.randperm(len(X), generator=generator), 0
    modes = {m: m.training for m in model.modules()}  # restored at the end
    model.train()
    for _ in tqdm(range(n_steps), disable=not progress):
        if pos + b > len(X):
            order, pos = torch.randperm(len(X), generator=generator), 0
        idx = order[pos : pos + b].to(X.device)
        pos += b
        before = [p.detach().clone() for p in params]
        loss = loss_fn(model(X[idx]), y[idx])
        if not torch.isfinite(loss):
            history["diverged"] = True
            break
        optimizer.zero_grad()
        loss.backward()
        history["lr"].append(float(optimizer.param_groups[0]["lr"]))
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        history["loss"].append(loss.item())
        sq = sum(((p.detach() - p0) ** 2).sum() for p, p0 in zip(params, before))
        history["update_rms"].append(math.sqrt(float(sq) / sum(p.numel() for p in params)))
    model.eval()
    with torch.no_grad():
        logits = model(X)
        history["train_loss"] = loss_fn(logits, y).item()
        history["diverged"] = history["diverged"] or not math.isfinite(history["train_loss"])
        history["train_acc"] = (logits.argmax(1) == y).float().mean().item()
        history["test_acc"] = math.nan
        if X_test is not None and y_test is not None:
            history["test_acc"] = (model(X_test).argmax(1) == y_test).float().mean().item()
    for m, training in modes.items():
        m.train(training)
    return history


def descend(
    grad: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    make_optimizer: Callable[[list], torch.optim.Optimizer],
    steps: int,
    schedule: Schedule | None = None,
    noise_std: float = 0.0,
    seed: int = 0,
) -> torch.Tensor:
    r"""Run a torch optimizer on many independent copies of a toy problem at once.

    Each entry of ``x0`` is one particle; the optimizer sees the gradient
    :math:`\nabla f(x) + \sigma\,\xi`, :math:`\xi \sim \mathcal N(0, 1)` (``sigma = noise_std``)
    and ``schedule`` sets its learning rate. SGD and Adam act coordinate-wise, so one tensor of
    ``n`` entries is ``n`` separate runs. Returns the final positions.
    """
    if not isinstance(x0, torch.Tensor) or not x0.is_floating_point():
        raise TypeError(f"x0 must be a floating-point torch.Tensor, got {type(x0).__name__}")
    n_steps, sigma = _int("steps", steps, 1), _real("noise_std", noise_std)
    x = torch.nn.Parameter(x0.detach().clone())
    optimizer = make_optimizer([x])
    scheduler = as_scheduler(optimizer, schedule) if schedule is not None else None
    generator = torch.Generator(device=x.device).manual_seed(_int("seed", seed, 0))
    for _ in range(n_steps):
        with torch.no_grad():
            noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
            x.grad = grad(x) + sigma * noise
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    return x.detach()


def lr_range_test(
    model: torch.nn.Module,
    make_optimizer: Callable[[list, float], torch.optim.Optimizer],
    X: torch.Tensor,
    y: torch.Tensor,
    min_lr: float = 1e-5,
    max_lr: float = 10.0,
    steps: int = 100,
    batch_size: int = 64,
    beta: float = 0.9,
    diverge_factor: float = 4.0,
    seed: int = 0,
) -> dict:
    r"""The learning-rate range test (Smith, 2017): one short run with a geometrically rising rate.

    .. math:: \eta_k = \eta_{\min}\,(\eta_{\max}/\eta_{\min})^{k/(K-1)},\qquad k = 0,\dots,K-1

    The minibatch loss is smoothed by a bias-corrected exponential average with ``beta``
    (:math:`\bar\ell_k = \text{EWA}_\beta(\ell)_k`); the run stops once :math:`\bar\ell_k` exceeds
    ``diverge_factor`` times its minimum. ``model`` is trained in place: pass a fresh one.

    Returns a dict with lists ``lr``, ``loss``, ``smoothed`` and the two usual read-outs:
    ``lr_min_loss`` (the rate at the smoothed loss's minimum; the fastai rule takes a tenth of
    it) and ``lr_steepest`` (the rate where :math:`\bar\ell` falls fastest per decade).

    Matches: the procedure of fastai's ``Learner.lr_find`` (exponential sweep, smoothed loss,
    early stop at divergence), written for a plain ``torch`` model and optimizer.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(make_optimizer):
        raise TypeError(f"make_optimizer must be callable as make_optimizer(params, lr), got {type(make_optimizer).__name__}")
    lo = _real("min_lr", min_lr, open_low=True)
    hi = _real("max_lr", max_lr, open_low=True)
    if not hi > lo:
        raise ValueError(f"max_lr must be larger than min_lr={lo}, got {hi}")
    K = _int("steps", steps, 2)
    b = _int("batch_size", batch_size, 1)
    beta = _real("beta", beta, 0.0, 1.0)
    if beta >= 1:
        raise ValueError(f"beta must be below 1, got {beta}")
    factor = _real("diverge_factor", diverge_factor, 1.0, open_low=True)
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"X and y must be torch.Tensors, got {type(X).__name__} and {type(y).__name__}")
    if X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ValueError(f"X and y must hold the same, non-zero number of rows, got {X.shape[0]} and {y.shape[0]}")
    optimizer = make_optimizer(list(model.parameters()), lo)
    generator = torch.Generator().manual_seed(_int("seed", seed, 0))
    loss_fn = torch.nn.CrossEntropyLoss()
    out = {"lr": [], "loss": [], "smoothed": []}
    avg, order, pos = 0.0, torch.randperm(len(X), generator=generator), 0
    modes = {m: m.training for m in model.modules()}  # restored at the end
    model.train()
    for k in range(K):
        rate = lo * (hi / lo) ** (k / (K - 1))
        for group in optimizer.param_groups:
            group["lr"] = rate
        if pos + b > len(X):
            order, pos = torch.randperm(len(X), generator=generator), 0
        idx = order[pos : pos + b].to(X.device)
        pos += b
        loss = loss_fn(model(X[idx]), y[idx])
        if not torch.isfinite(loss):
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        avg = beta * avg + (1 - beta) * loss.item()
        smoothed = avg / (1 - beta ** (k + 1))
        out["lr"].append(rate)
        out["loss"].append(loss.item())
        out["smoothed"].append(smoothed)
        if smoothed > factor * min(out["smoothed"]):
            break
    for m, training in modes.items():
        m.train(training)
    sm = out["smoothed"]
    i_min = min(range(len(sm)), key=sm.__getitem__)
    slopes = [(sm[i + 1] - sm[i]) / math.log10(out["lr"][i + 1] / out["lr"][i]) for i in range(i_min)]
    out["lr_min_loss"] = out["lr"][i_min]
    out["lr_steepest"] = out["lr"][min(range(len(slopes)), key=slopes.__getitem__)] if slopes else out["lr"][0]
    return out
