r"""Calibration: whether a predicted probability is the frequency it claims.

AUC only sees the order of the scores, so it cannot tell a calibrated :math:`p` from
:math:`p^2`. Systems that multiply the prediction by something (an ad auction ranks by
:math:`\text{pCTR}\times\text{bid}`, a feed by :math:`P(\text{click})\times\text{value}`) need
the probability itself. The log loss (cross-entropy) scores both ranking and calibration; the
reliability curve and the expected calibration error (ECE, Guo et al., *On calibration of
modern neural networks*, ICML 2017) isolate calibration. Negative sampling at rate :math:`r`
inflates the probabilities; :func:`correct_negative_sampling` inverts it (He et al., *Practical
lessons from predicting clicks on ads at Facebook*, 2014).

Dtypes: labels are 0/1 of any dtype; probabilities of any float dtype (fp16 and bf16 included)
and sample weights are upcast to float64 before the logarithms, so the results are float64.
"""
from __future__ import annotations

import numbers

import numpy as np
import torch

from ._metric_inputs import _as_1d, _binary_labels, _same_length, _weights

__all__ = ["log_loss", "calibration_curve", "expected_calibration_error", "correct_negative_sampling"]


def _probs(y_prob, name: str = "y_prob") -> torch.Tensor:
    p = _as_1d(y_prob, name).to(torch.float64)
    if not torch.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"{name} must hold probabilities in [0, 1], got values from {p.min().item()} to {p.max().item()}")
    return p


def log_loss(y_true, y_prob, *, sample_weight=None, eps: float | None = None) -> float:
    r"""Mean negative log-likelihood of 0/1 labels under predicted probabilities.

    .. math:: \mathrm{LogLoss} = -\frac{\sum_i w_i\,[y_i\log p_i + (1-y_i)\log(1-p_i)]}{\sum_i w_i}

    Probabilities are clipped to :math:`[\epsilon, 1-\epsilon]` with :math:`\epsilon` the float64
    machine epsilon (as scikit-learn does since 1.5), so a confident mistake costs about 36, not inf.

    Matches: ``sklearn.metrics.log_loss(y_true, y_prob, sample_weight=sample_weight, labels=[0, 1])``.
    """
    p = _probs(y_prob)
    y = _binary_labels(_as_1d(y_true, "y_true")).to(p.device).double()
    _same_length(y, p, "y_true and y_prob")
    if eps is not None and (isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real)):
        raise TypeError(f"eps must be a number in (0, 0.5) or None, got {eps!r}")
    e = np.finfo(np.float64).eps if eps is None else float(eps)
    if not 0 < e < 0.5:
        raise ValueError(f"eps must be in (0, 0.5), got {e}")
    p = p.clamp(e, 1 - e)
    nll = -(y * torch.log(p) + (1 - y) * torch.log1p(-p))
    w = _weights(sample_weight, y.numel(), p.device)
    if w is None:
        return float(nll.mean())
    if w.sum() == 0:
        raise ValueError("sample_weight must not sum to 0")
    return float((w * nll).sum() / w.sum())


def calibration_curve(y_true, y_prob, *, n_bins: int = 10, strategy: str = "uniform"):
    r"""Mean label and mean prediction in each probability bin (the reliability diagram).

    Bins are equal-width on [0, 1] (``"uniform"``) or hold equal numbers of samples
    (``"quantile"``); empty bins are dropped. Returns ``prob_true, prob_pred, counts``.

    Matches: ``sklearn.calibration.calibration_curve(y_true, y_prob, n_bins=n_bins,
    strategy=strategy)`` for the first two arrays.
    """
    if isinstance(n_bins, (bool, np.bool_)) or not isinstance(n_bins, numbers.Integral) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive int, got {n_bins!r}")
    n_bins = int(n_bins)
    if strategy not in ("uniform", "quantile"):
        raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
    p = _probs(y_prob).cpu().numpy()
    y = _binary_labels(_as_1d(y_true, "y_true")).cpu().numpy()
    _same_length(torch.from_numpy(y), torch.from_numpy(p), "y_true and y_prob")
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0, 100, n_bins + 1))
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], p)
    counts = np.bincount(ids, minlength=n_bins)
    sum_true = np.bincount(ids, weights=y, minlength=n_bins)
    sum_pred = np.bincount(ids, weights=p, minlength=n_bins)
    keep = counts > 0
    return sum_true[keep] / counts[keep], sum_pred[keep] / counts[keep], counts[keep]


def expected_calibration_error(y_true, y_prob, *, n_bins: int = 10) -> float:
    r"""ECE: the count-weighted mean gap between predicted and observed frequency over bins.

    .. math:: \mathrm{ECE} = \sum_b \frac{n_b}{N}\,\bigl|\bar y_b - \bar p_b\bigr|
    """
    prob_true, prob_pred, counts = calibration_curve(y_true, y_prob, n_bins=n_bins)
    return float((counts * np.abs(prob_true - prob_pred)).sum() / counts.sum())


def correct_negative_sampling(y_prob, rate: float) -> np.ndarray:
    r"""Probabilities of a model trained on negatives kept with probability ``rate``, mapped back.

    .. math:: p = \frac{q}{q + (1 - q)/r}

    Sampling multiplies the odds by :math:`1/r`; this divides them back.
    """
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, numbers.Real) or not 0 < rate <= 1:
        raise ValueError(f"rate must be in (0, 1], got {rate!r}")
    rate = float(rate)
    q = _probs(y_prob).cpu().numpy()
    return q / (q + (1 - q) / rate)
