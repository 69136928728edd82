"""GAN training tricks, measured on the mode-collapse benchmarks (chapter 3).

Sub-modules: :mod:`data` (ring, grid, digits), :mod:`metrics` (VEEGAN / PacGAN mode metrics),
:mod:`losses` (minimax, non-saturating, least squares, hinge, Wasserstein; labels; gradient
penalty), :mod:`spectral` (spectral normalization by power iteration), :mod:`models` (small
MLP generators and discriminators, packing) and :mod:`training` (``train_gan``).
"""
from . import data, losses, metrics, models, spectral, training

__all__ = ["data", "losses", "metrics", "models", "spectral", "training"]
