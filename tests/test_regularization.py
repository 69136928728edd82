"""Dropout's law, weight decay against torch.optim, ridge against scikit-learn (float64)."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression, Ridge
from torch import nn

from dlnotes import optim
from dlnotes import regularization as reg


# ---------------------------------------------------------------- dropout
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_zero_fraction_scaling_and_expectation(p):
    torch.manual_seed(0)
    n = 200_000
    h = torch.rand(n, dtype=torch.float64) + 0.5
    out = reg.Dropout(p)(h)
    dropped = out == 0
    # fraction of zeros: binomial, 5 standard deviations
    assert abs(dropped.double().mean().item() - p) < 5 * math.sqrt(p * (1 - p) / n)
    # survivors are scaled by exactly 1/(1-p)
    torch.testing.assert_close(out[~dropped], h[~dropped] / (1 - p), rtol=1e-15, atol=0)
    # E[h'] = h: the mean of h' - h over many units has sd = sqrt(p/(1-p)) * rms(h) / sqrt(n)
    sd = math.sqrt(p / (1 - p)) * h.pow(2).mean().sqrt().item() / math.sqrt(n)
    assert abs((out - h).mean().item()) < 5 * sd


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_matches_nn_dropout_in_distribution(p):
    torch.manual_seed(1)
    h = torch.ones(100_000, dtype=torch.float64)
    ours, ref = reg.Dropout(p)(h), nn.Dropout(p)(h)
    assert set(torch.unique(ours).tolist()) == set(torch.unique(ref).tolist()) == {0.0, 1 / (1 - p)}
    # two independent binomial proportions: 5 sd of their difference
    diff = (ours == 0).double().mean() - (ref == 0).double().mean()
    assert abs(diff.item()) < 5 * math.sqrt(2 * p * (1 - p) / h.numel())


def test_dropout_eval_is_identity_like_nn_dropout():
    h = torch.randn(7, 5, dtype=torch.float64)
    ours, ref = reg.Dropout(0.5).eval(), nn.Dropout(0.5).eval()
    assert torch.equal(ours(h), h) and torch.equal(ref(h), h)
    assert torch.equal(reg.Dropout(0.0)(h), h)


def test_dropout_gradient_is_mask_over_keep_probability():
    torch.manual_seed(2)
    p = 0.3
    h = torch.randn(1000, dtype=torch.float64, requires_grad=True)
    out = reg.Dropout(p)(h)
    out.sum().backward()
    expected = (out.detach() != 0).double() / (1 - p)
    torch.testing.assert_close(h.grad, expected, rtol=0, atol=1e-15)


def test_dropped_hidden_unit_gives_zero_gradient_to_its_weights():
    torch.manual_seed(3)
    lin1, lin2 = nn.Linear(4, 5).double(), nn.Linear(5, 1).double()
    x = torch.randn(1, 4, dtype=torch.float64)
    hidden = reg.Dropout(0.5)(torch.tanh(lin1(x)) + 2.0)  # +2 so only dropout zeroes a unit
    lin2(hidden).sum().backward()
    dropped = hidden[0] == 0
    assert dropped.any() and (~dropped).any()
    assert torch.all(lin1.weight.grad[dropped] == 0) and torch.all(lin2.weight.grad[0, dropped] == 0)
    assert torch.all(lin1.weight.grad[~dropped].abs().sum(1) > 0)


def test_dropout_inplace():
    torch.manual_seed(4)
    h = torch.ones(1000, dtype=torch.float64)
    out = reg.Dropout(0.5, inplace=True)(h)
    assert out.data_ptr() == h.data_ptr() and (h == 0).any()


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan")])
def test_dropout_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\), got"):
        reg.Dropout(p)


def test_dropout_type_errors():
    with pytest.raises(TypeError, match="p must be a float in"):
        reg.Dropout("0.5")
    with pytest.raises(TypeError, match="input must be a torch.Tensor, got list"):
        reg.Dropout(0.5)([1.0])


# ---------------------------------------------------------------- weight decay
def _problem(seed=0, n=32, d=6):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randn(n, generator=g, dtype=torch.float64)
    w0 = torch.randn(d, generator=g, dtype=torch.float64)
    return X, y, w0


def _run(make_opt, penalty=0.0, steps=25, seed=0):
    X, y, w0 = _problem(seed)
    w = w0.clone().requires_grad_(True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = make_opt([w, b])
    for i in range(steps):
        loss = ((X @ w + b - y) ** 2).mean() + torch.sin(w).sum() * 0.1
        if penalty:
            loss = loss + reg.l2_penalty([w, b], penalty)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return torch.cat([w.detach(), b.detach()])


CASES = {
    "adam-l2": (lambda p: optim.Adam(p, lr=0.05, weight_decay=0.1),
                lambda p: torch.optim.Adam(p, lr=0.05, weight_decay=0.1, foreach=False)),
    "adam-betas": (lambda p: optim.Adam(p, lr=0.02, betas=(0.5, 0.9), eps=1e-6, weight_decay=0.3),
                   lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.5, 0.9), eps=1e-6, weight_decay=0.3)),
    "adam-no-decay": (lambda p: optim.Adam(p, lr=0.05), lambda p: torch.optim.Adam(p, lr=0.05)),
    "adam-decoupled": (lambda p: optim.Adam(p, lr=0.05, weight_decay=0.1, decoupled_weight_decay=True),
                       lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1)),
    "adamw": (lambda p: optim.AdamW(p, lr=0.03, weight_decay=0.5),
              lambda p: torch.optim.AdamW(p, lr=0.03, weight_decay=0.5)),
    "adamw-default-decay": (lambda p: optim.AdamW(p), lambda p: torch.optim.AdamW(p)),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adam_matches_torch(name, seed):
    ours, ref = CASES[name]
    torch.testing.assert_close(_run(ours, seed=seed), _run(ref, seed=seed), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_l2_penalty_plus_sgd_equals_sgd_weight_decay(seed):
    a = _run(lambda p: torch.optim.SGD(p, lr=0.05), penalty=0.2, seed=seed)
    b = _run(lambda p: torch.optim.SGD(p, lr=0.05, weight_decay=0.2), seed=seed)
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_l2_penalty_plus_adam_equals_adam_weight_decay_but_not_adamw(seed):
    a = _run(lambda p: torch.optim.Adam(p, lr=0.05), penalty=0.2, seed=seed)
    b = _run(lambda p: torch.optim.Adam(p, lr=0.05, weight_decay=0.2), seed=seed)
    c = _run(lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.2), seed=seed)
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    assert (a - c).abs().max() > 1e-3


def test_l2_penalty_gradient_is_weight_decay_times_theta():
    w = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    reg.l2_penalty([w], 0.7).backward()
    torch.testing.assert_close(w.grad, 0.7 * w.detach(), rtol=1e-15, atol=0)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: reg.l2_penalty([torch.ones(2)], -1.0), ValueError, "weight_decay must be non-negative, got -1.0"),
        (lambda: reg.l2_penalty([], 1.0), ValueError, "params must contain at least one tensor"),
        (lambda: reg.l2_penalty([[1.0]], 1.0), TypeError, "each parameter must be a torch.Tensor"),
    ],
    ids=["l2-neg", "l2-empty", "l2-type"],
)
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------- ridge
@settings(max_examples=30, deadline=None)
@given(n=st.integers(3, 30), d=st.integers(1, 8), alpha=st.floats(1e-3, 100.0), seed=st.integers(0, 10_000))
def test_ridge_matches_sklearn(n, d, alpha, seed):
    rng = np.random.RandomState(seed)
    X, y = rng.randn(n, d), rng.randn(n)
    ours = reg.ridge(torch.tensor(X), torch.tensor(y), alpha).numpy()
    ref = Ridge(alpha=alpha, fit_intercept=False, solver="cholesky").fit(X, y).coef_
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("n, d", [(20, 4), (5, 9)], ids=["tall", "wide-min-norm"])
def test_ridge_alpha_zero_is_least_squares(n, d):
    rng = np.random.RandomState(0)
    X, y = rng.randn(n, d), rng.randn(n)
    ours = reg.ridge(torch.tensor(X), torch.tensor(y), 0.0).numpy()
    np.testing.assert_allclose(ours, LinearRegression(fit_intercept=False).fit(X, y).coef_, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ours, np.linalg.pinv(X) @ y, rtol=1e-9, atol=1e-10)


def test_ridge_shrinks_as_alpha_grows():
    rng = np.random.RandomState(1)
    X, y = torch.tensor(rng.randn(30, 5)), torch.tensor(rng.randn(30))
    norms = [reg.ridge(X, y, a).norm().item() for a in [0.0, 0.1, 1.0, 10.0, 100.0]]
    assert all(a > b for a, b in zip(norms, norms[1:]))


@pytest.mark.parametrize(
    "args, exc, match",
    [
        ((torch.ones(3), torch.ones(3)), ValueError, r"X must be 2-D"),
        ((torch.ones(3, 2), torch.ones(4)), ValueError, r"y must have shape \(3,\)"),
        ((torch.ones(3, 2), torch.ones(3), -1.0), ValueError, "alpha must be non-negative, got -1.0"),
        ((np.ones((3, 2)), torch.ones(3)), TypeError, "X must be a torch.Tensor, got ndarray"),
    ],
    ids=["X-1d", "y-shape", "alpha-neg", "X-type"],
)
def test_ridge_bad_inputs(args, exc, match):
    with pytest.raises(exc, match=match):
        reg.ridge(*args)


# ---------------------------------------------------------------- DropConnect
def test_dropconnect_eval_is_exactly_nn_linear():
    torch.manual_seed(0)
    ours = reg.DropConnectLinear(5, 3, p=0.4, dtype=torch.float64)
    ref = torch.nn.Linear(5, 3, dtype=torch.float64)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(7, 5, dtype=torch.float64)
    assert torch.equal(ours.eval()(x), ref(x))


def test_dropconnect_is_unbiased_and_drops_single_weights():
    torch.manual_seed(1)
    layer = reg.DropConnectLinear(20, 4, p=0.5, dtype=torch.float64)
    x = torch.randn(1, 20, dtype=torch.float64)
    draws = torch.stack([layer(x) for _ in range(4000)])
    expected = torch.nn.functional.linear(x, layer.weight, layer.bias)
    sd = draws.std(0) / 4000 ** 0.5
    assert ((draws.mean(0) - expected).abs() < 5 * sd).all()             # E[y] = W x + b
    layer.weight.grad = None
    layer(x).sum().backward()
    zero = layer.weight.grad == 0
    dropped_share = zero.double().mean().item()
    assert 0.3 < dropped_share < 0.7 and not zero.all(dim=1).any()       # entries dropped, not whole rows


def test_dropconnect_rejects_bad_p():
    with pytest.raises(ValueError, match="DropConnect probability p must be in \\[0, 1\\), got 1.0"):
        reg.DropConnectLinear(3, 2, p=1.0)
    with pytest.raises(TypeError, match="p must be a float"):
        reg.DropConnectLinear(3, 2, p="0.5")
    with pytest.raises(TypeError, match="input must be a torch.Tensor"):
        reg.DropConnectLinear(3, 2)([1.0, 2.0, 3.0])
