r"""The Dirac GAN (Mescheder et al., 2018): the smallest GAN that does not converge.

The data is a point mass at 0, the generator a point mass at :math:`\theta`, the discriminator
linear, :math:`D_\psi(x) = \psi x` (a logit). With the minimax losses of :mod:`dlnotes.gan.losses`,

.. math::

    L_D(\theta, \psi) = -\log\sigma(0) - \log\bigl(1 - \sigma(\psi\theta)\bigr), \qquad
    L_G(\theta, \psi) = \log\bigl(1 - \sigma(\psi\theta)\bigr) = -L_D + \text{const},

the unique equilibrium is :math:`(\theta, \psi) = (0, 0)`. Near it the gradient field
:math:`(\dot\theta, \dot\psi) = (-\partial_\theta L_G, -\partial_\psi L_D)` is a rotation,
:math:`(\dot\theta, \dot\psi) \approx (\psi/2, -\theta/2)` (eigenvalues :math:`\pm i/2`), so

* **simultaneous** steps of size :math:`h` multiply the distance to it by
  :math:`\sqrt{1 + h^2/4}` per step: they spiral out;
* **alternating** steps (D first, then G against the new D) are area-preserving
  (determinant 1): they circle for ever, neither in nor out;
* the **R1 gradient penalty** :math:`\tfrac{\gamma}{2}\lVert\nabla_x D_\psi(x)\rVert^2 = \tfrac{\gamma}{2}\psi^2`
  at the data, added to :math:`L_D`, gives the field eigenvalues
  :math:`-\tfrac{\gamma}{2}\pm\sqrt{\gamma^2/4 - 1/4}` with negative real parts: it converges.

Matches: the linearised rates above (``tests/test_gan_dirac.py``); the gradients are torch autograd
of :func:`dlnotes.gan.losses.discriminator_loss` / :func:`~dlnotes.gan.losses.generator_loss`.

Dtypes: the two parameters are float64 scalars; ``theta``, ``psi``, ``lr`` and ``gamma`` are
Python or NumPy reals, ``steps`` a Python or NumPy int.
"""
from __future__ import annotations

import math
import numbers

import torch

from .losses import discriminator_loss, generator_loss

__all__ = ["MODES", "dirac_gan"]

MODES = ("simultaneous", "alternating")


def _grads(theta: torch.Tensor, psi: torch.Tensor, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    theta, psi = theta.detach().requires_grad_(True), psi.detach().requires_grad_(True)
    real_logit, fake_logit = psi * 0.0, psi * theta  # D_psi(x) = psi x at x = 0 (data) and x = theta
    loss_d = discriminator_loss(real_logit.reshape(1, 1), fake_logit.reshape(1, 1), "minimax") + gamma / 2 * psi**2
    loss_g = generator_loss(fake_logit.reshape(1, 1), "minimax")
    (g_psi,) = torch.autograd.grad(loss_d, psi, retain_graph=True)
    (g_theta,) = torch.autograd.grad(loss_g, theta)
    return g_theta.detach(), g_psi.detach()


def dirac_gan(
    theta: float = 1.0, psi: float = 1.0, steps: int = 200, lr: float = 0.1, mode: str = "simultaneous",
    gamma: float = 0.0,
) -> torch.Tensor:
    r"""Gradient descent on the Dirac GAN from :math:`(\theta, \psi)`; returns the path, shape ``(steps + 1, 2)``.

    ``mode``: ``"simultaneous"`` (both players step from the same point) or ``"alternating"``
    (D steps, then G against the updated D); ``gamma``: weight of the R1 penalty on D.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise TypeError(f"steps must be an int, got {type(steps).__name__}")
    if steps < 0:
        raise ValueError(f"steps must be non-negative, got {steps}")
    steps = int(steps)
    for name, value in (("theta", theta), ("psi", psi), ("lr", lr), ("gamma", gamma)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise TypeError(f"{name} must be a finite real number, got {value!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if not gamma >= 0:
        raise ValueError(f"gamma must be non-negative, got {gamma}")
    lr, gamma = float(lr), float(gamma)
    th, ps = torch.tensor(float(theta), dtype=torch.float64), torch.tensor(float(psi), dtype=torch.float64)
    path = [torch.stack([th, ps])]
    for _ in range(steps):
        g_theta, g_psi = _grads(th, ps, gamma)
        if mode == "simultaneous":
            th, ps = th - lr * g_theta, ps - lr * g_psi
        else:
            ps = ps - lr * g_psi
            th = th - lr * _grads(th, ps, gamma)[0]
        path.append(torch.stack([th, ps]))
    return torch.stack(path)
