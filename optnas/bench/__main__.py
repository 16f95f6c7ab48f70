"""``python -m optnas.bench build|export|status``: build the tables, write their files, show progress.

    python -m optnas.bench build [--tables mnist1d digits] [--storage J] [--pid-file P] [--max-cells N]
    python -m optnas.bench export [--tables ...] [--storage J] [--out DIR]
    python -m optnas.bench status [--storage J]
    python -m optnas.bench snapshot [--storage J] [--out DIR]    # gzip the journal and export the tables
    python -m optnas.bench build --reverse --storage J2 --pid-file P2   # a second builder, from the end
    python -m optnas.bench merge --from J2 [--storage J]          # copy its trials into the first journal

A build restores a missing journal from its snapshot (STORAGE.gz) first, so a clone resumes a build.

Bad input (unknown table, missing storage) is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import optuna

from ..errors import UsageError
from ..storage import open_readonly
from ..storage.urls import url_scheme
from . import grid
from .build import build, check_limits, done_specs, merge, restore, snapshot, study_name
from .table import export, rows_from_study

DEFAULT_STORAGE = "benchmarks/optnas_bench/journal.log"
DEFAULT_PID = "benchmarks/optnas_bench/build.pid"
DEFAULT_OUT = str(Path(__file__).parent / "data")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m optnas.bench", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("build", "export", "status", "snapshot", "merge"):
        s = sub.add_parser(name)
        s.add_argument("--storage", default=DEFAULT_STORAGE, help="the build's Optuna journal (or RDB URL)")
        s.add_argument("--tables", nargs="+", default=sorted(grid.TABLES), help="tables (default: all)")
        if name == "build":
            s.add_argument("--pid-file", default=DEFAULT_PID)
            s.add_argument("--max-cells", type=int, default=None, help="stop after N architectures")
            s.add_argument("--max-seconds", type=float, default=None, help="stop after this wall time")
            s.add_argument("--reverse", action="store_true", help="train from the end of the build order")
        if name == "merge":
            s.add_argument("--from", dest="source", required=True, help="the second builder's journal")
        if name in ("build", "snapshot"):
            s.add_argument("--snapshot", default=None, help="gzipped journal (default: STORAGE.gz)")
        if name in ("export", "snapshot"):
            s.add_argument("--out", default=DEFAULT_OUT, help="folder of the NAME.json.gz files")
    return p


def _studies(storage: str, tables: list[str]) -> dict[str, object]:
    store = open_readonly(storage)
    return {t: optuna.load_study(study_name=study_name(t), storage=store) for t in tables}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        for t in args.tables:
            grid.get(t)
        snap = getattr(args, "snapshot", None) or args.storage + ".gz"
        if args.command == "build":
            check_limits(args.max_cells, args.max_seconds)  # before anything is restored or created
            if url_scheme(args.storage) is None and restore(args.storage, snap):
                print(f"restored {args.storage} from {snap}", flush=True)

            trained = build(args.storage, args.tables, pid_file=args.pid_file, max_cells=args.max_cells,
                            max_seconds=args.max_seconds, reverse=args.reverse,
                            log=lambda s: print(s, flush=True))
            print(f"trained {trained}")
        elif args.command == "merge":
            print(f"copied {merge(args.storage, args.source, args.tables)}")
        elif args.command == "snapshot":
            print(f"journal -> {snapshot(args.storage, snap)}")
        if args.command in ("export", "snapshot"):
            for t, study in _studies(args.storage, args.tables).items():
                rows = rows_from_study(study, grid.get(t))
                path = export(rows, grid.get(t), Path(args.out) / f"{t}.json.gz")
                print(f"{t}: {len(rows)} rows -> {path} ({path.stat().st_size / 1e6:.2f} MB)")
        elif args.command == "status":
            for t, study in _studies(args.storage, args.tables).items():
                print(f"{t}: {len(done_specs(study))}/{len(grid.cells(t))} architectures")  # type: ignore[arg-type]
    except (UsageError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
