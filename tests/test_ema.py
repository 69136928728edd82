"""EMA of weights against torch.optim.swa_utils.AveragedModel, step for step, in float64."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from dlnotes.ema import EMA


def _net():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).double()


def _train_alongside(decay, use_buffers, steps=12, seed=0):
    torch.manual_seed(seed)
    model = _net()
    ours = EMA(model, decay=decay, use_buffers=use_buffers)
    ref = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=use_buffers)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        x = torch.randn(16, 3, dtype=torch.float64)
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        ours.update_parameters(model)
        ref.update_parameters(model)
        for (name, a), b in zip(ours.module.state_dict().items(), ref.module.state_dict().values()):
            if a.is_floating_point():
                torch.testing.assert_close(a, b, rtol=1e-14, atol=1e-14, msg=name)
            else:
                assert torch.equal(a, b), name
    return model, ours, ref


@pytest.mark.parametrize("use_buffers", [False, True], ids=["params", "params+buffers"])
@pytest.mark.parametrize("decay", [0.0, 0.5, 0.9, 0.999, 1.0])
def test_ema_matches_averaged_model_step_for_step(decay, use_buffers):
    model, ours, ref = _train_alongside(decay, use_buffers)
    assert int(ours.n_averaged) == int(ref.n_averaged) == 12
    x = torch.randn(5, 3, dtype=torch.float64)
    ours.eval(), ref.eval()
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-13, atol=1e-13)


@settings(max_examples=25, deadline=None)
@given(decay=st.floats(0.0, 1.0), steps=st.integers(1, 6), seed=st.integers(0, 1000))
def test_ema_matches_averaged_model_property(decay, steps, seed):
    _train_alongside(decay, use_buffers=True, steps=steps, seed=seed)


def test_ema_equals_closed_form_weighted_sum():
    # theta_ema_t = decay^t theta_1 + sum_j (1 - decay) decay^(t-j) theta_j over the updates after the first
    decay = 0.8
    lin = nn.Linear(2, 1, bias=False).double()
    ema = EMA(lin, decay)
    history = []
    for t in range(6):
        with torch.no_grad():
            lin.weight.fill_(float(t) ** 2)
        history.append(lin.weight.detach().clone())
        ema.update_parameters(lin)
    expected = decay ** 5 * history[0] + sum((1 - decay) * decay ** (5 - j) * history[j] for j in range(1, 6))
    torch.testing.assert_close(ema.module.weight, expected, rtol=1e-14, atol=1e-14)


def test_buffers_are_copied_without_use_buffers_and_averaged_with():
    model = _net()
    copied, averaged = EMA(model, 0.5), EMA(model, 0.5, use_buffers=True)
    for _ in range(3):
        model.train()
        model(torch.randn(8, 3, dtype=torch.float64))
        copied.update_parameters(model)
        averaged.update_parameters(model)
    bn = model[1]
    assert torch.equal(copied.module[1].running_mean, bn.running_mean)
    assert not torch.allclose(averaged.module[1].running_mean, bn.running_mean)


def test_ema_parameters_do_not_require_grad_and_model_is_untouched():
    model = _net()
    before = [p.detach().clone() for p in model.parameters()]
    ema = EMA(model, 0.9)
    ema.update_parameters(model)
    assert all(not p.requires_grad for p in ema.module.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: EMA(_net(), decay=1.5), ValueError, r"decay must be in \[0, 1\], got 1.5"),
        (lambda: EMA(_net(), decay=-0.1), ValueError, r"decay must be in \[0, 1\], got -0.1"),
        (lambda: EMA(_net(), decay="0.9"), TypeError, "decay must be a float"),
        (lambda: EMA("net", decay=0.9), TypeError, "model must be a torch.nn.Module, got str"),
        (lambda: EMA(_net(), 0.9).update_parameters(3), TypeError, "model must be a torch.nn.Module, got int"),
        (lambda: EMA(_net(), 0.9).update_parameters(nn.Linear(3, 4)), ValueError, "same parameters and buffers"),
    ],
    ids=["decay-high", "decay-low", "decay-type", "model-type", "update-type", "update-mismatch"],
)
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
