"""Space files are refused at load through the CLI: exit 2, one line naming the file and key path, no file made.

Each case is a known way a bad file used to get through (issue 14: NaN accepted, 1e12 depths ending in
MemoryError trials, n_samples 1e15 a traceback, `batch_size: true` meaning 1, a negative depth running, a bad
seed or sampler parameter leaving an empty journal, a NaN depth naming no key).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests._support.cli import run_cli

BASE = """\
task: {name: rings, params: {rings: 3, n_samples: 300%(samples)s}}
train: {epochs: 1, batch_size: %(batch)s, lr: %(lr)s}
space:
  algorithm: {gd: {}}
  block: {mlp2: {hidden: %(hidden)s}}
  depth: %(depth)s
  width: %(width)s
trials: 1
seed: %(seed)s
%(extra)s
"""
GOOD = {"samples": "", "batch": "32", "lr": "1.0e-3", "hidden": "[8]", "depth": "2", "width": "[8]", "seed": "0",
        "extra": ""}

CASES = [
    ({"lr": "{low: .nan, high: 1.0}"}, "train.lr.low", "finite number"),
    ({"lr": "-1.0e-3"}, "train.lr=-0.001", "> 0"),
    ({"depth": "{low: 2, high: 1e12}"}, "space.depth.high=", "OPTNAS_MEMORY_GB"),
    ({"depth": "1000000000"}, "space.depth=1000000000", "OPTNAS_MEMORY_GB"),
    ({"width": "[1e18]"}, "space.width.0=1e+18", "OPTNAS_MEMORY_GB"),
    ({"hidden": "[100000000000000000]"}, "space.block.mlp2.hidden.0=", "OPTNAS_MEMORY_GB"),
    ({"samples": "0000000000000"}, "task.params.n_samples=", "OPTNAS_MEMORY_GB"),
    ({"batch": "true"}, "train.batch_size", "valid integer"),
    ({"depth": "{low: -3, high: 4}"}, "space.depth.low=-3", "an integer in [1,"),
    ({"depth": "[.nan]"}, "space.depth.0", "finite number"),
    ({"depth": "[.inf]"}, "space.depth.0", "finite number"),
    ({"depth": "[2.5]"}, "space.depth.0=2.5", "an integer"),
    ({"seed": "-1"}, "seed", "greater than or equal to 0"),
    ({"extra": "sampler: {name: nsgaii, params: {population_size: 1}}"}, "sampler.params", "population_size"),
    ({"extra": "sampler: {name: tpe, params: {n_startup: 3}}"}, "sampler.params", "invalid for sampler tpe"),
    ({"extra": "sampler: {name: evolution, params: {sample_size: 50}}"}, "sampler.params", "sample_size=50 is invalid"),
    ({"extra": "sampler: {name: local, params: {n_startup_trials: 0}}"}, "sampler.params", "n_startup_trials=0"),
    ({"extra": "constraints: {max_params: true}"}, "constraints.max_params", "valid integer"),
]


def _optnas(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "optnas", *argv], capture_output=True, text=True, timeout=300, cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def _check_refused(err: str, code: int, folder: Path, path: Path, key: str, rule: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, err[-2000:]
    assert len(lines) == 1 and "Traceback" not in err, err[-2000:]
    assert str(path) in lines[0] and key in lines[0] and rule in lines[0], lines[0]
    assert [p.name for p in folder.iterdir()] == ["bad.yaml"]  # no journal, no run folder


def _bad_file(tmp_path: Path, i: int, change: dict[str, str]) -> tuple[Path, Path]:
    folder = tmp_path / f"case{i}"
    folder.mkdir()
    path = folder / "bad.yaml"
    path.write_text(BASE % {**GOOD, **change})
    return folder, path


def test_bad_space_files_are_refused_before_anything_is_made(tmp_path: Path) -> None:
    """Every case through `optnas search` (in this process: `main(argv)`, what the entry point calls)."""
    for i, (change, key, rule) in enumerate(CASES):
        folder, path = _bad_file(tmp_path, i, change)
        done = run_cli("search", str(path), "--no-progress", cwd=folder)
        _check_refused(done.stderr, done.returncode, folder, path, key, rule)


def test_a_bad_space_file_is_refused_by_the_optnas_process(tmp_path: Path) -> None:
    """The smoke test of the real process: one case, `python -m optnas search`, one line and exit 2."""
    change, key, rule = CASES[0]
    folder, path = _bad_file(tmp_path, 0, change)
    done = _optnas("search", str(path), "--no-progress", cwd=folder)
    _check_refused(done.stderr, done.returncode, folder, path, key, rule)


def test_bad_seed_flag_leaves_no_journal(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(BASE % GOOD)
    result = run_cli("search", str(path), "--seed", "-5", "--no-progress", cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "--seed" in result.stderr and not (tmp_path / "optnas-runs").exists()


def test_memory_bound_is_raised_by_the_documented_variable(tmp_path: Path) -> None:
    """depth 10^5 at width 64 needs ~8 GiB of weights: refused at 1 GiB, accepted at 64 GiB, in well under a run."""
    path = tmp_path / "deep.yaml"
    path.write_text(BASE % {**GOOD, "depth": "100000", "width": "[64]", "hidden": "[64]"})
    small = run_cli("certify", str(path), cwd=tmp_path, env={"OPTNAS_MEMORY_GB": "1"})
    assert small.returncode == 2 and "needs at least" in small.stderr and "OPTNAS_MEMORY_GB=1" in small.stderr
    assert len(small.stderr.strip().splitlines()) == 1
    bad = run_cli("certify", str(path), cwd=tmp_path, env={"OPTNAS_MEMORY_GB": "lots"})
    assert bad.returncode == 2 and "OPTNAS_MEMORY_GB='lots' is invalid" in bad.stderr


def test_absurd_spec_answers_without_allocating(tmp_path: Path) -> None:
    import resource

    import optnas

    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for kw in ({"depth": 10**9}, {"width": 10**18}, {"stages": 10**6, "depth": 10**6}):
        with pytest.raises(ValueError, match="OPTNAS_MEMORY_GB"):
            optnas.certify(optnas.ArchSpec(**kw))
    with pytest.raises(ValueError, match="needs at least"):  # DenseNet-like tables grow with depth³
        optnas.certify(optnas.ArchSpec(algorithm="dense", depth=20000, width=8))
    assert time.perf_counter() - start < 30  # generous under load; the point is no allocation
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: no big allocation
