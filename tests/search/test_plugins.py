"""Plugins: a user's algorithm, block, activation and task, in a module outside the package, through the CLI.

The module lives in a folder of its own (`user_plugin`), which is the working folder of every command and is
*not* on PYTHONPATH: the console script, its worker processes and Ray's workers find it the way optnas
arranges (the folder of the space file or of the user who names it with --plugin, the inherited sys.path,
the job's runtime environment).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest

from optnas import outcome

OPTNAS = str(Path(sys.executable).parent / "optnas")  # the console script, as users run it
CHECKOUT = str(Path(__file__).resolve().parents[2])

SPACE = """
{plugins}task: {{name: blobs, params: {{n: 240}}}}
train: {{epochs: 2, batch_size: 32, lr: 0.01}}
space:
  algorithm: [halfstep]
  block: {{gated_mlp: {{hidden: 8}}}}
  activation: [snake, wave]
  depth: {{low: 2, high: 3}}
  width: [8]
sampler: {{name: random}}
pruner: {{name: none}}
trials: 4
"""


def _cli(folder: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OPTNAS_PLUGINS")}
    env["PYTHONPATH"] = CHECKOUT  # the optnas under test; the plugin's folder stays off the path
    env["OPTNAS_LOCK_DIR"] = str(folder / "locks")
    return subprocess.run([OPTNAS, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, deadline: float) -> str:
    while True:
        try:
            return urllib.request.urlopen(url, timeout=5).read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _study(folder: Path, name: str) -> optuna.Study:
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(folder / "runs/j.log")))
    return optuna.load_study(study_name=name, storage=storage)


def _check_study(folder: Path, name: str) -> None:
    study = _study(folder, name)
    assert len(study.trials) == 4
    tally = outcome.counts(outcome.trial_status(t) for t in study.trials)
    assert tally.get("complete", 0) >= 1, tally
    for t in study.trials:
        spec = t.user_attrs["spec"]
        assert (spec["algorithm"], spec["block"]) == ("halfstep", "gated_mlp")
        assert spec["activation"] in ("snake", "wave")
    assert study.user_attrs["optnas"]["plugins"] == ["mylab_plugin"]


def _report_export_dashboard(folder: Path, name: str, plugin_flag: list[str]) -> None:
    done = _cli(folder, "report", "--storage", "runs/j.log", "--study", name, "-o", f"{name}.html", *plugin_flag)
    assert done.returncode == 0, done.stderr
    assert "gated_mlp" in (folder / f"{name}.html").read_text()
    # the study records its plugins but never imports them by itself: without a flag export names them ...
    done = _cli(folder, "export", "--storage", "runs/j.log", "--study", name, "--out", f"best-{name}")
    assert done.returncode == 2 and "--plugin mylab_plugin" in done.stderr, done.stderr
    assert not (folder / f"best-{name}").exists()
    # ... and --trust-plugins imports the study's list after printing it
    done = _cli(folder, "export", "--storage", "runs/j.log", "--study", name, "--out", f"best-{name}",
                "--trust-plugins")
    assert done.returncode == 0, done.stderr
    assert "importing the plugin modules study" in done.stderr and "'mylab_plugin'" in done.stderr
    exported = json.loads((folder / f"best-{name}" / "export.json").read_text())
    assert exported["requires"] == ["mylab_nn"] and exported["standardize"] is True
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OPTNAS_PLUGINS")}
    env["PYTHONPATH"] = CHECKOUT
    proc = subprocess.Popen(
        [OPTNAS, "dashboard", "--storage", "runs/j.log", "--port", str(port), *plugin_flag],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        assert "<title>optnas dashboard</title>" in _get(f"http://127.0.0.1:{port}/studies/{name}", deadline)
        assert "<title>optnas dashboard</title>" in _get(f"http://127.0.0.1:{port}/studies/{name}/trials/0", deadline)
        assert "leaderboard" in _get(f"http://127.0.0.1:{port}/_dash-layout", deadline)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_plugin_from_the_space_file_with_two_worker_processes(user_plugin: Path) -> None:
    (user_plugin / "space.yaml").write_text(SPACE.format(plugins="plugins: [mylab_plugin]\n"))
    done = _cli(user_plugin, "search", "space.yaml", "--jobs", "2", "--storage", "runs/j.log", "--study", "jobs",
                "--no-progress")
    assert done.returncode == 0, done.stderr
    _check_study(user_plugin, "jobs")
    _report_export_dashboard(user_plugin, "jobs", ["--plugin", "mylab_plugin"])


def test_plugin_flag_reaches_worker_processes(user_plugin: Path) -> None:
    (user_plugin / "space.yaml").write_text(SPACE.format(plugins=""))
    done = _cli(user_plugin, "search", "space.yaml", "--plugin", "mylab_plugin", "--jobs", "2",
                "--storage", "runs/j.log", "--study", "flag", "--no-progress")
    assert done.returncode == 0, done.stderr
    _check_study(user_plugin, "flag")


@pytest.mark.parametrize("where", ["file", "flag"])
def test_a_plugin_that_fails_to_import_is_one_line_naming_it(user_plugin: Path, where: str) -> None:
    plugins = "plugins: [mylab_missing]\n" if where == "file" else ""
    (user_plugin / "space.yaml").write_text(SPACE.format(plugins=plugins))
    args = ["--plugin", "mylab_missing"] if where == "flag" else []
    done = _cli(user_plugin, "search", "space.yaml", *args, "--storage", "runs/j.log")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "'mylab_missing' failed to import: ModuleNotFoundError" in done.stderr
    assert not (user_plugin / "runs").exists()  # nothing half-written


@pytest.mark.slow
def test_plugin_reaches_ray_workers_through_the_runtime_env(user_plugin: Path) -> None:
    (user_plugin / "space.yaml").write_text(SPACE.format(plugins=""))
    done = _cli(user_plugin, "search", "space.yaml", "--plugin", "mylab_plugin", "--backend", "ray",
                "--storage", "runs/j.log", "--study", "ray", "--no-progress", "--cpus-per-trial", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    _check_study(user_plugin, "ray")
    _report_export_dashboard(user_plugin, "ray", ["--plugin", "mylab_plugin"])


def test_an_installed_packages_entry_point_is_loaded_by_every_command(user_plugin: Path, tmp_path: Path) -> None:
    # what `pip install` of a package declaring [project.entry-points."optnas.plugins"] leaves on sys.path
    site = tmp_path / "site"
    info = site / "mylab_parts-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mylab-parts\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[optnas.plugins]\nmylab = mylab_plugin\n")
    for name in ("mylab_nn.py", "mylab_plugin.py"):
        (site / name).write_text((user_plugin / name).read_text())
    env = {k: v for k, v in os.environ.items() if k != "OPTNAS_PLUGINS"}
    env["PYTHONPATH"] = str(site)
    done = subprocess.run([OPTNAS, "list", "algorithms"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "halfstep" in done.stdout
