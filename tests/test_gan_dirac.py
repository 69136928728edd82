"""dlnotes.gan.dirac: the Dirac GAN's three behaviours against their linearised closed forms."""
import math

import pytest
import torch

from dlnotes.gan.dirac import dirac_gan


def test_simultaneous_steps_spiral_out_at_the_closed_form_rate():
    h = 0.1
    path = dirac_gan(1e-3, 1e-3, steps=400, lr=h, mode="simultaneous")  # start near (0, 0): the linear regime
    norms = path.norm(dim=1)
    per_step = (norms[400] / norms[0]).item() ** (1 / 400)
    assert per_step == pytest.approx(math.sqrt(1 + h**2 / 4), rel=1e-6)
    assert (norms.diff() > 0).all()


def test_alternating_steps_neither_converge_nor_diverge():
    path = dirac_gan(1e-3, 1e-3, steps=2000, lr=0.1, mode="alternating")
    norms = path.norm(dim=1) / path[0].norm()
    assert 0.9 < norms.min() and norms.max() < 1.1
    # it does go round: theta changes sign many times
    assert (torch.sign(path[1:, 0]) != torch.sign(path[:-1, 0])).sum() >= 10


@pytest.mark.parametrize("mode", ["simultaneous", "alternating"])
def test_r1_penalty_converges_at_the_linearised_rate(mode):
    h, gamma = 0.1, 0.3
    path = dirac_gan(1e-3, 1e-3, steps=3000, lr=h, mode=mode, gamma=gamma)
    norms = path.norm(dim=1)
    assert norms[-1] < 1e-12 * norms[0]
    if mode == "simultaneous":  # the linear map I + h A, A = [[0, 1/2], [-1/2, -gamma]]
        J = torch.eye(2, dtype=torch.float64) + h * torch.tensor([[0, 0.5], [-0.5, -gamma]], dtype=torch.float64)
        radius = torch.linalg.eigvals(J).abs().max().item()
        assert (norms[2000] / norms[1000]).item() ** (1 / 1000) == pytest.approx(radius, rel=1e-3)


def test_the_path_starts_where_asked():
    path = dirac_gan(0.5, -0.25, steps=3)
    assert path.shape == (4, 2) and path[0].tolist() == [0.5, -0.25]


@pytest.mark.parametrize("kwargs, match", [
    (dict(mode="extragradient"), "mode"), (dict(steps=-1), "steps"), (dict(steps=2.0), "steps"),
    (dict(lr=0.0), "lr"), (dict(gamma=-1.0), "gamma"),
])
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        dirac_gan(**kwargs)
