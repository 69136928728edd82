"""Distributed Optuna tuning (dlnotes.hparams.parallel) against SQLite and a real PostgreSQL.

Faults are real: worker processes are killed with SIGKILL in the middle of a trial. The
PostgreSQL server is the one in DLNOTES_POSTGRES_URL (CI starts it), else a throw-away one
started here with Debian's binaries; without either the PostgreSQL tests skip, and with
DLNOTES_REQUIRE_POSTGRES=1 (set by CI) that is a failure.
"""
import glob
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings

import optuna
import pytest
from optuna.trial import TrialState

from dlnotes.hparams import parallel as P

HEARTBEAT, GRACE = 1, 4  # SQLite stores heartbeats with 1 s resolution: keep a margin
REQUIRE_POSTGRES = os.environ.get("DLNOTES_REQUIRE_POSTGRES") == "1"


def slow_quadratic(trial):
    """Sleeps so that a test can kill a worker in the middle of a trial."""
    x = trial.suggest_float("x", -3.0, 3.0)
    time.sleep(0.4)
    return -(x - 1.0) ** 2


def failing(trial):
    trial.suggest_float("x", 0.0, 1.0)
    raise ArithmeticError("objective broke")


# --- a PostgreSQL server for the session --------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _skip_or_fail(reason: str):
    if REQUIRE_POSTGRES:
        pytest.fail(f"DLNOTES_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url():
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _skip_or_fail("the PostgreSQL driver psycopg is not installed (pip install 'psycopg[binary]')")
    if os.environ.get("DLNOTES_POSTGRES_URL"):
        yield os.environ["DLNOTES_POSTGRES_URL"]
        return
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdb:
        _skip_or_fail("no PostgreSQL server: DLNOTES_POSTGRES_URL is unset and Debian's postgresql "
                      "is not installed (apt-get install postgresql)")
    bindir = os.path.dirname(initdb[-1])
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    tmp = tempfile.mkdtemp(prefix="dlnotes-pg-")
    if as_postgres:
        shutil.chown(tmp, "postgres")
    data, port = os.path.join(tmp, "data"), _free_port()
    run = lambda *cmd: subprocess.run(as_postgres + list(cmd), check=True, capture_output=True)  # noqa: E731
    try:
        run(f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        run(f"{bindir}/pg_ctl", "-D", data, "-w", "-l", os.path.join(tmp, "log"), "-o",
            f"-k {tmp} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        run(f"{bindir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "dlnotes")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _skip_or_fail(f"could not start a throw-away PostgreSQL server: {exc.stderr.decode()[-300:]}")
    yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/dlnotes"
    subprocess.run(as_postgres + [f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
                   capture_output=True)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return request.getfixturevalue("postgres_url")


def _name() -> str:
    return f"s-{uuid.uuid4().hex[:8]}"


def _start(url, name, n, **kw):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=P.work, args=(url, name, slow_quadratic),
                         kwargs={"sampler": "random", "seed": i, "heartbeat_interval": HEARTBEAT,
                                 "grace_period": GRACE, **kw}) for i in range(n)]
    for p in procs:
        p.start()
    return procs


def _running_pids(study):
    """Workers in the middle of a trial: it is RUNNING and has its parameters."""
    return {t.user_attrs.get("worker_pid") for t in study.get_trials(states=(TrialState.RUNNING,)) if t.params}


def _wait(condition, timeout=90.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out waiting for the workers"
        time.sleep(0.05)


def _check_consistent(study, n_trials):
    """n_trials COMPLETE; every FAIL has exactly one retry that completed with its parameters."""
    trials = study.get_trials()
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(len(trials)))                       # unique, no gaps
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    failed = study.get_trials(states=(TrialState.FAIL,))
    assert len(complete) == n_trials and len(trials) == n_trials + len(failed)
    retries = [t for t in trials if "failed_trial" in t.system_attrs]
    assert sorted(t.system_attrs["failed_trial"] for t in retries) == sorted(t.number for t in failed)
    by_number = {t.number: t for t in trials}
    for r in retries:
        assert r.state == TrialState.COMPLETE and r.params == by_number[r.system_attrs["failed_trial"]].params
    return complete, failed


# --- faults ---------------------------------------------------------------------------------------
def test_killed_worker_trial_fails_by_heartbeat_and_is_retried_grid_once(url):
    name = _name()
    grid = {"x": [-2.0, -1.0, 0.0, 0.5, 1.0, 2.0]}
    study = P.create_study(url, name, n_trials=6, grid=grid)
    procs = _start(url, name, 3)
    victim = procs[1]
    _wait(lambda: victim.pid in _running_pids(study))
    os.kill(victim.pid, signal.SIGKILL)                          # in the middle of its trial
    for p in procs:
        p.join(120)
    assert victim.exitcode == -signal.SIGKILL and [p.exitcode for p in procs if p is not victim] == [0, 0]
    complete, failed = _check_consistent(study, 6)
    assert len(failed) == 1 and failed[0].user_attrs["worker_pid"] == victim.pid
    assert sorted(t.params["x"] for t in complete) == grid["x"]               # each point once
    assert victim.pid not in {t.user_attrs["worker_pid"] for t in complete if "failed_trial" in t.system_attrs}


def test_restarting_every_worker_resumes_the_study(url):
    name = _name()
    P.create_study(url, name, n_trials=9)
    study = optuna.load_study(study_name=name, storage=P.open_storage(url))
    procs = _start(url, name, 3)
    _wait(lambda: len(study.get_trials(states=(TrialState.COMPLETE,))) >= 2
          and len(_running_pids(study)) == 3)
    for p in procs:                                              # the whole cluster goes down
        os.kill(p.pid, signal.SIGKILL)
    for p in procs:
        p.join(30)
    killed_running = len(study.get_trials(states=(TrialState.RUNNING,)))
    done_before = len(study.get_trials(states=(TrialState.COMPLETE,)))
    assert killed_running >= 1 and done_before < 9   # (a worker may have been between two trials)
    restarted = _start(url, name, 3)
    for p in restarted:
        p.join(120)
    assert [p.exitcode for p in restarted] == [0, 0, 0]
    complete, failed = _check_consistent(study, 9)
    assert len(failed) == killed_running
    assert len({t.user_attrs["worker_pid"] for t in complete} & {p.pid for p in restarted}) > 0


def test_run_workers_on_a_database_hands_out_each_grid_point_once(url):
    grid = {"C": [0.1, 1.0, 10.0, 100.0], "gamma": [1e-3, 1e-2, 1e-1]}
    from dlnotes.hparams import digits as D

    study = P.run_workers(D.iris_svc_objective, url, _name(), n_workers=3, n_trials=12, grid=grid,
                          heartbeat_interval=HEARTBEAT, grace_period=GRACE)
    complete, failed = _check_consistent(study, 12)
    assert not failed
    assert sorted((t.params["C"], t.params["gamma"]) for t in complete) == sorted(
        (c, g) for c in grid["C"] for g in grid["gamma"])
    assert len({t.user_attrs["worker_pid"] for t in complete}) > 1


# --- behaviour and errors without processes -------------------------------------------------------
def test_tpe_workers_in_one_process_fill_the_budget_exactly(tmp_path):
    url = f"sqlite:///{tmp_path / 'one.db'}"
    P.create_study(url, "one", n_trials=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # no deprecation or experimental warning escapes
        ran = P.work(url, "one", slow_quadratic, heartbeat_interval=HEARTBEAT, seed=1)
    study = optuna.load_study(study_name="one", storage=url)
    assert ran == 5 and len(study.get_trials(states=(TrialState.COMPLETE,))) == 5
    assert P.work(url, "one", slow_quadratic) == 0                 # nothing left: resumes to nothing


def test_an_objective_error_comes_back_with_its_traceback(tmp_path):
    from dlnotes.distributed import WorkerError

    url = f"sqlite:///{tmp_path / 'e.db'}"
    with pytest.raises(WorkerError, match="objective broke") as info:
        P.run_workers(failing, url, "e", n_workers=2, n_trials=2, sampler="random")
    assert "ArithmeticError" in str(info.value)
    study = optuna.load_study(study_name="e", storage=url)
    assert study.get_trials(states=(TrialState.FAIL,))


def test_bad_arguments_are_refused_before_the_study_exists(tmp_path):
    url = f"sqlite:///{tmp_path / 'v.db'}"
    bad = [
        ({"grid": {"x": [1.0, 2.0]}, "n_trials": 3}, ValueError, "grid size"),
        ({"grid": {"x": []}}, ValueError, "non-empty list"),
        ({"grid": {"x": [1.0, 1.0]}, "n_trials": 2}, ValueError, "lists a value twice"),
        ({"grid": [1, 2]}, ValueError, "grid must be a non-empty dict"),
        ({"n_workers": 0}, ValueError, "n_workers must be a positive int"),
        ({"n_trials": 0}, ValueError, "n_trials must be a positive int"),
        ({"direction": "up"}, ValueError, "direction must be one of"),
        ({"sampler": "cmaes"}, ValueError, "sampler must be one of"),
        ({"constant_liar": 1}, TypeError, "constant_liar must be a bool"),
        ({"heartbeat_interval": 0}, ValueError, "heartbeat_interval must be a positive int"),
        ({"heartbeat_interval": 2, "grace_period": 1}, ValueError, "grace_period must be an int >="),
        ({"grace_period": 5}, ValueError, "grace_period is used only with heartbeat_interval"),
        ({"max_retry": -1, "heartbeat_interval": 1}, ValueError, "max_retry must be"),
        ({"study_name": ""}, ValueError, "study_name must be a non-empty str"),
        ({"objective": 3}, TypeError, "objective must be callable"),
        ({"objective": lambda t: 0.0}, TypeError, "module-level function"),
        ({"storage": 3}, TypeError, "storage must be a database URL or a journal file path"),
        ({"storage": "sqlite:///:memory:"}, ValueError, "in-memory SQLite"),
        ({"storage": str(tmp_path / "j.log"), "heartbeat_interval": 1}, ValueError, "journal file has no heartbeats"),
        ({"storage": "nosuchdb://x/y"}, ValueError, "not a database URL"),
        ({"timeout": 0}, ValueError, "timeout must be a positive number"),
    ]
    for change, error, match in bad:
        args = {"objective": slow_quadratic, "storage": url, "study_name": "v", "n_workers": 2,
                "n_trials": 2, **change}
        with pytest.raises(error, match=match):
            P.run_workers(**args)
    assert optuna.get_all_study_summaries(url) == []          # nothing was created
    # the corrected call then goes through (no DuplicatedStudyError)
    study = P.run_workers(slow_quadratic, url, "v", n_workers=2, n_trials=2, grid={"x": [0.0, 1.0]})
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 2


def test_resume_with_another_budget_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'b.db'}"
    P.create_study(url, "b", n_trials=3)
    assert P.create_study(url, "b", n_trials=3, load_if_exists=True).study_name == "b"
    with pytest.raises(ValueError, match="exists with budget"):
        P.create_study(url, "b", n_trials=4, load_if_exists=True)
    with pytest.raises(optuna.exceptions.DuplicatedStudyError):
        P.create_study(url, "b", n_trials=3)
    optuna.create_study(study_name="plain", storage=url)
    with pytest.raises(ValueError, match="not created by create_study"):
        P.work(url, "plain", slow_quadratic)


@pytest.mark.parametrize("url, package", [
    ("postgresql+psycopg2://u@localhost/db", "psycopg2-binary"),
    ("mysql+pymysql://u@localhost/db", "PyMySQL"),
])
def test_a_missing_driver_is_named(url, package):
    with pytest.raises(ModuleNotFoundError, match=package):
        P.open_storage(url)


def test_missing_psycopg_is_named(monkeypatch):
    for mod in ("psycopg", "psycopg2"):
        monkeypatch.setitem(sys.modules, mod, None)          # as if neither were installed
    with pytest.raises(ModuleNotFoundError, match=r"psycopg\[binary\]"):
        P.run_workers(slow_quadratic, "postgresql://u:secret@localhost/db", "s", 1, 1)
    with pytest.raises(ModuleNotFoundError) as info:
        P.open_storage("postgresql+psycopg://u:secret@localhost/db")
    assert "secret" not in str(info.value)                      # the password is not printed


def test_command_line_creates_and_works(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(__file__)] + sys.path)}
    cmd = [sys.executable, "-m", "dlnotes.hparams.parallel"]
    out = subprocess.run(cmd + ["create", "--storage", url, "--study", "c", "--n-trials", "3"],
                         check=True, capture_output=True, text=True, env=env)
    assert "3 trials queued" in out.stdout
    out = subprocess.run(cmd + ["work", "--storage", url, "--study", "c", "--objective",
                                "test_hparams_workers:slow_quadratic", "--sampler", "random"],
                         check=True, capture_output=True, text=True, env=env)
    assert "ran 3 trials" in out.stdout and out.stderr == ""
