"""A journal is data, never code: a study written with plain Optuna that names modules to import runs nothing.

The hostile study names ``evilplug`` (a module in the working folder whose import creates a file) and
``this`` (whose import prints the Zen of Python) as its plugins. Every command that opens a study (export,
report, dashboard, `optnas.results.load`, the dashboard app) reads it without importing either; the CLI
commands refuse in one line naming the modules and how to provide them (exit 2).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

OPTNAS = str(Path(sys.executable).parent / "optnas")  # the console script, as users run it
EVIL = "import pathlib\npathlib.Path('PWNED').write_text('code ran')\n"
SPEC = {"algorithm": "gd", "block": "mlp2", "activation": "relu", "depth": 2, "width": 4}


def hostile_journal(folder: Path) -> Path:
    """A journal written with plain Optuna (no optnas code) whose study names modules as its plugins."""
    path = folder / "runs" / "journal.log"
    path.parent.mkdir(parents=True)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))
    study = optuna.create_study(study_name="evil", storage=storage, directions=["maximize"])
    study.set_user_attr("optnas", {
        "plugins": ["evilplug", "this"],
        "task": {"name": "rings", "params": {}, "input_shape": [2], "num_outputs": 3},
        "objectives": [{"name": "val_metric", "direction": "maximize"}],
    })
    study.add_trial(create_trial(
        state=TrialState.COMPLETE, values=[0.9], params={"depth": 2},
        distributions={"depth": IntDistribution(2, 3)},
        user_attrs={"spec": SPEC, "status": "complete", "metrics": {"val_metric": 0.9}, "weights": "nope"},
    ))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "evilplug.py").write_text(EVIL)
    hostile_journal(tmp_path)
    return tmp_path


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OPTNAS_PLUGINS")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])  # this checkout, not the folder
    env["OPTNAS_LOCK_DIR"] = str(folder / "locks")
    return subprocess.run([OPTNAS, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


COMMANDS = {
    "export": ["export", "--storage", "runs/journal.log", "--study", "evil", "--out", "out"],
    "report": ["report", "--storage", "runs/journal.log", "--study", "evil", "-o", "evil.html"],
    "dashboard": ["dashboard", "--storage", "runs/journal.log", "--port", "{port}"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_command_refuses_in_one_line_and_imports_nothing(folder: Path, command: str) -> None:
    done = _cli(folder, *(a.format(port=_free_port()) for a in COMMANDS[command]))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "'evilplug', 'this'" in lines[0] and "--plugin evilplug --plugin this" in lines[0]
    assert "--trust-plugins" in lines[0]
    assert not (folder / "PWNED").exists()
    assert "Beautiful is better than ugly" not in done.stdout + done.stderr
    assert not (folder / "out").exists() and not (folder / "evil.html").exists()


def test_trust_plugins_names_the_list_before_importing(folder: Path) -> None:
    done = _cli(folder, "report", "--storage", "runs/journal.log", "--study", "evil", "-o", "evil.html",
                "--trust-plugins")
    # the user said so: the list is printed first, then imported (evilplug runs, `this` prints its Zen)
    first = done.stderr.splitlines()[0]
    assert "--trust-plugins: importing the plugin modules study 'evil' names: 'evilplug', 'this'" in first
    assert (folder / "PWNED").exists()
    assert done.returncode == 0, done.stderr


def test_python_readers_import_nothing(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder)
    import optnas.results
    from optnas.dashboard import StudySource
    from optnas.dashboard.app import create_app

    before = set(sys.modules)
    df = optnas.results.load("runs/journal.log", "evil")
    assert list(df["number"]) == [0]
    app = create_app(StudySource("runs/journal.log"))
    client = app.server.test_client()
    assert client.get("/studies/evil").status_code == 200
    assert client.get("/studies/evil/trials/0").status_code == 200
    assert not {"evilplug", "this"} & (set(sys.modules) - before)
    assert not (folder / "PWNED").exists()
    assert str(folder) not in sys.path and "" not in sys.path[1:]


def test_the_current_folder_is_never_put_on_the_import_path(folder: Path) -> None:
    code = ("import os, sys, optnas.cli\n"
            "rc = optnas.cli.main(['list', 'algorithms'])\n"
            "print(os.getcwd() in sys.path)\n")
    env = {k: v for k, v in os.environ.items() if k != "OPTNAS_PLUGINS"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, "-P", "-c", code], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stdout + done.stderr
