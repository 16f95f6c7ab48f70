"""The slowest tests and the sums per folder, from per_test.py's JSON lines, as markdown.

    python benchmarks/test_speed/top.py RUN.jsonl [--top 40] > benchmarks/test_speed/top40.md
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", type=Path)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in args.rows.read_text().splitlines() if line.strip()]
    span = max(r["start"] + r["wall_s"] for r in rows) - min(r["start"] for r in rows)
    loads = sorted(r["load1"] for r in rows)
    print(f"{len(rows)} tests, {sum(r['cpu_s'] for r in rows):.0f} CPU s in the test processes and the children "
          f"they waited for, {span:.0f} s from the first test's start to the last one's end; load average "
          f"(1 min) at test ends: median {loads[len(loads) // 2]:.1f}, range {loads[0]:.1f}-{loads[-1]:.1f}.\n")
    print(f"## The {args.top} slowest tests (wall; setup and teardown included)\n")
    print("| wall s | CPU s | worker | test |\n|---:|---:|---|---|")
    for r in sorted(rows, key=lambda r: -r["wall_s"])[: args.top]:
        print(f"| {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['worker']} | `{r['id']}` |")
    folders: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for r in rows:
        parts = r["id"].split("::")[0].split("/")
        key = "/".join(parts[:2]) if len(parts) > 2 else parts[-1]
        folders[key][0] += r["wall_s"]
        folders[key][1] += r["cpu_s"]
        folders[key][2] += 1
    print("\n## Per folder (sums over its tests)\n")
    print("| folder | tests | wall s | CPU s |\n|---|---:|---:|---:|")
    for key, (wall, cpu, n) in sorted(folders.items(), key=lambda kv: -kv[1][0]):
        print(f"| {key} | {n} | {wall:.0f} | {cpu:.0f} |")
    failed = [r["id"] for r in rows if r["failed"]]
    print(f"\nFailed: {', '.join(failed) if failed else 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
