"""Benchmark scripts (benchmarks/<folder>/*.py, optnas-bench's by default) loaded as modules, for the tests that
check what they recorded or how they run, or use their parts."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
HERE = BENCHMARKS / "optnas_bench"


def bench_script(name: str, monkeypatch: pytest.MonkeyPatch, folder: str = "optnas_bench") -> ModuleType:
    """benchmarks/``folder``/``name``.py, imported fresh (its folder joins the import path for the test)."""
    here = BENCHMARKS / folder
    monkeypatch.syspath_prepend(str(here))  # the scripts import their siblings (optnas_bench's common.py)
    spec = importlib.util.spec_from_file_location(f"{folder}_{name}", here / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
