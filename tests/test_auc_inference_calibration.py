"""DeLong's AUC variance and test against brute force and the bootstrap; calibration against sklearn."""
import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve as sk_calibration_curve

from dlnotes import auc_inference as ai
from dlnotes import calibration as cal


def problem(seed, m=60, n=90, ties=False):
    rng = np.random.default_rng(seed)
    s = np.r_[rng.normal(1, 1, m), rng.normal(0, 1, n)]
    if ties:
        s = np.round(s, 1)
    return np.r_[np.ones(m, int), np.zeros(n, int)], s


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("ties", [False, True])
def test_components_match_the_pair_loop(seed, ties):
    y, s = problem(seed, ties=ties)
    X, Y = s[y == 1], s[y == 0]
    psi = (X[:, None] > Y[None, :]) + 0.5 * (X[:, None] == Y[None, :])
    v10, v01 = ai.delong_components(y, s)
    np.testing.assert_allclose(v10, psi.mean(1), atol=1e-12)
    np.testing.assert_allclose(v01, psi.mean(0), atol=1e-12)
    auc, var = ai.auc_variance(y, s)
    assert auc == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert var == pytest.approx(psi.mean(1).var(ddof=1) / len(X) + psi.mean(0).var(ddof=1) / len(Y), rel=1e-10)


def test_delong_variance_agrees_with_the_bootstrap():
    y, s = problem(11, m=300, n=500)
    _, var = ai.auc_variance(y, s)
    boot = ai.bootstrap_auc(y, s, n_boot=2000, seed=1)
    assert boot.std(ddof=1) == pytest.approx(np.sqrt(var), rel=0.08)


def test_delong_test_is_calibrated_under_the_null_and_matches_paired_bootstrap():
    rng = np.random.default_rng(2)
    rejections = 0
    for _ in range(200):
        y = rng.integers(0, 2, 400)
        signal = rng.normal(0, 1, 400) + y
        s1, s2 = signal + rng.normal(0, 1, 400), signal + rng.normal(0, 1, 400)  # equal true AUC
        rejections += ai.delong_test(y, s1, s2)["p_value"] < 0.05
    assert 0.015 < rejections / 200 < 0.09
    y = rng.integers(0, 2, 600)
    signal = rng.normal(0, 1, 600) + y
    s1, s2 = signal + rng.normal(0, 0.8, 600), signal + rng.normal(0, 1.2, 600)
    t = ai.delong_test(y, s1, s2)
    boot = ai.bootstrap_auc(y, s1, s2, n_boot=1500, seed=3)
    assert t["difference"] == pytest.approx(skm.roc_auc_score(y, s1) - skm.roc_auc_score(y, s2), abs=1e-12)
    assert boot.std(ddof=1) == pytest.approx(t["se"], rel=0.12)


def test_confidence_interval_and_bad_input():
    y, s = problem(4)
    auc, lo, hi = ai.auc_confidence_interval(y, s, level=0.9)
    assert lo < auc < hi and hi - lo == pytest.approx(2 * 1.6448536 * np.sqrt(ai.auc_variance(y, s)[1]), rel=1e-6)
    with pytest.raises(ValueError, match="level must be strictly between 0 and 1, got 1.5"):
        ai.auc_confidence_interval(y, s, level=1.5)
    with pytest.raises(ValueError, match="at least 2 positives and 2 negatives, got 1 and 3"):
        ai.auc_variance([1, 0, 0, 0], [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="n_boot must be an int of at least 2, got 1"):
        ai.bootstrap_auc(y, s, n_boot=1)


@pytest.mark.parametrize("seed", range(4))
def test_log_loss_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(int)
    w = rng.exponential(1, 500)
    assert cal.log_loss(y, p) == pytest.approx(skm.log_loss(y, p, labels=[0, 1]), rel=1e-12)
    assert cal.log_loss(y, p, sample_weight=w) == pytest.approx(skm.log_loss(y, p, sample_weight=w, labels=[0, 1]), rel=1e-12)
    assert cal.log_loss([1, 0], [0.0, 1.0]) == pytest.approx(-np.log(np.finfo(float).eps), rel=1e-9)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_calibration_curve_matches_sklearn(strategy):
    rng = np.random.default_rng(7)
    p = rng.random(2000) ** 2
    y = (rng.random(2000) < p).astype(int)
    t, q, _ = cal.calibration_curve(y, p, n_bins=8, strategy=strategy)
    rt, rq = sk_calibration_curve(y, p, n_bins=8, strategy=strategy)
    np.testing.assert_allclose(t, rt, atol=1e-12)
    np.testing.assert_allclose(q, rq, atol=1e-12)


def test_ece_is_small_when_calibrated_and_correction_undoes_sampling():
    rng = np.random.default_rng(8)
    p = rng.random(200_000) * 0.2
    y = (rng.random(len(p)) < p).astype(int)
    assert cal.expected_calibration_error(y, p) < 0.005 and cal.expected_calibration_error(y, p**0.5) > 0.1
    r = 0.1
    q = p / (p + r * (1 - p))  # what a model trained on 10 % of the negatives predicts
    np.testing.assert_allclose(cal.correct_negative_sampling(q, r), p, atol=1e-12)
    with pytest.raises(ValueError, match="rate must be in \\(0, 1\\], got 0"):
        cal.correct_negative_sampling(q, 0)
    with pytest.raises(ValueError, match="y_prob must hold probabilities in \\[0, 1\\]"):
        cal.log_loss([0, 1], [0.5, 1.5])
