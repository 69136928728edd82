"""GAN training tricks, measured on the mode-collapse benchmarks (chapter 3).

Sub-modules: :mod:`data` (ring, grid, digits), :mod:`metrics` (VEEGAN / PacGAN mode metrics),
:mod:`losses` (minimax, non-saturating, least squares, hinge, Wasserstein; labels; gradient
penalty), :mod:`spectral` (spectral normalization by power iteration), :mod:`models` (small
MLP generators and discriminators, packing, discriminator ensembles), :mod:`unrolled` (the
unrolled GAN's generator loss), :mod:`dirac` (the Dirac GAN, the smallest non-converging game)
and :mod:`training` (``train_gan``).
"""
from . import data, dirac, losses, metrics, models, spectral, training, unrolled

__all__ = ["data", "dirac", "losses", "metrics", "models", "spectral", "training", "unrolled"]
