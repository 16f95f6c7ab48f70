"""Shared by the optnas-bench analyses: the tables as they are now, per-architecture aggregates, output."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
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


def per_arch(df: pd.DataFrame) -> pd.DataFrame:
    """One row per architecture: mean val/test accuracy over seeds (a diverged seed counts 0: a failed
    training is worth nothing), the divergence share, the mean of each proxy (NaN proxies stay NaN)."""
    acc = df.assign(val=df["val_metric"].where(df["status"] == "complete", 0.0).astype(float),
                    test=df["test_metric"].where(df["status"] == "complete", 0.0).astype(float),
                    diverged=(df["status"] != "complete").astype(float))
    for c in PROXY_COLUMNS:
        acc[c] = pd.to_numeric(acc[c], errors="coerce").replace([np.inf, -np.inf], np.nan)
    agg = {"val": "mean", "test": "mean", "diverged": "mean", **dict.fromkeys(PROXY_COLUMNS, "mean")}
    return acc.groupby(["arch", *ARCH_COLUMNS], as_index=False).agg(agg)


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
