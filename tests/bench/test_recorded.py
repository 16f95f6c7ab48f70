"""The recorded optnas-bench results: every strategy of item 4 with its 50 repeats on both tables, and the
benchmark README is exactly what report.py writes from the committed JSON (so its numbers are those)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parents[2] / "benchmarks" / "optnas_bench"


def _script(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(HERE))  # the scripts import their sibling common.py
    spec = importlib.util.spec_from_file_location(f"optnas_bench_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_strategy_ran_its_repeats_on_both_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    search = _script("search", monkeypatch)
    recorded = json.loads((HERE / "search.json").read_text())
    screen = tuple(recorded["mnist1d"]["screen"])
    strategies = [name for name, *_ in search.configs(screen)]
    assert len(strategies) == 18 and {"gp", "gp+screen", "tpe+hyperband", "qmc+screen"} <= set(strategies)
    for table in ("mnist1d", "digits"):
        runs = json.loads((HERE / f"search_{table}.json").read_text())["runs"]
        assert recorded[table]["runs"] == runs  # search.json was selected from these
        assert sorted(runs) == sorted(strategies)
        short = {name: r["repeats"] for name, r in runs.items() if r["repeats"] < 50}
        assert not short, f"{table}: fewer than 50 repeats: {short}"
    assert recorded["selection"]["not_run"] == {"mnist1d": [], "digits": []}


def test_the_readme_is_what_report_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (HERE / "README.md").read_text()
    stamp = re.search(r"# Results \(generated (.+?) by report\.py\)", readme)
    assert stamp is not None
    assert _script("report", monkeypatch).render(stamp.group(1)) == readme, (
        "benchmarks/optnas_bench/README.md is stale: run python benchmarks/optnas_bench/report.py")
