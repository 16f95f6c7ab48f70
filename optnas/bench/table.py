"""The shipped tables: export a build study to a compressed file, and load and query it as a DataFrame.

A table file is gzipped JSON ``{"meta": {...}, "rows": [...]}``, one row per (architecture, seed), written
with a fixed gzip mtime so the same study always gives the same bytes. `load` reads the package's own
files (``optnas/bench/data/NAME.json.gz``) or any path.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from ..spec import ArchSpec
from . import grid, quality
from .build import PROXY_BATCH, PROXY_VERSION, valid

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
    if version < 2 and isinstance(row.get("synflow"), float):
        # version 1 fed PROXY_BATCH identical all-ones inputs: R, and so synflow, was PROXY_BATCH times larger
        row = {**row, "synflow": row["synflow"] / PROXY_BATCH}
    if version < 3:
        row = {**row, "synflow": log_synflow(row.get("synflow"))}
    return row


def log_synflow(raw: Any) -> float:
    """A raw synflow sum (proxy versions 1-2) in the log domain version 3 stores: log(raw) where raw > 0,
    -inf at 0, NaN where it is NaN (the float64 forward overflowed: the raw value is lost, so unknown).

    Example:
        >>> round(log_synflow(1e300), 2), log_synflow(None)
        (690.78, nan)
    """
    if not isinstance(raw, int | float) or isinstance(raw, bool) or math.isnan(raw) or raw < 0:
        return math.nan
    return math.log(raw) if raw > 0 else -math.inf


def export(rows: list[dict[str, Any]], table: grid.Table, path: str | Path, **meta: Any) -> Path:
    """Write ``rows`` as table file ``path`` atomically (never a half-written file)."""
    path = Path(path)
    archs = {r["arch"] for r in rows}
    header = {
        "proxy_version": PROXY_VERSION,  # rows_from_study migrates every row to it
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
    meta, version = raw["meta"], int(raw["meta"].get("proxy_version", 2))
    rows = raw["rows"] if version >= 3 else [_migrate(r, version) for r in raw["rows"]]
    return {**meta, "proxy_version": max(version, 3), "stored_proxy_version": version}, pd.DataFrame(rows)


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


@lru_cache(maxsize=8)
def _architectures(name: str) -> pd.DataFrame:
    return quality.aggregate(_cached(name)[1])


def architectures(name: str) -> pd.DataFrame:
    """Table ``name`` with one row per architecture: its quality as `optnas.bench.quality` defines it.

    ``val_metric`` / ``test_metric`` are means over the seeds that trained (a diverged seed is not counted
    as 0), ``val_metric_sem`` / ``test_metric_sem`` their standard errors, ``diverged`` the share of seeds
    that diverged, ``seeds`` and ``trained`` the counts; then the spec columns and the mean of each known
    per-seed proxy and cost. `simulate`'s regret and the benchmark analyses use these numbers.

    Example:
        >>> import optnas.bench
        >>> arch = optnas.bench.architectures("digits")
        >>> len(arch) == optnas.bench.load("digits")["arch"].nunique()
        True
        >>> {"val_metric", "val_metric_sem", "diverged", "trained"} <= set(arch.columns)
        True
    """
    df = _architectures(name).copy()
    df.attrs["meta"] = dict(_cached(name)[0])
    return df


@dataclass(frozen=True)
class _Index:
    """Table ``name`` as loaded once, with each architecture's rows: what `query` reads."""

    df: pd.DataFrame
    rows: dict[str, slice | list[int]]  # arch -> its rows (every seed): a slice where they are adjacent
    row: dict[tuple[str, int], int]  # (arch, seed) -> position
    curves: list[list[float]]  # val_curve by position, read without pandas for a single value
    seeds: list[int]


@lru_cache(maxsize=8)
def _index(name: str) -> _Index:
    df = load(name)
    found: dict[str, list[int]] = {}
    row: dict[tuple[str, int], int] = {}
    for i, (arch, seed) in enumerate(zip(df["arch"], df["seed"], strict=True)):
        found.setdefault(arch, []).append(i)
        row[(arch, int(seed))] = i
    # a build writes an architecture's seeds one after another: a slice selects them without a gather
    rows = {a: slice(p[0], p[-1] + 1) if p[-1] - p[0] == len(p) - 1 else p for a, p in found.items()}
    return _Index(df, rows, row, df["val_curve"].tolist(), sorted({int(s) for s in df["seed"]}))


@lru_cache(maxsize=8)
def _arch_index(name: str) -> pd.DataFrame:
    """`architectures` indexed by arch, built at the first aggregate query only."""
    return _architectures(name).set_index("arch", drop=False)


def _arch(name: str, index: _Index, spec: ArchSpec | dict[str, Any] | str | int) -> str:
    """The ``arch`` key of a spec given as an ArchSpec, a spec dict, the table's ``arch`` string or a row index."""
    if isinstance(spec, bool):
        raise TypeError(f"spec={spec!r} is invalid: give an ArchSpec, a spec dict, an arch string or a row index")
    if isinstance(spec, int | np.integer):
        if not 0 <= spec < len(index.df):
            raise KeyError(f"table {name!r} has no row {spec}; rows: 0..{len(index.df) - 1}")
        return str(index.df["arch"].iat[int(spec)])
    if isinstance(spec, str):
        if spec in index.rows:
            return spec
        try:  # the same spec written another way (key order, spacing, defaults left out)
            return arch_key(json.loads(spec))
        except (ValueError, TypeError) as exc:
            raise KeyError(f"table {name!r} has no row for arch {spec[:200]!r} ({exc})") from None
    return arch_key(spec)


def query(
    name: str,
    spec: ArchSpec | dict[str, Any] | str | int,
    seed: int | None = None,
    epoch: int | None = None,
    aggregate: bool = False,
) -> Any:
    """The rows of an architecture (every seed, or ``seed``); with ``epoch``, the validation metric after it;
    with ``aggregate=True``, its one row of `architectures` (quality over trained seeds, standard error,
    divergence rate) as a Series.

    ``spec``: an `ArchSpec`, a spec dict (the ``spec`` column), the table's ``arch`` string, or a row index
    of ``load(name)`` (that row's architecture). Returns a DataFrame (seed=None), a row (a Series) for one
    seed, or a float when ``epoch`` is given with a seed (a Series by seed without one). Epochs count from 0
    as in `optnas.train`'s curves. The table is loaded and indexed once per process (by arch, and by arch
    and seed), so a query costs the same on any table size: it never scans or copies the table.

    Example:
        >>> import optnas.bench
        >>> df = optnas.bench.load("digits")
        >>> row = df.iloc[0]
        >>> bool(optnas.bench.query("digits", row["spec"], seed=int(row["seed"]))["val_metric"] == row["val_metric"])
        True
        >>> optnas.bench.query("digits", row["arch"]).equals(optnas.bench.query("digits", 0))
        True
        >>> q = optnas.bench.query("digits", 0, aggregate=True)
        >>> bool(q["val_metric"] == optnas.bench.query("digits", 0)["val_metric"].mean())  # no seed diverged
        True
    """
    index = _index(name)
    arch = _arch(name, index, spec)
    positions = index.rows.get(arch)
    if positions is None:
        raise KeyError(f"table {name!r} has no row for spec {arch}")
    if aggregate:
        if seed is not None or epoch is not None:
            raise ValueError("aggregate=True describes every seed of an architecture: give no seed or epoch")
        return _arch_index(name).loc[arch]
    if seed is not None:
        found = index.row.get((arch, seed)) if isinstance(seed, int | np.integer) else None
        if found is None:
            raise KeyError(f"table {name!r} has no seed {seed!r} for this spec; seeds: {index.seeds}")
        if epoch is not None:
            curve = index.curves[found]
            return curve[epoch] if epoch < len(curve) else None
        return index.df.iloc[found]
    rows = index.df.iloc[positions]
    if epoch is not None:
        return rows["val_curve"].map(lambda c: c[epoch] if epoch < len(c) else None).set_axis(rows["seed"].to_list())
    return rows.reset_index(drop=True)
