"""Fixtures the search, Ray and artifact test folders share; each folder's conftest imports them.

Imported into a conftest, a fixture (autouse ones too) applies to that folder only, as if written there.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests._support.spaces import FAST


@pytest.fixture
def write_space(tmp_path: Path) -> Callable[..., Path]:
    """``write(text=FAST, name="fast.yaml")``: a space file in the test's folder (``text`` dedented)."""

    def write(text: str = FAST, name: str = "fast.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture(autouse=True)
def _lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own claim-lock folder: tests never see each other's (or a live search's) locks."""
    monkeypatch.setenv("OPTNAS_LOCK_DIR", str(tmp_path / "locks"))
