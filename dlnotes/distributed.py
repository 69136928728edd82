r"""Run one function in N local processes joined by a ``torch.distributed`` process group.

Data-parallel training (Li et al. 2020, "PyTorch Distributed", arXiv:2006.15704) runs the same
program in :math:`W` processes (the *world*); process :math:`r \in \{0,\dots,W-1\}` (its
*rank*) reads its own shard of the data, and the processes talk only through collectives such
as ``all_reduce``. ``torchrun --nproc-per-node=W script.py`` starts such a world on one machine
and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous address for each process.
:func:`launch` does the same from Python (a test or a notebook): it starts :math:`W` spawned
processes, joins them in one group (``gloo`` on CPUs, ``nccl`` on GPUs) through a rendezvous
store on a free port of this machine, calls ``fn(rank, *args)`` in each, returns the results in
rank order, re-raises a worker's exception with its traceback, and tears the group down.

Dtypes: none of its own: it starts processes and process groups; the tensors the workers
exchange keep their dtype (``gloo`` on CPUs, ``nccl`` for CUDA tensors).
"""
from __future__ import annotations

import inspect
import os
import pickle
import queue as queue_module
import signal
import sys
import time
import traceback
from numbers import Integral
from typing import Any, Callable

__all__ = ["BACKENDS", "WorkerError", "launch", "check_backend", "run_processes"]

BACKENDS = ("gloo", "nccl")


class WorkerError(RuntimeError):
    """A worker process raised (its traceback is in the message) or died without a word."""

    def __init__(self, rank: int, message: str):
        super().__init__(message)
        self.rank = rank


def _world_size(value) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"world_size must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"world_size must be at least 1, got {value}")
    return int(value)


def check_backend(backend: str, world_size: int = 1) -> str:
    """Raise unless this machine can run ``backend`` with ``world_size`` local processes.

    ``gloo`` needs a torch built with it; ``nccl`` needs CUDA and one GPU per process (NCCL
    refuses two ranks on one device).
    """
    import torch
    import torch.distributed as dist

    if not isinstance(backend, str):
        raise TypeError(f"backend must be a str, got {type(backend).__name__}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    world_size = _world_size(world_size)
    if backend == "gloo" and not dist.is_gloo_available():
        raise ValueError("backend 'gloo' is not available in this build of torch")
    if backend == "nccl":
        if not torch.cuda.is_available():
            raise ValueError("backend 'nccl' needs CUDA GPUs, but torch.cuda.is_available() is False; "
                             "use backend='gloo' on CPUs")
        if not dist.is_nccl_available():
            raise ValueError("backend 'nccl' is not available in this build of torch")
        if torch.cuda.device_count() < world_size:
            raise ValueError(f"backend 'nccl' needs one GPU per process: world_size={world_size}, "
                             f"but {torch.cuda.device_count()} GPU(s) are visible")
    return backend


def _check_importable(fn: Callable, name: str = "fn") -> None:
    """Spawned processes find ``fn`` by its module and name, so it must live in a module file."""
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    interactive = module is None or (fn.__module__ == "__main__" and not hasattr(module, "__file__"))
    qualname = getattr(fn, "__qualname__", "")
    if interactive or "<lambda>" in qualname or "<locals>" in qualname:
        raise TypeError(f"{name} must be a module-level function that worker processes can import "
                        f"(put it in a .py file), got {qualname or fn!r} from {fn.__module__!r}")
    try:
        pickle.dumps(fn)
    except Exception as exc:  # noqa: BLE001 - any pickling failure means the workers cannot get it
        raise TypeError(f"{name} cannot be sent to worker processes: {exc}") from None


def _report(results, rank: int, job: bytes) -> None:
    """Body of each worker process: run the pickled ``(call, args)`` and send back its value or
    its traceback."""
    try:
        call, args = pickle.loads(job)
        value = call(*args)
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
        when = getattr(exc, "failed_at", time.time())
        results.put((rank, False, f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}", when))
        sys.exit(1)
    try:  # plain pickle: tensors travel by value, not as shared memory of a process about to exit
        payload = pickle.dumps(value)
    except Exception as exc:  # noqa: BLE001 - an unpicklable result
        results.put((rank, False, f"rank {rank} returned a value that cannot be sent back: {exc}",
                     time.time()))
        sys.exit(1)
    results.put((rank, True, payload, time.time()))


def run_processes(target: Callable, args_per_process: list[tuple], timeout: float | None = None,
                  env: dict[str, str] | None = None) -> list[Any]:
    """Run ``target(*args)`` for each tuple in ``args_per_process``, each in a spawned process.

    Returns the values in order. If a process raises, the others are stopped and
    :class:`WorkerError` carries the first traceback; a process that dies by a signal (a
    segfault, SIGKILL) is reported with the signal's name. ``env`` is added to each process's
    environment. ``timeout`` (seconds) bounds the whole run.

    Matches: ``torch.multiprocessing.start_processes(..., start_method="spawn")`` with results.
    """
    import multiprocessing as mp

    _check_importable(target, "target")
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    saved = {k: os.environ.get(k) for k in (env or {})}
    procs = []
    try:
        os.environ.update(env or {})  # a spawned child copies the parent's environment at start
        for rank, args in enumerate(args_per_process):
            # plain pickle: each process gets its own copy of tensor arguments (multiprocessing's
            # own pickler would put them in shared memory, and every process would train one model)
            job = pickle.dumps((target, tuple(args)))
            p = ctx.Process(target=_report, args=(results, rank, job), daemon=True)
            p.start()
            procs.append(p)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    values: dict[int, Any] = {}
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while len(values) < len(procs):
            failure = _next_failure(results, procs, values)
            if failure is not None:
                rank, message = failure
                raise WorkerError(rank, message)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"the worker processes did not finish within timeout={timeout} s")
        for p in procs:
            p.join()
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
                p.join()
        results.close()
    return [values[r] for r in range(len(procs))]


def _next_failure(results, procs, values: dict, grace: float = 2.0):
    """Wait briefly for the next report; on a failure return the root cause, else None.

    When one process fails, the others usually fail a moment later inside a collective
    ("connection reset by peer"). Reports are collected for ``grace`` seconds and the earliest
    is blamed; a process that died by a signal without reporting is blamed first.
    """
    failures = []
    try:
        rank, ok, value, when = results.get(timeout=0.1)
        if ok:
            values[rank] = pickle.loads(value)
            return None
        failures.append((when, rank, f"worker process {rank} failed:\n{value}"))
    except queue_module.Empty:
        if all(p.exitcode in (None, 0) for p in procs):
            return None
    end = time.monotonic() + grace
    while time.monotonic() < end:
        try:
            rank, ok, value, when = results.get(timeout=0.1)
        except queue_module.Empty:
            continue
        if ok:
            values[rank] = pickle.loads(value)
        else:
            failures.append((when, rank, f"worker process {rank} failed:\n{value}"))
    reported = {r for _, r, _ in failures} | set(values)
    silent = [(r, p.exitcode) for r, p in enumerate(procs) if r not in reported
              and p.exitcode not in (None, 0)]
    if silent:
        r, code = silent[0]
        return r, f"worker process {r} died with {_exit_reason(code)} and sent no result"
    if failures:
        _, rank, message = min(failures)
        return rank, message
    return None


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _in_group(rank: int, world_size: int, backend: str, host: str, port: int, fn: Callable,
              args: tuple, threads: int):
    """One worker: join the group through the parent's store, run ``fn``, leave the group."""
    import torch
    import torch.distributed as dist

    os.environ["RANK"] = os.environ["LOCAL_RANK"] = str(rank)
    torch.set_num_threads(threads)
    if backend == "nccl":
        torch.cuda.set_device(rank)
    store = dist.TCPStore(host, port, world_size + 1, is_master=False)
    dist.init_process_group(backend, store=store, rank=rank, world_size=world_size)
    try:
        return fn(rank, *args)
    except BaseException as exc:
        exc.failed_at = time.time()  # before leaving the group makes the peers fail too
        raise
    finally:
        dist.destroy_process_group()


def launch(fn: Callable, world_size: int, args: tuple = (), backend: str = "gloo",
           timeout: float | None = 300.0, threads: int = 1) -> list[Any]:
    r"""Run ``fn(rank, *args)`` in ``world_size`` spawned processes that form one process group.

    Inside ``fn``, ``torch.distributed`` is initialised (``dist.get_rank()``,
    ``dist.get_world_size()``, collectives) and the environment has ``RANK``, ``LOCAL_RANK``,
    ``WORLD_SIZE`` and ``LOCAL_WORLD_SIZE`` as ``torchrun`` sets them. The rendezvous store
    listens on a free port of 127.0.0.1 chosen by the operating system. Each process uses
    ``threads`` CPU threads (``torchrun`` sets ``OMP_NUM_THREADS=1`` the same way). Returns
    ``[fn(0, *args), ..., fn(world_size-1, *args)]``; a worker's exception is re-raised as
    :class:`WorkerError` with its traceback, after the other workers are stopped. ``fn`` must be
    importable by the workers: a module-level function in a ``.py`` file, not a lambda or a
    function defined in a notebook.

    Matches: ``torchrun --standalone --nproc-per-node=world_size script.py`` where the script
    calls ``dist.init_process_group(backend)`` and then ``fn(int(os.environ["RANK"]), *args)``.
    """
    import torch.distributed as dist

    world_size = _world_size(world_size)
    check_backend(backend, world_size)
    _check_importable(fn)
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple, got {type(args).__name__}")
    if isinstance(threads, bool) or not isinstance(threads, Integral) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    if inspect.iscoroutinefunction(fn):
        raise TypeError("fn must be a plain function, not a coroutine function")
    host = "127.0.0.1"
    # the parent hosts the store on port 0: the OS picks a free port, with no race to lose
    store = dist.TCPStore(host, 0, world_size + 1, is_master=True, wait_for_workers=False)
    env = {"WORLD_SIZE": str(world_size), "LOCAL_WORLD_SIZE": str(world_size),
           "OMP_NUM_THREADS": str(threads), "MASTER_ADDR": host, "MASTER_PORT": str(store.port)}
    try:
        per_rank = [(rank, world_size, backend, host, store.port, fn, args, int(threads))
                    for rank in range(world_size)]
        return run_processes(_in_group, per_rank, timeout=timeout, env=env)
    finally:
        del store
