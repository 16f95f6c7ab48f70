"""Runs (a): one throwaway PostgreSQL server, the two prefilled templates, then for each storage the code
after and before (``--before DIR``: a checkout of the code before, e.g. ``git worktree add DIR main``),
alternating, each in its own process; writes results_driver.json.

    python benchmarks/cluster_scale/bench_driver.py --before /tmp/before [--cycles 200] [--before-cycles 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent / "faults"))

from _env import postgres  # noqa: E402


def _driver(code: Path, *argv: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)}
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([sys.executable, str(HERE / "driver.py"), *argv, "--out", out.name], env=env, check=True)
        return json.loads(Path(out.name).read_text()) if Path(out.name).stat().st_size else {}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", type=Path, required=True)
    ap.add_argument("--cycles", type=int, default=200, help="suggestions of the code after (one a cycle)")
    ap.add_argument("--before-cycles", type=int, default=10)
    ap.add_argument("--tpe-cycles", type=int, default=0, help="cycles of the after code with the space's TPE")
    ap.add_argument("--storages", default="postgres,journal", help="which storages, in this order")
    ap.add_argument("--out", type=Path, default=HERE / "results_driver.json")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="optnas-scale-"))
    runs: list[dict] = []
    with postgres() as url:
        assert url is not None, "no PostgreSQL server here"
        base = url.rsplit("/", 1)[0]
        subprocess.run(["/usr/lib/postgresql/15/bin/psql", url, "-qc", "CREATE DATABASE tpl"], check=True)
        every = {"journal": str(work / "template.log"), "postgres": f"{base}/tpl"}
        templates = {kind: every[kind] for kind in args.storages.split(",")}
        for kind, template in templates.items():
            t0 = time.perf_counter()
            # the untimed prefill commits without waiting for the disk (this connection only; the runs' copies
            # of the template commit as a default server does)
            where = template + ("?options=-csynchronous_commit%3Doff" if kind == "postgres" else "")
            subprocess.run([sys.executable, str(HERE / "driver.py"), "--storage", kind, "--template", where,
                            "--prefill"], env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
            print(f"{kind} template: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        plan = [("after", ROOT, args.cycles, "random"), ("before", args.before, args.before_cycles, "random")]
        if args.tpe_cycles:
            plan.append(("after", ROOT, args.tpe_cycles, "space"))
        for label, code, cycles, sampler in plan:
            for kind, template in templates.items():
                print(f"{kind} {label} {sampler} ...", file=sys.stderr, flush=True)
                result = _driver(code, "--storage", kind, "--template", template, "--cycles", str(cycles),
                                 "--sampler", sampler)
                runs.append({**result, "storage": kind, "code": label, "pythonpath": str(code)})
                args.out.write_text(json.dumps(_doc(runs), indent=1))
    print(json.dumps(_doc(runs), indent=1))


def _doc(runs: list[dict]) -> dict:
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "study": "9,000 finished + 1,000 running trials at the start, 20 epochs each, 1,000 running throughout",
        "runs": runs,
    }


if __name__ == "__main__":
    main()
