"""Drills of chapter 10: rounding to bf16 through the bits, and the dynamic loss-scale update."""
from __future__ import annotations

import torch

from ..precision import GradScaler, round_to
from . import solutions as S
from .cases_gradients import gen, random_shape
from .catalogue import Drill, register
from .grading import Trial, compare, describe

__all__: list[str] = []  # importing the module registers its drills in DRILLS; nothing to import by name

CH10 = "notebooks/10_precision"
LAYOUTS = (CH10, "ch10-layouts", "Chapter 10, Three layouts, one formula")
SCALING = (CH10, "ch10-loss-scaling", "Chapter 10, Loss scaling")


def _bits_judge(expected: torch.Tensor):
    def judge(got):
        if not isinstance(got, torch.Tensor):
            return f"expected a float32 tensor, got {describe(got)}"
        if got.dtype != torch.float32 or tuple(got.shape) != tuple(expected.shape):
            return f"expected float32 of shape {tuple(expected.shape)}, got {str(got.dtype)[6:]} of shape {tuple(got.shape)}"
        got = got.detach().cpu()
        nan_e, nan_g = expected.isnan(), got.isnan()
        if not torch.equal(nan_e, nan_g):
            i = int((nan_e != nan_g).nonzero()[0][0])
            return f"NaN mismatch at index {i}: expected {expected.flatten()[i].item()}, got {got.flatten()[i].item()}"
        be, bg = expected.view(torch.int32), got.view(torch.int32)
        bad = (be != bg) & ~nan_e
        if bool(bad.any()):
            i = int(bad.flatten().nonzero()[0])
            e, g = expected.flatten()[i].item(), got.flatten()[i].item()
            return (f"{int(bad.sum())} of {expected.numel()} values differ; first at index {i}: expected {e!r} "
                    f"(bits {be.flatten()[i].item() & 0xFFFFFFFF:#010x}), got {g!r} (bits {bg.flatten()[i].item() & 0xFFFFFFFF:#010x})")
        return None
    return judge


def _bits(values) -> torch.Tensor:
    signed = [v - 2**32 if v >= 2**31 else v for v in values]
    return torch.tensor(signed, dtype=torch.int32).view(torch.float32)


def _bf16_cases():
    g = gen(40)
    out = []
    normal = torch.randn(1000, generator=g) * torch.logspace(-8, 8, 1000).float()
    ties_upper = torch.randint(0x3F00, 0x4100, (200,), generator=g)
    ties = _bits(((ties_upper << 16) | 0x8000).tolist())
    special = torch.cat([torch.tensor([float("inf"), float("-inf"), float("nan"), 0.0, -0.0, 1.0, -2.5]),
                         _bits([0x7FFFFFFF, 0xFFC00001])])  # NaNs with full payloads
    top = torch.tensor([3.4028234663852886e38, -3.4028234663852886e38, 3.3895313892515355e38, 3.39e38, 65504.0])
    tiny = _bits([0x00000001, 0x00008000, 0x00018000, 0x007FFFFF, 0x80000001, 0x00800000])
    for d, x, hint in [
        ("1,000 values from 1e-8 to 1e8", normal, None),
        ("exact ties (the dropped half is 0x8000): round to even", ties,
         "Round to nearest, ties to even: when the 16 bits dropped are exactly 0x8000 (half way), "
         "the result must be the neighbour whose last kept bit is 0."),
        ("inf, -inf, NaN, +0, -0", special, "inf, -inf and NaN must come through as themselves; a NaN must stay a NaN."),
        ("near float32's maximum: some values round up to inf", top, "bf16's largest finite value is about 3.3895e38; "
                                                                     "float32 values above the halfway point round to inf."),
        ("subnormal float32 values", tiny, None),
        ("a (3, 4) tensor", torch.randn(3, 4, generator=g), None),
        (f"random shape {random_shape(gen(130))}, magnitudes 1e-30 to 1e30", torch.randn(random_shape(gen(130)), generator=g)
         * 10.0 ** (torch.rand(random_shape(gen(130)), generator=g) * 60 - 30), None)]:
        out.append(Trial(d, (x,), judge=_bits_judge(x.to(torch.bfloat16).float()), hint=hint))
    return out


register(Drill(
    name="bf16_round", signature="bf16_round(x)", chapter=10, difficulty="hard", questions=("E49",),
    statement=r"`x` is float32. Return the nearest bf16 value of every entry as float32, rounding ties to even, "
              "by manipulating the bits (`x.view(torch.int32)`); inf and NaN kept.",
    hint="bf16 is the upper 16 bits of a float32: round the lower 16 bits away.",
    section=LAYOUTS, cases=_bf16_cases, solution=S.bf16_round, shows=(round_to,),
    reference="x.to(torch.bfloat16).float(), bit for bit"))


def _torch_scale_updates(scale, tracker, infs, growth_factor, backoff_factor, interval):
    s = torch.tensor([float(scale)], dtype=torch.float32)
    t = torch.tensor([tracker], dtype=torch.int32)
    out = []
    for inf in infs:
        torch._amp_update_scale_(s, t, torch.tensor([1.0 if inf else 0.0]), growth_factor, backoff_factor, interval)
        out.append((float(s), int(t)))
    return out


def _scale_run(call, scale, tracker, infs, factors, expected):
    state = (scale, tracker)
    for i, (inf, exp) in enumerate(zip(infs, expected), 1):
        got = call(state[0], state[1], inf, *factors)
        problem = compare(got, exp, rtol=1e-6, atol=0.0, names=("new_scale", "new_growth_tracker"))
        if problem:
            where = f"update {i} of {len(infs)} (found_inf={inf}, from scale={state[0]:g}, growth_tracker={state[1]})"
            return f"{where}: {problem}"
        state = got
    return None


def _scale_cases():
    out = []
    for d, scale, tracker, infs, factors, hint in [
        ("an inf/NaN gradient: back off and reset the count", 65536.0, 5, [True], (2.0, 0.5, 2000),
         "An overflow skips the step, multiplies the scale by backoff_factor and restarts the count of clean steps."),
        ("a clean step below the interval: count it", 65536.0, 5, [False], (2.0, 0.5, 2000), None),
        ("the growth_interval-th clean step in a row: grow and reset", 1024.0, 1999, [False], (2.0, 0.5, 2000),
         "Grow when this clean step makes growth_interval in a row (tracker + 1 == growth_interval)."),
        ("12 updates, growth_interval=3, overflows at updates 4 and 9", 256.0, 0,
         [False, False, False, True, False, False, False, False, True, False, False, False], (2.0, 0.5, 3), None),
        ("growth that would overflow float32 is not applied", 2.0**127, 9, [False], (2.0, 0.5, 10),
         "A grown scale that is not finite in float32 is not applied (the count still resets)."),
        ("growth_factor=4, backoff_factor=0.25, growth_interval=2", 8.0, 0, [False, False, True, False, False, False],
         (4.0, 0.25, 2), None)]:
        expected = _torch_scale_updates(scale, tracker, infs, *factors)
        out.append(Trial(d, run=lambda call, a=(scale, tracker, infs, factors), e=expected: _scale_run(call, *a, e),
                         inputs=f"scale={scale:g}, growth_tracker={tracker}, found_inf per update {infs}, "
                                f"(growth_factor, backoff_factor, growth_interval)={factors}", hint=hint))
    return out


register(Drill(
    name="loss_scale_update",
    signature="loss_scale_update(scale, growth_tracker, found_inf, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000)",
    chapter=10, difficulty="easy", questions=("E49",),
    statement=r"The dynamic loss scaler's update after one step; return `(new_scale, new_growth_tracker)`. "
              "`growth_tracker` counts the clean steps in a row; `found_inf` says whether this step's gradients overflowed.",
    hint="Dynamic loss scaling: back off on overflow, grow after growth_interval clean steps in a row.",
    section=SCALING, cases=_scale_cases, solution=S.loss_scale_update, shows=(S.loss_scale_update, GradScaler.update),
    outputs=("new_scale", "new_growth_tracker"), reference="torch._amp_update_scale_ (the kernel behind torch.amp.GradScaler)"))
