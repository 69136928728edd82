r"""The unrolled GAN (Metz et al., 2017): G is scored against the discriminator :math:`k` steps ahead.

With :math:`\theta_D^0 = \theta_D` and :math:`k` differentiable gradient steps of D on its loss,

.. math::

    \theta_D^{i+1} = \theta_D^i - \eta\,\nabla_{\theta_D} L_D\bigl(\theta_D^i, \theta_G\bigr),
    \qquad
    L_G^{\text{unrolled}}(\theta_G) = L_G\bigl(\theta_G, \theta_D^k(\theta_G)\bigr),

G descends :math:`\nabla_{\theta_G} L_G^{\text{unrolled}}`, which (``second_order=True``) flows
through the :math:`k` steps: G sees how D would react to its move and is penalised for a move
that D would punish next, the "short-sightedness" that lets a plain G hop from mode to mode.
D itself still takes its ordinary step; the unrolled copy only shapes G's gradient. Metz et al.
unroll Adam; here the unrolled steps are plain SGD with rate :math:`\eta` (``lr``), the form
most re-implementations use. ``second_order=False`` drops the terms through the steps (G then
only sees D's parameters after :math:`k` steps, the cheaper "first-order" variant).

Matches: for ``k=0``, :func:`dlnotes.gan.losses.generator_loss` on D itself; for ``k>0`` a hand-unrolled
reference and finite differences through the steps (``tests/test_gan_unrolled.py``).

Dtypes: the unrolled steps run in the discriminator's own dtype and device (``fake`` and the
real batches must match it); ``k`` is a Python or NumPy int, ``lr`` a real number.
"""
from __future__ import annotations

import math
import numbers

import torch
from torch.func import functional_call

from .losses import discriminator_loss, generator_loss

__all__ = ["unrolled_generator_loss"]


def unrolled_generator_loss(
    discriminator: torch.nn.Module,
    real_batches,
    fake: torch.Tensor,
    k: int,
    lr: float,
    loss: str = "nonsaturating",
    second_order: bool = True,
) -> torch.Tensor:
    r"""``L_G`` of ``fake`` (attached to G's graph) against ``discriminator`` unrolled ``k`` SGD steps.

    ``real_batches``: a sequence of at least ``k`` real batches, one per unrolled step (each step
    uses ``fake`` as its fake batch). ``discriminator``'s own parameters are not changed.
    """
    if not isinstance(discriminator, torch.nn.Module):
        raise TypeError(f"discriminator must be an nn.Module, got {type(discriminator).__name__}")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an int, got {type(k).__name__}")
    if k < 0:
        raise ValueError(f"k must be non-negative, got {k}")
    k = int(k)
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr):
        raise TypeError(f"lr must be a finite real number, got {lr!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    lr = float(lr)
    if not isinstance(fake, torch.Tensor):
        raise TypeError(f"fake must be a torch.Tensor, got {type(fake).__name__}")
    real_batches = list(real_batches)
    if len(real_batches) < k:
        raise ValueError(f"real_batches must hold at least k={k} batches, got {len(real_batches)}")
    names = [name for name, _ in discriminator.named_parameters()]
    params = dict(discriminator.named_parameters())
    buffers = dict(discriminator.named_buffers())

    def D(p, x):
        return functional_call(discriminator, {**p, **buffers}, (x,))

    for real in real_batches[:k]:
        loss_d = discriminator_loss(D(params, real), D(params, fake), loss)
        grads = torch.autograd.grad(loss_d, [params[n] for n in names], create_graph=second_order, retain_graph=True)
        params = {n: params[n] - lr * g for n, g in zip(names, grads)}
        if not second_order:
            params = {n: p.detach().requires_grad_(True) for n, p in params.items()}
    return generator_loss(D(params, fake), loss)
