"""The optnas-bench scripts (benchmarks/optnas_bench/*.py) loaded as modules, for the tests that check what
they recorded or how they run."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parents[2] / "benchmarks" / "optnas_bench"


def bench_script(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """benchmarks/optnas_bench/``name``.py, imported fresh (its folder joins the import path for the test)."""
    monkeypatch.syspath_prepend(str(HERE))  # the scripts import their sibling common.py
    spec = importlib.util.spec_from_file_location(f"optnas_bench_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
