"""fp32, fp16, bf16 and fp8 from their bits, loss scaling, and where low precision breaks.

Chapter 10 of the book; see the submodules for the sources.

Dtypes: the formats are emulated from float32 bit patterns on any device (fp8 included, even
where torch cannot compute in it); :mod:`~dlnotes.precision.scaling` keeps its scale in float32
and unscales float32/float64 gradients.
"""
from .formats import (
    FORMATS,
    Fields,
    FloatFormat,
    bit_string,
    decode,
    encode,
    fields,
    get_format,
    representable_values,
    round_to,
)
from .numerics import (
    TrainResult,
    collect_gradients,
    kahan_sum,
    range_census,
    sequential_sum,
    train_regression,
)
from .fp8 import fp8_quantize, per_tensor_scale
from .memory import saved_tensor_bytes, state_bytes
from .scaling import GradScaler
from .tf32 import TF32, tf32_matmul

__all__ = [
    "FORMATS", "Fields", "FloatFormat", "GradScaler", "TrainResult", "bit_string",
    "collect_gradients", "decode", "encode", "fields", "get_format", "kahan_sum",
    "range_census", "representable_values", "round_to", "sequential_sum", "train_regression",
    "TF32", "tf32_matmul", "fp8_quantize", "per_tensor_scale", "state_bytes", "saved_tensor_bytes",
]  # fmt: skip
