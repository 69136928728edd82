"""GAN training tricks, measured on the mode-collapse benchmarks (chapter 3).

Sub-modules: :mod:`data` (ring, grid, digits), :mod:`metrics` (VEEGAN / PacGAN mode metrics),
:mod:`losses` (minimax, non-saturating, least squares, hinge, Wasserstein; labels; gradient
penalty), :mod:`spectral` (spectral normalization by power iteration), :mod:`models` (small
MLP generators and discriminators, packing, discriminator ensembles), :mod:`unrolled` (the
unrolled GAN's generator loss), :mod:`dirac` (the Dirac GAN, the smallest non-converging game)
and :mod:`training` (``train_gan``).

Dtypes: the models and training loop are float32 on the chosen device; the centres of the toy
mixtures are computed in float64, the Dirac GAN in float64, and the mode metrics in float64.
"""
from . import data, dirac, losses, metrics, models, spectral, training, unrolled

__all__ = ["data", "dirac", "losses", "metrics", "models", "spectral", "training", "unrolled"]
