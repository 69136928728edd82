r"""``train_gan``: one alternating GAN training loop with one switch per trick of the notes.

Each step draws :math:`B` real samples and :math:`B` latent codes, takes ``d_steps``
discriminator steps on :math:`L_D` (plus :math:`\lambda\,` ``gradient_penalty``) and one
generator step on :math:`L_G` (see :mod:`dlnotes.gan.losses`). Every switch defaults to the
plain GAN (non-saturating loss, Adam, no tricks) so an experiment turns on exactly one.

Dtypes: the generator and discriminator are float32 models on ``device``; counts are Python or
NumPy ints, rates Python or NumPy reals; recorded losses are Python floats.
"""
from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field
from numbers import Real

import numpy as np
import torch
from ..ema import EMA
from ..progress import tqdm

from . import data as _data
from .losses import LOSSES, discriminator_loss, flip_labels, generator_loss, gradient_penalty, soft_labels
from .models import mlp_discriminator, mlp_generator, pack as _pack
from .unrolled import unrolled_generator_loss
from ..runtime import device as _default_device
from ..schedules import as_scheduler, cosine_annealing_lr, linear_warmup_lr

__all__ = ["LR_DECAYS", "GANRun", "lr_factor", "train_gan"]

LR_DECAYS = ("none", "linear", "cosine")


@dataclass
class GANRun:
    """What ``train_gan`` returns: per-step histories, periodic samples of the fixed latent codes
    ``z`` and the trained nets. With ``ema_decay`` the samples come from ``generator_ema``."""

    d_loss: np.ndarray
    g_loss: np.ndarray
    g_grad_norm: np.ndarray
    samples: dict = field(repr=False)
    generator: torch.nn.Module = field(repr=False)
    discriminator: torch.nn.Module = field(repr=False)
    seconds: float = 0.0
    z: torch.Tensor | None = field(default=None, repr=False)
    generator_ema: torch.nn.Module | None = field(default=None, repr=False)
    sample_seconds: dict = field(default_factory=dict, repr=False)
    ema_search: dict = field(default_factory=dict, repr=False)

    @property
    def final_samples(self) -> torch.Tensor:
        return self.samples[max(self.samples)]


def _optimizer(kind: str, params, lr: float, betas):
    if kind == "adam":  # foreach: torch's multi-tensor Adam, the same arithmetic in fewer calls
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)
    return torch.optim.SGD(params, lr=lr)


def lr_factor(step: int, steps: int, lr_decay: str = "none", decay_start: float = 0.0) -> float:
    r"""The factor :math:`\eta_t / \eta_0` that ``train_gan`` applies to both learning rates at
    0-based step ``t`` of ``steps``: constant until :math:`s = \lfloor` ``decay_start`` :math:`\cdot T \rfloor`,
    then down to 0 at :math:`t = T` over :math:`T - s` steps,

    .. math::
        \text{linear: } 1 - \frac{t - s}{T - s}, \qquad
        \text{cosine: } \tfrac12\Bigl(1 + \cos\frac{\pi (t - s)}{T - s}\Bigr), \qquad t \ge s.

    A decaying rate damps the two players' oscillation around the equilibrium late in training,
    so the samples settle on the modes (the "constant, then linear decay to zero" of
    CycleGAN, Zhu et al., 2017, arXiv:1703.10593).

    Matches: ``dlnotes.schedules.linear_warmup_lr(t - s, 1, 1, 0, T - s)`` and
    ``dlnotes.schedules.cosine_annealing_lr(t - s, 1, T - s)`` (and through them
    ``torch.optim.lr_scheduler.LinearLR(opt, 1.0, 0.0, T - s)`` / ``CosineAnnealingLR(opt, T - s)``).
    """
    for name, value, low in (("step", step, 0), ("steps", steps, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if lr_decay not in LR_DECAYS:
        raise ValueError(f"lr_decay must be one of {LR_DECAYS}, got {lr_decay!r}")
    if isinstance(decay_start, bool) or not isinstance(decay_start, Real):
        raise TypeError(f"decay_start must be a real number, got {type(decay_start).__name__}")
    if not 0 <= decay_start < 1:
        raise ValueError(f"decay_start must be a fraction in [0, 1), got {decay_start!r}")
    start = int(decay_start * steps)
    if lr_decay == "none" or step < start:
        return 1.0
    if lr_decay == "linear":
        return linear_warmup_lr(step - start, 1.0, 1.0, 0.0, steps - start)
    return cosine_annealing_lr(min(step - start, steps - start), 1.0, steps - start)


def _check(steps, batch_size, loss, lr_d, lr_g, d_steps, pack, latent, optimizer_d, optimizer_g,
           label_smoothing, label_flip, instance_noise, gp_weight, ema_decay, sample_every,
           unrolled_steps=0, unrolled_lr=0.1) -> None:
    for name, value in (("steps", steps), ("batch_size", batch_size), ("d_steps", d_steps),
                        ("pack", pack), ("sample_every", sample_every)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    for name, value in (("lr_d", lr_d), ("lr_g", lr_g)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {value!r}")
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
    if batch_size % pack:
        raise ValueError(f"pack must divide batch_size, got pack={pack}, batch_size={batch_size}")
    if latent not in ("normal", "uniform"):
        raise ValueError(f"latent must be 'normal' or 'uniform', got {latent!r}")
    for name, value in (("optimizer_d", optimizer_d), ("optimizer_g", optimizer_g)):
        if value not in ("adam", "sgd"):
            raise ValueError(f"{name} must be 'adam' or 'sgd', got {value!r}")
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    if not 0 <= label_flip <= 1:
        raise ValueError(f"label_flip must be in [0, 1], got {label_flip}")
    for name, value in (("instance_noise", instance_noise), ("gp_weight", gp_weight)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {value!r}")
        if not value >= 0:
            raise ValueError(f"{name} must be non-negative, got {value}")
    if isinstance(ema_decay, bool) or not isinstance(ema_decay, Real):
        raise TypeError(f"ema_decay must be a real number, got {type(ema_decay).__name__}")
    if not 0 <= ema_decay < 1:
        raise ValueError(f"ema_decay must be in [0, 1) (0: no average), got {ema_decay!r}")
    if isinstance(unrolled_steps, bool) or not isinstance(unrolled_steps, numbers.Integral):
        raise TypeError(f"unrolled_steps must be an int, got {type(unrolled_steps).__name__}")
    if unrolled_steps < 0:
        raise ValueError(f"unrolled_steps must be non-negative (0: no unrolling), got {unrolled_steps}")
    if isinstance(unrolled_lr, bool) or not isinstance(unrolled_lr, numbers.Real):
        raise TypeError(f"unrolled_lr must be a real number, got {unrolled_lr!r}")
    if not unrolled_lr > 0:
        raise ValueError(f"unrolled_lr must be positive, got {unrolled_lr}")


def train_gan(
    data="ring",
    *,
    steps: int = 2000,
    batch_size: int = 128,
    loss: str = "nonsaturating",
    lr_d: float = 1e-3,
    lr_g: float = 1e-3,
    betas: tuple[float, float] = (0.5, 0.999),
    lr_decay: str = "none",
    decay_start: float = 0.0,
    optimizer_d: str = "adam",
    optimizer_g: str = "adam",
    d_steps: int = 1,
    latent: str = "normal",
    z_dim: int = 2,
    label_smoothing: float = 0.0,
    soft: bool = False,
    label_flip: float = 0.0,
    instance_noise: float = 0.0,
    gp_weight: float = 0.0,
    pack: int = 1,
    ema_decay: float = 0.0,
    unrolled_steps: int = 0,
    unrolled_lr: float = 0.1,
    ema_search: tuple = (),
    mixed_batches: bool = False,
    spectral_norm: bool = False,
    d_batchnorm: bool = False,
    g_batchnorm: bool = False,
    g_noise: float = 0.0,
    activation: str = "relu",
    d_activation: str = "leaky_relu",
    hidden: int = 128,
    generator: torch.nn.Module | None = None,
    discriminator: torch.nn.Module | None = None,
    seed: int = 0,
    sample_every: int = 500,
    n_samples: int = 2500,
    progress: bool = False,
    device=None,
) -> GANRun:
    r"""Train a GAN on ``data`` and return a :class:`GANRun`.

    ``data``: ``"ring"`` / ``"grid"`` (sampled afresh each step) or a tensor of real examples
    (minibatches drawn with replacement). The tricks, by the notes' numbering (A §4):

    1. pass a tanh ``generator`` and data in [-1, 1]; 2. ``loss``; 3. ``latent``;
    4. ``d_batchnorm`` / ``g_batchnorm``, ``mixed_batches`` (one BN batch of real and fake);
    5. ``activation`` / ``d_activation`` (or a ``discriminator`` with pooling);
    6. ``label_smoothing`` (one-sided, real target :math:`1-\alpha`), ``soft`` (real targets
    :math:`U[0.7,1.2]`, fake :math:`U[0,0.3]`), ``label_flip`` (probability);
    7. ``optimizer_d`` / ``optimizer_g``; 9. ``instance_noise`` (std on D's inputs, annealed
    linearly to 0) and ``g_noise`` (std added after every G layer); 10. ``d_steps``;
    11. ``lr_d`` / ``lr_g`` (TTUR), both decayed to 0 by ``lr_decay`` from the fraction
    ``decay_start`` of the run on (see :func:`lr_factor`); 12. ``gp_weight`` (:math:`\lambda` of WGAN-GP);
    13. ``spectral_norm``; 14. ``pack`` (PacGAN degree). Trick 8 (failure signals) is read
    off the returned ``d_loss`` / ``g_loss``. Not among the fourteen: ``ema_decay`` > 0 samples
    from an exponential moving average of G's weights (:class:`dlnotes.ema.EMA`, updated after
    every G step; Yazıcı et al., 2019, arXiv:1806.04498), while training goes on with the raw ones.
    ``ema_search``: further decays whose averages of G are kept side by side (in
    ``GANRun.ema_search``, by decay), to compare decays on one run at no extra training.
    ``unrolled_steps`` = :math:`k` > 0 scores G against D unrolled :math:`k` SGD steps of rate
    ``unrolled_lr`` (the unrolled GAN of Metz et al., 2017; :mod:`dlnotes.gan.unrolled`).

    ``device`` (default :func:`dlnotes.device`): the models, the data, every random draw (latent
    codes, minibatch indices, labels, noise) and the returned samples live there; on the CPU the
    random stream is the same as with a plain ``torch.Generator``.
    """
    _check(steps, batch_size, loss, lr_d, lr_g, d_steps, pack, latent, optimizer_d, optimizer_g,
           label_smoothing, label_flip, instance_noise, gp_weight, ema_decay, sample_every,
           unrolled_steps, unrolled_lr)
    device = torch.device(device) if device is not None else _default_device()
    lr_factor(0, steps, lr_decay, decay_start)  # validates lr_decay and decay_start before any work
    torch.manual_seed(seed)
    rng = torch.Generator(device=device).manual_seed(seed)
    if isinstance(data, str) and data in _data.BENCHMARKS:
        dim = 2

        def real_batch(n):
            return _data.sample_mixture(data, n, generator=rng, device=device)
    elif isinstance(data, torch.Tensor) and data.ndim == 2:
        dim = data.shape[1]
        examples = data.to(device)

        def real_batch(n):
            return examples[torch.randint(len(examples), (n,), generator=rng, device=device)]
    else:
        raise ValueError(f"data must be 'ring', 'grid' or a 2-D tensor of examples, got {data!r}")
    G = generator if generator is not None else mlp_generator(
        z_dim, dim, hidden, 3, activation, batchnorm=g_batchnorm, noise_std=g_noise)
    D = discriminator if discriminator is not None else mlp_discriminator(
        dim, hidden, 2, d_activation, batchnorm=d_batchnorm, spectral_norm=spectral_norm, pack=pack)
    G, D = G.to(device), D.to(device)
    opt_d = _optimizer(optimizer_d, D.parameters(), lr_d, betas)
    opt_g = _optimizer(optimizer_g, G.parameters(), lr_g, betas)
    G_ema = EMA(G, ema_decay) if ema_decay > 0 else None
    for decay in ema_search:
        if isinstance(decay, bool) or not isinstance(decay, Real) or not 0 < decay < 1:
            raise ValueError(f"ema_search must hold decays in (0, 1), got {decay!r}")
    searched = {float(decay): EMA(G, decay) for decay in ema_search}
    sampler = G_ema.module if G_ema is not None else G
    schedulers = [as_scheduler(opt, lambda t, lr=lr: lr * lr_factor(t, steps, lr_decay, decay_start))
                  for opt, lr in ((opt_d, lr_d), (opt_g, lr_g))]

    def z(n):
        if latent == "normal":
            return torch.randn(n, z_dim, generator=rng, device=device)
        return 2 * torch.rand(n, z_dim, generator=rng, device=device) - 1

    def logits(x_real, x_fake, noise_std):
        if noise_std > 0:
            x_real = x_real + noise_std * torch.randn(x_real.shape, generator=rng, device=device)
            x_fake = x_fake + noise_std * torch.randn(x_fake.shape, generator=rng, device=device)
        x_real, x_fake = _pack(x_real, pack), _pack(x_fake, pack)
        if mixed_batches:
            both = D(torch.cat([x_real, x_fake]))
            return both[: len(x_real)], both[len(x_real):]
        return D(x_real), D(x_fake)

    n_packs = batch_size // pack
    d_hist, g_hist, grad_hist, samples, sample_seconds = [], [], [], {}, {}
    z_fixed = z(n_samples)
    start = time.process_time()
    for step in tqdm(range(1, steps + 1), disable=not progress, desc="train_gan"):
        noise_std = instance_noise * (1 - (step - 1) / steps)
        for _ in range(d_steps):
            real_target, fake_target = 1.0 - label_smoothing, 0.0
            if soft:
                real_target = soft_labels(n_packs, 0.7, 1.2, rng, device=device)
                fake_target = soft_labels(n_packs, 0.0, 0.3, rng, device=device)
            if label_flip > 0:
                real_target = flip_labels(torch.as_tensor(real_target, device=device).expand(n_packs, 1).float(),
                                          label_flip, rng)
                fake_target = flip_labels(torch.as_tensor(fake_target, device=device).expand(n_packs, 1).float(),
                                          label_flip, rng)
            x_real = real_batch(batch_size)
            with torch.no_grad():
                x_fake = G(z(batch_size))
            real_logits, fake_logits = logits(x_real, x_fake, noise_std)
            loss_d = discriminator_loss(real_logits, fake_logits, loss, real_target, fake_target)
            total = loss_d
            if gp_weight > 0:
                total = total + gp_weight * gradient_penalty(D, _pack(x_real, pack), _pack(x_fake, pack), rng)
            opt_d.zero_grad()
            total.backward()
            opt_d.step()
        if unrolled_steps > 0:
            reals = [_pack(real_batch(batch_size), pack) for _ in range(unrolled_steps)]
            loss_g = unrolled_generator_loss(D, reals, _pack(G(z(batch_size)), pack), unrolled_steps, unrolled_lr, loss)
        else:
            _, fake_logits = logits(real_batch(batch_size), G(z(batch_size)), noise_std)
            loss_g = generator_loss(fake_logits, loss)
        opt_g.zero_grad()
        loss_g.backward()
        grad_hist.append(float(torch.sqrt(sum((p.grad ** 2).sum() for p in G.parameters()))))
        opt_g.step()
        if G_ema is not None:
            G_ema.update_parameters(G)
        for average in searched.values():
            average.update_parameters(G)
        for scheduler in schedulers:
            scheduler.step()
        d_hist.append(loss_d.item())
        g_hist.append(loss_g.item())
        if step % sample_every == 0 or step == steps:
            sampler.eval()
            with torch.no_grad():
                samples[step] = sampler(z_fixed)
            sampler.train()
            sample_seconds[step] = time.process_time() - start
    return GANRun(np.array(d_hist), np.array(g_hist), np.array(grad_hist), samples, G, D,
                  time.process_time() - start, z_fixed, G_ema.module if G_ema is not None else None, sample_seconds,
                  {decay: average.module for decay, average in searched.items()})
