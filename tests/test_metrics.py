"""dlnotes.metrics against scikit-learn (and scipy, and brute force) on random problems."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu
from sklearn import metrics as skm

from dlnotes import metrics

TOL = dict(rtol=0, atol=1e-12)


# ------------------------------------------------------------------ problems
def _problem(kind: str, seed: int):
    """Binary labels with both classes and scores of a given flavour."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    if kind == "continuous":
        y = rng.integers(0, 2, n)
        s = rng.normal(size=n) + y * rng.uniform(0, 2)
    elif kind == "heavy_ties":  # 1 to 4 distinct scores
        y = rng.integers(0, 2, n)
        s = rng.integers(0, rng.integers(1, 5), n).astype(float) + 0.5 * y * rng.integers(0, 2, n)
    elif kind == "all_tied":
        y = rng.integers(0, 2, n)
        s = np.full(n, 0.3)
    elif kind == "one_positive":
        n = int(rng.integers(50, 2000))
        y = np.zeros(n, dtype=int)
        y[rng.integers(n)] = 1
        s = rng.random(n)
    elif kind == "one_negative":
        n = int(rng.integers(50, 2000))
        y = np.ones(n, dtype=int)
        y[rng.integers(n)] = 0
        s = np.round(rng.random(n), 1)
    elif kind == "rare_positives":  # 0.5 % positives, ties from rounding
        n = int(rng.integers(1000, 5000))
        y = (rng.random(n) < 0.005).astype(int)
        s = np.round(rng.normal(size=n) + y, 2)
    else:
        raise AssertionError(kind)
    y[0], y[-1] = 0, 1  # both classes present
    return y, s


KINDS = ["continuous", "heavy_ties", "all_tied", "one_positive", "one_negative", "rare_positives"]
CASES = [(kind, seed) for kind in KINDS for seed in range(25)]
CASE_IDS = [f"{kind}-{seed}" for kind, seed in CASES]


@pytest.mark.parametrize("kind,seed", CASES, ids=CASE_IDS)
def test_ranking_metrics_match_sklearn(kind, seed):
    y, s = _problem(kind, seed)
    expected_auc = skm.roc_auc_score(y, s)
    np.testing.assert_allclose(metrics.roc_auc(y, s), expected_auc, **TOL)
    np.testing.assert_allclose(metrics.roc_auc_rank(y, s), expected_auc, **TOL)
    np.testing.assert_allclose(metrics.average_precision(y, s), skm.average_precision_score(y, s), **TOL)
    for drop in (True, False):
        ours = metrics.roc_curve(y, s, drop_intermediate=drop)
        ref = skm.roc_curve(y, s, drop_intermediate=drop)
        for a, b in zip(ours, ref):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, **TOL)
        ours = metrics.precision_recall_curve(y, s, drop_intermediate=drop)
        ref = skm.precision_recall_curve(y, s, drop_intermediate=drop)
        for a, b in zip(ours, ref):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, **TOL)


@pytest.mark.parametrize("kind,seed", CASES, ids=CASE_IDS)
def test_two_auc_definitions_agree_exactly(kind, seed):
    y, s = _problem(kind, seed)
    assert metrics.roc_auc(y, s) == metrics.roc_auc_rank(y, s)


@pytest.mark.parametrize("kind", KINDS)
def test_rank_auc_is_the_pair_probability(kind):
    y, s = _problem(kind, 99)
    pos, neg = s[y == 1][:, None], s[y == 0][None, :]
    pairs = ((pos > neg) + 0.5 * (pos == neg)).mean()
    np.testing.assert_allclose(metrics.roc_auc_rank(y, s), pairs, **TOL)
    u = mannwhitneyu(s[y == 1], s[y == 0]).statistic / pos.size / neg.size
    np.testing.assert_allclose(metrics.roc_auc_rank(y, s), u, **TOL)


def test_large_problem_with_ties_matches_sklearn():
    rng = np.random.default_rng(7)
    y = (rng.random(200_000) < 0.01).astype(np.int8)
    s = np.round(rng.random(200_000) + 0.2 * y, 3).astype(np.float32)
    expected = skm.roc_auc_score(y, s)
    assert abs(metrics.roc_auc(y, s) - expected) < 1e-12
    assert metrics.roc_auc_rank(y, s) == metrics.roc_auc(y, s)


# ------------------------------------------------------------------ input types and devices
def _devices():
    devs = ["cpu"]
    if torch.cuda.is_available():
        devs.append("cuda")
    return devs


@pytest.mark.parametrize("device", _devices())
def test_accepts_lists_numpy_and_tensors(device):
    y, s = _problem("heavy_ties", 3)
    expected = skm.roc_auc_score(y, s)
    inputs = [
        (y.tolist(), s.tolist()),
        (y.astype(bool), s.astype(np.float32)),
        (torch.tensor(y, device=device), torch.tensor(s, device=device)),
        (torch.tensor(y, dtype=torch.bool, device=device), torch.tensor(s, dtype=torch.float32, device=device)),
        (y, torch.tensor(s, device=device)),
    ]
    for yy, ss in inputs:
        assert abs(metrics.roc_auc(yy, ss) - expected) < 1e-12
        assert metrics.roc_auc_rank(yy, ss) == metrics.roc_auc(yy, ss)
        assert isinstance(metrics.roc_auc(yy, ss), float)
        fpr, tpr, thr = metrics.roc_curve(yy, ss)
        assert isinstance(fpr, np.ndarray) and fpr.dtype == np.float64
        groups = torch.arange(len(y)) % 3
        assert isinstance(metrics.group_auc(yy, ss, groups.tolist()), float)


def test_accepts_read_only_big_endian_and_grad_tracking_inputs():
    y, s = _problem("continuous", 4)
    expected = skm.roc_auc_score(y, s)
    read_only = s.copy()
    read_only.flags.writeable = False
    assert metrics.roc_auc(y, read_only) == pytest.approx(expected, abs=1e-12)
    assert metrics.roc_auc(y.astype(">i4"), s.astype(">f8")) == pytest.approx(expected, abs=1e-12)
    assert metrics.roc_auc(y.astype(np.uint32), s.astype(np.float16).astype(np.float64)) == pytest.approx(
        skm.roc_auc_score(y, s.astype(np.float16)), abs=1e-12
    )
    assert metrics.group_auc(y.astype(np.uint16), s, np.arange(len(y), dtype=np.uint64) % 2) > 0
    assert metrics.roc_auc(y, torch.tensor(s, requires_grad=True)) == pytest.approx(expected, abs=1e-12)


def test_float32_scores_are_compared_as_float32():
    # 1 + 1e-8 rounds to 1.0 in float32: the two scores tie, as in sklearn on the same array
    s = np.array([1.0, 1.0 + 1e-8, 0.5], dtype=np.float32)
    y = np.array([0, 1, 0])
    assert metrics.roc_auc(y, s) == skm.roc_auc_score(y, s) == 0.75


# ------------------------------------------------------------------ properties
labels_and_int_scores = st.integers(2, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda v: 0 < sum(v) < len(v)),
        st.lists(st.integers(-20, 20), min_size=n, max_size=n),
    )
)


@settings(max_examples=150, deadline=None)
@given(labels_and_int_scores, st.floats(0.01, 100), st.floats(-1e3, 1e3))
def test_auc_invariant_under_strictly_increasing_maps(problem, scale, shift):
    y, s = (np.array(v) for v in problem)
    base = metrics.roc_auc(y, s)
    for mapped in (s + shift, scale * s + shift, np.exp(s / 10.0), s.astype(float) ** 3, np.arctan(s)):
        assert metrics.roc_auc(y, mapped) == base
        assert metrics.roc_auc_rank(y, mapped) == base
    assert 0.0 <= base <= 1.0


@settings(max_examples=150, deadline=None)
@given(labels_and_int_scores)
def test_auc_symmetries(problem):
    y, s = (np.array(v) for v in problem)
    auc = metrics.roc_auc(y, s)
    # reversing the ranking, or swapping the classes, gives 1 - AUC; doing both gives AUC
    assert math.isclose(metrics.roc_auc(y, -s), 1 - auc, abs_tol=1e-15)
    assert math.isclose(metrics.roc_auc(1 - y, s), 1 - auc, abs_tol=1e-15)
    assert metrics.roc_auc(1 - y, -s) == auc
    # the AUC is the area under roc_curve's points
    fpr, tpr, _ = metrics.roc_curve(y, s)
    assert math.isclose(np.trapezoid(tpr, fpr), auc, abs_tol=1e-12)


@settings(max_examples=100, deadline=None)
@given(labels_and_int_scores, st.integers(1, 6), st.randoms(use_true_random=False))
def test_group_auc_matches_a_loop(problem, n_groups, rnd):
    y, s = (np.array(v) for v in problem)
    groups = np.array([rnd.randrange(n_groups) for _ in y]) * 7 - 3  # arbitrary ids
    for weighting in ("impressions", "clicks", "uniform"):
        aucs, weights, skipped = [], [], 0
        for g in np.unique(groups):
            mask = groups == g
            if len(np.unique(y[mask])) < 2:
                skipped += 1
                continue
            aucs.append(skm.roc_auc_score(y[mask], s[mask]))
            weights.append({"impressions": mask.sum(), "clicks": y[mask].sum(), "uniform": 1}[weighting])
        if not aucs:
            with pytest.raises(ValueError, match="single class"):
                metrics.group_auc(y, s, groups, weighting=weighting)
            continue
        gauc, used, n_skipped = metrics.group_auc(y, s, groups, weighting=weighting, return_counts=True)
        assert abs(gauc - np.average(aucs, weights=weights)) < 1e-12
        assert (used, n_skipped) == (len(aucs), skipped)


@settings(max_examples=60, deadline=None)
@given(labels_and_int_scores, st.lists(st.floats(-50, 50), min_size=3, max_size=3))
def test_group_auc_ignores_per_group_shifts(problem, shifts):
    y, s = (np.array(v) for v in problem)
    groups = np.arange(len(y)) % 3
    assume(any(0 < y[groups == g].sum() < (groups == g).sum() for g in range(3)))
    shifted = s + np.array(shifts)[groups]
    assert metrics.group_auc(y, shifted, groups) == pytest.approx(metrics.group_auc(y, s, groups), abs=1e-14)


def test_group_auc_with_one_group_is_auc():
    y, s = _problem("heavy_ties", 5)
    assert metrics.group_auc(y, s, np.zeros(len(y))) == metrics.roc_auc(y, s)


# ------------------------------------------------------------------ thresholded metrics
@pytest.mark.parametrize("seed", range(30))
def test_confusion_matrix_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 200)), int(rng.integers(2, 6))
    y_true, y_pred = rng.integers(-1, k, n), rng.integers(0, k + 1, n)
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred), skm.confusion_matrix(y_true, y_pred))
    labels = rng.permutation(np.arange(-2, k + 2))[: k + 1]
    if np.isin(labels, y_true).any():
        np.testing.assert_array_equal(
            metrics.confusion_matrix(y_true, y_pred, labels=labels),
            skm.confusion_matrix(y_true, y_pred, labels=labels),
        )
    yb, pb = rng.integers(0, 2, n), rng.integers(0, 2, n)
    np.testing.assert_array_equal(
        metrics.confusion_matrix(yb.astype(bool), pb.astype(bool)), skm.confusion_matrix(yb.astype(bool), pb.astype(bool))
    )
    (tn, fp), (fn, tp) = metrics.confusion_matrix(yb, pb, labels=[0, 1])
    assert (tn, fp, fn, tp) == (
        ((yb == 0) & (pb == 0)).sum(), ((yb == 0) & (pb == 1)).sum(),
        ((yb == 1) & (pb == 0)).sum(), ((yb == 1) & (pb == 1)).sum(),
    )


@pytest.mark.parametrize("zero_division", [0.0, 1.0, np.nan], ids=["zd0", "zd1", "zdnan"])
@pytest.mark.parametrize("average", ["binary", "micro", "macro", None], ids=str)
@pytest.mark.parametrize("seed", range(12))
def test_precision_recall_f1_match_sklearn(seed, average, zero_division):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    k = 2 if average == "binary" else int(rng.integers(2, 5))
    y_true = rng.integers(0, k, n)
    # some classes never predicted, some predictions all one class: exercises 0/0
    y_pred = rng.integers(0, k, n) if seed % 3 else np.full(n, seed % k)
    ours = metrics.precision_recall_f1(y_true, y_pred, average=average, zero_division=zero_division)
    ref = skm.precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=zero_division)[:3]
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), **TOL)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40))
def test_micro_scores_equal_accuracy_and_f1_is_harmonic_mean(pairs):
    y_true, y_pred = (np.array(v) for v in zip(*pairs))
    accuracy = (y_true == y_pred).mean()
    for value in metrics.precision_recall_f1(y_true, y_pred, average="micro"):
        assert math.isclose(value, accuracy, abs_tol=1e-15)
    p, r, f1 = metrics.precision_recall_f1(y_true, y_pred, average=None, zero_division=np.nan)
    defined = (p > 0) & (r > 0)
    np.testing.assert_allclose(f1[defined], 2 / (1 / p[defined] + 1 / r[defined]), rtol=1e-14)


# ------------------------------------------------------------------ bad input
RANKING = [metrics.roc_curve, metrics.roc_auc, metrics.roc_auc_rank,
           metrics.precision_recall_curve, metrics.average_precision]
RANKING_IDS = [f.__name__ for f in RANKING]


@pytest.mark.parametrize("fn", RANKING + [lambda y, s: metrics.group_auc(y, s, np.zeros(len(s)))],
                         ids=RANKING_IDS + ["group_auc"])
@pytest.mark.parametrize(
    "y,s,message",
    [
        ([0, 1, 1], [0.1, 0.2], "same length, got 3 and 2"),
        ([0, 1, 1], [0.1, np.nan, 0.3], "finite, got 1 NaN and 0 infinite"),
        ([0, 1, 1], [0.1, np.inf, -np.inf], "finite, got 0 NaN and 2 infinite"),
        ([0, 1, 2], [0.1, 0.2, 0.3], r"binary \(only 0 and 1\), got values \[0, 1, 2\]"),
        ([-1, 1, 1], [0.1, 0.2, 0.3], r"binary .* got values \[-1, 1\]"),
        ([0.0, 0.5, 1.0], [0.1, 0.2, 0.3], r"binary .* got values \[0.0, 0.5, 1.0\]"),
        ([], [], "y_score must not be empty"),
        ([[0, 1]], [[0.1, 0.2]], r"y_score must be 1-D, got shape \(1, 2\)"),
        ([0, 0, 0], [0.1, 0.2, 0.3], r"only one class, 3 negatives \(0\)|every one of the 1 groups contains a single class"),
    ],
    ids=["lengths", "nan", "inf", "three_labels", "minus_one", "fractional", "empty", "2d", "all_negative"],
)
def test_ranking_metrics_reject_bad_input(fn, y, s, message):
    with pytest.raises(ValueError, match=message):
        fn(y, s)


@pytest.mark.parametrize("fn", [metrics.roc_curve, metrics.roc_auc, metrics.roc_auc_rank], ids=str)
def test_roc_needs_a_negative(fn):
    with pytest.raises(ValueError, match=r"only one class, 2 positives \(1\); this metric needs both"):
        fn([1, 1], [0.1, 0.2])


def test_precision_recall_curve_allows_all_positive_but_not_all_negative():
    precision, recall, _ = metrics.precision_recall_curve([1, 1], [0.1, 0.2])
    np.testing.assert_array_equal(precision, [1, 1, 1])
    assert metrics.average_precision([1, 1], [0.1, 0.2]) == 1.0
    with pytest.raises(ValueError, match="needs at least one positive"):
        metrics.average_precision([0, 0], [0.1, 0.2])


@pytest.mark.parametrize(
    "call,error,message",
    [
        (lambda: metrics.roc_auc(["a", "b"], [0.1, 0.2]), TypeError, "y_true must be numeric .* got dtype <U1"),
        (lambda: metrics.roc_auc([0, 1], [[0.1], [0.2, 0.3]]), ValueError, "y_score must be a 1-D array of numbers"),
        (lambda: metrics.roc_auc([0, 1], torch.tensor([1j, 2j])), TypeError, "y_score must be real"),
        (lambda: metrics.roc_auc(np.int64(1), [0.2]), ValueError, r"y_true must be 1-D, got shape \(\)"),
        (lambda: metrics.roc_curve([0, 1], [0.1, 0.2], drop_intermediate=1), TypeError, "drop_intermediate must be a bool, got int"),
        (lambda: metrics.precision_recall_curve([0, 1], [0.1, 0.2], drop_intermediate="no"), TypeError, "drop_intermediate must be a bool"),
        (lambda: metrics.group_auc([0, 1], [0.1, 0.2], [0, 0], weighting="users"), ValueError, "weighting must be one of .* got 'users'"),
        (lambda: metrics.group_auc([0, 1], [0.1, 0.2], [0, 0], return_counts=1), TypeError, "return_counts must be a bool, got int"),
        (lambda: metrics.group_auc([0, 1], [0.1, 0.2], [0]), ValueError, "y_true and groups must have the same length, got 2 and 1"),
        (lambda: metrics.group_auc([0, 1], [0.1, 0.2], [0.0, np.nan]), ValueError, "groups must be finite"),
        (lambda: metrics.group_auc([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], [0, 1, 2, 3]), ValueError, "every one of the 4 groups contains a single class"),
        (lambda: metrics.confusion_matrix([0, 1], [0, 1, 1]), ValueError, "y_true and y_pred must have the same length, got 2 and 3"),
        (lambda: metrics.confusion_matrix([0, 1.5], [0, 1]), ValueError, "y_true must hold class labels, got non-integer 1.5"),
        (lambda: metrics.confusion_matrix([0, 1], [0, np.nan]), ValueError, "y_pred must hold finite class labels"),
        (lambda: metrics.confusion_matrix([0, 1], [0, 1], labels=[1, 1]), ValueError, r"labels must be unique, got \[1, 1\]"),
        (lambda: metrics.confusion_matrix([0, 1], [0, 1], labels=[5, 6]), ValueError, r"labels \[5, 6\] must appear in y_true"),
        (lambda: metrics.confusion_matrix([], []), ValueError, "y_true must not be empty"),
        (lambda: metrics.precision_recall_f1([0, 1], [0, 1], average="weighted"), ValueError, "average must be one of .* got 'weighted'"),
        (lambda: metrics.precision_recall_f1([0, 1], [0, 1], zero_division="warn"), ValueError, "zero_division must be 0.0, 1.0 or nan, got 'warn'"),
        (lambda: metrics.precision_recall_f1([0, 1], [0, 1], zero_division=0.5), ValueError, "zero_division must be 0.0, 1.0 or nan, got 0.5"),
        (lambda: metrics.precision_recall_f1([0, 1], [0, 1], zero_division=True), ValueError, "zero_division must be .* got True"),
        (lambda: metrics.precision_recall_f1([0, 2], [0, 1]), ValueError, r"y_true must be binary .* got values \[0, 2\]"),
        (lambda: metrics.precision_recall_f1([0, 1], [0, 2]), ValueError, r"y_pred must be binary .* got values \[0, 2\]"),
        (lambda: metrics.precision_recall_f1([0, 1], [1]), ValueError, "same length, got 2 and 1"),
    ],
    ids=["strings", "ragged", "complex", "scalar", "drop_roc", "drop_pr", "weighting", "return_counts",
         "group_length", "group_nan", "all_groups_single", "cm_length", "cm_fraction", "cm_nan",
         "cm_labels_dup", "cm_labels_absent", "cm_empty", "average", "zd_warn", "zd_half", "zd_bool",
         "prf_true_not_binary", "prf_pred_not_binary", "prf_length"],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
