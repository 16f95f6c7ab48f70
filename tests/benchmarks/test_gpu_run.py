"""benchmarks/gpu/run.py end to end at its tiny size on the CPU, so the GPU benchmark cannot rot between GPU
turns: every section runs, results.json has the keys the README reports from, every measured number is finite
and positive, and the file is copied to $OUT."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "benchmarks" / "gpu" / "run.py"


def _run(tmp_path: Path, *args: str) -> dict[str, Any]:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    results = tmp_path / "results.json"
    env = {**os.environ, "OUT": str(out_dir), "OPTNAS_LOCK_DIR": str(tmp_path / "locks")}
    # a wall budget far above the tiny run's (300 s, shared by the sections): these tests check that every section
    # runs and writes its keys, and a loaded machine (or a second pytest-xdist worker) must not make a section
    # skip for time; the budget is a cap, so a quiet run takes as long as before
    proc = subprocess.run([sys.executable, str(RUN), "--tiny", "--device", "cpu", "--budget-s", "1800", "--out",
                           str(results), *args], capture_output=True, text=True, timeout=2400, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (out_dir / "results.json").read_text() == results.read_text()
    return json.loads(results.read_text())


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def test_tiny_run_writes_every_section(tmp_path: Path) -> None:
    record = _run(tmp_path, "--packing", "optuna")
    assert {"device", "versions", "peak", "gpu_tests", "throughput", "packing"} <= set(record)
    assert record["tiny"] is True and record["device"]["type"] == "cpu"
    assert {"torch", "cuda", "python", "optuna"} <= set(record["versions"])
    assert _positive(record["peak"]["matmul_tflops_measured"]) and _positive(record["peak"]["mfu_peak_tflops"])

    tests = record["gpu_tests"]
    assert "skipped" in tests["gpu_marked"] and tests["gpu_marked"]["files"]  # -m gpu needs CUDA
    device_run = tests["device_option"]
    assert device_run["passed"] >= 2 and device_run["failed"] == device_run["errors"] == 0

    runs = record["throughput"]["runs"]
    blocks = {(r["block"], r["corner"]) for r in runs}
    assert blocks == {(b, c) for b in ("preact_conv", "convnext") for c in ("narrow_deep", "wide_shallow")}
    measured = [r for r in runs if "images_per_s" in r]
    assert measured and all("skipped" in r for r in runs if r not in measured)
    assert not [r for r in runs if "error" in r]
    for r in measured:
        for key in ("images_per_s", "mfu", "achieved_tflops", "flops_per_step", "seconds", "steps"):
            assert _positive(r[key]), (key, r)
    summary = record["throughput"]["summary"]
    assert _positive(summary["best_mfu"]["mfu"]) and summary["speedup_over_fp32_eager"]

    optuna_run = record["packing"]["runs"]["optuna_jobs_2"]
    assert optuna_run["returncode"] == 0 and optuna_run["trials_complete"] == 2
    assert _positive(optuna_run["trials_per_hour"]) and _positive(optuna_run["wall_s"])


@pytest.mark.slow
def test_tiny_ray_packing_run(tmp_path: Path) -> None:
    record = _run(tmp_path, "--sections", "packing", "--packing", "ray")
    ray_run = record["packing"]["runs"]["ray_cpu"]
    assert ray_run["returncode"] == 0 and ray_run["trials_complete"] == 2, ray_run
    assert _positive(ray_run["trials_per_hour"]) and ray_run["devices"] == ["cpu"]
    assert record["gpu_tests"] == {"skipped": "not asked for (--sections)"}
