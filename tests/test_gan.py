"""dlnotes.gan against torch on random inputs (float64), plus the metric and data definitions."""
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnotes.gan import data, losses, metrics, spectral


# ---------------------------------------------------------------- data
def test_ring_has_eight_distinct_unit_modes_at_multiples_of_45_degrees():
    mu = data.ring_centers()
    assert mu.shape == (8, 2)
    assert torch.cdist(mu, mu).add(torch.eye(8) * 10).min() > 0.7  # all distinct (side 2 sin(pi/8)=0.765)
    torch.testing.assert_close(mu.norm(dim=1), torch.ones(8, dtype=torch.float64))
    angles = torch.atan2(mu[:, 1], mu[:, 0]) % (2 * math.pi)
    torch.testing.assert_close(angles, 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8)


def test_linspace_ring_bug_gives_seven_modes_and_ours_does_not():
    angle = torch.linspace(0, 2 * math.pi, 8, dtype=torch.float64)
    buggy = torch.stack([angle.cos(), angle.sin()], 1)
    assert len(torch.unique(buggy.round(decimals=6), dim=0)) == 7
    assert len(torch.unique(data.ring_centers().round(decimals=6), dim=0)) == 8


def test_grid_is_the_25_points_of_minus4_to_4_step_2():
    mu = data.grid_centers()
    expected = {(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {tuple(int(round(float(c))) for c in row) for row in mu} == expected
    torch.testing.assert_close(mu, mu.round())


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_centers_are_built_once_but_a_caller_cannot_change_them(name):
    first = data.centers(name)
    first.add_(100.0)
    fresh = {"ring": data.ring_centers, "grid": data.grid_centers}[name]()
    assert torch.equal(data.centers(name), fresh)
    x = data.sample_mixture(name, 500, torch.Generator().manual_seed(0), dtype=torch.float64)
    assert float(torch.cdist(x, fresh).min(1).values.max()) < 6 * data.BENCHMARKS[name]["std"]


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_samples_have_the_published_std_and_equal_mode_weights(name):
    x = data.sample_mixture(name, 40000, torch.Generator().manual_seed(0), dtype=torch.float64)
    mu = data.centers(name)
    d, k = torch.cdist(x, mu).min(1)
    std = data.BENCHMARKS[name]["std"]
    residual = x - mu[k]
    assert abs(float(residual.std()) - std) < 0.02 * std
    freq = torch.bincount(k, minlength=len(mu)).double() / len(x)
    assert float((freq - 1 / len(mu)).abs().max()) < 0.01
    m = metrics.mode_metrics(x, mu, std)
    assert m["modes"] == len(mu) and m["high_quality"] > 0.98 and m["reverse_kl"] < 0.005


def test_digits_tanh_scaling_is_minus1_to_1():
    x, y = data.digits("tanh")
    assert x.shape == (1797, 64) and float(x.min()) == -1.0 and float(x.max()) == 1.0
    raw, _ = data.digits("raw")
    torch.testing.assert_close(x, raw / 8 - 1)


@pytest.mark.parametrize("call, match", [
    (lambda: data.ring_centers(0), "n_modes"), (lambda: data.ring_centers(2.5), "n_modes"),
    (lambda: data.ring_centers(8, radius=-1.0), "radius"), (lambda: data.grid_centers(0), "side"),
    (lambda: data.grid_centers(5, spacing=0.0), "spacing"), (lambda: data.centers("moons"), "name"),
    (lambda: data.sample_mixture("ring", 0), "n"), (lambda: data.sample_mixture("ring", 3.0), "n"),
    (lambda: data.digits("minmax"), "scale"),
])
def test_data_rejects_bad_inputs(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# ---------------------------------------------------------------- metrics
def _at_modes(idx, std, n=2500, seed=0):
    mu = data.ring_centers()
    g = torch.Generator().manual_seed(seed)
    k = torch.as_tensor(idx)[torch.randint(len(idx), (n,), generator=g)]
    return mu[k] + std * torch.randn(n, 2, generator=g, dtype=torch.float64), mu


def test_metrics_on_perfect_samples():
    x, mu = _at_modes(list(range(8)), 0.0)
    m = metrics.mode_metrics(x, mu, 0.01)
    assert m == {**m, "modes": 8, "high_quality": 1.0}
    assert m["reverse_kl"] < 0.01


def test_metrics_on_fully_collapsed_samples():
    x, mu = _at_modes([3], 0.005)
    m = metrics.mode_metrics(x, mu, 0.01)
    assert m["modes"] == 1 and m["high_quality"] > 0.99
    assert m["reverse_kl"] == pytest.approx(math.log(8))


def test_metrics_on_half_the_modes():
    x, mu = _at_modes([0, 2, 4, 6], 0.0)
    m = metrics.mode_metrics(x, mu, 0.01)
    assert m["modes"] == 4 and m["high_quality"] == 1.0
    assert m["reverse_kl"] == pytest.approx(math.log(2), abs=0.01)


def test_metrics_on_all_off_mode_samples():
    x = torch.zeros(2500, 2, dtype=torch.float64)  # the ring's centre: distance 1 = 100 std
    m = metrics.mode_metrics(x, data.ring_centers(), 0.01)
    assert m["modes"] == 0 and m["high_quality"] == 0.0 and m["reverse_kl"] == math.inf


def test_high_quality_boundary_is_three_std():
    mu = data.ring_centers()
    x = mu[:1] + torch.tensor([[0.0299, 0.0], [0.0301, 0.0]], dtype=torch.float64)
    m = metrics.mode_metrics(x, mu, 0.01)
    assert m["high_quality"] == 0.5 and m["modes"] == 1


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 7), min_size=1, max_size=200))
def test_reverse_kl_matches_direct_formula_on_exact_mode_samples(ks):
    mu = data.ring_centers()
    m = metrics.mode_metrics(mu[torch.tensor(ks)], mu, 0.01)
    p = torch.bincount(torch.tensor(ks), minlength=8).double() / len(ks)
    expected = sum(float(q * math.log(q * 8)) for q in p if q > 0)
    assert m["reverse_kl"] == pytest.approx(expected, abs=1e-12)
    assert m["modes"] == len(set(ks)) and 0 <= m["reverse_kl"] <= math.log(8) + 1e-12


@pytest.mark.parametrize("args, match", [
    (([[0.0, 0.0]], data.ring_centers(), 0.01), "torch.Tensor"),
    ((torch.zeros(3, 3), data.ring_centers(), 0.01), "share d"),
    ((torch.zeros(0, 2), data.ring_centers(), 0.01), "non-empty"),
    ((torch.zeros(3, 2), data.ring_centers(), 0.0), "std"),
])
def test_metrics_reject_bad_inputs(args, match):
    with pytest.raises((ValueError, TypeError), match=match):
        metrics.mode_metrics(*args)


# ---------------------------------------------------------------- losses
def _logits(seed, n=16):
    g = torch.Generator().manual_seed(seed)
    return (3 * torch.randn(n, 1, generator=g, dtype=torch.float64),
            3 * torch.randn(n, 1, generator=g, dtype=torch.float64))


def _reference_d(loss, r, f, a=1.0, b=0.0):
    a = torch.as_tensor(a, dtype=r.dtype).expand_as(r)
    b = torch.as_tensor(b, dtype=f.dtype).expand_as(f)
    if loss in ("minimax", "nonsaturating"):
        return F.binary_cross_entropy_with_logits(r, a) + F.binary_cross_entropy_with_logits(f, b)
    if loss == "least_squares":
        return 0.5 * (F.mse_loss(r, a) + F.mse_loss(f, b))
    if loss == "hinge":
        return F.relu(1 - r).mean() + F.relu(1 + f).mean()
    return f.mean() - r.mean()


def _reference_g(loss, f):
    if loss == "minimax":
        return torch.log(1 - torch.sigmoid(f)).mean()
    if loss == "nonsaturating":
        return F.binary_cross_entropy_with_logits(f, torch.ones_like(f))
    if loss == "least_squares":
        return 0.5 * F.mse_loss(f, torch.ones_like(f))
    return -f.mean()


LOSS_CASES = [(loss, seed) for loss in losses.LOSSES for seed in range(4)]


@pytest.mark.parametrize("loss,seed", LOSS_CASES, ids=[f"{l}-{s}" for l, s in LOSS_CASES])
def test_losses_match_torch_values_and_gradients(loss, seed):
    r, f = _logits(seed)
    r1, f1 = r.clone().requires_grad_(), f.clone().requires_grad_()
    r2, f2 = r.clone().requires_grad_(), f.clone().requires_grad_()
    ours, ref = losses.discriminator_loss(r1, f1, loss), _reference_d(loss, r2, f2)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    ours.backward(), ref.backward()
    torch.testing.assert_close(r1.grad, r2.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(f1.grad, f2.grad, rtol=1e-12, atol=1e-12)
    f1.grad, f2.grad = None, None
    ours, ref = losses.generator_loss(f1, loss), _reference_g(loss, f2)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-12)
    ours.backward(), ref.backward()
    torch.testing.assert_close(f1.grad, f2.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss", ["minimax", "nonsaturating", "least_squares"])
def test_targets_match_torch_with_soft_labels(loss):
    r, f = _logits(7)
    g = torch.Generator().manual_seed(1)
    a, b = losses.soft_labels(16, 0.7, 1.2, g).double(), losses.soft_labels(16, 0.0, 0.3, g).double()
    torch.testing.assert_close(losses.discriminator_loss(r, f, loss, a, b), _reference_d(loss, r, f, a, b))


def test_minimax_d_loss_is_minus_the_value_function():
    r, f = _logits(3)
    V = torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()
    torch.testing.assert_close(losses.discriminator_loss(r, f, "minimax"), -V)
    torch.testing.assert_close(losses.generator_loss(f, "minimax"), torch.log(1 - torch.sigmoid(f)).mean())


@settings(max_examples=40, deadline=None)
@given(st.floats(-30, 30))
def test_generator_gradients_saturating_vs_nonsaturating(logit):
    l = torch.tensor([[logit]], dtype=torch.float64, requires_grad=True)
    (g_sat,) = torch.autograd.grad(losses.generator_loss(l, "minimax"), l)
    (g_ns,) = torch.autograd.grad(losses.generator_loss(l, "nonsaturating"), l)
    torch.testing.assert_close(g_sat, -torch.sigmoid(l.detach()), rtol=1e-9, atol=1e-300)
    torch.testing.assert_close(g_ns, -torch.sigmoid(-l.detach()), rtol=1e-9, atol=1e-300)
    assert float(g_sat.abs() + g_ns.abs()) == pytest.approx(1.0)  # they trade off: |sat| + |ns| = 1


def test_label_helpers():
    assert torch.equal(losses.smooth_labels(4, 0.1), torch.full((4, 1), 0.9))
    g = torch.Generator().manual_seed(0)
    s = losses.soft_labels(10000, 0.7, 1.2, g)
    assert 0.7 <= float(s.min()) and float(s.max()) <= 1.2 and abs(float(s.mean()) - 0.95) < 0.01
    y = torch.ones(20000, 1)
    flipped = losses.flip_labels(y, 0.25, g)
    assert set(flipped.unique().tolist()) == {0.0, 1.0} and abs(float(1 - flipped.mean()) - 0.25) < 0.01
    assert torch.equal(losses.flip_labels(y, 0.0, g), y) and torch.equal(losses.flip_labels(y, 1.0, g), 0 * y)
    x = torch.zeros(20000, 2)
    assert abs(float(losses.instance_noise(x, 0.5, g).std()) - 0.5) < 0.01
    assert losses.instance_noise(x, 0.0) is x


def test_bce_with_a_target_above_one_has_no_minimum():
    # the notes' soft real labels reach 1.2: BCE then decreases without bound as the logit grows
    l = torch.tensor([[5.0], [50.0], [500.0]], dtype=torch.float64)
    values = [float(F.binary_cross_entropy_with_logits(x, torch.full_like(x, 1.2))) for x in l]
    assert values[0] > values[1] > values[2] and values[2] < -90


def _critic(seed, d_in=3):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d_in, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()


def test_gradient_penalty_of_a_linear_critic_is_norm_minus_one_squared():
    lin = torch.nn.Linear(4, 1).double()
    x, y = torch.randn(32, 4, dtype=torch.float64), torch.randn(32, 4, dtype=torch.float64)
    expected = (lin.weight.norm() - 1) ** 2
    torch.testing.assert_close(losses.gradient_penalty(lin, x, y), expected)


@pytest.mark.parametrize("seed", range(4))
def test_gradient_penalty_matches_per_sample_jacobians_and_trains_the_critic(seed):
    D = _critic(seed)
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(6, 3, generator=g, dtype=torch.float64), torch.randn(6, 3, generator=g, dtype=torch.float64)
    gp = losses.gradient_penalty(D, x, y, torch.Generator().manual_seed(99))
    eps = torch.rand(6, 1, generator=torch.Generator().manual_seed(99), dtype=torch.float64)
    x_hat = eps * x + (1 - eps) * y
    params = dict(D.named_parameters())

    def reference(p):
        grads = torch.func.vmap(torch.func.grad(lambda xi: torch.func.functional_call(D, p, (xi,)).sum()))(x_hat)
        return ((grads.norm(dim=1) - 1) ** 2).mean()

    torch.testing.assert_close(gp, reference(params), rtol=1e-12, atol=1e-12)
    ours = torch.autograd.grad(gp, list(params.values()), materialize_grads=True)  # the last bias gets 0
    ref = torch.func.grad(reference)({k: v.detach() for k, v in params.items()})
    for a, name in zip(ours, params):
        torch.testing.assert_close(a, ref[name], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: losses.discriminator_loss(torch.zeros(2), torch.zeros(2), "vanilla"), "loss"),
    (lambda: losses.generator_loss(torch.zeros(2), "wgan"), "loss"),
    (lambda: losses.discriminator_loss([0.0], torch.zeros(2)), "real_logits"),
    (lambda: losses.discriminator_loss(torch.zeros(2), torch.zeros(2, dtype=torch.long)), "fake_logits"),
    (lambda: losses.discriminator_loss(torch.zeros(2), torch.zeros(2), "hinge", 0.9), "no labels"),
    (lambda: losses.gradient_penalty(torch.nn.Linear(2, 1), torch.zeros(3, 2), torch.zeros(4, 2)), "same shape"),
    (lambda: losses.gradient_penalty(3, torch.zeros(3, 2), torch.zeros(3, 2)), "critic"),
    (lambda: losses.smooth_labels(4, 1.0), "smoothing"), (lambda: losses.smooth_labels(0), "n"),
    (lambda: losses.soft_labels(4, 0.5, 0.2), "low"), (lambda: losses.flip_labels(torch.ones(2), 1.5), "p"),
    (lambda: losses.instance_noise(torch.ones(2), -0.1), "std"),
])
def test_losses_reject_bad_inputs(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# ---------------------------------------------------------------- spectral normalization
@pytest.mark.parametrize("seed,shape", [(s, sh) for s in range(3) for sh in [(5, 3), (3, 7), (16, 16)]])
def test_power_iteration_converges_to_matrix_2_norm(seed, shape):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(*shape, generator=g, dtype=torch.float64)
    sigma, u, v = spectral.power_iteration(W, torch.randn(shape[1], generator=g, dtype=torch.float64), 500)
    torch.testing.assert_close(sigma, torch.linalg.matrix_norm(W, ord=2), rtol=1e-10, atol=0)
    torch.testing.assert_close(spectral.lipschitz_constant(W), torch.linalg.matrix_norm(W, ord=2), rtol=1e-10, atol=0)
    torch.testing.assert_close(W @ v, sigma * u, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("seed, shape", [(0, (64, 32)), (1, (7, 12))])
def test_power_iteration_estimate_matches_its_closed_form_and_converges_twice_as_fast_as_the_vector(seed, shape):
    """sigma_hat = sqrt(sum c_i^2 s_i^(4k) / sum c_i^2 s_i^(4k-2)); its error ~ r^(4k), the vector's angle ~ r^(2k)."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(*shape, generator=g, dtype=torch.float64)
    _, S, Vh = torch.linalg.svd(W, full_matrices=False)
    v0 = torch.randn(shape[1], generator=g, dtype=torch.float64)
    c = Vh @ (v0 / v0.norm())
    r = (S[1] / S[0]).item()
    ks = range(3, 12) if r < 0.7 else range(5, 40)
    est, ang = [], []
    for k in ks:
        sigma, _, v = spectral.power_iteration(W, v0, k)
        closed = torch.sqrt((c**2 * S ** (4 * k)).sum() / (c**2 * S ** (4 * k - 2)).sum())
        torch.testing.assert_close(sigma, closed, rtol=1e-12, atol=0)
        est.append(math.log(1 - (sigma / S[0]).item()))
        ang.append(math.log(torch.sqrt(1 - (v @ Vh[0]) ** 2).item()))
    rate = lambda e: (e[-1] - e[0]) / ((ks[-1] - ks[0]) * math.log(r))  # exponent per step, in units of log r
    assert abs(rate(est) - 4) < 0.25 and abs(rate(ang) - 2) < 0.15


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 6), st.integers(1, 6))
def test_power_iteration_never_overestimates(seed, m, n):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(m, n, generator=g, dtype=torch.float64)
    sigma, _, _ = spectral.power_iteration(W, torch.randn(n, generator=g, dtype=torch.float64), 1)
    assert float(sigma) <= float(torch.linalg.matrix_norm(W, ord=2)) * (1 + 1e-12)


@pytest.mark.parametrize("make", [lambda: torch.nn.Linear(6, 4), lambda: torch.nn.Conv2d(2, 3, 3),
                                  lambda: torch.nn.ConvTranspose2d(3, 2, 3)], ids=["linear", "conv", "convT"])
@pytest.mark.parametrize("n_power_iterations", [1, 3])
def test_spectral_norm_matches_torch_parametrization(make, n_power_iterations):
    torch.manual_seed(0)
    ours = make().double()
    theirs = make().double()
    theirs.load_state_dict(ours.state_dict())
    spectral.spectral_norm(ours, n_power_iterations=n_power_iterations)
    torch.nn.utils.parametrizations.spectral_norm(theirs, n_power_iterations=n_power_iterations)
    p_ours, p_theirs = ours.parametrizations.weight[0], theirs.parametrizations.weight[0]
    g = torch.Generator().manual_seed(1)
    p_theirs._u.copy_(F.normalize(torch.randn(p_ours._u.shape, generator=g, dtype=torch.float64), dim=0))
    p_theirs._v.copy_(F.normalize(torch.randn(p_ours._v.shape, generator=g, dtype=torch.float64), dim=0))
    p_ours._u.copy_(p_theirs._u), p_ours._v.copy_(p_theirs._v)
    x = torch.randn(2, *( (6,) if isinstance(ours, torch.nn.Linear) else (ours.in_channels, 5, 5)), dtype=torch.float64)
    for _ in range(3):  # three training steps: the warm-started vectors must stay in lockstep
        y1, y2 = ours(x), theirs(x)
        torch.testing.assert_close(y1, y2, rtol=1e-12, atol=1e-12)
        (g1,) = torch.autograd.grad(y1.square().sum(), ours.parametrizations.weight.original)
        (g2,) = torch.autograd.grad(y2.square().sum(), theirs.parametrizations.weight.original)
        torch.testing.assert_close(g1, g2, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(p_ours._u, p_theirs._u, rtol=1e-12, atol=1e-12)
    ours.eval(), theirs.eval()
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-12, atol=1e-12)


def test_spectrally_normalized_weight_has_unit_norm_after_convergence():
    lin = spectral.spectral_norm(torch.nn.Linear(10, 7).double(), n_power_iterations=200)
    torch.testing.assert_close(torch.linalg.matrix_norm(lin.weight, ord=2), torch.tensor(1.0, dtype=torch.float64))


@pytest.mark.parametrize("call, match", [
    (lambda: spectral.power_iteration(torch.ones(3), torch.ones(3)), "W must be a matrix"),
    (lambda: spectral.power_iteration(torch.ones(3, 2), torch.ones(3)), "v must have shape"),
    (lambda: spectral.power_iteration(torch.ones(3, 2), torch.ones(2), 0), "n_power_iterations"),
    (lambda: spectral.power_iteration([[1.0]], torch.ones(1)), "torch.Tensors"),
    (lambda: spectral.spectral_norm("layer"), "module"),
    (lambda: spectral.spectral_norm(torch.nn.Linear(2, 2), name="kernel"), "kernel"),
    (lambda: spectral.spectral_norm(torch.nn.Linear(2, 2), n_power_iterations=0), "n_power_iterations"),
    (lambda: spectral.SpectralNorm(torch.ones(3)), "2 dimensions"),
    (lambda: spectral.lipschitz_constant(torch.ones(3)), "2-D"),
])
def test_spectral_rejects_bad_inputs(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_box_noise_scores_its_closed_form(name):
    """Uniform noise on the box: high-quality share M pi (3 std)^2 / (2a)^2, modes M (1 - (1 - p)^n)."""
    std, M, a = data.BENCHMARKS[name]["std"], data.BENCHMARKS[name]["n_modes"], data.BOX[name]
    p = math.pi * (3 * std) ** 2 / (2 * a) ** 2
    g = torch.Generator().manual_seed(0)
    scores = [metrics.mode_metrics(data.box_noise(name, 2500, g), data.centers(name), std) for _ in range(200)]
    hq = sum(s["high_quality"] for s in scores) / len(scores)
    modes = sum(s["modes"] for s in scores) / len(scores)
    q = M * p  # four standard errors of the 200-run means
    assert abs(hq - q) < 4 * math.sqrt(q * (1 - q) / (2500 * 200))
    captured = 1 - (1 - p) ** 2500
    assert abs(modes - M * captured) < 4 * math.sqrt(M * captured * (1 - captured) / 200)
    x = data.box_noise(name, 1000, g)
    assert x.abs().max() <= a and x.abs().max() > 0.95 * a


@pytest.mark.parametrize("call, match", [(lambda: data.box_noise("moons", 5), "name"),
                                         (lambda: data.box_noise("grid", 0), "n must be at least 1"),
                                         (lambda: data.box_noise("grid", 2.0), "n must be an int")])
def test_box_noise_rejects_bad_arguments(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
