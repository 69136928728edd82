r"""How sure is an AUC? DeLong's variance, confidence intervals, and the paired test.

AUC is a mean over (positive, negative) pairs, a U-statistic, so its variance has a closed
form (DeLong, DeLong & Clarke-Pearson, *Biometrics* 1988). With :math:`m` positives scores
:math:`X_i`, :math:`n` negatives :math:`Y_j` and :math:`\psi(x, y) = [x > y] + \tfrac12[x = y]`,
the structural components are

.. math:: V_{10}(X_i) = \frac1n\sum_j \psi(X_i, Y_j), \qquad V_{01}(Y_j) = \frac1m\sum_i \psi(X_i, Y_j),

:math:`\widehat{\mathrm{AUC}}` is the mean of either, and

.. math:: \widehat{\operatorname{Var}} = \frac{S_{10}}{m} + \frac{S_{01}}{n},

with :math:`S_{10}, S_{01}` their sample variances. For two models scored on the same samples,
the same components give the covariance, and :math:`z = \Delta / \sqrt{\operatorname{Var}_1 +
\operatorname{Var}_2 - 2\operatorname{Cov}}` tests :math:`\Delta = 0`. The components come from
mid-ranks in :math:`O(N\log N)` (Sun & Xu, *IEEE Signal Processing Letters* 2014).

Dtypes: labels are 0/1 of any dtype; scores of any float dtype are upcast to float64 (integer
scores are ranked as integers), the mid-ranks and every variance are float64 (NumPy); half
precision never enters the arithmetic.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from scipy.stats import norm, rankdata

from ._metric_inputs import _as_1d, _binary_labels, _finite_scores, _same_length

__all__ = ["delong_components", "auc_variance", "auc_confidence_interval", "delong_test", "bootstrap_auc"]


def _prepare(y_true, *scores):
    y = _binary_labels(_as_1d(y_true, "y_true")).cpu().numpy()
    out = []
    for k, s in enumerate(scores):
        name = "y_score" if len(scores) == 1 else f"y_score_{k + 1}"
        t = _finite_scores(_as_1d(s, name), name)
        _same_length(torch.from_numpy(y), t, f"y_true and {name}")
        out.append(t.cpu().numpy())
    m = int(y.sum())
    n = len(y) - m
    if m < 2 or n < 2:
        raise ValueError(f"DeLong's variance needs at least 2 positives and 2 negatives, got {m} and {n}")
    return y.astype(bool), out, m, n


def delong_components(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    r"""The structural components :math:`V_{10}` (one per positive) and :math:`V_{01}` (one per negative).

    From mid-ranks: :math:`V_{10}(X_i) = (R_i - R^X_i)/n`, :math:`V_{01}(Y_j) = 1 - (R_j - R^Y_j)/m`,
    with :math:`R` the rank among all samples and :math:`R^X, R^Y` the rank within the class.

    Matches: the :math:`O(mn)` double loop over pairs with ties counted 1/2.
    """
    pos, (s,), m, n = _prepare(y_true, y_score)
    r_all = rankdata(s)
    v10 = (r_all[pos] - rankdata(s[pos])) / n
    v01 = 1.0 - (r_all[~pos] - rankdata(s[~pos])) / m
    return v10, v01


def auc_variance(y_true, y_score) -> tuple[float, float]:
    r"""``(auc, variance)`` by DeLong: :math:`\widehat{\operatorname{Var}} = S_{10}/m + S_{01}/n`.

    Matches: the variance of the AUC over bootstrap resamples, to within the bootstrap's noise.
    """
    v10, v01 = delong_components(y_true, y_score)
    return float(v10.mean()), float(v10.var(ddof=1) / len(v10) + v01.var(ddof=1) / len(v01))


def auc_confidence_interval(y_true, y_score, level: float = 0.95) -> tuple[float, float, float]:
    r"""``(auc, low, high)``: the normal interval :math:`\widehat{\mathrm{AUC}} \pm z_{(1+\text{level})/2}\,\widehat{\sigma}`, clipped to [0, 1]."""
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    level = float(level)  # a np.float32 level would compute the quantile in float32
    auc, var = auc_variance(y_true, y_score)
    half = norm.ppf((1 + level) / 2) * math.sqrt(var)
    return auc, max(0.0, auc - half), min(1.0, auc + half)


def delong_test(y_true, y_score_1, y_score_2) -> dict[str, float]:
    r"""DeLong's paired test of :math:`\mathrm{AUC}_1 = \mathrm{AUC}_2` for two models scored on the same samples.

    Returns ``auc_1, auc_2, difference, se`` (standard error of the difference), ``z`` and the
    two-sided ``p_value``.
    """
    pos, (s1, s2), m, n = _prepare(y_true, y_score_1, y_score_2)
    comps = []
    for s in (s1, s2):
        r_all = rankdata(s)
        comps.append(((r_all[pos] - rankdata(s[pos])) / n, 1.0 - (r_all[~pos] - rankdata(s[~pos])) / m))
    v10 = np.stack([c[0] for c in comps])
    v01 = np.stack([c[1] for c in comps])
    cov = np.cov(v10) / m + np.cov(v01) / n
    aucs = v10.mean(axis=1)
    diff = float(aucs[0] - aucs[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    se = math.sqrt(max(var, 0.0))
    z = diff / se if se > 0 else (0.0 if diff == 0 else math.copysign(math.inf, diff))
    return {"auc_1": float(aucs[0]), "auc_2": float(aucs[1]), "difference": diff, "se": se,
            "z": z, "p_value": float(2 * norm.sf(abs(z)))}


def bootstrap_auc(y_true, y_score, y_score_2=None, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    r"""AUCs (or paired AUC differences, with ``y_score_2``) on ``n_boot`` resamples drawn with replacement.

    Positives and negatives are resampled separately (a stratified bootstrap, keeping
    :math:`m` and :math:`n` fixed, which is what DeLong's variance assumes).
    """
    if isinstance(n_boot, (bool, np.bool_)) or not isinstance(n_boot, numbers.Integral) or n_boot < 2:
        raise ValueError(f"n_boot must be an int of at least 2, got {n_boot!r}")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    n_boot = int(n_boot)
    scores = (y_score,) if y_score_2 is None else (y_score, y_score_2)
    pos, ss, m, n = _prepare(y_true, *scores)
    rng = np.random.default_rng(seed)
    ip, ineg = np.flatnonzero(pos), np.flatnonzero(~pos)
    out = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([rng.choice(ip, m), rng.choice(ineg, n)])
        lab = pos[idx]
        vals = []
        for s in ss:
            r = rankdata(s[idx])
            vals.append((r[lab].sum() - m * (m + 1) / 2) / (m * n))
        out[b] = vals[0] if len(vals) == 1 else vals[0] - vals[1]
    return out
