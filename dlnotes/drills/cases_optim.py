"""Drills of chapters 5 and 6 (and 1's decoupled decay): optimizer steps, the EWA, schedules."""
from __future__ import annotations

import pandas as pd
import torch

from .. import schedules
from ..optim import SGD, Adam, AdamW, RMSprop, ewa
from . import solutions as S
from .cases_gradients import gen, randn, random_dtype, random_shape
from .catalogue import Drill, register
from .grading import Trial, compare

__all__: list[str] = []  # importing the module registers its drills in DRILLS; nothing to import by name

CH05 = "notebooks/05_optimizers"
CH06 = "notebooks/06_lr_schedules"
EWA = (CH05, "ch05-ewa", "Chapter 5, Exponentially weighted averages and Adam's bias correction")
MOMENTUM = (CH05, "ch05-momentum", "Chapter 5, Momentum on an ill-conditioned quadratic")
DEFAULTS = (CH05, "ch05-defaults", "Chapter 5, The notes' defaults versus torch's")
DECOUPLED = ("notebooks/01_generalization", "ch01-decoupled", "Chapter 1, L2 penalty versus decoupled weight decay")
ZOO = (CH06, "ch06-zoo", "Chapter 6, The schedules, as functions of the step")
WARMUP = (CH06, "ch06-warmup", "Chapter 6, Warm-up")


def _torch_run(opt_class, p0, grads, hyper, state=None, lrs=None):
    """torch's iterates: (param, *state tensors) after each of ``grads``."""
    p = torch.nn.Parameter(p0.clone())
    opt = opt_class([p], foreach=False, **hyper)
    if state:
        opt.state[p] = {k: v.clone() for k, v in state.items()}
    out = []
    for i, g in enumerate(grads):
        if lrs is not None:
            opt.param_groups[0]["lr"] = lrs[i]
        p.grad = g.clone()
        opt.step()
        s = opt.state[p]
        keys = {torch.optim.Adam: ("exp_avg", "exp_avg_sq"), torch.optim.AdamW: ("exp_avg", "exp_avg_sq"),
                torch.optim.SGD: ("momentum_buffer",), torch.optim.RMSprop: ("square_avg",)}[opt_class]
        out.append((p.detach().clone(), *(s[k].clone() for k in keys)))
    return out


def _chain(call, make_args, expected, names):
    """Feed the candidate's own outputs back in, step after step, comparing each step."""
    state = None
    for t, exp in enumerate(expected, 1):
        args, kwargs = make_args(t, state)
        got = call(*args, **kwargs)
        problem = compare(got, exp, names=names)
        if problem:
            return f"step {t} of {len(expected)}: {problem}"
        state = got
    return None


# --------------------------------------------------------------------------- Adam and AdamW
def _adam_family_cases(torch_class, defaults, decay_note):
    g = gen(20)
    out = []
    names = ("new_param", "new_exp_avg", "new_exp_avg_sq")
    settings = [
        ("one step from zero state (step=1), float64", (5,), torch.float64, 1, 1.0, {"lr": 1e-2}, None, None),
        ("10 steps in a row, lr=1e-2, float64", (4, 3), torch.float64, 10, 1.0, {"lr": 1e-2}, None, None),
        (f"weight_decay=0.1 with lr=0.1, 5 steps: {decay_note}", (6,), torch.float64, 5, 1.0,
         {"lr": 0.1, "weight_decay": 0.1}, None, None),
        ("gradients of size 1e-4, 4 steps: eps=1e-8 is added outside the square root", (5,), torch.float64, 4, 1e-4,
         {"lr": 1e-3}, None, "eps"),
        ("mid-run: step=7 with the given moments, betas=(0.8, 0.99)", (5,), torch.float64, 1, 1.0,
         {"lr": 1e-2, "betas": (0.8, 0.99)}, 7, None),
        ("float32 parameter (3, 4), 5 steps", (3, 4), torch.float32, 5, 1.0, {"lr": 1e-3}, None, None),
    ]
    r = gen(120)
    shape, dtype = random_shape(r, 1, 3), random_dtype(r)
    settings.append((f"random shape {shape}, {str(dtype)[6:]}, 3 steps, betas=(0.5, 0.9)", shape, dtype, 3, 1.0,
                     {"lr": 5e-2, "betas": (0.5, 0.9)}, None, None))
    for d, shape, dtype, n, scale, hyper, start, flag in settings:
        p0 = randn(g, *shape, dtype=dtype)
        grads = [randn(g, *shape, dtype=dtype, scale=scale) for _ in range(n)]
        hyper = {**defaults, **hyper}
        state = None
        if start is not None:
            state = {"step": torch.tensor(float(start - 1)), "exp_avg": randn(g, *shape, dtype=dtype, scale=0.1),
                     "exp_avg_sq": randn(g, *shape, dtype=dtype, scale=0.1) ** 2}
        expected = _torch_run(torch_class, p0, grads, hyper, state)

        def make_args(t, prev, p0=p0, grads=grads, hyper=hyper, state=state, start=start, dtype=dtype):
            if prev is None:
                m = state["exp_avg"] if state else torch.zeros_like(p0)
                v = state["exp_avg_sq"] if state else torch.zeros_like(p0)
                prev = (p0, m, v)
            step = (start or 1) + t - 1
            return (prev[0], grads[t - 1], prev[1], prev[2], step), hyper

        hint = None
        if flag == "eps":
            hint = "Adam divides by sqrt(v_hat) + eps: eps is outside the square root."
        elif "weight_decay" in d:
            hint = decay_note[0].upper() + decay_note[1:] + "."
        elif "one step" in d:
            hint = "Bias correction: divide m by 1 - beta1^t and v by 1 - beta2^t, with t the number of this update (1 first)."
        out.append(Trial(d, run=lambda call, mk=make_args, e=expected: _chain(call, mk, e, names), hint=hint,
                         inputs=f"param of shape {shape}, {str(dtype)[6:]}, {n} gradient(s), {hyper}"
                                + (f", starting at step={start}" if start else ""),
                         section=DECOUPLED if "weight_decay" in d and torch_class is torch.optim.AdamW else None))
    return out


register(Drill(
    name="adam_step",
    signature="adam_step(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)",
    chapter=5, difficulty="medium", questions=("B7", "E48", "A9", "E6"),
    statement=r"One Adam update; return `(new_param, new_exp_avg, new_exp_avg_sq)`. `step` is this update's "
              r"number, counting from 1. $m \leftarrow \beta_1 m + (1-\beta_1) g$, $v \leftarrow \beta_2 v + (1-\beta_2) g^2$, "
              r"$\theta \leftarrow \theta - \eta\,\hat m/(\sqrt{\hat v} + \epsilon)$ with bias-corrected $\hat m, \hat v$; "
              "`weight_decay` adds $\\lambda\\theta$ to the gradient, as `torch.optim.Adam` does.",
    hint="Adam: two exponentially weighted averages, bias-corrected, and a step of lr * m_hat / (sqrt(v_hat) + eps).",
    section=EWA, cases=lambda: _adam_family_cases(torch.optim.Adam, {}, "weight decay in Adam is an L2 term added to the gradient before the moments"),
    solution=S.adam_step, shows=(Adam,), outputs=("new_param", "new_exp_avg", "new_exp_avg_sq"),
    reference="torch.optim.Adam(..., foreach=False).step()"))

register(Drill(
    name="adamw_step",
    signature="adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)",
    chapter=5, difficulty="medium", questions=("B7", "E48"),
    statement=r"One AdamW update: first shrink the weights, $\theta \leftarrow (1 - \eta\lambda)\theta$, then the Adam "
              "step computed from the raw gradient. Return `(new_param, new_exp_avg, new_exp_avg_sq)`.",
    hint="AdamW decouples weight decay: it never enters the moments.",
    section=DECOUPLED,
    cases=lambda: _adam_family_cases(torch.optim.AdamW, {"weight_decay": 1e-2},
                                     "AdamW shrinks the weights by (1 - lr * weight_decay) before the Adam step, and the decay never enters m or v"),
    solution=S.adamw_step, shows=(AdamW, Adam), outputs=("new_param", "new_exp_avg", "new_exp_avg_sq"),
    reference="torch.optim.AdamW(..., foreach=False).step()"))


# --------------------------------------------------------------------------- SGD with momentum
def _sgd_cases():
    g = gen(21)
    out = []
    names = ("new_param", "new_buf")
    settings = [("first step: buf is None", (5,), torch.float64, 1, {"lr": 0.1, "momentum": 0.9}, None),
                ("8 steps, momentum=0.9", (4,), torch.float64, 8, {"lr": 0.05, "momentum": 0.9}, None),
                ("nesterov=True, 6 steps", (3, 2), torch.float64, 6, {"lr": 0.05, "momentum": 0.8, "nesterov": True}, None),
                ("the learning rate changes every step (a schedule), 5 steps", (4,), torch.float64, 5,
                 {"lr": 0.1, "momentum": 0.9}, [0.1, 0.05, 0.02, 0.2, 0.1]),
                ("float32 parameter, 4 steps", (6,), torch.float32, 4, {"lr": 0.01, "momentum": 0.5}, None)]
    for d, shape, dtype, n, hyper, lrs in settings:
        p0 = randn(g, *shape, dtype=dtype)
        grads = [randn(g, *shape, dtype=dtype) for _ in range(n)]
        expected = _torch_run(torch.optim.SGD, p0, grads, hyper, lrs=lrs)

        def make_args(t, prev, p0=p0, grads=grads, hyper=hyper, lrs=lrs):
            param, buf = (p0, None) if prev is None else prev
            kw = {"nesterov": hyper.get("nesterov", False)}
            lr = lrs[t - 1] if lrs else hyper["lr"]
            return (param, grads[t - 1], buf, lr, hyper["momentum"]), kw

        hint = None
        if "first" in d:
            hint = "torch starts the buffer at the first gradient itself (buf = g), not at zero times anything."
        elif "schedule" in d:
            hint = "torch keeps the learning rate out of the buffer: buf = mu * buf + g, then param -= lr * buf."
        elif "nesterov" in d:
            hint = "torch's Nesterov steps along g + mu * buf with the buffer already updated."
        out.append(Trial(d, run=lambda call, mk=make_args, e=expected: _chain(call, mk, e, names), hint=hint,
                         inputs=f"param of shape {shape}, {str(dtype)[6:]}, {n} gradient(s), {hyper}"
                                + (f", lr per step {lrs}" if lrs else "")))
    return out


register(Drill(
    name="sgd_momentum_step", signature="sgd_momentum_step(param, grad, buf, lr, momentum, nesterov=False)",
    chapter=5, difficulty="easy", questions=("B7", "C6", "A9"),
    statement=r"One step of SGD with heavy-ball momentum in torch's convention; return `(new_param, new_buf)`. "
              r"`buf` is `None` on the first step and becomes `grad`; afterwards $b \leftarrow \mu b + g$; "
              r"$\theta \leftarrow \theta - \eta b$ (Nesterov: $\theta \leftarrow \theta - \eta (g + \mu b)$).",
    hint="Momentum keeps a running sum of gradients, decayed by mu.",
    section=MOMENTUM, cases=_sgd_cases, solution=S.sgd_momentum_step, shows=(SGD,), outputs=("new_param", "new_buf"),
    reference="torch.optim.SGD(..., momentum=momentum, nesterov=nesterov, foreach=False).step()"))


# --------------------------------------------------------------------------- RMSprop
def _rmsprop_cases():
    g = gen(22)
    out = []
    names = ("new_param", "new_square_avg")
    for d, shape, dtype, n, scale, hyper in [("6 steps with torch's defaults (lr=1e-2, alpha=0.99)", (5,), torch.float64, 6, 1.0, {}),
                                             ("alpha=0.9, lr=1e-3, 5 steps", (3, 3), torch.float64, 5, 1.0, {"lr": 1e-3, "alpha": 0.9}),
                                             ("gradients of size 1e-5: eps outside the square root", (4,), torch.float64, 3, 1e-5, {}),
                                             ("float32, 4 steps", (6,), torch.float32, 4, 1.0, {"lr": 1e-2})]:
        p0 = randn(g, *shape, dtype=dtype)
        grads = [randn(g, *shape, dtype=dtype, scale=scale) for _ in range(n)]
        expected = _torch_run(torch.optim.RMSprop, p0, grads, hyper)

        def make_args(t, prev, p0=p0, grads=grads, hyper=hyper):
            param, sq = (p0, torch.zeros_like(p0)) if prev is None else prev
            return (param, grads[t - 1], sq), hyper

        hint = "torch's RMSprop divides by sqrt(square_avg) + eps." if "eps" in d else None
        if "alpha" in d:
            hint = "alpha is the weight of the old average: s = alpha * s + (1 - alpha) * g^2."
        out.append(Trial(d, run=lambda call, mk=make_args, e=expected: _chain(call, mk, e, names), hint=hint,
                         inputs=f"param of shape {shape}, {str(dtype)[6:]}, {n} gradient(s) of scale {scale:g}, {hyper}"))
    return out


register(Drill(
    name="rmsprop_step", signature="rmsprop_step(param, grad, square_avg, lr=1e-2, alpha=0.99, eps=1e-8)",
    chapter=5, difficulty="easy", questions=("B7", "E48"),
    statement=r"One RMSProp update (no momentum, not centered); return `(new_param, new_square_avg)`: "
              r"$s \leftarrow \alpha s + (1-\alpha) g^2$, $\theta \leftarrow \theta - \eta\, g/(\sqrt{s} + \epsilon)$.",
    hint="RMSProp divides each coordinate's step by a running root mean square of its gradients.",
    section=DEFAULTS, cases=_rmsprop_cases, solution=S.rmsprop_step, shows=(RMSprop,),
    outputs=("new_param", "new_square_avg"), reference="torch.optim.RMSprop(..., foreach=False).step()"))


# --------------------------------------------------------------------------- EWA with bias correction
def _ewa_cases():
    g = gen(23)
    out = []
    for d, xs, beta in [("20 values, beta=0.9", randn(g, 20) + 3, 0.9), ("(15, 3): three series at once, beta=0.98", randn(g, 15, 3) + 1, 0.98),
                        ("beta=0: the average is the series itself", randn(g, 8), 0.0),
                        ("float32, 10 values, beta=0.5", randn(g, 10, dtype=torch.float32), 0.5)]:
        frame = pd.DataFrame(xs.double().reshape(xs.shape[0], -1).numpy())
        ref = torch.from_numpy(frame.ewm(alpha=1 - beta, adjust=True).mean().to_numpy().copy()).reshape(xs.shape).to(xs.dtype)
        out.append(Trial(d, (xs, beta), expected=ref,
                         hint="The average starts at v_0 = 0; dividing v_t by 1 - beta^t removes the pull towards 0."
                         if "20" in d else None))
    return out


register(Drill(
    name="ema_bias_corrected", signature="ema_bias_corrected(xs, beta)", chapter=5, difficulty="easy",
    questions=("E6", "A8"),
    statement=r"`xs` has shape $(T, \dots)$. Return, for every $t$, $\hat v_t = v_t/(1-\beta^t)$ where "
              r"$v_t = \beta v_{t-1} + (1-\beta) x_t$, $v_0 = 0$ (same shape as `xs`).",
    hint="An exponentially weighted average started at zero is biased towards zero early on.",
    section=EWA, cases=_ewa_cases, solution=S.ema_bias_corrected, shows=(ewa,),
    reference="pandas.DataFrame(xs).ewm(alpha=1 - beta, adjust=True).mean()"))


# --------------------------------------------------------------------------- schedules
def _steps(call, fn_args, steps, expected):
    for step, exp in zip(steps, expected):
        got = call(step, *fn_args)
        problem = compare(got, exp, rtol=1e-9, atol=1e-12)
        if problem:
            return f"at step={step}: {problem}"
    return None


def _cosine_reference(steps, base, W, T, min_lr):
    cosine = schedules.torch_lrs(lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=T - W, eta_min=min_lr),
                                 T - W, lr=base)
    return [base * s / W if s < W else (min_lr if s >= T else cosine[s - W]) for s in steps]


def _cosine_cases():
    out = []
    for d, steps, base, W, T, min_lr, hint in [
        ("warm-up: steps 0 to 9 of warmup_steps=10", range(10), 0.1, 10, 100, 0.0,
         "Linear warm-up: base_lr * step / warmup_steps, so step 0 has learning rate 0."),
        ("step = warmup_steps gives base_lr, then the cosine down to total_steps=100", range(10, 100), 0.1, 10, 100, 0.0, None),
        ("at and after total_steps: min_lr", [100, 101, 150, 1000], 0.1, 10, 100, 1e-3,
         "After total_steps the rate stays at min_lr; a cosine left running would climb again."),
        ("warmup_steps=0: the cosine starts at step 0", range(0, 21), 1.0, 0, 20, 0.0,
         "With no warm-up there is nothing to divide by: start at base_lr."),
        ("min_lr=0.01 is the floor of the cosine", range(5, 40, 3), 0.5, 5, 40, 0.01, None)]:
        steps = list(steps)
        exp = _cosine_reference(steps, base, W, T, min_lr)
        out.append(Trial(d, run=lambda call, s=steps, a=(base, W, T, min_lr), e=exp: _steps(call, a, s, e), hint=hint,
                         inputs=f"base_lr={base}; warmup_steps={W}; total_steps={T}; min_lr={min_lr}; steps {steps[0]}..{steps[-1]}",
                         section=WARMUP if "warm-up" in d else None))
    return out


register(Drill(
    name="cosine_warmup_lr", signature="cosine_warmup_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0)",
    chapter=6, difficulty="easy", questions=("A10",),
    statement=r"The rate for update `step` (0-based): `base_lr * step / warmup_steps` while `step < warmup_steps`; then "
              r"$\eta_{\min} + (\eta_0 - \eta_{\min})\,\tfrac12(1 + \cos(\pi (t - W)/(T - W)))$; `min_lr` at and after `total_steps`.",
    hint="Warm-up then cosine annealing: piecewise in the step.",
    section=ZOO, cases=_cosine_cases, solution=S.cosine_warmup_lr, shows=(S.cosine_warmup_lr, schedules.cosine_annealing_lr),
    reference="torch.optim.lr_scheduler.CosineAnnealingLR after the warm-up"))


def _step_decay_cases():
    out = []
    for d, n, base, size, gamma in [("step_size=10, gamma=0.1, steps 0 to 34", 35, 0.1, 10, 0.1),
                                    ("step_size=3, gamma=0.5, steps 0 to 12", 13, 1.0, 3, 0.5),
                                    ("step_size=1: decay after every step", 6, 2.0, 1, 0.9)]:
        exp = schedules.torch_lrs(lambda opt, s=size, g=gamma: torch.optim.lr_scheduler.StepLR(opt, s, g), n, lr=base)
        out.append(Trial(d, run=lambda call, n=n, a=(base, size, gamma), e=exp: _steps(call, a, range(n), e),
                         inputs=f"base_lr={base}; step_size={size}; gamma={gamma}; steps 0..{n - 1}",
                         hint="Step decay multiplies by gamma once per completed block of step_size steps: "
                              "the exponent is floor(step / step_size)."))
    return out


register(Drill(
    name="step_decay_lr", signature="step_decay_lr(step, base_lr, step_size, gamma=0.1)", chapter=6,
    difficulty="easy", questions=("A10",),
    statement=r"Fixed-interval step decay: $\eta_t = \eta_0\,\gamma^{\lfloor t/s\rfloor}$ for update `step` $t$ (0-based).",
    hint="Step decay is constant within a block and drops by a factor gamma between blocks.",
    section=ZOO, cases=_step_decay_cases, solution=S.step_decay_lr, shows=(schedules.step_lr,),
    reference="torch.optim.lr_scheduler.StepLR(opt, step_size, gamma)"))
