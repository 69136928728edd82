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
    "as_scheduler", "torch_lrs", "fit", "descend"
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


def step_lr(step: int, lr: float, step_size: int, gamma: float = 0.1) -> float:
    r"""Fixed-interval step decay (固定间隔衰减): multiply by ``gamma`` every ``step_size`` steps.

    .. math:: \eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}

    Matches: ``torch.optim.lr_scheduler.StepLR(opt, step_size, gamma)``.
    """
    t = _int("step", step, 0)
    s = _int("step_size", step_size, 1)
    return _real("lr", lr) * _real("gamma", gamma, open_low=True) ** (t // s)


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
    return _real("lr", lr) * _real("gamma", gamma, open_low=True) ** bisect_right(ms, t)


def exponential_lr(step: int, lr: float, gamma: float) -> float:
    r"""Exponential decay (指数衰减): multiply by ``gamma`` every step.

    .. math:: \eta_t = \eta_0\,\gamma^{t} = \eta_0\, e^{-k t}\quad\text{with } k = -\ln\gamma

    The notes' form :math:`\eta_0 e^{-k\,\text{epoch}}` is the same schedule with
    ``gamma = exp(-k)``.

    Matches: ``torch.optim.lr_scheduler.ExponentialLR(opt, gamma)``.
    """
    t = _int("step", step, 0)
    return _real("lr", lr) * _real("gamma", gamma, open_low=True) ** t


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


def cosine_warm_restarts_lr(step: int, lr: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> float:
    r"""Cosine annealing with warm restarts, SGDR (周期性重启).

    Cycle :math:`i` lasts :math:`T_i = T_0 T_{\text{mult}}^i` steps; within it, with
    :math:`T_{cur}` steps since the last restart,

    .. math:: \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\bigl(1 + \cos(\pi T_{cur} / T_i)\bigr)

    Matches: ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0, T_mult, eta_min)``.
    """
    t = _int("step", step, 0)
    T_i = _int("T_0", T_0, 1)
    T_mult = _int("T_mult", T_mult, 1)
    lr, eta_min = _real("lr", lr), _real("eta_min", eta_min)
    T_cur = t
    while T_cur >= T_i:  # integer arithmetic: no log() rounding at the cycle boundaries
        T_cur -= T_i
        T_i *= T_mult
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


def as_scheduler(optimizer: torch.optim.Optimizer, schedule: Schedule) -> LambdaLR:
    r"""Drive a real optimizer with ``schedule``: after ``k`` calls to ``.step()``, every group's
    learning rate is ``schedule(k)``.

    .. math:: \eta^{\text{group}}_k = \eta^{\text{group}}_0 \cdot \frac{\text{schedule}(k)}{\eta_0}

    where :math:`\eta_0` is the optimizer's (shared) initial learning rate.

    Matches: ``LambdaLR(optimizer, lambda k: schedule(k) / lr0)``, which is what it returns.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not callable(schedule):
        raise TypeError(f"schedule must be callable as schedule(step) -> lr, got {type(schedule).__name__}")
    lrs = [group.get("initial_lr", group["lr"]) for group in optimizer.param_groups]
    if any(lr != lrs[0] for lr in lrs):
        raise ValueError(f"all param groups must share one learning rate, got {lrs}")
    lr0 = float(lrs[0])
    if not lr0 > 0:
        raise ValueError(f"the optimizer's learning rate must be positive, got {lr0}")
    return LambdaLR(optimizer, lambda k: schedule(k) / lr0)


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


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    X: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    schedule: Schedule | None = None,
    batch_size: int = 64,
    X_test: torch.Tensor | None = None,
    y_test: torch.Tensor | None = None,
    seed: int = 0,
    progress: bool = False,
) -> dict:
    r"""Train a classifier for ``steps`` minibatch updates under ``schedule`` (``None``: constant).

    Minibatches are drawn from a fresh random permutation each epoch (seeded by ``seed``).
    Training stops early if the loss becomes non-finite.

    Returns a dict with per-step lists ``lr``, ``loss`` (minibatch cross-entropy) and
    ``update_rms`` (root-mean-square parameter change of that step), and the final
    ``train_loss``, ``train_acc``, ``test_acc`` (``nan`` without test data) and ``diverged``.
    """
    from .progress import tqdm

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"X and y must be torch.Tensors, got {type(X).__name__} and {type(y).__name__}")
    if X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ValueError(f"X and y must hold the same, non-zero number of rows, got {X.shape[0]} and {y.shape[0]}")
    n_steps = _int("steps", steps, 1)
    b = _int("batch_size", batch_size, 1)
    scheduler = as_scheduler(optimizer, schedule) if schedule is not None else None
    params = [p for group in optimizer.param_groups for p in group["params"]]
    generator = torch.Generator().manual_seed(_int("seed", seed, 0))
    loss_fn = torch.nn.CrossEntropyLoss()
    history = {"lr": [], "loss": [], "update_rms": [], "diverged": False}
    order, pos = torch.randperm(len(X), generator=generator), 0
    model.train()
    for _ in tqdm(range(n_steps), disable=not progress):
        if pos + b > len(X):
            order, pos = torch.randperm(len(X), generator=generator), 0
        idx = order[pos : pos + b].to(X.device)
        pos += b
        before = [p.detach().clone() for p in params]
        loss = loss_fn(model(X[idx]), y[idx])
        if not torch.isfinite(loss):
            history["diverged"] = True
            break
        optimizer.zero_grad()
        loss.backward()
        history["lr"].append(float(optimizer.param_groups[0]["lr"]))
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        history["loss"].append(loss.item())
        sq = sum(((p.detach() - p0) ** 2).sum() for p, p0 in zip(params, before))
        history["update_rms"].append(math.sqrt(float(sq) / sum(p.numel() for p in params)))
    model.eval()
    with torch.no_grad():
        logits = model(X)
        history["train_loss"] = loss_fn(logits, y).item()
        history["diverged"] = history["diverged"] or not math.isfinite(history["train_loss"])
        history["train_acc"] = (logits.argmax(1) == y).float().mean().item()
        history["test_acc"] = math.nan
        if X_test is not None and y_test is not None:
            history["test_acc"] = (model(X_test).argmax(1) == y_test).float().mean().item()
    return history


def descend(
    grad: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    make_optimizer: Callable[[list], torch.optim.Optimizer],
    steps: int,
    schedule: Schedule | None = None,
    noise_std: float = 0.0,
    seed: int = 0,
) -> torch.Tensor:
    r"""Run a torch optimizer on many independent copies of a toy problem at once.

    Each entry of ``x0`` is one particle; the optimizer sees the gradient
    :math:`\nabla f(x) + \sigma\,\xi`, :math:`\xi \sim \mathcal N(0, 1)` (``sigma = noise_std``)
    and ``schedule`` sets its learning rate. SGD and Adam act coordinate-wise, so one tensor of
    ``n`` entries is ``n`` separate runs. Returns the final positions.
    """
    if not isinstance(x0, torch.Tensor) or not x0.is_floating_point():
        raise TypeError(f"x0 must be a floating-point torch.Tensor, got {type(x0).__name__}")
    n_steps, sigma = _int("steps", steps, 1), _real("noise_std", noise_std)
    x = torch.nn.Parameter(x0.detach().clone())
    optimizer = make_optimizer([x])
    scheduler = as_scheduler(optimizer, schedule) if schedule is not None else None
    generator = torch.Generator(device=x.device).manual_seed(_int("seed", seed, 0))
    for _ in range(n_steps):
        with torch.no_grad():
            noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
            x.grad = grad(x) + sigma * noise
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    return x.detach()
