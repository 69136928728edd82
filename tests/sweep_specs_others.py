"""Sweep specs for metrics, schedules, norm, data, ema, early stopping, selection and hparams.

Cases that fail in modules another branch is fixing are listed in ``XFAIL`` (strict): they
fail today, and their mark must be removed once that branch is merged.
"""
from __future__ import annotations

import math
import signal

import numpy as np
import torch
import torch.nn.functional as F
from sklearn import metrics as skm
from sklearn.model_selection import KFold
from sklearn.preprocessing import PolynomialFeatures

from dlnotes import data, early_stopping, ema, lr_experiments, metrics, norm, schedules, selection
from sweep_kit import Spec

g = torch.Generator().manual_seed(2)
SPECS: dict[str, Spec] = {}
XFAIL: dict[tuple[str, str, str], str] = {}


def np64(x):
    return torch.as_tensor(x).double().numpy() if not isinstance(x, np.ndarray) else x.astype(np.float64)


# ---------------------------------------------------------------- metrics (scikit-learn references)
YT = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1, 1, 0])
YS = torch.rand(10, generator=g, dtype=torch.float64)
YP = torch.tensor([0, 1, 0, 0, 1, 1, 0, 1, 1, 1])
_SCORE_KINDS = ("float16", "float32", "int64", "noncontiguous", "numpy", "list", "nan", "inf", "empty", "single",
                "extra_dim", "scalar_0d")


def as_arrays(fn):
    return lambda **k: tuple(np.asarray(t, dtype=np.float64) for t in fn(**k)[:3])


SPECS["metrics.roc_auc"] = Spec(metrics.roc_auc, dict(y_true=YT, y_score=YS), tensors=("y_true", "y_score"),
                                kinds=_SCORE_KINDS, rtol=1e-12,
                                reference=lambda y_true, y_score: skm.roc_auc_score(np64(y_true), np64(y_score)))
SPECS["metrics.roc_auc_rank"] = Spec(metrics.roc_auc_rank, dict(y_true=YT, y_score=YS), tensors=("y_true", "y_score"),
                                     kinds=_SCORE_KINDS, rtol=1e-12,
                                     reference=lambda y_true, y_score: skm.roc_auc_score(np64(y_true), np64(y_score)))
BIG = torch.tensor([2**53, 2**53 + 1, 2**53 + 2, 2**53 + 3], dtype=torch.int64)
SPECS["metrics.roc_auc(int64 above 2**53)"] = Spec(
    metrics.roc_auc, dict(y_true=torch.tensor([0, 1, 0, 1]), y_score=BIG),
    reference=lambda y_true, y_score: skm.roc_auc_score(y_true.numpy(), y_score.numpy()))
SPECS["metrics.average_precision"] = Spec(
    metrics.average_precision, dict(y_true=YT, y_score=YS), tensors=("y_true", "y_score"), kinds=_SCORE_KINDS,
    rtol=1e-12, reference=lambda y_true, y_score: skm.average_precision_score(np64(y_true), np64(y_score)))
SPECS["metrics.roc_curve"] = Spec(as_arrays(metrics.roc_curve), dict(y_true=YT, y_score=YS),
                                  tensors=("y_score",), kinds=_SCORE_KINDS, rtol=1e-12,
                                  reference=lambda y_true, y_score: skm.roc_curve(np64(y_true), np64(y_score)))
SPECS["metrics.precision_recall_curve"] = Spec(
    as_arrays(metrics.precision_recall_curve), dict(y_true=YT, y_score=YS), tensors=("y_score",), kinds=_SCORE_KINDS,
    rtol=1e-12, reference=lambda y_true, y_score: skm.precision_recall_curve(np64(y_true), np64(y_score)))
SPECS["metrics.confusion_matrix"] = Spec(metrics.confusion_matrix, dict(y_true=YT, y_pred=YP),
                                         tensors=("y_true", "y_pred"),
                                         kinds=("numpy", "list", "noncontiguous", "single", "extra_dim", "float32"),
                                         reference=lambda y_true, y_pred: skm.confusion_matrix(np64(y_true), np64(y_pred)))
SPECS["metrics.precision_recall_f1"] = Spec(
    lambda y_true, y_pred, zero_division=0.0: tuple(metrics.precision_recall_f1(y_true, y_pred, zero_division=zero_division)),
    dict(y_true=YT, y_pred=YP, zero_division=0.0), tensors=("y_true", "y_pred"), numbers=("zero_division",),
    kinds=("numpy", "list", "noncontiguous", "single", "empty", "extra_dim", "float32"), rtol=1e-12,
    reference=lambda y_true, y_pred, zero_division: tuple(skm.precision_recall_fscore_support(
        np64(y_true), np64(y_pred), average="binary", zero_division=zero_division)[:3]),
    skip=(("zero_division", "np.int64"), ("zero_division", "nan")))  # NaN is a valid zero_division
GROUPS = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
SPECS["metrics.group_auc"] = Spec(metrics.group_auc, dict(y_true=YT, y_score=YS, groups=GROUPS),
                                  tensors=("y_true", "y_score", "groups"),
                                  kinds=("float32", "noncontiguous", "numpy", "list", "nan", "empty", "single"))
SPECS["metrics.group_auc(string ids)"] = Spec(
    metrics.group_auc, dict(y_true=YT, y_score=YS, groups=np.array(["a"] * 4 + ["b"] * 6)),
    reference=lambda y_true, y_score, groups: metrics.group_auc(y_true, y_score, GROUPS))


# ---------------------------------------------------------------- schedules
def within(seconds):
    """Run ``fn`` with an alarm: a hang becomes a TimeoutError the verdict can report."""
    def wrap(fn):
        def run(**k):
            def alarm(*_):
                raise TimeoutError(f"took more than {seconds} s")
            old = signal.signal(signal.SIGALRM, alarm)
            signal.setitimer(signal.ITIMER_REAL, seconds)
            try:
                return fn(**k)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
        return run
    return wrap


SPECS["schedules.step_lr"] = Spec(schedules.step_lr, dict(step=7, lr=0.1, step_size=3, gamma=0.5), numbers=("lr", "gamma"),
                                  nonneg=("lr", "gamma"), sizes={"step": 0, "step_size": 1}, rtol=1e-15,
                                  reference=lambda step, lr, step_size, gamma: lr * gamma ** (step // step_size))
SPECS["schedules.step_lr(gamma > 1, large step)"] = Spec(
    schedules.step_lr, dict(step=10**6, lr=1.0, step_size=1, gamma=2.0),
    reference=lambda **_: (_ for _ in ()).throw(ValueError("gamma")))  # an infinite rate is refused clearly
SPECS["schedules.exponential_lr"] = Spec(schedules.exponential_lr, dict(step=4, lr=0.1, gamma=0.9), numbers=("lr", "gamma"),
                                         nonneg=("lr", "gamma"), sizes={"step": 0}, rtol=1e-15,
                                         reference=lambda step, lr, gamma: lr * gamma**step)
SPECS["schedules.cosine_annealing_lr"] = Spec(
    schedules.cosine_annealing_lr, dict(step=3, lr=0.1, T_max=10, eta_min=0.01), numbers=("lr", "eta_min"),
    nonneg=("lr", "eta_min"), sizes={"step": 0, "T_max": 1}, rtol=1e-14,
    reference=lambda step, lr, T_max, eta_min: eta_min + (lr - eta_min) * (1 + math.cos(math.pi * step / T_max)) / 2)
for name, kw, nums, sizes in (
        ("multistep_lr", dict(step=5, lr=0.1, milestones=[2, 4], gamma=0.5), ("lr", "gamma"), {"step": 0}),
        ("inverse_time_lr", dict(step=5, lr=0.1, decay_rate=0.5, decay_steps=2), ("lr", "decay_rate"),
         {"step": 0, "decay_steps": 1}),
        ("linear_warmup_lr", dict(step=2, lr=0.1, start_factor=0.25, end_factor=1.0, total_iters=4),
         ("lr", "start_factor"), {"step": 0, "total_iters": 1}),
        ("warmup_cosine_lr", dict(step=5, lr=0.1, warmup_steps=2, total_steps=10), ("lr",),
         {"step": 0, "total_steps": 1}),
        ("cosine_warm_restarts_lr", dict(step=25, lr=0.1, T_0=5, T_mult=2), ("lr",), {"step": 0, "T_0": 1}),
        ("one_cycle_lr", dict(step=5, max_lr=0.1, total_steps=10), ("max_lr",), {"step": 0, "total_steps": 1})):
    SPECS[f"schedules.{name}"] = Spec(getattr(schedules, name), kw, numbers=nums, nonneg=nums, sizes=sizes,
                                      skip=(("step", "float"),) if name == "cosine_warm_restarts_lr" else ())
    # (cosine_warm_restarts_lr takes fractional epochs, as torch's CosineAnnealingWarmRestarts.step(epoch) does)
SPECS["schedules.cosine_warm_restarts_lr(step 1e12)"] = Spec(
    within(2.0)(schedules.cosine_warm_restarts_lr), dict(step=10**12 + 1, lr=0.1, T_0=3, T_mult=1),
    reference=lambda step, lr, T_0, T_mult: 0.05 * (1 + math.cos(math.pi * (step % T_0) / T_0)), rtol=1e-9)


def scheduled_lrs(schedule):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = schedules.as_scheduler(opt, schedule)
    lrs = []
    for _ in range(3):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


SPECS["schedules.as_scheduler"] = Spec(scheduled_lrs, dict(schedule=lambda k: 0.1 * 0.5**k),
                                       reference=lambda schedule: [0.05, 0.025, 0.0125])
SPECS["schedules.as_scheduler(NaN rate)"] = Spec(lambda: scheduled_lrs(lambda k: math.nan if k else 0.1), {},
                                                 reference=lambda: (_ for _ in ()).throw(ValueError("schedule")))
SPECS["schedules.torch_lrs"] = Spec(lambda num_steps, lr: schedules.torch_lrs(
    lambda o: torch.optim.lr_scheduler.StepLR(o, 2, 0.5), num_steps, lr), dict(num_steps=5, lr=1.0),
    sizes={"num_steps": 1}, numbers=("lr",), nonneg=("lr",), reference=lambda num_steps, lr: [
        lr * 0.5 ** (k // 2) for k in range(num_steps)], rtol=1e-15)
XF = torch.randn(20, 3, generator=g)
YF = (XF @ torch.tensor([1.0, -2.0, 0.5]) > 0).long()


LR_MODEL = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(0.2), torch.nn.Linear(4, 2))
LR_START = {k: v.clone() for k, v in LR_MODEL.state_dict().items()}


def fit_once(model, X, y, steps, lr=0.1):
    model.load_state_dict(LR_START)  # every case trains the same model from the same weights
    torch.manual_seed(0)  # dropout
    return lr_experiments.fit(model, torch.optim.SGD(model.parameters(), lr=lr), X, y, steps, batch_size=8)


def range_test(model, X, y, min_lr, max_lr, steps):
    model.load_state_dict(LR_START)
    torch.manual_seed(0)
    return lr_experiments.lr_range_test(model, lambda ps, lr: torch.optim.SGD(ps, lr=lr), X, y, min_lr, max_lr, steps,
                                        batch_size=8)


SPECS["lr_experiments.fit"] = Spec(fit_once, dict(model=LR_MODEL, X=XF, y=YF, steps=3), tensors=("X", "y"),
                                   sizes={"steps": 1}, mutates=("model",),
                                   kinds=("noncontiguous", "empty", "single", "nan", "extra_dim", "numpy"))
SPECS["lr_experiments.lr_range_test"] = Spec(range_test, dict(model=LR_MODEL, X=XF, y=YF, min_lr=1e-3, max_lr=1.0, steps=4),
                                             tensors=("X",), numbers=("min_lr", "max_lr"), nonneg=("min_lr", "max_lr"),
                                             sizes={"steps": 2}, mutates=("model",),
                                             kinds=("noncontiguous", "empty", "single", "nan", "numpy"))
SPECS["lr_experiments.descend"] = Spec(lambda x0, steps, noise_std=0.0: lr_experiments.descend(
    lambda x: 2 * x, x0, lambda ps: torch.optim.SGD(ps, lr=0.1), steps, noise_std=noise_std), dict(
    x0=torch.ones(4, dtype=torch.float64), steps=3, noise_std=0.0), tensors=("x0",), sizes={"steps": 1},
    numbers=("noise_std",), nonneg=("noise_std",), reference=lambda x0, steps, noise_std: torch.as_tensor(x0) * 0.8**steps,
    kinds=("float32", "noncontiguous", "numpy", "empty", "single", "nan", "scalar_0d"), rtol=1e-12)

# ---------------------------------------------------------------- normalization (torch references)
XN = torch.randn(6, 4, generator=g, dtype=torch.float64) * 2 + 1
XN3 = torch.randn(6, 4, 5, generator=g, dtype=torch.float64)
_NORM_KINDS = ("float16", "bfloat16", "float32", "noncontiguous", "nan", "empty", "single", "extra_dim")


def norm_run(cls, ctor_args, x, train=True):
    dtype = x.dtype if isinstance(x, torch.Tensor) and x.is_floating_point() else None
    m = cls(*ctor_args, dtype=dtype)
    m.train(train)
    return m(x), dict(m.named_buffers())


for name, tcls, ctor, base in (("BatchNorm", torch.nn.BatchNorm1d, (4,), XN), ("LayerNorm", torch.nn.LayerNorm, (4,), XN),
                               ("InstanceNorm", torch.nn.InstanceNorm1d, (4,), XN3),
                               ("GroupNorm", torch.nn.GroupNorm, (2, 4), XN3)):
    ours = getattr(norm, name)
    SPECS[f"norm.{name}"] = Spec(lambda x, _o=ours, _c=ctor: norm_run(_o, _c, x), dict(x=base),
                                 tensors=("x",), kinds=_NORM_KINDS, rtol=1e-10, names={"x": ("input",)},
                                 reference=lambda x, _t=tcls, _c=ctor: norm_run(_t, _c, x))
    SPECS[f"norm.{name}(fp16, std 1000)"] = Spec(
        lambda x, _o=ours, _c=ctor: norm_run(_o, _c, x)[0].float(),
        dict(x=(base * 1000).half()), reference=lambda x, _t=tcls, _c=ctor: norm_run(_t, _c, x)[0].float(),
        rtol=2e-2)
WB = (torch.ones(4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64))
SPECS["norm.batch_norm_hand"] = Spec(lambda x, eps=1e-5: norm.batch_norm_hand(x, *WB, eps), dict(x=XN, eps=1e-5),
                                     tensors=("x",), numbers=("eps",), nonneg=("eps",), rtol=1e-10,
                                     names={"x": ("weight must have shape",)},
                                     kinds=("float32", "noncontiguous", "nan", "single", "empty", "extra_dim"),
                                     reference=lambda x, eps: F.batch_norm(x, None, None, *WB, True, 0.0, eps))


def double_backward(fn):
    x = XN.clone().requires_grad_(True)
    (gx,) = torch.autograd.grad((fn(x) * torch.arange(24.0).reshape(6, 4).double()).sum(), x, create_graph=True)
    (ggx,) = torch.autograd.grad(gx.pow(2).sum(), x)
    return ggx


SPECS["norm.batch_norm_hand(double backward)"] = Spec(
    lambda: double_backward(lambda x: norm.batch_norm_hand(x, *WB)), {}, rtol=1e-8,
    reference=lambda: double_backward(lambda x: F.batch_norm(x, None, None, *WB, True, 0.0, 1e-5)))

# ---------------------------------------------------------------- data, EMA, early stopping, selection
XD = torch.linspace(-1, 1, 7, dtype=torch.float64)
SPECS["data.polynomial_features"] = Spec(data.polynomial_features, dict(x=XD, degree=3), tensors=("x",),
                                         sizes={"degree": 0}, rtol=1e-12,
                                         kinds=("float32", "noncontiguous", "numpy", "empty", "single", "nan",
                                                "extra_dim"),
                                         reference=lambda x, degree: torch.as_tensor(PolynomialFeatures(degree).fit_transform(
                                             np64(x)[:, None])).to(x.dtype))
SPECS["data.polynomial_data"] = Spec(lambda n, noise: data.polynomial_data(n, noise=noise, seed=0), dict(n=8, noise=0.2),
                                     sizes={"n": 1}, numbers=("noise",), nonneg=("noise",))
SPECS["data.load_digits_tensors"] = Spec(lambda: data.load_digits_tensors()[0].shape, {}, reference=lambda: (1797, 64))
IMG = torch.rand(3, 8, 8, generator=g, dtype=torch.float64)
SPECS["data.affine"] = Spec(data.affine, dict(images=IMG, angle=torch.zeros(3, dtype=torch.float64),
                                              shift=torch.zeros(3, 2, dtype=torch.float64)),
                            tensors=("images",), names={"images": ("angle", "shift")}, reference=lambda images, angle, shift: images, rtol=1e-12,
                            kinds=("float32", "noncontiguous", "single", "empty", "extra_dim", "numpy"))
SPECS["data.random_augment"] = Spec(lambda images, max_shift, max_angle: data.random_augment(
    images, max_shift, max_angle, torch.Generator().manual_seed(0)), dict(images=IMG, max_shift=1, max_angle=10.0),
    tensors=("images",), sizes={"max_shift": 0}, numbers=("max_angle",), nonneg=("max_angle",),
    kinds=("float32", "noncontiguous", "single", "empty", "numpy"))


def ema_once(decay):
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    averaged = ema.EMA(model, decay)
    with torch.no_grad():
        model.weight.add_(1.0)
    averaged.update_parameters(model)
    return dict(averaged.named_parameters())


SPECS["ema.EMA"] = Spec(ema_once, dict(decay=0.9), numbers=("decay",), nonneg=("decay",))


def stop_epoch(patience, min_delta):
    stopper = early_stopping.EarlyStopping(patience, min_delta)
    for value in (3.0, 2.0, 2.5, 2.6, 2.7, 1.0):
        if stopper.step(value):
            return stopper.epoch
    return None


SPECS["early_stopping.EarlyStopping"] = Spec(stop_epoch, dict(patience=2, min_delta=0.0), sizes={"patience": 1},
                                             numbers=("min_delta",), nonneg=("min_delta",))
SPECS["selection.kfold_indices"] = Spec(lambda n, k: [tuple(map(np.asarray, f)) for f in selection.kfold_indices(n, k)],
                                        dict(n=10, k=3), sizes={"n": 2, "k": 2},
                                        reference=lambda n, k: [tuple(f) for f in KFold(k).split(np.arange(n))])
SPECS["selection.train_val_split"] = Spec(lambda n, val_size: selection.train_val_split(n, val_size, shuffle=False),
                                          dict(n=10, val_size=0.3), sizes={"n": 2}, numbers=("val_size",),
                                          nonneg=("val_size",),
                                          reference=lambda n, val_size: (np.arange(7), np.arange(7, 10)),
                                          skip=(("val_size", "np.int64"),))
SPECS["selection.cross_val_scores"] = Spec(lambda n, k: selection.cross_val_scores(lambda tr, va: len(va), n, k),
                                           dict(n=10, k=5), sizes={"n": 2, "k": 2},
                                           reference=lambda n, k: np.full(k, n / k))
XC = torch.randn(12, 3, generator=g)
YC = (XC[:, 0] > 0).long()


def classifier():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(0.5), torch.nn.Linear(4, 2))


def evaluate_reference(model, X, y):
    model = classifier().eval()
    logits = model(torch.as_tensor(X))
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).double().mean().item()


SPECS["selection.evaluate"] = Spec(lambda model, X, y: selection.evaluate(model, X, y), dict(model=classifier(), X=XC, y=YC),
                                   tensors=("X",), reference=evaluate_reference, rtol=1e-6,
                                   kinds=("noncontiguous", "single", "nan", "empty"))
FIT_MODEL = classifier()
FIT_START = {k: v.clone() for k, v in FIT_MODEL.state_dict().items()}


def fit_from_the_start(model, X, y, epochs, lr, batch_size=4):
    model.load_state_dict(FIT_START)  # every case trains the same model from the same weights
    torch.manual_seed(0)  # dropout
    history = selection.fit_classifier(model, X, y, epochs=epochs, lr=lr, batch_size=batch_size)
    return history["train_loss"][-1]


SPECS["selection.fit_classifier"] = Spec(
    fit_from_the_start, dict(model=FIT_MODEL, X=XC, y=YC, epochs=2, lr=0.01, batch_size=4), tensors=("X", "y"),
    sizes={"epochs": 1, "batch_size": 1}, numbers=("lr",), nonneg=("lr",), mutates=("model",),
    kinds=("float64", "noncontiguous", "numpy", "list", "empty", "single", "extra_dim", "scalar_0d", "nan"))
