"""Drills of chapter 2: batch norm in training (forward, running statistics, backward), layer and group norm."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import norm
from . import solutions as S
from .cases_gradients import gen, randint, randn, random_dtype, random_shape
from .catalogue import Drill, register
from .grading import Trial

__all__: list[str] = []  # importing the module registers its drills in DRILLS; nothing to import by name

CH02 = "notebooks/02_normalization"
FORMULA = (CH02, "ch02-formula", "Chapter 2, What batch normalization computes")
RUNNING = (CH02, "ch02-train-eval", "Chapter 2, Training versus evaluation, and the running estimates")
AXES = (CH02, "ch02-axes", "Chapter 2, BN, LN, IN and GN: the same formula over different axes")


def _bn_reference(x, weight, bias, rm, rv, momentum, eps):
    rm, rv = rm.clone(), rv.clone()
    y = F.batch_norm(x, rm, rv, weight, bias, training=True, momentum=momentum, eps=eps)
    return y, rm, rv


def _bn_cases():
    g = gen(10)
    out = []
    settings = [
        ("(N, C) = (4, 3) float64: a small batch, where biased and unbiased variance differ", (4, 3), torch.float64, 0.1, 1e-5, None),
        ("(N, C, H, W) = (5, 2, 3, 3) float32: statistics over N, H and W", (5, 2, 3, 3), torch.float32, 0.1, 1e-5, AXES),
        ("(N, C, L) = (3, 4, 6) float64", (3, 4, 6), torch.float64, 0.1, 1e-5, AXES),
        ("momentum=0.3: the newest batch's weight in the running estimates", (8, 3), torch.float64, 0.3, 1e-5, RUNNING),
        ("eps=0.1 on a channel of tiny variance: eps goes inside the square root", (6, 2), torch.float64, 0.1, 0.1, None),
        ("N = 2, the smallest batch BN trains on", (2, 5), torch.float64, 0.1, 1e-5, None),
    ]
    for d, shape, dtype, momentum, eps, section in settings:
        x = randn(g, *shape, dtype=dtype, scale=2.0) + 1.5
        if eps == 0.1:
            x = x * 0.05
        c = shape[1]
        w, b = randn(g, c, dtype=dtype) + 1, randn(g, c, dtype=dtype)
        rm, rv = randn(g, c, dtype=dtype), randn(g, c, dtype=dtype).abs() + 0.5
        hint = None
        if "momentum" in d:
            hint = ("In nn.BatchNorm, momentum is the weight of the newest batch: "
                    "running = (1 - momentum) running + momentum batch (the opposite of an optimizer's momentum).")
        elif "small batch" in d or "N = 2" in d:
            hint = ("Normalize with the biased batch variance (divide by m); the running estimate "
                    "stores the unbiased one (times m / (m - 1)).")
        out.append(Trial(d, (x, w, b, rm, rv), {"momentum": momentum, "eps": eps},
                         expected=_bn_reference(x, w, b, rm, rv, momentum, eps), hint=hint, section=section))
    r = gen(110)
    for _ in range(2):
        shape = (randint(r, 2, 6), randint(r, 1, 4), *random_shape(r, 0, 2, 1, 4))
        dtype, momentum = random_dtype(r), round(float(torch.rand(1, generator=r)), 2)
        x = randn(r, *shape, dtype=dtype, scale=2.0) - 0.5
        c = shape[1]
        w, b = randn(r, c, dtype=dtype) + 1, randn(r, c, dtype=dtype)
        rm, rv = randn(r, c, dtype=dtype), randn(r, c, dtype=dtype).abs() + 0.5
        out.append(Trial(f"random shape {shape}, {str(dtype)[6:]}, momentum={momentum}", (x, w, b, rm, rv),
                         {"momentum": momentum, "eps": 1e-5}, expected=_bn_reference(x, w, b, rm, rv, momentum, 1e-5)))
    return out


register(Drill(
    name="batch_norm_train",
    signature="batch_norm_train(x, weight, bias, running_mean, running_var, momentum=0.1, eps=1e-5)",
    chapter=2, difficulty="medium", questions=("A2", "E25", "E33"),
    statement=r"Training-mode batch norm of an $(N, C)$ or $(N, C, *)$ input. Return "
              r"`(y, new_running_mean, new_running_var)`: $y = \gamma (x - \mu_B)/\sqrt{\sigma_B^2 + \epsilon} + \beta$ "
              "per channel, and the running estimates updated as `nn.BatchNorm2d` does. Do not modify the inputs.",
    hint="Batch norm has one mean and one variance per channel, taken over every axis except the channel axis.",
    section=FORMULA, cases=_bn_cases, solution=S.batch_norm_train, shows=(norm.BatchNorm,),
    outputs=("y", "new_running_mean", "new_running_var"),
    reference="F.batch_norm(x, running_mean, running_var, weight, bias, training=True, momentum=momentum, eps=eps)"))


def _ln_cases():
    g = gen(11)
    out = []
    for d, shape, ns, dtype in [("(4, 10) float64, normalized_shape=10", (4, 10), 10, torch.float64),
                                ("(2, 5, 8) float32, normalized_shape=(8,)", (2, 5, 8), (8,), torch.float32),
                                ("(3, 4, 5) float64, normalized_shape=(4, 5): the last two axes", (3, 4, 5), (4, 5), torch.float64),
                                ("(2, 3) float64, a batch of two: statistics never mix samples", (2, 3), 3, torch.float64)]:
        x = randn(g, *shape, dtype=dtype, scale=3.0) + 2
        tail = (ns,) if isinstance(ns, int) else ns
        w, b = randn(g, *tail, dtype=dtype) + 1, randn(g, *tail, dtype=dtype)
        hint = "normalized_shape names the trailing axes to normalize over, all of them together." if "two axes" in d else None
        out.append(Trial(d, (x, ns, w, b), expected=F.layer_norm(x, tail, w, b, 1e-5), hint=hint))
    r = gen(111)
    for _ in range(2):
        shape, dtype = random_shape(r, 2, 4, 2, 6), random_dtype(r)
        tail = shape[len(shape) - randint(r, 1, 2):]
        x = randn(r, *shape, dtype=dtype, scale=2.0)
        w, b = randn(r, *tail, dtype=dtype) + 1, randn(r, *tail, dtype=dtype)
        out.append(Trial(f"random shape {shape}, {str(dtype)[6:]}, normalized_shape={tail}", (x, tail, w, b),
                         expected=F.layer_norm(x, tail, w, b, 1e-5)))
    return out


register(Drill(
    name="layer_norm", signature="layer_norm(x, normalized_shape, weight, bias, eps=1e-5)", chapter=2,
    difficulty="easy", questions=("E33",),
    statement=r"Normalize each sample over its last `len(normalized_shape)` axes (an int means one axis), "
              r"with the biased variance, then scale by `weight` and shift by `bias` (both of `normalized_shape`).",
    hint="Layer norm takes one mean and one (biased) variance per sample, over the trailing axes.",
    section=AXES, cases=_ln_cases, solution=S.layer_norm, shows=(norm.LayerNorm,),
    reference="F.layer_norm(x, normalized_shape, weight, bias, eps)"))


def _gn_cases():
    g = gen(12)
    out = []
    for d, shape, groups, dtype in [("(2, 6, 4, 4) float64, 3 groups", (2, 6, 4, 4), 3, torch.float64),
                                    ("(3, 8, 5) float32, 2 groups", (3, 8, 5), 2, torch.float32),
                                    ("(2, 4, 3, 3), 1 group: layer norm with per-channel affine", (2, 4, 3, 3), 1, torch.float64),
                                    ("(2, 4, 3, 3), 4 groups: instance norm", (2, 4, 3, 3), 4, torch.float64),
                                    ("(5, 6) float64, 2 groups, no spatial axes", (5, 6), 2, torch.float64)]:
        x = randn(g, *shape, dtype=dtype, scale=2.0) + torch.arange(shape[1], dtype=dtype).reshape(1, -1, *[1] * (len(shape) - 2))
        c = shape[1]
        w, b = randn(g, c, dtype=dtype) + 1, randn(g, c, dtype=dtype)
        hint = ("Groups are runs of consecutive channels: channels 0..C/G-1 form group 0."
                if groups in (2, 3) else None)
        out.append(Trial(d, (x, groups, w, b), expected=F.group_norm(x, groups, w, b, 1e-5), hint=hint))
    return out


register(Drill(
    name="group_norm", signature="group_norm(x, num_groups, weight, bias, eps=1e-5)", chapter=2,
    difficulty="medium", questions=("E33",),
    statement=r"Split the $C$ channels of an $(N, C, *)$ input into `num_groups` groups of consecutive channels; "
              r"normalize each sample's group over its channels and spatial axes (biased variance); then a "
              "per-channel scale and shift.",
    hint="Group norm: one mean and variance per (sample, group).",
    section=AXES, cases=_gn_cases, solution=S.group_norm, shows=(norm.GroupNorm,),
    reference="F.group_norm(x, num_groups, weight, bias, eps)"))


def _bn_backward_reference(g_out, x, w, eps):
    x = x.clone().requires_grad_(True)
    w = w.clone().requires_grad_(True)
    b = torch.zeros_like(w, requires_grad=True)
    y = F.batch_norm(x, None, None, w, b, training=True, eps=eps)
    return tuple(t.detach() for t in torch.autograd.grad(y, (x, w, b), g_out))


def _bn_backward_cases():
    g = gen(13)
    out = []
    for d, shape, dtype in [("(6, 3) float64", (6, 3), torch.float64), ("(4, 2, 3, 3) float64", (4, 2, 3, 3), torch.float64),
                            ("(8, 4) float32", (8, 4), torch.float32), ("(3, 2, 5) float64", (3, 2, 5), torch.float64)]:
        x = randn(g, *shape, dtype=dtype, scale=2.0) + 1
        w = randn(g, shape[1], dtype=dtype) + 1
        g_out = randn(g, *shape, dtype=dtype)
        out.append(Trial(d, (g_out, x, w), expected=_bn_backward_reference(g_out, x, w, 1e-5),
                         hint="The batch mean and variance depend on every x_i: the input gradient has two "
                              "extra terms, and it sums to zero over each channel."))
    return out


register(Drill(
    name="batch_norm_backward", signature="batch_norm_backward(grad_out, x, weight, eps=1e-5)", chapter=2,
    difficulty="hard", questions=("A2",),
    statement=r"By hand, without autograd: the gradients `(grad_x, grad_weight, grad_bias)` of training-mode batch "
              r"norm $y = \gamma\hat x + \beta$ (statistics over every axis but the channel) given "
              r"$\partial L/\partial y$ = `grad_out`.",
    hint="Backward through batch norm: the mean and the variance are functions of the batch.",
    section=(CH02, "ch02-backward", "Chapter 2, The backward pass, derived by hand"),
    cases=_bn_backward_cases, solution=S.batch_norm_backward, shows=(norm.BatchNormFunction,),
    outputs=("grad_x", "grad_weight", "grad_bias"),
    reference="torch.autograd.grad through F.batch_norm(..., training=True)"))
