"""Small, fast search spaces for tests (real tasks, real storages, 1-2 epochs)."""

import textwrap
from pathlib import Path

import pytest

from tests._support.spaces import FAST


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
