r"""TF32, the tensor-core format of NVIDIA GPUs from Ampere (compute capability 8.0) on.

TF32 is not a storage type: tensors stay fp32 in memory, and a matmul with TF32 enabled
rounds its *inputs* to fp32's 8 exponent bits and fp16's 10 mantissa bits (19 bits in all),
multiplies them exactly and accumulates in fp32. It keeps fp32's range and has fp16's
precision, :math:`\epsilon = 2^{-10}`. PyTorch enables it for cuDNN convolutions by default
and, since 1.12, not for matmuls (``torch.backends.cuda.matmul.allow_tf32 = False``); an
"fp32" timing on an Ampere GPU with it on measures TF32.

This module emulates it on any device, so its rounding error can be measured where no such
GPU exists.

Dtypes: ``a`` and ``b`` must be float32 tensors (TF32 is a mode of fp32 matmuls); the rounded
inputs and the result are float32.
"""
from __future__ import annotations

import torch

from .formats import FloatFormat, round_to

__all__ = ["TF32", "tf32_matmul"]

TF32 = FloatFormat("tf32", 8, 10)
"""1 sign, 8 exponent and 10 mantissa bits: fp32's range, fp16's precision."""


def tf32_matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""``a @ b`` as a TF32 tensor core computes it: inputs rounded to TF32, products exact, sums in fp32.

    .. math:: C = \operatorname{fl}_{32}\Bigl(\sum_k \operatorname{rne}_{19}(a_{ik})\,\operatorname{rne}_{19}(b_{kj})\Bigr)

    The product of two 11-bit significands has 22 bits, so it is exact in fp32. Inputs are
    rounded to nearest (ties to even); the hardware's conversion may differ in the last bit.

    Matches: ``torch.matmul`` on an Ampere-or-newer GPU with
    ``torch.backends.cuda.matmul.allow_tf32 = True``, up to the summation order.
    """
    for name, t in (("a", a), ("b", b)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dtype != torch.float32:
            raise TypeError(f"{name} must be float32 (TF32 is a mode of fp32 matmuls), got {t.dtype}")
        if t.dim() < 1:
            raise ValueError(f"{name} must have at least one dimension, got a 0-d tensor")
    a_r = round_to(a, TF32).to(a.device).reshape(a.shape)
    b_r = round_to(b, TF32).to(b.device).reshape(b.shape)
    return a_r @ b_r
