"""Why GP is not in the strategy comparison: what one GP search costs on a table, next to TPE and random.

    python benchmarks/optnas_bench/gp_probe.py [--tables mnist1d digits] [--trials 30] [--repeats 2]

An uncertified draw (a combination outside the certified grid) is a FAIL trial in optnas, as in a real
search (`optnas.search.lifecycle`). Optuna's GPSampler models COMPLETE trials only, so it does not learn
where the failures are and can propose the same region again; every proposal is a GP fit and an
acquisition optimisation. This records, per sampler, the asks each trial needed (``draws / trials``) and
the wall seconds per ask and per search, one process per table. Results: ``gp_probe_TABLE.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna

sys.path.insert(0, str(Path(__file__).parent))
from common import HERE, TABLES, load, write_json
from search import SAMPLERS

import optnas.bench


def probe(name: str, trials: int, repeats: int) -> dict[str, Any]:
    df = load(name)
    out: dict[str, Any] = {"table": name, "trials": trials, "repeats": repeats, "samplers": {}}
    for label in ("random", "tpe", "gp"):
        start = time.perf_counter()
        sim = optnas.bench.simulate(df, SAMPLERS[label], trials=trials, repeats=repeats, seed=0, jobs=1)
        wall = time.perf_counter() - start
        draws = sim.draws.astype(float)
        out["samplers"][label] = {
            "draws_per_repeat": draws.tolist(),
            "draws_per_trial_mean": round(float(draws.mean() / trials), 2),
            "wall_s": round(wall, 2),
            "wall_s_per_repeat": round(wall / repeats, 2),
            "ms_per_ask": round(1000 * wall / draws.sum(), 2),
            "final_regret": [round(float(v), 4) for v in sim.regret()[:, -1]],
        }
        print(f"{name} {label}: {out['samplers'][label]}", flush=True)
        write_json(HERE / f"gp_probe_{name}.json", out)
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tables", nargs="+", default=list(TABLES))
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    np.seterr(all="ignore")
    for t in args.tables:
        probe(t, args.trials, args.repeats)


if __name__ == "__main__":
    main()
