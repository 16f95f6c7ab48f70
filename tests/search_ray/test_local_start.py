"""A local Ray whose raylet does not register within Ray's fixed 30 s is started again (a busy machine: the slow
tests' run at load 40 failed here with Ray's "timed out during startup" and a traceback)."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from optnas.search import open_storage


def _raylets(temp: str) -> list[int]:
    """The raylet processes whose session lives under ``temp`` (only this test's Ray)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not a process
            continue
        if argv[0].endswith(b"/raylet") and any(temp.encode() in a for a in argv):
            found.append(int(entry.name))
    return found


@pytest.mark.slow  # Ray's 30 s startup wait runs out once on purpose, then a search runs on the second Ray
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the raylet through /proc")
def test_a_raylet_that_never_registers_is_started_again(write_space, tmp_path):
    temp = tempfile.mkdtemp(prefix="optnas-ls-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    storage = str(tmp_path / "j.log")
    env = {**os.environ, "RAY_TMPDIR": temp}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "optnas", "search", str(write_space()), "--backend", "ray", "--storage", storage,
         "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 300
        while not (first := _raylets(temp)):  # the first raylet dies before it can register: a real fault
            assert proc.poll() is None and time.monotonic() < deadline, "no raylet started"
            time.sleep(0.05)
        for pid in first:
            os.kill(pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(temp, ignore_errors=True)
    assert proc.returncode == 0, err
    assert "did not start within Ray's 30 s (try 1 of 3); starting it again" in err
    study = optuna.load_study(study_name="fast", storage=open_storage(storage))
    assert len(study.trials) == 4 and all(t.state == TrialState.COMPLETE for t in study.trials)
