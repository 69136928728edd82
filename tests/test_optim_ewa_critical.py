"""ewa against its closed form (and pandas, and Adam's state); the Hessian test on closed forms."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnotes import optim
from dlnotes.optim import classify_critical_point, ewa

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)


def closed_form(xs: np.ndarray, beta: float, bias_correction: bool) -> np.ndarray:
    """v_t = (1 - beta) sum_i beta^(t-i) x_i, written as a weight matrix."""
    T = len(xs)
    t, i = np.meshgrid(np.arange(1, T + 1), np.arange(1, T + 1), indexing="ij")
    W = np.where(i <= t, (1 - beta) * beta ** np.maximum(t - i, 0).astype(float), 0.0)
    if bias_correction:
        W = W / (1 - beta ** np.arange(1, T + 1))[:, None]
    return W @ xs


@settings(max_examples=40, deadline=None)
@given(xs=st.lists(finite, min_size=1, max_size=40), beta=st.floats(0, 0.999),
       bias_correction=st.booleans())
def test_ewa_matches_the_closed_form_weights(xs, beta, bias_correction):
    got = ewa(xs, beta, bias_correction=bias_correction).numpy()
    want = closed_form(np.array(xs), beta, bias_correction)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * (1 + np.abs(xs).max()))


@settings(max_examples=30, deadline=None)
@given(c=finite, T=st.integers(1, 60), beta=st.floats(0, 0.999))
def test_bias_corrected_ewa_of_a_constant_is_the_constant(c, T, beta):
    got = ewa([c] * T, beta)
    assert torch.allclose(got, torch.full((T,), c, dtype=torch.float64), rtol=1e-9, atol=1e-9)
    raw = ewa([c] * T, beta, bias_correction=False)
    want = c * (1 - beta ** torch.arange(1, T + 1, dtype=torch.float64))
    assert torch.allclose(raw, want, rtol=1e-9, atol=1e-9)


def test_ewa_matches_pandas_adjusted_ewm():
    xs = np.random.default_rng(0).normal(size=50)
    want = pd.Series(xs).ewm(alpha=0.1, adjust=True).mean().to_numpy()
    np.testing.assert_allclose(ewa(xs, 0.9).numpy(), want, rtol=1e-12)


def test_ewa_is_adams_first_moment():
    g = torch.randn(30, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = optim.Adam([x], lr=0.01, betas=(0.8, 0.99))
    for t in range(30):
        x.grad = g[t]
        opt.step()
    assert torch.allclose(opt.state[x]["exp_avg"], ewa(g, 0.8, bias_correction=False)[-1], rtol=1e-12)
    assert torch.allclose(opt.state[x]["exp_avg_sq"], ewa(g**2, 0.99, bias_correction=False)[-1],
                          rtol=1e-12)


def test_ewa_keeps_shape_and_tensor_input():
    xs = torch.randn(7, 2, 3, dtype=torch.float64)
    out = ewa(xs, 0.5)
    assert out.shape == xs.shape and out.dtype == torch.float64
    assert torch.equal(ewa(xs, 0.0), xs)


@pytest.mark.parametrize("xs, beta, kwargs, exc, message", [
    ([1.0, 2.0], 1.0, {}, ValueError, r"beta must be in \[0, 1\), got 1.0"),
    ([1.0, 2.0], -0.1, {}, ValueError, r"beta must be in \[0, 1\), got -0.1"),
    ([1.0], "0.9", {}, TypeError, "beta must be a real number, got str"),
    ([], 0.9, {}, ValueError, "xs must have at least one entry"),
    (torch.tensor(3.0), 0.9, {}, ValueError, "xs must have at least one entry"),
    ("abc", 0.9, {}, TypeError, "xs must be a tensor, array or list, got str"),
    ([1.0], 0.9, {"bias_correction": 1}, TypeError, "bias_correction must be a bool"),
])
def test_ewa_rejects_bad_inputs(xs, beta, kwargs, exc, message):
    with pytest.raises(exc, match=message):
        ewa(xs, beta, **kwargs)


def _x(*values):
    return torch.tensor(values, dtype=torch.float64)


@pytest.mark.parametrize("f, x, kind", [
    (lambda z: (z**2).sum(), _x(0.0, 0.0), "minimum"),
    (lambda z: -(z**2).sum(), _x(0.0, 0.0), "maximum"),
    (lambda z: z[0] ** 2 - z[1] ** 2, _x(0.0, 0.0), "saddle"),
    (lambda z: z[0] * z[1], _x(0.0, 0.0), "saddle"),
    (lambda z: z[0] ** 4, _x(0.0), "degenerate"),          # a minimum the test cannot see
    (lambda z: -z[0] ** 4, _x(0.0), "degenerate"),         # a maximum
    (lambda z: z[0] ** 3, _x(0.0), "degenerate"),          # neither
    (lambda z: z[0] ** 3, _x(1.0), "not critical"),
    (lambda z: (1 - z[0]) ** 2 + 100 * (z[1] - z[0] ** 2) ** 2, _x(1.0, 1.0), "minimum"),
    (lambda z: z[0] ** 2 + z[1] ** 3, _x(0.0, 0.0), "degenerate"),
])
def test_closed_form_critical_points(f, x, kind):
    assert classify_critical_point(f, x).kind == kind


def test_x_cos_pi_x_has_local_and_global_minima_on_minus1_2():
    """Seed C's example: f(x) = x cos(pi x) on [-1, 2]; find the critical points by Newton."""
    f = lambda z: (z * torch.cos(math.pi * z)).sum()  # noqa: E731
    kinds = {}
    for start in (-0.3, 0.6, 1.1):
        x = torch.tensor([start], dtype=torch.float64)
        for _ in range(50):
            x = x - torch.func.grad(f)(x) / torch.func.hessian(f)(x)[0]
        kinds[round(x.item(), 4)] = (classify_critical_point(f, x).kind, f(x).item())
    minima = {k: v[1] for k, v in kinds.items() if v[0] == "minimum"}
    assert len(minima) == 2 and any(v[0] == "maximum" for v in kinds.values())
    local, best = sorted(minima.values(), reverse=True)
    assert best < local                       # one local minimum is not the global one


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 6))
def test_quadratic_hessian_eigenvalues_are_those_of_A(seed, n):
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(n, n, dtype=torch.float64, generator=g)
    A = (M + M.T) / 2
    result = classify_critical_point(lambda z: 0.5 * z @ A @ z, torch.zeros(n, dtype=torch.float64))
    assert torch.allclose(result.eigenvalues, torch.linalg.eigvalsh(A), atol=1e-10)
    eig = torch.linalg.eigvalsh(A)
    expected = ("minimum" if eig.min() > 1e-6 else "maximum" if eig.max() < -1e-6
                else "saddle" if eig.min() < -1e-6 < 1e-6 < eig.max() else "degenerate")
    assert result.kind == expected


@pytest.mark.parametrize("f, x, kwargs, exc, message", [
    ("f", _x(0.0), {}, TypeError, "f must be callable, got str"),
    (lambda z: z.sum(), [0.0], {}, TypeError, "x must be a torch.Tensor, got list"),
    (lambda z: z.sum(), torch.tensor([1, 2]), {}, ValueError, "floating-point dtype"),
    (lambda z: z.sum(), torch.zeros(2, 2, dtype=torch.float64), {}, ValueError, "1-D"),
    (lambda z: z, _x(0.0, 1.0), {}, ValueError, "f must return a scalar tensor"),
    (lambda z: z.sum(), _x(0.0), {"atol": 0}, ValueError, "atol must be positive, got 0"),
])
def test_classify_rejects_bad_inputs(f, x, kwargs, exc, message):
    with pytest.raises(exc, match=message):
        classify_critical_point(f, x, **kwargs)
