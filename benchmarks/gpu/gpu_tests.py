"""Runs the GPU tests and counts them: the ``gpu``-marked files with ``-m gpu``, then the tests that take
``--device`` (tests/conftest.py) with ``--device cuda`` (``cpu`` in the tiny check). Counts come from pytest's
JUnit XML, so a crash in collection counts as an error, never as a pass.

Example:
    >>> sorted(marked_files())[:1]   # doctest: +SKIP
    ['tests/search_ray/test_gpu.py']
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
_DEVICE_TEST = re.compile(r"def test_\w+\([^)]*\bdevice\b", re.S)


def marked_files() -> list[str]:
    """Test files holding ``gpu``-marked tests."""
    return sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").rglob("test_*.py")
                  if "pytest.mark.gpu" in p.read_text())


def device_files() -> list[str]:
    """Test files with a test taking the ``device`` fixture (run with ``--device cuda`` on a GPU)."""
    return sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").rglob("test_*.py")
                  if _DEVICE_TEST.search(p.read_text()))


def pytest_counts(args: list[str], xml: Path, timeout_s: float) -> dict[str, Any]:
    """Run pytest with ``args`` (no addopts marker filter) and count passed/failed/errors/skipped."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=--import-mode=importlib",
               f"--junitxml={xml}", *args]
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout_s,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
        tail, code = (proc.stdout + proc.stderr).strip().splitlines()[-12:], proc.returncode
    except subprocess.TimeoutExpired:
        tail, code = [f"timed out after {timeout_s:.0f} s"], None
    row: dict[str, Any] = {"args": args, "returncode": code, "wall_s": round(time.perf_counter() - start, 2)}
    if not xml.exists():
        return {**row, "passed": 0, "failed": 0, "errors": 1, "skipped": 0, "tail": tail}
    suite = ET.parse(xml).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    assert suite is not None
    tests, failed = int(suite.get("tests", 0)), int(suite.get("failures", 0))
    errors, skipped = int(suite.get("errors", 0)), int(suite.get("skipped", 0))
    failures = [f"{c.get('classname')}.{c.get('name')}" for c in suite.iter("testcase")
                if c.find("failure") is not None or c.find("error") is not None]
    return {**row, "passed": tests - failed - errors - skipped, "failed": failed, "errors": errors,
            "skipped": skipped, "failures": failures, "tail": tail[-4:]}


# the tiny check's share of the --device tests: the planted placement defect and one memory test
TINY_SELECTION = "planted or finished_run"


def run(work: Path, *, device: str, tiny: bool, deadline: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    marked = marked_files()
    left = deadline - time.monotonic()
    if device == "cuda":
        out["gpu_marked"] = {"files": marked, **pytest_counts(["-m", "gpu", *marked], work / "gpu.xml", left * 0.75)}
    else:  # a gpu-marked test fails on purpose where no CUDA device is (tests/core/test_build.py)
        out["gpu_marked"] = {"files": marked, "skipped": "no CUDA device: -m gpu selects tests that need one"}
    taking = device_files()
    left = deadline - time.monotonic()
    if taking and left > 10:
        args = ["-m", "not slow", f"--device={device}", *(["-k", TINY_SELECTION] if tiny else []), *taking]
        out["device_option"] = {"files": taking, **pytest_counts(args, work / "device.xml", left)}
    else:
        out["device_option"] = {"files": taking, "skipped": f"time budget: {left:.0f} s left"}
    return out
