r"""One Optuna study, many worker processes: the pattern that scales tuning past one machine.

Optuna keeps a study's trials in a *storage*; every worker that opens the same storage and
study name asks it for the next trial and writes its result back, so workers need no other
channel between them. Here the storage is a journal file (``JournalFileBackend``, safe for
processes on one machine sharing a disk); across machines it is a database URL such as
``postgresql://user@host/db`` passed as ``storage=`` to the same calls.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from typing import Callable

__all__ = ["journal_storage", "run_workers"]


def journal_storage(path: str):
    """A journal-file storage that several processes can open at once.

    Matches: ``optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))``.
    """
    import optuna

    try:
        from optuna.storages.journal import JournalFileBackend
    except ImportError:  # Optuna < 4.0 named it JournalFileStorage
        from optuna.storages import JournalFileStorage as JournalFileBackend

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or path, got {type(path).__name__}")
    return optuna.storages.JournalStorage(JournalFileBackend(os.fspath(path)))


def _worker(path: str, study_name: str, objective: Callable, n_trials: int, seed: int) -> int:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name=study_name, storage=journal_storage(path),
                              sampler=_sampler_of(study_name, path, seed))

    def tagged(trial):
        trial.set_user_attr("worker_pid", os.getpid())
        return objective(trial)

    study.optimize(tagged, n_trials=n_trials)
    return os.getpid()


def _sampler_of(study_name: str, path: str, seed: int):
    import optuna

    grid = optuna.load_study(study_name=study_name, storage=journal_storage(path)).user_attrs.get("grid")
    if grid is not None:  # the grid points wait in the storage's queue; a worker pops each one once
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def run_workers(objective: Callable, path: str, study_name: str, n_workers: int, n_trials: int,
                grid: dict | None = None, direction: str = "maximize"):
    r"""Create a study in the journal file ``path`` and run ``n_workers`` processes on it.

    Each worker runs ``n_trials // n_workers`` trials (the first ones one more for a remainder)
    with its own seed. With ``grid`` (``{name: [values]}``) the workers share the grid, which
    hands out each grid point once across all workers (the points are queued in the storage and
    ``n_trials`` must equal their number); otherwise each uses ``TPESampler``.
    ``objective(trial)`` must be importable by the workers (a module-level function).
    Returns the finished ``optuna.Study``.

    Matches: running ``optuna.load_study(study_name, storage).optimize(objective, n_trials=k)`` in
    ``n_workers`` shells against the same ``storage``.
    """
    import optuna

    if not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}")
    for name, v in (("n_workers", n_workers), ("n_trials", n_trials)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    study = optuna.create_study(study_name=study_name, storage=journal_storage(path), direction=direction)
    if grid is not None:
        # GridSampler in several processes can hand the same point to two workers at once; the
        # storage's queue of waiting trials cannot (each is moved to RUNNING exactly once)
        study.set_user_attr("grid", grid)
        points = [{}]
        for name, values in grid.items():
            points = [{**p, name: v} for p in points for v in values]
        if n_trials != len(points):
            raise ValueError(f"n_trials must equal the grid size ({len(points)}) with a grid, got {n_trials}")
        for p in points:
            study.enqueue_trial(p)
    shares = [n_trials // n_workers + (i < n_trials % n_workers) for i in range(n_workers)]
    # fork is cheap on Linux and these workers never touch torch; spawn elsewhere
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() and os.name == "posix"
                         and not _is_macos() else "spawn")
    procs = [ctx.Process(target=_worker, args=(os.fspath(path), study_name, objective, k, seed))
             for seed, k in enumerate(shares) if k]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        raise RuntimeError(f"{len(bad)} worker process(es) failed with exit codes {bad}")
    return optuna.load_study(study_name=study_name, storage=journal_storage(path))


def _is_macos() -> bool:
    import sys

    return sys.platform == "darwin"
