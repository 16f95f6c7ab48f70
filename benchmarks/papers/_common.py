"""Shared by the papers' benchmark scripts: atomic writes, the machine line, the output files.

Each script puts this folder on its import path (``sys.path``) and imports it as ``_common``.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["machine", "no_nan", "reproduce_lines", "write_atomic", "write_csv", "write_outputs"]


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` at once (a reader sees the old file or the new one, never a part)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """``rows`` as CSV (columns of the first row), written atomically."""
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, newline="", suffix=".csv") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    os.chmod(fh.name, 0o644)
    os.replace(fh.name, path)


def machine(threads: int) -> str:
    return (f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPUs (shared with other jobs), "
            f"Python {platform.python_version()}, torch {torch.__version__}, {threads} torch thread(s), no GPU")


def no_nan(value: Any) -> Any:
    """``value`` with NaN floats as None (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [no_nan(v) for v in value]
    return None if isinstance(value, float) and np.isnan(value) else value


def write_outputs(
    out: Path, data: dict[str, Any], figure: Callable[[dict[str, Any]], Any], readme: Callable[[dict[str, Any]], str],
    *, reread: bool = False,
) -> None:
    """results.json (strict JSON), then figure.html (``figure(data)``, a Plotly figure) and README.md.

    ``reread``: the figure and README read the data back from results.json (NaN then reads as None)."""
    write_atomic(out / "results.json", json.dumps(data, indent=1, allow_nan=False) + "\n")
    if reread:
        data = json.loads((out / "results.json").read_text())
    write_atomic(out / "figure.html", figure(data).to_html(include_plotlyjs=True, div_id="figure"))
    write_atomic(out / "README.md", readme(data))


def reproduce_lines(data: dict[str, Any]) -> list[str]:
    """A training benchmark's README opening after its title: the command that wrote it, the date, the machine,
    the runs and the load they ran under (``data``: its results.json)."""
    return [
        "Reproduce from the repository root (the numbers below are written by this command from `results.json`):",
        "",
        "```", data["command"], "```", "",
        f"Date: {data['date']}. Machine: {data['machine']}. {len(data['runs'])} runs, "
        f"{data['train_wall_s'] / 60:.1f} min of training in all (1-min load average {data['load_average'][0]} at "
        f"the start, {data['load_average'][1]} at the end: times are inflated by other jobs, metrics are not).",
    ]
