"""The shipped tables: export a build study to a compressed file, and load and query it as a DataFrame.

A table file is gzipped JSON ``{"meta": {...}, "rows": [...]}``, one row per (architecture, seed), written
with a fixed gzip mtime so the same study always gives the same bytes. `load` reads the package's own
files (``optnas/bench/data/NAME.json.gz``) or any path.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from ..spec import ArchSpec
from . import grid

DATA = "data"
SPEC_COLUMNS = ("algorithm", "schedule", "activation", "depth", "width")


def _files() -> dict[str, Any]:
    folder = resources.files("optnas.bench").joinpath(DATA)
    return {p.name.removesuffix(".json.gz"): p for p in folder.iterdir() if p.name.endswith(".json.gz")}


def names() -> list[str]:
    """The tables shipped with this installation.

    Example:
        >>> import optnas.bench
        >>> "mnist1d" in optnas.bench.names()
        True
    """
    return sorted(_files())


def arch_key(spec: ArchSpec | dict[str, Any]) -> str:
    """The canonical JSON of a spec: the key rows of one architecture share."""
    return (spec if isinstance(spec, ArchSpec) else ArchSpec.from_dict(spec)).to_json()


def rows_from_study(study: Any, table: grid.Table) -> list[dict[str, Any]]:
    """The table rows of a build study's valid COMPLETE trials (`build.valid`; of an architecture trained
    twice, the newest), in the order they were built."""
    import optuna

    from .build import valid

    out = []
    trials = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    newest = {arch_key(t.user_attrs["spec"]): t for t in sorted(trials, key=lambda t: t.number) if valid(t)}
    for t in sorted(newest.values(), key=lambda t: t.number):
        spec = t.user_attrs["spec"]
        for row in t.user_attrs["rows"]:
            row = _migrate(row, t.user_attrs.get("proxy_version", 1))
            out.append({
                "trial": t.number,
                "arch": arch_key(spec),
                "spec": spec,
                **{k: spec[k] for k in SPEC_COLUMNS},
                **row,
                **t.user_attrs["theory"],
                "certificate": t.user_attrs["certificate"],
                "train": table.train_kwargs(int(row["seed"])),
            })
    return out


def _migrate(row: dict[str, Any], version: int) -> dict[str, Any]:
    from .build import PROXY_BATCH

    if version < 2 and isinstance(row.get("synflow"), float):
        # version 1 fed PROXY_BATCH identical all-ones inputs: R, and so synflow, was PROXY_BATCH times larger
        row = {**row, "synflow": row["synflow"] / PROXY_BATCH}
    return row


def export(rows: list[dict[str, Any]], table: grid.Table, path: str | Path, **meta: Any) -> Path:
    """Write ``rows`` as table file ``path`` atomically (never a half-written file)."""
    path = Path(path)
    archs = {r["arch"] for r in rows}
    header = {
        "table": table.name, "rows": len(rows), "architectures": len(archs),
        "grid_architectures": len(grid.cells(table.name)), "seeds": list(table.seeds),
        "task": table.task, "epochs": table.epochs, "options": table.options, **meta,
    }
    data = json.dumps({"meta": header, "rows": rows}, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as gz:
            gz.write(data)
        os.chmod(tmp, 0o644)  # package data: readable by all, as a normal file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read(source: Any) -> dict[str, Any]:
    with source.open("rb") as fh, gzip.GzipFile(fileobj=fh) as gz:
        return json.loads(gz.read())


@lru_cache(maxsize=8)
def _cached(name: str) -> tuple[dict[str, Any], pd.DataFrame]:
    files = _files()
    if name in files:
        raw = _read(files[name])
    elif name.endswith(".json.gz") and Path(name).is_file():
        raw = _read(Path(name))
    else:
        valid = ", ".join(names())
        raise ValueError(f"unknown optnas-bench table {name!r}; valid tables: {valid} (or a .json.gz path)")
    return raw["meta"], pd.DataFrame(raw["rows"])


def load(name: str) -> pd.DataFrame:
    """Table ``name`` (or a ``.json.gz`` path): one row per (architecture, seed).

    Columns: spec (dict), arch (its JSON), the spec's algorithm/schedule/activation/depth/width, seed,
    status, val_metric, test_metric, best_val_metric, params, flops, train_s, val_curve, epoch_s,
    train_loss, the zero-cost proxies, theory_score, certificate and train (`optnas.train`'s arguments).
    ``df.attrs["meta"]`` holds the build setup and the row counts (a partial table says so there).

    Example:
        >>> import optnas.bench
        >>> df = optnas.bench.load("digits")
        >>> {"spec", "seed", "val_metric", "val_curve", "train"} <= set(df.columns)
        True
    """
    meta, df = _cached(name)
    df = df.copy()
    df.attrs["meta"] = dict(meta)
    return df


def query(name: str, spec: ArchSpec | dict[str, Any], seed: int | None = None, epoch: int | None = None) -> Any:
    """The rows of ``spec`` (every seed, or ``seed``); with ``epoch``, the validation metric after it.

    Returns a DataFrame (seed=None), a row (a Series) for one seed, or a float when ``epoch`` is given
    with a seed (a Series by seed without one). Epochs count from 0 as in `optnas.train`'s curves.

    Example:
        >>> import optnas.bench
        >>> row = optnas.bench.load("digits").iloc[0]
        >>> bool(optnas.bench.query("digits", row["spec"], seed=int(row["seed"]))["val_metric"] == row["val_metric"])
        True
    """
    df = load(name)
    rows = df[df["arch"] == arch_key(spec)]
    if rows.empty:
        raise KeyError(f"table {name!r} has no row for spec {arch_key(spec)}")
    if seed is not None:
        rows = rows[rows["seed"] == seed]
        if rows.empty:
            raise KeyError(f"table {name!r} has no seed {seed} for this spec; seeds: {sorted(df['seed'].unique())}")
    if epoch is not None:
        curve = rows["val_curve"].map(lambda c: c[epoch] if epoch < len(c) else None)
        return curve.iloc[0] if seed is not None else curve.set_axis(rows["seed"].to_list())
    return rows.iloc[0] if seed is not None else rows.reset_index(drop=True)
