"""Processes of one search with different lock folders (OPTNAS_LOCK_DIR) are refused in one line before they
fail each other's trials; a recorded folder nobody uses any more is replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest

from optnas.errors import UsageError
from optnas.search.locks import enter_search, hold_trial

OPTNAS = str(Path(sys.executable).parent / "optnas")
CHECKOUT = str(Path(__file__).resolve().parents[2])
SLOW = """
task: {name: rings, params: {n_samples: 3000}}
train: {epochs: 400, batch_size: 16}
space:
  algorithm: {gd: {}}
  block: {mlp2: {hidden: 8}}
  depth: 2
  width: [8]
pruner: {name: none}
trials: 2
"""


def _running(journal: Path) -> bool:
    if not journal.exists():
        return False
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    try:
        study = optuna.load_study(study_name="s", storage=storage)
    except KeyError:
        return False
    return any(t.state.name == "RUNNING" for t in study.trials)


@pytest.mark.slow  # a real search must be running: about 20 s
def test_a_resume_with_another_lock_folder_is_refused_while_the_search_runs(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(textwrap.dedent(SLOW))
    base = {**os.environ, "PYTHONPATH": CHECKOUT, "OPTNAS_TORCH_THREADS": "1"}
    run = [OPTNAS, "search", "s.yaml", "--storage", "runs/j.log", "--no-progress"]
    first = subprocess.Popen(run, cwd=tmp_path, env={**base, "OPTNAS_LOCK_DIR": str(tmp_path / "a")},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not _running(tmp_path / "runs" / "j.log"):
            assert first.poll() is None and time.monotonic() < deadline, "the first search never ran a trial"
            time.sleep(0.5)
        second = subprocess.run([*run, "--resume"], cwd=tmp_path, env={**base, "OPTNAS_LOCK_DIR": str(tmp_path / "b")},
                                capture_output=True, text=True, timeout=300, check=False)
        assert second.returncode == 2, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in second.stderr, second.stderr
        assert str(tmp_path / "a") in lines[0] and str(tmp_path / "b") in lines[0], lines
        assert f"OPTNAS_LOCK_DIR={tmp_path / 'a'}" in lines[0]
        assert _running(tmp_path / "runs" / "j.log")  # the first search's trial was left alone
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=60)


def test_a_folder_nobody_uses_is_replaced_and_a_live_one_refuses(tmp_path: Path) -> None:
    study = optuna.create_study(study_name="s")
    other = tmp_path / "other"
    # the recorded folder is idle: the study moves to ours
    enter_search(study, "j.log", "s", root=str(other))
    assert list(study.user_attrs["optnas"]["lock_dirs"].values()) == [str(other.resolve())]
    # a live trial lock in the recorded folder (another process's): refused; none: accepted
    with hold_trial("j.log", "s", 0, root=str(tmp_path / "idle")):
        study.set_user_attr("optnas", {"lock_dirs": {k: str(tmp_path / "idle") for k in
                                                     study.user_attrs["optnas"]["lock_dirs"]}})
        with pytest.raises(UsageError, match="would fail each other's trials"):
            enter_search(study, "j.log", "s", root=str(tmp_path / "mine"))
    enter_search(study, "j.log", "s", root=str(tmp_path / "mine"))
    assert list(study.user_attrs["optnas"]["lock_dirs"].values()) == [str((tmp_path / "mine").resolve())]
