"""dlnotes.precision.formats against torch's own dtypes: every bit pattern, millions of roundings."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnotes.precision import (
    FORMATS,
    bit_string,
    decode,
    encode,
    fields,
    get_format,
    representable_values,
    round_to,
)

AVAILABLE = [name for name, f in FORMATS.items() if f.dtype is not None]
SMALL = [name for name in AVAILABLE if FORMATS[name].bits <= 16]
UNSIGNED_VIEW = {8: torch.uint8, 16: torch.int16, 32: torch.int32}


def torch_values(f, bits: torch.Tensor) -> torch.Tensor:
    """What torch says the unsigned bit patterns ``bits`` mean, as float64."""
    signed = torch.where(bits >= 2 ** (f.bits - 1), bits - 2**f.bits, bits) if f.bits > 8 else bits
    return signed.to(UNSIGNED_VIEW[f.bits]).view(f.dtype).double()


def torch_bits(f, x: torch.Tensor) -> torch.Tensor:
    """torch's rounding of float32 ``x`` to ``f``, as unsigned int64 bit patterns."""
    b = x.to(f.dtype).view(UNSIGNED_VIEW[f.bits]).to(torch.int64)
    return b & (2**f.bits - 1)


def same_floats(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal as IEEE values, NaN equal to NaN and the sign of zero compared."""
    nan_a, nan_b = torch.isnan(a), torch.isnan(b)
    if not torch.equal(nan_a, nan_b):
        return False
    a, b = a[~nan_a], b[~nan_b]
    return torch.equal(a, b) and torch.equal(torch.signbit(a), torch.signbit(b))


# --- format figures, from the layout alone --------------------------------------------------

@pytest.mark.parametrize("name", AVAILABLE)
def test_format_figures_match_torch_finfo(name):
    f = FORMATS[name]
    info = torch.finfo(f.dtype)
    assert f.bits == info.bits
    assert f.max == info.max
    assert -f.max == info.min
    assert f.smallest_normal == info.smallest_normal == info.tiny
    if name != "fp8_e5m2fnuz":  # torch's finfo is wrong there, see the next test
        assert f.eps == info.eps


def test_e5m2fnuz_eps_is_a_quarter_although_torch_finfo_says_an_eighth():
    f = FORMATS["fp8_e5m2fnuz"]
    one = encode(1.0, f)
    after_one = torch_values(f, one + 1).item()  # the next bit pattern, read by torch
    assert after_one - 1.0 == f.eps == 0.25
    assert torch.finfo(f.dtype).eps == 0.125


@pytest.mark.parametrize("name", SMALL)
def test_smallest_subnormal_and_max_are_the_extreme_finite_patterns(name):
    f = FORMATS[name]
    values = torch_values(f, torch.arange(2**f.bits))
    finite = values[torch.isfinite(values)]
    assert finite[finite > 0].min().item() == f.smallest_subnormal
    assert finite.max().item() == f.max
    assert f.has_inf == bool(torch.isinf(values).any())


def test_fp32_smallest_subnormal_matches_numpy_and_bit_pattern_one():
    f = FORMATS["fp32"]
    assert f.smallest_subnormal == float(np.finfo(np.float32).smallest_subnormal)
    assert f.smallest_subnormal == torch.tensor([1], dtype=torch.int32).view(torch.float32).item()
    assert FORMATS["fp16"].smallest_subnormal == float(np.finfo(np.float16).smallest_subnormal)


@pytest.mark.parametrize("name,e,m,bias", [
    ("fp32", 8, 23, 127), ("fp16", 5, 10, 15), ("bf16", 8, 7, 127), ("fp8_e4m3fn", 4, 3, 7),
    ("fp8_e5m2", 5, 2, 15), ("fp8_e4m3fnuz", 4, 3, 8), ("fp8_e5m2fnuz", 5, 2, 16)])  # fmt: skip
def test_layouts(name, e, m, bias):
    f = FORMATS[name]
    assert (f.exponent_bits, f.mantissa_bits, f.bias) == (e, m, bias)


@pytest.mark.parametrize("name", ["fp32", "fp16", "bf16"])
def test_eps_is_the_gap_after_one_by_nextafter(name):
    f = FORMATS[name]
    one = torch.ones((), dtype=f.dtype)
    assert (torch.nextafter(one, 2 * one) - one).item() == f.eps


# --- decode / encode: every bit pattern -----------------------------------------------------

@pytest.mark.parametrize("name", SMALL)
def test_decode_every_bit_pattern_matches_torch(name):
    f = FORMATS[name]
    bits = torch.arange(2**f.bits)
    assert same_floats(decode(bits, f), torch_values(f, bits))


@pytest.mark.parametrize("name", SMALL)
def test_encode_every_value_gives_back_its_bit_pattern(name):
    f = FORMATS[name]
    bits = torch.arange(2**f.bits)
    values = torch_values(f, bits).float()
    nan = torch.isnan(values)
    encoded = encode(values, f)
    assert torch.equal(encoded[~nan], bits[~nan])
    assert torch.isnan(decode(encoded[nan], f)).all()
    assert torch.equal(encoded[~nan], torch_bits(f, values)[~nan])


def test_decode_fp32_random_patterns_matches_view():
    gen = torch.Generator().manual_seed(1)
    bits = torch.randint(0, 2**32, (1_000_000,), generator=gen, dtype=torch.int64)
    assert same_floats(decode(bits, "fp32"), torch_values(FORMATS["fp32"], bits))


def test_fields_of_known_patterns():
    s, e, m = fields(torch.tensor([0x7BFF, 0x8001, 0x3C00]), "fp16")
    assert s.tolist() == [0, 1, 0] and e.tolist() == [30, 0, 15] and m.tolist() == [1023, 1, 0]
    assert bit_string(65504.0, "fp16") == "0 11110 1111111111"
    assert bit_string(1.0, "bf16") == "0 01111111 0000000"
    assert bit_string(-2.0**-24, "fp16") == "1 00000 0000000001"
    assert bit_string(448.0, "e4m3") == "0 1111 110"


# --- round_to: millions of random and edge-case values --------------------------------------

def random_float32(n: int, seed: int) -> torch.Tensor:
    """Uniform over all 2**32 bit patterns: every binade, subnormals, infs and NaNs."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(-(2**31), 2**31, (n,), generator=gen, dtype=torch.int64).to(torch.int32).view(torch.float32)


def edge_cases(f) -> torch.Tensor:
    """Every value of a small format, the midpoints between neighbours (exact ties) and the
    float32 numbers just either side of each tie; for fp32, its own specials."""
    specials = torch.tensor([0.0, -0.0, math.inf, -math.inf, math.nan, 3.4028235e38, 1e-45, -1e-45, 1.0])
    if f.bits > 16:
        return specials
    v = representable_values(f)
    v = torch.cat([v, torch.tensor([2 * v[-1] - v[-2]])])  # one spacing past the max
    mid = ((v[1:] + v[:-1]) / 2).float()
    assert torch.equal(mid.double(), (v[1:] + v[:-1]) / 2)  # ties are exact in float32
    up, down = torch.nextafter(mid, mid + 1), torch.nextafter(mid, mid - 1)
    return torch.cat([specials, v.float(), mid, up, down, -mid, -up, -down])


@pytest.mark.parametrize("name", AVAILABLE)
def test_round_to_matches_torch_on_edge_cases(name):
    f = FORMATS[name]
    x = edge_cases(f)
    assert same_floats(round_to(x, f), x.to(f.dtype).float())


@pytest.mark.parametrize("name,n", [("fp16", 2_000_000), ("bf16", 2_000_000), ("fp8_e4m3fn", 500_000),
                                    ("fp8_e5m2", 500_000), ("fp8_e4m3fnuz", 300_000),
                                    ("fp8_e5m2fnuz", 300_000), ("fp32", 300_000)])  # fmt: skip
def test_round_to_matches_torch_on_random_bit_patterns(name, n):
    f = FORMATS[name]
    x = random_float32(n, seed=len(name))
    assert same_floats(round_to(x, f), x.to(f.dtype).float())


@pytest.mark.parametrize("name", ["fp16", "bf16", "fp8_e4m3fn", "fp8_e5m2"])
def test_round_to_matches_torch_on_values_near_one(name):
    """Gaussian values: most mass where training numbers live, many near-ties per binade."""
    f = FORMATS[name]
    x = torch.randn(1_000_000, generator=torch.Generator().manual_seed(7)) * 4
    assert same_floats(round_to(x, f), x.to(f.dtype).float())


finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(x=finite32, y=finite32, name=st.sampled_from(["fp16", "bf16", "fp8_e4m3fn", "fp8_e5m2"]))
def test_round_to_is_monotone_and_idempotent(x, y, name):
    lo, hi = sorted([x, y])
    r = round_to([lo, hi], name)
    assert r[0] <= r[1]
    assert same_floats(round_to(r, name), r)


@settings(max_examples=300, deadline=None)
@given(x=finite32)
def test_bf16_round_trip_is_exact_and_error_is_at_most_half_an_ulp(x):
    r = round_to(x, "bf16")
    assert same_floats(round_to(r, "bf16"), r)
    if math.isfinite(r.item()) and abs(x) >= FORMATS["bf16"].smallest_normal:
        assert abs(r.item() - x) <= abs(x) * 2.0**-8  # ulp/2 <= |x| eps/2


@settings(max_examples=200, deadline=None)
@given(x=finite32)
def test_round_to_fp32_is_the_identity(x):
    t = torch.tensor([x], dtype=torch.float32)
    assert same_floats(round_to(t, "fp32"), t)


def test_representable_values_counts():
    # fp16: 2 signs * 31 finite exponent fields * 1024 mantissas, with +0 and -0 counted once
    assert representable_values("fp16").numel() == 2 * 31 * 1024 - 1
    assert representable_values("bf16").numel() == 2 * 255 * 128 - 1
    assert representable_values("e4m3").numel() == 2 * (16 * 8 - 1) - 1  # no inf, one NaN per sign


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt,exc,match", [
    ("fp17", ValueError, "fp17"), ("", ValueError, "fmt must be one of"),
    (16, TypeError, "int"), (torch.int32, ValueError, "torch.int32"), (None, TypeError, "NoneType")])  # fmt: skip
def test_unknown_formats_are_rejected(fmt, exc, match):
    with pytest.raises(exc, match=match):
        get_format(fmt)
    with pytest.raises(exc, match=match):
        decode(0, fmt)


def test_aliases_and_dtypes_name_the_same_format():
    assert get_format("half") is get_format(torch.float16) is FORMATS["fp16"]
    assert get_format("BFloat16") is FORMATS["bf16"]
    assert get_format(FORMATS["fp8_e5m2"]) is FORMATS["fp8_e5m2"]


@pytest.mark.parametrize("bits,fmt,match", [
    (-1, "fp16", "got -1"), (2**16, "fp16", "got 65536"), (256, "e4m3", "got 256"),
    (torch.tensor([0, 70000]), "bf16", "got 70000"), (2**32, "fp32", "got 4294967296")])  # fmt: skip
def test_bit_patterns_out_of_range_are_rejected(bits, fmt, match):
    with pytest.raises(ValueError, match=match):
        decode(bits, fmt)
    with pytest.raises(ValueError, match=match):
        fields(bits, fmt)


@pytest.mark.parametrize("bits,match", [(1.0, "float"), (torch.tensor([1.0]), "float32"), (True, "bool"),
                                        ("0x3c00", "str")])  # fmt: skip
def test_bit_patterns_must_be_integers(bits, match):
    with pytest.raises(TypeError, match=match):
        decode(bits, "fp16")


@pytest.mark.parametrize("x,match", [("1.0", "str"), (True, "bool"), (torch.tensor([1j]), "complex")])
def test_values_must_be_real_numbers(x, match):
    with pytest.raises(TypeError, match=match):
        round_to(x, "fp16")


def test_bit_string_takes_one_value_and_enumeration_small_formats():
    with pytest.raises(ValueError, match="single value, got 2"):
        bit_string([1.0, 2.0], "fp16")
    with pytest.raises(ValueError, match="fp32"):
        representable_values("fp32")
