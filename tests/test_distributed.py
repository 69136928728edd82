"""dlnotes.distributed (N local processes in one gloo group) and data-parallel SGD.

DistributedDataParallel over 2 gloo processes with batch b each must follow, to 1e-12 in
float64, the trajectory of one process with batch 2b; a hand-written all-reduce must equal DDP.
"""
import os

import pytest
import torch
import torch.distributed as dist
from torch import nn

from dlnotes import data_parallel as DP
from dlnotes import distributed as D
from dlnotes.data import load_digits_tensors

STEPS, B, LR = 20, 8, 0.5


# --- worker functions: module level, so that spawned processes can import them ----------------
def _rank_info(rank, offset, arg):
    t = torch.tensor([float(rank + offset)])
    dist.all_reduce(t)
    arg += rank + 1  # in place, on this process's copy
    return {"arg": arg, "rank": rank, "dist_rank": dist.get_rank(), "world": dist.get_world_size(),
            "env": (os.environ["RANK"], os.environ["LOCAL_RANK"], os.environ["WORLD_SIZE"]),
            "sum": t.item(), "threads": torch.get_num_threads(), "tensor": torch.arange(3.0) * rank}


def _raise_on_rank_1(rank):
    if rank == 1:
        raise KeyError("rank one refuses")
    dist.barrier()  # rank 0 waits here and fails only after rank 1 has gone


def _sigkill_rank_1(rank):
    if rank == 1:
        os.kill(os.getpid(), 9)
    dist.barrier()


@pytest.fixture(scope="module")
def digits64():
    return load_digits_tensors(torch.float64)


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10)).double()


@pytest.fixture(scope="module")
def parallel_runs(digits64):
    X, y = digits64
    return D.launch(DP.sgd_variants, 2, args=(_mlp(), X, y, B, STEPS, LR, 3))


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k] - b[k]).abs().max().item() for k in a)


# --- launch ------------------------------------------------------------------------------------
def test_launch_returns_each_rank_result_in_order():
    arg = torch.zeros(2)
    out = D.launch(_rank_info, 3, args=(10, arg))
    assert [o["rank"] for o in out] == [0, 1, 2] == [o["dist_rank"] for o in out]
    assert all(o["world"] == 3 and o["sum"] == 33.0 and o["threads"] == 1 for o in out)
    assert [o["env"] for o in out] == [(str(r), str(r), "3") for r in range(3)]
    assert torch.equal(out[2]["tensor"], torch.tensor([0.0, 2.0, 4.0]))  # tensors come back by value
    # each process got its own copy of the argument (no shared memory): 1, 2, 3, not 6 everywhere
    assert [o["arg"].tolist() for o in out] == [[1.0] * 2, [2.0] * 2, [3.0] * 2]
    assert arg.tolist() == [0.0] * 2 and not arg.is_shared()


def test_worker_exception_comes_back_with_its_traceback_and_rank():
    with pytest.raises(D.WorkerError, match="rank one refuses") as info:
        D.launch(_raise_on_rank_1, 2, timeout=120)
    assert info.value.rank == 1  # the cause, not rank 0's "connection reset" that follows it
    assert "Traceback" in str(info.value) and "_raise_on_rank_1" in str(info.value)


def test_a_worker_killed_by_a_signal_is_reported():
    with pytest.raises(D.WorkerError, match="SIGKILL") as info:
        D.launch(_sigkill_rank_1, 2, timeout=120)
    assert info.value.rank == 1


@pytest.mark.parametrize("kwargs, error, match", [
    ({"world_size": 0}, ValueError, "world_size must be at least 1, got 0"),
    ({"world_size": -2}, ValueError, "world_size must be at least 1"),
    ({"world_size": 2.0}, TypeError, "world_size must be an int"),
    ({"world_size": True}, TypeError, "world_size must be an int"),
    ({"world_size": 2, "backend": "mpi"}, ValueError, "backend must be one of"),
    ({"world_size": 2, "backend": 3}, TypeError, "backend must be a str"),
    ({"world_size": 2, "threads": 0}, ValueError, "threads must be a positive int"),
    ({"world_size": 2, "args": [1]}, TypeError, "args must be a tuple"),
], ids=["zero", "negative", "float", "bool", "unknown-backend", "backend-type", "threads", "args"])
def test_launch_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        D.launch(_rank_info, **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_nccl_without_cuda_is_refused_before_any_process_starts():
    with pytest.raises(ValueError, match="'nccl' needs CUDA"):
        D.launch(_rank_info, 2, backend="nccl")
    with pytest.raises(ValueError, match="'nccl' needs CUDA"):
        D.check_backend("nccl", 1)


def test_functions_the_workers_cannot_import_are_refused():
    def local(rank):
        return rank

    for fn in (lambda rank: rank, local):
        with pytest.raises(TypeError, match="module-level function"):
            D.launch(fn, 2)
    with pytest.raises(TypeError, match="fn must be callable"):
        D.launch(3, 2)
    with pytest.raises(ValueError, match="timeout"):
        D.run_processes(_rank_info, [(0, 1)], timeout=-1)


def test_world_of_one_runs_in_a_group_too():
    assert D.launch(_rank_info, 1, args=(5, torch.zeros(1)))[0]["sum"] == 5.0


# --- data parallelism --------------------------------------------------------------------------
def test_ddp_on_two_processes_equals_one_process_with_the_double_batch(parallel_runs, digits64):
    X, y = digits64
    single = DP.data_parallel_sgd(0, _mlp(), X, y, 2 * B, STEPS, LR, sync="none", seed=3)
    for rank in (0, 1):
        assert _max_diff(parallel_runs[rank]["ddp"], single) < 1e-12
    moved = _max_diff(single, _mlp().state_dict())
    assert moved > 1e-2  # the 20 steps did move the parameters


def test_hand_written_allreduce_equals_ddp(parallel_runs):
    for rank in (0, 1):
        assert _max_diff(parallel_runs[rank]["hand"], parallel_runs[rank]["ddp"]) < 1e-12


def test_without_sharding_two_processes_are_one_process_with_batch_b(parallel_runs, digits64):
    """Control: the same samples on both processes average to the gradient of b samples."""
    X, y = digits64
    same_data = parallel_runs[0]["ddp-same-data"]
    single_b = DP.data_parallel_sgd(0, _mlp(), X, y, B, STEPS, LR, sync="none", seed=3)
    single_2b = DP.data_parallel_sgd(0, _mlp(), X, y, 2 * B, STEPS, LR, sync="none", seed=3)
    assert _max_diff(same_data, single_b) < 1e-12
    assert _max_diff(same_data, single_2b) > 1e-3


def test_distributed_sampler_shards_are_disjoint_and_cover_the_permutation():
    data = torch.arange(20)
    shards = [list(torch.utils.data.DistributedSampler(data, num_replicas=4, rank=r, seed=1))
              for r in range(4)]
    whole = list(torch.utils.data.DistributedSampler(data, num_replicas=1, rank=0, seed=1))
    assert sorted(sum(shards, [])) == list(range(20))
    assert [whole[r::4] for r in range(4)] == shards


def test_data_parallel_sgd_errors(digits64):
    X, y = digits64
    with pytest.raises(ValueError, match="sync must be one of"):
        DP.data_parallel_sgd(0, _mlp(), X, y, 8, 1, 0.1, sync="ring")
    with pytest.raises(ValueError, match="needs an initialised process group"):
        DP.data_parallel_sgd(0, _mlp(), X, y, 8, 1, 0.1, sync="ddp")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DP.data_parallel_sgd(0, _mlp(), X, y, 0, 1, 0.1, sync="none")
    with pytest.raises(ValueError, match="lr must be a positive number"):
        DP.data_parallel_sgd(0, _mlp(), X, y, 8, 1, -0.1, sync="none")
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        DP.allreduce_gradients("model")


def test_torchrun_runs_the_module_and_every_rank_ends_with_the_same_parameters(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                          "-m", "dlnotes.data_parallel"], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    lines = sorted(l for l in out.stdout.splitlines() if l.startswith("rank "))
    assert [l.split(":")[0] for l in lines] == ["rank 0 of world size 2 (local rank 0)",
                                                "rank 1 of world size 2 (local rank 1)"]
    assert len({l.split("checksum ")[1] for l in lines}) == 1


def test_warmup_reaches_the_linearly_scaled_rate():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.4)
    sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=10)
    for t in range(15):
        assert DP.warmup_linear_lr(t, 0.1, 4, 10) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
        opt.step()
        sched.step()
