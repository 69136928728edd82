"""dlnotes.activations against torch.nn.functional: values, autograd gradients and the
hand-written derivatives, in float64 on random inputs and at extreme inputs."""
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnotes import activations as A

# name -> (ours, our derivative, torch reference, keyword arguments)
CASES = [
    ("sigmoid", A.sigmoid, A.sigmoid_derivative, torch.sigmoid, {}),
    ("tanh", A.tanh, A.tanh_derivative, torch.tanh, {}),
    ("relu", A.relu, A.relu_derivative, F.relu, {}),
    ("leaky_relu", A.leaky_relu, A.leaky_relu_derivative, F.leaky_relu, {}),
    ("leaky_relu-0.2", A.leaky_relu, A.leaky_relu_derivative, F.leaky_relu, {"negative_slope": 0.2}),
    ("elu", A.elu, A.elu_derivative, F.elu, {}),
    ("elu-alpha0.5", A.elu, A.elu_derivative, F.elu, {"alpha": 0.5}),
    ("silu", A.silu, A.silu_derivative, F.silu, {}),
    ("swish-beta1", A.swish, A.swish_derivative, F.silu, {"beta": 1.0}),
    ("gelu", A.gelu, A.gelu_derivative, F.gelu, {}),
    ("gelu-tanh", A.gelu, A.gelu_derivative, F.gelu, {"approximate": "tanh"}),
]
IDS = [c[0] for c in CASES]


def torch_kwargs(kwargs):
    return {k: v for k, v in kwargs.items() if k != "beta"}


def autograd_derivative(fn, x, **kwargs):
    x = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(x, **kwargs).sum(), x)
    return g


def random_inputs(seed, n=200, scale=4.0):
    g = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(n, generator=g, dtype=torch.float64)
    return torch.cat([x, torch.tensor([0.0, 1e-12, -1e-12, 1.0, -1.0], dtype=torch.float64)])


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name,ours,d_ours,ref,kwargs", CASES, ids=IDS)
def test_value_and_gradients_match_torch(name, ours, d_ours, ref, kwargs, seed):
    x = random_inputs(seed)
    tk = torch_kwargs(kwargs)
    torch.testing.assert_close(ours(x, **kwargs), ref(x, **tk), rtol=1e-13, atol=1e-15)
    reference_grad = autograd_derivative(ref, x, **tk)
    torch.testing.assert_close(autograd_derivative(ours, x, **kwargs), reference_grad,
                               rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(d_ours(x, **kwargs), reference_grad, rtol=1e-12, atol=1e-14)


EXTREMES = [-1e4, -1000.0, -750.0, -89.0, -30.0, 30.0, 89.0, 750.0, 1000.0, 1e4]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,ours,d_ours,ref,kwargs", CASES, ids=IDS)
def test_extreme_inputs_stay_finite_and_match_torch(name, ours, d_ours, ref, kwargs, dtype):
    x = torch.tensor(EXTREMES, dtype=dtype)
    tk = torch_kwargs(kwargs)
    y, g, d = ours(x, **kwargs), autograd_derivative(ours, x, **kwargs), d_ours(x, **kwargs)
    for t in (y, g, d):
        assert torch.isfinite(t).all(), (name, t)
    torch.testing.assert_close(y, ref(x, **tk))
    torch.testing.assert_close(g, autograd_derivative(ref, x, **tk))
    torch.testing.assert_close(d, autograd_derivative(ref, x, **tk))


def test_naive_sigmoid_overflows_where_ours_does_not():
    """The point of the stable form: 1/(1+exp(-x)) in float32 overflows exp for x < -88."""
    x = torch.tensor([-100.0], dtype=torch.float32, requires_grad=True)
    with torch.no_grad():
        assert torch.isinf(torch.exp(-x)).all()
    (g,) = torch.autograd.grad(A.sigmoid(x).sum(), x)
    assert torch.isfinite(g).all()


def test_sigmoid_derivative_peaks_at_one_quarter_and_tanh_at_one():
    x = torch.linspace(-10, 10, 20_001, dtype=torch.float64)
    ds, dt = A.sigmoid_derivative(x), A.tanh_derivative(x)
    assert ds.max().item() == pytest.approx(0.25, abs=1e-15)
    assert x[ds.argmax()].item() == pytest.approx(0.0, abs=1e-12)
    assert dt.max().item() == pytest.approx(1.0, abs=1e-15)
    assert (ds <= 0.25).all() and (dt <= 1.0).all()


@settings(max_examples=60, deadline=None)
@given(x=st.floats(-1e6, 1e6, allow_nan=False))
def test_tanh_is_two_sigmoid_two_x_minus_one(x):
    t = torch.tensor([x], dtype=torch.float64)
    torch.testing.assert_close(A.tanh(t), 2 * A.sigmoid(2 * t) - 1, rtol=0, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(k=st.floats(0.0, 0.99), x=st.floats(-1e3, 1e3, allow_nan=False))
def test_leaky_relu_is_max_of_x_and_kx_not_max_of_kx_and_0(k, x):
    t = torch.tensor([x], dtype=torch.float64)
    torch.testing.assert_close(A.leaky_relu(t, k), torch.maximum(t, k * t), rtol=0, atol=0)
    if k * x < 0:  # the notes' max(kx, 0) is 0 here; leaky ReLU is not (k x can underflow to 0)
        assert torch.maximum(k * t, torch.zeros_like(t)).item() == 0.0
        assert A.leaky_relu(t, k).item() < 0


SOFTMAX_CASES = [((7,), 0), ((4, 9), 1), ((4, 9), 0), ((3, 5, 6), -1), ((3, 5, 6), 1)]


@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES, ids=[f"{s}-dim{d}" for s, d in SOFTMAX_CASES])
@pytest.mark.parametrize("scale", [1.0, 1e3], ids=["unit", "huge"])
def test_softmax_and_log_softmax_match_torch(shape, dim, scale):
    g = torch.Generator().manual_seed(hash((shape, dim)) % 1000)
    x = scale * torch.randn(shape, generator=g, dtype=torch.float64)
    w = torch.randn(shape, generator=g, dtype=torch.float64)  # a random upstream gradient
    for ours, ref in ((A.softmax, torch.softmax), (A.log_softmax, torch.log_softmax)):
        y = ours(x, dim)
        assert torch.isfinite(y).all()
        torch.testing.assert_close(y, ref(x, dim), rtol=1e-12, atol=1e-14)
        xa = x.clone().requires_grad_(True)
        xb = x.clone().requires_grad_(True)
        (ga,) = torch.autograd.grad((ours(xa, dim) * w).sum(), xa)
        (gb,) = torch.autograd.grad((ref(xb, dim) * w).sum(), xb)
        torch.testing.assert_close(ga, gb, rtol=1e-12, atol=1e-14)


@settings(max_examples=50, deadline=None)
@given(shift=st.floats(-1e4, 1e4, allow_nan=False), seed=st.integers(0, 10_000))
def test_softmax_is_shift_invariant_and_sums_to_one(shift, seed):
    x = torch.randn(6, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    p = A.softmax(x, 0)
    torch.testing.assert_close(A.softmax(x + shift, 0), p, rtol=1e-9, atol=1e-12)
    assert p.sum().item() == pytest.approx(1.0, abs=1e-14)
    torch.testing.assert_close(A.log_softmax(x, 0).exp(), p, rtol=1e-13, atol=1e-15)


def test_log_softmax_stays_finite_where_softmax_underflows():
    x = torch.tensor([0.0, -2000.0], dtype=torch.float64)
    assert A.softmax(x, 0)[1].item() == 0.0  # log of this would be -inf
    assert A.log_softmax(x, 0)[1].item() == pytest.approx(-2000.0)


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [A.sigmoid, A.tanh, A.relu, A.leaky_relu, A.elu, A.silu, A.gelu,
                                A.sigmoid_derivative, A.relu_derivative])
def test_non_tensor_input_is_a_type_error(fn):
    with pytest.raises(TypeError, match="input must be a torch.Tensor, got list"):
        fn([1.0, 2.0])


def test_integer_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="floating-point dtype, got torch.int64"):
        A.relu(torch.tensor([1, 2]))


@pytest.mark.parametrize("fn,kw,exc,msg", [
    (A.leaky_relu, {"negative_slope": "0.1"}, TypeError, "negative_slope must be a real number, got str"),
    (A.leaky_relu, {"negative_slope": math.nan}, ValueError, "negative_slope must be finite, got nan"),
    (A.elu, {"alpha": math.inf}, ValueError, "alpha must be finite, got inf"),
    (A.swish, {"beta": None}, TypeError, "beta must be a real number, got NoneType"),
    (A.gelu, {"approximate": "fast"}, ValueError, "approximate must be 'none' or 'tanh', got 'fast'"),
    (A.gelu_derivative, {"approximate": "erf"}, ValueError, "approximate must be 'none' or 'tanh', got 'erf'"),
])
def test_bad_arguments_are_named(fn, kw, exc, msg):
    with pytest.raises(exc, match=msg.replace("(", r"\(").replace(")", r"\)")):
        fn(torch.zeros(3), **kw)


@pytest.mark.parametrize("fn", [A.softmax, A.log_softmax])
def test_softmax_dim_is_checked(fn):
    with pytest.raises(ValueError, match=r"dim must be in \[-2, 1\] for a 2-d input, got 2"):
        fn(torch.zeros(2, 3), 2)
    with pytest.raises(TypeError, match="dim must be an int, got NoneType"):
        fn(torch.zeros(2, 3), None)
