"""Small, fast search spaces for tests (real tasks, real storages, 1-2 epochs)."""

import textwrap
from pathlib import Path

import pytest

FAST = """
task: {name: rings, params: {n_samples: 300}}
train: {epochs: 2, batch_size: 64, lr: 0.01}
space:
  algorithm: {gd: {}, heavy_ball: {beta: {low: 0.0, high: 0.9}}}
  block: {mlp2: {hidden: 8}}
  activation: [relu, tanh]
  depth: {low: 2, high: 3}
  width: [4, 8]
pruner: {name: none}
trials: 4
"""


@pytest.fixture
def write_space(tmp_path: Path):
    def write(text: str = FAST, name: str = "fast.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture(autouse=True)
def _lock_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTNAS_LOCK_DIR", str(tmp_path / "locks"))
