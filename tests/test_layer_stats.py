"""dlnotes.layer_stats against the same statistics computed layer by layer by hand."""
import math

import pytest
import torch
from torch import nn

from dlnotes.layer_stats import first_nonfinite, forward_stats


def deep_relu(depth, std, dtype=torch.float64, seed=0, width=32):
    torch.manual_seed(seed)
    layers = []
    for _ in range(depth):
        lin = nn.Linear(width, width)
        nn.init.normal_(lin.weight, 0.0, std)
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.ReLU()]
    return nn.Sequential(*layers).to(dtype)


def test_forward_stats_match_a_manual_pass():
    model = deep_relu(5, math.sqrt(2 / 32))
    x = torch.randn(100, 32, dtype=torch.float64)
    stats = forward_stats(model, x)
    assert [s["name"] for s in stats] == ["0", "2", "4", "6", "8"]
    h = x
    for s, layer in zip(stats, [m for m in model if isinstance(m, nn.Linear)]):
        y = layer(h)
        assert s["in_sq"] == pytest.approx(h.pow(2).mean().item(), rel=1e-12)
        assert s["out_var"] == pytest.approx(y.var(unbiased=False).item(), rel=1e-12)
        assert s["out_mean"] == pytest.approx(y.mean().item(), rel=1e-9, abs=1e-12)
        h = torch.relu(y)


def test_forward_stats_he_init_keeps_the_second_moment():
    """Var[y] = n Var[W] E[x^2]: with n Var W = 2 and ReLU halving E[x^2], the scale is kept."""
    model = deep_relu(20, math.sqrt(2 / 256), width=256)
    stats = forward_stats(model, torch.randn(2000, 256, dtype=torch.float64))
    ratios = torch.tensor([s["out_var"] / (256 * (2 / 256) * s["in_sq"]) for s in stats])
    assert (ratios - 1).abs().max() < 0.3 and abs(ratios.log().mean().exp() - 1) < 0.05
    # the naive std 0.01 shrinks the signal by n Var W / 2 = 0.0128 per layer
    small = forward_stats(deep_relu(5, 0.01, width=256), torch.randn(2000, 256, dtype=torch.float64))
    shrink = [b["out_sq"] / a["out_sq"] for a, b in zip(small, small[1:])]
    assert all(0.3 * 0.0128 < r < 3 * 0.0128 for r in shrink)


def test_first_nonfinite_finds_the_overflowing_layer():
    model = deep_relu(60, 8 * math.sqrt(2 / 32), dtype=torch.float32)
    x = torch.randn(64, 32)
    found = first_nonfinite(model, x)
    h, expected = x, None
    with torch.no_grad():
        for i, m in enumerate(model):
            h = m(h)
            if not torch.isfinite(h).all():
                expected = i
                break
    assert found == (expected, str(expected)) and expected is not None
    assert first_nonfinite(deep_relu(3, 0.1, dtype=torch.float32), x) is None


def test_bad_arguments():
    model = deep_relu(2, 0.1)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got str"):
        forward_stats("net", torch.ones(2, 32))
    with pytest.raises(TypeError, match="inputs must be a torch.Tensor, got list"):
        first_nonfinite(model, [1.0])
    with pytest.raises(ValueError, match=r"inputs must be a non-empty batch of shape \(N, ...\), got \(0, 32\)"):
        forward_stats(model, torch.ones(0, 32))
    with pytest.raises(ValueError, match="model has no modules of type Conv2d"):
        forward_stats(model, torch.ones(2, 32, dtype=torch.float64), module_type=nn.Conv2d)
    with pytest.raises(TypeError, match="module_type must be a subclass of torch.nn.Module"):
        forward_stats(model, torch.ones(2, 32, dtype=torch.float64), module_type="Linear")
