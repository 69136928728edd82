"""dlnotes.precision.GradScaler against torch.amp.GradScaler on the same overflows."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnotes.precision import GradScaler


def run_scaler(make_scaler, bad_steps, n_steps, bad_value=math.inf, seed=0):
    """Train a tiny model for n_steps; at the steps in bad_steps one gradient entry becomes
    bad_value. Returns the scale and growth tracker after every update, and the parameters."""
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = make_scaler()
    gen = torch.Generator().manual_seed(seed)
    scales, trackers = [], []
    for step in range(n_steps):
        x = torch.randn(4, 3, generator=gen)
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        scaler.scale(loss).backward()
        if step in bad_steps:
            model.weight.grad[0, step % 3] = bad_value
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
        trackers.append(scaler._get_growth_tracker() if hasattr(scaler, "_get_growth_tracker")
                        else scaler.get_growth_tracker())  # fmt: skip
    return scales, trackers, [p.detach().clone() for p in model.parameters()]


CONFIGS = {
    "defaults-interval3": dict(growth_interval=3),
    "interval1": dict(init_scale=1.0, growth_interval=1),
    "factors3-quarter": dict(init_scale=2.0**10, growth_factor=3.0, backoff_factor=0.25, growth_interval=2),
    "non-power-of-two": dict(init_scale=1000.0, growth_factor=1.5, backoff_factor=0.7, growth_interval=2),
    "float32-ceiling": dict(init_scale=3e38, growth_interval=1),  # growth past float32 max refused
    "static": dict(init_scale=2.0**12, growth_interval=10**9),
}
PATTERNS = {"none": set(), "early": {0, 1}, "scattered": {2, 5, 6, 11}, "every-other": set(range(0, 16, 2))}


@pytest.mark.parametrize("pattern", PATTERNS, ids=list(PATTERNS))
@pytest.mark.parametrize("config", CONFIGS, ids=list(CONFIGS))
@pytest.mark.parametrize("bad_value", [math.inf, math.nan], ids=["inf", "nan"])
def test_scale_sequence_and_parameters_match_torch(config, pattern, bad_value):
    kwargs, bad = CONFIGS[config], PATTERNS[pattern]
    ours = run_scaler(lambda: GradScaler("cpu", **kwargs), bad, 16, bad_value)
    ref = run_scaler(lambda: torch.amp.GradScaler("cpu", **kwargs), bad, 16, bad_value)
    assert ours[0] == ref[0]
    assert ours[1] == ref[1]
    for p, q in zip(ours[2], ref[2]):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


@settings(max_examples=40, deadline=None)
@given(bad=st.lists(st.booleans(), min_size=1, max_size=25), interval=st.integers(1, 4))
def test_any_overflow_pattern_matches_torch(bad, interval):
    bad_steps = {i for i, b in enumerate(bad) if b}
    kwargs = dict(init_scale=2.0**8, growth_interval=interval)
    ours = run_scaler(lambda: GradScaler("cpu", **kwargs), bad_steps, len(bad))
    ref = run_scaler(lambda: torch.amp.GradScaler("cpu", **kwargs), bad_steps, len(bad))
    assert ours[0] == ref[0] and ours[1] == ref[1]
    for p, q in zip(ours[2], ref[2]):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_skipped_steps_are_counted_and_leave_parameters_alone():
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = GradScaler(init_scale=4.0)
    before = [p.detach().clone() for p in model.parameters()]
    scaler.scale(model(torch.ones(1, 2)).sum()).backward()
    model.bias.grad[0] = math.inf
    assert scaler.step(opt) is None
    scaler.update()
    assert scaler.steps_skipped == 1 and scaler.get_scale() == 2.0
    for p, q in zip(model.parameters(), before):
        assert torch.equal(p, q)


def test_unscale_then_step_unscales_once_and_gradients_are_divided_by_the_scale():
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    scaler = GradScaler(init_scale=8.0)
    loss = model(torch.ones(3, 2)).sum()
    scaler.scale(loss).backward()
    scaled = model.weight.grad.clone()
    scaler.unscale_(opt)
    torch.testing.assert_close(model.weight.grad, scaled / 8.0, rtol=0, atol=0)
    scaler.step(opt)
    torch.testing.assert_close(model.weight.grad, scaled / 8.0, rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="after step"):
        scaler.unscale_(opt)


def test_scale_accepts_lists_and_tuples_and_disabled_scaler_is_a_no_op():
    s = GradScaler(init_scale=4.0)
    a, b = torch.ones(2), torch.full((1,), 2.0)
    assert [t.tolist() for t in s.scale([a, b])] == [[4.0, 4.0], [8.0]]
    assert isinstance(s.scale((a, b)), tuple)
    off = GradScaler(enabled=False)
    assert off.scale(a) is a and off.get_scale() == 1.0 and not off.is_enabled()
    model = torch.nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    model(torch.ones(1, 1)).sum().backward()
    w = model.weight.detach().clone()
    off.step(opt)
    off.update()
    assert not torch.equal(model.weight, w)


def test_update_with_new_scale_sets_it():
    s = GradScaler()
    s.update(new_scale=123.0)
    assert s.get_scale() == 123.0
    with pytest.raises(ValueError, match="new_scale must be a positive finite number, got -1"):
        s.update(new_scale=-1.0)


def test_fp16_gradients_are_refused():
    model = torch.nn.Linear(2, 1).half()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model(torch.ones(1, 2, dtype=torch.float16)).sum().backward()
    with pytest.raises(ValueError, match="gradients must be fp32.*torch.float16"):
        GradScaler().unscale_(opt)


def test_update_without_step_is_an_error():
    with pytest.raises(RuntimeError, match="needs a step"):
        GradScaler().update()


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(init_scale=0.0), ValueError, "init_scale must be positive and finite, got 0.0"),
    (dict(init_scale=math.inf), ValueError, "init_scale must be positive and finite, got inf"),
    (dict(init_scale="big"), TypeError, "init_scale must be a number, got str"),
    (dict(growth_factor=1.0), ValueError, "growth_factor must be > 1.0, got 1.0"),
    (dict(backoff_factor=1.0), ValueError, r"backoff_factor must be in \(0, 1\), got 1.0"),
    (dict(backoff_factor=0.0), ValueError, r"backoff_factor must be in \(0, 1\), got 0.0"),
    (dict(growth_interval=0), ValueError, "growth_interval must be a positive int, got 0"),
    (dict(growth_interval=2.5), TypeError, "growth_interval must be an int, got float"),
    (dict(enabled="yes"), TypeError, "enabled must be a bool, got str"),
    (dict(device=0), TypeError, "device must be a str or torch.device, got int"),
])  # fmt: skip
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        GradScaler(**kwargs)


def test_scale_rejects_other_types():
    with pytest.raises(TypeError, match="outputs must be a Tensor.*got float"):
        GradScaler().scale(1.0)
