"""Real faults at moments the test controls: a worker SIGKILLed right after ``ask()``, mid-trial or between its
record and its ``tell``; a full disk (a real tmpfs). After each, plain Optuna reads the store, and the study
reaches its count (by a live sibling, or by ``--resume``).

The moment is a failpoint (`optnas.search.failpoints`): the first worker to reach it writes its pid to a
marker file and sleeps; the test SIGKILLs it from outside.
"""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from optnas import outcome, results
from tests._support.cli import run_cli


def _plain(storage: str, study: str) -> list[optuna.trial.FrozenTrial]:
    """The trials as plain Optuna reads the journal (no optnas code on the read path)."""
    return optuna.load_study(study_name=study, storage=JournalStorage(JournalFileBackend(storage))).trials


def _states(trials) -> Counter:
    return Counter(t.state.name for t in trials)


def _search(path: Path, storage: str, *argv: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "optnas", "search", str(path), "--storage", storage, "--no-progress", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _armed(point: str, tmp_path: Path) -> tuple[dict, Path]:
    marker_dir = tmp_path / "failpoints"
    marker_dir.mkdir(exist_ok=True)
    return {"OPTNAS_FAILPOINT": point, "OPTNAS_FAILPOINT_DIR": str(marker_dir)}, marker_dir / point


def _stopped_pid(marker: Path, proc: subprocess.Popen, timeout: float = 240) -> int:
    """Wait until a worker stopped at the failpoint (its pid is in the marker)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text())
        if proc.poll() is not None:
            raise AssertionError(f"the search ended before reaching the failpoint:\n{proc.stderr.read()}")
        time.sleep(0.1)
    raise AssertionError("no worker reached the failpoint")


def test_killed_between_record_and_tell_is_lost_never_complete(write_space, tmp_path):
    path, storage = write_space(), str(tmp_path / "j.log")
    env, marker = _armed("before_tell", tmp_path)
    proc = _search(path, storage, "--trials", "3", env=env)
    pid = _stopped_pid(marker, proc)
    assert pid == proc.pid  # --jobs 1: the search process is the worker
    os.kill(pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    (victim,) = [t for t in _plain(storage, "fast") if t.state.name == "RUNNING"]
    assert victim.user_attrs["status"] == "complete"  # the whole record written, the tell not
    assert outcome.trial_status(victim) == "running"

    resumed = run_cli("search", str(path), "--storage", storage, "--trials", "3", "--resume", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    trials = _plain(storage, "fast")
    assert _states(trials) == {"COMPLETE": 3, "FAIL": 1}
    killed = trials[victim.number]
    assert killed.state.name == "FAIL" and outcome.trial_status(killed) == "lost"
    # every count agrees with Optuna: the results table, the leaderboard's title and the study's states
    df = results.load(storage, "fast")
    assert Counter(df["status"]) == {"complete": 3, "lost": 1}
    assert "3 complete, 1 lost" in resumed.stdout


def test_killed_right_after_ask_a_live_sibling_fails_it_and_the_study_reaches_its_count(write_space, tmp_path):
    path, storage = write_space(), str(tmp_path / "j.log")
    env, marker = _armed("after_ask", tmp_path)
    proc = _search(path, storage, "--trials", "3", "--jobs", "2", env=env)
    pid = _stopped_pid(marker, proc)
    assert pid != proc.pid
    os.kill(pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    trials = _plain(storage, "fast")
    assert _states(trials) == {"COMPLETE": 3, "FAIL": 1}
    (dead,) = [t for t in trials if t.state.name == "FAIL"]
    assert dead.user_attrs == {}  # it died before writing anything, not even its pid
    assert f"lost with dead workers were run again: #{dead.number}" in err


def test_killed_right_after_ask_resume_fails_it_and_completes(write_space, tmp_path):
    path, storage = write_space(), str(tmp_path / "j.log")
    env, marker = _armed("after_ask", tmp_path)
    proc = _search(path, storage, "--trials", "3", env=env)
    os.kill(_stopped_pid(marker, proc), signal.SIGKILL)
    proc.communicate(timeout=60)
    assert _states(_plain(storage, "fast")) == {"RUNNING": 1}
    resumed = run_cli("search", str(path), "--storage", storage, "--trials", "3", "--resume", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert _states(_plain(storage, "fast")) == {"COMPLETE": 3, "FAIL": 1}


@pytest.mark.slow
def test_all_workers_dead_is_reported_with_the_command_that_resumes(write_space, tmp_path):
    slow = write_space().read_text().replace("epochs: 2", "epochs: 6")
    path, storage = write_space(slow, "slow.yaml"), str(tmp_path / "j.log")
    env, marker = _armed("epoch", tmp_path)
    proc = _search(path, storage, "--trials", "4", "--jobs", "2", env=env)
    paused = _stopped_pid(marker, proc)
    other = None
    deadline = time.time() + 240
    while other is None and time.time() < deadline:  # the sibling's pid, from the trials it started
        pids = {(t.user_attrs.get("worker") or {}).get("pid") for t in _plain(storage, "slow")}
        other = next((p for p in pids if p not in (None, paused)), None)
        time.sleep(0.1)
    assert other is not None, "the second worker started no trial"
    os.kill(other, signal.SIGKILL)
    os.kill(paused, signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    (line,) = [x for x in err.splitlines() if "continue with:" in x]
    assert "lost with dead workers: #" in line and "Traceback" not in err
    assert not [t for t in _plain(storage, "slow") if t.state.name == "RUNNING"]  # failed, not left running
    command = shlex.split(line.split("continue with: ", 1)[1])
    assert command[:2] == ["optnas", "search"] and "--resume" in command
    resumed = subprocess.run(
        [sys.executable, "-m", "optnas", *command[1:], "--no-progress"], capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    trials = _plain(storage, "slow")
    assert outcome.counted(outcome.trial_status(t) for t in trials) == 4
    assert _states(trials)["COMPLETE"] == 4 and "RUNNING" not in _states(trials)


@pytest.fixture
def small_disk(tmp_path):
    """A real 200 KB tmpfs (we run as root in CI); skipped, saying why, where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mount)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_is_one_line_exit_2_a_readable_journal_and_resumable(write_space, tmp_path, small_disk):
    path = write_space()
    storage = str(small_disk / "journal.log")
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 165_000)  # leave ~36 KB (9 pages): the disk fills within a few trials
    proc = _search(path, storage, "--trials", "6")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"cannot write to {small_disk}" in err and "No space left on device" in err and "--resume" in err
    data = Path(storage).read_bytes()
    assert data.endswith(b"\n")  # no partial last record
    before = _plain(storage, "fast")  # plain Optuna reads it
    assert before and not _states(before).get("COMPLETE", 0) >= 6

    filler.unlink()  # space again (and a larger disk, for the rest of the trials)
    subprocess.run(["mount", "-o", "remount,size=20m", str(small_disk)], check=True)
    resumed = run_cli("search", str(path), "--storage", storage, "--trials", "6", "--resume", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    trials = _plain(storage, "fast")
    assert outcome.counted(outcome.trial_status(t) for t in trials) == 6
    assert "RUNNING" not in _states(trials)
    kept = {t.number: t.values for t in before if t.state.name == "COMPLETE"}
    assert {t.number: t.values for t in trials if t.number in kept} == kept
