"""Sweep specs for auc_inference, calibration, layer_stats and precision.tf32 / fp8 / memory.

References: scikit-learn where it has the function (log loss, the reliability curve), else the
definition written out independently: DeLong's components by the O(mn) double loop over
(positive, negative) pairs, the bootstrap by scikit-learn's AUC on the same resamples, TF32
rounding by float32 bit arithmetic, fp8 by torch's own float8 dtypes, byte counts by hand.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.stats import norm as _normal
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve as sk_calibration_curve

from dlnotes import auc_inference, calibration, layer_stats
from dlnotes.precision import fp8, memory, tf32
from sweep_kit import Spec

g = torch.Generator().manual_seed(5)
SPECS: dict[str, Spec] = {}


def np64(x):
    return np.asarray(torch.as_tensor(x).double() if not isinstance(x, np.ndarray) else x, dtype=np.float64)


# ---------------------------------------------------------------- auc_inference (DeLong)
YT = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0])
YS = torch.rand(12, generator=g, dtype=torch.float64)
YS2 = torch.rand(12, generator=g, dtype=torch.float64)
_SCORE_KINDS = ("float16", "float32", "int64", "bool", "noncontiguous", "numpy", "list", "nan", "inf", "empty",
                "single", "extra_dim", "scalar_0d")


def pairs(y_true, y_score):
    """V10, V01 by the definition: psi(x, y) = [x > y] + [x = y] / 2 over every pair."""
    y, s = np64(y_true), np64(y_score)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError("y_true and y_score must be 1-D of one length")
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    return psi.mean(1), psi.mean(0)


def delong_variance(y_true, y_score):
    v10, v01 = pairs(y_true, y_score)
    return float(v10.mean()), float(v10.var(ddof=1) / len(v10) + v01.var(ddof=1) / len(v01))


def delong_interval(y_true, y_score, level):
    auc, var = delong_variance(y_true, y_score)
    half = _normal.ppf((1 + level) / 2) * math.sqrt(var)
    return auc, max(0.0, auc - half), min(1.0, auc + half)


def delong_paired(y_true, y_score_1, y_score_2):
    (a10, a01), (b10, b01) = pairs(y_true, y_score_1), pairs(y_true, y_score_2)
    m, n = len(a10), len(a01)
    var = (a10.var(ddof=1) + b10.var(ddof=1) - 2 * np.cov(a10, b10)[0, 1]) / m \
        + (a01.var(ddof=1) + b01.var(ddof=1) - 2 * np.cov(a01, b01)[0, 1]) / n
    diff, se = a10.mean() - b10.mean(), math.sqrt(var)
    z = diff / se
    return {"auc_1": a10.mean(), "auc_2": b10.mean(), "difference": diff, "se": se, "z": z,
            "p_value": 2 * _normal.sf(abs(z))}


def bootstrap_reference(y_true, y_score, n_boot, seed):
    y, s = np64(y_true), np64(y_score)
    rng = np.random.default_rng(seed)
    ip, ineg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    out = []
    for _ in range(n_boot):
        idx = np.concatenate([rng.choice(ip, len(ip)), rng.choice(ineg, len(ineg))])
        out.append(skm.roc_auc_score(y[idx], s[idx]))
    return np.array(out)


SPECS["auc_inference.delong_components"] = Spec(auc_inference.delong_components, dict(y_true=YT, y_score=YS),
                                                tensors=("y_true", "y_score"), kinds=_SCORE_KINDS, rtol=1e-12,
                                                reference=pairs)
SPECS["auc_inference.auc_variance"] = Spec(auc_inference.auc_variance, dict(y_true=YT, y_score=YS),
                                           tensors=("y_true", "y_score"), kinds=_SCORE_KINDS, rtol=1e-12,
                                           reference=delong_variance)
SPECS["auc_inference.auc_confidence_interval"] = Spec(
    auc_inference.auc_confidence_interval, dict(y_true=YT, y_score=YS, level=0.9), tensors=("y_score",),
    numbers=("level",), nonneg=("level",), kinds=_SCORE_KINDS, rtol=1e-12, reference=delong_interval)
SPECS["auc_inference.delong_test"] = Spec(auc_inference.delong_test, dict(y_true=YT, y_score_1=YS, y_score_2=YS2),
                                          tensors=("y_score_1", "y_score_2"), kinds=_SCORE_KINDS, rtol=1e-10,
                                          reference=delong_paired)
SPECS["auc_inference.bootstrap_auc"] = Spec(
    lambda y_true, y_score, n_boot, seed: auc_inference.bootstrap_auc(y_true, y_score, n_boot=n_boot, seed=seed),
    dict(y_true=YT, y_score=YS, n_boot=20, seed=3), tensors=("y_score",), sizes={"n_boot": 2, "seed": 0},
    kinds=("float32", "int64", "noncontiguous", "numpy", "list", "nan", "empty", "single"), rtol=1e-12,
    reference=bootstrap_reference, skip=(("seed", "below_min"),))  # 0 is the smallest seed; -1 is 'negative'

# ---------------------------------------------------------------- calibration (scikit-learn)
P = torch.rand(12, generator=g, dtype=torch.float64)
W = torch.rand(12, generator=g, dtype=torch.float64) + 0.5
_PROB_KINDS = ("float16", "float32", "bool", "noncontiguous", "numpy", "list", "nan", "inf", "empty", "single",
               "extra_dim", "scalar_0d")
SPECS["calibration.log_loss"] = Spec(
    lambda y_true, y_prob, sample_weight: calibration.log_loss(y_true, y_prob, sample_weight=sample_weight),
    dict(y_true=YT, y_prob=P, sample_weight=W), tensors=("y_true", "y_prob", "sample_weight"), kinds=_PROB_KINDS,
    rtol=1e-12, reference=lambda y_true, y_prob, sample_weight: skm.log_loss(
        np64(y_true), np64(y_prob), sample_weight=np64(sample_weight), labels=[0, 1]))
SPECS["calibration.log_loss(eps)"] = Spec(lambda eps: calibration.log_loss(YT, P.clamp(0.2, 0.8), eps=eps),
                                          dict(eps=1e-3), numbers=("eps",), nonneg=("eps",), rtol=1e-12,
                                          reference=lambda eps: skm.log_loss(np64(YT), np64(P.clamp(0.2, 0.8))))
SPECS["calibration.calibration_curve"] = Spec(
    lambda y_true, y_prob, n_bins: calibration.calibration_curve(y_true, y_prob, n_bins=n_bins)[:2],
    dict(y_true=YT, y_prob=P, n_bins=4), tensors=("y_true", "y_prob"), sizes={"n_bins": 1}, kinds=_PROB_KINDS,
    rtol=1e-12, reference=lambda y_true, y_prob, n_bins: sk_calibration_curve(np64(y_true), np64(y_prob), n_bins=n_bins))
SPECS["calibration.calibration_curve(quantile)"] = Spec(
    lambda y_true, y_prob: calibration.calibration_curve(y_true, y_prob, n_bins=3, strategy="quantile")[:2],
    dict(y_true=YT, y_prob=P), rtol=1e-12,
    reference=lambda y_true, y_prob: sk_calibration_curve(np64(y_true), np64(y_prob), n_bins=3, strategy="quantile"))


def ece_by_loop(y_true, y_prob, n_bins):
    y, p = np64(y_true), np64(y_prob)
    if y.ndim != 1 or y.shape != p.shape or not len(y):
        raise ValueError("y_true and y_prob must be 1-D of one length")
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        inside = (p >= lo) & ((p < hi) if b < n_bins - 1 else (p <= hi))
        if inside.any():
            total += inside.sum() / len(p) * abs(y[inside].mean() - p[inside].mean())
    return total


SPECS["calibration.expected_calibration_error"] = Spec(
    lambda y_true, y_prob, n_bins: calibration.expected_calibration_error(y_true, y_prob, n_bins=n_bins),
    dict(y_true=YT, y_prob=P, n_bins=4), tensors=("y_true", "y_prob"), sizes={"n_bins": 1},
    kinds=("float32", "noncontiguous", "numpy", "list", "nan", "empty", "single", "extra_dim"), rtol=1e-12,
    reference=ece_by_loop)
SPECS["calibration.correct_negative_sampling"] = Spec(
    calibration.correct_negative_sampling, dict(y_prob=P, rate=0.25), tensors=("y_prob",), numbers=("rate",),
    nonneg=("rate",), kinds=_PROB_KINDS, rtol=1e-12,
    reference=lambda y_prob, rate: (lambda q: q * rate / (q * rate + 1 - q))(np64(y_prob)))


# ---------------------------------------------------------------- layer_stats
def stats_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()


NET = stats_net()
XL = torch.randn(7, 3, generator=g, dtype=torch.float64)


def stats_by_hand(model, inputs):
    if not isinstance(inputs, torch.Tensor) or inputs.dim() < 1 or inputs.shape[0] == 0:
        raise ValueError("inputs must be a non-empty batch")
    out, h = [], inputs
    with torch.no_grad():
        for name, layer in model.named_children():
            y = layer(h)
            if isinstance(layer, torch.nn.Linear):
                x64, y64 = h.double(), y.double()
                out.append({"name": name, "in_mean": x64.mean().item(), "in_var": x64.var(unbiased=False).item(),
                            "in_sq": (x64 ** 2).mean().item(), "out_mean": y64.mean().item(),
                            "out_var": y64.var(unbiased=False).item(), "out_sq": (y64 ** 2).mean().item()})
            h = y
    return out


def first_bad_by_hand(model, inputs):
    if not isinstance(inputs, torch.Tensor) or inputs.dim() < 1 or inputs.shape[0] == 0:
        raise ValueError("inputs must be a non-empty batch")
    h = inputs
    with torch.no_grad():
        for k, (name, layer) in enumerate(model.named_children()):
            h = layer(h)
            if not torch.isfinite(h).all():
                return k, name
    return None


_STATS_KINDS = ("float32", "float16", "noncontiguous", "numpy", "list", "nan", "inf", "empty", "single", "extra_dim",
                "scalar_0d")
SPECS["layer_stats.forward_stats"] = Spec(layer_stats.forward_stats, dict(model=NET, inputs=XL), tensors=("inputs",),
                                          kinds=_STATS_KINDS, rtol=1e-12, reference=stats_by_hand)
SPECS["layer_stats.first_nonfinite"] = Spec(layer_stats.first_nonfinite, dict(model=NET, inputs=XL * 1e300),
                                            tensors=("inputs",), kinds=_STATS_KINDS, reference=first_bad_by_hand)


# ---------------------------------------------------------------- precision: TF32, fp8, memory
def tf32_by_bits(a, b):
    """Round-to-nearest-even to 10 mantissa bits on float32's bit pattern, then an fp32 matmul."""
    def rne(t):
        if not isinstance(t, torch.Tensor) or t.dtype != torch.float32:
            raise TypeError("a and b must be float32 tensors")
        if t.dim() < 1:
            raise ValueError("a and b must have at least one dimension")
        bits = t.contiguous().view(torch.int32).to(torch.int64)
        finite = torch.isfinite(t)
        rounded = ((bits + 0xFFF + ((bits >> 13) & 1)) & ~0x1FFF)
        rounded = torch.where(finite, rounded, bits)
        rounded = torch.where(rounded >= 2**31, rounded - 2**32, rounded)
        return rounded.to(torch.int32).view(torch.float32)
    return rne(a) @ rne(b)


A = torch.randn(3, 5, generator=g) * 100
B = torch.randn(5, 2, generator=g)
SPECS["precision.tf32.tf32_matmul"] = Spec(tf32.tf32_matmul, dict(a=A, b=B), tensors=("a", "b"), rtol=1e-6,
                                           reference=tf32_by_bits)
SPECS["precision.tf32.TF32"] = Spec(lambda: (tf32.TF32.bits, tf32.TF32.max, tf32.TF32.eps, tf32.TF32.smallest_normal), {},
                                    reference=lambda: (19, (2 - 2**-10) * 2.0**127, 2.0**-10,
                                                       torch.finfo(torch.float32).tiny), rtol=0)
FP8 = {"e4m3": torch.float8_e4m3fn, "e5m2": torch.float8_e5m2}
XQ = torch.randn(6, 4, generator=g, dtype=torch.float64) * 1e-3


def torch_scale(x, fmt, margin):
    x = torch.as_tensor(x)
    amax = x.abs().max().item() if x.numel() else 0.0
    return 1.0 if amax == 0 else 2.0 ** (math.floor(math.log2(torch.finfo(FP8[fmt]).max / amax)) - margin)


def torch_quantize(x, fmt, margin):
    scale = torch_scale(x, fmt, margin)
    return (x.float() * scale).to(FP8[fmt]).float() / scale, scale


_FP8_KINDS = ("float16", "bfloat16", "float32", "noncontiguous", "nan", "inf", "empty", "single", "extra_dim",
              "scalar_0d", "numpy", "list")
for fmt in FP8:
    SPECS[f"precision.fp8.per_tensor_scale({fmt})"] = Spec(
        fp8.per_tensor_scale, dict(x=XQ, fmt=fmt, margin=1), tensors=("x",), sizes={"margin": 0}, rtol=0,
        kinds=_FP8_KINDS, reference=torch_scale)
    SPECS[f"precision.fp8.fp8_quantize({fmt})"] = Spec(
        lambda x, margin, _f=fmt: fp8.fp8_quantize(x, _f, margin=margin), dict(x=XQ, margin=0), tensors=("x",),
        sizes={"margin": 0}, rtol=0, kinds=_FP8_KINDS, reference=lambda x, margin, _f=fmt: torch_quantize(x, _f, margin))


def adam_after_a_step(dtype):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 1, bias=False)).to(dtype)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(2, 3, dtype=dtype)).sum().backward()
    opt.step()
    return model, opt


for dtype in (torch.float32, torch.float16):
    MODEL, OPT = adam_after_a_step(dtype)
    size = torch.finfo(dtype).bits // 8
    SPECS[f"precision.memory.state_bytes({dtype})"] = Spec(
        memory.state_bytes, dict(model=MODEL, optimizer=OPT),
        reference=lambda model, optimizer, _s=size: {"parameters": 20 * _s, "gradients": 20 * _s, "optimizer": 40 * _s,
                                                     "total": 80 * _s, "per_parameter": 4.0 * _s})
XM = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
WM = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
SPECS["precision.memory.saved_tensor_bytes"] = Spec(
    memory.saved_tensor_bytes, dict(closure=lambda: (XM * WM).sum()),
    reference=lambda closure: 2 * 12 * 8)  # x * w saves both factors; sum saves none
