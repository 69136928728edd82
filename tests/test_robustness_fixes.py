"""One test per robustness fix: each input that used to give a wrong answer, hang or an obscure
error, compared with torch / scikit-learn where they have the equivalent."""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.linear_model import Ridge

import dlnotes
from dlnotes import activations as A
from dlnotes import diagnostics, gradients, init, optim, precision, regularization, runtime, selection
from dlnotes.autodiff import Value
from dlnotes.gan import losses, models, spectral


# ---------------------------------------------------------------- activations
def test_softmax_fp16_over_more_than_65504_entries_sums_to_one_like_torch():
    x = torch.zeros(70_000, dtype=torch.float16)  # each e^0 = 1; an fp16 sum overflows at 65,504
    ours, ref = A.softmax(x, 0), torch.softmax(x, 0)
    assert ours.dtype == torch.float16
    torch.testing.assert_close(ours, ref, rtol=0, atol=0)
    assert ours.float().sum().item() == pytest.approx(1.0, rel=5e-3)  # 70,000 fp16 roundings of 1/70,000
    # torch 2.13's own fp16 CPU log_softmax returns -inf here; the float32 result rounded once is right
    torch.testing.assert_close(A.log_softmax(x, 0), torch.log_softmax(x.float(), 0).half(), rtol=0, atol=0)


def test_relu_keeps_nan_like_torch():
    x = torch.tensor([math.nan, -1.0, 0.0, 2.0, -math.inf, math.inf])
    torch.testing.assert_close(A.relu(x), F.relu(x), equal_nan=True, rtol=0, atol=0)
    assert math.isnan(A.relu(x)[0])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_gelu_tanh_gradient_is_finite_for_large_inputs_like_torch(dtype):
    x = torch.tensor([-1e4, -300.0, -148.0, -5.0, 0.5, 5.0, 148.0, 300.0, 1e4], dtype=dtype)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    (ga,) = torch.autograd.grad(A.gelu(a, "tanh").sum(), a)
    (gb,) = torch.autograd.grad(F.gelu(b, approximate="tanh").sum(), b)
    assert torch.isfinite(ga).all() and torch.isfinite(A.gelu_derivative(x, "tanh")).all()
    tol = {torch.float16: 1e-3, torch.bfloat16: 1e-2, torch.float32: 1e-5}.get(dtype, 1e-12)
    torch.testing.assert_close(ga, gb, rtol=tol, atol=tol)
    torch.testing.assert_close(A.gelu_derivative(x, "tanh"), gb, rtol=tol, atol=tol)
    torch.testing.assert_close(A.gelu(x, "tanh"), F.gelu(x, approximate="tanh"), rtol=tol, atol=tol)


# ---------------------------------------------------------------- autodiff
def test_backward_through_a_graph_100000_nodes_deep():
    x = Value(0.5)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()  # the recursive sort hit RecursionError past about 1,000 nodes
    assert x.grad == 1.0
    assert len(y.topological_order()) == 1 + 4 * 100_000  # x; per step two constants, a product, a sum


def test_value_pow_follows_ieee_arithmetic_like_torch():
    for data, k in [(0.0, -1), (0.0, -2), (-8.0, 0.5), (10.0, 400.0)]:
        v = Value(data)
        out = v**k
        out.backward()
        t = torch.tensor(data, dtype=torch.float64, requires_grad=True)
        (t**k).backward()
        assert out.data == (t**k).item() or (math.isnan(out.data) and math.isnan((t**k).item()))
        assert v.grad == t.grad.item() or (math.isnan(v.grad) and math.isnan(t.grad.item()))
    assert Value(1000.0).exp().data == math.inf  # math.exp would raise OverflowError


def test_value_accepts_numpy_scalars():
    assert (Value(np.float32(1.5)) * np.int64(2)).data == 3.0
    assert (Value(np.int64(3)) ** np.float32(2.0)).data == 9.0


# ---------------------------------------------------------------- optimizers
COMPLEX_CASES = [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)), ("Adagrad", {}), ("Adadelta", {}),
                 ("RMSprop", dict(centered=True, momentum=0.5)), ("Adam", {}), ("Adam", dict(amsgrad=True)),
                 ("AdamW", dict(amsgrad=True, weight_decay=0.1)), ("NAdam", {})]


@pytest.mark.parametrize("name, kw", COMPLEX_CASES, ids=[f"{n}-{sorted(k)}" for n, k in COMPLEX_CASES])
def test_complex_parameters_match_torch(name, kw):
    p0 = torch.randn(3, 2, dtype=torch.complex128, generator=torch.Generator().manual_seed(0))
    ours, ref = p0.clone().requires_grad_(), p0.clone().requires_grad_()
    oo, ot = getattr(optim, name)([ours], **kw), getattr(torch.optim, name)([ref], foreach=False, **kw)
    weights = torch.arange(1.0, 7.0, dtype=torch.float64).reshape(3, 2)
    for _ in range(5):
        for p, o in ((ours, oo), (ref, ot)):
            o.zero_grad()
            ((p.abs() ** 2 * weights).sum() + (p * (1 + 2j)).real.sum()).backward()
            o.step()
    torch.testing.assert_close(ours, ref, rtol=0, atol=0)
    for key, value in ot.state[ref].items():  # the state is complex, as torch keeps it
        torch.testing.assert_close(oo.state[ours][key], value, rtol=0, atol=0)


def test_adam_on_a_gradient_of_1j_leaves_the_real_part_alone_like_torch():
    p = torch.zeros(1, dtype=torch.complex64, requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = torch.tensor([1j], dtype=torch.complex64)
    opt.step()
    assert p.detach().real.item() == 0.0 and p.detach().imag.item() == pytest.approx(-0.1)


def test_nesterov_lookahead_restores_parameters_when_the_closure_raises():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = optim.NesterovLookahead([p], lr=0.1, gamma=0.9)

    def closure():
        opt.zero_grad()
        (p**2).sum().backward()
        return (p**2).sum()

    opt.step(closure)  # builds a velocity, so the look-ahead point differs from p
    before = p.detach().clone()

    def failing():
        raise FloatingPointError("loss is NaN")

    with pytest.raises(FloatingPointError):
        opt.step(failing)
    torch.testing.assert_close(p.detach(), before, rtol=0, atol=0)


# ---------------------------------------------------------------- GAN
def test_least_squares_loss_refuses_targets_that_widen_the_logits():
    logits = torch.randn(4)
    with pytest.raises(ValueError, match="real_target must be a number or broadcast to the shape of real_logits"):
        losses.discriminator_loss(logits, logits, "least_squares", real_target=torch.ones(4, 1))
    with pytest.raises(ValueError, match="real_target"):  # the other labelled losses too, clearly
        losses.discriminator_loss(logits, logits, "nonsaturating", real_target=torch.ones(4, 1))
    target = torch.full((4,), 0.9)
    expected = 0.5 * (F.mse_loss(logits, target) + F.mse_loss(logits, torch.zeros(4)))
    torch.testing.assert_close(losses.discriminator_loss(logits, logits, "least_squares", real_target=target), expected)


@pytest.mark.parametrize("scale", [1e20, 1e-25, 1.0])
def test_lipschitz_constant_without_squaring_matches_torch_in_float32(scale):
    A_ = torch.tensor([[3.0, 1.0], [0.5, -2.0], [1.0, 1.0]]) * scale
    ours = spectral.lipschitz_constant(A_)
    assert torch.isfinite(ours) and ours > 0
    torch.testing.assert_close(ours, torch.linalg.matrix_norm(A_, ord=2), rtol=1e-6, atol=0)


def test_gan_edge_shapes():
    assert spectral.lipschitz_constant(torch.zeros(3, 0)).item() == 0.0  # the zero map
    assert torch.equal(models.pack(torch.arange(6.0), 3), torch.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match="x must have a batch dimension"):
        models.pack(torch.tensor(1.0), 1)
    with pytest.raises(ValueError, match="non-empty batch"):
        losses.gradient_penalty(lambda x: x, torch.tensor(1.0), torch.tensor(2.0))
    real, fake = torch.randn(5, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    gp = losses.gradient_penalty(lambda x: 3 * x, real, fake)  # d(3x)/dx = 3 per scalar sample
    torch.testing.assert_close(gp, torch.tensor(4.0, dtype=torch.float64))


# ---------------------------------------------------------------- precision
def test_grad_scaler_step_twice_raises_like_torch():
    for make in (precision.GradScaler, torch.amp.GradScaler):
        p = torch.nn.Parameter(torch.ones(2))
        opt = torch.optim.SGD([p], lr=1.0)
        scaler = make("cpu")
        scaler.scale(p.sum()).backward()
        scaler.step(opt)
        with pytest.raises(RuntimeError, match="step\\(\\) has already been called since the last update\\(\\)"):
            scaler.step(opt)
        with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step\\(\\)"):
            scaler.unscale_(opt)
        torch.testing.assert_close(p.detach(), torch.zeros(2))  # one step of lr 1, not two
        scaler.update()


def test_collect_gradients_on_unused_frozen_and_shared_layers():
    torch.manual_seed(0)
    net = torch.nn.ModuleDict({"a": torch.nn.Linear(3, 3), "unused": torch.nn.Linear(3, 3), "last": torch.nn.Linear(3, 1)})
    net["last"].requires_grad_(False)
    x = torch.randn(4, 3)

    def loss_fn(m, x):
        return m["last"](m["a"](m["a"](x))).sum()  # "a" is called twice

    got = precision.collect_gradients(net, loss_fn, x)
    assert set(got) == {"a", "last"} and "weight" not in got["last"]
    z1 = net["a"](x)
    z1.retain_grad()
    z2 = net["a"](z1)
    z2.retain_grad()
    net.zero_grad()
    net["last"](z2).sum().backward()
    torch.testing.assert_close(got["a"]["activation"], torch.cat([z1.grad.reshape(-1), z2.grad.reshape(-1)]))
    torch.testing.assert_close(got["a"]["weight"], net["a"].weight.grad.reshape(-1))


def _fl(t, fmt):
    """Round to ``fmt`` by nearest-even search in its table of values (independent of torch casts)."""
    table = precision.representable_values(fmt)
    x = torch.as_tensor(t, dtype=torch.float64)
    i = torch.searchsorted(table, x).clamp(1, len(table) - 1)
    lo, hi = table[i - 1], table[i]
    pick_hi = (hi - x < x - lo) | ((hi - x == x - lo) & (precision.encode(hi, fmt) % 2 == 0))
    return torch.where(pick_hi, hi, lo).item()


@pytest.mark.parametrize("fmt", ["fp8_e4m3fn", "fp8_e5m2", "fp8_e4m3fnuz", "fp8_e5m2fnuz"])
def test_fp8_sums_round_every_addition_to_the_format(fmt):
    values = torch.rand(40, generator=torch.Generator().manual_seed(1)) * 4
    s, c, k = 0.0, 0.0, 0.0
    for v in precision.round_to(values, fmt).double().tolist():
        s = _fl(s + v, fmt)
        y = _fl(v - c, fmt)
        t = _fl(k + y, fmt)
        c = _fl(_fl(t - k, fmt) - y, fmt)
        k = t
    assert precision.sequential_sum(values, fmt) == s
    assert precision.kahan_sum(values, fmt) == k
    assert abs(k - values.sum().item()) <= abs(s - values.sum().item())


@pytest.mark.parametrize("fmt", ["fp16", "bf16"])
def test_half_precision_sums_equal_torchs_own_arithmetic(fmt):
    values = torch.rand(500, generator=torch.Generator().manual_seed(2)) + 0.5
    dtype = precision.get_format(fmt).dtype
    s = torch.zeros((), dtype=dtype)
    for v in values.to(dtype):
        s = s + v
    assert precision.sequential_sum(values, fmt) == s.item()


@pytest.mark.parametrize("kwargs, match", [
    (dict(exponent_bits=8, mantissa_bits=30), "mantissa_bits must be in \\[1, 23\\]"),
    (dict(exponent_bits=11, mantissa_bits=52), "exponent_bits must be in \\[2, 8\\]"),
    (dict(exponent_bits=4, mantissa_bits=3, special="fn", overflow="inf"), "overflow='inf' needs special='ieee'"),
    (dict(exponent_bits=4, mantissa_bits=3, special="weird"), "special must be one of"),
    (dict(exponent_bits=4.0, mantissa_bits=3), "exponent_bits must be an int"),
])
def test_float_format_is_validated(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        precision.FloatFormat("x", **kwargs)
    assert precision.FloatFormat("x", np.int64(5), np.int64(10)).max == 65504.0


# ---------------------------------------------------------------- finite differences
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_finite_differences_refuse_half_precision(dtype):
    x = torch.ones(3, dtype=dtype)
    for fn in (gradients.numerical_gradient, gradients.check_gradient):
        with pytest.raises(TypeError, match=f"x must be float32 or float64 for finite differences, got {dtype}"):
            fn(lambda t: (t * t).sum(), x)


def test_check_gradient_default_eps_suits_float32():
    W = torch.randn(8, 8, generator=torch.Generator().manual_seed(0))
    x = torch.randn(8, generator=torch.Generator().manual_seed(1))

    def f(t):
        return torch.tanh(W.to(t.dtype) @ t).pow(2).sum()

    assert gradients.default_eps(torch.float64) == 1e-6
    assert gradients.check_gradient(f, x) < 1e-3
    assert gradients.check_gradient(f, x, eps=1e-6) > 1e-2  # the float64 step, in float32: the old default
    assert gradients.check_gradient(f, x.double()) < 1e-7


# ---------------------------------------------------------------- regularization, init, selection
def test_ridge_refuses_nan_like_scikit_learn():
    X = torch.randn(6, 3, dtype=torch.float64)
    X[0, 0] = math.nan
    with pytest.raises(ValueError, match="NaN"):
        Ridge(1.0, fit_intercept=False).fit(X.numpy(), np.ones(6))
    for alpha in (0.0, 1.0):
        with pytest.raises(ValueError, match="X must not contain NaN or infinity"):
            regularization.ridge(X, torch.ones(6, dtype=torch.float64), alpha)
    with pytest.raises(ValueError, match="at least one sample"):
        regularization.ridge(torch.zeros(0, 3), torch.zeros(0))


def test_ridge_mixed_and_integer_dtypes_match_scikit_learn():
    g = torch.Generator().manual_seed(3)
    X, y = torch.randn(8, 3, generator=g, dtype=torch.float64), torch.randn(8, generator=g, dtype=torch.float64)
    ref = torch.as_tensor(Ridge(0.5, fit_intercept=False).fit(X.numpy(), y.numpy()).coef_)
    got = regularization.ridge(X.float(), y, 0.5)  # float32 X, float64 y: solved in float64
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, torch.as_tensor(Ridge(0.5, fit_intercept=False).fit(
        X.float().double().numpy(), y.numpy()).coef_), rtol=1e-10, atol=1e-12)
    Xi = (X * 3).round().long()
    torch.testing.assert_close(regularization.ridge(Xi, y, 0.5), torch.as_tensor(
        Ridge(0.5, fit_intercept=False).fit(Xi.numpy(), y.numpy()).coef_), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(regularization.ridge(X, y, np.float32(0.5)), ref.to(torch.float64), rtol=1e-6, atol=1e-8)


def test_init_std_with_a_zero_fan_is_a_clear_error():
    with pytest.raises(ValueError, match="fan_in = 0"):
        init.init_std(torch.empty(3, 0), "kaiming")
    with pytest.raises(ValueError, match="fan_in \\+ fan_out = 0"):
        init.init_std(torch.empty(0, 0), "xavier")
    w = torch.empty(3, 0)
    assert init.kaiming_normal_(w) is w  # torch too: zero-element tensors are left as they are
    torch.nn.init.kaiming_normal_(torch.empty(3, 0))


def test_fit_classifier_refuses_empty_data_and_restores_the_mode():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="X must hold at least one sample"):
        selection.fit_classifier(model, torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))
    model.eval()
    selection.fit_classifier(model, torch.randn(6, 2), torch.tensor([0, 1] * 3), epochs=1)
    assert not model.training


# ---------------------------------------------------------------- diagnostics
def test_find_nonfinite_sees_complex_nan():
    m = torch.nn.Linear(2, 2)
    m.register_buffer("phase", torch.tensor([1 + 1j, complex(math.nan, 0.0)]))
    assert diagnostics.find_nonfinite(m) == {"phase": 1}


def test_dead_relu_fraction_reports_each_call_of_a_shared_relu_and_keeps_buffers():
    relu = torch.nn.ReLU()
    torch.manual_seed(0)
    first, second = torch.nn.Linear(3, 4), torch.nn.Linear(4, 4)
    bn = torch.nn.BatchNorm1d(4)
    with torch.no_grad():
        second.bias.fill_(-100.0)  # every unit after the second call is dead
    model = torch.nn.Sequential(first, relu, bn, second, relu)
    x = torch.randn(16, 3)
    running = bn.running_mean.clone()
    got = diagnostics.dead_relu_fraction(model, x)
    h = F.relu(first(x))
    expected_first = 1.0 - (h > 0).any(0).double().mean().item()
    assert got == {"1[0]": pytest.approx(expected_first), "1[1]": 1.0}
    assert torch.equal(bn.running_mean, running) and model.training


# ---------------------------------------------------------------- runtime
@pytest.mark.parametrize("value, match", [
    ("cuda", "DLNOTES_DEVICE='cuda' but CUDA is not available"),
    ("cuda:0", "CUDA is not available"),
    ("mps", "MPS is not available"),
    ("tpu", "DLNOTES_DEVICE must name one of"),
    ("cuda:x", "DLNOTES_DEVICE must be a device such as"),
])
def test_device_override_this_machine_cannot_honour_is_a_clear_error(monkeypatch, value, match):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setenv("DLNOTES_DEVICE", value)
    with pytest.raises(ValueError, match=match):
        dlnotes.device()


def test_device_override_past_the_last_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setenv("DLNOTES_DEVICE", "cuda:1")
    with pytest.raises(ValueError, match="has 1 CUDA device"):
        dlnotes.device()


@pytest.fixture
def restore_determinism(monkeypatch):
    state = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    yield
    torch.use_deterministic_algorithms(state[0], warn_only=state[1])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = state[2], state[3]


def test_seed_everything_deterministic_settings(monkeypatch, restore_determinism):
    dlnotes.seed_everything(0, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    dlnotes.seed_everything(0, deterministic=False)
    assert not torch.are_deterministic_algorithms_enabled()


def test_seed_everything_default_is_deterministic_only_with_cuda(monkeypatch, restore_determinism):
    torch.use_deterministic_algorithms(False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    dlnotes.seed_everything(0)
    assert not torch.are_deterministic_algorithms_enabled() and "CUBLAS_WORKSPACE_CONFIG" not in os.environ
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    runtime.seed_everything(np.int64(0))
    assert torch.are_deterministic_algorithms_enabled() and os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    with pytest.raises(TypeError, match="deterministic must be a bool or None"):
        dlnotes.seed_everything(0, deterministic="yes")
