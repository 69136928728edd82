"""dlnotes.diagnostics against torch.nn.utils: clipping (gradients and the returned norm, in
float64), per-layer norms, locating inf/NaN, and dead-ReLU counting."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dlnotes import diagnostics as D


def random_grads(seed: int, scale: float = 1.0, n_params: int = 4):
    """Parameters with random shapes and random float64 gradients of size ~scale."""
    g = torch.Generator().manual_seed(seed)
    params = []
    for _ in range(n_params):
        shape = tuple(torch.randint(1, 6, (int(torch.randint(1, 4, (1,), generator=g)),), generator=g).tolist())
        p = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        p.grad = scale * torch.randn(shape, generator=g, dtype=torch.float64)
        params.append(p)
    return params


def twin(params):
    out = []
    for p in params:
        q = p.detach().clone().requires_grad_(True)
        q.grad = p.grad.clone()
        out.append(q)
    return out


NORM_CASES = [(max_norm, norm_type, scale)
              for max_norm in (0.1, 1.0, 50.0)
              for norm_type in (1.0, 2.0, 3.5, math.inf)
              for scale in (0.01, 1.0, 100.0)]


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("max_norm,norm_type,scale", NORM_CASES,
                         ids=[f"max{m}-p{p}-x{s}" for m, p, s in NORM_CASES])
def test_clip_grad_norm_matches_torch(max_norm, norm_type, scale, seed):
    ours = random_grads(seed, scale)
    ref = twin(ours)
    total = D.clip_grad_norm(ours, max_norm, norm_type)
    total_ref = torch.nn.utils.clip_grad_norm_(ref, max_norm, norm_type)
    torch.testing.assert_close(total, total_ref, rtol=1e-14, atol=0)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-14, atol=0)


def test_clip_grad_norm_accepts_one_tensor_and_inf_as_string():
    p = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    p.grad = torch.tensor([3.0, -4.0, 0.0], dtype=torch.float64)
    q = twin([p])[0]
    assert D.clip_grad_norm(p, 1.0, "inf").item() == 4.0
    torch.nn.utils.clip_grad_norm_(q, 1.0, "inf")
    torch.testing.assert_close(p.grad, q.grad, rtol=0, atol=0)


def test_clip_grad_norm_without_gradients_returns_zero_like_torch():
    p = torch.zeros(3, requires_grad=True)
    assert D.clip_grad_norm([p], 1.0).item() == torch.nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite():
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    p.grad = torch.tensor([math.inf, 1.0], dtype=torch.float64)
    with pytest.raises(RuntimeError, match="total gradient norm is inf"):
        D.clip_grad_norm([p], 1.0, error_if_nonfinite=True)
    q = twin([p])[0]
    total = D.clip_grad_norm([p], 1.0)
    total_ref = torch.nn.utils.clip_grad_norm_([q], 1.0)
    assert math.isinf(total.item()) and math.isinf(total_ref.item())
    torch.testing.assert_close(p.grad, q.grad, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), max_norm=st.floats(1e-3, 1e3),
       scale=st.floats(1e-3, 1e3), norm_type=st.sampled_from([1.0, 2.0, math.inf]))
def test_clip_grad_norm_properties(seed, max_norm, scale, norm_type):
    """After clipping, the norm is min(total, ~max_norm) and never above max_norm, the direction
    is unchanged, and clipping twice is clipping once up to the 1e-6 guard: the second call
    multiplies by min(1, tau / (||g|| + 1e-6)), a factor within 1e-6 / tau of 1."""
    params = random_grads(seed, scale)
    before = torch.cat([p.grad.flatten() for p in params])
    total = D.clip_grad_norm(params, max_norm, norm_type).item()
    after = torch.cat([p.grad.flatten() for p in params])
    new_norm = torch.linalg.vector_norm(after, norm_type).item()
    assert new_norm <= max_norm
    assert new_norm == pytest.approx(total * min(1.0, max_norm / (total + 1e-6)), rel=1e-12)
    cos = (after @ before) / (after.norm() * before.norm())
    assert cos.item() == pytest.approx(1.0, abs=1e-12)
    D.clip_grad_norm(params, max_norm, norm_type)
    twice = torch.cat([p.grad.flatten() for p in params])
    torch.testing.assert_close(twice, after * min(1.0, max_norm / (new_norm + 1e-6)), rtol=1e-13, atol=0)
    torch.testing.assert_close(twice, after, rtol=1e-6 / max_norm, atol=0)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("clip_value", [1e-3, 0.5, 2.0, 1e3])
def test_clip_grad_value_matches_torch(clip_value, seed):
    ours = random_grads(seed)
    ref = twin(ours)
    assert D.clip_grad_value(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(ref, clip_value)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=0)
        assert a.grad.abs().max().item() <= clip_value


def test_clip_grad_value_changes_direction_but_norm_clipping_does_not():
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    p.grad = torch.tensor([10.0, 0.1], dtype=torch.float64)
    q = twin([p])[0]
    D.clip_grad_value([p], 1.0)
    D.clip_grad_norm([q], 1.0)
    assert p.grad.tolist() == [1.0, 0.1]  # direction changed: ratio 10 instead of 100
    assert q.grad[0].item() / q.grad[1].item() == pytest.approx(100.0)


def small_mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
                         nn.BatchNorm1d(8), nn.Linear(8, 1)).double()


def test_layer_grad_norms_matches_per_module_total_norm():
    model = small_mlp()
    x = torch.randn(16, 5, dtype=torch.float64)
    model(x).pow(2).mean().backward()
    norms = D.layer_grad_norms(model)
    assert list(norms) == ["0", "2", "4", "5"]
    for name, value in norms.items():
        module = model.get_submodule(name)
        ref = torch.nn.utils.get_total_norm([p.grad for p in module.parameters(recurse=False)])
        assert value == pytest.approx(ref.item(), rel=1e-14)
    inf_norms = D.layer_grad_norms(model, norm_type=math.inf)
    assert inf_norms["0"] == pytest.approx(
        max(model[0].weight.grad.abs().max().item(), model[0].bias.grad.abs().max().item()), rel=1e-15)


def test_layer_grad_norms_weight_and_bias_separately():
    model = small_mlp()
    x = torch.randn(16, 5, dtype=torch.float64)
    model(x).pow(2).mean().backward()
    w = D.layer_grad_norms(model, include="weight")
    b = D.layer_grad_norms(model, include="bias")
    total = D.layer_grad_norms(model)
    for name in total:
        module = model.get_submodule(name)
        assert w[name] == pytest.approx(torch.linalg.vector_norm(module.weight.grad).item(), rel=1e-14)
        assert b[name] == pytest.approx(torch.linalg.vector_norm(module.bias.grad).item(), rel=1e-14)
        assert total[name] == pytest.approx(math.hypot(w[name], b[name]), rel=1e-12)
    # a Linear right before BatchNorm: its bias is cancelled by the mean subtraction
    torch.manual_seed(1)
    bn_net = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 1)).double()
    bn_net(x).pow(2).mean().backward()
    w, b = D.layer_grad_norms(bn_net, include="weight"), D.layer_grad_norms(bn_net, include="bias")
    assert b["0"] < 1e-12 * w["0"] and b["3"] > 1e-3 * w["3"]


def test_layer_grad_norms_bad_include():
    model = small_mlp()
    model(torch.randn(4, 5, dtype=torch.float64)).sum().backward()
    with pytest.raises(ValueError, match=r"include must be one of \('all', 'weight', 'bias'\), got 'weights'"):
        D.layer_grad_norms(model, include="weights")


def test_layer_grad_norms_before_backward_is_an_error():
    with pytest.raises(ValueError, match=r"no gradients yet: call loss.backward\(\)"):
        D.layer_grad_norms(small_mlp())


def test_find_nonfinite_names_parameters_gradients_and_buffers():
    model = small_mlp()
    x = torch.randn(16, 5, dtype=torch.float64)
    model.train()
    model(x).sum().backward()
    assert D.find_nonfinite(model) == {}
    with torch.no_grad():
        model[2].weight[0, 0] = math.nan
        model[2].weight[1, 1] = math.inf
    model[0].bias.grad[3] = -math.inf
    model[4].running_var.fill_(math.nan)
    assert D.find_nonfinite(model) == {"0.bias.grad": 1, "2.weight": 2, "4.running_var": 8}


def test_find_nonfinite_after_a_nan_input():
    model = small_mlp()
    x = torch.randn(16, 5, dtype=torch.float64)
    x[3, 0] = math.nan
    model(x).mean().backward()
    found = D.find_nonfinite(model)
    assert "0.weight.grad" in found and "4.running_mean" in found
    assert not any(k.endswith("weight") or k.endswith("bias") for k in found)  # values still fine


def test_dead_relu_fraction():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3), nn.ReLU()).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, -1.0]]))
        model[0].bias.zero_()
        model[2].weight.fill_(1.0)
        model[2].bias.copy_(torch.tensor([0.0, -100.0, -100.0]))
    x = torch.rand(32, 2, dtype=torch.float64) + 0.1  # positive inputs: unit 3 of layer 0 never fires
    assert D.dead_relu_fraction(model, x) == {"1": 0.25, "3": pytest.approx(2 / 3)}
    assert all(h == {} for h in (model[1]._forward_hooks, model[3]._forward_hooks))  # hooks removed


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("call,exc,msg", [
    (lambda: D.clip_grad_norm(random_grads(0), 0.0), ValueError, "max_norm must be positive, got 0.0"),
    (lambda: D.clip_grad_norm(random_grads(0), -1), ValueError, "max_norm must be positive, got -1"),
    (lambda: D.clip_grad_norm(random_grads(0), math.nan), ValueError, "max_norm must be positive, got nan"),
    (lambda: D.clip_grad_norm(random_grads(0), "1"), TypeError, "max_norm must be a positive number, got '1'"),
    (lambda: D.clip_grad_norm(random_grads(0), 1.0, norm_type=0), ValueError,
     r"norm_type must be positive \(or inf\), got 0"),
    (lambda: D.clip_grad_norm(random_grads(0), 1.0, norm_type="l2"), TypeError,
     "norm_type must be a positive number or 'inf', got 'l2'"),
    (lambda: D.clip_grad_norm(3.0, 1.0), TypeError, "parameters must be a tensor or an iterable of tensors, got float"),
    (lambda: D.clip_grad_norm([torch.zeros(2), 1.0], 1.0), TypeError, r"parameters\[1\] must be a torch.Tensor, got float"),
    (lambda: D.clip_grad_value(random_grads(0), 0), ValueError, "clip_value must be positive, got 0"),
    (lambda: D.clip_grad_value(random_grads(0), None), TypeError, "clip_value must be a positive number, got None"),
    (lambda: D.layer_grad_norms("model"), TypeError, "model must be a torch.nn.Module, got str"),
    (lambda: D.layer_grad_norms(small_mlp(), norm_type=-2), ValueError, r"norm_type must be positive \(or inf\), got -2"),
    (lambda: D.find_nonfinite([1]), TypeError, "model must be a torch.nn.Module, got list"),
    (lambda: D.dead_relu_fraction(nn.Linear(2, 2), torch.zeros(3, 2)), ValueError, "no nn.ReLU modules"),
    (lambda: D.dead_relu_fraction(small_mlp(), [0.0]), TypeError, "inputs must be a torch.Tensor, got list"),
    (lambda: D.dead_relu_fraction(small_mlp(), torch.zeros(5)), ValueError,
     r"inputs must be a non-empty batch of shape \(N, ...\), got \(5,\)"),
])
def test_bad_input_is_named(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()
