"""dlnotes.schedules against torch.optim.lr_scheduler: 1,000 steps, random settings, to 1e-12."""
import functools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim import lr_scheduler as L

from dlnotes import lr_experiments as E
from dlnotes import schedules as S

N_STEPS = 1000
RTOL = 1e-12
RECURSIVE_RTOL = 1e-11
REFERENCE = settings(max_examples=12, deadline=None, derandomize=True)

lrs = st.floats(1e-4, 10.0)
gammas = st.floats(0.05, 1.0)
fractions = st.floats(0.0, 0.9)


@st.composite
def step_case(draw):
    lr, s, g = draw(lrs), draw(st.integers(1, 400)), draw(gammas)
    return lr, dict(step_size=s, gamma=g), lambda o: L.StepLR(o, step_size=s, gamma=g)


@st.composite
def multistep_case(draw):
    lr, g = draw(lrs), draw(gammas)
    ms = sorted(draw(st.sets(st.integers(1, 1200), min_size=1, max_size=6)))
    return lr, dict(milestones=ms, gamma=g), lambda o: L.MultiStepLR(o, milestones=ms, gamma=g)


@st.composite
def exponential_case(draw):
    lr, g = draw(lrs), draw(st.floats(0.98, 1.0))
    return lr, dict(gamma=g), lambda o: L.ExponentialLR(o, gamma=g)


@st.composite
def cosine_case(draw):
    lr, T = draw(lrs), draw(st.integers(1, 1500))
    eta_min = lr * draw(fractions)
    return lr, dict(T_max=T, eta_min=eta_min), lambda o: L.CosineAnnealingLR(o, T_max=T, eta_min=eta_min)


@st.composite
def restarts_case(draw):
    lr, T_0, T_mult = draw(lrs), draw(st.integers(1, 300)), draw(st.integers(1, 3))
    eta_min = lr * draw(fractions)
    return (
        lr,
        dict(T_0=T_0, T_mult=T_mult, eta_min=eta_min),
        lambda o: L.CosineAnnealingWarmRestarts(o, T_0=T_0, T_mult=T_mult, eta_min=eta_min),
    )


@st.composite
def linear_case(draw):
    lr, f_s, f_e, T = draw(lrs), draw(st.floats(0.001, 1.0)), draw(st.floats(0.0, 1.0)), draw(st.integers(1, 1500))
    return (
        lr,
        dict(start_factor=f_s, end_factor=f_e, total_iters=T),
        lambda o: L.LinearLR(o, start_factor=f_s, end_factor=f_e, total_iters=T),
    )


@st.composite
def warmup_cosine_case(draw):
    lr, W = draw(lrs), draw(st.integers(1, 400))
    T, f_s, eta_min = draw(st.integers(W + 1, 1500)), draw(st.floats(0.001, 1.0)), lr * draw(fractions)

    def make(o):
        warm = L.LinearLR(o, start_factor=f_s, end_factor=1.0, total_iters=W)
        cos = L.CosineAnnealingLR(o, T_max=T - W, eta_min=eta_min)
        return L.SequentialLR(o, [warm, cos], milestones=[W])

    return lr, dict(warmup_steps=W, total_steps=T, start_factor=f_s, eta_min=eta_min), make


@st.composite
def one_cycle_case(draw):
    lr, T = draw(lrs), draw(st.integers(N_STEPS, 1500))
    three = draw(st.booleans())
    p = draw(st.floats(0.02, 0.45 if three else 0.95))
    kw = dict(
        pct_start=p,
        anneal_strategy=draw(st.sampled_from(["cos", "linear"])),
        div_factor=draw(st.floats(1.5, 100.0)),
        final_div_factor=draw(st.floats(1.0, 1e5)),
        three_phase=three,
    )
    return lr, dict(total_steps=T, **kw), lambda o: L.OneCycleLR(o, max_lr=lr, total_steps=T, cycle_momentum=False, **kw)


CASES = [
    ("StepLR", S.step_lr, "lr", step_case()),
    ("MultiStepLR", S.multistep_lr, "lr", multistep_case()),
    ("ExponentialLR", S.exponential_lr, "lr", exponential_case()),
    ("CosineAnnealingLR", S.cosine_annealing_lr, "lr", cosine_case()),
    ("CosineAnnealingWarmRestarts", S.cosine_warm_restarts_lr, "lr", restarts_case()),
    ("LinearLR", S.linear_warmup_lr, "lr", linear_case()),
    ("SequentialLR(LinearLR,CosineAnnealingLR)", S.warmup_cosine_lr, "lr", warmup_cosine_case()),
    ("OneCycleLR", S.one_cycle_lr, "max_lr", one_cycle_case()),
]


@pytest.mark.parametrize("fn,lr_name,case", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@REFERENCE
@given(data=st.data())
def test_matches_torch_scheduler_over_1000_steps(fn, lr_name, case, data):
    lr, kwargs, make = data.draw(case)
    reference = S.torch_lrs(make, N_STEPS, lr=lr)
    ours = [fn(k, **{lr_name: lr}, **kwargs) for k in range(N_STEPS)]
    worst = max(abs(a - b) for a, b in zip(ours, reference))
    # torch's CosineAnnealingLR updates the rate recursively (each value from the last), so its
    # rounding error grows with the step count: measured up to 2e-12 * lr after 1,000 steps
    # (lr=1, T_max=329, eta_min=0.5). The closed form here has no such drift.
    tol = RECURSIVE_RTOL if fn in (S.cosine_annealing_lr, S.warmup_cosine_lr) else RTOL
    assert worst <= tol * lr, f"max |ours - torch| = {worst:.3g} for lr={lr}, {kwargs}"


@pytest.mark.parametrize("fn,lr_name,case", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@settings(max_examples=3, deadline=None, derandomize=True)
@given(data=st.data())
def test_as_scheduler_drives_a_real_optimizer_with_the_schedule(fn, lr_name, case, data):
    lr, kwargs, _ = data.draw(case)
    schedule = functools.partial(fn, **{lr_name: lr}, **kwargs)
    w, b = torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([{"params": [w]}, {"params": [b]}], lr=0.5)
    sched = S.as_scheduler(opt, schedule)
    for k in range(300):
        for group in opt.param_groups:
            assert group["lr"] == pytest.approx(schedule(k), rel=RTOL, abs=1e-300)
        opt.step()
        sched.step()


# --- time-based decay: no torch scheduler, so the closed form and its invariants --------------


@settings(max_examples=40, deadline=None, derandomize=True)
@given(lr=lrs, k=st.floats(0.0, 5.0), T=st.integers(1, 100), t=st.integers(0, 10_000))
def test_inverse_time_matches_closed_form_and_reciprocal_is_affine(lr, k, T, t):
    eta = S.inverse_time_lr(t, lr, decay_rate=k, decay_steps=T)
    assert eta == pytest.approx(lr * (1.0 + k * t / T) ** -1, rel=RTOL)
    # 1 / eta grows by the same amount k / (T lr) every step: an arithmetic sequence.
    gap = 1 / S.inverse_time_lr(t + 1, lr, k, T) - 1 / eta
    assert gap == pytest.approx(k / (T * lr), rel=1e-9, abs=1e-12 / lr)


def test_inverse_time_over_1000_steps_matches_closed_form_and_lambdalr():
    lr, k = 0.3, 0.05
    closed = [lr / (1 + k * t) for t in range(N_STEPS)]
    ours = [S.inverse_time_lr(t, lr, k) for t in range(N_STEPS)]
    torch_ = S.torch_lrs(lambda o: L.LambdaLR(o, lambda t: 1 / (1 + k * t)), N_STEPS, lr=lr)
    assert max(abs(a - b) for a, b in zip(ours, closed)) <= RTOL * lr
    assert max(abs(a - b) for a, b in zip(ours, torch_)) <= RTOL * lr


def test_inverse_time_is_not_exponential_its_tail_is_heavier():
    # Same initial slope (-k lr): exponential e^{-kt} vs inverse time 1/(1+kt).
    lr, k = 1.0, 0.05
    ratio = [S.inverse_time_lr(t, lr, k) / S.exponential_lr(t, lr, math.exp(-k)) for t in (10, 100, 1000)]
    assert ratio[0] < ratio[1] < ratio[2] and ratio[2] > 1e18


@settings(max_examples=40, deadline=None, derandomize=True)
@given(lr=lrs, k=st.floats(1e-4, 1.0), t=st.integers(0, 2000))
def test_exponential_equals_the_notes_form_with_gamma_exp_minus_k(lr, k, t):
    assert S.exponential_lr(t, lr, gamma=math.exp(-k)) == pytest.approx(lr * math.exp(-k * t), rel=1e-9)


# --- invariants ----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, derandomize=True)
@given(lr=lrs, T=st.integers(1, 2000), frac=fractions)
def test_cosine_starts_at_lr_ends_at_eta_min_and_decreases(lr, T, frac):
    eta_min = lr * frac
    values = [S.cosine_annealing_lr(t, lr, T, eta_min) for t in range(T + 1)]
    assert values[0] == pytest.approx(lr, rel=RTOL)
    assert values[-1] == pytest.approx(eta_min, rel=RTOL, abs=RTOL * lr)
    assert all(b <= a + 1e-15 for a, b in zip(values, values[1:]))


def test_cosine_past_T_max_climbs_back_like_torch():
    assert S.cosine_annealing_lr(200, 1.0, T_max=100) == pytest.approx(1.0)
    assert S.cosine_annealing_lr(150, 1.0, T_max=100) == pytest.approx(0.5)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(lr=lrs, T_0=st.integers(1, 50), T_mult=st.integers(1, 3), n=st.integers(0, 5))
def test_restarts_return_to_lr_at_the_start_of_each_cycle(lr, T_0, T_mult, n):
    start = T_0 * n if T_mult == 1 else T_0 * (T_mult**n - 1) // (T_mult - 1)
    assert S.cosine_warm_restarts_lr(start, lr, T_0, T_mult) == pytest.approx(lr, rel=RTOL)
    if start > 0:  # just before the restart the rate is at its lowest in the cycle
        assert S.cosine_warm_restarts_lr(start - 1, lr, T_0, T_mult) < lr or T_0 * T_mult ** (n - 1) == 1


@settings(max_examples=40, deadline=None, derandomize=True)
@given(max_lr=lrs, T=st.integers(20, 2000), p=st.floats(0.1, 0.9), d=st.floats(2.0, 100.0))
def test_one_cycle_starts_low_peaks_at_max_lr_and_ends_lowest(max_lr, T, p, d):
    values = [S.one_cycle_lr(t, max_lr, T, pct_start=p, div_factor=d) for t in range(T + 1)]
    assert values[0] == pytest.approx(max_lr / d, rel=RTOL)
    assert max(values) <= max_lr * (1 + RTOL)
    assert values[T - 1] == pytest.approx(max_lr / d / 1e4, rel=1e-9)
    assert min(values[: T]) == values[T - 1]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(lr=lrs, W=st.integers(1, 100), extra=st.integers(1, 500), f_s=st.floats(0.001, 1.0))
def test_warmup_cosine_rises_then_falls(lr, W, extra, f_s):
    T = W + extra
    values = [S.warmup_cosine_lr(t, lr, W, T, start_factor=f_s) for t in range(T + 1)]
    assert values[0] == pytest.approx(lr * f_s, rel=RTOL)
    assert all(b >= a - 1e-15 for a, b in zip(values[:W], values[1 : W + 1]))
    assert values[W] == pytest.approx(lr, rel=RTOL)
    assert all(b <= a + 1e-15 for a, b in zip(values[W:], values[W + 1 :]))
    assert values[T] == pytest.approx(0.0, abs=RTOL * lr)


# --- bad inputs: one test per rule ------------------------------------------------------------

BAD = [
    ("step must be an int", S.step_lr, dict(step=1.5, lr=0.1, step_size=10), TypeError, "step must be an int"),
    ("step is negative", S.exponential_lr, dict(step=-1, lr=0.1, gamma=0.9), ValueError, "step must be an int >= 0, got -1"),
    ("step is a bool", S.exponential_lr, dict(step=True, lr=0.1, gamma=0.9), TypeError, "step must be an int"),
    ("lr negative", S.step_lr, dict(step=0, lr=-0.1, step_size=10), ValueError, "lr must be finite and in [0.0"),
    ("lr nan", S.cosine_annealing_lr, dict(step=0, lr=math.nan, T_max=10), ValueError, "lr must be finite"),
    ("lr a string", S.cosine_annealing_lr, dict(step=0, lr="0.1", T_max=10), TypeError, "lr must be a real number"),
    ("period zero", S.step_lr, dict(step=0, lr=0.1, step_size=0), ValueError, "step_size must be an int >= 1, got 0"),
    ("period float", S.step_lr, dict(step=0, lr=0.1, step_size=2.5), TypeError, "step_size must be an int"),
    ("gamma zero", S.step_lr, dict(step=0, lr=0.1, step_size=3, gamma=0.0), ValueError, "gamma must be finite and in (0.0"),
    ("gamma negative", S.exponential_lr, dict(step=0, lr=0.1, gamma=-0.5), ValueError, "gamma must be finite and in (0.0"),
    ("milestones unsorted", S.multistep_lr, dict(step=0, lr=0.1, milestones=[30, 10]), ValueError, "strictly increasing"),
    ("milestone zero", S.multistep_lr, dict(step=0, lr=0.1, milestones=[0, 10]), ValueError, "milestones[0] must be"),
    ("milestones not a sequence", S.multistep_lr, dict(step=0, lr=0.1, milestones=10), TypeError, "milestones must be a sequence"),
    ("decay rate negative", S.inverse_time_lr, dict(step=0, lr=0.1, decay_rate=-0.1), ValueError, "decay_rate must be"),
    ("decay_steps zero", S.inverse_time_lr, dict(step=0, lr=0.1, decay_rate=0.1, decay_steps=0), ValueError, "decay_steps"),
    ("T_max zero", S.cosine_annealing_lr, dict(step=0, lr=0.1, T_max=0), ValueError, "T_max must be an int >= 1, got 0"),
    ("eta_min negative", S.cosine_annealing_lr, dict(step=0, lr=0.1, T_max=5, eta_min=-1.0), ValueError, "eta_min"),
    ("start_factor zero", S.linear_warmup_lr, dict(step=0, lr=0.1, start_factor=0.0), ValueError, "start_factor must be"),
    ("end_factor above one", S.linear_warmup_lr, dict(step=0, lr=0.1, end_factor=1.5), ValueError, "end_factor must be"),
    ("total_iters zero", S.linear_warmup_lr, dict(step=0, lr=0.1, total_iters=0), ValueError, "total_iters must be"),
    ("warm-up longer than the run", S.warmup_cosine_lr, dict(step=0, lr=0.1, warmup_steps=100, total_steps=50),
     ValueError, "warmup_steps must be shorter than total_steps=50, got warmup_steps=100"),
    ("warm-up as long as the run", S.warmup_cosine_lr, dict(step=0, lr=0.1, warmup_steps=50, total_steps=50),
     ValueError, "warmup_steps must be shorter"),
    ("T_0 zero", S.cosine_warm_restarts_lr, dict(step=0, lr=0.1, T_0=0), ValueError, "T_0 must be an int >= 1, got 0"),
    ("T_mult zero", S.cosine_warm_restarts_lr, dict(step=0, lr=0.1, T_0=5, T_mult=0), ValueError, "T_mult must be"),
    ("T_mult float", S.cosine_warm_restarts_lr, dict(step=0, lr=0.1, T_0=5, T_mult=1.5), TypeError, "T_mult must be an int"),
    ("one-cycle past the end", S.one_cycle_lr, dict(step=101, max_lr=0.1, total_steps=100), ValueError,
     "step must be <= total_steps=100, got 101"),
    ("one-cycle max_lr zero", S.one_cycle_lr, dict(step=0, max_lr=0.0, total_steps=100), ValueError, "max_lr must be"),
    ("one-cycle pct_start > 1", S.one_cycle_lr, dict(step=0, max_lr=0.1, total_steps=100, pct_start=1.5), ValueError,
     "pct_start must be"),
    ("one-cycle empty phase", S.one_cycle_lr, dict(step=0, max_lr=0.1, total_steps=10, pct_start=0.05), ValueError,
     "zero or negative length"),
    ("one-cycle strategy", S.one_cycle_lr, dict(step=0, max_lr=0.1, total_steps=100, anneal_strategy="exp"), ValueError,
     "anneal_strategy must be 'cos' or 'linear', got 'exp'"),
    ("one-cycle div_factor", S.one_cycle_lr, dict(step=0, max_lr=0.1, total_steps=100, div_factor=0), ValueError,
     "div_factor must be"),
]


@pytest.mark.parametrize("fn,kwargs,exc,message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_settings_raise_with_a_message_naming_them(fn, kwargs, exc, message):
    with pytest.raises(exc) as info:
        fn(**kwargs)
    assert message in str(info.value)


def _sgd(lr=0.1, groups=1):
    return torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]} for _ in range(groups)], lr=lr)


def test_as_scheduler_rejects_bad_arguments():
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer, got list"):
        S.as_scheduler([], lambda t: 0.1)
    with pytest.raises(TypeError, match="schedule must be callable"):
        S.as_scheduler(_sgd(), 0.1)
    with pytest.raises(ValueError, match="learning rate must be positive and finite, got 0.0"):
        S.as_scheduler(_sgd(lr=0.0), lambda t: 0.1)
    with pytest.raises(ValueError, match="base_lr must be positive and finite, got nan"):
        S.as_scheduler(_sgd(), lambda t: 0.1, base_lr=math.nan)


@pytest.mark.parametrize("bad", [math.nan, -0.1, math.inf, "0.1"])
def test_as_scheduler_rejects_a_schedule_returning_nan_or_a_negative_rate(bad):
    with pytest.raises(ValueError, match=r"schedule\(0\) must be a finite, non-negative learning rate"):
        S.as_scheduler(_sgd(), lambda t: bad)
    opt = _sgd()
    sched = S.as_scheduler(opt, lambda t: 0.1 if t < 3 else bad)  # fails at the step that produced it
    for _ in range(2):
        opt.step()
        sched.step()
    opt.step()
    with pytest.raises(ValueError, match=r"schedule\(3\) must be"):
        sched.step()


def test_as_scheduler_keeps_the_ratio_of_param_groups_with_different_base_rates():
    def two_groups():
        return torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": 0.2},
                                {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.01}], lr=0.1)

    ours, ref = two_groups(), two_groups()
    ours_s = S.as_scheduler(ours, functools.partial(S.cosine_annealing_lr, lr=0.2, T_max=50, eta_min=0.0))
    ref_s = L.CosineAnnealingLR(ref, T_max=50)
    for _ in range(60):
        for a, b in zip(ours.param_groups, ref.param_groups):
            assert a["lr"] == pytest.approx(b["lr"], rel=1e-12, abs=1e-15)
        ours.step(), ref.step(), ours_s.step(), ref_s.step()
    assert ours.param_groups[1]["lr"] != ours.param_groups[0]["lr"]
    # base_lr names the rate the schedule was written for, whatever the groups hold
    opt = two_groups()
    S.as_scheduler(opt, lambda t: 0.05, base_lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.1, 0.005])


def test_restarts_closed_form_is_fast_and_exact_at_huge_steps():
    # cycle starts of T_0=1, T_mult=2 are 2^i - 1: the rate there is exactly lr
    for i in (10, 40, 200):
        assert S.cosine_warm_restarts_lr(2**i - 1, 1.0, T_0=1, T_mult=2) == 1.0
        assert S.cosine_warm_restarts_lr(2**i - 2, 1.0, T_0=1, T_mult=2) < 1e-4  # last step of the cycle
    assert S.cosine_warm_restarts_lr(10**12, 0.1, T_0=7) == S.cosine_warm_restarts_lr(10**12 % 7, 0.1, T_0=7)
    # a torch scheduler driven through as_scheduler over 20,000 steps stays linear in time
    opt = _sgd()
    sched = S.as_scheduler(opt, functools.partial(S.cosine_warm_restarts_lr, lr=0.1, T_0=10, T_mult=3))
    for _ in range(20_000):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(S.cosine_warm_restarts_lr(20_000, 0.1, 10, 3), rel=1e-12)


@pytest.mark.parametrize("T_0,T_mult", [(10, 1), (3, 2), (5, 3)])
def test_restarts_accept_fractional_epochs_like_torch(T_0, T_mult):
    import warnings

    opt = _sgd()
    ref = L.CosineAnnealingWarmRestarts(opt, T_0=T_0, T_mult=T_mult, eta_min=0.001)
    iters = 7  # batches per epoch: the rate is updated every batch, at epoch + i / iters
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates step(epoch) but still implements it
        for epoch in range(60):
            for i in range(iters):
                e = epoch + i / iters
                ref.step(e)
                ours = S.cosine_warm_restarts_lr(e, 0.1, T_0, T_mult, eta_min=0.001)
                assert ours == pytest.approx(opt.param_groups[0]["lr"], rel=1e-11)
    with pytest.raises(ValueError, match="step must be finite"):
        S.cosine_warm_restarts_lr(-0.5, 0.1, T_0=3)


@pytest.mark.parametrize("fn,kwargs", [
    (S.step_lr, dict(step=10**6, lr=0.1, step_size=1, gamma=1.5)),
    (S.exponential_lr, dict(step=10**6, lr=0.1, gamma=1.01)),
    (S.multistep_lr, dict(step=10**6, lr=0.1, milestones=list(range(1, 5000)), gamma=2.0)),
])
def test_a_growing_gamma_that_overflows_raises_a_clear_error(fn, kwargs):
    with pytest.raises(ValueError, match=r"overflows a float \(gamma="):
        fn(**kwargs)
    small = dict(kwargs, step=3)
    assert fn(**small) > kwargs["lr"]  # gamma > 1 itself is allowed: the rate grows


def test_torch_lrs_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_steps must be an int >= 1, got 0"):
        S.torch_lrs(lambda o: L.StepLR(o, 5), 0)
    with pytest.raises(ValueError, match="lr must be finite and in"):
        S.torch_lrs(lambda o: L.StepLR(o, 5), 5, lr=0.0)


# --- fit -------------------------------------------------------------------------------------


def _blobs(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    X = torch.randn(n, 4, generator=g) + 3 * torch.nn.functional.one_hot(y, 4).float()
    return X, y


def _model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def test_fit_applies_the_schedule_and_learns():
    X, y = _blobs()
    schedule = functools.partial(S.cosine_annealing_lr, lr=0.2, T_max=60)
    model = _model()
    h = E.fit(model, torch.optim.SGD(model.parameters(), lr=0.2), X, y, 60, schedule, batch_size=16, X_test=X, y_test=y)
    assert h["lr"] == pytest.approx([schedule(k) for k in range(60)], rel=1e-12)
    assert len(h["loss"]) == len(h["update_rms"]) == 60 and not h["diverged"]
    assert h["train_acc"] > 0.9 and h["test_acc"] == h["train_acc"]
    assert h["train_loss"] < h["loss"][0] / 2


def test_fit_is_reproducible_and_adam_first_update_is_lr_sized():
    X, y = _blobs()
    runs = []
    for _ in range(2):
        model = _model(1)
        runs.append(E.fit(model, torch.optim.Adam(model.parameters(), lr=0.01), X, y, 20, batch_size=8, seed=3))
    assert runs[0]["loss"] == runs[1]["loss"]
    # Adam's first step is lr * g / (|g| + eps): lr in every coordinate whose gradient is not zero
    # (dead ReLU units give exact zeros), so the RMS lies in (0.5 lr, lr].
    assert 0.005 < runs[0]["update_rms"][0] <= 0.01 * (1 + 1e-6)
    assert math.isnan(runs[0]["test_acc"])


def test_fit_reports_divergence():
    X, y = _blobs()
    model = _model()
    h = E.fit(model, torch.optim.SGD(model.parameters(), lr=1e6), X * 1e3, y, 50, batch_size=16)
    assert h["diverged"] and len(h["loss"]) < 50


def test_fit_rejects_bad_arguments():
    X, y = _blobs()
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        E.fit("mlp", opt, X, y, 5)
    with pytest.raises(TypeError, match="X and y must be torch.Tensors, got ndarray"):
        E.fit(model, opt, X.numpy(), y, 5)
    with pytest.raises(ValueError, match="same, non-zero number of rows, got 96 and 95"):
        E.fit(model, opt, X, y[:-1], 5)
    with pytest.raises(ValueError, match="steps must be an int >= 1, got 0"):
        E.fit(model, opt, X, y, 0)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        E.fit(model, opt, X, y, 5, batch_size=0)


# --- descend -----------------------------------------------------------------------------------


def test_descend_matches_the_closed_form_of_gd_on_a_quadratic():
    a, lr, steps = torch.tensor([0.5, 1.0, 3.0], dtype=torch.float64), 0.1, 40
    x0 = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    x = E.descend(lambda x: a * x, x0, lambda p: torch.optim.SGD(p, lr=lr), steps)
    torch.testing.assert_close(x, x0 * (1 - lr * a) ** steps, rtol=1e-12, atol=0)
    # with a schedule: x_T = x0 * prod_k (1 - eta_k a)
    schedule = functools.partial(S.step_lr, lr=lr, step_size=10, gamma=0.5)
    x = E.descend(lambda x: a * x, x0, lambda p: torch.optim.SGD(p, lr=lr), steps, schedule)
    expected = x0 * math.prod(1 - schedule(k) * a for k in range(steps))
    torch.testing.assert_close(x, expected, rtol=1e-12, atol=0)


def test_descend_noise_is_seeded_and_gives_the_sgd_noise_floor():
    # x_{t+1} = (1 - eta) x_t - eta sigma xi: stationary variance eta sigma^2 / (2 - eta).
    x0 = torch.zeros(20_000, dtype=torch.float64)
    sgd = lambda p: torch.optim.SGD(p, lr=0.1)  # noqa: E731
    x = E.descend(lambda x: x, x0, sgd, 200, noise_std=1.0, seed=5)
    assert torch.equal(x, E.descend(lambda x: x, x0, sgd, 200, noise_std=1.0, seed=5))
    assert x.var().item() == pytest.approx(0.1 / 1.9, rel=0.05)


def test_descend_rejects_bad_arguments():
    sgd = lambda p: torch.optim.SGD(p, lr=0.1)  # noqa: E731
    with pytest.raises(TypeError, match="x0 must be a floating-point torch.Tensor, got list"):
        E.descend(lambda x: x, [1.0], sgd, 5)
    with pytest.raises(ValueError, match="noise_std must be finite and in"):
        E.descend(lambda x: x, torch.zeros(2), sgd, 5, noise_std=-1.0)
    with pytest.raises(ValueError, match="steps must be an int >= 1, got 0"):
        E.descend(lambda x: x, torch.zeros(2), sgd, 0)


# --- the learning-rate range test ------------------------------------------------------------

def _digits_like(n=512, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 8, generator=g)
    return X, (X[:, :4].sum(1) > 0).long() + 2 * (X[:, 4:].sum(1) > 0).long()


def test_lr_range_test_sweeps_geometrically_and_stops_when_the_loss_blows_up():
    X, y = _digits_like()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    out = E.lr_range_test(model, lambda p, lr: torch.optim.SGD(p, lr=lr), X, y, 1e-4, 1e3, steps=120)
    lrs = torch.tensor(out["lr"], dtype=torch.float64)
    ratios = lrs[1:] / lrs[:-1]
    assert out["lr"][0] == pytest.approx(1e-4) and torch.allclose(ratios, ratios[0].expand_as(ratios))
    assert ratios[0].item() == pytest.approx((1e3 / 1e-4) ** (1 / 119), rel=1e-9)
    assert len(out["lr"]) < 120  # at lr ~ 1e3 plain SGD diverges and the test stops
    assert min(out["smoothed"]) < 0.8 * out["smoothed"][0]
    assert 1e-4 < out["lr_steepest"] <= out["lr_min_loss"] < 1e3
    # the smoothed loss is the bias-corrected EWA of the recorded losses
    ewa, ref = 0.0, []
    for k, loss in enumerate(out["loss"]):
        ewa = 0.9 * ewa + 0.1 * loss
        ref.append(ewa / (1 - 0.9 ** (k + 1)))
    assert out["smoothed"] == pytest.approx(ref, rel=1e-12)


def test_lr_range_test_rejects_bad_arguments():
    X, y = _digits_like(16)
    model = torch.nn.Linear(8, 4)
    sgd = lambda p, lr: torch.optim.SGD(p, lr=lr)  # noqa: E731
    with pytest.raises(ValueError, match="max_lr must be larger than min_lr=0.1, got 0.01"):
        E.lr_range_test(model, sgd, X, y, min_lr=0.1, max_lr=0.01)
    with pytest.raises(ValueError, match="min_lr must be finite"):
        E.lr_range_test(model, sgd, X, y, min_lr=0.0)
    with pytest.raises(ValueError, match="steps must be an int >= 2"):
        E.lr_range_test(model, sgd, X, y, steps=1)
    with pytest.raises(ValueError, match="beta must be below 1"):
        E.lr_range_test(model, sgd, X, y, beta=1.0)
    with pytest.raises(TypeError, match="make_optimizer must be callable"):
        E.lr_range_test(model, 0.1, X, y)
    with pytest.raises(ValueError, match="same, non-zero number of rows"):
        E.lr_range_test(model, sgd, X, y[:3])


@pytest.mark.parametrize("up,down,mode", [(5, None, "triangular"), (7, 3, "triangular2"), (1, 1, "triangular"),
                                          (40, 60, "triangular2")])
def test_cyclic_matches_torch_cycliclr(up, down, mode):
    ref = S.torch_lrs(lambda o: L.CyclicLR(o, 0.01, 0.5, up, down, mode=mode, cycle_momentum=False), 600, lr=0.01)
    ours = [S.cyclic_lr(t, 0.01, 0.5, up, down, mode) for t in range(600)]
    assert ours == pytest.approx(ref, rel=1e-12, abs=1e-15)
    with pytest.raises(ValueError, match="mode must be 'triangular' or 'triangular2', got 'exp'"):
        S.cyclic_lr(0, 0.01, 0.5, mode="exp")
    with pytest.raises(ValueError, match="step_size_up must be an int >= 1"):
        S.cyclic_lr(0, 0.01, 0.5, step_size_up=0)
