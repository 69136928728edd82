"""Drills of chapters 1 and 4: inverted dropout, k-fold splits, iterations per epoch, expected improvement."""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.stats import norm as normal
from sklearn.model_selection import KFold

from .. import regularization, selection
from ..hparams import digits, gp
from . import solutions as S
from .cases_gradients import gen
from .catalogue import Drill, register
from .grading import Trial, compare, describe

__all__: list[str] = []  # importing the module registers its drills in DRILLS; nothing to import by name

DROPOUT = ("notebooks/01_generalization_nets", "ch01n-dropout", "Chapter 1, Inverted dropout")
KFOLD = ("notebooks/01_generalization", "ch01-kfold", "Chapter 1, Validation set versus K-fold cross-validation")
BATCH = ("notebooks/04_hyperparameters", "ch04-batch", "Chapter 4, Batch size, iteration and epoch")
BAYES = ("notebooks/04_hyperparameters", "ch04-bayes", "Chapter 4, Bayesian optimization")


# --------------------------------------------------------------------------- dropout
def _dropout_judge(x: torch.Tensor, p: float):
    def judge(call):
        y = call(x, p, True)
        if not isinstance(y, torch.Tensor) or tuple(y.shape) != tuple(x.shape) or y.dtype != x.dtype:
            return f"expected a {str(x.dtype)[6:]} tensor of shape {tuple(x.shape)}, got {describe(y)}"
        y = y.detach()
        dropped = y == 0
        n = x.numel()
        frac, sd = float(dropped.double().mean()), math.sqrt(p * (1 - p) / n)
        if abs(frac - p) > 6 * sd:
            return f"dropped {frac:.2%} of the entries; with p={p} expected {p:.0%} ± {6 * sd:.2%}"
        kept = ~dropped
        problem = compare(y[kept], x[kept] / (1 - p), rtol=1e-6, atol=0.0, what="surviving entries")
        if problem:
            return problem + f"\n  (survivors must be x / (1 - p) = x * {1 / (1 - p):.4g})"
        chunks = dropped.flatten().double().reshape(10, -1).mean(1)
        chunk_sd = math.sqrt(p * (1 - p) / (n // 10))
        if float((chunks - p).abs().max()) > 6 * chunk_sd:
            return f"the dropped fraction varies across the tensor ({chunks.min():.2%} to {chunks.max():.2%}): draw each entry independently"
        again = call(x, p, True)
        if isinstance(again, torch.Tensor) and torch.equal(again.detach() == 0, dropped):
            return "two calls dropped exactly the same entries: the mask must be random on every call"
        return None
    return judge


def _dropout_cases():
    g = gen(60)
    x2 = torch.rand(400, 500, generator=g) + 0.5
    x4 = torch.rand(20, 4, 25, 25, generator=g, dtype=torch.float64) - 1.5
    small = torch.randn(3, 5, generator=g)
    return [
        Trial("training=False, p=0.5: the input unchanged", (small, 0.5, False), expected=small.clone(),
              hint="In evaluation mode inverted dropout is the identity (the scaling happened during training)."),
        Trial("p=0 in training: the input unchanged", (small, 0.0, True), expected=small.clone()),
        Trial("p=1 in training: every entry dropped, zeros (no NaN)", (small, 1.0, True), expected=torch.zeros_like(small),
              hint="p = 1 drops everything; return zeros rather than dividing 0 by 1 - p = 0."),
        Trial("p=0.3 on 200,000 float32 entries: drop fraction, survivors x / (1 - p), independence",
              run=_dropout_judge(x2, 0.3), inputs=f"x={describe(x2)}; p=0.3; training=True"),
        Trial("p=0.8, float64 (20, 4, 25, 25): p is the probability of dropping",
              run=_dropout_judge(x4, 0.8), inputs=f"x={describe(x4)}; p=0.8; training=True",
              hint="p is the drop probability: keep each entry with probability 1 - p."),
    ]


register(Drill(
    name="dropout", signature="dropout(x, p, training)", chapter=1, difficulty="easy", questions=("B4", "E31", "D4"),
    statement=r"Inverted dropout: in training, zero each entry independently with probability `p` and scale the "
              r"survivors by $1/(1-p)$; when not training return `x`. Handle `p = 0` and `p = 1`.",
    hint="Inverted dropout keeps E[output] = input: drop with probability p, scale survivors by 1 / (1 - p), identity in eval.",
    section=DROPOUT, cases=_dropout_cases, solution=S.dropout, shows=(regularization.Dropout,),
    reference="torch.nn.functional.dropout(x, p, training) (its distribution)"))


# --------------------------------------------------------------------------- k-fold
def _kfold_run(n, k):
    expected = [(torch.from_numpy(tr), torch.from_numpy(va)) for tr, va in KFold(n_splits=k).split(np.arange(n))]

    def run(call):
        got = call(n, k)
        if not isinstance(got, (list, tuple)) or len(got) != k:
            return f"expected a list of {k} (train_idx, val_idx) pairs, got {describe(got)}"
        for i, (pair, exp) in enumerate(zip(got, expected)):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                return f"fold {i}: expected a pair (train_idx, val_idx), got {describe(pair)}"
            try:
                pair = tuple(torch.as_tensor(np.asarray(part)).long().sort().values for part in pair)
            except (TypeError, ValueError) as exc:
                return f"fold {i}: could not read the indices as integers ({exc})"
            problem = compare(pair, exp, names=(f"fold {i} train_idx", f"fold {i} val_idx"))
            if problem:
                return problem
        return None
    return run


def _kfold_cases():
    return [Trial(f"n={n}, k={k}" + note, run=_kfold_run(n, k), inputs=f"n={n}; k={k}", hint=hint)
            for n, k, note, hint in [(10, 5, "", None),
                                     (10, 3, ": the first n % k folds get one extra sample", "Folds differ in size by at most one, "
                                      "and the larger ones come first (sizes 4, 3, 3 for n=10, k=3)."),
                                     (7, 7, ": leave-one-out", None), (23, 4, "", None), (2, 2, ": the smallest split", None)]]


register(Drill(
    name="kfold_splits", signature="kfold_splits(n, k)", chapter=1, difficulty="easy", questions=("B2",),
    statement=r"Split `range(n)` into `k` consecutive folds (no shuffling) and return the list of `k` pairs "
              "`(train_idx, val_idx)`: each fold is the validation set once, the rest is the training set.",
    hint="K-fold: validation folds are disjoint, cover every index once, and differ in size by at most one.",
    section=KFOLD, cases=_kfold_cases, solution=S.kfold_splits, shows=(selection.kfold_indices,),
    reference="list(sklearn.model_selection.KFold(n_splits=k).split(np.arange(n)))"))


# --------------------------------------------------------------------------- iterations per epoch
def _iterations_cases():
    out = []
    for n, b, drop in [(1000, 32, False), (1000, 32, True), (1024, 32, False), (1024, 32, True), (5, 10, False),
                       (5, 10, True), (1, 1, False)]:
        loader = torch.utils.data.DataLoader(range(n), batch_size=b, drop_last=drop)
        hint = ("The last, smaller batch is still an iteration unless drop_last=True." if (n % b and not drop) else None)
        out.append(Trial(f"n_samples={n}, batch_size={b}, drop_last={drop}", (n, b, drop), expected=len(loader), hint=hint))
    return out


register(Drill(
    name="iterations_per_epoch", signature="iterations_per_epoch(n_samples, batch_size, drop_last=False)", chapter=4,
    difficulty="easy", questions=("E3", "C5"),
    statement=r"The number of parameter updates in one epoch (an int), as a `DataLoader` makes them.",
    hint="An epoch is one pass over the data; an iteration is one batch.",
    section=BATCH, cases=_iterations_cases, solution=S.iterations_per_epoch, shows=(digits.iterations_per_epoch,),
    reference="len(torch.utils.data.DataLoader(range(n_samples), batch_size, drop_last=drop_last))"))


# --------------------------------------------------------------------------- expected improvement
def _ei_reference(mean, std, best, xi):
    m, s = mean.numpy(), std.numpy()
    gap = best - xi - m
    with np.errstate(divide="ignore", invalid="ignore"):
        z = gap / s
        ei = gap * normal.cdf(z) + s * normal.pdf(z)
    return torch.from_numpy(np.where(s > 0, np.maximum(ei, 0.0), np.maximum(gap, 0.0)))


def _ei_cases():
    g = gen(61)
    mean = torch.randn(20, generator=g, dtype=torch.float64)
    std = torch.rand(20, generator=g, dtype=torch.float64) + 0.05
    std0 = std.clone()
    std0[::4] = 0.0
    mean0 = mean.clone()
    mean0[0] = 0.1  # exactly at best: 0 / 0 for a naive z
    far = torch.tensor([-50.0, -3.0, 3.0, 50.0], dtype=torch.float64)
    out = []
    for d, m, s, best, xi, hint in [
        ("20 candidates, best=0.1 (minimization)", mean, std, 0.1, 0.0,
         "Expected improvement for minimization: the improvement is best - xi - Y, positive when Y is below best."),
        ("xi=0.2 asks for a larger improvement", mean, std, 0.1, 0.2, None),
        ("some std = 0: the improvement is then certain, max(best - xi - mean, 0)", mean0, std0, 0.1, 0.0,
         "Where std = 0, Y is the mean itself: EI = max(best - xi - mean, 0), with no division by zero."),
        ("means far below and far above best", far, torch.full((4,), 0.5, dtype=torch.float64), 0.0, 0.0,
         "EI is never negative and tends to best - mean far below best.")]:
        out.append(Trial(d, (m, s, best, xi), expected=_ei_reference(m, s, best, xi), rtol=1e-9, atol=1e-12,
                         hint=hint, section=BAYES))
    return out


register(Drill(
    name="expected_improvement", signature="expected_improvement(mean, std, best, xi=0.0)", chapter=4,
    difficulty="medium", questions=("A6",),
    statement=r"For a loss to minimize and a Gaussian posterior $Y\sim\mathcal N(\mu, \sigma^2)$ per candidate, return "
              r"$\mathbb E[\max(\text{best} - \xi - Y, 0)] = (\text{best}-\xi-\mu)\Phi(z) + \sigma\varphi(z)$, "
              r"$z = (\text{best}-\xi-\mu)/\sigma$, elementwise (float64 tensors in and out).",
    hint="Expected improvement trades a low predicted mean (exploitation) against a high uncertainty (exploration).",
    section=BAYES, cases=_ei_cases, solution=S.expected_improvement, shows=(gp.expected_improvement,),
    reference="scipy.stats.norm.cdf / pdf in the closed form"))
