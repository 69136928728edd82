"""dlnotes.norm.SyncBatchNorm on CPU processes (gloo) against BatchNorm on the concatenated batch.

One launch of 3 processes computes every case (the processes are the expensive part); the
tests compare its results with torch's BatchNorm in one process, in float64, to 1e-12.
"""
import copy
import zlib

import pytest
import torch
import torch.distributed as dist
from torch import nn

from dlnotes import data_parallel as DP
from dlnotes import distributed as D
from dlnotes import norm
from dlnotes.data import load_digits_tensors
from dlnotes.sync_norm import SyncBatchNorm, convert_sync_batchnorm

WORLD = 3
TOL = 1e-12
# (per-process batch sizes, channels, spatial shape, constructor arguments)
CASES = {
    "even-2d": ([4, 4, 4], 3, (5, 5), {}),
    "uneven-1d-cumulative": ([1, 6, 2], 4, (), {"momentum": None}),
    "empty-process-no-affine": ([0, 3, 2], 2, (7,), {"affine": False}),
    "3d-untracked": ([2, 1, 1], 3, (2, 2, 2), {"track_running_stats": False}),
    "one-sample-each": ([1, 1, 1], 5, (), {"momentum": 0.3}),
}
ITERS = 3  # training steps, so that the running statistics are checked after several updates


def _data(case: str, it: int):
    sizes, C, spatial, _ = CASES[case]
    g = torch.Generator().manual_seed(zlib.crc32(f"{case}/{it}".encode()))  # same in every process
    x = torch.randn(sum(sizes), C, *spatial, generator=g, dtype=torch.float64) * 3 + 1.5
    up = torch.randn(x.shape, generator=g, dtype=torch.float64)   # upstream gradient dL/dy
    return x, up


def _affine(m, C):
    if m.weight is not None:
        with torch.no_grad():
            m.weight.copy_(torch.linspace(0.5, 2.0, C, dtype=torch.float64))
            m.bias.copy_(torch.linspace(-1.0, 1.0, C, dtype=torch.float64))


def _cases_on_rank(rank, cnn, X_digits, y_digits):
    calls = []
    all_reduce = dist.all_reduce

    def counting(tensor, *args, **kwargs):
        calls.append(tensor.numel())
        return all_reduce(tensor, *args, **kwargs)

    dist.all_reduce = counting
    out = {}
    for case, (sizes, C, spatial, kwargs) in CASES.items():
        lo, hi = sum(sizes[:rank]), sum(sizes[:rank + 1])
        m = SyncBatchNorm(C, dtype=torch.float64, **kwargs)
        _affine(m, C)
        steps = []
        for it in range(ITERS):
            x, up = _data(case, it)
            x = x[lo:hi].clone().requires_grad_()
            if m.weight is not None:
                m.weight.grad = m.bias.grad = None
            calls.clear()
            y = m(x)
            forward_calls = list(calls)
            y.backward(up[lo:hi])
            steps.append({"y": y.detach(), "dx": x.grad, "calls": (forward_calls, calls[len(forward_calls):]),
                          "dw": None if m.weight is None else m.weight.grad.clone(),
                          "db": None if m.bias is None else m.bias.grad.clone()})
        m.eval()
        calls.clear()
        x_eval = _data(case, ITERS)[0][lo:hi]
        out[case] = {"steps": steps, "eval": m(x_eval).detach(), "eval_calls": list(calls),
                     "running": (m.running_mean, m.running_var, m.num_batches_tracked)}
    dist.all_reduce = all_reduce
    # torch's own SyncBatchNorm refuses CPU tensors
    try:
        nn.SyncBatchNorm(3)(torch.randn(4, 3, 2, 2))
        out["torch_cpu"] = "no error"
    except ValueError as exc:
        out["torch_cpu"] = str(exc)
    # too few values over all processes: the same clear error on every process
    try:
        SyncBatchNorm(2)(torch.randn(1 if rank == 0 else 0, 2))
        out["too_few"] = "no error"
    except ValueError as exc:
        out["too_few"] = str(exc)
    out["cnn"] = DP.data_parallel_sgd(rank, convert_sync_batchnorm(cnn), X_digits, y_digits, batch_size=2, steps=10,
                                      lr=0.2, sync="ddp", seed=5)
    return out


def _cnn():
    torch.manual_seed(1)
    return DP.digits_cnn("batch", width=4, dtype=torch.float64)


@pytest.fixture(scope="module")
def ranks():
    X, y = load_digits_tensors(torch.float64)
    return D.launch(_cases_on_rank, WORLD, args=(_cnn(), X[:600], y[:600]))


def _reference(case):
    """torch's BatchNorm in one process on the concatenation of every process's batch."""
    sizes, C, spatial, kwargs = CASES[case]
    ref = {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[len(spatial)]
    m = ref(C, dtype=torch.float64, **kwargs)
    _affine(m, C)
    steps = []
    for it in range(ITERS):
        x, up = _data(case, it)
        x.requires_grad_()
        if m.weight is not None:
            m.weight.grad = m.bias.grad = None
        y = m(x)
        y.backward(up)
        steps.append({"y": y.detach(), "dx": x.grad, "dw": None if m.weight is None else m.weight.grad.clone(),
                      "db": None if m.bias is None else m.bias.grad.clone()})
    m.eval()
    return steps, m, m(_data(case, ITERS)[0]).detach()


def _close(a, b):
    return (a - b).abs().max().item() < TOL if a.numel() else a.shape == b.shape


@pytest.mark.parametrize("case", CASES)
def test_forward_and_input_gradient_match_batchnorm_on_the_whole_batch(ranks, case):
    sizes = CASES[case][0]
    steps, _, _ = _reference(case)
    for it, want in enumerate(steps):
        got_y = torch.cat([ranks[r][case]["steps"][it]["y"] for r in range(WORLD)])
        got_dx = torch.cat([ranks[r][case]["steps"][it]["dx"] for r in range(WORLD)])
        assert got_y.shape[0] == sum(sizes)
        assert _close(got_y, want["y"]) and _close(got_dx, want["dx"])


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][3].get("affine", True)])
def test_weight_and_bias_gradients_summed_over_processes_match(ranks, case):
    steps, _, _ = _reference(case)
    for it, want in enumerate(steps):
        dw = sum(ranks[r][case]["steps"][it]["dw"] for r in range(WORLD))
        db = sum(ranks[r][case]["steps"][it]["db"] for r in range(WORLD))
        assert _close(dw, want["dw"]) and _close(db, want["db"])
        # each process holds only its own share: DDP averages them like any other gradient
        assert not _close(ranks[0][case]["steps"][it]["dw"], want["dw"])


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][3].get("track_running_stats", True)])
def test_running_statistics_and_eval_output_match(ranks, case):
    _, ref, ref_eval = _reference(case)
    for r in range(WORLD):
        mean, var, tracked = ranks[r][case]["running"]
        assert _close(mean, ref.running_mean) and _close(var, ref.running_var)
        assert tracked.item() == ref.num_batches_tracked.item() == ITERS
    lo = 0
    for r, size in enumerate(CASES[case][0]):
        assert _close(ranks[r][case]["eval"], ref_eval[lo:lo + size])
        lo += size


def test_untracked_statistics_in_eval_mode_are_the_local_batch_ones(ranks):
    sizes, C, spatial, kwargs = CASES["3d-untracked"]
    x = _data("3d-untracked", ITERS)[0]
    ref = nn.BatchNorm3d(C, dtype=torch.float64, **kwargs).eval()
    _affine(ref, C)
    lo = 0
    for r, size in enumerate(sizes):
        if size > 1:
            assert _close(ranks[r]["3d-untracked"]["eval"], ref(x[lo:lo + size]).detach())
        lo += size


@pytest.mark.parametrize("case", CASES)
def test_one_allreduce_of_2C_plus_1_forward_and_2C_backward_none_in_eval(ranks, case):
    C = CASES[case][1]
    for r in range(WORLD):
        for step in ranks[r][case]["steps"]:
            assert step["calls"] == ([2 * C + 1], [2 * C])
        assert ranks[r][case]["eval_calls"] == []  # evaluation mode communicates nothing


def test_torch_syncbatchnorm_needs_a_gpu_ours_does_not(ranks):
    assert "expected input tensor to be on GPU" in ranks[0]["torch_cpu"]


def test_too_few_values_over_all_processes_is_a_clear_error_everywhere(ranks):
    for r in range(WORLD):
        assert "Expected more than 1 value per channel" in ranks[r]["too_few"]
        assert "1 over all processes" in ranks[r]["too_few"]


def test_ddp_with_syncbn_on_3x2_equals_batchnorm_on_6(ranks):
    X, y = load_digits_tensors(torch.float64)
    single = DP.data_parallel_sgd(0, _cnn(), X[:600], y[:600], batch_size=6, steps=10, lr=0.2,
                                  sync="none", seed=5)
    for r in range(WORLD):
        assert ranks[r]["cnn"].keys() == single.keys()
        assert max((ranks[r]["cnn"][k] - single[k]).abs().max().item() for k in single) < TOL
    plain = DP.data_parallel_sgd(0, _cnn(), X[:600], y[:600], batch_size=2, steps=10, lr=0.2,
                                 sync="none", seed=5)
    assert max((plain[k] - single[k]).abs().max().item() for k in single) > 1e-3  # batch 2 is not 6


# --- one process: no group, conversion, validation --------------------------------------------
def test_without_a_process_group_it_is_batchnorm():
    torch.manual_seed(0)
    x = torch.randn(8, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    ours, ref = SyncBatchNorm(3, dtype=torch.float64), nn.BatchNorm2d(3, dtype=torch.float64)
    _affine(ours, 3), _affine(ref, 3)
    y1, y2 = ours(x), ref(x)
    g1, = torch.autograd.grad(y1.square().sum(), x)
    g2, = torch.autograd.grad(y2.square().sum(), x)
    assert _close(y1, y2) and _close(g1, g2) and _close(ours.running_var, ref.running_var)


def test_float32_and_half_inputs_keep_their_dtype():
    for dtype in (torch.float32, torch.bfloat16):
        x = torch.randn(16, 4, 3, dtype=dtype)
        m = SyncBatchNorm(4, dtype=dtype)
        y = m(x)
        assert y.dtype == dtype
        ref = nn.BatchNorm1d(4)(x.float())
        assert (y.float() - ref).abs().max().item() < (1e-5 if dtype == torch.float32 else 5e-2)


def test_exposed_in_dlnotes_norm_with_torch_constructor():
    assert norm.SyncBatchNorm is SyncBatchNorm
    ours = SyncBatchNorm(6, eps=1e-3, momentum=None, affine=True, track_running_stats=True,
                         process_group=None)
    theirs = nn.SyncBatchNorm(6, eps=1e-3, momentum=None, affine=True, track_running_stats=True,
                              process_group=None)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    ours.load_state_dict(theirs.state_dict())
    assert (ours.eps, ours.momentum) == (theirs.eps, theirs.momentum)


def test_convert_replaces_every_batchnorm_and_keeps_parameters_and_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4),
                          nn.Sequential(nn.Flatten(), nn.Linear(4 * 36, 5), nn.BatchNorm1d(5, affine=False)))
    model[1].weight.requires_grad_(False)
    model(torch.randn(3, 1, 8, 8))           # move the running statistics away from their start
    model.eval()
    before = copy.deepcopy(model.state_dict())
    converted = SyncBatchNorm.convert_sync_batchnorm(model)
    kinds = [type(m) for m in converted.modules()]
    assert kinds.count(SyncBatchNorm) == 2 and nn.BatchNorm2d not in kinds and nn.BatchNorm1d not in kinds
    assert all(torch.equal(before[k], v) for k, v in converted.state_dict().items())
    assert not converted[1].weight.requires_grad and not converted[1].training
    x = torch.randn(3, 1, 8, 8)
    torch_converted = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(model).train()).eval()
    assert torch.allclose(converted(x), torch_converted(x))
    assert convert_sync_batchnorm is not None and convert_sync_batchnorm(nn.ReLU()).__class__ is nn.ReLU


@pytest.mark.parametrize("kwargs, error, match", [
    ({"num_features": 0}, ValueError, "num_features must be a positive int, got 0"),
    ({"num_features": 2.5}, ValueError, "num_features must be a positive int"),
    ({"num_features": 3, "eps": 0}, ValueError, "eps must be a positive number, got 0"),
    ({"num_features": 3, "momentum": 1.5}, ValueError, r"momentum must be in \[0, 1\] or None"),
    ({"num_features": 3, "affine": 1}, TypeError, "affine must be a bool"),
    ({"num_features": 3, "track_running_stats": "yes"}, TypeError, "track_running_stats must be a bool"),
])
def test_constructor_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        SyncBatchNorm(**kwargs)


@pytest.mark.parametrize("x, error, match", [
    (torch.randn(4), ValueError, "expected at least 2D input"),
    (torch.randn(4, 2), ValueError, "input has 2 channels, but num_features=3"),
    (torch.ones(4, 3, dtype=torch.long), TypeError, "floating-point"),
    ([[1.0, 2.0, 3.0]], TypeError, "input must be a torch.Tensor"),
    (torch.randn(1, 3), ValueError, "Expected more than 1 value per channel"),
])
def test_forward_errors(x, error, match):
    with pytest.raises(error, match=match):
        SyncBatchNorm(3)(x)
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        convert_sync_batchnorm("net")


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA GPUs for NCCL")
def test_matches_torch_syncbatchnorm_on_cuda():
    out = D.launch(_ours_and_torch_on_cuda, 2, backend="nccl")
    for r in range(2):
        for a, b in zip(*out[r]):
            assert (a - b).abs().max().item() < 1e-10


def _ours_and_torch_on_cuda(rank):
    dev = torch.device("cuda", rank)
    results = []
    for cls in (SyncBatchNorm, nn.SyncBatchNorm):
        torch.manual_seed(0)
        x = (torch.randn(2 * (rank + 1), 3, 4, 4, dtype=torch.float64, device=dev) + 1).requires_grad_()
        m = cls(3, dtype=torch.float64, device=dev)
        y = m(x)
        y.backward(torch.cos(y.detach()))
        results.append([y.detach().cpu(), x.grad.cpu(), m.weight.grad.cpu(), m.running_var.cpu()])
    return results
