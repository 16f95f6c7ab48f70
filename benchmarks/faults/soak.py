"""Fault soak: random SIGKILLs (workers, the parent, Ray actors), cut journals and a full disk, over the journal,
PostgreSQL and Ray; after each fault the study is resumed and read with plain Optuna.

    nice python benchmarks/faults/soak.py --seed 0 --out benchmarks/faults/results.json   # ~12 min, 2 cores

Each round is one fault on a fresh study of `--trials` trials (a small rings space, ~1-3 s a trial). The
table counts, per backend and fault: faults injected, trials lost (COMPLETE right after the fault but not
after the resume, or short of the count), duplicated (finished beyond the count, or a Ray trial recorded
twice), left RUNNING after the resume, and crashes (a traceback, a resume that did not exit 0, or a study
plain Optuna cannot read). Needs root for the tmpfs (else full_disk rounds are skipped, saying why).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _env import postgres
from _faults import FAULTS, Round

SPACE = """\
task: {name: rings, params: {n_samples: 600}}
train: {epochs: 4, batch_size: 64, lr: 0.01}
space:
  algorithm: {gd: {}, heavy_ball: {beta: {low: 0.0, high: 0.9}}}
  block: {mlp2: {hidden: 8}}
  activation: [relu, tanh]
  depth: {low: 2, high: 4}
  width: [4, 8]
pruner: {name: none}
"""
# (backend, fault, rounds): the default plan, run in a seeded random order within --budget-s
PLAN = [
    ("journal", "kill_worker", 2), ("journal", "kill_parent", 1), ("journal", "cut_journal", 2),
    ("journal", "full_disk", 2), ("postgres", "kill_worker", 1), ("postgres", "kill_parent", 1),
    ("ray", "kill_ray_actor", 2), ("ray", "kill_parent", 1), ("ray", "cut_journal", 1),
]


def _machine() -> dict[str, object]:
    import optuna
    import ray
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(), "python": platform.python_version(),
            "torch": torch.__version__, "optuna": optuna.__version__, "ray": ray.__version__}


def totals(rounds: list[dict]) -> list[dict]:
    rows: dict[tuple[str, str], dict] = {}
    for rec in rounds:
        key = (rec["backend"], rec["fault"])
        row = rows.setdefault(key, {"backend": key[0], "fault": key[1], "rounds": 0, "injected": 0, "lost": 0,
                                    "duplicated": 0, "running": 0, "crashes": 0, "status_disagrees": 0})
        row["rounds"] += 1
        row["injected"] += int(bool(rec.get("injected")))
        for k in ("lost", "duplicated", "running", "status_disagrees"):
            row[k] += int(rec.get(k, 0))
        row["crashes"] += len(rec.get("crashes", []))
    return list(rows.values())


def table(rows: list[dict]) -> str:
    head = ("| backend | fault | faults injected | trials lost | duplicated | left RUNNING | crashes |\n"
            "|---|---|---|---|---|---|---|")
    body = [f"| {r['backend']} | {r['fault']} | {r['injected']} / {r['rounds']} | {r['lost']} | {r['duplicated']} | "
            f"{r['running']} | {r['crashes']} |" for r in rows]
    return "\n".join([head, *body])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trials", type=int, default=3, help="trials per round's study")
    parser.add_argument("--budget-s", type=float, default=840.0, help="start no round after this many seconds")
    parser.add_argument("--only", default="", help="comma-separated backend or backend:fault filters")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the plan's rounds (at least 1 each)")
    parser.add_argument("--out", type=Path, default=None, help="results.json to write")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    plan = [(b, f) for b, f, n in PLAN for _ in range(max(1, round(n * args.scale)))]
    if args.only:
        wanted = args.only.split(",")
        plan = [(b, f) for b, f in plan if b in wanted or f"{b}:{f}" in wanted]
    rng.shuffle(plan)
    work = Path(tempfile.mkdtemp(prefix="optnas-soak-"))
    (work / "space.yaml").write_text(SPACE)
    start = time.monotonic()
    rounds: list[dict] = []
    with postgres(start=any(b == "postgres" for b, _ in plan)) as pg_url:
        for number, (backend, fault) in enumerate(plan):
            elapsed = time.monotonic() - start
            record: dict = {"round": number, "backend": backend, "fault": fault}
            if elapsed > args.budget_s:
                record.update(injected=False, skipped="over the time budget")
            elif backend == "postgres" and pg_url is None:
                record.update(injected=False, skipped="no PostgreSQL server binaries")
            else:
                folder = work / f"round{number}"
                folder.mkdir()
                r = Round(number, backend, fault, folder, work / "space.yaml", random.Random(rng.random()), pg_url,
                          args.trials, record)
                t0 = time.monotonic()
                FAULTS[fault](r)
                record["wall_s"] = round(time.monotonic() - t0, 1)
            rounds.append(record)
            shown = {k: record.get(k) for k in ("injected", "lost", "duplicated", "running", "crashes", "wall_s",
                                                 "skipped")}
            print(f"[{time.monotonic() - start:6.0f} s] round {number} {backend}/{fault}: {shown}", flush=True)
    rows = totals(rounds)
    print(table(rows))
    if args.out:
        result = {
            "command": "python benchmarks/faults/soak.py " + " ".join(sys.argv[1:]),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": _machine(),
            "seed": args.seed,
            "trials_per_round": args.trials,
            "wall_s": round(time.monotonic() - start, 1),
            "totals": rows,
            "rounds": rounds,
        }
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    bad = sum(r["lost"] + r["duplicated"] + r["running"] + r["crashes"] for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
