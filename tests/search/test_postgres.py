"""PostgreSQL storage with heartbeats: a worker killed mid-trial is failed and its trial retried.

Runs against a real server: OPTNAS_TEST_POSTGRES_URL if set, else a throwaway cluster this fixture creates
with Debian's postgresql binaries (`.ci/run` installs them). Skips, with the reason, only when neither is
possible.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest

import optnas


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    if os.environ.get("OPTNAS_TEST_POSTGRES_URL"):
        yield os.environ["OPTNAS_TEST_POSTGRES_URL"]
        return
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install optnas[postgres])")
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql) and no OPTNAS_TEST_POSTGRES_URL")
    bindir = os.path.dirname(bins[-1])
    run_as = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    if run_as and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as an unprivileged user")
    # not pytest's tmp dirs: they are private to root, and the server runs as the postgres user
    base = Path(tempfile.mkdtemp(prefix="optnas-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if run_as:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    subprocess.run(
        [*run_as, f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres"], check=True, capture_output=True
    )
    subprocess.run(
        [
            *run_as,
            f"{bindir}/pg_ctl",
            "-D",
            str(data),
            "-w",
            "-l",
            str(base / "log"),
            "-o",
            f"-p {port} -k {sock} -c listen_addresses=127.0.0.1",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_search_on_postgres(write_space, postgres_url):
    study_name = f"pg_basic_{os.getpid()}"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "optnas",
            "search",
            str(write_space()),
            "--trials",
            "3",
            "--storage",
            postgres_url,
            "--study",
            study_name,
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    df = optnas.results.load(postgres_url, study_name)
    assert len(df) == 3 and set(df["state"]) == {"COMPLETE"}


def test_killed_worker_is_failed_by_heartbeat_and_retried(write_space, postgres_url, tmp_path):
    """Two "machines" (two searches with their own lock folders, so neither sees the other's trial locks):
    one stops at the end of its first epoch (a failpoint, its heartbeat still beating) and is SIGKILLed
    there; the other fails that trial by its stale heartbeat, retries it, and completes the study."""
    slow = write_space().read_text().replace("epochs: 2", "epochs: 4")
    path = write_space(slow, "slow.yaml")
    study_name = f"pg_kill_{os.getpid()}"
    marker = tmp_path / "failpoints" / "epoch"
    marker.parent.mkdir()
    argv = [sys.executable, "-m", "optnas", "search", str(path), "--trials", "4", "--storage", postgres_url]
    argv += ["--study", study_name, "--no-progress"]
    env = {**os.environ, "OPTNAS_HEARTBEAT_INTERVAL": "1", "OPTNAS_GRACE_PERIOD": "4"}
    victim_env = {**env, "OPTNAS_LOCK_DIR": str(tmp_path / "locks-a"), "OPTNAS_FAILPOINT": "epoch"}
    victim_env["OPTNAS_FAILPOINT_DIR"] = str(marker.parent)
    first = subprocess.Popen(argv, env=victim_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 180
    while not (marker.exists() and marker.read_text()) and time.time() < deadline:
        assert first.poll() is None, first.stderr.read()
        time.sleep(0.2)
    assert marker.exists(), "the first search never reached its first epoch"
    storage = optnas.search.open_storage(postgres_url, heartbeat=False)
    (victim,) = optuna.load_study(study_name=study_name, storage=storage).trials  # stopped in its first trial
    assert victim.state == optuna.trial.TrialState.RUNNING
    os.kill(int(marker.read_text()), signal.SIGKILL)
    first.communicate(timeout=60)

    second_env = {**env, "OPTNAS_LOCK_DIR": str(tmp_path / "locks-b")}
    second = subprocess.run([*argv, "--resume"], env=second_env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    trials = optuna.load_study(study_name=study_name, storage=storage).trials
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 4
    killed = next(t for t in trials if t.number == victim.number)
    assert killed.state == optuna.trial.TrialState.FAIL and "status" not in killed.user_attrs
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retried) == 1 and retried[0].state == optuna.trial.TrialState.COMPLETE
    assert retried[0].params == victim.params
    assert Counter(t.state.name for t in trials) == {"COMPLETE": 4, "FAIL": 1}


def test_killed_worker_is_failed_by_its_sibling_at_once_and_retried(write_space, postgres_url, tmp_path):
    """One machine, two workers: the sibling finds the dead worker's free trial lock (no grace period to wait)
    and retries the trial as the heartbeat would."""
    path = write_space()
    study_name = f"pg_sibling_{os.getpid()}"
    marker = tmp_path / "failpoints" / "epoch"
    marker.parent.mkdir()
    env = {**os.environ, "OPTNAS_FAILPOINT": "epoch", "OPTNAS_FAILPOINT_DIR": str(marker.parent)}
    env["OPTNAS_GRACE_PERIOD"] = "3600"  # the heartbeat would take an hour: only the lock can find it
    argv = [sys.executable, "-m", "optnas", "search", str(path), "--trials", "3", "--jobs", "2"]
    proc = subprocess.Popen(
        [*argv, "--storage", postgres_url, "--study", study_name, "--no-progress"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 180
    while not (marker.exists() and marker.read_text()) and time.time() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)
    os.kill(int(marker.read_text()), signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    storage = optnas.search.open_storage(postgres_url, heartbeat=False)
    trials = optuna.load_study(study_name=study_name, storage=storage).trials
    assert Counter(t.state.name for t in trials) == {"COMPLETE": 3, "FAIL": 1}
    (killed,) = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    (retried,) = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
    assert retried.state == optuna.trial.TrialState.COMPLETE and retried.params == killed.params
