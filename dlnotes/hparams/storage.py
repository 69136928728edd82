r"""Where an Optuna study lives: a journal file or a database, opened for many worker processes.

A database URL gives ``RDBStorage`` (``sqlite:///study.db`` on one machine, a server such as
``postgresql+psycopg://user@host/db`` across machines), with heartbeats that let other workers
fail and re-queue the trial of a worker that died; a path gives a journal file
(``JournalFileBackend``) for processes on one machine. Optuna: Akiba et al. 2019.

Dtypes: none: it opens Optuna storages; trial values are stored as float64.
"""
from __future__ import annotations

import os
import warnings
from numbers import Integral

__all__ = ["journal_storage", "open_storage"]

_DRIVERS = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "pymysql": "PyMySQL",
            "MySQLdb": "mysqlclient", "asyncpg": "asyncpg"}


def journal_storage(path: str):
    """A journal-file storage that several processes can open at once.

    Matches: ``optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))``.
    """
    import optuna
    from optuna.storages.journal import JournalFileBackend

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or path, got {type(path).__name__}")
    return optuna.storages.JournalStorage(JournalFileBackend(os.fspath(path)))


def _is_url(storage) -> bool:
    return isinstance(storage, str) and "://" in storage


def _check_url(url: str) -> str:
    """The URL SQLAlchemy will open; raise a clear error when its driver is not installed."""
    import sqlalchemy
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
        dialect = parsed.get_dialect()
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError) as exc:
        raise ValueError(f"storage is not a database URL SQLAlchemy knows: {url!r} ({exc})") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.drivername == "postgresql":  # SQLAlchemy's default driver for it is psycopg2
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            parsed = parsed.set(drivername="postgresql+psycopg")
            dialect = parsed.get_dialect()
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        name = (exc.name or str(exc)).split(".")[0]
        raise ModuleNotFoundError(
            f"storage {shown!r} needs the Python package {_DRIVERS.get(name, name)!r} "
            f"(module {name!r} is not installed): pip install {_DRIVERS.get(name, name)!r}",
            name=name) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ValueError(f"storage {shown!r} is an in-memory SQLite database, which other processes "
                         "cannot open; use a file, e.g. 'sqlite:///study.db'")
    return parsed.render_as_string(hide_password=False)


def _serialize_sqlite(engine) -> None:
    """Make every SQLite transaction take the write lock at its start (``BEGIN IMMEDIATE``).

    pysqlite starts a transaction only at the first write, so two processes can both read a
    trial as WAITING and both move it to RUNNING; with the lock taken first, the second one
    reads RUNNING and moves on. (PostgreSQL does this with ``SELECT ... FOR UPDATE``.)
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened before the hooks are dropped


def _check_heartbeat(heartbeat_interval, grace_period, max_retry, url: bool):
    if heartbeat_interval is not None:
        if isinstance(heartbeat_interval, bool) or not isinstance(heartbeat_interval, Integral) \
                or heartbeat_interval < 1:
            raise ValueError(f"heartbeat_interval must be a positive int (seconds) or None, "
                             f"got {heartbeat_interval!r}")
        if not url:
            raise ValueError("heartbeat_interval needs a database storage URL (sqlite:///..., "
                             "postgresql+psycopg://...); a journal file has no heartbeats")
    if grace_period is not None:
        if heartbeat_interval is None:
            raise ValueError("grace_period is used only with heartbeat_interval")
        if isinstance(grace_period, bool) or not isinstance(grace_period, Integral) \
                or grace_period < heartbeat_interval:
            raise ValueError(f"grace_period must be an int >= heartbeat_interval "
                             f"({heartbeat_interval}), got {grace_period!r}")
    if max_retry is not None and (isinstance(max_retry, bool) or not isinstance(max_retry, Integral)
                                  or max_retry < 0):
        raise ValueError(f"max_retry must be a non-negative int or None, got {max_retry!r}")


def open_storage(storage, heartbeat_interval: int | None = None, grace_period: int | None = None,
                 max_retry: int | None = 3):
    r"""Open ``storage`` (a database URL or a journal file path) as an Optuna storage.

    For a URL: ``RDBStorage`` with heartbeats every ``heartbeat_interval`` seconds (None: off), a
    running trial declared stale after ``grace_period`` seconds without one (default twice the
    interval), and its copy queued again at most ``max_retry`` times. SQLite files wait up to
    60 s for a lock and take it at the start of each transaction (see :func:`_serialize_sqlite`).
    ``postgresql://`` uses psycopg (version 3) when psycopg2 is not installed.

    Matches: ``optuna.storages.RDBStorage(url, heartbeat_interval=..., grace_period=...,
    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry))``.
    """
    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    if not isinstance(storage, (str, os.PathLike)):
        raise TypeError(f"storage must be a database URL or a journal file path, "
                        f"got {type(storage).__name__}")
    _check_heartbeat(heartbeat_interval, grace_period, max_retry, _is_url(storage))
    if not _is_url(storage):
        return journal_storage(storage)
    url = _check_url(storage)
    sqlite = url.startswith("sqlite")
    with warnings.catch_warnings():  # heartbeats and their callback are "experimental" in Optuna 5.0
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        callback = None if heartbeat_interval is None else RetryHeartbeatStaleTrialCallback(max_retry)
        rdb = optuna.storages.RDBStorage(
            url, engine_kwargs={"connect_args": {"timeout": 60}} if sqlite else None,
            heartbeat_interval=heartbeat_interval, grace_period=grace_period,
            heartbeat_stale_trial_callback=callback)
    if sqlite:
        _serialize_sqlite(rdb.engine)
    return rdb
