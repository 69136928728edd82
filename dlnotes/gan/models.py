r"""Small generators and discriminators for the 2-D benchmarks and 8x8 digits, and packing.

Packing (PacGAN, Lin et al., 2018): the discriminator judges :math:`m` samples at once,
concatenated, :math:`D(x_1 \oplus \dots \oplus x_m)`, all real or all fake. A collapsed
generator's packs hold near-identical samples, which real packs almost never do, so the
discriminator can see the lack of diversity that a one-sample discriminator cannot.

Dtypes: the networks are built in torch's default dtype (float32) on the CPU; move them with
``.to(device, dtype)``. Sizes are Python or NumPy ints.
"""
from __future__ import annotations

import numbers

import torch
from torch import nn

from .spectral import spectral_norm as _spectral_norm

__all__ = ["pack", "GaussianNoise", "mlp_generator", "mlp_discriminator", "conv_discriminator"]

ACTIVATIONS = {"relu": lambda: nn.ReLU(), "leaky_relu": lambda: nn.LeakyReLU(0.2), "tanh": lambda: nn.Tanh()}


def pack(x: torch.Tensor, degree: int) -> torch.Tensor:
    r"""Group ``degree`` consecutive samples into one: ``(B, ...)`` to ``(B/degree, degree * prod(...))``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if isinstance(degree, bool) or not isinstance(degree, numbers.Integral):
        raise TypeError(f"degree must be an int, got {type(degree).__name__}")
    degree = int(degree)
    if degree < 1:
        raise ValueError(f"degree must be at least 1, got {degree}")
    if x.ndim == 0:
        raise ValueError("x must have a batch dimension (B, ...), got a 0-d tensor")
    if x.shape[0] % degree:
        raise ValueError(f"degree must divide the batch size, got degree={degree} for batch {x.shape[0]}")
    return x.reshape(x.shape[0] // degree, -1)


class GaussianNoise(nn.Module):
    """Adds :math:`\\mathcal N(0, \\text{std}^2)` to its input in training mode (the notes' noise in every G layer)."""

    def __init__(self, std: float):
        super().__init__()
        if isinstance(std, bool) or not isinstance(std, numbers.Real):
            raise TypeError(f"std must be a real number, got {std!r}")
        if not std >= 0:
            raise ValueError(f"std must be non-negative, got {std}")
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.std * torch.randn_like(x) if self.training and self.std > 0 else x


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()


def mlp_generator(
    z_dim: int = 2, out_dim: int = 2, hidden: int = 128, depth: int = 3, activation: str = "relu",
    batchnorm: bool = False, noise_std: float = 0.0, out_activation: str | None = None,
) -> nn.Sequential:
    """``depth`` hidden layers of ``hidden`` units; optional BatchNorm, per-layer noise, tanh output."""
    for name, value in (("z_dim", z_dim), ("out_dim", out_dim), ("hidden", hidden), ("depth", depth)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    layers, width = [], z_dim
    for _ in range(depth):
        layers += [nn.Linear(width, hidden)]
        layers += [nn.BatchNorm1d(hidden)] if batchnorm else []
        layers += [_activation(activation)]
        layers += [GaussianNoise(noise_std)] if noise_std > 0 else []
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    if out_activation is not None:
        layers.append(_activation(out_activation))
    return nn.Sequential(*layers)


def mlp_discriminator(
    in_dim: int = 2, hidden: int = 128, depth: int = 2, activation: str = "leaky_relu",
    batchnorm: bool = False, spectral_norm: bool = False, pack: int = 1,
) -> nn.Sequential:
    """A discriminator on ``pack`` concatenated samples of ``in_dim`` features; one logit out."""
    for name, value in (("in_dim", in_dim), ("hidden", hidden), ("depth", depth), ("pack", pack)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    layers, width = [], in_dim * pack
    for _ in range(depth):
        linear = nn.Linear(width, hidden)
        layers += [_spectral_norm(linear) if spectral_norm else linear]
        layers += [nn.BatchNorm1d(hidden)] if batchnorm else []
        layers += [_activation(activation)]
        width = hidden
    last = nn.Linear(width, 1)
    layers.append(_spectral_norm(last) if spectral_norm else last)
    return nn.Sequential(*layers)


def conv_discriminator(downsample: str = "stride", activation: str = "leaky_relu", channels: int = 16) -> nn.Sequential:
    """A two-block discriminator on 1x8x8 images (input flattened to 64) that halves 8 to 4 to 2.

    ``downsample``: ``"stride"`` (3x3 convolution, stride 2), ``"avgpool"`` or ``"maxpool"``
    (3x3 convolution, stride 1, then 2x2 pooling).
    """
    if isinstance(channels, bool) or not isinstance(channels, numbers.Integral) or channels < 1:
        raise ValueError(f"channels must be a positive int, got {channels!r}")
    channels = int(channels)
    if downsample not in ("stride", "avgpool", "maxpool"):
        raise ValueError(f"downsample must be 'stride', 'avgpool' or 'maxpool', got {downsample!r}")
    layers: list[nn.Module] = [nn.Unflatten(1, (1, 8, 8))]
    width = 1
    for _ in range(2):
        if downsample == "stride":
            layers.append(nn.Conv2d(width, channels, 3, stride=2, padding=1))
        else:
            pool = nn.AvgPool2d(2) if downsample == "avgpool" else nn.MaxPool2d(2)
            layers += [nn.Conv2d(width, channels, 3, padding=1), pool]
        layers.append(_activation(activation))
        width = channels
    layers += [nn.Flatten(), nn.Linear(channels * 4, 1)]
    return nn.Sequential(*layers)


class DiscriminatorEnsemble(nn.Module):
    r"""Several discriminators side by side (GMAN, Durugkar et al., 2017, arXiv:1611.01673).

    The forward pass returns the :math:`K` logits as columns, shape ``(B, K)``. Every loss in
    :mod:`dlnotes.gan.losses` averages over its input's elements, so on these columns it is
    :math:`\frac1K\sum_k L(D_k)`: each discriminator descends its own loss (scaled by
    :math:`1/K`), and the generator descends the mean of the :math:`K` losses (GMAN's "mean"
    combination), the notes' "several discriminators" (A §4.14).

    Matches: ``torch.stack([L(d(x)) for d in members]).mean()`` for each loss ``L``.
    """

    def __init__(self, members):
        super().__init__()
        members = list(members)
        if not members or not all(isinstance(m, nn.Module) for m in members):
            raise ValueError(f"members must be a non-empty sequence of nn.Modules, got {members!r}")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([member(x) for member in self.members], dim=1)
