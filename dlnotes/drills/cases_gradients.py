"""Drills of chapters 7 and 8: softmax, cross-entropy, numerical gradients, clipping, initialization."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .. import activations, diagnostics, gradients, init
from . import solutions as S
from .catalogue import Drill, register
from .grading import Trial, describe

__all__: list[str] = []  # importing the module registers its drills in DRILLS; nothing to import by name

CH07 = "notebooks/07_gradients"
CH08 = "notebooks/08_vanishing_exploding"
SOFTMAX = (CH08, "ch08-softmax", "Chapter 8, Softmax: overflow in the forward pass")
CLIP = (CH08, "ch08-exploding", "Chapter 8, Exploding gradients and clipping")
INIT = (CH08, "ch08-fixes", "Chapter 8, The fixes (initialization)")


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(g, *shape, dtype=torch.float64, scale=1.0):
    return torch.randn(*shape, generator=g, dtype=dtype) * scale


def randint(g, low: int, high: int) -> int:
    """An int in [low, high]."""
    return int(torch.randint(low, high + 1, (1,), generator=g))


def random_shape(g, min_dim: int = 1, max_dim: int = 4, low: int = 1, high: int = 6) -> tuple[int, ...]:
    return tuple(randint(g, low, high) for _ in range(randint(g, min_dim, max_dim)))


def random_dtype(g) -> torch.dtype:
    return (torch.float32, torch.float64)[randint(g, 0, 1)]


# --------------------------------------------------------------------------- softmax
def _softmax_cases():
    g = gen(0)
    big = torch.tensor([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]])
    mixed = torch.tensor([[-1000.0, -999.0, -998.0], [1000.0, 1001.0, 1002.0]], dtype=torch.float64)
    cases = [("random (4, 7) float64, dim=1", randn(g, 4, 7), 1),
             ("random (5, 3) float32, dim=0", randn(g, 5, 3, dtype=torch.float32), 0),
             ("random (2, 3, 4) float64, dim=-1", randn(g, 2, 3, 4), -1),
             ("random (2, 3, 4) float64, dim=1 (a middle axis)", randn(g, 2, 3, 4), 1),
             ("a 1-D vector, dim=0", randn(g, 6), 0),
             ("logits of 1000 (float32)", big, 1),
             ("rows at -1000 and at +1000 in one batch", mixed, 1),
             ("one entry along dim: all ones", randn(g, 3, 1), 1)]
    r = gen(100)
    for _ in range(3):
        shape, dtype = random_shape(r), random_dtype(r)
        dim = randint(r, -len(shape), len(shape) - 1)
        cases.append((f"random shape {shape}, {str(dtype)[6:]}, dim={dim}", randn(r, *shape, dtype=dtype, scale=3.0), dim))
    hint_big = "Numerical stability: softmax does not change when a constant is subtracted from every logit of a row."
    return [Trial(d, (x, dim), expected=torch.softmax(x, dim),
                  hint=hint_big if "1000" in d else None) for d, x, dim in cases]


register(Drill(
    name="softmax", signature="softmax(x, dim)", chapter=8, difficulty="easy", questions=("D3", "E4"),
    statement=r"Return $\operatorname{softmax}(x)_i = e^{x_i} / \sum_j e^{x_j}$ along axis `dim` "
              "of a tensor of any shape. Logits of 1000 must not overflow.",
    hint="Softmax normalizes along `dim` only: every slice along `dim` sums to 1.",
    section=SOFTMAX, cases=_softmax_cases, solution=S.softmax, shows=(activations.softmax,),
    reference="torch.softmax(x, dim)"))


# --------------------------------------------------------------------------- cross-entropy
def _ce_cases():
    g = gen(1)
    out = []
    for d, n, c, dtype in [("random (8, 5) float64", 8, 5, torch.float64), ("random (3, 10) float32", 3, 10, torch.float32),
                           ("a batch of one, two classes", 1, 2, torch.float64)]:
        z = randn(g, n, c, dtype=dtype, scale=2.0)
        t = torch.randint(0, c, (n,), generator=g)
        out.append(Trial(d, (z, t), expected=F.cross_entropy(z, t)))
    z = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0], [5.0, 5.0, 5.0]], dtype=torch.float64)
    t = torch.tensor([1, 1, 2])
    out.append(Trial("logits of ±1000", (z, t), expected=F.cross_entropy(z, t),
                     hint="Numerical stability: compute log-softmax with the log-sum-exp trick, never log(softmax(z))."))
    z = randn(g, 16, 4)
    t = torch.full((16,), 3)
    out.append(Trial("every target is the last class", (z, t), expected=F.cross_entropy(z, t)))
    r = gen(101)
    for _ in range(2):
        n, c, dtype = randint(r, 1, 12), randint(r, 2, 9), random_dtype(r)
        z, t = randn(r, n, c, dtype=dtype, scale=4.0), torch.randint(0, c, (n,), generator=r)
        out.append(Trial(f"random (N, C) = ({n}, {c}), {str(dtype)[6:]}", (z, t), expected=F.cross_entropy(z, t)))
    return out


register(Drill(
    name="cross_entropy", signature="cross_entropy(logits, target)", chapter=8, difficulty="easy",
    questions=("E19", "D3"),
    statement=r"`logits` is $(N, C)$, `target` holds $N$ class indices (int64). Return the mean over the "
              r"batch of $-\log\operatorname{softmax}(z_n)_{y_n}$ as a 0-d tensor; stable for large logits.",
    hint="Cross-entropy picks the log-probability of the target class of each row and averages over the batch.",
    section=SOFTMAX, cases=_ce_cases, solution=S.cross_entropy, shows=(S.cross_entropy, activations.log_softmax),
    reference="F.cross_entropy(logits, target)"))


# --------------------------------------------------------------------------- numerical gradient
def _f_sin(x):
    "f(x) = sum(sin(x) * x)"
    x = torch.as_tensor(x)
    return (torch.sin(x) * x).sum()


_A = torch.tensor([[0.5, -1.0], [2.0, 0.3], [-0.7, 1.1], [0.2, 0.4]], dtype=torch.float64)


def _f_quad(x):
    "f(x) = sum((x @ A)**2) for a fixed 4 x 2 matrix A"
    return ((torch.as_tensor(x) @ _A) ** 2).sum()


def _f_lse(x):
    "f(x) = logsumexp of all entries of x"
    return torch.logsumexp(torch.as_tensor(x).reshape(-1), 0)


def _f_cube(x):
    "f(x) = sum(x**3)"
    return (torch.as_tensor(x) ** 3).sum()


def _autograd(f, x):
    x = x.clone().requires_grad_(True)
    return torch.autograd.grad(f(x), x)[0].detach()


def _numgrad_cases():
    g = gen(2)
    out = []
    for d, f, x in [("f = sum(sin(x) x), x of shape (6,)", _f_sin, randn(g, 6)),
                    ("f = sum((x A)^2), x of shape (3, 4)", _f_quad, randn(g, 3, 4)),
                    ("f = logsumexp, x of shape (2, 2, 3)", _f_lse, randn(g, 2, 2, 3))]:
        out.append(Trial(d + ": equals autograd's gradient", (f, x), expected=_autograd(f, x), rtol=1e-6, atol=1e-6))
    x = randn(g, 5)
    eps = 1e-2
    out.append(Trial("eps=1e-2 on f = sum(x^3): exactly 3x^2 + eps^2, the central difference",
                     (_f_cube, x), {"eps": eps}, expected=3 * x**2 + eps**2, rtol=1e-9, atol=1e-9,
                     hint="The central difference (f(x+h) - f(x-h)) / 2h has error O(h^2); the one-sided "
                          "(f(x+h) - f(x)) / h has error O(h). Use the eps you are given."))
    return out


register(Drill(
    name="numerical_gradient", signature="numerical_gradient(f, x, eps=1e-6)", chapter=7, difficulty="easy",
    questions=("A12", "E13"),
    statement=r"`f` maps a tensor of any shape to a scalar. Return the gradient of `f` at `x` (same shape "
              r"as `x`) by central differences $\partial_i f \approx (f(x+\epsilon e_i) - f(x-\epsilon e_i))/2\epsilon$.",
    hint="Perturb one coordinate at a time, in both directions, and leave x itself unchanged.",
    section=(CH07, "ch07-gradient", "Chapter 7, The gradient"), cases=_numgrad_cases,
    solution=S.numerical_gradient, shows=(gradients.numerical_gradient,),
    reference="torch.autograd.grad (the exact gradient)"))


# --------------------------------------------------------------------------- clipping
def _torch_clip(grads, max_norm):
    params = [torch.nn.Parameter(torch.zeros_like(t)) for t in grads]
    for p, t in zip(params, grads):
        p.grad = t.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad for p in params], total


def _clip_norm_cases():
    g = gen(3)
    out = []
    shapes = [(3,), (2, 4), (5,)]
    big = [randn(g, *s, scale=4.0) for s in shapes]
    small = [randn(g, *s, scale=0.1) for s in shapes]
    four = [t / t.norm() * 0.8 for t in (randn(g, 6) for _ in range(4))]
    single = [randn(g, 10, dtype=torch.float32, scale=3.0)]
    for d, grads, m in [("three tensors, total norm above max_norm=1", big, 1.0),
                        ("total norm below max_norm=5: unchanged", small, 5.0),
                        ("four tensors of norm 0.8 each, max_norm=1 (the total is 1.6)", four, 1.0),
                        ("one float32 tensor, max_norm=2", single, 2.0)]:
        clipped, total = _torch_clip(grads, m)
        hint = ("One global norm: the square root of the sum of squares over all tensors together; "
                "every tensor is scaled by the same factor.") if "four" in d else None
        if "unchanged" in d:
            hint = "Clipping only shrinks: when the total norm is at most max_norm, the gradients are returned as they are."
        out.append(Trial(d, (grads, m), expected=(clipped, total), rtol=1e-6, atol=1e-9, hint=hint))
    return out


register(Drill(
    name="clip_grad_norm", signature="clip_grad_norm(grads, max_norm)", chapter=8, difficulty="easy",
    questions=("B5", "E8", "D6"),
    statement=r"`grads` is a list of tensors. Return `(clipped, total_norm)`: new tensors scaled by "
              r"$\min(1, \tau/\lVert g\rVert)$, where $\lVert g\rVert$ is the L2 norm of all of them "
              "together, and that norm (before clipping).",
    hint="Norm clipping keeps the direction of the whole gradient and caps its length.",
    section=CLIP, cases=_clip_norm_cases, solution=S.clip_grad_norm, shows=(diagnostics.clip_grad_norm,),
    outputs=("clipped", "total_norm"), reference="torch.nn.utils.clip_grad_norm_(params, max_norm)"))


def _clip_value_cases():
    g = gen(4)
    out = []
    for d, grads, c in [("two tensors with entries beyond ±0.5", [randn(g, 4, 3), randn(g, 7)], 0.5),
                        ("large negative entries", [-3.0 * randn(g, 5).abs()], 1.0),
                        ("all entries inside ±10: unchanged", [randn(g, 6, dtype=torch.float32)], 10.0)]:
        params = [torch.nn.Parameter(torch.zeros_like(t)) for t in grads]
        for p, t in zip(params, grads):
            p.grad = t.clone()
        torch.nn.utils.clip_grad_value_(params, c)
        hint = "Clipping by value clamps each entry to [-c, c]: both signs." if "negative" in d else None
        out.append(Trial(d, (grads, c), expected=[p.grad for p in params], hint=hint))
    return out


register(Drill(
    name="clip_grad_value", signature="clip_grad_value(grads, clip_value)", chapter=8, difficulty="easy",
    questions=("B5", "E8"),
    statement=r"Return new tensors whose entries are clamped to $[-c, c]$.",
    hint="Value clipping acts entry by entry (and so can change the gradient's direction).",
    section=CLIP, cases=_clip_value_cases, solution=S.clip_grad_value, shows=(diagnostics.clip_grad_value,),
    reference="torch.nn.utils.clip_grad_value_(params, clip_value)"))


# --------------------------------------------------------------------------- initialization
def _fans(shape):
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _random_draws(call, args, check):
    w = call(*args)
    if not isinstance(w, torch.Tensor):
        return f"expected a tensor, got {describe(w)}"
    if tuple(w.shape) != tuple(args[0]):
        return f"shape {tuple(w.shape)}, expected {tuple(args[0])}"
    if not w.is_floating_point():
        return f"dtype {w.dtype}, expected a floating-point tensor"
    problem = check(w.detach().double())
    if problem:
        return problem
    if torch.equal(call(*args), w):
        return "two calls returned the same tensor: the weights must be random draws"
    return None


def _xavier_cases():
    out = []
    for shape, gain in [((256, 512), 1.0), ((64, 32, 3, 3), math.sqrt(2.0)), ((1000, 20), 1.0)]:
        fan_in, fan_out = _fans(shape)
        a = gain * math.sqrt(6.0 / (fan_in + fan_out))

        def check(w, a=a):
            n, std = w.numel(), float(w.std())
            if float(w.abs().max()) > a * (1 + 1e-6):
                return f"an entry of {float(w.abs().max()):.4g} lies outside the bound ±{a:.4g}"
            if float(w.abs().max()) < 0.98 * a:
                return f"the largest |entry| is {float(w.abs().max()):.4g}, far inside the bound {a:.4g}: not U(-a, a)"
            if abs(std / (a / math.sqrt(3)) - 1) > 0.03:
                return f"standard deviation {std:.4g}, expected {a / math.sqrt(3):.4g} (a / sqrt(3), a = {a:.4g})"
            if abs(float(w.mean())) > 6 * std / math.sqrt(n):
                return f"mean {float(w.mean()):.3g}, expected 0"
            return None

        out.append(Trial(f"shape {shape}, gain={gain:.4g} (fan_in={fan_in}, fan_out={fan_out})",
                         run=lambda call, shape=shape, gain=gain, check=check: _random_draws(call, (shape, gain), check),
                         inputs=f"shape={shape}; gain={gain:.4g}"))
    return out


register(Drill(
    name="xavier_uniform", signature="xavier_uniform(shape, gain=1.0)", chapter=8, difficulty="medium",
    questions=("E7", "B5"),
    statement=r"Return a float32 tensor of `shape` (torch's layout: `(out, in, *kernel)`) drawn from "
              r"$U(-a, a)$, $a = g\sqrt{6/(n_\text{in}+n_\text{out})}$.",
    hint="For a convolution the fans include the kernel: fan_in = in_channels x kernel size, "
         "fan_out = out_channels x kernel size; U(-a, a) has variance a^2/3.",
    section=INIT, cases=_xavier_cases, solution=S.xavier_uniform, shows=(init.xavier_uniform_, init.init_std),
    reference="torch.nn.init.xavier_uniform_ (its distribution)"))


def _kaiming_cases():
    out = []
    for shape, mode in [((512, 256), "fan_in"), ((256, 512), "fan_out"), ((32, 16, 5, 5), "fan_in")]:
        fan_in, fan_out = _fans(shape)
        sigma = math.sqrt(2.0 / (fan_in if mode == "fan_in" else fan_out))

        def check(w, sigma=sigma):
            n, std = w.numel(), float(w.std())
            if abs(std / sigma - 1) > 0.05:  # the standard error of std is about 0.6% here
                return f"standard deviation {std:.4g}, expected {sigma:.4g}"
            if abs(float(w.mean())) > 6 * sigma / math.sqrt(n):
                return f"mean {float(w.mean()):.3g}, expected 0"
            tail, p = float((w.abs() > 2 * sigma).double().mean()), 0.0455
            if abs(tail - p) > 6 * math.sqrt(p * (1 - p) / n):
                return f"{tail:.2%} of the entries lie beyond 2 sigma; a normal distribution puts 4.55% there"
            return None

        out.append(Trial(f"shape {shape}, mode={mode!r} (fan_in={fan_in}, fan_out={fan_out})",
                         run=lambda call, shape=shape, mode=mode, check=check: _random_draws(call, (shape, mode), check),
                         inputs=f"shape={shape}; mode={mode!r}"))
    return out


register(Drill(
    name="kaiming_normal", signature='kaiming_normal(shape, mode="fan_in")', chapter=8, difficulty="medium",
    questions=("E7", "E36"),
    statement=r"He initialization for ReLU: a float32 tensor of `shape` drawn from $\mathcal N(0, \sigma^2)$ with "
              r"$\sigma = \sqrt{2/n}$, $n$ the fan named by `mode` (kernel size included).",
    hint="He init sets the variance to 2/n; the standard deviation is its square root.",
    section=INIT, cases=_kaiming_cases, solution=S.kaiming_normal, shows=(init.kaiming_normal_, init.init_std),
    reference="torch.nn.init.kaiming_normal_(w, mode=mode, nonlinearity='relu') (its distribution)"))
