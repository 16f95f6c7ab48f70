"""Time per `optnas.bench.query`: the indexed lookup against the scan it replaced, side by side in one run.

``before`` is the former implementation, copied here verbatim: each query loaded the table (a copy of its
3,834 rows) and compared every row's ``arch``. ``after`` is `optnas.bench.query`: the table loaded and
indexed once per process, then a dictionary lookup. Both answer the same queries (checked), interleaved
in rounds so machine load hits both alike; the index's one-time build is reported separately.
    python benchmarks/optnas_bench/query_speed.py   # writes query_speed.json
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

import optnas.bench
from optnas.bench import table

QUERIES = 200  # per round and kind
ROUNDS = 5


def before(name: str, spec: Any, seed: int | None = None, epoch: int | None = None) -> Any:
    """optnas.bench.query as it was (commit 7a50604): a scan over a copy of the table per query."""
    df = optnas.bench.load(name)
    rows = df[df["arch"] == table.arch_key(spec)]
    if rows.empty:
        raise KeyError(f"table {name!r} has no row for spec {table.arch_key(spec)}")
    if seed is not None:
        rows = rows[rows["seed"] == seed]
        if rows.empty:
            raise KeyError(f"table {name!r} has no seed {seed} for this spec; seeds: {sorted(df['seed'].unique())}")
    if epoch is not None:
        curve = rows["val_curve"].map(lambda c: c[epoch] if epoch < len(c) else None)
        return curve.iloc[0] if seed is not None else curve.set_axis(rows["seed"].to_list())
    return rows.iloc[0] if seed is not None else rows.reset_index(drop=True)


def _time(fn: Any, name: str, calls: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    for kw in calls:
        fn(name, **kw)
    return (time.perf_counter() - start) / len(calls) * 1e3  # ms per query


def main() -> None:
    out: dict[str, Any] = {"cpus": os.cpu_count(), "load_1min_start": os.getloadavg()[0], "queries": QUERIES,
                           "rounds": ROUNDS, "tables": {}}
    for name in optnas.bench.names():
        df = optnas.bench.load(name)  # the table file read once (cached) for both
        rng = random.Random(0)
        picks = [df.iloc[rng.randrange(len(df))] for _ in range(QUERIES)]
        kinds = {
            "every seed": [{"spec": r["spec"]} for r in picks],
            "one seed": [{"spec": r["spec"], "seed": int(r["seed"])} for r in picks],
            "one seed, epoch 4": [{"spec": r["spec"], "seed": int(r["seed"]), "epoch": 4} for r in picks],
        }
        start = time.perf_counter()
        optnas.bench.query(name, picks[0]["spec"])  # builds the index (first query in this process)
        build_ms = (time.perf_counter() - start) * 1e3
        for kw in kinds["one seed"][:20] + kinds["every seed"][:20]:  # the same answers
            old, new = before(name, **kw), optnas.bench.query(name, **kw)
            assert old.equals(new), kw
        result: dict[str, Any] = {"rows": len(df), "index_build_ms": round(build_ms, 1), "kinds": {}}
        for kind, calls in kinds.items():
            b, a = [], []
            for _ in range(ROUNDS):
                b.append(_time(before, name, calls))
                a.append(_time(optnas.bench.query, name, calls))
            result["kinds"][kind] = {"before_ms_median": round(statistics.median(b), 3),
                                     "after_ms_median": round(statistics.median(a), 4),
                                     "speedup_median": round(statistics.median(b) / statistics.median(a), 1),
                                     "before_ms_rounds": [round(v, 3) for v in b],
                                     "after_ms_rounds": [round(v, 4) for v in a]}
            print(name, kind, result["kinds"][kind]["before_ms_median"], "ms ->",
                  result["kinds"][kind]["after_ms_median"], "ms", flush=True)
        out["tables"][name] = result
    out["load_1min_end"] = os.getloadavg()[0]
    Path(__file__).with_name("query_speed.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
