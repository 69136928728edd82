r"""The library's own answer to every drill, with the drill's exact signature.

Most call the tested ``dlnotes`` module that a chapter teaches (``dlnotes.norm.BatchNorm``,
``dlnotes.optim.Adam``, ``dlnotes.metrics.roc_auc`` ...); where the library has no function
of that shape, the rule is written here. ``tests/test_drills.py`` checks every one of them
against the torch / scikit-learn reference the drills grade with.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .. import activations, diagnostics, init, metrics, norm, regularization, schedules, selection
from ..gan import losses, spectral
from ..gradients import numerical_gradient as _numerical_gradient
from ..hparams.digits import iterations_per_epoch as _iterations_per_epoch
from ..hparams.gp import expected_improvement as _expected_improvement
from ..optim import SGD, Adam, AdamW, RMSprop, ewa
from ..precision import round_to

__all__ = [  # one per drill, with the drill's signature
    "softmax", "cross_entropy", "dropout", "batch_norm_train", "layer_norm", "group_norm",
    "batch_norm_backward", "adam_step", "adamw_step", "sgd_momentum_step", "rmsprop_step",
    "ema_bias_corrected", "cosine_warmup_lr", "step_decay_lr", "roc_auc", "f1_at_threshold", "gauc",
    "numerical_gradient", "clip_grad_norm", "clip_grad_value", "xavier_uniform", "kaiming_normal",
    "gan_losses", "gradient_penalty", "power_iteration", "kfold_splits", "iterations_per_epoch",
    "expected_improvement", "bf16_round", "loss_scale_update",
]


# --------------------------------------------------------------------- activations and losses
def softmax(x, dim):
    """Max-shifted softmax, :func:`dlnotes.activations.softmax`. Matches: ``torch.softmax(x, dim)``."""
    return activations.softmax(x, dim)


def cross_entropy(logits, target):
    r"""Mean over the batch of :math:`-\log\operatorname{softmax}(z_i)_{y_i}`, by log-sum-exp.

    Matches: ``F.cross_entropy(logits, target)``.
    """
    log_p = activations.log_softmax(logits, 1)
    return -log_p.gather(1, target.long().unsqueeze(1)).mean()


def dropout(x, p, training):
    """Inverted dropout, :class:`dlnotes.regularization.Dropout`; zeros at ``p = 1``. Matches: ``F.dropout(x, p, training)`` in distribution."""
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)  # dlnotes.regularization.Dropout rejects p = 1 (division by zero)
    return regularization.Dropout(p)(x)


# --------------------------------------------------------------------- normalization
def batch_norm_train(x, weight, bias, running_mean, running_var, momentum=0.1, eps=1e-5):
    """One training step of :class:`dlnotes.norm.BatchNorm` on copies of the buffers.

    Matches: ``F.batch_norm(x, running_mean, running_var, weight, bias, training=True, momentum=momentum, eps=eps)``.
    """
    bn = norm.BatchNorm(x.shape[1], eps=eps, momentum=momentum, dtype=x.dtype)
    with torch.no_grad():
        bn.weight.copy_(weight), bn.bias.copy_(bias)
        bn.running_mean.copy_(running_mean), bn.running_var.copy_(running_var)
    y = bn(x)
    return y.detach(), bn.running_mean.clone(), bn.running_var.clone()


def layer_norm(x, normalized_shape, weight, bias, eps=1e-5):
    """:class:`dlnotes.norm.LayerNorm` with the given affine parameters. Matches: ``F.layer_norm``."""
    ln = norm.LayerNorm(normalized_shape, eps=eps, dtype=x.dtype)
    with torch.no_grad():
        ln.weight.copy_(weight), ln.bias.copy_(bias)
    return ln(x).detach()


def group_norm(x, num_groups, weight, bias, eps=1e-5):
    """:class:`dlnotes.norm.GroupNorm` with the given affine parameters. Matches: ``F.group_norm``."""
    gn = norm.GroupNorm(num_groups, x.shape[1], eps=eps, dtype=x.dtype)
    with torch.no_grad():
        gn.weight.copy_(weight), gn.bias.copy_(bias)
    return gn(x).detach()


def batch_norm_backward(grad_out, x, weight, eps=1e-5):
    r"""The hand-derived backward of training-mode batch norm (:class:`dlnotes.norm.BatchNormFunction`)."""
    x = x.detach().requires_grad_(True)
    w = weight.detach().clone().requires_grad_(True)
    b = torch.zeros_like(w, requires_grad=True)
    y = norm.batch_norm_hand(x, w, b, eps)
    return torch.autograd.grad(y, (x, w, b), grad_out)


# --------------------------------------------------------------------- optimizers
def _one_step(opt_class, param, grad, state: dict, **hyper):
    p = param.detach().clone().requires_grad_(True)
    opt = opt_class([p], **hyper)
    if state:
        opt.state[p] = {k: (v.detach().clone() if isinstance(v, torch.Tensor) else v) for k, v in state.items()}
    p.grad = grad.detach().clone()
    opt.step()
    return p.detach(), opt.state[p]


def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """One step of :class:`dlnotes.optim.Adam` from the given state (``step`` counts from 1).

    Matches: ``torch.optim.Adam(..., foreach=False).step()``.
    """
    state = {"step": torch.tensor(float(step - 1)), "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
    p, s = _one_step(Adam, param, grad, state, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    return p, s["exp_avg"], s["exp_avg_sq"]


def adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    """One step of :class:`dlnotes.optim.AdamW` from the given state. Matches: ``torch.optim.AdamW(...).step()``."""
    state = {"step": torch.tensor(float(step - 1)), "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
    p, s = _one_step(AdamW, param, grad, state, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    return p, s["exp_avg"], s["exp_avg_sq"]


def sgd_momentum_step(param, grad, buf, lr, momentum, nesterov=False):
    """One step of :class:`dlnotes.optim.SGD` with momentum (``buf=None`` on the first step).

    Matches: ``torch.optim.SGD(..., momentum=momentum, nesterov=nesterov).step()``.
    """
    state = {} if buf is None else {"momentum_buffer": buf}
    p, s = _one_step(SGD, param, grad, state, lr=lr, momentum=momentum, nesterov=nesterov)
    return p, s["momentum_buffer"]


def rmsprop_step(param, grad, square_avg, lr=1e-2, alpha=0.99, eps=1e-8):
    """One step of :class:`dlnotes.optim.RMSprop` (no momentum, not centered). Matches: ``torch.optim.RMSprop``."""
    state = {"step": torch.tensor(0.0), "square_avg": square_avg}
    p, s = _one_step(RMSprop, param, grad, state, lr=lr, alpha=alpha, eps=eps)
    return p, s["square_avg"]


def ema_bias_corrected(xs, beta):
    """The bias-corrected EWA of :func:`dlnotes.optim.ewa`. Matches: ``DataFrame(xs).ewm(alpha=1 - beta, adjust=True).mean()``."""
    return ewa(xs, beta, bias_correction=True).to(xs.dtype)


# --------------------------------------------------------------------- schedules
def cosine_warmup_lr(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    r"""Linear warm-up from 0, cosine annealing to ``min_lr`` at ``total_steps``, then ``min_lr``.

    .. math:: \eta_t = \begin{cases} \eta_0\, t / W & t < W \\
              \eta_{\min} + (\eta_0 - \eta_{\min})\,\tfrac12\bigl(1 + \cos(\pi (t - W)/(T - W))\bigr) & W \le t < T \\
              \eta_{\min} & t \ge T \end{cases}

    Matches: ``CosineAnnealingLR(opt, T_max=T - W, eta_min=min_lr)`` after the warm-up.
    """
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    if step >= total_steps:
        return float(min_lr)
    return schedules.cosine_annealing_lr(step - warmup_steps, base_lr, total_steps - warmup_steps, min_lr)


def step_decay_lr(step, base_lr, step_size, gamma=0.1):
    """Step decay, :func:`dlnotes.schedules.step_lr`. Matches: ``StepLR(opt, step_size, gamma)``."""
    return schedules.step_lr(step, base_lr, step_size, gamma)


# --------------------------------------------------------------------- metrics
def roc_auc(y_true, y_score):
    """Trapezoidal AUC in integer counts, :func:`dlnotes.metrics.roc_auc`. Matches: ``roc_auc_score``."""
    return metrics.roc_auc(y_true, y_score)


def f1_at_threshold(y_true, y_score, threshold=0.5):
    """F1 of ``y_score >= threshold``, :func:`dlnotes.metrics.precision_recall_f1`. Matches: ``f1_score(..., zero_division=0)``."""
    y_pred = (torch.as_tensor(y_score) >= threshold).long()
    return metrics.precision_recall_f1(y_true, y_pred, average="binary", zero_division=0.0)[2]


def gauc(y_true, y_score, groups):
    """Impressions-weighted group AUC, :func:`dlnotes.metrics.group_auc`."""
    return metrics.group_auc(y_true, y_score, groups, weighting="impressions")


# --------------------------------------------------------------------- gradients and init
def numerical_gradient(f, x, eps=1e-6):
    """Central differences, :func:`dlnotes.gradients.numerical_gradient`."""
    return _numerical_gradient(f, x, eps)


def _holding(grads):
    """Parameters whose ``.grad`` are copies of ``grads`` (the library clips parameters' gradients)."""
    params = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.detach().clone()
    return params


def clip_grad_norm(grads, max_norm):
    """Global-norm clipping of copies, :func:`dlnotes.diagnostics.clip_grad_norm`. Matches: ``clip_grad_norm_``."""
    params = _holding(grads)
    total_norm = diagnostics.clip_grad_norm(params, max_norm)
    return [p.grad for p in params], total_norm


def clip_grad_value(grads, clip_value):
    """Value clipping of copies, :func:`dlnotes.diagnostics.clip_grad_value`. Matches: ``clip_grad_value_``."""
    params = _holding(grads)
    diagnostics.clip_grad_value(params, clip_value)
    return [p.grad for p in params]


def xavier_uniform(shape, gain=1.0):
    """A new tensor filled by :func:`dlnotes.init.xavier_uniform_`. Matches: ``nn.init.xavier_uniform_`` in distribution."""
    return init.xavier_uniform_(torch.empty(shape), gain=gain)


def kaiming_normal(shape, mode="fan_in"):
    """A new tensor filled by :func:`dlnotes.init.kaiming_normal_` for ReLU. Matches: ``nn.init.kaiming_normal_``."""
    return init.kaiming_normal_(torch.empty(shape), mode=mode, nonlinearity="relu")


# --------------------------------------------------------------------- GAN
def gan_losses(real_logits, fake_logits):
    """The non-saturating losses of :mod:`dlnotes.gan.losses`. Matches: ``F.binary_cross_entropy_with_logits``."""
    d_loss = losses.discriminator_loss(real_logits, fake_logits, loss="nonsaturating")
    return d_loss, losses.generator_loss(fake_logits, loss="nonsaturating")


def gradient_penalty(critic, real, fake, eps):
    r"""WGAN-GP penalty with the mixing weights given (:func:`dlnotes.gan.losses.gradient_penalty` draws them).

    .. math:: \hat x = \epsilon x + (1-\epsilon)\tilde x,\qquad
              \text{penalty} = \frac1N\sum_n (\lVert\nabla_{\hat x} D(\hat x_n)\rVert_2 - 1)^2
    """
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def power_iteration(W, v, n_power_iterations=1, eps=1e-12):
    """Power iteration from ``v``, :func:`dlnotes.gan.spectral.power_iteration`."""
    return spectral.power_iteration(W, v, n_power_iterations, eps)


# --------------------------------------------------------------------- model selection, search
def kfold_splits(n, k):
    """Unshuffled folds, :func:`dlnotes.selection.kfold_indices`. Matches: ``KFold(n_splits=k).split``."""
    return selection.kfold_indices(n, k)


def iterations_per_epoch(n_samples, batch_size, drop_last=False):
    """Updates per epoch, :func:`dlnotes.hparams.digits.iterations_per_epoch`. Matches: ``len(DataLoader(...))``."""
    return _iterations_per_epoch(n_samples, batch_size, drop_last)


def expected_improvement(mean, std, best, xi=0.0):
    """Expected improvement (minimization), :func:`dlnotes.hparams.gp.expected_improvement`."""
    return _expected_improvement(mean, std, best, xi).to(torch.as_tensor(mean).dtype)


# --------------------------------------------------------------------- precision
def bf16_round(x):
    """Round to bf16 through the bits, :func:`dlnotes.precision.round_to`. Matches: ``x.to(torch.bfloat16).float()``."""
    return round_to(x, "bf16")


def loss_scale_update(scale, growth_tracker, found_inf, growth_factor=2.0, backoff_factor=0.5,
                      growth_interval=2000):
    r"""One update of a dynamic loss scale, the rule of :class:`dlnotes.precision.GradScaler`.

    .. math::
        (S, k) \leftarrow \begin{cases}
        (S\,b,\ 0) & \text{inf/NaN found} \\
        (S\,g,\ 0) & k + 1 = \text{growth\_interval} \\
        (S,\ k + 1) & \text{otherwise}
        \end{cases}

    A growth that overflows float32 is not applied. Matches: ``torch._amp_update_scale_``.
    """
    if found_inf:
        return float(np.float32(scale * backoff_factor)), 0
    if growth_tracker + 1 == growth_interval:
        with np.errstate(over="ignore"):
            grown = np.float32(np.float64(np.float32(scale)) * growth_factor)
        return (float(grown) if math.isfinite(grown) else float(scale)), 0
    return float(scale), growth_tracker + 1
