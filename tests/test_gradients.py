"""dlnotes.gradients against torch.autograd on random smooth functions, in float64."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnotes.gradients import check_gradient, directional_derivative, gradient, numerical_gradient



@pytest.fixture(autouse=True, scope="module")
def float64_by_default():
    """Derivatives are compared to ~1e-10: float64 in this module, restored afterwards."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def random_smooth_function(seed: int, n: int):
    """A random smooth scalar function of n variables: a small tanh network plus a quadratic."""
    g = torch.Generator().manual_seed(seed)
    W1 = torch.randn(8, n, generator=g)
    b1 = torch.randn(8, generator=g)
    w2 = torch.randn(8, generator=g)
    A = torch.randn(n, n, generator=g)
    Q = A @ A.T / n

    def f(x):
        x = x.reshape(-1)
        return torch.tanh(W1 @ x + b1) @ w2 + 0.5 * x @ Q @ x + torch.sin(x).sum()

    return f


CASES = [(seed, n) for seed in range(6) for n in (1, 2, 5, 12)]


@pytest.mark.parametrize("seed,n", CASES, ids=[f"seed{s}-n{n}" for s, n in CASES])
def test_numerical_gradient_matches_autograd_jacobian(seed, n):
    f = random_smooth_function(seed, n)
    x = torch.randn(n, generator=torch.Generator().manual_seed(100 + seed))
    reference = torch.autograd.functional.jacobian(f, x)
    torch.testing.assert_close(numerical_gradient(f, x), reference, rtol=1e-7, atol=1e-8)
    torch.testing.assert_close(gradient(f, x), reference, rtol=1e-12, atol=1e-12)


def test_numerical_gradient_keeps_the_shape_of_x():
    x = torch.randn(3, 4)
    f = lambda t: (t**3).sum()  # noqa: E731
    g = numerical_gradient(f, x)
    assert g.shape == x.shape
    torch.testing.assert_close(g, 3 * x**2, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("seed,n", CASES, ids=[f"seed{s}-n{n}" for s, n in CASES])
def test_directional_derivative_is_gradient_dot_unit_direction(seed, n):
    f = random_smooth_function(seed, n)
    gen = torch.Generator().manual_seed(200 + seed)
    x, d = torch.randn(n, generator=gen), torch.randn(n, generator=gen)
    grad = torch.autograd.functional.jacobian(f, x)
    expected = grad @ (d / d.norm())
    torch.testing.assert_close(directional_derivative(f, x, d), expected, rtol=1e-12, atol=1e-12)
    # and the definition, by central differences along u
    u, h = d / d.norm(), 1e-6
    fd = (f(x + h * u) - f(x - h * u)) / (2 * h)
    torch.testing.assert_close(directional_derivative(f, x, d), fd, rtol=1e-7, atol=1e-8)


@settings(max_examples=50, deadline=None)
@given(scale=st.floats(1e-3, 1e3), seed=st.integers(0, 10_000))
def test_directional_derivative_ignores_the_length_of_the_direction(scale, seed):
    f = random_smooth_function(seed % 7, 3)
    gen = torch.Generator().manual_seed(seed)
    x, d = torch.randn(3, generator=gen), torch.randn(3, generator=gen)
    torch.testing.assert_close(
        directional_derivative(f, x, scale * d), directional_derivative(f, x, d), rtol=1e-10, atol=1e-12
    )


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_steepest_ascent_bound(seed):
    """|D_u f| <= |grad f| for every unit u (Cauchy-Schwarz), with equality along the gradient."""
    f = random_smooth_function(seed % 5, 4)
    gen = torch.Generator().manual_seed(seed)
    x, d = torch.randn(4, generator=gen), torch.randn(4, generator=gen)
    grad = gradient(f, x)
    assert abs(directional_derivative(f, x, d)) <= grad.norm() * (1 + 1e-12)
    torch.testing.assert_close(directional_derivative(f, x, grad), grad.norm(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed,n", CASES[:12])
def test_check_gradient_small_for_autograd_and_agrees_with_gradcheck(seed, n):
    f = random_smooth_function(seed, n)
    x = torch.randn(n, generator=torch.Generator().manual_seed(300 + seed))
    assert check_gradient(f, x) < 1e-6
    assert torch.autograd.gradcheck(f, (x.clone().requires_grad_(),))


class _WrongSquare(torch.autograd.Function):
    """x**2 with a deliberately wrong backward (3x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**2

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * 3 * x


def test_check_gradient_catches_a_wrong_backward_like_gradcheck():
    f = lambda x: _WrongSquare.apply(x).sum()  # noqa: E731
    x = torch.randn(5, generator=torch.Generator().manual_seed(0))
    err = check_gradient(f, x)
    assert err == pytest.approx(1 / 3, rel=1e-6)  # max|3x - 2x| / max|3x|
    assert not torch.autograd.gradcheck(f, (x.clone().requires_grad_(),), raise_exception=False)


def test_gradient_of_function_that_ignores_x_is_zero():
    x = torch.randn(3)
    assert check_gradient(lambda t: torch.tensor(2.0), x) == 0.0
    assert torch.equal(gradient(lambda t: torch.tensor(2.0), x), torch.zeros(3))
    assert directional_derivative(lambda t: torch.tensor(2.0), x, torch.ones(3)) == 0


def test_float32_inputs_work_with_a_larger_step():
    x = torch.randn(4, dtype=torch.float32)
    g = numerical_gradient(lambda t: (t**2).sum(), x, eps=1e-2)
    assert g.dtype == torch.float32
    torch.testing.assert_close(g, 2 * x, rtol=1e-4, atol=1e-4)


# --- bad input --------------------------------------------------------------------------

def test_zero_direction_is_rejected():
    with pytest.raises(ValueError, match="direction must be a finite, non-zero vector"):
        directional_derivative(lambda t: t.sum(), torch.ones(3), torch.zeros(3))


def test_nonfinite_direction_is_rejected():
    with pytest.raises(ValueError, match="non-zero"):
        directional_derivative(lambda t: t.sum(), torch.ones(2), torch.tensor([math.inf, 0.0]))


def test_direction_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match=r"direction must have the shape of x, \(3,\), got \(2,\)"):
        directional_derivative(lambda t: t.sum(), torch.ones(3), torch.ones(2))


@pytest.mark.parametrize(
    "fn",
    [
        lambda fun, x: numerical_gradient(fun, x),
        lambda fun, x: gradient(fun, x),
        lambda fun, x: directional_derivative(fun, x, torch.ones_like(x)),
        lambda fun, x: check_gradient(fun, x),
    ],
    ids=["numerical_gradient", "gradient", "directional_derivative", "check_gradient"],
)
def test_non_scalar_f_is_rejected(fn):
    with pytest.raises(ValueError, match=r"f must return a scalar .* got shape \(3,\)"):
        fn(lambda t: t * 2, torch.ones(3))


def test_f_returning_a_python_number_is_rejected():
    with pytest.raises(ValueError, match="f must return a scalar tensor"):
        numerical_gradient(lambda t: 1.0, torch.ones(2))


@pytest.mark.parametrize("eps", [0.0, -1e-3])
def test_non_positive_eps_is_rejected(eps):
    with pytest.raises(ValueError, match=f"eps must be positive, got {eps}"):
        numerical_gradient(lambda t: t.sum(), torch.ones(2), eps=eps)


def test_integer_or_non_tensor_x_is_rejected():
    with pytest.raises(ValueError, match="floating-point dtype, got torch.int64"):
        gradient(lambda t: t.sum(), torch.ones(2, dtype=torch.int64))
    with pytest.raises(TypeError, match="x must be a torch.Tensor, got list"):
        gradient(lambda t: t.sum(), [1.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        gradient(lambda t: t.sum(), torch.ones(0))


class _ScaledBackwardSquare(torch.autograd.Function):
    """x -> x**2 with a correct forward-mode rule and a backward that is off by ``factor``."""

    factor = 1.5

    @staticmethod
    def forward(x):
        return x**2

    @staticmethod
    def setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * 2 * x * _ScaledBackwardSquare.factor  # deliberately wrong

    @staticmethod
    def jvp(ctx, x_tangent):
        (x,) = ctx.saved_tensors
        return 2 * x * x_tangent


def _wrong_backward_f(x):
    return torch.sin(_ScaledBackwardSquare.apply(x)).sum() + (x**3).sum()


@pytest.mark.parametrize("method", ["forward", "central"])
def test_directional_derivative_catches_a_wrong_backward(method):
    """A backward off by a factor: gradient() @ u is wrong, directional_derivative is not."""
    gen = torch.Generator().manual_seed(7)
    x, d = torch.randn(5, generator=gen), torch.randn(5, generator=gen)
    u = d / d.norm()
    correct = (torch.cos(x**2) * 2 * x + 3 * x**2) @ u      # the derivative, by hand
    from_backward = gradient(_wrong_backward_f, x) @ u
    measured = directional_derivative(_wrong_backward_f, x, d, method=method)
    tol = 1e-12 if method == "forward" else 1e-9
    assert abs(measured - correct) < tol
    assert abs(from_backward - correct) > 0.1 * abs(correct)  # the backward really is wrong
    assert abs(measured - from_backward) > 1e3 * tol          # and the comparison sees it


@pytest.mark.parametrize("seed,n", CASES[:12], ids=[f"seed{s}-n{n}" for s, n in CASES[:12]])
def test_directional_derivative_central_matches_forward(seed, n):
    f = random_smooth_function(seed, n)
    gen = torch.Generator().manual_seed(300 + seed)
    x, d = torch.randn(n, generator=gen), torch.randn(n, generator=gen)
    torch.testing.assert_close(directional_derivative(f, x, d, method="central"),
                               torch.func.jvp(f, (x,), (d / d.norm(),))[1], rtol=1e-9, atol=1e-10)


def test_directional_derivative_never_calls_backward():
    calls = []

    class Spy(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return 3 * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, g):
            calls.append("backward")
            return 3 * g

        @staticmethod
        def jvp(ctx, t):
            return 3 * t

    f = lambda t: Spy.apply(t).sum()  # noqa: E731
    for method in ("forward", "central"):
        assert directional_derivative(f, torch.ones(3), torch.ones(3), method=method).item() == pytest.approx(3 * math.sqrt(3))
    assert calls == []


@pytest.mark.parametrize("kwargs,match", [
    (dict(method="reverse"), r"method must be one of \('forward', 'central'\), got 'reverse'"),
    (dict(method="central", eps=0.0), "eps must be a positive finite number, got 0.0"),
    (dict(method="central", eps=math.inf), "eps must be a positive finite number, got inf"),
    (dict(method="forward", eps=1e-3), "eps is only used by method='central'"),
])
def test_directional_derivative_bad_method_or_eps(kwargs, match):
    with pytest.raises(ValueError, match=match):
        directional_derivative(lambda t: t.sum(), torch.ones(3), torch.ones(3), **kwargs)
