"""The classic mistakes, one function each: every one must fail its drill, in the case that
exposes it, with a diagnostic that names the problem, and without the solution in the report."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlnotes import drills
from dlnotes.drills import solutions as S

WRONG: list[tuple] = []  # (drill, mistake, fn, failing case contains, detail or hint contains)


def wrong(drill, mistake, case, says):
    def register(fn):
        WRONG.append(pytest.param(drill, fn, case, says, id=f"{drill}-{mistake}"))
        return fn
    return register


# ----------------------------------------------------------------- softmax and cross-entropy
@wrong("softmax", "no-max-shift", "logits of 1000", "constant is subtracted")
def _(x, dim):
    e = torch.exp(x)
    return e / e.sum(dim, keepdim=True)


@wrong("softmax", "always-last-axis", "dim=0", "differs")
def _(x, dim):
    return S.softmax(x, -1)


@wrong("softmax", "global-max", "rows at -1000 and at +1000", "differs")
def _(x, dim):
    e = torch.exp(x - x.max())
    return e / e.sum(dim, keepdim=True)


@wrong("cross_entropy", "log-of-softmax", "logits of ±1000", "log-sum-exp")
def _(logits, target):
    p = torch.softmax(logits, 1)
    return -torch.log(p[torch.arange(len(target)), target]).mean()


@wrong("cross_entropy", "sum-not-mean", "random (8, 5)", "differs")
def _(logits, target):
    return F.cross_entropy(logits, target, reduction="sum")


@wrong("cross_entropy", "indexing-all-rows", "random (8, 5)", "differs")
def _(logits, target):
    return -torch.log_softmax(logits, 1)[:, target].mean()


# ----------------------------------------------------------------- dropout
@wrong("dropout", "p-as-keep-probability", "p=0.3", "dropped 69.88%")
def _(x, p, training):
    if not training:
        return x
    return x * (torch.rand_like(x) < p) / p if p > 0 else x


@wrong("dropout", "no-rescaling", "p=0.3", "x / (1 - p)")
def _(x, p, training):
    if not training or p == 0:
        return x
    return x * (torch.rand_like(x) >= p)


@wrong("dropout", "scales-in-eval", "training=False", "differs")
def _(x, p, training):
    return x * (1 - p) if not training else x * (torch.rand_like(x) >= p) / (1 - p)


@wrong("dropout", "p-equals-one-divides-by-zero", "p=1", "zeros rather than dividing")
def _(x, p, training):
    if not training:
        return x
    return x * (torch.rand_like(x) >= p) / (1 - p)


@wrong("dropout", "same-mask-every-call", "p=0.3", "two calls dropped exactly the same entries")
def _(x, p, training):
    if not training or p == 0:
        return x
    g = torch.Generator().manual_seed(0)
    return x * (torch.rand(x.shape, generator=g).to(x.dtype) >= p) / (1 - p)


# ----------------------------------------------------------------- normalization
def _bn(x, weight, bias, rm, rv, momentum, eps, unbiased_norm=False, biased_running=False, flip=False, eps_out=False, dims=None):
    dims = dims if dims is not None else [0, *range(2, x.dim())]
    shape = [1, -1] + [1] * (x.dim() - 2)
    mean, var = x.mean(dims), x.var(dims, unbiased=unbiased_norm)
    m = x.numel() // x.shape[1]
    std = var.sqrt() + eps if eps_out else (var + eps).sqrt()
    y = (x - mean.reshape(shape)) / std.reshape(shape) * weight.reshape(shape) + bias.reshape(shape)
    f = 1 - momentum if flip else momentum
    unbiased = x.var(dims, unbiased=not biased_running) if not unbiased_norm else var
    return y, (1 - f) * rm + f * mean, (1 - f) * rv + f * unbiased * (1 if not unbiased_norm else 1)


@wrong("batch_norm_train", "unbiased-variance-to-normalize", "(N, C) = (4, 3)", "biased batch variance")
def _(x, weight, bias, running_mean, running_var, momentum=0.1, eps=1e-5):
    return _bn(x, weight, bias, running_mean, running_var, momentum, eps, unbiased_norm=True)


@wrong("batch_norm_train", "biased-running-variance", "(N, C) = (4, 3)", "new_running_var")
def _(x, weight, bias, running_mean, running_var, momentum=0.1, eps=1e-5):
    return _bn(x, weight, bias, running_mean, running_var, momentum, eps, biased_running=True)


@wrong("batch_norm_train", "momentum-as-old-weight", "momentum=0.3", "newest batch")
def _(x, weight, bias, running_mean, running_var, momentum=0.1, eps=1e-5):
    return _bn(x, weight, bias, running_mean, running_var, momentum, eps, flip=True)


@wrong("batch_norm_train", "eps-outside-sqrt", "eps=0.1", "differs")
def _(x, weight, bias, running_mean, running_var, momentum=0.1, eps=1e-5):
    return _bn(x, weight, bias, running_mean, running_var, momentum, eps, eps_out=True)


@wrong("batch_norm_train", "statistics-per-position", "(N, C, H, W)", "every axis except the channel")
def _(x, weight, bias, running_mean, running_var, momentum=0.1, eps=1e-5):
    if x.dim() == 2:
        return S.batch_norm_train(x, weight, bias, running_mean, running_var, momentum, eps)
    mean, var = x.mean(0, keepdim=True), x.var(0, unbiased=False, keepdim=True)
    shape = [1, -1] + [1] * (x.dim() - 2)
    y = (x - mean) / (var + eps).sqrt() * weight.reshape(shape) + bias.reshape(shape)
    return y, *S.batch_norm_train(x, weight, bias, running_mean, running_var, momentum, eps)[1:]


@wrong("batch_norm_train", "running-stats-in-place", "(N, C) = (4, 3)", "modified its input `running_mean` in place")
def _(x, weight, bias, running_mean, running_var, momentum=0.1, eps=1e-5):
    y, rm, rv = S.batch_norm_train(x, weight, bias, running_mean, running_var, momentum, eps)
    running_mean.copy_(rm), running_var.copy_(rv)
    return y, running_mean, running_var


@wrong("layer_norm", "unbiased-variance", "(4, 10)", "differs")
def _(x, normalized_shape, weight, bias, eps=1e-5):
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    dims = list(range(-k, 0))
    return (x - x.mean(dims, keepdim=True)) / (x.var(dims, keepdim=True) + eps).sqrt() * weight + bias


@wrong("layer_norm", "last-axis-only", "the last two axes", "trailing axes")
def _(x, normalized_shape, weight, bias, eps=1e-5):
    return (x - x.mean(-1, keepdim=True)) / (x.var(-1, unbiased=False, keepdim=True) + eps).sqrt() * weight + bias


@wrong("group_norm", "interleaved-groups", "3 groups", "consecutive channels")
def _(x, num_groups, weight, bias, eps=1e-5):
    n, c = x.shape[:2]
    g = x.reshape(n, c // num_groups, num_groups, -1).transpose(1, 2).reshape(n, num_groups, -1)
    y = (g - g.mean(2, keepdim=True)) / (g.var(2, unbiased=False, keepdim=True) + eps).sqrt()
    y = y.reshape(n, num_groups, c // num_groups, -1).transpose(1, 2).reshape(x.shape)
    shape = [1, -1] + [1] * (x.dim() - 2)
    return y * weight.reshape(shape) + bias.reshape(shape)


@wrong("batch_norm_backward", "ignores-the-statistics", "(6, 3)", "two extra terms")
def _(grad_out, x, weight, eps=1e-5):
    dims = [0, *range(2, x.dim())]
    shape = [1, -1] + [1] * (x.dim() - 2)
    mean, var = x.mean(dims, keepdim=True), x.var(dims, unbiased=False, keepdim=True)
    x_hat = (x - mean) / (var + eps).sqrt()
    return grad_out * weight.reshape(shape) / (var + eps).sqrt(), (grad_out * x_hat).sum(dims), grad_out.sum(dims)


# ----------------------------------------------------------------- optimizers
def _adam(param, grad, m, v, step, lr, betas, eps, wd, correct=True, eps_inside=False, t_offset=0, decoupled=False):
    b1, b2 = betas
    if decoupled:
        param = param * (1 - lr * wd)
    elif wd:
        grad = grad + wd * param
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad**2
    t = step + t_offset
    m_hat, v_hat = (m / (1 - b1**t), v / (1 - b2**t)) if correct else (m, v)
    denom = (v_hat + eps).sqrt() if eps_inside else v_hat.sqrt() + eps
    return param - lr * m_hat / denom, m, v


@wrong("adam_step", "no-bias-correction", "one step from zero state", "Bias correction")
def _(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    return _adam(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay, correct=False)


@wrong("adam_step", "eps-inside-sqrt", "gradients of size 1e-4", "outside the square root")
def _(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    return _adam(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay, eps_inside=True)


@wrong("adam_step", "step-counted-from-zero", "one step from zero state", "step 1 of 1")
def _(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    return _adam(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay, t_offset=-1)


@wrong("adam_step", "decoupled-decay-in-adam", "weight_decay=0.1", "L2 term added to the gradient")
def _(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    return _adam(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay, decoupled=True)


@wrong("adam_step", "updates-param-in-place", "one step from zero state", "modified its input `param` in place")
def _(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    new = _adam(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay)
    param.copy_(new[0])
    return param, new[1], new[2]


@wrong("adamw_step", "l2-instead-of-decoupled", "weight_decay=0.1", "never enters m or v")
def _(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    return _adam(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, weight_decay)


@wrong("adamw_step", "decay-after-the-step", "weight_decay=0.1 with lr=0.1", "before the Adam step")
def _(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    p, m, v = _adam(param, grad, exp_avg, exp_avg_sq, step, lr, betas, eps, 0.0)
    return p * (1 - lr * weight_decay), m, v


@wrong("adamw_step", "decay-without-lr", "one step from zero state", "differs")
def _(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    p, m, v = _adam(param * (1 - weight_decay), grad, exp_avg, exp_avg_sq, step, lr, betas, eps, 0.0)
    return p, m, v


@wrong("sgd_momentum_step", "ema-form", "8 steps", "step 2 of 8")
def _(param, grad, buf, lr, momentum, nesterov=False):
    buf = grad.clone() if buf is None else momentum * buf + (1 - momentum) * grad
    return param - lr * buf, buf


@wrong("sgd_momentum_step", "lr-inside-the-buffer", "schedule", "out of the buffer")
def _(param, grad, buf, lr, momentum, nesterov=False):
    buf = lr * grad if buf is None else momentum * buf + lr * grad
    return param - buf, buf


@wrong("sgd_momentum_step", "nesterov-with-old-buffer", "nesterov=True", "already updated")
def _(param, grad, buf, lr, momentum, nesterov=False):
    old = torch.zeros_like(grad) if buf is None else buf
    new = grad.clone() if buf is None else momentum * buf + grad
    return param - lr * ((grad + momentum * old) if nesterov else new), new


@wrong("rmsprop_step", "eps-inside-sqrt", "gradients of size 1e-5", "sqrt(square_avg) + eps")
def _(param, grad, square_avg, lr=1e-2, alpha=0.99, eps=1e-8):
    s = alpha * square_avg + (1 - alpha) * grad**2
    return param - lr * grad / (s + eps).sqrt(), s


@wrong("rmsprop_step", "alpha-on-the-new-gradient", "alpha=0.9", "weight of the old average")
def _(param, grad, square_avg, lr=1e-2, alpha=0.99, eps=1e-8):
    s = (1 - alpha) * square_avg + alpha * grad**2
    return param - lr * grad / (s.sqrt() + eps), s


@wrong("ema_bias_corrected", "no-bias-correction", "20 values", "v_0 = 0")
def _(xs, beta):
    out, v = torch.empty_like(xs), torch.zeros_like(xs[0])
    for t in range(len(xs)):
        v = beta * v + (1 - beta) * xs[t]
        out[t] = v
    return out


@wrong("ema_bias_corrected", "starts-at-the-first-value", "20 values", "differs")
def _(xs, beta):
    out, v = torch.empty_like(xs), xs[0].clone()
    for t in range(len(xs)):
        v = beta * v + (1 - beta) * xs[t] if t else v
        out[t] = v
    return out


# ----------------------------------------------------------------- schedules
def _cos(step, base_lr, W, T, min_lr):
    return min_lr + (base_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * (step - W) / (T - W)))


@wrong("cosine_warmup_lr", "warm-up-off-by-one", "warm-up", "step 0 has learning rate 0")
def _(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    return _cos(min(step, total_steps), base_lr, warmup_steps, total_steps, min_lr)


@wrong("cosine_warmup_lr", "cosine-not-clamped", "at and after total_steps", "climb again")
def _(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    return _cos(step, base_lr, warmup_steps, total_steps, min_lr)


@wrong("cosine_warmup_lr", "no-warmup-divides-by-zero", "warmup_steps=0", "ZeroDivisionError")
def _(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step <= warmup_steps:
        return base_lr * step / warmup_steps
    return _cos(min(step, total_steps), base_lr, warmup_steps, total_steps, min_lr)


@wrong("cosine_warmup_lr", "min-lr-ignored", "min_lr=0.01", "expected")
def _(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    return _cos(min(step, total_steps), base_lr, warmup_steps, total_steps, 0.0)


@wrong("step_decay_lr", "counts-the-current-step", "step_size=10", "floor(step / step_size)")
def _(step, base_lr, step_size, gamma=0.1):
    return base_lr * gamma ** ((step + 1) // step_size)


@wrong("step_decay_lr", "ceil", "step_size=10", "at step=1")
def _(step, base_lr, step_size, gamma=0.1):
    return base_lr * gamma ** math.ceil(step / step_size)


# ----------------------------------------------------------------- metrics
def _pairs(y, s):
    y, s = np.asarray(y), np.asarray(s, dtype=float)
    return s[y == 1][:, None], s[y == 0][None, :]


@wrong("roc_auc", "ties-count-zero", "many ties", "one half")
def _(y_true, y_score):
    pos, neg = _pairs(y_true, y_score)
    return float((pos > neg).mean())


@wrong("roc_auc", "ranks-without-tie-averaging", "many ties", "one half")
def _(y_true, y_score):
    y, s = np.asarray(y_true), np.asarray(y_score, dtype=float)
    ranks = np.empty(len(s))
    ranks[np.argsort(s, kind="stable")] = np.arange(1, len(s) + 1)
    n1, n0 = (y == 1).sum(), (y == 0).sum()
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


@wrong("roc_auc", "no-error-for-one-class", "one class only", "ValueError")
def _(y_true, y_score):
    pos, neg = _pairs(y_true, y_score)
    with np.errstate(invalid="ignore"):
        return float(((pos > neg) + 0.5 * (pos == neg)).mean()) if neg.size and pos.size else float("nan")


@wrong("f1_at_threshold", "strict-inequality", "equal to the threshold", "score >= threshold")
def _(y_true, y_score, threshold=0.5):
    y, p = torch.as_tensor(y_true), (torch.as_tensor(y_score) > threshold).long()
    tp, fp, fn = float((y * p).sum()), float(((1 - y) * p).sum()), float((y * (1 - p)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@wrong("f1_at_threshold", "arithmetic-mean", "random scores", "harmonic mean")
def _(y_true, y_score, threshold=0.5):
    y, p = torch.as_tensor(y_true), (torch.as_tensor(y_score) >= threshold).long()
    tp = float((y * p).sum())
    return 0.0 if tp == 0 else (tp / float(p.sum()) + tp / float(y.sum())) / 2


@wrong("gauc", "unweighted-mean", "unequal size", "number of samples")
def _(y_true, y_score, groups):
    g = np.asarray(groups)
    aucs = [S.roc_auc(torch.as_tensor(np.asarray(y_true)[g == k]), torch.as_tensor(np.asarray(y_score)[g == k]))
            for k in np.unique(g) if len(np.unique(np.asarray(y_true)[g == k])) == 2]
    return float(np.mean(aucs))


@wrong("gauc", "global-auc", "unequal size", "expected")
def _(y_true, y_score, groups):
    return S.roc_auc(y_true, y_score)


@wrong("gauc", "single-class-groups-as-half", "one class only is skipped", "leave it out")
def _(y_true, y_score, groups):
    y, s, g = np.asarray(y_true), np.asarray(y_score), np.asarray(groups)
    total = 0.0
    for k in np.unique(g):
        m = g == k
        auc = S.roc_auc(torch.as_tensor(y[m]), torch.as_tensor(s[m])) if len(np.unique(y[m])) == 2 else 0.5
        total += m.sum() * auc
    return total / len(g)


# ----------------------------------------------------------------- gradients, clipping, init
@wrong("numerical_gradient", "forward-difference", "eps=1e-2", "error O(h)")
def _(f, x, eps=1e-6):
    flat, out = x.reshape(-1), torch.empty(x.numel(), dtype=x.dtype)
    for i in range(x.numel()):
        e = torch.zeros_like(flat)
        e[i] = eps
        out[i] = (f((flat + e).reshape(x.shape)) - f(x)) / eps
    return out.reshape(x.shape)


@wrong("numerical_gradient", "ignores-eps", "eps=1e-2", "Use the eps you are given")
def _(f, x, eps=1e-6):
    return S.numerical_gradient(f, x, 1e-5)


@wrong("numerical_gradient", "perturbs-x-in-place", "shape (6,)", "modified its input `x` in place")
def _(f, x, eps=1e-6):
    out = torch.empty_like(x)
    flat = x.view(-1)
    for i in range(x.numel()):
        flat[i] += eps
        up = f(x)
        flat[i] -= 2 * eps
        out.view(-1)[i] = (up - f(x)) / (2 * eps)  # forgets to restore x[i]
    return out


@wrong("clip_grad_norm", "per-tensor-clipping", "four tensors", "One global norm")
def _(grads, max_norm):
    clipped = [g * min(1.0, max_norm / float(g.norm())) for g in grads]
    return clipped, torch.sqrt(sum(g.norm() ** 2 for g in grads))


@wrong("clip_grad_norm", "also-scales-up", "unchanged", "only shrinks")
def _(grads, max_norm):
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    return [g * max_norm / total for g in grads], total


@wrong("clip_grad_value", "one-sided", "large negative", "both signs")
def _(grads, clip_value):
    return [g.clamp(max=clip_value) for g in grads]


@wrong("xavier_uniform", "kernel-left-out-of-the-fans", "(64, 32, 3, 3)", "outside the bound")
def _(shape, gain=1.0):
    a = gain * math.sqrt(6 / (shape[0] + shape[1]))
    return torch.empty(shape).uniform_(-a, a)


@wrong("xavier_uniform", "normal-not-uniform", "(256, 512)", "outside the bound")
def _(shape, gain=1.0):
    return torch.randn(shape) * gain * math.sqrt(2 / sum(_fans(shape)))


@wrong("xavier_uniform", "he-bound", "(256, 512)", "outside the bound")
def _(shape, gain=1.0):
    a = gain * math.sqrt(6 / _fans(shape)[0])
    return torch.empty(shape).uniform_(-a, a)


def _fans(shape):
    r = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * r, shape[0] * r


@wrong("kaiming_normal", "variance-as-std", "(512, 256)", "standard deviation")
def _(shape, mode="fan_in"):
    fan = _fans(shape)[0 if mode == "fan_in" else 1]
    return torch.randn(shape) * (2 / fan)


@wrong("kaiming_normal", "uniform-not-normal", "(512, 256)", "beyond 2 sigma")
def _(shape, mode="fan_in"):
    fan = _fans(shape)[0 if mode == "fan_in" else 1]
    a = math.sqrt(3) * math.sqrt(2 / fan)
    return torch.empty(shape).uniform_(-a, a)


@wrong("kaiming_normal", "ignores-mode", "fan_out", "standard deviation")
def _(shape, mode="fan_in"):
    return torch.randn(shape) * math.sqrt(2 / _fans(shape)[0])


# ----------------------------------------------------------------- GAN
@wrong("gan_losses", "minimax-generator-loss", "random logits", "g_loss")
def _(real_logits, fake_logits):
    d, _ = S.gan_losses(real_logits, fake_logits)
    return d, F.logsigmoid(-fake_logits).mean()


@wrong("gan_losses", "log-of-sigmoid", "logits of ±100", "logsigmoid")
def _(real_logits, fake_logits):
    d = -torch.log(torch.sigmoid(real_logits)).mean() - torch.log(1 - torch.sigmoid(fake_logits)).mean()
    return d, -torch.log(torch.sigmoid(fake_logits)).mean()


def _gp(critic, real, fake, eps, how):
    a, b = (fake, real) if how == "reversed-interpolation" else (real, fake)
    x_hat = (eps * a + (1 - eps) * b).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=how != "no-create-graph")
    if how == "norm-over-the-batch":
        return (g.norm() - 1) ** 2
    if how == "norm-over-dim-1-only":
        return ((g.norm(dim=1) - 1) ** 2).mean()
    return ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()


for _how, _case, _says in [("norm-over-the-batch", "(8, 3) samples", "penalty"), ("no-create-graph", "(8, 3) samples", "create_graph=True"),
                           ("norm-over-dim-1-only", "images", "per sample"), ("reversed-interpolation", "eps = 1, 0, 1, 0", "one eps per sample")]:
    wrong("gradient_penalty", _how, _case, _says)(lambda critic, real, fake, eps, how=_how: _gp(critic, real, fake, eps, how))


@wrong("power_iteration", "no-normalization", "one iteration", "normalize(W v)")
def _(W, v, n_power_iterations=1, eps=1e-12):
    for _ in range(n_power_iterations):
        u = W @ v
        v = W.T @ u
    return u @ W @ v, u, v


@wrong("power_iteration", "frobenius-norm", "one iteration", "sigma")
def _(W, v, n_power_iterations=1, eps=1e-12):
    sigma, u, v = S.power_iteration(W, v, n_power_iterations, eps)
    return torch.linalg.norm(W), u, v


# ----------------------------------------------------------------- selection, search
@wrong("kfold_splits", "remainder-in-the-last-fold", "n=10, k=3", "larger ones come first")
def _(n, k):
    size, idx = n // k, np.arange(n)
    folds = [idx[i * size:(i + 1) * size] if i < k - 1 else idx[i * size:] for i in range(k)]
    return [(np.setdiff1d(idx, f), f) for f in folds]


@wrong("iterations_per_epoch", "floor-always", "drop_last=False", "still an iteration")
def _(n_samples, batch_size, drop_last=False):
    return n_samples // batch_size


@wrong("expected_improvement", "maximization-sign", "20 candidates", "minimization")
def _(mean, std, best, xi=0.0):
    from scipy.stats import norm
    mean, std = np.asarray(mean), np.asarray(std)
    gap = mean - best - xi
    return torch.as_tensor(gap * norm.cdf(gap / std) + std * norm.pdf(gap / std))


@wrong("expected_improvement", "divides-by-zero-std", "std = 0", "no division by zero")
def _(mean, std, best, xi=0.0):
    from scipy.stats import norm
    mean, std = np.asarray(mean), np.asarray(std)
    gap = best - xi - mean
    with np.errstate(divide="ignore", invalid="ignore"):
        return torch.as_tensor(gap * norm.cdf(gap / std) + std * norm.pdf(gap / std))


@wrong("expected_improvement", "forgets-the-exploration-term", "20 candidates", "differs")
def _(mean, std, best, xi=0.0):
    from scipy.stats import norm
    mean, std = np.asarray(mean), np.asarray(std)
    gap = best - xi - mean
    return torch.as_tensor(gap * norm.cdf(gap / std)).clamp_min(0)


# ----------------------------------------------------------------- precision
@wrong("bf16_round", "truncation", "1,000 values", "bits")
def _(x):
    return (x.view(torch.int32) & -65536).view(torch.float32)


def _unsigned(x):
    return x.view(torch.int32).to(torch.int64) & 0xFFFFFFFF


def _as_float(bits):
    return torch.where(bits >= 2**31, bits - 2**32, bits).to(torch.int32).view(torch.float32)


@wrong("bf16_round", "round-half-up", "exact ties", "ties to even")
def _(x):
    rounded = _as_float((_unsigned(x) + 0x8000) & 0xFFFF0000)
    return torch.where(x.isnan(), x, rounded)


@wrong("bf16_round", "nan-through-the-rounding", "inf, -inf, NaN", "NaN")
def _(x):
    bits = _unsigned(x)
    return _as_float((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000)


@wrong("loss_scale_update", "count-not-reset-on-overflow", "12 updates", "new_growth_tracker")
def _(scale, growth_tracker, found_inf, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
    if found_inf:
        return scale * backoff_factor, growth_tracker
    return S.loss_scale_update(scale, growth_tracker, False, growth_factor, backoff_factor, growth_interval)


@wrong("loss_scale_update", "grows-one-step-late", "growth_interval-th", "tracker + 1 == growth_interval")
def _(scale, growth_tracker, found_inf, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
    if found_inf:
        return scale * backoff_factor, 0
    if growth_tracker == growth_interval:
        return scale * growth_factor, 0
    return scale, growth_tracker + 1


@wrong("loss_scale_update", "grows-into-inf", "overflow float32", "not finite")
def _(scale, growth_tracker, found_inf, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
    if found_inf:
        return scale * backoff_factor, 0
    if growth_tracker + 1 == growth_interval:
        return float(np.float32(scale) * np.float32(growth_factor)), 0
    return scale, growth_tracker + 1


# ----------------------------------------------------------------- the tests
def test_the_catalogue_covers_every_drill():
    covered = {p.values[0] for p in WRONG}
    assert covered == set(drills.DRILLS), f"no known-wrong solution for {sorted(set(drills.DRILLS) - covered)}"
    assert len(WRONG) >= 2 * len(drills.DRILLS)


def _solution_lines(drill) -> list[str]:
    lines = []
    for obj in drill.shows:
        for line in inspect.getsource(obj).splitlines():
            line = line.strip()
            if len(line) > 25 and not line.startswith(("#", '"', "r\"", "Matches", "..", "\\")) and "=" in line:
                lines.append(line)
    return lines


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("drill, fn, case, says", WRONG)
def test_a_known_mistake_fails_with_the_right_diagnostic(drill, fn, case, says):
    report = drills.check(drill, fn)
    assert report.attempted and not report.passed, f"{drill}: a known-wrong solution passed"
    failed = [c for c in report.cases if not c.passed]
    hits = [c for c in failed if case in c.description]
    assert hits, f"{drill}: expected the case {case!r} to fail; failed: {[c.description for c in failed]}"
    text = " ".join(c.detail + " " + report.hints[c.description][0] for c in hits)
    assert says in text, f"{drill}: the report of {case!r} does not say {says!r}:\n{report}"
    shown = str(report) + report._repr_html_()
    leaked = [line for line in _solution_lines(drills.get(drill)) if line in shown]
    assert not leaked, f"{drill}: the failure report shows the solution: {leaked[:2]}"
