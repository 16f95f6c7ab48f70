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


def test_killed_worker_is_failed_by_heartbeat_and_retried(write_space, postgres_url):
    slow = write_space().read_text().replace("epochs: 2", "epochs: 30").replace("n_samples: 300", "n_samples: 2000")
    path = write_space(slow, "slow.yaml")
    study_name = f"pg_kill_{os.getpid()}"
    env = {**os.environ, "OPTNAS_HEARTBEAT_INTERVAL": "1", "OPTNAS_GRACE_PERIOD": "4"}
    parent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "optnas",
            "search",
            str(path),
            "--trials",
            "4",
            "--jobs",
            "2",
            "--storage",
            postgres_url,
            "--study",
            study_name,
            "--no-progress",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    storage = optnas.search.open_storage(postgres_url, heartbeat=False)
    victim = None
    deadline = time.time() + 180
    while victim is None and time.time() < deadline:
        time.sleep(0.3)
        try:
            trials = optuna.load_study(study_name=study_name, storage=storage).trials
        except KeyError:
            continue
        running = [t for t in trials if t.state == optuna.trial.TrialState.RUNNING and "worker" in t.user_attrs]
        if running and any(t.state.is_finished() for t in trials):
            victim = running[0]
    assert victim is not None, "no running trial to kill"
    os.kill(victim.user_attrs["worker"]["pid"], signal.SIGKILL)
    time.sleep(0.5)
    still = optuna.load_study(study_name=study_name, storage=storage).trials[victim.number]
    assert still.state == optuna.trial.TrialState.RUNNING, "the trial finished before the kill: test too fast"
    _, err = parent.communicate(timeout=300)
    assert parent.returncode == 0, err
    trials = optuna.load_study(study_name=study_name, storage=storage).trials
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 4
    killed = next(t for t in trials if t.number == victim.number)
    assert killed.state == optuna.trial.TrialState.FAIL and "status" not in killed.user_attrs
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retried) == 1 and retried[0].state == optuna.trial.TrialState.COMPLETE
    assert retried[0].params == victim.params
