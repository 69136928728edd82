"""Data helpers against scikit-learn and scipy.ndimage (float64)."""
import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits
from sklearn.preprocessing import PolynomialFeatures

from dlnotes import data


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 20), degree=st.integers(0, 8), seed=st.integers(0, 1000))
def test_polynomial_features_match_sklearn(n, degree, seed):
    x = np.random.RandomState(seed).uniform(-1, 1, n)
    ours = data.polynomial_features(torch.tensor(x), degree).numpy()
    np.testing.assert_allclose(ours, PolynomialFeatures(degree).fit_transform(x[:, None]), rtol=1e-14, atol=1e-15)


def test_polynomial_data_follows_its_model():
    coef = (1.0, -2.0, 0.5)
    x, y = data.polynomial_data(20_000, coef=coef, noise=0.3, seed=0)
    assert x.shape == y.shape == (20_000,) and x.dtype == torch.float64
    assert x.min() >= -1 and x.max() <= 1
    residual = y - (coef[0] + coef[1] * x + coef[2] * x**2)
    assert abs(residual.mean().item()) < 5 * 0.3 / np.sqrt(20_000)
    assert abs(residual.std().item() - 0.3) < 0.01
    x2, y2 = data.polynomial_data(20_000, coef=coef, noise=0.3, seed=0)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    _, y_clean = data.polynomial_data(50, coef=coef, noise=0.0, seed=1)
    x_clean, _ = data.polynomial_data(50, coef=coef, noise=0.0, seed=1)
    torch.testing.assert_close(y_clean, data.polynomial_features(x_clean, 2) @ torch.tensor(coef, dtype=torch.float64))


def test_load_digits_tensors_matches_sklearn():
    X, y = data.load_digits_tensors(dtype=torch.float64)
    ref = load_digits()
    np.testing.assert_array_equal(X.numpy(), ref.data / 16)
    np.testing.assert_array_equal(y.numpy(), ref.target)
    assert y.dtype == torch.long and X.shape == (1797, 64)
    images, _ = data.load_digits_tensors(images=True)
    assert images.shape == (1797, 8, 8) and images.dtype == torch.float32
    assert 0.0 <= images.min() and images.max() <= 1.0


@settings(max_examples=30, deadline=None)
@given(dx=st.integers(-3, 3), dy=st.integers(-3, 3), seed=st.integers(0, 1000))
def test_integer_shift_matches_scipy(dx, dy, seed):
    img = np.random.RandomState(seed).rand(8, 8)
    ours = data.affine(torch.tensor(img)[None], torch.zeros(1), torch.tensor([[dx, dy]]))[0].numpy()
    np.testing.assert_allclose(ours, ndi.shift(img, (dy, dx), order=0, mode="grid-constant"), atol=1e-14)


@settings(max_examples=30, deadline=None)
@given(angle=st.floats(-45, 45), size=st.integers(4, 12), seed=st.integers(0, 1000))
def test_rotation_matches_scipy(angle, size, seed):
    img = np.random.RandomState(seed).rand(size, size)
    ours = data.affine(torch.tensor(img)[None], torch.tensor([angle], dtype=torch.float64), torch.zeros(1, 2))[0].numpy()
    ref = ndi.rotate(img, angle, reshape=False, order=1, mode="grid-constant")
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_quarter_turn_is_rot90_and_batches_are_per_image():
    imgs = torch.rand(3, 2, 6, 6, dtype=torch.float64)
    out = data.affine(imgs, torch.tensor([90.0, 0.0, -90.0]), torch.zeros(3, 2))
    torch.testing.assert_close(out[0], torch.rot90(imgs[0], 1, (1, 2)), atol=1e-12, rtol=0)
    torch.testing.assert_close(out[1], imgs[1], atol=1e-12, rtol=0)
    torch.testing.assert_close(out[2], torch.rot90(imgs[2], -1, (1, 2)), atol=1e-12, rtol=0)


def test_random_augment_flat_digits_shape_and_reproducibility():
    X, _ = data.load_digits_tensors()
    a = data.random_augment(X[:50], 1, 15.0, generator=torch.Generator().manual_seed(0), image_shape=(8, 8))
    b = data.random_augment(X[:50], 1, 15.0, generator=torch.Generator().manual_seed(0), image_shape=(8, 8))
    assert a.shape == X[:50].shape and torch.equal(a, b)
    assert not torch.equal(a, X[:50])
    assert torch.equal(data.random_augment(X[:5], 0, 0.0, image_shape=(8, 8)), X[:5])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000))
def test_random_shift_only_moves_pixels(seed):
    # with whole-pixel shifts and no rotation, every output pixel is an input pixel or 0
    img = torch.rand(4, 8, 8, dtype=torch.float64) + 1
    out = data.random_augment(img, max_shift=2, max_angle=0.0, generator=torch.Generator().manual_seed(seed))
    for i in range(4):
        values = set(img[i].flatten().tolist()) | {0.0}
        assert all(v in values for v in out[i].flatten().tolist())


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: data.polynomial_features(torch.ones(2, 2), 3), ValueError, r"x must be 1-D, got shape \(2, 2\)"),
        (lambda: data.polynomial_features(torch.ones(2), -1), ValueError, "degree must be at least 0, got -1"),
        (lambda: data.polynomial_features([1.0], 2), TypeError, "x must be a torch.Tensor, got list"),
        (lambda: data.polynomial_data(0), ValueError, "n must be at least 1, got 0"),
        (lambda: data.polynomial_data(5, noise=-1.0), ValueError, "noise must be a non-negative float, got -1.0"),
        (lambda: data.polynomial_data(5, coef=[]), ValueError, "coef must be a non-empty 1-D sequence"),
        (lambda: data.load_digits_tensors(dtype=torch.long), TypeError, "dtype must be a floating torch.dtype"),
        (lambda: data.affine(torch.ones(8, 8), torch.zeros(1), torch.zeros(1, 2)), ValueError,
         r"images must have shape \(N, H, W\) or \(N, C, H, W\), got \(8, 8\)"),
        (lambda: data.affine(torch.ones(1, 8, 8, dtype=torch.long), torch.zeros(1), torch.zeros(1, 2)), ValueError,
         "images must have a floating dtype"),
        (lambda: data.random_augment(torch.ones(2, 8, 8), max_shift=-1), ValueError, "max_shift must be at least 0"),
        (lambda: data.random_augment(torch.ones(2, 8, 8), max_angle=200.0), ValueError,
         r"max_angle must be a number of degrees in \[0, 180\], got 200.0"),
        (lambda: data.random_augment(torch.ones(2, 63), image_shape=(8, 8)), ValueError, r"must have shape \(N, 64\)"),
        (lambda: data.random_augment(np.ones((2, 8, 8))), TypeError, "images must be a torch.Tensor, got ndarray"),
    ],
    ids=["feat-2d", "feat-degree", "feat-type", "n", "noise", "coef", "digits-dtype", "affine-shape",
         "affine-dtype", "shift", "angle", "flat-shape", "aug-type"],
)
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
