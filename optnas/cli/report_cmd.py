"""`optnas report [--storage URL] [--study NAME] -o report.html`: one self-contained HTML file, offline.

Example:
    $ optnas report --storage optnas-runs/journal.log --study rings -o rings.html
    wrote rings.html: study 'rings', 40 trials, 5.0 MB (plotly.js inlined; opens offline)
"""

from __future__ import annotations

import argparse

from ._trust import add_flag


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", default=None,
                        help="journal file path or RDB URL, opened read-only (default: ./optnas-runs/journal.log)")
    parser.add_argument("--study", default=None, help="the study (required when the storage holds several)")
    parser.add_argument("-o", "--output", required=True, metavar="REPORT.html",
                        help="the HTML file to write (replaced atomically if it exists)")
    add_flag(parser)


def run(args: argparse.Namespace) -> int:
    # lazy: loaded when this command runs (the parser imports every command's module)
    from optnas.dashboard.report import write_report

    done = write_report(args.storage, args.study, args.output, trust_plugins=args.trust_plugins)
    print(f"wrote {done.path}: study {done.study!r}, {done.trials} trials, {done.bytes / 1e6:.1f} MB "
          "(plotly.js inlined; opens offline)")
    return 0
