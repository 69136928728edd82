r"""Learning-rate schedules as pure functions of the step, checked against ``torch.optim.lr_scheduler``.

A fixed learning rate :math:`\eta` cannot serve both ends of training: early on a large
:math:`\eta` makes fast progress, late in training the gradient noise of SGD keeps the iterate
bouncing in a ball whose size grows with :math:`\eta`. A schedule :math:`\eta_t` decays the
rate (and sometimes first warms it up, or restarts it). Every schedule here is a plain function
``schedule(step, lr, ...) -> float`` with no hidden state; :func:`as_scheduler` turns any of
them into a real ``torch`` scheduler in one line::

    sched = as_scheduler(opt, functools.partial(cosine_annealing_lr, lr=0.1, T_max=1000))

Sources: SGDR, Loshchilov & Hutter (2017), arXiv:1608.03983 (cosine, warm restarts);
Goyal et al. (2017), arXiv:1706.02677 (linear warm-up); Smith & Topin (2019),
arXiv:1708.07120 (one-cycle); Robbins & Monro (1951) (conditions for decaying steps).

Dtypes: steps and sizes are Python or NumPy ints (``cosine_warm_restarts_lr`` also takes a
fractional epoch); rates are Python or NumPy reals, computed and returned in float64. No
tensors are involved, so there is no half-precision path.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from numbers import Integral, Real
from typing import Callable, Sequence

import torch
from torch.optim.lr_scheduler import LambdaLR

__all__ = [
    "step_lr", "multistep_lr", "exponential_lr", "inverse_time_lr", "cosine_annealing_lr",
    "linear_warmup_lr", "warmup_cosine_lr", "cosine_warm_restarts_lr", "one_cycle_lr",
    "as_scheduler", "torch_lrs",
]

Schedule = Callable[[int], float]


def _int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def _real(name: str, value, low: float = 0.0, high: float = math.inf, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    too_low = value <= low if open_low else value < low
    if not math.isfinite(value) or too_low or value > high:
        bracket = "(" if open_low else "["
        raise ValueError(f"{name} must be finite and in {bracket}{low}, {high}], got {value}")
    return value


def _power(name: str, lr: float, gamma: float, k: int) -> float:
    """``lr * gamma**k``, with a clear error where ``gamma > 1`` overflows a float."""
    try:
        return lr * gamma**k
    except OverflowError:
        raise ValueError(f"{name}: lr * gamma**{k} overflows a float (gamma={gamma} > 1); "
                         "the rate would be infinite at this step") from None


def step_lr(step: int, lr: float, step_size: int, gamma: float = 0.1) -> float:
    r"""Fixed-interval step decay (固定间隔衰减): multiply by ``gamma`` every ``step_size`` steps.

    .. math:: \eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}

    Matches: ``torch.optim.lr_scheduler.StepLR(opt, step_size, gamma)``.
    """
    t = _int("step", step, 0)
    s = _int("step_size", step_size, 1)
    return _power("step_lr", _real("lr", lr), _real("gamma", gamma, open_low=True), t // s)


def multistep_lr(step: int, lr: float, milestones: Sequence[int], gamma: float = 0.1) -> float:
    r"""Step decay at chosen milestones (阶梯衰减): multiply by ``gamma`` at each milestone passed.

    .. math:: \eta_t = \eta_0\,\gamma^{\#\{m \in \text{milestones}:\ m \le t\}}

    Matches: ``torch.optim.lr_scheduler.MultiStepLR(opt, milestones, gamma)``.
    Differences: torch accepts milestones in any order and repeated ones; here they must be
    strictly increasing positive ints (the only reading that is unambiguous).
    """
    t = _int("step", step, 0)
    if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Sequence):
        raise TypeError(f"milestones must be a sequence of ints, got {type(milestones).__name__}")
    ms = [_int(f"milestones[{i}]", m, 1) for i, m in enumerate(milestones)]
    if any(a >= b for a, b in zip(ms, ms[1:])):
        raise ValueError(f"milestones must be strictly increasing, got {list(milestones)}")
    return _power("multistep_lr", _real("lr", lr), _real("gamma", gamma, open_low=True), bisect_right(ms, t))


def exponential_lr(step: int, lr: float, gamma: float) -> float:
    r"""Exponential decay (指数衰减): multiply by ``gamma`` every step.

    .. math:: \eta_t = \eta_0\,\gamma^{t} = \eta_0\, e^{-k t}\quad\text{with } k = -\ln\gamma

    The notes' form :math:`\eta_0 e^{-k\,\text{epoch}}` is the same schedule with
    ``gamma = exp(-k)``.

    Matches: ``torch.optim.lr_scheduler.ExponentialLR(opt, gamma)``.
    """
    t = _int("step", step, 0)
    return _power("exponential_lr", _real("lr", lr), _real("gamma", gamma, open_low=True), t)


def inverse_time_lr(step: int, lr: float, decay_rate: float, decay_steps: int = 1) -> float:
    r"""Time-based (inverse-time) decay (时间基衰减).

    .. math:: \eta_t = \frac{\eta_0}{1 + k\, t / T}\qquad (k = \text{decay\_rate},\ T = \text{decay\_steps})

    It falls like :math:`1/t`, not exponentially: :math:`\sum_t \eta_t` diverges while
    :math:`\sum_t \eta_t^2` converges, the Robbins-Monro conditions under which SGD converges
    on a convex problem.

    Matches: ``keras.optimizers.schedules.InverseTimeDecay(lr, decay_steps, decay_rate)``
    (no torch scheduler has it; ``LambdaLR(opt, lambda t: 1 / (1 + decay_rate * t / decay_steps))``).
    """
    t = _int("step", step, 0)
    k = _real("decay_rate", decay_rate)
    T = _int("decay_steps", decay_steps, 1)
    return _real("lr", lr) / (1.0 + k * t / T)


def cosine_annealing_lr(step: int, lr: float, T_max: int, eta_min: float = 0.0) -> float:
    r"""Cosine annealing (余弦衰减) from ``lr`` down to ``eta_min`` over ``T_max`` steps.

    .. math:: \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\bigl(1 + \cos(\pi t / T_{\max})\bigr)

    Matches: ``torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max, eta_min)`` for every step,
    including past ``T_max``.
    Differences: past ``T_max`` torch does not hold ``eta_min``: the formula is periodic with
    period :math:`2T_{\max}`, so the rate climbs back to ``lr`` at :math:`t = 2T_{\max}`. We
    keep that behaviour to match; set ``T_max`` to the length of the run.
    """
    t = _int("step", step, 0)
    T = _int("T_max", T_max, 1)
    lr, eta_min = _real("lr", lr), _real("eta_min", eta_min)
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t / T)) / 2


def linear_warmup_lr(
    step: int, lr: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5
) -> float:
    r"""Linear warm-up (学习率热身): the factor moves linearly from ``start_factor`` to ``end_factor``.

    .. math:: \eta_t = \eta_0\Bigl(f_s + (f_e - f_s)\,\frac{\min(t, T)}{T}\Bigr)

    Matches: ``torch.optim.lr_scheduler.LinearLR(opt, start_factor, end_factor, total_iters)``.
    """
    t = _int("step", step, 0)
    f_s = _real("start_factor", start_factor, 0.0, 1.0, open_low=True)
    f_e = _real("end_factor", end_factor, 0.0, 1.0)
    T = _int("total_iters", total_iters, 1)
    return _real("lr", lr) * (f_s + (f_e - f_s) * min(T, t) / T)


def warmup_cosine_lr(
    step: int,
    lr: float,
    warmup_steps: int,
    total_steps: int,
    start_factor: float = 1.0 / 3,
    eta_min: float = 0.0,
) -> float:
    r"""Linear warm-up for ``warmup_steps``, then cosine annealing to ``eta_min`` at ``total_steps``.

    .. math::
        \eta_t = \begin{cases}
        \eta_0\bigl(f_s + (1 - f_s)\,t / W\bigr) & t < W \\
        \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\bigl(1 + \cos(\pi (t - W) / (T - W))\bigr) & t \ge W
        \end{cases}

    Matches: ``SequentialLR(opt, [LinearLR(opt, start_factor, 1.0, total_iters=W),
    CosineAnnealingLR(opt, T_max=T - W, eta_min=eta_min)], milestones=[W])``.
    """
    t = _int("step", step, 0)
    W = _int("warmup_steps", warmup_steps, 1)
    T = _int("total_steps", total_steps, 2)
    if W >= T:
        raise ValueError(f"warmup_steps must be shorter than total_steps={T}, got warmup_steps={W}")
    if t < W:
        return linear_warmup_lr(t, lr, start_factor, 1.0, W)
    return cosine_annealing_lr(t - W, lr, T - W, eta_min)


def cosine_warm_restarts_lr(step: float, lr: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> float:
    r"""Cosine annealing with warm restarts, SGDR (周期性重启).

    Cycle :math:`i` lasts :math:`T_i = T_0 T_{\text{mult}}^i` steps and starts at
    :math:`S_i = T_0 (T_{\text{mult}}^i - 1)/(T_{\text{mult}} - 1)` (:math:`i\,T_0` when
    :math:`T_{\text{mult}} = 1`), so the cycle of step :math:`t` is
    :math:`i = \lfloor \log_{T_{\text{mult}}}(1 + t (T_{\text{mult}} - 1)/T_0) \rfloor`; with
    :math:`T_{cur} = t - S_i`,

    .. math:: \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\bigl(1 + \cos(\pi T_{cur} / T_i)\bigr)

    ``step`` may be fractional (epochs, updated every batch: ``epoch + i / iters_per_epoch``), as
    in the paper. The cycle index is computed in closed form (then corrected in exact integer
    arithmetic at the boundaries), so any step costs the same.

    Matches: ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0, T_mult, eta_min)``,
    including ``scheduler.step(epoch)`` with a fractional ``epoch``.
    """
    if isinstance(step, Integral):
        t = _int("step", step, 0)
    else:
        t = _real("step", step)
    T_0 = _int("T_0", T_0, 1)
    T_mult = _int("T_mult", T_mult, 1)
    lr, eta_min = _real("lr", lr), _real("eta_min", eta_min)
    if T_mult == 1:
        i = int(t // T_0)
        T_cur, T_i = t - i * T_0, T_0
    else:
        def start(k: int) -> int:
            return T_0 * (T_mult**k - 1) // (T_mult - 1)

        i = max(int(math.log(1 + t * (T_mult - 1) / T_0, T_mult)), 0)
        while i > 0 and start(i) > t:  # log() may land one cycle off at a boundary
            i -= 1
        while start(i + 1) <= t:
            i += 1
        T_cur, T_i = t - start(i), T_0 * T_mult**i
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2


def one_cycle_lr(
    step: int,
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> float:
    r"""One-cycle policy (Smith & Topin): up from ``max_lr / div_factor`` to ``max_lr``, then down
    to ``max_lr / (div_factor * final_div_factor)``.

    With :math:`\eta_{\text{init}} = \eta_{\max}/d`, :math:`\eta_{\text{final}} = \eta_{\text{init}}/d_f`,
    phase ends :math:`e_1 = p\,T - 1`, :math:`e_2 = T - 1` (three-phase: :math:`e_2 = 2pT - 2`,
    :math:`e_3 = T - 1`), and within a phase from :math:`(s, a)` to :math:`(e, b)`,

    .. math:: \eta_t = b + \tfrac12 (a - b)\bigl(1 + \cos(\pi\,\tfrac{t - s}{e - s})\bigr)\quad(\text{or linear})

    Matches: ``torch.optim.lr_scheduler.OneCycleLR(opt, max_lr, total_steps, pct_start,
    anneal_strategy, div_factor=div_factor, final_div_factor=final_div_factor, three_phase=three_phase)``
    for steps ``0 .. total_steps`` (torch raises beyond).
    Differences: the momentum that torch cycles alongside (``cycle_momentum``) is not computed here.
    """
    t = _int("step", step, 0)
    eta_max = _real("max_lr", max_lr, open_low=True)
    T = _int("total_steps", total_steps, 1)
    if t > T:
        raise ValueError(f"step must be <= total_steps={T}, got {t}")
    p = _real("pct_start", pct_start, 0.0, 1.0)
    if anneal_strategy not in ("cos", "linear"):
        raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
    eta_init = eta_max / _real("div_factor", div_factor, open_low=True)
    eta_final = eta_init / _real("final_div_factor", final_div_factor, open_low=True)
    if three_phase:
        phases = [(p * T - 1, eta_init, eta_max), (2 * p * T - 2, eta_max, eta_init), (T - 1, eta_init, eta_final)]
    else:
        phases = [(p * T - 1, eta_init, eta_max), (T - 1, eta_max, eta_final)]
    ends = [0.0] + [e for e, _, _ in phases]
    if any(b <= a for a, b in zip(ends, ends[1:])):
        raise ValueError(
            f"pct_start={p} with total_steps={T} (three_phase={three_phase}) leaves a phase of "
            f"zero or negative length; phase ends {ends[1:]}"
        )
    i = 0
    while i < len(phases) - 1 and t > phases[i][0]:  # the last phase also extrapolates to t = T
        i += 1
    start, (end, a, b) = ends[i], phases[i]
    pct = (t - start) / (end - start)
    if anneal_strategy == "cos":
        return b + (a - b) / 2.0 * (math.cos(math.pi * pct) + 1)
    return a + (b - a) * pct


def cyclic_lr(step: int, base_lr: float, max_lr: float, step_size_up: int = 2000,
              step_size_down: int | None = None, mode: str = "triangular") -> float:
    r"""Cyclical learning rate (周期性学习率, Smith 2017): up linearly from ``base_lr`` to ``max_lr``
    in ``step_size_up`` steps, down in ``step_size_down`` (default: the same), repeat.

    With cycle length :math:`C = s_{up} + s_{down}`, :math:`c = \lfloor 1 + t/C\rfloor`,
    :math:`x = 1 + t/C - c` and :math:`r = s_{up}/C`,

    .. math:: \eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\,
              \bigl(x/r \text{ if } x \le r \text{ else } (x-1)/(r-1)\bigr)\,\gamma_c,

    :math:`\gamma_c = 1` (``"triangular"``) or :math:`2^{1-c}` (``"triangular2"``, halving each cycle).

    Matches: ``torch.optim.lr_scheduler.CyclicLR(opt, base_lr, max_lr, step_size_up,
    step_size_down, mode, cycle_momentum=False)``.
    """
    t = _int("step", step, 0)
    lo, hi = _real("base_lr", base_lr), _real("max_lr", max_lr)
    up = _int("step_size_up", step_size_up, 1)
    down = up if step_size_down is None else _int("step_size_down", step_size_down, 1)
    if mode not in ("triangular", "triangular2"):
        raise ValueError(f"mode must be 'triangular' or 'triangular2', got {mode!r}")
    total = float(up + down)
    ratio = up / total
    cycle = math.floor(1 + t / total)
    x = 1.0 + t / total - cycle
    scale = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    gamma = 1.0 if mode == "triangular" else 1 / (2.0 ** (cycle - 1))
    return lo + (hi - lo) * scale * gamma


def as_scheduler(optimizer: torch.optim.Optimizer, schedule: Schedule, base_lr: float | None = None) -> LambdaLR:
    r"""Drive a real optimizer with ``schedule``: after ``k`` calls to ``.step()``, group ``j``'s
    learning rate is its own initial rate scaled as ``schedule`` scales ``base_lr``:

    .. math:: \eta^{(j)}_k = \eta^{(j)}_0 \cdot \frac{\text{schedule}(k)}{\eta_{\text{base}}}

    ``base_lr`` is the rate ``schedule`` was written for (its ``lr`` argument); by default the
    first group's initial rate. So a single group follows ``schedule(k)`` exactly, and groups
    with different base rates (say a backbone at a tenth of the head's rate) keep their ratio.
    Every value ``schedule(k)`` must be finite and non-negative; anything else raises
    ``ValueError`` at the step that produced it (step 0 at once).

    Matches: ``LambdaLR(optimizer, lambda k: schedule(k) / base_lr)``, which is what it returns;
    for per-group rates, torch's own schedulers (e.g. ``CosineAnnealingLR``) on the same groups.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not callable(schedule):
        raise TypeError(f"schedule must be callable as schedule(step) -> lr, got {type(schedule).__name__}")
    if base_lr is None:
        base_lr = optimizer.param_groups[0].get("initial_lr", optimizer.param_groups[0]["lr"])
        name = "the optimizer's (first group's) learning rate"
    else:
        name = "base_lr"
    if isinstance(base_lr, bool) or not isinstance(base_lr, Real) or not math.isfinite(base_lr) or not base_lr > 0:
        raise ValueError(f"{name} must be positive and finite, got {base_lr}")
    lr0 = float(base_lr)

    def factor(k: int) -> float:
        rate = schedule(k)
        if isinstance(rate, bool) or not isinstance(rate, Real) or not math.isfinite(rate) or rate < 0:
            raise ValueError(f"schedule({k}) must be a finite, non-negative learning rate, got {rate!r}")
        return float(rate) / lr0

    return LambdaLR(optimizer, factor)


def torch_lrs(make_scheduler: Callable, num_steps: int, lr: float = 1.0) -> list[float]:
    """Learning rates a torch scheduler sets over ``num_steps`` optimizer steps.

    ``make_scheduler(optimizer)`` builds the scheduler on a one-parameter SGD optimizer with
    learning rate ``lr``; entry ``k`` is the rate in force for the ``k``-th update (0-based),
    so it lines up with ``schedule(k)``.
    """
    n = _int("num_steps", num_steps, 1)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=_real("lr", lr, open_low=True))
    scheduler = make_scheduler(optimizer)
    values = []
    for _ in range(n):
        values.append(float(optimizer.param_groups[0]["lr"]))
        optimizer.step()
        scheduler.step()
    return values
