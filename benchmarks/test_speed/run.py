"""Time the default test run (`python -m pytest`, the repository's default selection) folder by folder.

For each test folder: wall seconds, CPU seconds (user + system of pytest and the processes it waited for)
and the load average before and after, written to results.json. ``--checkout`` times another checkout of
the repository (its own tests, its own optnas), so a before/after pair can run side by side:

    nice python benchmarks/test_speed/run.py --label after
    nice python benchmarks/test_speed/run.py --label before --checkout /tmp/before   # git worktree add ...

On a loaded machine compare CPU seconds (wall time grows with the load, CPU time much less so).
``--whole -n 2 --dist loadgroup`` times the README's command instead: the whole default run in one pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def folders(checkout: Path) -> list[str]:
    """The test folders and top-level test files of ``checkout``, as pytest arguments."""
    tests = checkout / "tests"
    found = [p for p in sorted(tests.iterdir()) if p.is_dir() and any(p.glob("test_*.py"))]
    found += sorted(tests.glob("test_*.py"))
    return [str(p.relative_to(checkout)) for p in found]


def time_one(checkout: Path, target: str, timeout: float, extra: list[str] | None = None) -> dict:
    """Run the default selection of one folder in ``checkout``; its times, load and pytest's last line."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    load_before = os.getloadavg()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    command = [sys.executable, "-m", "pytest", target, "-p", "no:cacheprovider", *(extra or [])]
    done = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = [line for line in done.stdout.splitlines() if re.search(r"\b(passed|failed|error|skipped)\b.* in ",
                                                                       line)]
    return {
        "target": target, "exit_code": done.returncode, "wall_s": round(wall, 1),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1),
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
        "pytest": summary[-1].strip("= ") if summary else done.stdout[-300:],
    }


def time_whole(checkout: Path, pytest_args: list[str], timeout: float) -> dict:
    """The whole default selection in one pytest command (e.g. the README's, with its xdist workers)."""
    row = time_one(checkout, "tests", timeout, pytest_args)
    return {**row, "target": " ".join(["python -m pytest", *pytest_args])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the repository checkout to time")
    parser.add_argument("--label", default="after", help="the name of this run in results.json")
    parser.add_argument("--only", nargs="*", help="test folders to time (default: all)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds a folder may take")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--whole", nargs=argparse.REMAINDER, metavar="PYTEST_ARGS",
                        help="time the whole default run as one command with these pytest arguments instead "
                             "(e.g. --whole -n 2 --dist loadgroup, the README's command); must come last")
    args = parser.parse_args(argv)
    checkout = args.checkout.resolve()
    targets = args.only or folders(checkout)
    rows = []
    if args.whole is not None:
        rows.append(time_whole(checkout, args.whole, args.timeout))
        print(json.dumps(rows[-1]), flush=True)
    for target in [] if args.whole is not None else targets:
        rows.append(time_one(checkout, target, args.timeout))
        print(json.dumps(rows[-1]), flush=True)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results[args.label] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "checkout": str(checkout), "folders": rows,
        "total_wall_s": round(sum(r["wall_s"] for r in rows), 1),
        "total_cpu_s": round(sum(r["cpu_s"] for r in rows), 1),
    }
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(r["exit_code"] in (0, 5) for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
