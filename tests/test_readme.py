"""Every Python block of README.md runs as written, in order, after the README's first command.

The blocks run as one script (like a notebook: later blocks use earlier names) in a fresh folder holding a
copy of search_spaces/, right after ``optnas search search_spaces/rings.yaml`` ran there. The default run
shrinks the copied space files (fewer samples and epochs) and nothing else; ``-m slow`` runs the real files.
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


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def _shrink(folder: Path) -> None:
    """Small data and few epochs in the space files the README uses; the README's code is untouched."""
    for name, task_params in (("rings.yaml", {"n_samples": 300}), ("tabular.yaml", None)):
        path = folder / name
        data = yaml.safe_load(path.read_text())
        if task_params:
            data["task"]["params"].update(task_params)
        data["train"]["epochs"] = 2
        path.write_text(yaml.safe_dump(data))


def _run_readme(tmp_path: Path, small: bool) -> subprocess.CompletedProcess[str]:
    text = (ROOT / "README.md").read_text()
    assert FIRST_COMMAND in text  # the test follows the README's own first command
    shutil.copytree(ROOT / "search_spaces", tmp_path / "search_spaces")
    if small:
        _shrink(tmp_path / "search_spaces")
    env = {**os.environ, "OPTNAS_LOCK_DIR": str(tmp_path / "locks"), "OPTNAS_TORCH_THREADS": "1"}
    first = subprocess.run(
        [sys.executable, "-m", "optnas", "search", "search_spaces/rings.yaml", "--no-progress"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )
    assert first.returncode == 0, first.stderr
    blocks = python_blocks(text)
    assert len(blocks) >= 4
    (tmp_path / "readme_blocks.py").write_text("\n".join(blocks))
    return subprocess.run(
        [sys.executable, "readme_blocks.py"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )


def _check(done: subprocess.CompletedProcess[str], tmp_path: Path) -> None:
    assert done.returncode == 0, done.stderr[-3000:]
    assert "could not be cast to float" not in done.stderr  # diverged runs are failed trials with their reason
    assert (tmp_path / "best-wine" / "model.py").is_file()


def test_readme_python_blocks_run_in_order_small(tmp_path: Path) -> None:
    _check(_run_readme(tmp_path, small=True), tmp_path)


@pytest.mark.slow
def test_readme_python_blocks_run_in_order_as_written(tmp_path: Path) -> None:
    _check(_run_readme(tmp_path, small=False), tmp_path)
