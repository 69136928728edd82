"""fp32, fp16, bf16 and fp8 from their bits, loss scaling, and where low precision breaks.

Chapter 10 of the book; see the submodules for the sources.
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
from .scaling import GradScaler

__all__ = [
    "FORMATS", "Fields", "FloatFormat", "GradScaler", "TrainResult", "bit_string",
    "collect_gradients", "decode", "encode", "fields", "get_format", "kahan_sum",
    "range_census", "representable_values", "round_to", "sequential_sum", "train_regression",
]  # fmt: skip
