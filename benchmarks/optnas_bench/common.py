"""Shared by the optnas-bench analyses: the tables as they are now, per-architecture aggregates, output."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

import optnas.bench

HERE = Path(__file__).parent
TABLES = ("mnist1d", "digits")  # the strategy is chosen on mnist1d; digits is the held-out check
PROXY_COLUMNS = ("theory_score", "synflow", "naswot", "grad_norm", "snip", "fisher", "jacob_cov", "params", "flops")
ARCH_COLUMNS = ("algorithm", "schedule", "activation", "depth", "width")


def load(name: str) -> pd.DataFrame:
    return optnas.bench.load(name)


def counts(df: pd.DataFrame) -> dict[str, Any]:
    meta = df.attrs["meta"]
    return {"rows": len(df), "architectures": int(df["arch"].nunique()),
            "grid_architectures": int(meta["grid_architectures"]),
            "complete": int(df["arch"].nunique()) == int(meta["grid_architectures"]),
            "diverged_rows": int((df["status"] != "complete").sum())}


def data_tables() -> tuple[str, ...]:
    """Every table with data in this installation, MNIST-1D first (choices are made there), then the rest
    in name order: the proxy, screen and papers analyses loop over these, so a new table is one command."""
    have = optnas.bench.names()
    return tuple(t for t in TABLES if t in have) + tuple(sorted(set(have) - set(TABLES)))


def per_arch(table: str | pd.DataFrame) -> pd.DataFrame:
    """One row per architecture of a table (its name, or its per-seed rows): `optnas.bench.architectures`,
    the one definition of quality (``val_metric`` / ``test_metric``: mean over trained seeds; ``diverged``:
    the share of seeds that diverged; standard errors apart), with ``val`` / ``test`` as short names of the
    two means."""
    arch = optnas.bench.architectures(table) if isinstance(table, str) else optnas.bench.quality.aggregate(table)
    return arch.assign(val=arch["val_metric"], test=arch["test_metric"])


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=1, default=float) + "\n")


def write_figure(path: Path, fig: Any) -> None:
    write_atomic(path, fig.to_html(include_plotlyjs=True, full_html=True, div_id="figure"))
