"""sample_weight, int64 scores beyond 2**53, and string group ids, against scikit-learn."""
import numpy as np
import pytest
from sklearn import metrics as skm

from dlnotes import metrics


def problem(seed, n=400, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = rng.normal(0, 1, n) + y
    if ties:
        s = np.round(s, 1)
    w = rng.exponential(1.0, n) * (rng.random(n) > 0.1)  # some zero weights
    return y, s, w


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("ties", [False, True])
def test_weighted_ranking_metrics_match_sklearn(seed, ties):
    y, s, w = problem(seed, ties=ties)
    assert metrics.roc_auc(y, s, sample_weight=w) == pytest.approx(skm.roc_auc_score(y, s, sample_weight=w), abs=1e-12)
    assert metrics.average_precision(y, s, sample_weight=w) == pytest.approx(
        skm.average_precision_score(y, s, sample_weight=w), abs=1e-12)
    fpr, tpr, thr = metrics.roc_curve(y, s, sample_weight=w, drop_intermediate=False)
    rf, rt, rth = skm.roc_curve(y, s, sample_weight=w, drop_intermediate=False)
    np.testing.assert_allclose(fpr, rf, atol=1e-12)
    np.testing.assert_allclose(tpr, rt, atol=1e-12)
    np.testing.assert_array_equal(thr, rth)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("average", ["binary", "micro", "macro", None])
def test_weighted_precision_recall_f1_and_confusion_match_sklearn(seed, average):
    rng = np.random.default_rng(seed)
    k = 2 if average == "binary" else 3
    y, p = rng.integers(0, k, 300), rng.integers(0, k, 300)
    w = rng.exponential(1.0, 300)
    mine = metrics.precision_recall_f1(y, p, average=average, sample_weight=w)
    ref = skm.precision_recall_fscore_support(y, p, average=average, sample_weight=w, zero_division=0.0)[:3]
    for a, b in zip(mine, ref):
        np.testing.assert_allclose(a, b, atol=1e-12)
    np.testing.assert_allclose(metrics.confusion_matrix(y, p, sample_weight=w), skm.confusion_matrix(y, p, sample_weight=w),
                               atol=1e-12)


def test_unit_weights_change_nothing():
    y, s, _ = problem(0, ties=True)
    assert metrics.roc_auc(y, s, sample_weight=np.ones(len(y))) == pytest.approx(metrics.roc_auc(y, s), abs=1e-15)


def test_inverse_sampling_weights_undo_negative_sampling_for_precision():
    rng = np.random.default_rng(3)
    y = (rng.random(200_000) < 0.05).astype(int)
    s = rng.normal(0, 1, len(y)) + 1.5 * y
    pred = (s > 1.5).astype(int)
    full = metrics.precision_recall_f1(y, pred)[0]
    keep = (y == 1) | (rng.random(len(y)) < 0.1)
    sampled = metrics.precision_recall_f1(y[keep], pred[keep])[0]
    corrected = metrics.precision_recall_f1(y[keep], pred[keep], sample_weight=np.where(y[keep] == 1, 1.0, 10.0))[0]
    assert sampled > full + 0.2 and abs(corrected - full) < 0.02


@pytest.mark.parametrize("bad,match", [
    (np.ones(3), "sample_weight must have one weight per sample, got 3 for 4 samples"),
    (np.array([1.0, -1.0, 1.0, 1.0]), "sample_weight must be finite and non-negative"),
    (np.array([1.0, np.nan, 1.0, 1.0]), "sample_weight must be finite and non-negative"),
    (np.array([0.0, 1.0, 0.0, 1.0]), "zero total weight"),
])
def test_bad_sample_weight(bad, match):
    with pytest.raises(ValueError, match=match):
        metrics.roc_auc([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], sample_weight=bad)


def test_int64_scores_beyond_2_53_are_ranked_like_sklearn():
    base = 2**60
    s = np.array([base, base + 1, base + 2, base + 3], dtype=np.int64)
    y = np.array([0, 0, 1, 1])
    assert float(np.float64(s[0])) == float(np.float64(s[3]))  # as float64 they would all tie
    assert metrics.roc_auc(y, s) == skm.roc_auc_score(y, s) == 1.0
    assert metrics.roc_auc_rank(y, s) == 1.0
    assert metrics.average_precision(y, s) == skm.average_precision_score(y, s) == 1.0
    fpr, tpr, _ = metrics.roc_curve(y, s)
    rf, rt, _ = skm.roc_curve(y, s)
    np.testing.assert_array_equal(fpr, rf)
    np.testing.assert_array_equal(tpr, rt)
    assert metrics.group_auc(y, s, np.zeros(4, dtype=int)) == 1.0
    extreme = np.array([np.iinfo(np.int64).min, -1, 0, np.iinfo(np.int64).max])
    assert metrics.roc_auc(y, extreme) == skm.roc_auc_score(y, extreme) == 1.0


def test_group_auc_accepts_string_user_ids():
    rng = np.random.default_rng(5)
    users = rng.integers(0, 30, 600)
    y = rng.integers(0, 2, 600)
    s = rng.normal(0, 1, 600) + y
    names = np.array([f"user-{u:03d}" for u in users])
    for weighting in ["impressions", "clicks", "uniform"]:
        assert metrics.group_auc(y, s, names, weighting=weighting) == metrics.group_auc(y, s, users, weighting=weighting)
    assert metrics.group_auc(y, s, list(names)) == metrics.group_auc(y, s, users)
    assert metrics.group_auc(y, s, names.astype(object)) == metrics.group_auc(y, s, users)


def test_group_auc_mixed_id_types_get_a_clear_error():
    with pytest.raises(TypeError, match="groups must be ids of one sortable type"):
        metrics.group_auc([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], np.array(["a", 1, "b", 2], dtype=object))
