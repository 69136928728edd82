r"""Classification metrics from the confusion matrix up: precision, recall, F1, ROC, AUC, gAUC.

A score :math:`s(x)` and a threshold :math:`t` give a classifier :math:`\hat y = [s(x) \ge t]`.
Its confusion matrix counts TP, FP, FN, TN, from which

.. math::

    \mathrm{TPR} = \frac{TP}{TP + FN}, \qquad \mathrm{FPR} = \frac{FP}{FP + TN}, \qquad
    \mathrm{precision} = \frac{TP}{TP + FP}, \qquad \mathrm{recall} = \mathrm{TPR}.

Sweeping :math:`t` over every distinct score traces the ROC curve (Fawcett, *An introduction
to ROC analysis*, 2006); its area equals the probability that a random positive outscores a
random negative (Hanley & McNeil, 1982), which is the Mann–Whitney statistic. The group AUC of
the Deep Interest Network paper (Zhou et al., KDD 2018) averages per-user AUCs, weighted by
impressions, because an online ranker only ever orders one user's items.

Every function accepts NumPy arrays, Python sequences or torch tensors (CPU or GPU) and
computes with torch on the scores' device. Labels for the ranking metrics are 0/1 (or bool).
"""
from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "confusion_matrix", "precision_recall_f1", "roc_curve", "roc_auc", "roc_auc_rank",
    "precision_recall_curve", "average_precision", "group_auc"
]

_AVERAGES = ("binary", "micro", "macro", None)
_WEIGHTINGS = ("impressions", "clicks", "uniform")


# ---------------------------------------------------------------- input checks
def _as_1d(x, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x.detach()
        if t.is_complex():
            raise TypeError(f"{name} must be real (bool, int or float), got dtype {t.dtype}")
    else:
        try:
            a = np.asarray(x)
        except ValueError as exc:  # ragged nested sequences
            raise ValueError(f"{name} must be a 1-D array of numbers: {exc}") from None
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be numeric (bool, int or float), got dtype {a.dtype}")
        wide_unsigned = a.dtype.kind == "u" and a.dtype.itemsize > 1  # torch lacks most uint ops
        a = np.asarray(a, dtype=np.int64 if wide_unsigned else a.dtype.newbyteorder("="), order="C")
        t = torch.from_numpy(a if a.flags.writeable else a.copy())
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(t.shape)}")
    if t.numel() == 0:
        raise ValueError(f"{name} must not be empty, got 0 elements")
    return t


def _same_length(a: torch.Tensor, b: torch.Tensor, names: str) -> None:
    if a.numel() != b.numel():
        raise ValueError(f"{names} must have the same length, got {a.numel()} and {b.numel()}")


def _finite_scores(s: torch.Tensor, name: str = "y_score") -> torch.Tensor:
    s = s.to(torch.float64)
    bad = ~torch.isfinite(s)
    if bad.any():
        n_nan = int(torch.isnan(s).sum())
        raise ValueError(
            f"{name} must be finite, got {n_nan} NaN and {int(bad.sum()) - n_nan} infinite values"
        )
    return s


def _binary_labels(y: torch.Tensor, name: str = "y_true") -> torch.Tensor:
    if y.dtype == torch.bool:
        binary = True
    elif y.is_floating_point():
        binary = bool(((y == 0) | (y == 1)).all())
    else:
        low, high = torch.aminmax(y)
        binary = bool(low >= 0) and bool(high <= 1)
    if not binary:
        values = torch.unique(y)[:6].tolist()
        raise ValueError(f"{name} must be binary (only 0 and 1), got values {values}")
    return y.to(torch.int64)


def _class_labels(y: torch.Tensor, name: str) -> torch.Tensor:
    if y.dtype == torch.bool:
        return y.to(torch.int64)
    if y.is_floating_point():
        if not torch.isfinite(y).all():
            raise ValueError(f"{name} must hold finite class labels, got NaN or infinity")
        fractional = y[y != torch.round(y)]
        if fractional.numel():
            raise ValueError(f"{name} must hold class labels, got non-integer {fractional[0].item()}")
    return y


def _scored(y_true, y_score, need: str = "both") -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """Validated (labels, scores, n_positive, n_negative) on the scores' device."""
    s = _finite_scores(_as_1d(y_score, "y_score"))
    y = _binary_labels(_as_1d(y_true, "y_true")).to(s.device)
    _same_length(y, s, "y_true and y_score")
    n_pos = int(y.sum())
    n_neg = y.numel() - n_pos
    if n_pos == 0 or (need == "both" and n_neg == 0):
        only = "negatives (0)" if n_pos == 0 else "positives (1)"
        raise ValueError(
            f"y_true contains only one class, {y.numel()} {only}; this metric needs "
            + ("both classes" if need == "both" else "at least one positive")
        )
    return y, s, n_pos, n_neg


def _argsort(s: torch.Tensor, descending: bool = False) -> torch.Tensor:
    """Sorting order of float64 scores; ties in any order (they are merged afterwards)."""
    if s.device.type == "cpu":  # NumPy's vectorised sort is ~3x faster than torch.sort on CPU
        return torch.from_numpy(np.argsort(-s.numpy() if descending else s.numpy()))
    return torch.argsort(s, descending=descending)


def _clf_curve(y: torch.Tensor, s: torch.Tensor):
    r"""Counts at every distinct threshold, highest first: :math:`FP(t), TP(t)` for :math:`s \ge t`."""
    order = _argsort(s, descending=True)
    s_sorted, y_sorted = s[order], y[order]
    last_of_tie = torch.nonzero(s_sorted[1:] != s_sorted[:-1]).squeeze(1)
    idx = torch.cat([last_of_tie, last_of_tie.new_tensor([s.numel() - 1])])
    tps = torch.cumsum(y_sorted, 0)[idx]
    fps = idx + 1 - tps
    return fps, tps, s_sorted[idx]


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.cpu().numpy()


# ---------------------------------------------------------------- thresholded metrics
def confusion_matrix(y_true, y_pred, *, labels=None) -> np.ndarray:
    r"""Confusion matrix :math:`C_{ij}` = number of samples of true class :math:`i` predicted as :math:`j`.

    Rows are the true classes, columns the predicted ones, both in the order of ``labels``
    (default: the sorted union of the values present). For binary 0/1 labels
    :math:`C = \begin{pmatrix} TN & FP \\ FN & TP \end{pmatrix}`.

    Matches: ``sklearn.metrics.confusion_matrix(y_true, y_pred, labels=labels)``.
    Differences: numeric labels only; no ``sample_weight`` or ``normalize``.
    """
    yt = _class_labels(_as_1d(y_true, "y_true"), "y_true")
    yp = _class_labels(_as_1d(y_pred, "y_pred"), "y_pred").to(yt.device)
    _same_length(yt, yp, "y_true and y_pred")
    dtype = torch.promote_types(yt.dtype, yp.dtype)
    yt, yp = yt.to(dtype), yp.to(dtype)
    if labels is None:
        labels_t = torch.unique(torch.cat([yt, yp]))
    else:
        labels_t = _as_1d(labels, "labels").to(yt.device)
        if torch.unique(labels_t).numel() != labels_t.numel():
            raise ValueError(f"labels must be unique, got {labels_t.tolist()}")
        labels_t = labels_t.to(torch.promote_types(dtype, labels_t.dtype))
        if not torch.isin(labels_t, yt.to(labels_t.dtype)).any():
            raise ValueError(f"at least one of labels {labels_t.tolist()} must appear in y_true")
    k = labels_t.numel()
    sorted_labels, perm = torch.sort(labels_t)

    def index(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = y.to(sorted_labels.dtype)
        pos = torch.searchsorted(sorted_labels, y).clamp(max=k - 1)
        return perm[pos], sorted_labels[pos] == y

    i, ok_i = index(yt)
    j, ok_j = index(yp)
    keep = ok_i & ok_j
    cells = torch.bincount((i * k + j)[keep], minlength=k * k)
    return _numpy(cells.reshape(k, k).to(torch.int64))


def precision_recall_f1(y_true, y_pred, *, average: str | None = "binary", zero_division: float = 0.0):
    r"""Precision, recall and F1 (the harmonic mean of the two).

    .. math::

        P = \frac{TP}{TP + FP}, \quad R = \frac{TP}{TP + FN}, \quad
        F_1 = \frac{2}{1/P + 1/R} = \frac{2PR}{P + R} = \frac{2\,TP}{2\,TP + FP + FN}

    ``average="binary"``: class 1 of 0/1 labels. ``"micro"``: pool TP, FP, FN over classes
    (for single-label problems micro P = R = F1 = accuracy). ``"macro"``: unweighted mean of
    the per-class scores. ``None``: per-class arrays. A 0/0 ratio becomes ``zero_division``
    (0.0, 1.0 or NaN; NaN entries are left out of a macro mean).

    Matches: ``sklearn.metrics.precision_recall_fscore_support(y_true, y_pred, average=average,
    zero_division=zero_division)[:3]``.
    Differences: binary averaging needs 0/1 labels (no ``pos_label``); no ``beta``, ``labels``
    or ``sample_weight``; the default ``zero_division`` is 0.0 without sklearn's warning.
    """
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
    if isinstance(zero_division, bool) or not isinstance(zero_division, (int, float)) or not (
        zero_division in (0, 1) or math.isnan(zero_division)
    ):
        raise ValueError(f"zero_division must be 0.0, 1.0 or nan, got {zero_division!r}")
    if average == "binary":
        yt = _binary_labels(_as_1d(y_true, "y_true"))
        yp = _binary_labels(_as_1d(y_pred, "y_pred"), "y_pred").to(yt.device)
        _same_length(yt, yp, "y_true and y_pred")
        tp = (yt * yp).sum(0, keepdim=True)
        pred_sum, true_sum = yp.sum(0, keepdim=True), yt.sum(0, keepdim=True)
    else:
        cm = torch.from_numpy(confusion_matrix(y_true, y_pred))
        tp, pred_sum, true_sum = cm.diagonal(), cm.sum(0), cm.sum(1)
        if average == "micro":
            tp, pred_sum, true_sum = tp.sum(0, keepdim=True), pred_sum.sum(0, keepdim=True), true_sum.sum(0, keepdim=True)

    def ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
        out = num.double() / den.clamp(min=1).double()
        return torch.where(den == 0, torch.full_like(out, float(zero_division)), out)

    scores = (ratio(tp, pred_sum), ratio(tp, true_sum), ratio(2 * tp, pred_sum + true_sum))
    if average is None:
        return tuple(_numpy(v) for v in scores)
    # a macro mean skips NaN (zero_division=nan) entries, as sklearn does
    return tuple(float(v.nanmean()) if not v.isnan().all() else math.nan for v in scores)


# ---------------------------------------------------------------- ranking metrics
def roc_curve(y_true, y_score, *, drop_intermediate: bool = True):
    r"""ROC curve: :math:`(\mathrm{FPR}(t), \mathrm{TPR}(t))` for each distinct score :math:`t`, highest first.

    .. math:: \mathrm{TPR}(t) = \frac{\#\{i: y_i = 1, s_i \ge t\}}{n_+}, \qquad
              \mathrm{FPR}(t) = \frac{\#\{i: y_i = 0, s_i \ge t\}}{n_-}

    Tied scores move both rates at once (a diagonal step). The first point is
    :math:`(0, 0)` at threshold :math:`+\infty`. ``drop_intermediate`` removes points on a
    straight segment, which leaves the curve (and its area) unchanged.

    Returns ``fpr, tpr, thresholds`` (NumPy float64; thresholds decreasing).

    Matches: ``sklearn.metrics.roc_curve(y_true, y_score, drop_intermediate=drop_intermediate)``.
    Differences: labels must be 0/1 (no ``pos_label``, no ``sample_weight``); a single class
    raises ``ValueError`` where sklearn warns and returns NaN.
    """
    if not isinstance(drop_intermediate, bool):
        raise TypeError(f"drop_intermediate must be a bool, got {type(drop_intermediate).__name__}")
    y, s, n_pos, n_neg = _scored(y_true, y_score)
    fps, tps, thresholds = _clf_curve(y, s)
    if drop_intermediate and fps.numel() > 2:
        bend = (torch.diff(fps, n=2) != 0) | (torch.diff(tps, n=2) != 0)
        end = bend.new_ones(1)
        keep = torch.cat([end, bend, end])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    zero = fps.new_zeros(1)
    fpr = torch.cat([zero, fps]).double() / n_neg
    tpr = torch.cat([zero, tps]).double() / n_pos
    thresholds = torch.cat([thresholds.new_tensor([math.inf]), thresholds])
    return _numpy(fpr), _numpy(tpr), _numpy(thresholds)


def roc_auc(y_true, y_score) -> float:
    r"""Area under the ROC curve, by the trapezoidal rule over all distinct thresholds.

    .. math:: \mathrm{AUC} = \sum_k (\mathrm{FPR}_k - \mathrm{FPR}_{k-1})\,
              \frac{\mathrm{TPR}_k + \mathrm{TPR}_{k-1}}{2}

    summed in integer counts (:math:`2\,n_+ n_-\,\mathrm{AUC}` is an integer), so the result is
    the exact fraction rounded once. One sort: :math:`O(n \log n)`.

    Matches: ``sklearn.metrics.roc_auc_score(y_true, y_score)``.
    Differences: binary 0/1 labels only; a single class raises ``ValueError``.
    """
    y, s, n_pos, n_neg = _scored(y_true, y_score)
    fps, tps, _ = _clf_curve(y, s)
    zero = fps.new_zeros(1)
    fps, tps = torch.cat([zero, fps]), torch.cat([zero, tps])
    twice_area = int((torch.diff(fps) * (tps[1:] + tps[:-1])).sum())
    return twice_area / (2 * n_pos * n_neg)


def roc_auc_rank(y_true, y_score) -> float:
    r"""AUC as a probability: a random positive outranks a random negative (ties count 1/2).

    .. math:: \mathrm{AUC} = P(s_+ > s_-) + \tfrac12 P(s_+ = s_-)
              = \frac{R_+ - n_+(n_+ + 1)/2}{n_+ n_-}

    where :math:`R_+` is the sum of the positives' ranks in ascending score order, tied scores
    sharing their mean rank (the Mann–Whitney :math:`U` over :math:`n_+ n_-`). One sort,
    :math:`O(n \log n)`, instead of the :math:`O(n_+ n_-)` loop over pairs.

    Matches: ``scipy.stats.mannwhitneyu(s[y == 1], s[y == 0]).statistic / (n_pos * n_neg)``
    and ``sklearn.metrics.roc_auc_score(y_true, y_score)``.
    """
    y, s, n_pos, n_neg = _scored(y_true, y_score)
    order = _argsort(s)
    s_sorted, y_sorted = s[order], y[order]
    last = torch.nonzero(torch.cat([s_sorted[1:] != s_sorted[:-1], s_sorted.new_ones(1, dtype=torch.bool)]))
    last = last.squeeze(1)
    first = torch.cat([last.new_zeros(1), last[:-1] + 1])
    positives_in_tie = torch.diff(torch.cumsum(y_sorted, 0)[last], prepend=last.new_zeros(1))
    # 1-based ranks first+1 .. last+1 share the mean rank (first + last + 2) / 2
    twice_rank_sum = int(((first + last + 2) * positives_in_tie).sum())
    twice_u = twice_rank_sum - n_pos * (n_pos + 1)
    return twice_u / (2 * n_pos * n_neg)


def precision_recall_curve(y_true, y_score, *, drop_intermediate: bool = False):
    r"""Precision and recall at every distinct threshold, in increasing threshold order.

    .. math:: P(t) = \frac{TP(t)}{TP(t) + FP(t)}, \qquad R(t) = \frac{TP(t)}{n_+}

    A final point :math:`(R, P) = (0, 1)` with no threshold closes the curve.

    Returns ``precision, recall, thresholds`` (NumPy; ``thresholds`` one shorter).

    Matches: ``sklearn.metrics.precision_recall_curve(y_true, y_score,
    drop_intermediate=drop_intermediate)``.
    Differences: labels must be 0/1; no positive at all raises ``ValueError``.
    """
    if not isinstance(drop_intermediate, bool):
        raise TypeError(f"drop_intermediate must be a bool, got {type(drop_intermediate).__name__}")
    y, s, n_pos, _ = _scored(y_true, y_score, need="positive")
    fps, tps, thresholds = _clf_curve(y, s)
    if drop_intermediate and fps.numel() > 2:
        end = tps.new_ones(1, dtype=torch.bool)
        keep = torch.cat([end, (torch.diff(tps[:-1]) != 0) | (torch.diff(tps[1:]) != 0), end])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    precision = tps.double() / (tps + fps).double()
    recall = tps.double() / n_pos
    one, zero = precision.new_ones(1), precision.new_zeros(1)
    return (
        _numpy(torch.cat([precision.flip(0), one])),
        _numpy(torch.cat([recall.flip(0), zero])),
        _numpy(thresholds.flip(0)),
    )


def average_precision(y_true, y_score) -> float:
    r"""Average precision: precision averaged over the recall steps (no interpolation).

    .. math:: \mathrm{AP} = \sum_k (R_k - R_{k-1})\, P_k

    over thresholds from high to low. Unlike the trapezoidal area under the PR curve it never
    interpolates linearly between points, which would be optimistic.

    Matches: ``sklearn.metrics.average_precision_score(y_true, y_score)``.
    Differences: binary 0/1 labels only; no positive at all raises ``ValueError``.
    """
    y, s, n_pos, _ = _scored(y_true, y_score, need="positive")
    fps, tps, _ = _clf_curve(y, s)
    precision = tps.double() / (tps + fps).double()
    recall_step = torch.diff(tps, prepend=tps.new_zeros(1)).double() / n_pos
    return float((recall_step * precision).sum())


def group_auc(y_true, y_score, groups, *, weighting: str = "impressions", return_counts: bool = False):
    r"""Group AUC (gAUC): per-group AUC averaged with weights (Zhou et al., *Deep Interest Network*, 2018).

    .. math:: \mathrm{gAUC} = \frac{\sum_g w_g\,\mathrm{AUC}_g}{\sum_g w_g}

    with :math:`w_g` the group's number of samples (``"impressions"``, the paper's choice),
    its number of positives (``"clicks"``) or 1 (``"uniform"``). A group whose samples are all
    of one class has no AUC; it is skipped, and counted. All groups are handled in one sort
    by (group, score), ranking within each group as in :func:`roc_auc_rank`.

    Returns the gAUC, or ``(gauc, n_groups_used, n_groups_skipped)`` with ``return_counts``.

    Matches: the loop ``sum(w_g * roc_auc_score(y[g], s[g])) / sum(w_g)`` over groups with
    both classes.
    """
    if weighting not in _WEIGHTINGS:
        raise ValueError(f"weighting must be one of {_WEIGHTINGS}, got {weighting!r}")
    if not isinstance(return_counts, bool):
        raise TypeError(f"return_counts must be a bool, got {type(return_counts).__name__}")
    s = _finite_scores(_as_1d(y_score, "y_score"))
    y = _binary_labels(_as_1d(y_true, "y_true")).to(s.device)
    g = _as_1d(groups, "groups").to(s.device)
    _same_length(y, s, "y_true and y_score")
    _same_length(y, g, "y_true and groups")
    if g.is_floating_point() and not torch.isfinite(g).all():
        raise ValueError("groups must be finite, got NaN or infinity")
    _, group = torch.unique(g, return_inverse=True)
    n_groups = int(group.max()) + 1
    by_score = torch.sort(s, stable=True).indices
    order = by_score[torch.sort(group[by_score], stable=True).indices]
    gs, ss, ys = group[order], s[order], y[order]
    new_tie = torch.cat([gs.new_ones(1, dtype=torch.bool), (gs[1:] != gs[:-1]) | (ss[1:] != ss[:-1])])
    first = torch.nonzero(new_tie).squeeze(1)
    last = torch.cat([first[1:] - 1, first.new_tensor([s.numel() - 1])])
    positives_in_tie = torch.diff(torch.cumsum(ys, 0)[last], prepend=last.new_zeros(1))
    n_g = torch.bincount(group, minlength=n_groups)
    n_pos = torch.bincount(group, weights=y.double(), minlength=n_groups).long()
    n_neg = n_g - n_pos
    group_start = torch.cumsum(n_g, 0) - n_g
    tie_group = gs[first]
    # within-group 1-based ranks first+1 .. last+1 (shifted by the group's start)
    twice_mean_rank = first + last + 2 - 2 * group_start[tie_group]
    twice_rank_sum = torch.zeros_like(n_g).index_add_(0, tie_group, twice_mean_rank * positives_in_tie)
    used = (n_pos > 0) & (n_neg > 0)
    n_used = int(used.sum())
    if n_used == 0:
        raise ValueError(f"every one of the {n_groups} groups contains a single class; gAUC is undefined")
    twice_u = (twice_rank_sum - n_pos * (n_pos + 1))[used]
    auc_g = twice_u.double() / (2 * n_pos[used] * n_neg[used]).double()
    weight = {"impressions": n_g, "clicks": n_pos, "uniform": torch.ones_like(n_g)}[weighting][used].double()
    gauc = float((weight * auc_g).sum() / weight.sum())
    return (gauc, n_used, n_groups - n_used) if return_counts else gauc
