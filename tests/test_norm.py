"""dlnotes.norm against torch.nn in float64: values, running statistics and gradients."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from dlnotes import norm

TOL = {"atol": 1e-10, "rtol": 1e-10}
SETTINGS = settings(max_examples=40, deadline=None)
DT = torch.float64

TORCH_BN = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}
TORCH_IN = {3: nn.InstanceNorm1d, 4: nn.InstanceNorm2d, 5: nn.InstanceNorm3d}


def _randomise_affine(ours: nn.Module, ref: nn.Module, gen: torch.Generator) -> None:
    """Same random gamma and beta in both modules (the defaults 1 and 0 would hide mistakes)."""
    for name in ("weight", "bias"):
        p, q = getattr(ours, name, None), getattr(ref, name, None)
        assert (p is None) == (q is None), name
        if p is not None:
            value = torch.randn(p.shape, generator=gen, dtype=DT)
            with torch.no_grad():
                p.copy_(value)
                q.copy_(value)


def _check_step(ours: nn.Module, ref: nn.Module, x: torch.Tensor, gen: torch.Generator) -> None:
    """One forward and backward: outputs and the gradients of input, weight and bias agree."""
    g = torch.randn(x.shape, generator=gen, dtype=DT)
    xa = x.clone().requires_grad_(True)
    xb = x.clone().requires_grad_(True)
    ya, yb = ours(xa), ref(xb)
    torch.testing.assert_close(ya, yb, **TOL)
    (ya * g).sum().backward()
    (yb * g).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, **TOL)
    for name in ("weight", "bias"):
        p, q = getattr(ours, name, None), getattr(ref, name, None)
        if p is not None:
            torch.testing.assert_close(p.grad, q.grad, **TOL)
            p.grad = q.grad = None


def _check_buffers(ours: nn.Module, ref: nn.Module, names=("running_mean", "running_var")) -> None:
    for name in names:
        a, b = getattr(ours, name, None), getattr(ref, name, None)
        assert (a is None) == (b is None), name
        if a is not None:
            torch.testing.assert_close(a, b, **TOL)


def _shapes(min_spatial_dims: int, max_spatial_dims: int):
    return st.tuples(
        st.integers(2, 5),
        st.integers(1, 4),
        st.lists(st.integers(1, 4), min_size=min_spatial_dims, max_size=max_spatial_dims),
    ).map(lambda t: (t[0], t[1], *t[2]))


MOMENTA = st.sampled_from([0.1, 0.5, 0.0, 1.0, None])


# ---------------------------------------------------------------- batch norm
@SETTINGS
@given(shape=_shapes(0, 3), momentum=MOMENTA, affine=st.booleans(),
       track=st.booleans(), eps=st.sampled_from([1e-5, 1e-3, 0.5]), seed=st.integers(0, 2**16))
def test_batch_norm_matches_torch_train_then_eval(shape, momentum, affine, track, eps, seed):
    gen = torch.Generator().manual_seed(seed)
    C = shape[1]
    kwargs = dict(eps=eps, momentum=momentum, affine=affine, track_running_stats=track, dtype=DT)
    ours, ref = norm.BatchNorm(C, **kwargs), TORCH_BN[len(shape)](C, **kwargs)
    _randomise_affine(ours, ref, gen)
    for step in range(3):                                  # running statistics over several steps
        x = 2.0 + 3.0 * torch.randn(shape, generator=gen, dtype=DT)
        _check_step(ours, ref, x, gen)
        _check_buffers(ours, ref, ("running_mean", "running_var", "num_batches_tracked"))
    ours.eval(), ref.eval()
    _check_step(ours, ref, torch.randn(shape, generator=gen, dtype=DT), gen)
    _check_buffers(ours, ref)


def test_batch_norm_eval_uses_running_stats_even_for_one_sample():
    ours, ref = norm.BatchNorm(3, dtype=DT), nn.BatchNorm2d(3, dtype=DT)
    x = torch.randn(8, 3, 4, 4, dtype=DT) * 2 + 1
    ours(x), ref(x)
    ours.eval(), ref.eval()
    one = torch.randn(1, 3, 1, 1, dtype=DT)                # a single value per channel: fine in eval
    torch.testing.assert_close(ours(one), ref(one), **TOL)


def test_momentum_none_is_the_papers_average_of_batch_statistics():
    bn = norm.BatchNorm(4, momentum=None, dtype=DT)
    batches = [torch.randn(6, 4, 3, dtype=DT) * (k + 1) + k for k in range(5)]
    for x in batches:
        bn(x)
    means = torch.stack([x.mean(dim=(0, 2)) for x in batches])
    unbiased_vars = torch.stack([x.var(dim=(0, 2), unbiased=True) for x in batches])
    torch.testing.assert_close(bn.running_mean, means.mean(0), **TOL)
    torch.testing.assert_close(bn.running_var, unbiased_vars.mean(0), **TOL)
    assert bn.num_batches_tracked.item() == 5


def test_running_var_is_unbiased_and_normalisation_biased():
    bn = norm.BatchNorm(1, momentum=1.0, affine=False, dtype=DT)
    x = torch.tensor([[0.0], [2.0]], dtype=DT)             # mean 1, biased var 1, unbiased var 2
    y = bn(x)
    assert bn.running_var.item() == pytest.approx(2.0, abs=1e-12)
    torch.testing.assert_close(y, (x - 1) / (1 + bn.eps) ** 0.5, **TOL)


def test_batch_norm_has_2c_parameters_and_2c_statistics():
    C = 7
    bn = norm.BatchNorm(C)
    assert sum(p.numel() for p in bn.parameters()) == 2 * C
    assert sum(p.numel() for p in nn.BatchNorm2d(C).parameters()) == 2 * C
    assert bn.running_mean.numel() + bn.running_var.numel() == 2 * C
    assert list(norm.BatchNorm(C, affine=False).parameters()) == []


@SETTINGS
@given(shape=_shapes(0, 2), scale=st.floats(0.01, 100), shift=st.floats(-50, 50),
       seed=st.integers(0, 2**16))
def test_training_batch_norm_is_invariant_to_affine_maps_of_its_input(shape, scale, shift, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen, dtype=DT)
    bn = norm.BatchNorm(shape[1], eps=1e-30, affine=False, dtype=DT)
    y = bn(x)
    assume_spread = x.var(dim=[0, *range(2, x.dim())], unbiased=False).min() > 1e-3
    if assume_spread:                                      # a constant channel has nothing to scale
        torch.testing.assert_close(bn(scale * x + shift), y, atol=1e-7, rtol=1e-7)
        dims = [0, *range(2, x.dim())]
        torch.testing.assert_close(y.mean(dim=dims), torch.zeros(shape[1], dtype=DT),
                                   atol=1e-10, rtol=0)
        torch.testing.assert_close(y.var(dim=dims, unbiased=False),
                                   torch.ones(shape[1], dtype=DT), atol=1e-8, rtol=0)


# ---------------------------------------------------------------- hand-derived backward
@SETTINGS
@given(shape=_shapes(0, 3), seed=st.integers(0, 2**16), eps=st.sampled_from([1e-5, 0.1]))
def test_hand_backward_matches_autograd_and_torch(shape, seed, eps):
    gen = torch.Generator().manual_seed(seed)
    C = shape[1]
    x = torch.randn(shape, generator=gen, dtype=DT) * 3 + 1
    w, b = torch.randn(C, generator=gen, dtype=DT), torch.randn(C, generator=gen, dtype=DT)
    g = torch.randn(shape, generator=gen, dtype=DT)
    grads = []
    for fn in (
        lambda x, w, b: norm.batch_norm_hand(x, w, b, eps),
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=eps),
    ):
        leaves = [t.clone().requires_grad_(True) for t in (x, w, b)]
        y = fn(*leaves)
        grads.append((y.detach(), *torch.autograd.grad((y * g).sum(), leaves)))
    for ours, ref in zip(*grads):
        torch.testing.assert_close(ours, ref, **TOL)
    grad_x = grads[0][1]
    dims = [0, *range(2, x.dim())]
    var = x.var(dims, unbiased=False)
    x_hat = (x - x.mean(dims, keepdim=True)) / norm._channel_view(var + eps, x.dim()) ** 0.5
    # shifting x leaves x_hat unchanged, so the input gradient sums to zero per channel;
    # scaling about the mean changes x_hat only through eps, by the factor eps / (var + eps)
    torch.testing.assert_close(grad_x.sum(dims), torch.zeros(C, dtype=DT), atol=1e-9, rtol=0)
    along_x_hat = w * (g * x_hat).sum(dims) * eps / (var + eps) ** 1.5
    torch.testing.assert_close((grad_x * x_hat).sum(dims), along_x_hat, atol=1e-9, rtol=1e-9)


def test_hand_backward_passes_gradcheck():
    x = torch.randn(5, 3, 2, dtype=DT, requires_grad=True)
    w = torch.randn(3, dtype=DT, requires_grad=True)
    b = torch.randn(3, dtype=DT, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: norm.batch_norm_hand(x, w, b), (x, w, b))


def test_hand_backward_differs_from_a_wrong_derivation():
    """The check above can fail: dropping the variance term gives a measurably wrong gradient."""
    x = torch.randn(6, 2, dtype=DT, requires_grad=True)
    w, b = torch.ones(2, dtype=DT), torch.zeros(2, dtype=DT)
    g = torch.randn(6, 2, dtype=DT)
    (grad,) = torch.autograd.grad((norm.batch_norm_hand(x, w, b, 1e-5) * g).sum(), x)
    inv_std = (x.var(0, unbiased=False) + 1e-5).rsqrt()
    mean_only = inv_std * (g - g.mean(0))                  # forgets d sigma / d x
    assert (grad - mean_only).abs().max() > 1e-3


# ---------------------------------------------------------------- layer norm
@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), k=st.integers(1, 4),
       affine=st.booleans(), bias=st.booleans(), seed=st.integers(0, 2**16))
def test_layer_norm_matches_torch(shape, k, affine, bias, seed):
    k = min(k, len(shape))
    gen = torch.Generator().manual_seed(seed)
    normalized = shape[len(shape) - k:]
    kwargs = dict(eps=1e-5, elementwise_affine=affine, bias=bias, dtype=DT)
    ours, ref = norm.LayerNorm(normalized, **kwargs), nn.LayerNorm(normalized, **kwargs)
    _randomise_affine(ours, ref, gen)
    _check_step(ours, ref, torch.randn(shape, generator=gen, dtype=DT) * 4 - 1, gen)
    ours.eval(), ref.eval()
    _check_step(ours, ref, torch.randn(shape, generator=gen, dtype=DT), gen)


def test_layer_norm_accepts_an_int_shape():
    x = torch.randn(3, 5, dtype=DT)
    torch.testing.assert_close(norm.LayerNorm(5, dtype=DT)(x), nn.LayerNorm(5, dtype=DT)(x), **TOL)


# ---------------------------------------------------------------- instance norm
@SETTINGS
@given(shape=_shapes(1, 3), momentum=MOMENTA, affine=st.booleans(), track=st.booleans(),
       seed=st.integers(0, 2**16))
def test_instance_norm_matches_torch(shape, momentum, affine, track, seed):
    if torch.Size(shape[2:]).numel() == 1:
        shape = (*shape[:-1], 2)
    gen = torch.Generator().manual_seed(seed)
    C = shape[1]
    kwargs = dict(eps=1e-5, momentum=momentum, affine=affine, track_running_stats=track, dtype=DT)
    ours, ref = norm.InstanceNorm(C, **kwargs), TORCH_IN[len(shape)](C, **kwargs)
    _randomise_affine(ours, ref, gen)
    for step in range(3):
        _check_step(ours, ref, torch.randn(shape, generator=gen, dtype=DT) * 2 + 3, gen)
        _check_buffers(ours, ref)
    ours.eval(), ref.eval()
    _check_step(ours, ref, torch.randn(shape, generator=gen, dtype=DT), gen)


# ---------------------------------------------------------------- group norm
@SETTINGS
@given(N=st.integers(1, 4), groups=st.integers(1, 4), per_group=st.integers(1, 3),
       spatial=st.lists(st.integers(1, 4), max_size=3), affine=st.booleans(),
       seed=st.integers(0, 2**16))
def test_group_norm_matches_torch(N, groups, per_group, spatial, affine, seed):
    C = groups * per_group
    if per_group * torch.Size(spatial).numel() == 1:
        spatial = [*spatial, 2]                            # a group of one value has no variance
    gen = torch.Generator().manual_seed(seed)
    ours = norm.GroupNorm(groups, C, eps=1e-5, affine=affine, dtype=DT)
    ref = nn.GroupNorm(groups, C, eps=1e-5, affine=affine, dtype=DT)
    _randomise_affine(ours, ref, gen)
    _check_step(ours, ref, torch.randn(N, C, *spatial, generator=gen, dtype=DT) * 3 + 2, gen)


@SETTINGS
@given(shape=_shapes(1, 2), seed=st.integers(0, 2**16))
def test_group_norm_extremes_are_layer_norm_and_instance_norm(shape, seed):
    if torch.Size(shape[2:]).numel() == 1:
        shape = (*shape[:-1], 2)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=DT)
    C = shape[1]
    one_group = norm.GroupNorm(1, C, affine=False, dtype=DT)(x)
    layer = norm.LayerNorm(shape[1:], elementwise_affine=False, dtype=DT)(x)
    torch.testing.assert_close(one_group, layer, **TOL)
    c_groups = norm.GroupNorm(C, C, affine=False, dtype=DT)(x)
    instance = norm.InstanceNorm(C, dtype=DT)(x)
    torch.testing.assert_close(c_groups, instance, **TOL)


def test_train_and_eval_agree_for_layer_instance_group_norm_but_not_batch_norm():
    x = torch.randn(4, 6, 3, 3, dtype=DT)
    for layer in (norm.LayerNorm((6, 3, 3), dtype=DT), norm.InstanceNorm(6, dtype=DT),
                  norm.GroupNorm(2, 6, dtype=DT)):
        train = layer.train()(x)
        torch.testing.assert_close(layer.eval()(x), train, **TOL)
    bn = norm.BatchNorm(6, dtype=DT)
    assert (bn.train()(x) - bn.eval()(x)).abs().max() > 0.1


# ---------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("make, exc, words", [
    (lambda: norm.BatchNorm(0), ValueError, "num_features must be positive, got 0"),
    (lambda: norm.BatchNorm(2.0), TypeError, "num_features must be an int, got float"),
    (lambda: norm.BatchNorm(True), TypeError, "num_features must be an int, got bool"),
    (lambda: norm.BatchNorm(3, eps=0), ValueError, "eps must be positive and finite, got 0"),
    (lambda: norm.BatchNorm(3, eps=float("nan")), ValueError, "eps must be positive"),
    (lambda: norm.BatchNorm(3, eps="1e-5"), TypeError, "eps must be a real number, got str"),
    (lambda: norm.BatchNorm(3, momentum=1.5), ValueError, "momentum must be in [0, 1] or None, got 1.5"),
    (lambda: norm.BatchNorm(3, momentum=-0.1), ValueError, "got -0.1"),
    (lambda: norm.BatchNorm(3, momentum="0.1"), TypeError, "momentum must be a real number or None"),
    (lambda: norm.BatchNorm(3, affine=1), TypeError, "affine must be a bool, got int"),
    (lambda: norm.BatchNorm(3, track_running_stats=None), TypeError, "track_running_stats must be a bool"),
    (lambda: norm.InstanceNorm(-2), ValueError, "num_features must be positive, got -2"),
    (lambda: norm.InstanceNorm(2, momentum=2), ValueError, "momentum must be in [0, 1]"),
    (lambda: norm.InstanceNorm(2, affine="yes"), TypeError, "affine must be a bool, got str"),
    (lambda: norm.LayerNorm(0), ValueError, "normalized_shape must be positive, got 0"),
    (lambda: norm.LayerNorm(()), TypeError, "normalized_shape must be an int or a non-empty"),
    (lambda: norm.LayerNorm("5"), TypeError, "normalized_shape must be an int or a non-empty"),
    (lambda: norm.LayerNorm(4, eps=-1.0), ValueError, "eps must be positive and finite, got -1.0"),
    (lambda: norm.LayerNorm(4, elementwise_affine=0), TypeError, "elementwise_affine must be a bool"),
    (lambda: norm.LayerNorm(4, bias="no"), TypeError, "bias must be a bool"),
    (lambda: norm.GroupNorm(3, 8), ValueError, "num_channels must be divisible by num_groups, got num_channels=8, num_groups=3"),
    (lambda: norm.GroupNorm(0, 8), ValueError, "num_groups must be positive, got 0"),
    (lambda: norm.GroupNorm(2, 8.0), TypeError, "num_channels must be an int, got float"),
    (lambda: norm.GroupNorm(2, 8, affine=None), TypeError, "affine must be a bool"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_constructor_rejects_bad_arguments(make, exc, words):
    with pytest.raises(exc) as info:
        make()
    assert words in str(info.value)


@pytest.mark.parametrize("layer, x, exc, words", [
    (norm.BatchNorm(3), torch.randn(1, 3), ValueError, "more than 1 value per channel when training"),
    (norm.BatchNorm(3), torch.randn(1, 3, 1, 1), ValueError, "got input size [1, 3, 1, 1]"),
    (norm.BatchNorm(3), torch.randn(4, 5), ValueError, "input has 5 channels"),
    (norm.BatchNorm(3), torch.randn(4, 5, 2), ValueError, "num_features=3"),
    (norm.BatchNorm(3), torch.randn(3), ValueError, "got 1D input (3,)"),
    (norm.BatchNorm(3), [[1.0, 2.0, 3.0]], TypeError, "input must be a torch.Tensor, got list"),
    (norm.BatchNorm(3), torch.ones(2, 3, dtype=torch.long), TypeError, "floating-point dtype"),
    (norm.InstanceNorm(3), torch.randn(2, 3, 1, 1), ValueError, "more than 1 spatial element"),
    (norm.InstanceNorm(3), torch.randn(2, 3), ValueError, "got 2D input"),
    (norm.InstanceNorm(3), torch.randn(2, 4, 5), ValueError, "input has 4 channels"),
    (norm.LayerNorm((4, 5)), torch.randn(2, 5, 4), ValueError, "normalized_shape=[4, 5]"),
    (norm.LayerNorm((4, 5)), torch.randn(5), ValueError, "got 1D input"),
    (norm.GroupNorm(2, 4), torch.randn(2, 6, 3), ValueError, "num_channels=4"),
    (norm.GroupNorm(2, 4), torch.randn(4), ValueError, "got 1D input"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_forward_rejects_bad_inputs(layer, x, exc, words):
    with pytest.raises(exc) as info:
        layer(x)
    assert words in str(info.value)


def test_one_value_per_channel_raises_like_torch():
    x = torch.randn(1, 3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(x)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        norm.BatchNorm(3)(x)


@pytest.mark.parametrize("args, exc, words", [
    ((torch.randn(4, 3), torch.ones(2), torch.zeros(3)), ValueError, "weight must have shape (3,)"),
    ((torch.randn(4, 3), torch.ones(3), [0.0] * 3), TypeError, "bias must be a torch.Tensor, got list"),
    ((torch.randn(1, 3), torch.ones(3), torch.zeros(3)), ValueError, "more than 1 value per channel"),
    ((torch.randn(4, 3), torch.ones(3), torch.zeros(3), 0.0), ValueError, "eps must be positive"),
])
def test_batch_norm_hand_rejects_bad_inputs(args, exc, words):
    with pytest.raises(exc) as info:
        norm.batch_norm_hand(*args)
    assert words in str(info.value)


# ---------------------------------------------------------------- robustness: half, empty, double backward
def _all_layers(dtype=None):
    """(ours, torch's) pairs of every normalization, on the same (N, 4, 5, 5) input layout."""
    return [
        (norm.BatchNorm(4, dtype=dtype), nn.BatchNorm2d(4, dtype=dtype)),
        (norm.LayerNorm((4, 5, 5), dtype=dtype), nn.LayerNorm((4, 5, 5), dtype=dtype)),
        (norm.InstanceNorm(4, affine=True, dtype=dtype), nn.InstanceNorm2d(4, affine=True, dtype=dtype)),
        (norm.GroupNorm(2, 4, dtype=dtype), nn.GroupNorm(2, 4, dtype=dtype)),
    ]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("index", range(4))
def test_half_input_uses_float32_statistics_like_torch(dtype, index):
    """A channel std of 1000 overflows an fp16 variance (1e6 > 65504); torch still outputs about +-1."""
    ours, ref = _all_layers()[index]
    x = (1000 * torch.randn(8, 4, 5, 5, generator=torch.Generator().manual_seed(index))).to(dtype)
    y, y_ref = ours(x), ref(x)
    assert y.dtype == y_ref.dtype == dtype
    assert y.float().abs().max() > 1.0 and torch.isfinite(y).all()    # not all zeros, not NaN
    torch.testing.assert_close(y.float(), y_ref.float(), atol=2e-2, rtol=2e-2)
    y.float().sum().backward()                                        # the backward runs in half too


def test_batch_norm_hand_in_half_precision_matches_torch():
    x = (1000 * torch.randn(8, 3, 4, generator=torch.Generator().manual_seed(0))).half()
    w, b = torch.ones(3, dtype=torch.half), torch.zeros(3, dtype=torch.half)
    ref = F.batch_norm(x, None, None, w, b, training=True)
    torch.testing.assert_close(norm.batch_norm_hand(x, w, b).float(), ref.float(), atol=2e-2, rtol=2e-2)


def test_an_empty_batch_leaves_the_running_estimates_unchanged_like_torch():
    ours, ref = norm.BatchNorm(3, dtype=DT), nn.BatchNorm2d(3, dtype=DT)
    for layer in (ours, ref):
        layer(torch.randn(8, 3, 2, 2, generator=torch.Generator().manual_seed(1), dtype=DT))
    x = torch.randn(0, 3, 2, 2, dtype=DT, requires_grad=True)
    y, y_ref = ours(x), ref(x)
    assert y.shape == y_ref.shape == (0, 3, 2, 2)
    _check_buffers(ours, ref)
    assert torch.isfinite(ours.running_mean).all() and ours.num_batches_tracked == ref.num_batches_tracked
    y.sum().backward()
    assert torch.equal(ours.weight.grad, torch.zeros(3, dtype=DT))


@pytest.mark.parametrize("layer, ref", [
    (norm.InstanceNorm(3, dtype=DT), nn.InstanceNorm2d(3, dtype=DT)),
    (norm.InstanceNorm(3, track_running_stats=True, dtype=DT), nn.InstanceNorm2d(3, track_running_stats=True, dtype=DT)),
    (norm.GroupNorm(3, 3, dtype=DT), nn.GroupNorm(3, 3, dtype=DT)),
    (norm.LayerNorm((3, 4, 4), dtype=DT), nn.LayerNorm((3, 4, 4), dtype=DT)),
])
def test_instance_group_layer_norm_with_an_empty_batch_return_an_empty_tensor(layer, ref):
    x = torch.randn(0, 3, 4, 4, dtype=DT)
    y = layer(x)
    assert y.shape == ref(x).shape == (0, 3, 4, 4)
    if getattr(layer, "running_mean", None) is not None:   # torch's InstanceNorm turns them NaN;
        assert torch.equal(layer.running_mean, torch.zeros(3, dtype=DT))   # ours keep them, as BN does
        assert torch.equal(layer.running_var, torch.ones(3, dtype=DT))


def _double_backward(fn, x, w, b, g):
    """d/d(x, w) of |dL/dx|^2, the shape of a gradient penalty through the layer."""
    leaves = [t.clone().requires_grad_(True) for t in (x, w, b)]
    (grad_x,) = torch.autograd.grad((fn(*leaves) * g).sum(), leaves[0], create_graph=True)
    return torch.autograd.grad((grad_x ** 2).sum(), leaves[:2])


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 2, 3, 3)])
def test_double_backward_through_the_hand_derived_backward_matches_torch(shape):
    gen = torch.Generator().manual_seed(len(shape))
    x = torch.randn(shape, generator=gen, dtype=DT) * 2 + 1
    w, b = torch.randn(shape[1], generator=gen, dtype=DT), torch.randn(shape[1], generator=gen, dtype=DT)
    g = torch.randn(shape, generator=gen, dtype=DT)
    ours = _double_backward(norm.batch_norm_hand, x, w, b, g)
    ref = _double_backward(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x, w, b, g)
    for a, r in zip(ours, ref):
        torch.testing.assert_close(a, r, **TOL)
    module = norm.BatchNorm(shape[1], dtype=DT)
    with torch.no_grad():
        module.weight.copy_(w), module.bias.copy_(b)
    xs = x.clone().requires_grad_(True)
    (grad_x,) = torch.autograd.grad((module(xs) * g).sum(), xs, create_graph=True)
    (second,) = torch.autograd.grad((grad_x ** 2).sum(), xs)
    torch.testing.assert_close(second, ref[0], **TOL)
    assert torch.autograd.gradgradcheck(lambda x, w, b: norm.batch_norm_hand(x, w, b),
                                        tuple(t.clone().requires_grad_(True) for t in (x, w, b)))


def test_double_backward_with_saved_statistics_would_be_wrong():
    """The control: the hand formula with mu_B and sigma_B frozen (saved from the forward, as a
    backward that ignores create_graph would use them) gives a wrong second derivative."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(6, 3, generator=gen, dtype=DT)
    w, b, g = torch.ones(3, dtype=DT), torch.zeros(3, dtype=DT), torch.randn(6, 3, generator=gen, dtype=DT)
    ref = _double_backward(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x, w, b, g)
    xs = x.clone().requires_grad_(True)
    mu, inv_std = x.mean(0), (x.var(0, unbiased=False) + 1e-5).rsqrt()     # constants
    x_hat = (xs - mu) * inv_std
    grad_x = inv_std / 6 * (6 * g - g.sum(0) - x_hat * (g * x_hat).sum(0))
    torch.testing.assert_close(grad_x, torch.autograd.grad((F.batch_norm(
        xs, None, None, w, b, training=True) * g).sum(), xs)[0], **TOL)     # first derivative right
    (wrong,) = torch.autograd.grad((grad_x ** 2).sum(), xs)
    assert (wrong - ref[0]).abs().max() > 1e-3                              # second derivative wrong


def test_batch_norm_module_matches_torch_with_affine_off_through_the_function():
    gen = torch.Generator().manual_seed(3)
    ours, ref = norm.BatchNorm(4, affine=False, dtype=DT), nn.BatchNorm2d(4, affine=False, dtype=DT)
    _check_step(ours, ref, torch.randn(5, 4, 3, 3, generator=gen, dtype=DT), gen)
    _check_buffers(ours, ref)
