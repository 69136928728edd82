"""Sweep specs for optim, gan, precision and selection (see sweep_kit for the verdict rule)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from dlnotes import optim, precision
from dlnotes.gan import data as gdata
from dlnotes.gan import losses, metrics as gmetrics, models, spectral, training
from sweep_kit import Spec

g = torch.Generator().manual_seed(1)
P0 = torch.randn(4, 3, generator=g, dtype=torch.float64)
SPECS: dict[str, Spec] = {}


# ---------------------------------------------------------------- optimizers: 3 steps on a quadratic
def run_optimizer(make, p0, steps=3, **kw):
    p = p0.detach().clone().requires_grad_(True)
    opt = make([p], **kw)
    target = torch.linspace(-1, 1, p.numel(), dtype=p.dtype).reshape(p.shape) if p.numel() else p.detach()
    for _ in range(steps):
        def closure():
            opt.zero_grad()
            loss = ((p - target) ** 2 * 1.5).sum() + p.sum() ** 2 / 10
            loss.backward()
            return loss
        opt.step(closure)
    return p.detach()


_OPT_KINDS = ("float16", "bfloat16", "float32", "noncontiguous", "nan", "inf", "empty", "single", "scalar_0d")
OPTIMIZERS = {
    "SGD": (dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.01, nesterov=True), ("lr", "momentum", "weight_decay")),
    "Adagrad": (dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, eps=1e-10), ("lr", "lr_decay", "weight_decay", "eps")),
    "RMSprop": (dict(lr=0.01, alpha=0.9, eps=1e-8, momentum=0.5, centered=True), ("lr", "alpha", "eps", "momentum")),
    "Adadelta": (dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.01), ("lr", "rho", "eps", "weight_decay")),
    "Adam": (dict(lr=0.01, eps=1e-8, weight_decay=0.01, amsgrad=True), ("lr", "eps", "weight_decay")),
    "AdamW": (dict(lr=0.01, eps=1e-8, weight_decay=0.01), ("lr", "eps", "weight_decay")),
    "NAdam": (dict(lr=0.01, eps=1e-8, momentum_decay=4e-3), ("lr", "eps", "momentum_decay")),
}
for name, (kw, nums) in OPTIMIZERS.items():
    SPECS[f"optim.{name}"] = Spec(
        lambda p0, _n=name, **k: run_optimizer(getattr(optim, _n), p0, **k), dict(p0=P0, **kw),
        tensors=("p0",), numbers=nums, nonneg=nums, kinds=_OPT_KINDS, rtol=1e-10,
        reference=lambda p0, _n=name, **k: run_optimizer(getattr(torch.optim, _n), p0, foreach=False, **k))
SPECS["optim.MomentumTextbook"] = Spec(
    lambda p0, lr, gamma: run_optimizer(optim.MomentumTextbook, p0, lr=lr, gamma=gamma), dict(p0=P0, lr=0.1, gamma=0.9),
    tensors=("p0",), numbers=("lr", "gamma"), nonneg=("lr", "gamma"), kinds=_OPT_KINDS, rtol=1e-10,
    reference=lambda p0, lr, gamma: run_optimizer(torch.optim.SGD, p0, lr=lr, momentum=gamma))
SPECS["optim.NesterovLookahead"] = Spec(
    lambda p0, lr, gamma: run_optimizer(optim.NesterovLookahead, p0, lr=lr, gamma=gamma),
    dict(p0=P0, lr=0.1, gamma=0.9), tensors=("p0",), numbers=("lr", "gamma"), nonneg=("lr", "gamma"),
    kinds=_OPT_KINDS)
SPECS["optim.ewa"] = Spec(optim.ewa, dict(xs=P0, beta=0.8), tensors=("xs",), numbers=("beta",), nonneg=("beta",),
                          reference=lambda xs, beta: torch.as_tensor(
                              pd.DataFrame(np.asarray(xs, dtype=np.float64)).ewm(alpha=1 - beta, adjust=True)
                              .mean().to_numpy()).to(xs.dtype if isinstance(xs, torch.Tensor) and xs.is_floating_point()
                                                      else torch.float64),
                          skip=(("xs", "nan"), ("xs", "inf"), ("xs", "extra_dim"), ("xs", "scalar_0d"),
                                ("xs", "empty"), ("xs", "int64"), ("xs", "bool")))  # pandas differs, not a reference
SPECS["optim.classify_critical_point"] = Spec(
    lambda f, x, atol=1e-6: optim.classify_critical_point(f, x, atol).kind,
    dict(f=lambda z: (z[0] ** 2 - z[1] ** 2) if z.numel() > 1 else z.sum() ** 2, x=torch.zeros(2, dtype=torch.float64),
         atol=1e-6), tensors=("x",), numbers=("atol",), nonneg=("atol",),
    kinds=("float32", "int64", "noncontiguous", "numpy", "list", "empty", "single", "extra_dim", "scalar_0d"))

# ---------------------------------------------------------------- GAN losses, spectral norm, models, data
RL = torch.randn(6, 1, generator=g, dtype=torch.float64)
FL = torch.randn(6, 1, generator=g, dtype=torch.float64)
_LOGIT_KINDS = ("float16", "bfloat16", "float32", "noncontiguous", "numpy", "list", "nan", "inf", "single",
                "scalar_0d", "int64", "bool")


def bce_pair(real_logits, fake_logits, **_):
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


SPECS["gan.losses.discriminator_loss"] = Spec(losses.discriminator_loss, dict(real_logits=RL, fake_logits=FL),
                                              tensors=("real_logits", "fake_logits"), reference=bce_pair,
                                              kinds=_LOGIT_KINDS, rtol=1e-12)
SPECS["gan.losses.discriminator_loss(least_squares)"] = Spec(
    losses.discriminator_loss, dict(real_logits=RL, fake_logits=FL, loss="least_squares", real_target=0.9),
    tensors=("real_logits", "fake_logits"), numbers=("real_target",), kinds=_LOGIT_KINDS + ("extra_dim",),
    reference=lambda real_logits, fake_logits, loss, real_target: 0.5 * (
        F.mse_loss(real_logits, torch.full_like(real_logits, real_target))
        + F.mse_loss(fake_logits, torch.zeros_like(fake_logits))), rtol=1e-12,
    skip=(("real_target", "nan"),))  # a NaN label is the caller's choice, as in F.mse_loss
# at an infinite logit torch's BCE formula gives 0 * inf = NaN; -logsigmoid(inf) = 0 is exact
SPECS["gan.losses.generator_loss"] = Spec(losses.generator_loss, dict(fake_logits=FL), tensors=("fake_logits",),
                                          kinds=_LOGIT_KINDS, rtol=1e-12, skip=(("fake_logits", "inf"),),
                                          reference=lambda fake_logits: F.binary_cross_entropy_with_logits(
                                              fake_logits, torch.ones_like(fake_logits)))
W2 = torch.tensor([[0.6, -0.8]], dtype=torch.float64)


def linear_critic(x):
    return x.reshape(len(x), -1)[:, :2] @ W2.T.to(x.dtype) if x.ndim > 1 else x * 2.0


SPECS["gan.losses.gradient_penalty"] = Spec(
    lambda real, fake: losses.gradient_penalty(linear_critic, real, fake, torch.Generator().manual_seed(0)),
    dict(real=torch.randn(5, 2, generator=g, dtype=torch.float64), fake=torch.randn(5, 2, generator=g, dtype=torch.float64)),
    tensors=("real", "fake"),  # ||w|| = 1, so the penalty is 0
    reference=lambda real, fake: torch.zeros((), dtype=torch.promote_types(real.dtype, fake.dtype)),
    kinds=("float32", "noncontiguous", "numpy", "list", "empty", "single", "scalar_0d", "int64"), rtol=1e-12)
SPECS["gan.losses.gradient_penalty(1-D)"] = Spec(
    lambda real, fake: losses.gradient_penalty(linear_critic, real, fake, torch.Generator().manual_seed(0)),
    dict(real=torch.randn(5, dtype=torch.float64), fake=torch.randn(5, dtype=torch.float64)),
    reference=lambda real, fake: torch.ones((), dtype=real.dtype))  # d(2x)/dx = 2: (2 - 1)^2
SPECS["gan.losses.smooth_labels"] = Spec(losses.smooth_labels, dict(n=4, smoothing=0.1), sizes={"n": 1},
                                         numbers=("smoothing",), nonneg=("smoothing",),
                                         reference=lambda n, smoothing: torch.full((n, 1), 1 - smoothing))
SPECS["gan.losses.soft_labels"] = Spec(lambda n, low, high: losses.soft_labels(n, low, high, torch.Generator().manual_seed(0)),
                                       dict(n=4, low=0.7, high=1.2), sizes={"n": 1}, numbers=("low", "high"))
SPECS["gan.losses.flip_labels"] = Spec(lambda labels, p: losses.flip_labels(labels, p, torch.Generator().manual_seed(0)),
                                       dict(labels=torch.ones(6, 1), p=0.0), tensors=("labels",), numbers=("p",),
                                       nonneg=("p",), reference=lambda labels, p: labels,
                                       kinds=("float64", "float16", "noncontiguous", "single", "empty", "numpy"))
SPECS["gan.losses.instance_noise"] = Spec(lambda x, std: losses.instance_noise(x, std, torch.Generator().manual_seed(0)),
                                          dict(x=RL, std=0.0), tensors=("x",), numbers=("std",), nonneg=("std",),
                                          reference=lambda x, std: x,
                                          kinds=("float16", "float32", "noncontiguous", "single", "empty", "nan"))
A35 = torch.randn(3, 5, generator=g, dtype=torch.float64)
SPECS["gan.spectral.lipschitz_constant"] = Spec(spectral.lipschitz_constant, dict(A=A35), tensors=("A",),
                                                reference=lambda A: torch.linalg.matrix_norm(A, ord=2), rtol=1e-12,
                                                kinds=("float32", "noncontiguous", "empty", "single", "extra_dim",
                                                       "numpy", "int64", "scalar_0d", "inf"))
SPECS["gan.spectral.power_iteration"] = Spec(
    lambda W, v, n_power_iterations=300, eps=1e-12: spectral.power_iteration(W, v, n_power_iterations, eps)[0],
    dict(W=A35, v=torch.ones(5, dtype=torch.float64), n_power_iterations=300, eps=1e-12),
    tensors=("W", "v"), sizes={"n_power_iterations": 1}, numbers=("eps",),
    reference=lambda W, v, **_: torch.linalg.matrix_norm(W, ord=2), rtol=1e-8,
    kinds=("float32", "noncontiguous", "empty", "single", "extra_dim", "numpy"))
SPECS["gan.spectral.SpectralNorm"] = Spec(
    lambda weight, n_power_iterations=1: torch.linalg.matrix_norm(
        spectral.SpectralNorm(weight, n_power_iterations).eval()(weight), ord=2),
    dict(weight=A35, n_power_iterations=1), tensors=("weight",), sizes={"n_power_iterations": 1},
    reference=lambda weight, **_: torch.ones((), dtype=weight.dtype), rtol=1e-3,
    kinds=("float32", "noncontiguous", "single", "scalar_0d", "numpy"))
SPECS["gan.spectral.spectral_norm"] = Spec(
    lambda n_power_iterations=1: torch.linalg.matrix_norm(
        spectral.spectral_norm(torch.nn.Linear(5, 3).double(), n_power_iterations=n_power_iterations).weight, ord=2),
    dict(n_power_iterations=1), sizes={"n_power_iterations": 1},
    reference=lambda **_: torch.ones((), dtype=torch.float64), rtol=1e-3)
SPECS["gan.models.pack"] = Spec(models.pack, dict(x=torch.randn(6, 2, generator=g), degree=3), tensors=("x",),
                                sizes={"degree": 1}, names={"x": ("batch",)}, reference=lambda x, degree: torch.as_tensor(x).reshape(len(x) // degree, -1),
                                kinds=("float16", "float64", "int64", "noncontiguous", "numpy", "empty", "scalar_0d",
                                       "extra_dim"))
SPECS["gan.models.GaussianNoise"] = Spec(lambda std, x: models.GaussianNoise(std).eval()(x), dict(std=0.1, x=RL),
                                         numbers=("std",), nonneg=("std",), reference=lambda std, x: x)
SPECS["gan.models.mlp_generator"] = Spec(lambda hidden, depth: models.mlp_generator(hidden=hidden, depth=depth)(
    torch.zeros(3, 2)).shape, dict(hidden=8, depth=2), sizes={"hidden": 1, "depth": 1})
SPECS["gan.models.mlp_discriminator"] = Spec(lambda hidden, depth: models.mlp_discriminator(hidden=hidden, depth=depth)(
    torch.zeros(3, 2)).shape, dict(hidden=8, depth=2), sizes={"hidden": 1, "depth": 1})
SPECS["gan.models.conv_discriminator"] = Spec(lambda channels: models.conv_discriminator(channels=channels)(
    torch.zeros(2, 64)).shape, dict(channels=4), sizes={"channels": 1})
SPECS["gan.data.ring_centers"] = Spec(gdata.ring_centers, dict(n_modes=8, radius=1.0), sizes={"n_modes": 1},
                                      numbers=("radius",), nonneg=("radius",))
SPECS["gan.data.grid_centers"] = Spec(gdata.grid_centers, dict(side=3, spacing=2.0), sizes={"side": 1},
                                      numbers=("spacing",), nonneg=("spacing",))
SPECS["gan.data.centers"] = Spec(lambda name: gdata.centers(name).shape, dict(name="grid"), reference=lambda name: (25, 2))
SPECS["gan.data.sample_mixture"] = Spec(lambda n: gdata.sample_mixture("ring", n, torch.Generator().manual_seed(0)),
                                        dict(n=10), sizes={"n": 1})
SPECS["gan.data.digits"] = Spec(lambda scale: gdata.digits(scale)[0].shape, dict(scale="tanh"))
SPECS["gan.metrics.mode_metrics"] = Spec(gmetrics.mode_metrics, dict(
    samples=gdata.ring_centers(8).double(), centers=gdata.ring_centers(8).double(), std=0.01),
    tensors=("samples",), numbers=("std",), nonneg=("std",),
    kinds=("float32", "noncontiguous", "empty", "single", "nan", "numpy"))
SPECS["gan.training.lr_factor"] = Spec(training.lr_factor, dict(step=5, steps=10, lr_decay="linear", decay_start=0.0),
                                       sizes={"step": 0, "steps": 1}, numbers=("decay_start",), nonneg=("decay_start",))
SPECS["gan.training.train_gan"] = Spec(
    lambda steps, batch_size, lr_d: training.train_gan("ring", steps=steps, batch_size=batch_size, lr_d=lr_d, hidden=8,
                                                       n_samples=16, sample_every=2, device="cpu").d_loss.shape
    if "device" in training.train_gan.__code__.co_varnames else
    training.train_gan("ring", steps=steps, batch_size=batch_size, lr_d=lr_d, hidden=8, n_samples=16,
                       sample_every=2).d_loss.shape,
    dict(steps=2, batch_size=8, lr_d=1e-3), sizes={"steps": 1, "batch_size": 1}, numbers=("lr_d",), nonneg=("lr_d",))

# ---------------------------------------------------------------- precision
V = torch.rand(50, generator=g, dtype=torch.float64) + 0.5


def native_sum(values, fmt, kahan=False):
    dtype = precision.get_format(fmt).dtype
    x = torch.as_tensor(values).reshape(-1).to(dtype)
    s = torch.zeros((), dtype=dtype)
    c = torch.zeros((), dtype=dtype)
    for x_k in x:
        if kahan:
            y = x_k - c
            t = s + y
            c = (t - s) - y
            s = t
        else:
            s = s + x_k
    return s.item()


def torch_bits(x, fmt="fp16"):
    x = torch.as_tensor(x)
    return x.float().to(torch.float16).view(torch.int16).to(torch.int64) & 0xFFFF


for fmt in ("fp16", "bf16"):
    SPECS[f"precision.sequential_sum({fmt})"] = Spec(precision.sequential_sum, dict(values=V, fmt=fmt),
                                                     tensors=("values",), reference=native_sum, rtol=0,
                                                     kinds=("float32", "float16", "noncontiguous", "empty", "single",
                                                            "nan", "inf", "extra_dim", "scalar_0d", "int64"))
    SPECS[f"precision.kahan_sum({fmt})"] = Spec(precision.kahan_sum, dict(values=V, fmt=fmt), tensors=("values",),
                                                reference=lambda values, fmt: native_sum(values, fmt, kahan=True), rtol=0,
                                                kinds=("float32", "float16", "noncontiguous", "empty", "single", "nan",
                                                       "inf", "scalar_0d"))
SPECS["precision.encode"] = Spec(precision.encode, dict(x=V * 1000, fmt="fp16"), tensors=("x",), reference=torch_bits,
                                 rtol=0, skip=(("x", "nan"),))  # NaN payloads differ by design (documented)
SPECS["precision.round_to"] = Spec(precision.round_to, dict(x=V * 1000, fmt="bf16"), tensors=("x",), rtol=0,
                                   reference=lambda x, fmt: torch.as_tensor(x).float().to(torch.bfloat16).float())
BITS = torch.arange(0, 2**16, 97)
SPECS["precision.decode"] = Spec(precision.decode, dict(bits=BITS, fmt="fp16"), tensors=("bits",), rtol=0,
                                 reference=lambda bits, fmt: torch.as_tensor(bits).to(torch.int16).view(torch.float16).double(),
                                 kinds=("int64", "float32", "bool", "noncontiguous", "numpy", "list", "empty", "single",
                                        "extra_dim", "scalar_0d"))
SPECS["precision.fields"] = Spec(lambda bits, fmt: tuple(precision.fields(bits, fmt)), dict(bits=torch.arange(0, 256, 7), fmt="e5m2"),
                                 tensors=("bits",), kinds=("float32", "bool", "noncontiguous", "numpy", "empty", "single"))
SPECS["precision.bit_string"] = Spec(precision.bit_string, dict(x=1.5, fmt="fp16"), numbers=("x",),
                                     reference=lambda x, fmt: "0 01111 1000000000", skip=(("x", "nan"),))
SPECS["precision.get_format"] = Spec(lambda fmt: precision.get_format(fmt).name, dict(fmt=torch.bfloat16),
                                     reference=lambda fmt: "bf16")
SPECS["precision.representable_values"] = Spec(lambda fmt: len(precision.representable_values(fmt)),
                                               dict(fmt="e4m3"), reference=lambda fmt: 253)
SPECS["precision.FloatFormat"] = Spec(lambda exponent_bits, mantissa_bits: precision.FloatFormat(
    "x", exponent_bits, mantissa_bits).max, dict(exponent_bits=5, mantissa_bits=10),
    sizes={"exponent_bits": 2, "mantissa_bits": 1}, reference=lambda **_: 65504.0)
SPECS["precision.range_census"] = Spec(precision.range_census, dict(values=V * 1e-6, fmt="fp16"), tensors=("values",),
                                       kinds=("float32", "float16", "noncontiguous", "empty", "single", "nan", "inf"))


def scaler_run(make, init_scale=2.0**10, growth_factor=2.0, backoff_factor=0.5, growth_interval=2):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = make("cpu", init_scale=init_scale, growth_factor=growth_factor, backoff_factor=backoff_factor,
                  growth_interval=growth_interval)
    scales = []
    for step in range(6):
        opt.zero_grad()
        loss = model(torch.ones(2, 3)).sum() * (1e38 if step == 2 else 1.0)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    return scales, model.weight.detach()


SPECS["precision.GradScaler"] = Spec(lambda **k: scaler_run(precision.GradScaler, **k),
                                     dict(init_scale=2.0**10, growth_factor=2.0, backoff_factor=0.5, growth_interval=2),
                                     numbers=("init_scale", "growth_factor", "backoff_factor"),
                                     nonneg=("init_scale", "growth_factor", "backoff_factor"),
                                     sizes={"growth_interval": 1}, rtol=0,
                                     reference=lambda **k: scaler_run(torch.amp.GradScaler, **k))


def gradients_of(X):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    return precision.collect_gradients(model, lambda m, x: m(x).pow(2).sum(), X)


def retain_grad_reference(X):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    z0 = model[0](X)
    z0.retain_grad()
    z2 = model[2](model[1](z0))
    z2.retain_grad()
    z2.pow(2).sum().backward()
    return {str(i): {"activation": z.grad.float().reshape(-1), "weight": model[i].weight.grad.float().reshape(-1)}
            for i, z in ((0, z0), (2, z2))}


SPECS["precision.collect_gradients"] = Spec(gradients_of, dict(X=torch.randn(5, 3, generator=g)), tensors=("X",),
                                            reference=retain_grad_reference, kinds=("noncontiguous", "single", "nan"))
SPECS["precision.train_regression"] = Spec(
    lambda X, Y, steps, lr, precision_name="fp32": precision.train_regression(
        X, Y, precision_name, steps=steps, lr=lr, batch_size=4, hidden=4).final_loss < 10,
    dict(X=torch.randn(16, 2, generator=g), Y=torch.randn(16, 1, generator=g), steps=2, lr=0.1),
    tensors=("X", "Y"), sizes={"steps": 1}, numbers=("lr",), nonneg=("lr",),
    kinds=("noncontiguous", "empty", "single", "extra_dim", "numpy"))

EXEMPT = {
    "LOSSES": "a tuple of names", "BENCHMARKS": "a dict of settings", "LR_DECAYS": "a tuple of names",
    "GANRun": "the result type of train_gan", "CriticalPoint": "the result type of classify_critical_point",
    "FORMATS": "the table get_format reads", "Fields": "the result type of fields",
    "TrainResult": "the result type of train_regression",
}
XFAIL: dict[tuple[str, str, str], str] = {}
