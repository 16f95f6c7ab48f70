"""`--backend ray --resume` refuses an experiment folder someone else could have written: Tuner.restore would
unpickle it (tuner.pkl and the rest). Real folders, real modes and owners (chown needs root)."""

import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from optnas.errors import UsageError
from optnas.search.ray.trust import check_experiment


class _Payload:
    """A tuner.pkl an attacker would plant: unpickling it creates ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def _run_folder(tmp_path: Path) -> tuple[Path, Path, Path]:
    runs = tmp_path / "runs"
    experiment = runs / "ray" / "fast"
    (experiment / "optuna-00000_abc" / "checkpoint_000000").mkdir(parents=True)
    for folder in (tmp_path, runs, runs / "ray", experiment):
        folder.chmod(0o755)
    pwned = tmp_path / "pwned"
    (experiment / "tuner.pkl").write_bytes(pickle.dumps(_Payload(pwned)))
    (experiment / "experiment_state-2026-12-01_00-00-00.json").write_text("{}")
    return runs, experiment, pwned


def _resume(space: Path, runs: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "optnas", "search", str(space), "--backend", "ray", "--resume",
         "--storage", str(runs / "journal.log"), "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )


def test_a_private_experiment_passes(tmp_path):
    _, experiment, _ = _run_folder(tmp_path)
    check_experiment(str(experiment))
    check_experiment(str(tmp_path / "nothing-there"))  # nothing to restore


@pytest.mark.parametrize("where", ["tuner.pkl", "experiment", "runs", "checkpoint"])
def test_writable_by_others_is_refused(tmp_path, where):
    runs, experiment, _ = _run_folder(tmp_path)
    target = {
        "tuner.pkl": experiment / "tuner.pkl",
        "experiment": experiment,
        "runs": runs,
        "checkpoint": experiment / "optuna-00000_abc" / "checkpoint_000000",
    }[where]
    target.chmod(stat.S_IMODE(target.stat().st_mode) | stat.S_IWOTH)
    with pytest.raises(UsageError, match=rf"--resume: {target} is writable by others \(mode \d+\)"):
        check_experiment(str(experiment))


def test_the_command_refuses_in_one_line_exit_2_and_nothing_is_unpickled(tmp_path, write_space):
    runs, experiment, pwned = _run_folder(tmp_path)
    (experiment / "tuner.pkl").chmod(0o646)
    done = _resume(write_space(), runs)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "tuner.pkl" in lines[0] and "writable by others" in lines[0], done.stderr
    assert not pwned.exists()


def test_group_writable_is_refused_but_a_sticky_tmp_above_is_fine(tmp_path):
    _, experiment, _ = _run_folder(tmp_path)
    tmp_path.chmod(0o1777)  # like /tmp: others may create files there but not replace ours
    check_experiment(str(experiment))
    experiment.chmod(0o775)
    with pytest.raises(UsageError, match="writable by its group"):
        check_experiment(str(experiment))


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root (chown)")
def test_a_file_owned_by_someone_else_is_refused(tmp_path, write_space):
    runs, experiment, pwned = _run_folder(tmp_path)
    os.chown(experiment / "tuner.pkl", 65534, 65534)  # nobody
    with pytest.raises(UsageError, match=r"tuner.pkl is owned by uid 65534, not by you"):
        check_experiment(str(experiment))
    done = _resume(write_space(), runs)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not pwned.exists()
