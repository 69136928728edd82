"""Fixes found by the robustness sweep in the modules merged after it (each also a sweep case)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dlnotes import auc_inference, calibration, drills, lr_experiments, metrics
from dlnotes.hparams import digits, gp, space
from dlnotes.precision import fp8

Y = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1])
S = torch.tensor([0.1, 0.8, 0.35, 0.4, 0.9, 0.2, 0.6, 0.7], dtype=torch.float64)


def test_a_float32_level_gives_the_float64_interval_of_its_value():
    want = auc_inference.auc_confidence_interval(Y, S, level=float(np.float32(0.9)))
    assert auc_inference.auc_confidence_interval(Y, S, level=np.float32(0.9)) == want  # exactly: no float32 quantile


def test_delong_test_names_the_score_argument_of_the_wrong_length():
    with pytest.raises(ValueError, match="y_score_2"):
        auc_inference.delong_test(Y, S, S[:5])


@pytest.mark.parametrize("call", [
    lambda: metrics.precision_recall_f1(Y, Y, zero_division=np.float32(1.0)),
    lambda: auc_inference.bootstrap_auc(Y, S, n_boot=np.int64(5), seed=np.int64(1)),
    lambda: calibration.calibration_curve(Y, S, n_bins=np.int64(3)),
    lambda: calibration.correct_negative_sampling(S, np.float32(0.5)),
    lambda: calibration.log_loss(Y, S, eps=np.float64(1e-7)),
    lambda: fp8.per_tensor_scale(S, "e4m3", margin=np.int64(1)),
    lambda: drills.list(np.int64(9)),
    lambda: digits.mlp(np.int64(4), np.float32(0.25)),
])
def test_numpy_scalars_are_accepted(call):
    call()


@pytest.mark.parametrize("call, name", [
    (lambda: calibration.log_loss(Y, S, eps="1e-7"), "eps"),
    (lambda: auc_inference.bootstrap_auc(Y, S, n_boot=5, seed=-1), "seed"),
    (lambda: drills.list(9.5), "chapters"),
    (lambda: digits.mlp(0), "width"),
    (lambda: digits.mlp(4, dropout=True), "dropout"),
    (lambda: gp.RBF(True), "length_scale"),
    (lambda: gp.RBF(0.5)(np.ones((2, 2, 2)), np.ones((2, 2))), "A"),
    (lambda: gp.expected_improvement(torch.zeros(2), torch.ones(2), best="0.2"), "best"),
    (lambda: space.Float(0.0, 1.0).from_unit(float("nan")), "u"),
    (lambda: gp.fit_kernel(np.ones((4, 2)), np.ones((1, 4))), "y"),
])
def test_bad_arguments_are_refused_by_name(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()


def test_expected_improvement_computes_in_float64_for_a_float32_xi():
    mean, std = torch.tensor([0.0, 1.0], dtype=torch.float64), torch.tensor([1.0, 0.5], dtype=torch.float64)
    want = gp.expected_improvement(mean, std, 0.2, xi=float(np.float32(0.1)))
    torch.testing.assert_close(gp.expected_improvement(mean, std, 0.2, xi=np.float32(0.1)), want, rtol=0, atol=0)


def test_rbf_takes_lists_as_the_tensor_they_mean():
    A = np.random.default_rng(0).random((4, 2))
    torch.testing.assert_close(gp.RBF(0.7)(A.tolist(), A.tolist()), gp.RBF(0.7)(torch.tensor(A), torch.tensor(A)))


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(0.5), torch.nn.Linear(4, 2))


@pytest.mark.parametrize("training", [True, False])
def test_training_and_evaluation_helpers_leave_the_model_in_its_mode(training):
    X = torch.randn(16, 3, generator=torch.Generator().manual_seed(0))
    y = (X[:, 0] > 0).long()
    for run in (lambda m: lr_experiments.fit(m, torch.optim.SGD(m.parameters(), lr=0.1), X, y, 2, batch_size=8),
                lambda m: lr_experiments.lr_range_test(m, lambda ps, lr: torch.optim.SGD(ps, lr=lr), X, y, steps=3,
                                                       batch_size=8),
                lambda m: digits.accuracy(m, X, y)):
        model = _net().train(training)
        run(model)
        assert all(m.training is training for m in model.modules())


def test_fit_refuses_float_class_labels_by_name():
    model = _net()
    X = torch.randn(8, 3)
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        lr_experiments.fit(model, torch.optim.SGD(model.parameters(), lr=0.1), X, torch.zeros(8), 1)
