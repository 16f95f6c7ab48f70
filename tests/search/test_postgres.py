"""PostgreSQL storage with heartbeats: a worker killed mid-trial is failed and its trial retried.

A real server: the session's `postgres_url` fixture (tests/conftest.py).
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import optuna

import optnas


def test_search_on_postgres(write_space, postgres_url, tmp_path):
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
            "--artifacts",
            str(tmp_path / "artifacts"),
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
    argv += ["--study", study_name, "--artifacts", str(tmp_path / "artifacts"), "--no-progress"]
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
        [*argv, "--storage", postgres_url, "--study", study_name, "--artifacts", str(tmp_path / "a"), "--no-progress"],
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
