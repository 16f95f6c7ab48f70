"""`optnas theory ACTIVATION [--param KEY=VALUE ...] [--plot out.html] [--json]`: the criticality report.

Example:
    $ optnas theory repu --param p=2
    $ optnas theory gelu --plot gelu.html --json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from optnas._output import write_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("activation", help="a registered activation name (see 'optnas list activations')")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an activation parameter, e.g. --param p=3 (repeatable)",
    )
    parser.add_argument("--plot", metavar="OUT.html", help="write a Plotly figure: kernel flow and χ against K")
    parser.add_argument("--depth", type=int, default=100, help="layers shown in the figure's kernel flow")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of text")


def parse_params(items: list[str]) -> dict[str, Any]:
    """``["p=3", "negative_slope=0.2"]`` -> ``{"p": 3, "negative_slope": 0.2}`` (JSON values, else strings)."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param {item!r} is invalid: write KEY=VALUE, e.g. --param p=3")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        params[key.strip()] = value
    return params


def _finite(value: Any) -> Any:
    # JSON has no inf/nan: write them as strings rather than emit invalid JSON
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def run(args: argparse.Namespace) -> int:
    from optnas import theory  # lazy: scipy.optimize and plotly, only when this command runs

    params = parse_params(args.param)
    plot_path = Path(args.plot) if args.plot else None
    if plot_path is not None and not plot_path.parent.resolve().is_dir():
        raise ValueError(f"--plot {args.plot!r} is invalid: directory {str(plot_path.parent)!r} does not exist")
    if args.depth < 1:
        raise ValueError(f"--depth {args.depth} is invalid: it must be >= 1")
    report = theory.criticality(args.activation, **params)
    if args.json:
        print(json.dumps(_finite(report.to_dict()), indent=2, allow_nan=False))
    else:
        print(report.format())
    if plot_path is not None:
        data = theory.theory_plot_data(args.activation, depth=args.depth, **params)
        html = theory.plot_theory(data).to_html(include_plotlyjs=True, full_html=True)
        write_file(plot_path, html, flag="--plot")
        if not args.json:
            print(f"figure            {plot_path}")
    return 0
