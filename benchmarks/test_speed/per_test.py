"""A pytest plugin: each test's wall and CPU seconds, appended as JSON lines (works under pytest-xdist).

CPU is this process's user + system time plus that of the child processes it waited for (a subprocess the test
ran to its end); servers it did not wait for (Ray's workers, a killed group) are not counted, and a few tests
that wait for their processes still showed none (cause not found): rank by wall, read CPU as a lower bound.
Setup and teardown count with the test, so a module fixture's cost lands on the module's first test.

    PER_TEST_OUT=/tmp/tests.jsonl PYTHONPATH=.:benchmarks/test_speed python -m pytest -n 2 --dist loadgroup \\
        -p per_test --durations=0
    python benchmarks/test_speed/top.py /tmp/tests.jsonl          # the top 40 and the sums per folder
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Generator, Iterator
from typing import Any

import pytest

OUT = os.environ.get("PER_TEST_OUT", "per_test.jsonl")


def _cpu() -> float:
    own, waited = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Generator[None, Any, None]:
    report = (yield).get_result()
    if report.failed:
        item.stash[_FAILED] = report.when


_FAILED = pytest.StashKey[str]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    cpu, wall, start = _cpu(), time.perf_counter(), time.time()
    yield
    row = {"id": item.nodeid.split("@")[0], "wall_s": round(time.perf_counter() - wall, 3),
           "cpu_s": round(_cpu() - cpu, 3), "worker": os.environ.get("PYTEST_XDIST_WORKER", "-"),
           "start": round(start, 1), "load1": round(os.getloadavg()[0], 2),
           "failed": item.stash.get(_FAILED, None)}
    with open(OUT, "a") as fh:
        fh.write(json.dumps(row) + "\n")
