r"""Classification metrics from the confusion matrix up: precision, recall, F1, ROC, AUC, gAUC.

A score :math:`s(x)` and a threshold :math:`t` give a classifier :math:`\hat y = [s(x) \ge t]`.
Its confusion matrix counts TP, FP, FN, TN, from which

.. math::

    \mathrm{TPR} = \frac{TP}{TP + FN}, \qquad \mathrm{FPR} = \frac{FP}{FP + TN}, \qquad
    \mathrm{precision} = \frac{TP}{TP + FP}, \qquad \mathrm{recall} = \mathrm{TPR}.

Sweeping :math:`t` over every distinct score traces the ROC curve (Fawcett, *An introduction
to ROC analysis*, 2006); its area equals the probability that a random positive outscores a
random negative (Hanley & McNeil, 1982), which is the Mann–Whitney statistic. The group AUC
(:func:`group_auc`, in :mod:`dlnotes.gauc`) averages per-user AUCs. Calibration and log loss
are in :mod:`dlnotes.calibration`, confidence intervals for AUC in :mod:`dlnotes.auc_inference`.

Every function accepts NumPy arrays, Python sequences or torch tensors (CPU or GPU) and
computes with torch on the scores' device. Labels for the ranking metrics are 0/1 (or bool).

Dtypes: labels are 0/1 of any dtype (bool, int, float); float scores of any precision are
upcast to float64 (fp16/bf16 values exactly), integer scores are ranked as int64, exactly
(float64 would merge values above 2**53). Results are float64: Python floats, float64 arrays,
and int64 counts for an unweighted confusion matrix.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from ._metric_inputs import (
    _argsort,
    _as_1d,
    _binary_labels,
    _class_labels,
    _clf_curve,
    _numpy,
    _same_length,
    _scored,
    _weights,
)

__all__ = [
    "confusion_matrix", "precision_recall_f1", "roc_curve", "roc_auc", "roc_auc_rank",
    "precision_recall_curve", "average_precision", "group_auc"
]

_AVERAGES = ("binary", "micro", "macro", None)


# ---------------------------------------------------------------- thresholded metrics
def confusion_matrix(y_true, y_pred, *, labels=None, sample_weight=None) -> np.ndarray:
    r"""Confusion matrix :math:`C_{ij}` = number of samples of true class :math:`i` predicted as :math:`j`.

    Rows are the true classes, columns the predicted ones, both in the order of ``labels``
    (default: the sorted union of the values present). For binary 0/1 labels
    :math:`C = \begin{pmatrix} TN & FP \\ FN & TP \end{pmatrix}`.

    With ``sample_weight`` each sample counts its weight instead of 1 (float64 result).

    Matches: ``sklearn.metrics.confusion_matrix(y_true, y_pred, labels=labels, sample_weight=sample_weight)``.
    Differences: numeric labels only; no ``normalize``.
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

    w = _weights(sample_weight, yt.numel(), yt.device)
    i, ok_i = index(yt)
    j, ok_j = index(yp)
    keep = ok_i & ok_j
    if w is None:
        cells = torch.bincount((i * k + j)[keep], minlength=k * k)
        return _numpy(cells.reshape(k, k).to(torch.int64))
    cells = torch.bincount((i * k + j)[keep], weights=w[keep], minlength=k * k)
    return _numpy(cells.reshape(k, k).to(torch.float64))


def precision_recall_f1(y_true, y_pred, *, average: str | None = "binary", zero_division: float = 0.0,
                        sample_weight=None):
    r"""Precision, recall and F1 (the harmonic mean of the two).

    .. math::

        P = \frac{TP}{TP + FP}, \quad R = \frac{TP}{TP + FN}, \quad
        F_1 = \frac{2}{1/P + 1/R} = \frac{2PR}{P + R} = \frac{2\,TP}{2\,TP + FP + FN}

    ``average="binary"``: class 1 of 0/1 labels. ``"micro"``: pool TP, FP, FN over classes
    (for single-label problems micro P = R = F1 = accuracy). ``"macro"``: unweighted mean of
    the per-class scores. ``None``: per-class arrays. A 0/0 ratio becomes ``zero_division``
    (0.0, 1.0 or NaN; NaN entries are left out of a macro mean).

    ``sample_weight`` weights each sample's contribution to TP, FP and FN (e.g. :math:`1/r` for
    negatives kept with probability :math:`r`, which undoes negative sampling in expectation).

    Matches: ``sklearn.metrics.precision_recall_fscore_support(y_true, y_pred, average=average,
    zero_division=zero_division, sample_weight=sample_weight)[:3]``.
    Differences: binary averaging needs 0/1 labels (no ``pos_label``); no ``beta`` or ``labels``;
    the default ``zero_division`` is 0.0 without sklearn's warning.
    """
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
    if isinstance(zero_division, (bool, np.bool_)) or not isinstance(zero_division, numbers.Real) or not (
        zero_division in (0, 1) or math.isnan(zero_division)
    ):
        raise ValueError(f"zero_division must be 0.0, 1.0 or nan, got {zero_division!r}")
    if average == "binary":
        yt = _binary_labels(_as_1d(y_true, "y_true"))
        yp = _binary_labels(_as_1d(y_pred, "y_pred"), "y_pred").to(yt.device)
        _same_length(yt, yp, "y_true and y_pred")
        w = _weights(sample_weight, yt.numel(), yt.device)
        w = torch.ones(yt.numel(), dtype=torch.int64, device=yt.device) if w is None else w
        tp = (w * yt * yp).sum(0, keepdim=True)
        pred_sum, true_sum = (w * yp).sum(0, keepdim=True), (w * yt).sum(0, keepdim=True)
    else:
        cm = torch.from_numpy(confusion_matrix(y_true, y_pred, sample_weight=sample_weight))
        tp, pred_sum, true_sum = cm.diagonal(), cm.sum(0), cm.sum(1)
        if average == "micro":
            tp, pred_sum, true_sum = tp.sum(0, keepdim=True), pred_sum.sum(0, keepdim=True), true_sum.sum(0, keepdim=True)

    def ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
        out = num.double() / torch.where(den == 0, torch.ones_like(den), den).double()
        return torch.where(den == 0, torch.full_like(out, float(zero_division)), out)

    scores = (ratio(tp, pred_sum), ratio(tp, true_sum), ratio(2 * tp, pred_sum + true_sum))
    if average is None:
        return tuple(_numpy(v) for v in scores)
    # a macro mean skips NaN (zero_division=nan) entries, as sklearn does
    return tuple(float(v.nanmean()) if not v.isnan().all() else math.nan for v in scores)


# ---------------------------------------------------------------- ranking metrics
def roc_curve(y_true, y_score, *, drop_intermediate: bool = True, sample_weight=None):
    r"""ROC curve: :math:`(\mathrm{FPR}(t), \mathrm{TPR}(t))` for each distinct score :math:`t`, highest first.

    .. math:: \mathrm{TPR}(t) = \frac{\#\{i: y_i = 1, s_i \ge t\}}{n_+}, \qquad
              \mathrm{FPR}(t) = \frac{\#\{i: y_i = 0, s_i \ge t\}}{n_-}

    Tied scores move both rates at once (a diagonal step). The first point is
    :math:`(0, 0)` at threshold :math:`+\infty`. ``drop_intermediate`` removes points on a
    straight segment, which leaves the curve (and its area) unchanged.

    Returns ``fpr, tpr, thresholds`` (NumPy float64; thresholds decreasing).

    Integer scores are ranked as integers (exactly, beyond :math:`2^{53}` too). With
    ``sample_weight`` the rates are weighted sums.

    Matches: ``sklearn.metrics.roc_curve(y_true, y_score, drop_intermediate=drop_intermediate,
    sample_weight=sample_weight)``.
    Differences: labels must be 0/1 (no ``pos_label``); a single class
    raises ``ValueError`` where sklearn warns and returns NaN.
    """
    if not isinstance(drop_intermediate, bool):
        raise TypeError(f"drop_intermediate must be a bool, got {type(drop_intermediate).__name__}")
    y, s, n_pos, n_neg = _scored(y_true, y_score)
    w = _weights(sample_weight, y.numel(), s.device)
    fps, tps, thresholds = _clf_curve(y, s, w)
    if w is not None:
        n_pos, n_neg = _positive_weights(tps, fps)
    if drop_intermediate and fps.numel() > 2:
        bend = (torch.diff(fps, n=2) != 0) | (torch.diff(tps, n=2) != 0)
        end = bend.new_ones(1)
        keep = torch.cat([end, bend, end])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    zero = fps.new_zeros(1)
    fpr = torch.cat([zero, fps]).double() / n_neg
    tpr = torch.cat([zero, tps]).double() / n_pos
    thresholds = torch.cat([thresholds.new_tensor([math.inf], dtype=torch.float64), thresholds.double()])
    return _numpy(fpr), _numpy(tpr), _numpy(thresholds)


def _positive_weights(tps: torch.Tensor, fps: torch.Tensor) -> tuple[float, float]:
    w_pos, w_neg = float(tps[-1]), float(fps[-1])
    if w_pos == 0 or w_neg == 0:
        raise ValueError("sample_weight gives one class zero total weight; this metric needs both classes")
    return w_pos, w_neg


def roc_auc(y_true, y_score, *, sample_weight=None) -> float:
    r"""Area under the ROC curve, by the trapezoidal rule over all distinct thresholds.

    .. math:: \mathrm{AUC} = \sum_k (\mathrm{FPR}_k - \mathrm{FPR}_{k-1})\,
              \frac{\mathrm{TPR}_k + \mathrm{TPR}_{k-1}}{2}

    summed in integer counts (:math:`2\,n_+ n_-\,\mathrm{AUC}` is an integer), so the result is
    the exact fraction rounded once. One sort: :math:`O(n \log n)`. Integer scores are ranked as
    integers. With ``sample_weight``, every pair counts :math:`w_i w_j` (float arithmetic).

    Matches: ``sklearn.metrics.roc_auc_score(y_true, y_score, sample_weight=sample_weight)``.
    Differences: binary 0/1 labels only; a single class raises ``ValueError``.
    """
    y, s, n_pos, n_neg = _scored(y_true, y_score)
    w = _weights(sample_weight, y.numel(), s.device)
    fps, tps, _ = _clf_curve(y, s, w)
    zero = fps.new_zeros(1)
    if w is not None:
        w_pos, w_neg = _positive_weights(tps, fps)
        fps, tps = torch.cat([zero, fps]), torch.cat([zero, tps])
        return float((torch.diff(fps) * (tps[1:] + tps[:-1])).sum() / (2 * w_pos * w_neg))
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


def average_precision(y_true, y_score, *, sample_weight=None) -> float:
    r"""Average precision: precision averaged over the recall steps (no interpolation).

    .. math:: \mathrm{AP} = \sum_k (R_k - R_{k-1})\, P_k

    over thresholds from high to low. Unlike the trapezoidal area under the PR curve it never
    interpolates linearly between points, which would be optimistic.

    Matches: ``sklearn.metrics.average_precision_score(y_true, y_score, sample_weight=sample_weight)``.
    Differences: binary 0/1 labels only; no positive at all raises ``ValueError``.
    """
    y, s, n_pos, _ = _scored(y_true, y_score, need="positive")
    w = _weights(sample_weight, y.numel(), s.device)
    fps, tps, _ = _clf_curve(y, s, w)
    if w is not None:
        n_pos = float(tps[-1])
        if n_pos == 0:
            raise ValueError("sample_weight gives the positives zero total weight")
    total = (tps + fps).double()
    precision = tps.double() / torch.where(total == 0, torch.ones_like(total), total)
    recall_step = torch.diff(tps, prepend=tps.new_zeros(1)).double() / n_pos
    return float((recall_step * precision).sum())


from .gauc import group_auc  # noqa: E402  (re-exported: gAUC is one of the chapter's metrics)
