"""Drills of chapter 3: the non-saturating GAN losses, the WGAN-GP gradient penalty, power iteration."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..gan import losses, spectral
from . import solutions as S
from .cases_gradients import gen, randn
from .catalogue import Drill, register
from .grading import Trial, compare, describe

__all__: list[str] = []  # importing the module registers its drills in DRILLS; nothing to import by name

OBJECTIVE = ("notebooks/03_gan_objective", "ch03-objective", "Chapter 3, The objective and the two losses")
SATURATION = ("notebooks/03_gan_objective", "ch03-saturation", "Chapter 3, Saturating versus non-saturating generator loss")
SPECTRAL = ("notebooks/03_gan_tricks", "ch03-trick13", "Chapter 3, Spectral normalization")
GP = ("notebooks/03_gan_tricks", "ch03-tricks-table", "Chapter 3, The tricks measured (gradient penalty)")


def _gan_reference(real, fake):
    d = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
         + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    return d, F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def _generator_gradient(call, real, fake):
    fake = fake.clone().requires_grad_(True)
    out = call(real, fake)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return f"expected (d_loss, g_loss), got {describe(out)}"
    g_loss = out[1]
    if not isinstance(g_loss, torch.Tensor) or g_loss.grad_fn is None:
        return "g_loss is not differentiable with respect to fake_logits: compute it with torch operations"
    (got,) = torch.autograd.grad(g_loss, fake)
    ref_fake = fake.detach().clone().requires_grad_(True)
    (exp,) = torch.autograd.grad(_gan_reference(real, ref_fake)[1], ref_fake)
    return compare(got, exp, what="d g_loss / d fake_logits")


def _gan_cases():
    g = gen(50)
    out = []
    for d, real, fake, hint in [
        ("random logits (16,) float64", randn(g, 16, scale=2.0), randn(g, 16, scale=2.0), None),
        ("logits of shape (8, 1), float32", randn(g, 8, 1, dtype=torch.float32), randn(g, 8, 1, dtype=torch.float32), None),
        ("confident discriminator: logits of ±100", torch.tensor([100.0, -100.0, 50.0], dtype=torch.float64),
         torch.tensor([-100.0, 100.0, -50.0], dtype=torch.float64),
         "Stability: log(sigmoid(l)) must be computed as logsigmoid(l) (or BCE with logits); sigmoid(-100) "
         "underflows and its log is -inf.")]:
        out.append(Trial(d, (real, fake), expected=_gan_reference(real, fake), hint=hint))
    real, fake = randn(g, 10), torch.full((10,), -20.0, dtype=torch.float64)
    out.append(Trial("D rejects the fakes (fake logits -20): the generator's gradient stays near -1/N",
                     run=lambda call: _generator_gradient(call, real, fake), section=SATURATION,
                     inputs=f"real_logits={describe(real)}; fake_logits={describe(fake)}",
                     hint="The non-saturating generator loss is -log D(G(z)), whose gradient does not vanish "
                          "when D is confident; log(1 - D(G(z))) saturates there."))
    return out


register(Drill(
    name="gan_losses", signature="gan_losses(real_logits, fake_logits)", chapter=3, difficulty="easy",
    questions=("E20", "E45"),
    statement=r"From the discriminator's logits, return `(d_loss, g_loss)`: "
              r"$L_D = -\overline{\log\sigma(l_\text{real})} - \overline{\log(1-\sigma(l_\text{fake}))}$ and the "
              r"non-saturating $L_G = -\overline{\log\sigma(l_\text{fake})}$ (means over the batch), stable at any logit.",
    hint="Both losses are binary cross-entropies on logits: D labels reals 1 and fakes 0; G wants its fakes labelled 1.",
    section=OBJECTIVE, cases=_gan_cases, solution=S.gan_losses,
    shows=(losses.discriminator_loss, losses.generator_loss), outputs=("d_loss", "g_loss"), numpy=False,
    reference="F.binary_cross_entropy_with_logits"))


def _critic(kind: str, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    if kind == "mlp":
        net = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1))
    elif kind == "image":
        net = nn.Sequential(nn.Flatten(), nn.Linear(9, 8), nn.Tanh(), nn.Linear(8, 1))
    else:
        net = nn.Linear(4, 1)
    net = net.double()
    net.__doc__ = {"mlp": "critic: Linear(3, 16), Tanh, Linear(16, 1)", "image": "critic: Flatten, Linear(9, 8), Tanh, Linear(8, 1)",
                   "linear": "critic: Linear(4, 1)"}[kind]
    return net


def _gp_reference(critic, real, fake, eps):
    """One sample at a time, so nothing can mix samples: the penalty and its gradient for the critic."""
    penalty = 0.0
    for n in range(real.shape[0]):
        x = (eps[n] * real[n] + (1 - eps[n]) * fake[n]).unsqueeze(0).requires_grad_(True)
        (gx,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        penalty = penalty + (gx.norm() - 1) ** 2
    penalty = penalty / real.shape[0]
    return penalty.detach(), _param_grads(penalty, critic)


def _param_grads(penalty, critic):
    """d penalty / d parameters; zeros for the ones it does not depend on (the last bias)."""
    params = list(critic.parameters())
    grads = torch.autograd.grad(penalty, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g.detach() for p, g in zip(params, grads)]


def _gp_run(call, critic, real, fake, eps):
    exp_value, exp_grads = _gp_reference(critic, real, fake, eps)
    got = call(critic, real, fake, eps)
    problem = compare(got, exp_value, what="penalty")
    if problem:
        return problem
    if not isinstance(got, torch.Tensor) or got.grad_fn is None:
        return "the penalty is a constant to autograd: it must train the critic (compute the gradient with create_graph=True)"
    return compare(_param_grads(got, critic), exp_grads, what="d penalty / d critic parameters")


def _gp_cases():
    g = gen(51)
    out = []
    for d, kind, shape, eps, hint in [
        ("(8, 3) samples, an MLP critic", "mlp", (8, 3), None, None),
        ("(4, 1, 3, 3) images: one gradient norm per image", "image", (4, 1, 3, 3), None,
         "The norm is taken per sample, over all of that sample's axes (flatten everything but the batch axis)."),
        ("a linear critic: every gradient is w, the penalty is (|w| - 1)^2", "linear", (6, 4), None, None),
        ("eps = 1, 0, 1, 0: x_hat = eps * real + (1 - eps) * fake", "mlp", (4, 3), [1.0, 0.0, 1.0, 0.0],
         "x_hat = eps * real + (1 - eps) * fake, one eps per sample.")]:
        real, fake = randn(g, *shape), randn(g, *shape) + 1
        e = (torch.rand(shape[0], generator=g, dtype=torch.float64) if eps is None else torch.tensor(eps, dtype=torch.float64))
        e = e.reshape(-1, *[1] * (len(shape) - 1))
        critic = _critic(kind, 51 + len(out))
        out.append(Trial(d, run=lambda call, c=critic, r=real, f=fake, e=e: _gp_run(call, c, r, f, e), hint=hint,
                         inputs=f"{critic.__doc__}; real={describe(real)}; fake={describe(fake)}; eps={describe(e)}"))
    return out


register(Drill(
    name="gradient_penalty", signature="gradient_penalty(critic, real, fake, eps)", chapter=3, difficulty="hard",
    questions=("A4", "E45"),
    statement=r"WGAN-GP: with $\hat x = \epsilon x + (1-\epsilon)\tilde x$ (`eps` has shape $(N, 1, \dots)$), return "
              r"$\frac1N\sum_n (\lVert\nabla_{\hat x} D(\hat x_n)\rVert_2 - 1)^2$ as a 0-d tensor that the critic can be trained on.",
    hint="The gradient penalty pushes the critic's gradient norm towards 1 at points between real and fake samples.",
    section=GP, cases=_gp_cases, solution=S.gradient_penalty, shows=(S.gradient_penalty, losses.gradient_penalty),
    numpy=False, reference="torch.autograd.grad per sample, create_graph=True"))


def _power_cases():
    g = gen(52)
    out = []
    for d, shape, n, dtype in [("W of shape (5, 3), one iteration", (5, 3), 1, torch.float64),
                               ("a wide W (3, 6), two iterations", (3, 6), 2, torch.float64),
                               ("float32 W (4, 4), three iterations", (4, 4), 3, torch.float32)]:
        W, v = randn(g, *shape, dtype=dtype), randn(g, shape[1], dtype=dtype)
        out.append(Trial(d, (W, v, n), expected=spectral.power_iteration(W, v, n),
                         hint="One iteration: u = normalize(W v), then v = normalize(W^T u); sigma = u^T W v."))
    W, v = randn(g, 6, 4), randn(g, 4)
    sigma = torch.linalg.matrix_norm(W, ord=2)

    def judge(got):
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            return f"expected (sigma, u, v), got {describe(got)}"
        return compare(got[0], sigma, rtol=1e-8, atol=1e-10, what="sigma")

    out.append(Trial("200 iterations: sigma is the largest singular value", (W, v, 200), judge=judge,
                     hint="Power iteration on W^T W converges to the top singular vector; sigma = |W v| there."))
    return out


register(Drill(
    name="power_iteration", signature="power_iteration(W, v, n_power_iterations=1, eps=1e-12)", chapter=3,
    difficulty="medium", questions=("A7",),
    statement=r"Estimate the spectral norm of a matrix as spectral normalization does. Each iteration: "
              r"$u \leftarrow W v/\lVert W v\rVert$, $v \leftarrow W^\top u/\lVert W^\top u\rVert$ (`eps` guards the "
              r"division); return `(sigma, u, v)` with $\sigma = u^\top W v$.",
    hint="The spectral norm is the largest singular value; power iteration finds it from any start vector.",
    section=SPECTRAL, cases=_power_cases, solution=S.power_iteration, shows=(spectral.power_iteration,),
    outputs=("sigma", "u", "v"), reference="torch.linalg.matrix_norm(W, ord=2) as the iterations grow"))
