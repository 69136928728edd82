"""dlnotes.init against torch.nn.init: the gain table, fans, the variance formula, identical
samples for the same generator, and the distributions by Kolmogorov-Smirnov tests."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from dlnotes import init as I

GAIN_CASES = [(n, None) for n in I.NONLINEARITIES] + [("leaky_relu", 0.2), ("leaky_relu", 0), ("leaky_relu", 3)]


@pytest.mark.parametrize("nonlinearity,param", GAIN_CASES, ids=[f"{n}-{p}" for n, p in GAIN_CASES])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert I.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


SHAPES = [(3, 5), (64, 64), (10, 3, 3), (8, 4, 3, 5), (2, 1, 2, 2, 2)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_fan_in_and_fan_out_match_torch(shape):
    t = torch.empty(shape)
    assert I.fan_in_and_fan_out(t) == torch.nn.init._calculate_fan_in_and_fan_out(t)


# (ours, torch's, keyword arguments, the variance the rule promises for a (fan_out, fan_in) weight)
def xavier_var(fi, fo, gain=1.0):
    return gain**2 * 2 / (fi + fo)


INIT_CASES = [
    ("xavier_uniform", I.xavier_uniform_, torch.nn.init.xavier_uniform_, {}, lambda fi, fo: xavier_var(fi, fo)),
    ("xavier_uniform-tanh", I.xavier_uniform_, torch.nn.init.xavier_uniform_, {"gain": 5 / 3},
     lambda fi, fo: xavier_var(fi, fo, 5 / 3)),
    ("xavier_normal", I.xavier_normal_, torch.nn.init.xavier_normal_, {}, lambda fi, fo: xavier_var(fi, fo)),
    ("xavier_normal-gain2", I.xavier_normal_, torch.nn.init.xavier_normal_, {"gain": 2.0},
     lambda fi, fo: xavier_var(fi, fo, 2.0)),
    ("kaiming_uniform-relu", I.kaiming_uniform_, torch.nn.init.kaiming_uniform_, {"nonlinearity": "relu"},
     lambda fi, fo: 2 / fi),
    ("kaiming_uniform-default", I.kaiming_uniform_, torch.nn.init.kaiming_uniform_, {}, lambda fi, fo: 2 / fi),  # a=0: leaky_relu with slope 0 is relu
    ("kaiming_uniform-linear-sqrt5", I.kaiming_uniform_, torch.nn.init.kaiming_uniform_, {"a": math.sqrt(5)},
     lambda fi, fo: 1 / (3 * fi)),
    ("kaiming_normal-relu", I.kaiming_normal_, torch.nn.init.kaiming_normal_, {"nonlinearity": "relu"},
     lambda fi, fo: 2 / fi),
    ("kaiming_normal-fan_out", I.kaiming_normal_, torch.nn.init.kaiming_normal_,
     {"nonlinearity": "relu", "mode": "fan_out"}, lambda fi, fo: 2 / fo),
    ("kaiming_normal-leaky0.2", I.kaiming_normal_, torch.nn.init.kaiming_normal_, {"a": 0.2},
     lambda fi, fo: 2 / (1.04 * fi)),
]
INIT_IDS = [c[0] for c in INIT_CASES]


@pytest.mark.parametrize("shape", [(30, 50), (16, 8, 3, 3)], ids=str)
@pytest.mark.parametrize("name,ours,ref,kwargs,var", INIT_CASES, ids=INIT_IDS)
def test_same_generator_gives_the_same_numbers_as_torch(name, ours, ref, kwargs, var, shape):
    a = ours(torch.empty(shape, dtype=torch.float64), **kwargs, generator=torch.Generator().manual_seed(7))
    b = ref(torch.empty(shape, dtype=torch.float64), **kwargs, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("name,ours,ref,kwargs,var", INIT_CASES, ids=INIT_IDS)
def test_variance_formula_and_distribution(name, ours, ref, kwargs, var):
    """400 x 600 = 240,000 samples: the sample variance is within 1% of the formula (its standard
    error is about 0.3%), the documented standard deviation equals sqrt(formula), and a KS test
    does not reject the promised distribution, nor equality with torch's own (other-seed) sample."""
    fan_out, fan_in = 400, 600
    w = ours(torch.empty(fan_out, fan_in, dtype=torch.float64), **kwargs,
             generator=torch.Generator().manual_seed(1))
    w_torch = ref(torch.empty(fan_out, fan_in, dtype=torch.float64), **kwargs,
                  generator=torch.Generator().manual_seed(2))
    expected_var = var(fan_in, fan_out)
    assert w.var().item() == pytest.approx(expected_var, rel=0.01)
    assert abs(w.mean().item()) < 5 * math.sqrt(expected_var / w.numel())
    std = math.sqrt(expected_var)
    if "uniform" in name:
        bound = math.sqrt(3) * std
        assert w.abs().max().item() <= bound
        dist = stats.uniform(loc=-bound, scale=2 * bound)
    else:
        dist = stats.norm(scale=std)
    sample = w.flatten().numpy()
    assert stats.kstest(sample, dist.cdf).pvalue > 1e-3
    assert stats.ks_2samp(sample, w_torch.flatten().numpy()).pvalue > 1e-3


@pytest.mark.parametrize("wrong", [stats.uniform(loc=-0.1, scale=0.2), stats.norm(scale=0.05)])
def test_the_ks_test_can_reject(wrong):
    """The distribution test above is not vacuous: a Xavier-normal sample fails against a wrong law."""
    w = I.xavier_normal_(torch.empty(400, 600, dtype=torch.float64), generator=torch.Generator().manual_seed(1))
    assert stats.kstest(w.flatten().numpy(), wrong.cdf).pvalue < 1e-6


@settings(max_examples=40, deadline=None)
@given(fan_out=st.integers(1, 50), fan_in=st.integers(1, 50), k=st.integers(1, 4), gain=st.floats(0.1, 3))
def test_init_std_is_the_formula(fan_out, fan_in, k, gain):
    t = torch.empty(fan_out, fan_in, k)
    fi, fo = fan_in * k, fan_out * k
    assert I.init_std(t, "xavier", gain) == pytest.approx(gain * math.sqrt(2 / (fi + fo)), rel=1e-14)
    assert I.init_std(t, "kaiming", gain) == pytest.approx(gain / math.sqrt(fi), rel=1e-14)
    assert I.init_std(t, "kaiming", gain, "fan_out") == pytest.approx(gain / math.sqrt(fo), rel=1e-14)


def test_he_normal_std_is_sqrt_two_over_n_not_its_variance():
    """The notes write He as N(0, sqrt(2/n_in)); in N(mu, sigma^2) notation that second argument is
    the variance. The right variance is 2/n_in (std sqrt(2/n_in))."""
    n_in = 256
    w = I.kaiming_normal_(torch.empty(512, n_in, dtype=torch.float64), nonlinearity="relu",
                          generator=torch.Generator().manual_seed(0))
    assert w.var().item() == pytest.approx(2 / n_in, rel=0.02)
    assert abs(w.var().item() - math.sqrt(2 / n_in)) > 0.05


def test_zero_element_tensor_is_left_alone():
    t = torch.empty(0, 5)
    assert I.kaiming_normal_(t) is t and I.xavier_uniform_(t) is t


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("call,exc,msg", [
    (lambda: I.calculate_gain("softplus"), ValueError, "nonlinearity must be one of .* got 'softplus'"),
    (lambda: I.calculate_gain("leaky_relu", "x"), ValueError, "param .* must be a finite number, got 'x'"),
    (lambda: I.calculate_gain("leaky_relu", True), ValueError, "param .* must be a finite number, got True"),
    (lambda: I.kaiming_uniform_(torch.empty(3, 4), nonlinearity="swish"), ValueError,
     "nonlinearity must be one of .* got 'swish'"),
    (lambda: I.kaiming_normal_(torch.empty(3, 4), mode="fan_avg"), ValueError,
     "mode must be 'fan_in' or 'fan_out', got 'fan_avg'"),
    (lambda: I.xavier_normal_(torch.empty(5)), ValueError, r"at least 2 dimensions .* got shape \(5,\)"),
    (lambda: I.xavier_uniform_([[0.0]]), TypeError, "tensor must be a torch.Tensor, got list"),
    (lambda: I.xavier_uniform_(torch.empty(3, 4), gain=-1.0), ValueError, "gain must be non-negative, got -1.0"),
    (lambda: I.xavier_uniform_(torch.empty(3, 4), gain="2"), TypeError, "gain must be a finite real number, got '2'"),
    (lambda: I.xavier_uniform_(torch.empty(3, 4), generator=0), TypeError,
     "generator must be a torch.Generator or None, got int"),
    (lambda: I.init_std(torch.empty(3, 4), "lecun"), ValueError, "scheme must be 'xavier' or 'kaiming', got 'lecun'"),
    (lambda: I.fan_in_and_fan_out(3), TypeError, "tensor must be a torch.Tensor, got int"),
    (lambda: I.kaiming_normal_(torch.empty(0, 4), nonlinearity="gelu"), ValueError, "got 'gelu'"),
])
def test_bad_input_is_named(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()
