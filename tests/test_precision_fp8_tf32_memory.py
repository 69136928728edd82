"""TF32 emulation, per-tensor fp8 scaling and the memory counters, against torch."""
import math

import pytest
import torch
from torch import nn

from dlnotes import precision as P


def test_tf32_format_has_fp32_range_and_fp16_precision():
    assert P.TF32.max == 2.0**127 * (2 - 2**-10) and P.TF32.max < torch.finfo(torch.float32).max
    assert P.TF32.smallest_normal == torch.finfo(torch.float32).smallest_normal
    assert P.TF32.eps == torch.finfo(torch.float16).eps == 2**-10


def test_tf32_rounding_is_to_nearest_even_on_10_bits():
    x = torch.tensor([1 + 2**-11, 1 + 3 * 2**-11, 1 + 2**-11 + 2**-20, -(1 + 2**-12)])
    expected = torch.tensor([1.0, 1 + 2**-9, 1 + 2**-10, -1.0])
    assert torch.equal(P.round_to(x, P.TF32), expected)


def test_tf32_matmul_equals_fp32_matmul_of_rounded_inputs_and_its_error_is_fp16_sized():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(64, 96, generator=g), torch.randn(96, 32, generator=g)
    c = P.tf32_matmul(a, b)
    # products of 11-bit significands are exact: compare with a float64 product of the rounded inputs
    ref_rounded = P.round_to(a, P.TF32).double() @ P.round_to(b, P.TF32).double()
    assert ((c.double() - ref_rounded).norm() / ref_rounded.norm()) < 1e-6
    ref = a.double() @ b.double()
    err_tf32 = ((c.double() - ref).norm() / ref.norm()).item()
    err_fp32 = (((a @ b).double() - ref).norm() / ref.norm()).item()
    assert 2**-14 < err_tf32 < 2**-9 and err_tf32 > 100 * err_fp32


def test_tf32_matmul_rejects_other_dtypes():
    with pytest.raises(TypeError, match="a must be float32"):
        P.tf32_matmul(torch.ones(2, 2, dtype=torch.float64), torch.ones(2, 2))
    with pytest.raises(TypeError, match="b must be a torch.Tensor, got list"):
        P.tf32_matmul(torch.ones(2, 2), [[1.0]])


@pytest.mark.parametrize("fmt,dtype", [("e4m3", torch.float8_e4m3fn), ("e5m2", torch.float8_e5m2)])
def test_fp8_quantize_matches_torch_cast(fmt, dtype):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(10_000, generator=g) * 1e-5
    q, s = P.fp8_quantize(x, fmt)
    assert s == 2.0 ** math.floor(math.log2(P.get_format(fmt).max / x.abs().max().item()))
    assert torch.equal(q, (x * s).to(dtype).float() / s)
    assert (x * s).abs().max() <= P.get_format(fmt).max
    unscaled, one = P.fp8_quantize(x, fmt, scaled=False)
    assert one == 1.0 and torch.equal(unscaled, x.to(dtype).float())


def test_fp8_scaling_keeps_small_tensors_and_e5m2_keeps_a_wider_range():
    g = torch.Generator().manual_seed(2)
    x = torch.exp(torch.randn(100_000, generator=g) * 4) * 1e-8  # log-normal, ~35 binades wide
    lost = {f: (P.fp8_quantize(x, f)[0] == 0).float().mean().item() for f in ("e4m3", "e5m2")}
    assert lost["e5m2"] < lost["e4m3"]
    assert (P.fp8_quantize(x, "e4m3", scaled=False)[0] == 0).float().mean() > 0.99


def test_per_tensor_scale_edge_cases():
    assert P.per_tensor_scale(torch.zeros(3), "e4m3") == 1.0
    assert P.per_tensor_scale(torch.tensor([448.0]), "e4m3") == 1.0
    assert P.per_tensor_scale(torch.tensor([1.0]), "e4m3", margin=1) == 128.0
    with pytest.raises(ValueError, match="x must be finite to choose a scale, got amax inf"):
        P.per_tensor_scale(torch.tensor([math.inf]), "e4m3")
    with pytest.raises(ValueError, match="margin must be a non-negative int, got -1"):
        P.per_tensor_scale(torch.ones(2), "e4m3", margin=-1)
    with pytest.raises(TypeError, match="scaled must be a bool, got int"):
        P.fp8_quantize(torch.ones(2), "e4m3", scaled=1)


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))


def test_state_bytes_with_adam_is_16_bytes_per_parameter_in_fp32():
    model = _mlp()
    opt = torch.optim.Adam(model.parameters())
    nn.functional.cross_entropy(model(torch.randn(8, 32)), torch.randint(0, 10, (8,))).backward()
    opt.step()
    b = P.state_bytes(model, opt)
    n = sum(p.numel() for p in model.parameters())
    assert b["parameters"] == 4 * n and b["gradients"] == 4 * n and b["optimizer"] == 8 * n
    assert b["per_parameter"] == 16
    assert P.state_bytes(model)["optimizer"] == 0


def test_saved_tensor_bytes_halve_under_bf16_autocast():
    model = _mlp()
    x = torch.randn(256, 32)

    def run(enabled):
        def closure():
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled):
                return model(x).sum()
        return closure

    fp32, bf16 = P.saved_tensor_bytes(run(False)), P.saved_tensor_bytes(run(True))
    assert fp32 >= 4 * 256 * (32 + 64) and 0.4 < bf16 / fp32 < 0.65


def test_memory_helpers_reject_bad_input():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got str"):
        P.state_bytes("m")
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer or None, got dict"):
        P.state_bytes(_mlp(), {})
    with pytest.raises(ValueError, match="model has no parameters"):
        P.state_bytes(nn.ReLU())
    with pytest.raises(TypeError, match="closure must be callable, got int"):
        P.saved_tensor_bytes(3)
