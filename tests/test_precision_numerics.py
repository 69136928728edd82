"""dlnotes.precision.numerics: census, sums, gradient capture and the training helper."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnotes.precision import (
    FORMATS,
    GradScaler,
    collect_gradients,
    kahan_sum,
    range_census,
    round_to,
    sequential_sum,
    train_regression,
)


@pytest.mark.parametrize("name", ["fp16", "bf16", "fp8_e4m3fn", "fp8_e5m2"])
def test_range_census_matches_torch_conversion(name):
    f = FORMATS[name]
    gen = torch.Generator().manual_seed(3)
    x = torch.exp(torch.empty(100_000).uniform_(-80, 80, generator=gen)) * torch.randn(100_000, generator=gen).sign()
    c = range_census(x, f)
    r = x.to(f.dtype).float().abs()
    n = x.numel()
    assert c["zero"] == (r == 0).sum().item() / n
    assert c["overflow"] == ((~torch.isfinite(r)) | (x.abs() > f.max)).sum().item() / n
    assert c["subnormal"] == ((r > 0) & (r < f.smallest_normal)).sum().item() / n
    assert math.isclose(sum(c.values()), 1.0)


def test_range_census_of_threshold_values():
    tiny = FORMATS["fp16"].smallest_subnormal
    c = range_census(torch.tensor([tiny / 2, tiny * 0.51, 1e-5, 1.0, 7e4]), "fp16")
    assert c == {"zero": 0.2, "subnormal": 0.4, "normal": 0.2, "overflow": 0.2}  # tie tiny/2 -> 0


def emulated_sequential_sum(xs, fmt):
    """The same sum by the emulation: each float32 addition rounded to fmt. For fp16 and bf16,
    fp32 has at least 2p + 2 bits, so rounding the float32 sum again is innocuous (Figueroa, 1995)."""
    s = torch.zeros(1)
    for x in round_to(torch.tensor(xs, dtype=torch.float32), fmt):
        s = round_to(s + x, fmt)
    return s.item()


@settings(max_examples=40, deadline=None)
@given(xs=st.lists(st.floats(-1e3, 1e3, width=32), min_size=1, max_size=40),
       name=st.sampled_from(["fp16", "bf16"]))  # fmt: skip
def test_sequential_sum_equals_the_bit_level_emulation(xs, name):
    got = sequential_sum(torch.tensor(xs), name)
    want = emulated_sequential_sum(xs, name)
    assert got == want or (math.isnan(got) and math.isnan(want))


def test_sequential_sum_stalls_where_half_an_ulp_exceeds_the_summand():
    x = torch.full((10_000,), 1e-4)
    assert sequential_sum(x, "fp16") == 0.25  # ulp(0.25) = 2**-12 > 2 * 1e-4
    assert sequential_sum(x, "bf16") == 2.0**-5
    assert abs(sequential_sum(x, "fp32") - 1.0) < 1e-3
    assert abs(kahan_sum(x, "fp16") - 1.0) < 1e-3


@settings(max_examples=30, deadline=None)
@given(n=st.integers(200, 2000), seed=st.integers(0, 2**16))
def test_kahan_is_at_least_as_accurate_as_naive_in_fp16(n, seed):
    x = torch.rand(n, generator=torch.Generator().manual_seed(seed)) * 0.01
    exact = math.fsum(round_to(x, "fp16").double().tolist())
    naive, compensated = sequential_sum(x, "fp16"), kahan_sum(x, "fp16")
    assert abs(compensated - exact) <= abs(naive - exact) + 2 * FORMATS["fp16"].eps * exact
    assert abs(compensated - exact) <= 2 * FORMATS["fp16"].eps * exact


def test_sums_reject_bad_input():
    with pytest.raises(TypeError, match="values must be a floating-point tensor, got list"):
        sequential_sum([1.0], "fp16")
    with pytest.raises(ValueError, match="fmt must be one of"):
        kahan_sum(torch.ones(2), "fp15")


def test_range_census_rejects_bad_input():
    with pytest.raises(TypeError, match="values must be a torch.Tensor, got list"):
        range_census([1.0], "fp16")
    with pytest.raises(ValueError, match="at least one finite non-zero number"):
        range_census(torch.zeros(3), "fp16")


def test_collect_gradients_matches_retain_grad():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3)).double()
    x, y = torch.randn(7, 5, dtype=torch.float64), torch.randint(0, 3, (7,))
    loss_fn = lambda m, x, y: torch.nn.functional.cross_entropy(m(x), y)  # noqa: E731
    got = collect_gradients(model, loss_fn, x, y)
    z0 = model[0](x)
    z0.retain_grad()
    z2 = model[2](model[1](z0))
    z2.retain_grad()
    model.zero_grad()
    torch.nn.functional.cross_entropy(z2, y).backward()
    for name, z in [("0", z0), ("2", z2)]:
        torch.testing.assert_close(got[name]["activation"], z.grad.float().reshape(-1), rtol=0, atol=0)
        torch.testing.assert_close(got[name]["weight"], model[int(name)].weight.grad.float().reshape(-1),
                                   rtol=0, atol=0)  # fmt: skip


def test_collect_gradients_rejects_bad_input():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got function"):
        collect_gradients(lambda x: x, None)
    with pytest.raises(ValueError, match="at least one nn.Linear"):
        collect_gradients(torch.nn.Tanh(), None)


def small_problem(scale):
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(256, 8, generator=gen)
    Y = scale * torch.tanh(X @ torch.randn(8, 1, generator=gen))
    return X, Y


def test_train_regression_fp32_learns_and_is_reproducible():
    X, Y = small_problem(1.0)
    a = train_regression(X, Y, steps=60, lr=0.05)
    b = train_regression(X, Y, steps=60, lr=0.05)
    assert a.final_loss == b.final_loss and a.final_loss < 0.3


def test_train_regression_fp16_needs_loss_scaling_for_tiny_gradients():
    X, Y = small_problem(1e-6)
    ref = train_regression(X, Y, steps=60, lr=0.05)
    plain = train_regression(X, Y, "fp16", steps=60, lr=0.05)
    scaled = train_regression(X, Y, "fp16", GradScaler(init_scale=2.0**16), steps=60, lr=0.05)
    bf16 = train_regression(X, Y, "bf16", steps=60, lr=0.05)
    assert plain.zero_grad_fraction > 0.5 and scaled.zero_grad_fraction < 0.05
    assert plain.final_loss > 1.5 * ref.final_loss
    assert abs(scaled.final_loss - ref.final_loss) < 0.1 * ref.final_loss
    assert abs(bf16.final_loss - ref.final_loss) < 0.1 * ref.final_loss


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(precision="fp8"), ValueError, "precision must be one of.*'fp8'"),
    (dict(precision="fp16", scaler=GradScaler(), master_weights=False), ValueError, "master_weights=True"),
    (dict(steps=0), ValueError, "steps must be a positive int, got 0"),
    (dict(batch_size=np.int64(0)), ValueError, "batch_size must be a positive int, got 0"),
    (dict(lr=True), TypeError, "lr must be a real number"),
])  # fmt: skip
def test_train_regression_rejects_bad_arguments(kwargs, exc, match):
    X, Y = small_problem(1.0)
    with pytest.raises(exc, match=match):
        train_regression(X, Y, **kwargs)


def test_train_regression_rejects_bad_data():
    with pytest.raises(TypeError, match="X and Y must be tensors"):
        train_regression([[1.0]], torch.ones(1, 1))
    with pytest.raises(ValueError, match=r"2-D with equal rows, got \(3, 2\) and \(4, 1\)"):
        train_regression(torch.ones(3, 2), torch.ones(4, 1))
