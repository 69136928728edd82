r"""Floating-point formats from their bit layout alone, and exact conversion to and from bits.

A binary floating-point number with sign :math:`s`, an exponent field :math:`E` of
:math:`e` bits and a mantissa (trailing significand) field :math:`M` of :math:`m` bits is

.. math::

    x = (-1)^s \, 2^{E - \text{bias}} \left(1 + \frac{M}{2^m}\right) \quad (E \ge 1),
    \qquad
    x = (-1)^s \, 2^{1 - \text{bias}} \, \frac{M}{2^m} \quad (E = 0,\ \text{subnormal}).

Everything else (largest value, smallest normal and subnormal, machine epsilon) follows
from :math:`(e, m, \text{bias})` and from which bit patterns are reserved for infinities and
NaNs. IEEE 754 (2019) defines fp32 and fp16; bf16 is fp32 with the mantissa cut to 7 bits
(Kalamkar et al., 2019, "A Study of BFLOAT16 for Deep Learning Training"); the fp8 formats
are from Micikevicius et al. (2022), "FP8 Formats for Deep Learning" (e4m3fn, e5m2) and
from Graphcore/AMD (the ``fnuz`` variants: no negative zero, NaN = ``0x80``).

Dtypes: values to encode may be Python numbers, NumPy scalars and arrays, lists or tensors of
any real dtype on any device; they are converted to float32 first (so a float64 input is
rounded twice, to float32 and then to the format, as torch's own casts to half precision do).
Bit patterns are int64 tensors. Decoded values are float64 (exact for every format here).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import NamedTuple, Union

import numpy as np
import torch

__all__ = [
    "FORMATS", "FloatFormat", "get_format", "Fields", "fields", "decode", "encode", "round_to",
    "bit_string", "representable_values"
]

_SPECIALS = ("ieee", "fn", "fnuz")
_OVERFLOWS = ("inf", "nan", "saturate")


@dataclass(frozen=True)
class FloatFormat:
    r"""A binary floating-point format described by its bit layout.

    ``special`` says which patterns are not finite numbers: ``"ieee"`` (exponent all ones:
    :math:`\pm\infty` if :math:`M=0`, else NaN), ``"fn"`` (finite only: just
    ``S.1111.111`` is NaN) or ``"fnuz"`` (finite, unsigned zero: ``1000 0000`` is NaN).
    ``overflow`` is what rounding past the largest finite value gives (``"inf"``,
    ``"nan"`` or ``"saturate"`` to :math:`\pm` max), as torch's conversion does.

    Matches: ``torch.finfo(dtype)`` for ``bits``, ``max``, ``smallest_normal``
    (``tiny``) and ``eps``.

    The fields are validated: :func:`encode` works from float32's bits, so a format may have
    2 to 8 exponent bits and 1 to 23 mantissa bits (a wider one, such as float64, cannot be
    reached from float32 and is refused rather than rounded wrongly); ``overflow="inf"``
    needs ``special="ieee"``, the only layout with infinities.

    Differences: ``torch.finfo(torch.float8_e5m2fnuz).eps`` is 0.125 in torch 2.x, but
    the format's spacing above 1 is :math:`2^{-2} = 0.25` (1.0 is followed by 1.25).
    """

    name: str
    exponent_bits: int
    mantissa_bits: int
    special: str = "ieee"
    overflow: str = "inf"
    torch_name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty str, got {self.name!r}")
        for field_name, low, high in (("exponent_bits", 2, 8), ("mantissa_bits", 1, 23)):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{field_name} must be an int, got {type(value).__name__} {value!r}")
            object.__setattr__(self, field_name, int(value))  # frozen: np.int64(5) is stored as 5
            value = int(value)
            if not low <= value <= high:
                raise ValueError(f"{field_name} must be in [{low}, {high}] (formats reachable from "
                                 f"float32's bits), got {value}")
        if self.special not in _SPECIALS:
            raise ValueError(f"special must be one of {_SPECIALS}, got {self.special!r}")
        if self.overflow not in _OVERFLOWS:
            raise ValueError(f"overflow must be one of {_OVERFLOWS}, got {self.overflow!r}")
        if self.overflow == "inf" and self.special != "ieee":
            raise ValueError(f"overflow='inf' needs special='ieee' (the only layout with infinities), "
                             f"got special={self.special!r}")
        if not isinstance(self.torch_name, str):
            raise TypeError(f"torch_name must be a str, got {type(self.torch_name).__name__}")

    @property
    def bits(self) -> int:
        return 1 + self.exponent_bits + self.mantissa_bits

    @property
    def bias(self) -> int:
        half = 2 ** (self.exponent_bits - 1)
        return half if self.special == "fnuz" else half - 1

    @property
    def max_exponent_field(self) -> int:
        """Largest exponent field that encodes finite numbers."""
        all_ones = 2**self.exponent_bits - 1
        return all_ones - 1 if self.special == "ieee" else all_ones

    @property
    def max_mantissa_at_top(self) -> int:
        """Largest mantissa field allowed with the top finite exponent (``fn`` reserves all ones)."""
        return 2**self.mantissa_bits - (2 if self.special == "fn" else 1)

    @property
    def min_exponent(self) -> int:
        """Exponent of the smallest normal number, :math:`1 - \\text{bias}`."""
        return 1 - self.bias

    @property
    def max_exponent(self) -> int:
        return self.max_exponent_field - self.bias

    @property
    def max(self) -> float:
        r""":math:`2^{E_{max}-\text{bias}}\,(1 + M_{max}/2^m)`."""
        significand = 1 + self.max_mantissa_at_top / 2**self.mantissa_bits
        return significand * 2.0**self.max_exponent

    @property
    def smallest_normal(self) -> float:
        return 2.0**self.min_exponent

    @property
    def smallest_subnormal(self) -> float:
        return 2.0 ** (self.min_exponent - self.mantissa_bits)

    @property
    def eps(self) -> float:
        """Distance from 1.0 to the next representable number, :math:`2^{-m}`."""
        return 2.0**-self.mantissa_bits

    @property
    def has_inf(self) -> bool:
        return self.special == "ieee"

    @property
    def dtype(self) -> torch.dtype | None:
        """The torch dtype of this format, or None if this torch build lacks it."""
        return getattr(torch, self.torch_name, None)


FORMATS: dict[str, FloatFormat] = {
    f.name: f
    for f in (
        FloatFormat("fp32", 8, 23, torch_name="float32"),
        FloatFormat("fp16", 5, 10, torch_name="float16"),
        FloatFormat("bf16", 8, 7, torch_name="bfloat16"),
        FloatFormat("fp8_e4m3fn", 4, 3, "fn", "saturate", "float8_e4m3fn"),
        FloatFormat("fp8_e5m2", 5, 2, "ieee", "inf", "float8_e5m2"),
        FloatFormat("fp8_e4m3fnuz", 4, 3, "fnuz", "nan", "float8_e4m3fnuz"),
        FloatFormat("fp8_e5m2fnuz", 5, 2, "fnuz", "nan", "float8_e5m2fnuz"),
    )
}
_ALIASES = {
    "float32": "fp32", "float": "fp32", "float16": "fp16", "half": "fp16",
    "bfloat16": "bf16", "e4m3": "fp8_e4m3fn", "e4m3fn": "fp8_e4m3fn", "e5m2": "fp8_e5m2",
    "e4m3fnuz": "fp8_e4m3fnuz", "e5m2fnuz": "fp8_e5m2fnuz",
}  # fmt: skip

FormatLike = Union[str, torch.dtype, FloatFormat]


def get_format(fmt: FormatLike) -> FloatFormat:
    """The :class:`FloatFormat` named by ``fmt``: a name (``"fp16"``, ``"bfloat16"``,
    ``"e4m3"``), a torch dtype (``torch.float16``) or a FloatFormat."""
    if isinstance(fmt, FloatFormat):
        return fmt
    if isinstance(fmt, torch.dtype):
        for f in FORMATS.values():
            if f.dtype == fmt:
                return f
        raise ValueError(f"fmt must be a floating-point format dlnotes knows, got dtype {fmt}")
    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a str, torch.dtype or FloatFormat, got {type(fmt).__name__}")
    key = _ALIASES.get(fmt.lower(), fmt.lower())
    if key not in FORMATS:
        raise ValueError(f"fmt must be one of {sorted(FORMATS)} (or an alias), got {fmt!r}")
    return FORMATS[key]


class Fields(NamedTuple):
    """The three fields of a bit pattern, as integer tensors."""

    sign: torch.Tensor
    exponent: torch.Tensor
    mantissa: torch.Tensor


def _bits_tensor(bits, f: FloatFormat) -> torch.Tensor:
    if isinstance(bits, bool) or (isinstance(bits, torch.Tensor) and bits.dtype == torch.bool):
        raise TypeError("bits must be integers, got bool")
    if isinstance(bits, torch.Tensor):
        if bits.is_floating_point() or bits.is_complex():
            raise TypeError(f"bits must be an integer tensor, got dtype {bits.dtype}")
        b = bits.to(torch.int64)
    elif isinstance(bits, int):
        b = torch.tensor(bits, dtype=torch.int64)
    else:
        raise TypeError(f"bits must be an int or an integer tensor, got {type(bits).__name__}")
    if b.numel() and (b.min() < 0 or b.max() >= 2**f.bits):
        bad = b[(b < 0) | (b >= 2**f.bits)].reshape(-1)[0].item()
        raise ValueError(f"bits must be in [0, 2**{f.bits}) for {f.name}, got {bad}")
    return b


def fields(bits, fmt: FormatLike) -> Fields:
    """Split unsigned bit patterns into (sign, exponent, mantissa) fields."""
    f = get_format(fmt)
    b = _bits_tensor(bits, f)
    m, e = f.mantissa_bits, f.exponent_bits
    return Fields(b >> (e + m), (b >> m) & (2**e - 1), b & (2**m - 1))


def decode(bits, fmt: FormatLike) -> torch.Tensor:
    r"""The value of each bit pattern, as float64 (exact for every format here).

    .. math:: x = (-1)^s\, 2^{\max(E,1) - \text{bias} - m}\,\big(M + [E \ge 1]\, 2^m\big)

    with the format's reserved patterns decoded as :math:`\pm\infty` or NaN.

    Matches: ``bits.view(dtype).double()`` for every pattern (NaN for NaN).
    """
    f = get_format(fmt)
    s, E, M = fields(bits, f)
    m = f.mantissa_bits
    significand = (M + (E >= 1) * 2**m).double()
    value = torch.ldexp(significand, (E.clamp(min=1) - f.bias - m).double())
    value = torch.where(s == 1, -value, value)
    all_ones_e, all_ones_m = 2**f.exponent_bits - 1, 2**m - 1
    if f.special == "ieee":
        top = E == all_ones_e
        value = torch.where(top & (M == 0), torch.where(s == 1, -torch.inf, torch.inf), value)
        value = torch.where(top & (M != 0), torch.nan, value)
    elif f.special == "fn":
        value = torch.where((E == all_ones_e) & (M == all_ones_m), torch.nan, value)
    else:
        value = torch.where((s == 1) & (E == 0) & (M == 0), torch.nan, value)
    return value


def _nan_bits(f: FloatFormat) -> int:
    m, e = f.mantissa_bits, f.exponent_bits
    if f.special == "fnuz":
        return 1 << (e + m)
    if f.special == "fn":
        return 2 ** (e + m) - 1
    return ((2**e - 1) << m) | (1 << (m - 1))


def encode(x, fmt: FormatLike) -> torch.Tensor:
    r"""Bit patterns (int64) of ``x`` rounded to ``fmt``, round-to-nearest-even, from fp32 bits.

    ``x`` is first converted to float32; its significand :math:`S` (24 bits with the
    implicit one) and exponent :math:`e` give :math:`|x| = S\cdot 2^{e-23}`. The target's
    spacing there is :math:`2^{q}`, :math:`q = \max(e, 1-\text{bias}) - m`, so

    .. math:: R = \operatorname{rne}\!\left(S / 2^{\,q - e + 23}\right),\qquad |x| \mapsto R\cdot 2^{q}

    where rne rounds to the nearest integer, ties to the even one. A carry
    (:math:`R = 2^{m+1}`) moves to the next binade; past the largest finite value the
    format's ``overflow`` rule applies.

    Matches: ``x.float().to(dtype).view(int_dtype)`` (as unsigned) for every non-NaN input;
    NaN inputs give a NaN pattern (payloads are not kept).
    """
    f = get_format(fmt)
    x = _float32(x, "x")
    m, e_bits, bias = f.mantissa_bits, f.exponent_bits, f.bias
    u = x.view(torch.int32).to(torch.int64) & 0xFFFFFFFF
    sign = u >> 31
    E32, M32 = (u >> 23) & 0xFF, u & 0x7FFFFF
    S = torch.where(E32 > 0, M32 | (1 << 23), M32)
    e = torch.where(E32 > 0, E32 - 127, torch.full_like(E32, -126))
    q = torch.clamp(e, min=f.min_exponent) - m
    shift = torch.clamp(q - e + 23, max=40)  # S < 2**24: past 25, R = 0 anyway
    R = S >> shift
    rem = S - (R << shift)
    half = torch.where(shift > 0, 1 << (shift - 1).clamp(min=0), torch.ones_like(shift))
    R = R + ((rem > half) | ((rem == half) & (shift > 0) & (R & 1 == 1))).to(torch.int64)
    carry = R >= 2 ** (m + 1)
    R, q = torch.where(carry, R >> 1, R), q + carry.to(torch.int64)
    normal = R >= 2**m
    exponent = torch.where(normal, q + m + bias, torch.zeros_like(q))
    mantissa = torch.where(normal, R - 2**m, R)

    too_big = (exponent > f.max_exponent_field) | (
        (exponent == f.max_exponent_field) & (mantissa > f.max_mantissa_at_top)
    )
    too_big = too_big | ((E32 == 255) & (M32 == 0))  # infinities
    if f.overflow == "inf":
        over_e, over_m = 2**e_bits - 1, 0
    else:  # saturate (nan overflow is handled with the NaNs below)
        over_e, over_m = f.max_exponent_field, f.max_mantissa_at_top
    exponent = torch.where(too_big, over_e, exponent)
    mantissa = torch.where(too_big, over_m, mantissa)
    if f.special == "fnuz":
        sign = torch.where((exponent == 0) & (mantissa == 0), 0, sign)  # no negative zero
    bits = (sign << (e_bits + m)) | (exponent << m) | mantissa
    is_nan = (E32 == 255) & (M32 != 0)
    if f.overflow == "nan":
        is_nan = is_nan | too_big
    return torch.where(is_nan, _nan_bits(f), bits)


def round_to(x, fmt: FormatLike) -> torch.Tensor:
    r"""``x`` rounded to the nearest value of ``fmt`` (ties to even), returned as float32.

    :math:`\operatorname{round\_to}(x) = \operatorname{decode}(\operatorname{encode}(x))`.

    Matches: ``x.float().to(dtype).float()``, bit for bit, zeros' signs included.
    """
    return decode(encode(x, fmt), fmt).to(torch.float32)


def _float32(x, name: str) -> torch.Tensor:
    if isinstance(x, bool) or (isinstance(x, torch.Tensor) and x.dtype == torch.bool):
        raise TypeError(f"{name} must hold numbers, got bool")
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise TypeError(f"{name} must be real, got dtype {x.dtype}")
        return x.detach().to("cpu", torch.float32).contiguous()
    if isinstance(x, np.ndarray) and x.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {x.dtype}")
    if isinstance(x, (numbers.Real, np.ndarray)) and not isinstance(x, np.bool_):
        return torch.as_tensor(np.asarray(x, dtype=np.float32))
    if isinstance(x, (list, tuple)):
        return torch.tensor(x, dtype=torch.float32)
    raise TypeError(f"{name} must be a float, a list of floats or a tensor, got {type(x).__name__}")


def bit_string(x, fmt: FormatLike) -> str:
    """The fields of the single value ``x`` rounded to ``fmt``, e.g. ``'0 11110 1111111111'``."""
    f = get_format(fmt)
    b = encode(x, f)
    if b.numel() != 1:
        raise ValueError(f"x must be a single value, got {b.numel()} values")
    s, E, M = (int(t) for t in fields(b.reshape(()), f))
    return f"{s} {E:0{f.exponent_bits}b} {M:0{f.mantissa_bits}b}"


def representable_values(fmt: FormatLike) -> torch.Tensor:
    """Every finite value of a format of at most 16 bits, sorted, as float64 (-0.0 dropped)."""
    f = get_format(fmt)
    if f.bits > 16:
        raise ValueError(f"fmt must have at most 16 bits to enumerate, got {f.name} ({f.bits} bits)")
    values = decode(torch.arange(2**f.bits), f)
    values = values[torch.isfinite(values)]
    values = values[~((values == 0) & torch.signbit(values))]
    return torch.sort(values).values
