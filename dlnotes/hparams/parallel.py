r"""One Optuna study, many worker processes: the pattern that scales tuning past one machine.

Optuna (Akiba et al. 2019) keeps a study's trials in a *storage*; every worker that opens the
same storage and study name asks it for the next trial and writes its result back, so workers
need no other channel between them. The storage is either

- a database URL: ``sqlite:///study.db`` (one file, one machine, the embedded default) or a
  server, ``postgresql+psycopg://user@host/db``, which workers on any machine can reach; or
- a journal file path (``JournalFileBackend``), for processes on one machine sharing a disk.

Here the budget of a study is a queue of ``n_trials`` *waiting* trials created with it: a worker
moves one waiting trial to RUNNING (the database does this for one worker only), runs it, and
stops when none are left. With a database storage and ``heartbeat_interval`` a running trial
beats every interval; a worker that dies (SIGKILL, a lost machine) stops beating, and after
``grace_period`` another worker marks its trial FAIL and queues a copy with the same parameters
(``RetryHeartbeatStaleTrialCallback``), so no trial is lost and none is counted twice. Workers
started again later resume the same queue.

Three shells, one study (``objective`` is ``module:function``)::

    python -m dlnotes.hparams.parallel create --storage sqlite:///tune.db --study s --n-trials 30
    python -m dlnotes.hparams.parallel work --storage sqlite:///tune.db --study s --objective m:f

Dtypes: trial parameters and objective values are Python floats (float64), as Optuna stores them.
"""
from __future__ import annotations

import argparse
import importlib
import os
import threading
import time
import uuid
import warnings
from numbers import Integral, Real
from typing import Callable

from .storage import _check_heartbeat, _check_url, _is_url, journal_storage, open_storage

__all__ = ["create_study", "journal_storage", "open_storage", "run_workers", "work"]

DIRECTIONS = ("minimize", "maximize")
SAMPLERS = ("tpe", "random")
_BUDGET = "dlnotes_budget"        # user attribute that marks a study as fully created


def _grid_points(grid) -> list[dict]:
    if not isinstance(grid, dict) or not grid:
        raise ValueError(f"grid must be a non-empty dict {{name: [values]}}, got {grid!r}")
    points = [{}]
    for name, values in grid.items():
        if not isinstance(name, str):
            raise TypeError(f"grid names must be str, got {name!r}")
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"grid[{name!r}] must be a non-empty list of values, got {values!r}")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"grid[{name!r}] lists a value twice: {values!r}")
        points = [{**p, name: v} for p in points for v in values]
    return points


def _check_study_args(study_name, n_trials, grid, direction) -> list[dict] | None:
    if not isinstance(study_name, str) or not study_name:
        raise ValueError(f"study_name must be a non-empty str, got {study_name!r}")
    if isinstance(n_trials, bool) or not isinstance(n_trials, Integral) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive int, got {n_trials!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if grid is None:
        return None
    points = _grid_points(grid)
    if n_trials != len(points):
        raise ValueError(f"n_trials must equal the grid size ({len(points)}) with a grid, got {n_trials}")
    return points


def create_study(storage, study_name: str, n_trials: int, grid: dict | None = None,
                 direction: str = "maximize", load_if_exists: bool = False):
    r"""Create a study in ``storage`` with a queue of ``n_trials`` waiting trials (its budget).

    Every argument is checked before anything is written, so a corrected call can follow a
    refused one. With ``grid`` (``{name: [values]}``) the waiting trials are the grid points,
    each handed to exactly one worker; otherwise their parameters are left to the workers'
    sampler. With ``load_if_exists`` an existing study is returned unchanged if it was created
    with the same ``n_trials``, ``grid`` and ``direction`` (a resumed study).

    Matches: ``optuna.create_study(study_name=..., storage=...)`` followed by
    ``study.enqueue_trial(params)`` for each point (``{}`` without a grid).
    """
    import optuna

    points = _check_study_args(study_name, n_trials, grid, direction)
    if not isinstance(load_if_exists, bool):
        raise TypeError(f"load_if_exists must be a bool, got {type(load_if_exists).__name__}")
    store = open_storage(storage)
    budget = {"n_trials": int(n_trials), "grid": grid, "direction": direction}
    if load_if_exists and study_name in {s.study_name for s in optuna.get_all_study_summaries(store)}:
        study = optuna.load_study(study_name=study_name, storage=store)
        if study.user_attrs.get(_BUDGET) != budget:
            raise ValueError(f"study {study_name!r} exists with budget {study.user_attrs.get(_BUDGET)}, "
                             f"not {budget}; use another study_name")
        return study
    study = optuna.create_study(study_name=study_name, storage=store, direction=direction)
    for params in points or [{}] * n_trials:
        study.enqueue_trial(params, skip_if_exists=False)
    study.set_user_attr(_BUDGET, budget)  # written last: a study without it was not finished
    return study


class _Heartbeat:
    """Record a trial's heartbeat every ``interval`` seconds in a thread, as Optuna's optimize does."""

    def __init__(self, storage, trial_id: int, interval: int | None):
        self.storage, self.trial_id, self.interval = storage, trial_id, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self):
        while not self.stop.wait(self.interval):
            self.storage.record_heartbeat(self.trial_id)

    def __enter__(self):
        if self.interval is not None:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()


def _pop_waiting(storage, study_id: int, heartbeat: bool) -> int | None:
    """Move one WAITING trial to RUNNING and return its id; None when the queue is empty."""
    import optuna
    from optuna.trial import TrialState

    for t in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.WAITING,)):
        if heartbeat:  # beat before taking it: a worker killed right after still leaves a stale trial
            storage.record_heartbeat(t._trial_id)
        try:
            if storage.set_trial_state_values(t._trial_id, state=TrialState.RUNNING):
                return t._trial_id
        except optuna.exceptions.UpdateFinishedTrialError:
            continue                                      # another worker ran it meanwhile
    return None


def _sampler(kind: str, seed: int, constant_liar: bool):
    import optuna

    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, constant_liar=constant_liar)


def _check_worker_args(sampler, constant_liar, seed, start_together=None):
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    if not isinstance(constant_liar, bool):
        raise TypeError(f"constant_liar must be a bool, got {type(constant_liar).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if start_together is not None and not (isinstance(start_together, tuple) and len(start_together) == 2):
        raise ValueError(f"start_together must be (run_id, n_workers) or None, got {start_together!r}")


def work(storage, study_name: str, objective: Callable, sampler: str = "tpe", constant_liar: bool = True,
         seed: int = 0, heartbeat_interval: int | None = None, grace_period: int | None = None,
         max_retry: int | None = 3, start_together: tuple[str, int] | None = None,
         poll: float = 0.2) -> int:
    r"""One worker: run waiting trials of the study until none is left; return how many it ran.

    Before each trial it fails the stale trials of dead workers (with heartbeats), which queues
    their copies. When the queue is empty but trials are still RUNNING elsewhere, it waits
    (``poll`` seconds at a time): one of them may belong to a dead worker and come back. With
    ``wait_for`` it first waits until that many workers have joined, so all start together.
    An exception in ``objective`` marks the trial FAIL and is raised; ``optuna.TrialPruned``
    marks it PRUNED.

    Matches: ``optuna.load_study(study_name, storage).optimize(objective, n_trials=k)``, where the
    ``k`` trials are taken from the study's queue.
    """
    import optuna
    from optuna.storages import fail_stale_trials
    from optuna.trial import TrialState

    _check_worker_args(sampler, constant_liar, seed, start_together)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    store = open_storage(storage, heartbeat_interval, grace_period, max_retry)
    study = optuna.load_study(study_name=study_name, storage=store,
                              sampler=_sampler(sampler, seed, constant_liar))
    if _BUDGET not in study.user_attrs:
        raise ValueError(f"study {study_name!r} was not created by create_study (no queue of trials)")
    store = study._storage  # the study's cached view of the storage, as Optuna's own ask() uses
    study_id = store.get_study_id_from_name(study_name)
    if start_together is not None:
        run_id, n = start_together
        store.set_study_system_attr(study_id, f"dlnotes_ready_{run_id}_{os.getpid()}", True)
        deadline = time.monotonic() + 120
        while sum(k.startswith(f"dlnotes_ready_{run_id}_") for k in store.get_study_system_attrs(study_id)) < n \
                and time.monotonic() < deadline:
            time.sleep(0.05)
    beats = heartbeat_interval is not None
    ran = 0
    while True:
        if beats:
            with warnings.catch_warnings():  # fail_stale_trials is marked experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                fail_stale_trials(study)
        trial_id = _pop_waiting(store, study_id, beats)
        if trial_id is None:
            if beats and store.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
                time.sleep(poll)
                continue
            return ran
        trial = optuna.trial.Trial(study, trial_id)
        trial.set_user_attr("worker_pid", os.getpid())
        state, value = _run_one(study, store, trial, objective, heartbeat_interval)
        ran += state is not None


def _run_one(study, store, trial, objective, heartbeat_interval):
    """Run and tell one trial; ``(None, None)`` if others meanwhile declared it dead (its beats
    were held up past the grace period): then its queued copy runs instead, and its result is
    dropped, so that nothing is counted twice."""
    import optuna
    from optuna.trial import TrialState

    taken = lambda: store.get_trial(trial._trial_id).state.is_finished()  # noqa: E731
    state, value = TrialState.COMPLETE, None
    try:
        with _Heartbeat(store, trial._trial_id, heartbeat_interval):
            try:
                value = objective(trial)
            except optuna.TrialPruned:
                state = TrialState.PRUNED
            except optuna.exceptions.UpdateFinishedTrialError:
                if taken():
                    return None, None
                raise
            except BaseException:
                if not taken():
                    study.tell(trial, state=TrialState.FAIL)
                raise
        study.tell(trial, value if state == TrialState.COMPLETE else None, state=state)
    except ValueError:  # "Cannot tell a FAIL trial"
        if taken():
            return None, None
        raise
    return state, value


def run_workers(objective: Callable, storage, study_name: str, n_workers: int, n_trials: int,
                grid: dict | None = None, direction: str = "maximize", sampler: str = "tpe",
                constant_liar: bool = True, seed: int = 0, heartbeat_interval: int | None = None,
                grace_period: int | None = None, max_retry: int | None = 3,
                load_if_exists: bool = False, timeout: float | None = None):
    r"""Create a study of ``n_trials`` trials in ``storage`` and run ``n_workers`` processes on it.

    ``storage`` is a database URL (``sqlite:///study.db`` on one machine,
    ``postgresql+psycopg://user@host/db`` across machines) or a journal file path. Worker
    :math:`i` samples with ``sampler`` seeded ``seed + i`` (TPE with ``constant_liar``, which
    counts the trials other workers are running as bad, so workers do not all propose the same
    point). With ``grid`` the workers share the grid points, each run once. With
    ``heartbeat_interval`` (database storages only) a killed worker's trial is failed and run
    again by another worker; with ``load_if_exists`` a study left unfinished is resumed.
    ``objective(trial)`` must be a module-level function (workers are spawned processes).
    Everything is checked before the study is created. Returns the ``optuna.Study``.

    Matches: running ``optuna.load_study(study_name, storage).optimize(objective, n_trials=k)``
    in ``n_workers`` shells against the same ``storage``.
    """
    from ..distributed import _check_importable, run_processes

    if not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}")
    _check_importable(objective, "objective")
    if isinstance(n_workers, bool) or not isinstance(n_workers, Integral) or n_workers < 1:
        raise ValueError(f"n_workers must be a positive int, got {n_workers!r}")
    _check_study_args(study_name, n_trials, grid, direction)
    _check_worker_args(sampler, constant_liar, seed)
    if not isinstance(storage, (str, os.PathLike)):
        raise TypeError(f"storage must be a database URL or a journal file path, got {type(storage).__name__}")
    _check_heartbeat(heartbeat_interval, grace_period, max_retry, _is_url(storage))
    if _is_url(storage):
        _check_url(storage)
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, Real) or timeout <= 0):
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    storage = storage if _is_url(storage) else os.fspath(storage)
    study = create_study(storage, study_name, n_trials, grid, direction, load_if_exists)
    kind = "random" if grid is not None else sampler   # grid points are fixed: nothing to sample
    together = (uuid.uuid4().hex[:8], n_workers)        # all begin at once, however slow to start
    run_processes(work, [(storage, study_name, objective, kind, constant_liar, seed + i,
                          heartbeat_interval, grace_period, max_retry, together)
                         for i in range(n_workers)], timeout=timeout)
    import optuna

    return optuna.load_study(study_name=study.study_name, storage=open_storage(storage))


def _import_objective(spec: str) -> Callable:
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"objective must be written module:function, got {spec!r}")
    return getattr(importlib.import_module(module), name)


def main(argv: list[str] | None = None) -> None:
    """``python -m dlnotes.hparams.parallel create|work ...``: the commands of each shell."""
    p = argparse.ArgumentParser(prog="python -m dlnotes.hparams.parallel", description=main.__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("create", help="create the study and its queue of trials")
    w = sub.add_parser("work", help="run trials of the study until none is left")
    for q in (c, w):
        q.add_argument("--storage", required=True, help="sqlite:///f.db, postgresql+psycopg://..., or a journal path")
        q.add_argument("--study", required=True)
    c.add_argument("--n-trials", type=int, required=True)
    c.add_argument("--direction", default="maximize", choices=DIRECTIONS)
    w.add_argument("--objective", required=True, help="module:function")
    w.add_argument("--sampler", default="tpe", choices=SAMPLERS)
    w.add_argument("--no-constant-liar", action="store_true")
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--heartbeat-interval", type=int, default=None)
    w.add_argument("--grace-period", type=int, default=None)
    a = p.parse_args(argv)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if a.command == "create":
        create_study(a.storage, a.study, a.n_trials, direction=a.direction, load_if_exists=True)
        print(f"study {a.study!r}: {a.n_trials} trials queued")
    else:
        n = work(a.storage, a.study, _import_objective(a.objective), a.sampler, not a.no_constant_liar,
                 a.seed, a.heartbeat_interval, a.grace_period)
        print(f"worker {os.getpid()}: ran {n} trials")


if __name__ == "__main__":
    main()
