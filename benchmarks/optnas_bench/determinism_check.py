"""Which recorded search results the seed-named studies of `simulate` change (issue 26, item 1).

Reruns some strategies of search.py with their recorded settings (50 repeats, seed 0) and compares every
field of each summary but wall_s with the committed search_<table>.json; nothing in the repository is
rewritten (the reruns go to a temporary folder). Output of the run of 2026-12-06 on the 2-core machine at
load ~30: determinism_check.txt.
    python benchmarks/optnas_bench/determinism_check.py
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import search  # noqa: E402

PLAN = {"digits": ["random+median", "random+sha", "nsga2", "random+hyperband", "tpe+hyperband"],
        "mnist1d": ["random+sha", "tpe+median", "random+hyperband", "tpe+hyperband"]}


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    for table, only in PLAN.items():
        rec = json.loads((HERE / f"search_{table}.json").read_text())
        out = tmp / f"search_{table}.json"
        shutil.copy(HERE / f"search_{table}.json", out)  # run_table(only=...) reads random's median from it
        new = search.run_table(table, rec["repeats"], rec["trials"], tuple(rec["screen"]), 50, 100, 2000,
                               out_path=out, only=only)
        for label in only:
            a, b = rec["runs"][label], new["runs"][label]
            differ = [k for k in a if k != "wall_s" and a[k] != b[k]]
            print(table, label, "DIFFERS in " + ",".join(differ) if differ else "IDENTICAL",
                  "trials_to_target", a["trials_to_target_median"], "->", b["trials_to_target_median"],
                  "reached", a["reached_share"], "->", b["reached_share"],
                  "final regret", a["final_regret_median"], "->", b["final_regret_median"], flush=True)


if __name__ == "__main__":
    main()
