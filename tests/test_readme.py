"""Every Python block of README.md runs on its own, in a fresh interpreter, after the README's first command.

``optnas search search_spaces/rings.yaml`` runs once in a folder holding a copy of search_spaces/; then each
block runs alone (``python block.py``) in its own copy of that folder, so a block that uses a name it does
not import, or a file another block makes, fails here as it would for a reader who copies that block
alone. The default run shrinks the copied space files (fewer samples and epochs) and nothing else;
``-m slow`` runs the real files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FIRST_COMMAND = "pip install -c constraints.txt -e . && optnas search search_spaces/rings.yaml"
BLOCKS = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), flags=re.S | re.M)
# what a block leaves behind, checked beside its exit status: the block's first line -> a file it writes
WRITES = {"import torch\nfrom sklearn.datasets import load_wine": "best-wine/model.py"}


def _shrink(folder: Path) -> None:
    """Small data and few epochs in the space files the README uses; the README's code is untouched."""
    for name, task_params in (("rings.yaml", {"n_samples": 300}), ("tabular.yaml", None)):
        path = folder / name
        data = yaml.safe_load(path.read_text())
        if task_params:
            data["task"]["params"].update(task_params)
        data["train"]["epochs"] = 2
        path.write_text(yaml.safe_dump(data))


def _env(folder: Path) -> dict[str, str]:
    return {**os.environ, "OPTNAS_LOCK_DIR": str(folder / "locks"), "OPTNAS_TORCH_THREADS": "1"}


def _after_first_command(folder: Path, small: bool) -> Path:
    """A folder where the README's first command has run (its journal under optnas-runs/)."""
    assert FIRST_COMMAND in (ROOT / "README.md").read_text()  # the test follows the README's own first command
    shutil.copytree(ROOT / "search_spaces", folder / "search_spaces")
    if small:
        _shrink(folder / "search_spaces")
    first = subprocess.run(
        [sys.executable, "-m", "optnas", "search", "search_spaces/rings.yaml", "--no-progress"],
        cwd=folder, env=_env(folder), capture_output=True, text=True, check=False,
    )
    assert first.returncode == 0, first.stderr
    return folder


@pytest.fixture(scope="module")
def small_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _after_first_command(tmp_path_factory.mktemp("readme-small"), small=True)


@pytest.fixture(scope="module")
def real_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _after_first_command(tmp_path_factory.mktemp("readme-real"), small=False)


def _run_alone(block: str, base: Path, folder: Path) -> None:
    shutil.copytree(base, folder, ignore=shutil.ignore_patterns("locks"))
    (folder / "block.py").write_text(block)
    done = subprocess.run([sys.executable, "block.py"], cwd=folder, env=_env(folder), capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, f"README block failed alone:\n{block}\n---\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]  # a caught TrialFailed is Optuna's one line
    assert "could not be cast to float" not in done.stderr  # diverged runs are failed trials with their reason
    for first_lines, path in WRITES.items():
        if block.startswith(first_lines):
            assert (folder / path).is_file()


def test_readme_has_the_blocks_this_test_knows() -> None:
    assert len(BLOCKS) >= 5
    assert all(any(b.startswith(first) for b in BLOCKS) for first in WRITES)


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=lambda i: f"block{i}")
def test_readme_block_runs_alone_small(index: int, small_base: Path, tmp_path: Path) -> None:
    _run_alone(BLOCKS[index], small_base, tmp_path / "run")


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=lambda i: f"block{i}")
def test_readme_block_runs_alone_as_written(index: int, real_base: Path, tmp_path: Path) -> None:
    _run_alone(BLOCKS[index], real_base, tmp_path / "run")
