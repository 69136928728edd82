r"""GAN losses, label tricks and the WGAN-GP gradient penalty.

With :math:`D` the discriminator's *logit* (critic score for the Wasserstein and hinge
losses), :math:`\sigma` the sigmoid, real :math:`x` and fake :math:`\tilde x = G(z)`:

=================  ===========================================================  ==========================================
loss               discriminator minimizes                                      generator minimizes
=================  ===========================================================  ==========================================
``minimax``        :math:`-\log\sigma(D(x)) - \log(1-\sigma(D(\tilde x)))`       :math:`\log(1-\sigma(D(\tilde x)))`
``nonsaturating``  same as ``minimax``                                          :math:`-\log\sigma(D(\tilde x))`
``least_squares``  :math:`\tfrac12 (D(x)-1)^2 + \tfrac12 D(\tilde x)^2`          :math:`\tfrac12 (D(\tilde x)-1)^2`
``hinge``          :math:`\max(0, 1-D(x)) + \max(0, 1+D(\tilde x))`              :math:`-D(\tilde x)`
``wasserstein``    :math:`D(\tilde x) - D(x)`                                   :math:`-D(\tilde x)`
=================  ===========================================================  ==========================================

each averaged over the batch. ``minimax`` is Goodfellow et al. (2014)'s
:math:`\min_G\max_D V(D,G)` with both players' losses read off :math:`V`; ``nonsaturating``
is their "train G to maximize :math:`\log D(G(z))`" fix, the same as training G on fakes
labelled *real* (the notes' "label flipping"). Least squares: Mao et al. (2017); hinge: Lim &
Ye (2017), Miyato et al. (2018); Wasserstein: Arjovsky et al. (2017); gradient penalty:
Gulrajani et al. (2017).

Dtypes: logits and samples are floating-point tensors of any dtype; losses are computed in
that dtype by torch's own kernels (``binary_cross_entropy_with_logits`` and ``logsigmoid``
compute half-precision inputs in float32 internally). Targets must be numbers or tensors
that broadcast to the logits' shape without changing it.
"""
from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F

__all__ = ["LOSSES", "discriminator_loss", "generator_loss", "gradient_penalty", "smooth_labels",
           "soft_labels", "flip_labels", "instance_noise"]

LOSSES = ("minimax", "nonsaturating", "least_squares", "hinge", "wasserstein")
_TARGETED = ("minimax", "nonsaturating", "least_squares")


def _check_loss(loss: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def _check_logits(name: str, value) -> None:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise ValueError(f"{name} must be floating point, got {value.dtype}")


def _is_number(value, expected: float) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value) == expected


def _target(name: str, value, logits_name: str, logits: torch.Tensor) -> torch.Tensor:
    """``value`` as a tensor like ``logits``; it may broadcast to their shape, never widen it."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, torch.Tensor)):
        raise TypeError(f"{name} must be a number or a tensor, got {type(value).__name__}")
    target = torch.as_tensor(value, dtype=logits.dtype, device=logits.device)
    try:
        widened = torch.broadcast_shapes(target.shape, logits.shape) != logits.shape
    except RuntimeError:
        widened = True
    if widened:  # (B,) logits against (B, 1) targets would broadcast to (B, B)
        raise ValueError(f"{name} must be a number or broadcast to the shape of {logits_name} "
                         f"{tuple(logits.shape)}, got shape {tuple(target.shape)}")
    return target


def discriminator_loss(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    loss: str = "nonsaturating",
    real_target: torch.Tensor | float = 1.0,
    fake_target: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    r"""The discriminator's loss (a quantity to *minimize*; see the module table).

    ``real_target`` / ``fake_target`` replace the labels 1 and 0 of the ``minimax``,
    ``nonsaturating`` and ``least_squares`` losses (label smoothing, soft or noisy labels);
    the hinge and Wasserstein losses have no labels.

    Matches: ``F.binary_cross_entropy_with_logits(real_logits, real_target) +
    F.binary_cross_entropy_with_logits(fake_logits, fake_target)`` for the first two losses,
    ``0.5 * (F.mse_loss(real_logits, real_target) + F.mse_loss(fake_logits, fake_target))``
    for ``least_squares``.
    """
    _check_loss(loss)
    _check_logits("real_logits", real_logits)
    _check_logits("fake_logits", fake_logits)
    labelled = not (_is_number(real_target, 1.0) and _is_number(fake_target, 0.0))
    if labelled and loss not in _TARGETED:
        raise ValueError(f"loss {loss!r} has no labels; real_target/fake_target apply to {_TARGETED}")
    real_target = _target("real_target", real_target, "real_logits", real_logits)
    fake_target = _target("fake_target", fake_target, "fake_logits", fake_logits)
    if loss in ("minimax", "nonsaturating"):
        return (F.binary_cross_entropy_with_logits(real_logits, real_target.expand_as(real_logits))
                + F.binary_cross_entropy_with_logits(fake_logits, fake_target.expand_as(fake_logits)))
    if loss == "least_squares":
        return 0.5 * (((real_logits - real_target) ** 2).mean() + ((fake_logits - fake_target) ** 2).mean())
    if loss == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    return fake_logits.mean() - real_logits.mean()


def generator_loss(fake_logits: torch.Tensor, loss: str = "nonsaturating") -> torch.Tensor:
    r"""The generator's loss on the discriminator's logits for fakes (see the module table).

    ``minimax``: :math:`\log(1-\sigma(l)) = \log\sigma(-l)`, whose gradient
    :math:`-\sigma(l)` vanishes when D confidently rejects the fakes (:math:`l \to -\infty`);
    ``nonsaturating``: :math:`-\log\sigma(l)`, gradient :math:`-(1-\sigma(l)) \to -1` there.
    Both use ``logsigmoid``, exact at any logit (``softplus`` switches to the identity past
    :math:`|l| = 20`, which makes its gradient 1 instead of :math:`\sigma(l)` there).

    Matches: ``-F.binary_cross_entropy_with_logits(l, zeros)`` (minimax) and
    ``F.binary_cross_entropy_with_logits(l, ones)`` (non-saturating: fakes labelled real).
    """
    _check_loss(loss)
    _check_logits("fake_logits", fake_logits)
    if loss == "minimax":
        return F.logsigmoid(-fake_logits).mean()
    if loss == "nonsaturating":
        return -F.logsigmoid(fake_logits).mean()
    if loss == "least_squares":
        return 0.5 * ((fake_logits - 1) ** 2).mean()
    return -fake_logits.mean()


def gradient_penalty(
    critic, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""WGAN-GP penalty :math:`\mathbb E_{\hat x}[(\lVert\nabla_{\hat x} D(\hat x)\rVert_2 - 1)^2]`.

    :math:`\hat x = \epsilon x + (1-\epsilon)\tilde x` with one :math:`\epsilon\sim U[0,1]`
    per sample (Gulrajani et al., 2017, Algorithm 1). The graph is kept
    (``create_graph=True``) so the penalty trains the critic; multiply by
    :math:`\lambda` (10 in the paper) yourself.
    """
    _check_logits("real", real)
    _check_logits("fake", fake)
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    if real.ndim == 0 or real.shape[0] == 0:
        raise ValueError(f"real and fake must be a non-empty batch (B, ...), got shape {tuple(real.shape)}")
    if not callable(critic):
        raise TypeError(f"critic must be callable, got {type(critic).__name__}")
    eps = torch.rand(real.shape[0], *([1] * (real.ndim - 1)), generator=generator,
                     dtype=real.dtype, device=real.device)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.reshape(len(grad), -1).norm(dim=1) - 1) ** 2).mean()  # (B,): one scalar per sample


def _check_count(n) -> None:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")


def _real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if value != value:
        raise ValueError(f"{name} must be a number, got {value}")
    return float(value)


def smooth_labels(n: int, smoothing: float = 0.1) -> torch.Tensor:
    r"""One-sided label smoothing (Salimans et al., 2016): real labels :math:`1-\alpha`, fakes keep 0."""
    _check_count(n)
    smoothing = _real("smoothing", smoothing)
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    return torch.full((n, 1), 1.0 - smoothing)


def soft_labels(n: int, low: float, high: float, generator: torch.Generator | None = None,
                device=None) -> torch.Tensor:
    r"""Labels drawn uniformly from :math:`[\text{low}, \text{high}]` (the notes: [0.7, 1.2] and [0, 0.3])."""
    _check_count(n)
    low, high = _real("low", low), _real("high", high)
    if not low <= high:
        raise ValueError(f"low must be <= high, got low={low}, high={high}")
    return low + (high - low) * torch.rand(n, 1, generator=generator, device=device)


def flip_labels(labels: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Noisy labels: each label :math:`y` becomes :math:`1-y` with probability ``p``."""
    _check_logits("labels", labels)
    p = _real("p", p)
    if not 0 <= p <= 1:
        raise ValueError(f"p must be in [0, 1], got {p}")
    flip = torch.rand(labels.shape, generator=generator, device=labels.device) < p
    return torch.where(flip, 1 - labels, labels)


def instance_noise(x: torch.Tensor, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Instance noise (Sønderby et al., 2017): D sees :math:`x + \mathcal N(0, \text{std}^2 I)`, real and fake alike."""
    _check_logits("x", x)
    std = _real("std", std)
    if not std >= 0:
        raise ValueError(f"std must be non-negative, got {std}")
    if std == 0:
        return x
    return x + std * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
