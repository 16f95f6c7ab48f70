"""The CLI as a new user meets it (issue 28): each rough edge found by trying it, checked through the CLI.

A misspelt key is named with the key it meant; `--resume` of a missing study makes nothing; the `best:`
line is never cut inside the spec in a pipe; `optnas list` gives whole descriptions; every command stops quietly
when stdout's reader has gone (`| head`); Optuna logs a caught `TrialFailed` in one line; the README's links
exist. Commands run in this process (`main(argv)`) except where the process is the point: the closed pipe,
which starts every command as its own process (each command's smoke test), and Optuna's log of a script.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests._support.cli import CliResult, run_cli

ROOT = Path(__file__).resolve().parents[2]

TINY = """\
task: {name: rings, params: {rings: 3, n_samples: 300}}
train: {epochs: 1, batch_size: 64, lr: 1.0e-3}
space:
  algorithm: {adams_bashforth2: {}}
  block: {mlp2: {hidden: [8]}}
  activation: [gelu]
  depth: 2
  width: [8]
objectives: [{metric: val_metric}, {metric: params}, {metric: flops}]
trials: 1
seed: 0
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(folder: Path) -> dict[str, str]:
    return {**os.environ, "OPTNAS_LOCK_DIR": str(folder / "locks"), "OPTNAS_TORCH_THREADS": "1"}


def optnas(*argv: str, cwd: Path) -> CliResult:
    """`optnas argv` run in this process (`main(argv)`); the pipe test starts each command as a process."""
    return run_cli(*argv, cwd=cwd, env={"OPTNAS_LOCK_DIR": str(cwd / "locks")})


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CliResult]:
    """A folder with tiny.yaml and the one-trial study `optnas search tiny.yaml` made there (stdout a pipe)."""
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "tiny.yaml").write_text(TINY)
    done = optnas("search", "tiny.yaml", "--no-progress", cwd=folder)
    assert done.returncode == 0, done.stderr[-2000:]
    return folder, done


def test_misspelt_top_level_key_is_named_with_the_key_it_meant(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(TINY.replace("space:", "spcae:"))
    for command in ("search", "certify"):
        done = optnas(command, str(path), cwd=tmp_path)
        (line,) = done.stderr.strip().splitlines()
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert f"{path}: spcae: unknown key (did you mean 'space'?)" in line, line
        assert "valid keys here: task, plugins, train, space," in line
        # the old message: "space: Field required (got {...the whole file...}) (and 1 more)"
        assert "rings" not in line and "more)" not in line and len(line) < 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (("  depth: 2", "  depht: 2"), "space.depht: unknown key (did you mean 'depth'?); valid keys here: algorithm,"),
        (("  depth: 2", "  depth: {low: 2, hihg: 4}"), "space.depth.hihg: unknown key (did you mean 'high'?)"),
        (("trials: 1", "trails: 1"), "trails: unknown key (did you mean 'trials'?)"),
        (("trials: 1", "zzz: 1"), "zzz: unknown key; valid keys here: task,"),
    ],
)
def test_unknown_keys_below_the_top_suggest_the_close_one(tmp_path: Path, change: tuple[str, str],
                                                           needle: str) -> None:
    from optnas.search import SearchSpace

    path = tmp_path / "bad.yaml"
    path.write_text(TINY.replace(*change))
    with pytest.raises(ValueError) as info:
        SearchSpace.from_yaml(path)
    assert needle in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("storage", [None, "sub/dir/journal.log", "sqlite:///sub/study.db"])
def test_resume_of_a_missing_study_leaves_nothing_behind(tmp_path: Path, storage: str | None) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY)
    flags = ["--storage", storage] if storage else []
    done = optnas("search", "tiny.yaml", "--resume", "--study", "nosuch", *flags, "--no-progress", cwd=tmp_path)
    (line,) = done.stderr.strip().splitlines()
    assert done.returncode == 2 and "no study named 'nosuch'" in line and "--resume" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]  # no optnas-runs/, journal or database


def test_resume_names_the_studies_an_existing_journal_holds(searched: tuple[Path, object]) -> None:
    folder, _ = searched
    before = (folder / "optnas-runs" / "journal.log").read_bytes()
    done = optnas("search", "tiny.yaml", "--resume", "--study", "nosuch", "--no-progress", cwd=folder)
    assert done.returncode == 2 and "valid: tiny" in done.stderr
    assert (folder / "optnas-runs" / "journal.log").read_bytes() == before


def test_best_line_is_never_broken_inside_the_spec_in_a_pipe(
    searched: tuple[Path, CliResult],
) -> None:
    """Too long for 80 columns, the best trial's values and its spec take a line each: never a cut mid-list."""
    _, done = searched
    lines = done.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("best:"))
    assert lines[at].startswith("best: trial 0, val_metric") and "params" in lines[at] and "flops" in lines[at]
    spec = "adams_bashforth2 constant mlp2(hidden=8) gelu depth=2 width=8"  # ArchSpec.describe
    assert lines[at].endswith(":") and lines[at + 1] == f"      {spec}"
    assert all(len(line) <= 80 for line in lines), done.stdout


def test_list_gives_whole_descriptions() -> None:
    done = optnas("list", "algorithms", cwd=ROOT)
    assert done.returncode == 0
    (ladmm,) = [line for line in done.stdout.splitlines() if line.startswith("  ladmm")]
    assert "[ours]: x+ = x + h(T(x)" in ladmm and "which the certificate checks." in ladmm
    entries = [line for line in optnas("list", cwd=ROOT).stdout.splitlines() if line.startswith("  ") and
               not line.startswith("      ")]
    assert entries and not [line for line in entries if line.endswith(":")]


def test_every_command_stops_quietly_when_stdouts_reader_is_gone(searched: tuple[Path, object]) -> None:
    """stdout is a pipe whose reading end is closed before the command starts: every write fails (EPIPE)."""
    folder, _ = searched
    (folder / "spec.json").write_text('{"algorithm": "gd"}')
    commands = [
        ["--help"], ["list"], ["list", "tasks"], ["certify", "spec.json"], ["certify", "tiny.yaml", "--json"],
        ["theory", "gelu"], ["search", "tiny.yaml", "--study", "piped", "--no-progress"],
        ["export", "--study", "tiny", "--out", "best-tiny"], ["report", "--study", "tiny", "-o", "r.html"],
        ["dashboard", "--port", str(_free_port())],
    ]
    procs = []
    for start in range(0, len(commands), 4):  # four at a time: each pays torch's import
        batch = []
        for argv in commands[start : start + 4]:
            read, write = os.pipe()
            os.close(read)
            proc = subprocess.Popen([sys.executable, "-m", "optnas", *argv], cwd=folder, env=_env(folder),
                                    stdout=write, stderr=subprocess.PIPE, text=True)
            batch.append((argv, proc))
            os.close(write)
        procs += [(argv, p.wait(timeout=300), p.communicate()[1]) for argv, p in batch]
    noisy = [(argv, err) for argv, _, err in procs if re.search("Traceback|BrokenPipe|Exception ignored", err)]
    assert not noisy
    # 141: ended as SIGPIPE ends `cat`; argparse's --help ignores a failed write itself and exits 0
    assert [(argv, code) for argv, code, _ in procs if code != (0 if argv == ["--help"] else 141)] == []


OBJECTIVE = """\
import optuna, optnas

space = optnas.SearchSpace.from_yaml("tiny.yaml")
def objective(trial):
    space.suggest(trial)
    if trial.number == 0:
        raise optnas.search.TrialFailed("diverged: loss is nan at epoch 2")
    raise KeyError("a bug in the objective")
optuna.create_study().optimize(objective, n_trials=2, catch=(optnas.search.TrialFailed, KeyError))
"""


def test_a_caught_trial_failed_is_one_log_line_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY.replace("objectives: [{metric: val_metric}, {metric: params}, "
                                                     "{metric: flops}]\n", ""))
    (tmp_path / "objective.py").write_text(OBJECTIVE)
    done = subprocess.run([sys.executable, "objective.py"], cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "Trial 0 failed with parameters:" in done.stderr
    assert "TrialFailed('diverged: loss is nan at epoch 2')" in done.stderr
    # Optuna's one line stays; the traceback goes for optnas's outcomes only, a bug keeps its traceback
    assert done.stderr.count("Traceback (most recent call last)") == 1 and "KeyError: 'a bug" in done.stderr


def test_readme_links_exist_in_the_repository() -> None:
    text = (ROOT / "README.md").read_text()
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)  # code (e.g. `T[0](x)`) is not a link
    paths = re.findall(r"`((?:\.\./|docs/|benchmarks/|search_spaces/)[^` ]*)`", text)
    paths += re.findall(r"\]\(([^)#:]+)\)", text)  # markdown links that are not URLs
    assert paths
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"README.md names paths not in the repository: {missing}"
