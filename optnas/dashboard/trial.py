"""One trial's page content: status, spec, certificate conditions, metrics and the export command.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"number": [3], "state": ["COMPLETE"], "status": ["complete"], "weights": ["a1"]})
    >>> df.attrs.update(study="rings", storage="/runs/journal.log")
    >>> trial_detail(df, 3).export_command
    'optnas export --storage /runs/journal.log --study rings --trial 3 --out export-rings-trial-3'
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..results import METRIC_COLUMNS

EXPORTABLE = ("COMPLETE", "PRUNED")  # as optnas export: a pruned trial may still hold weights


@dataclass(frozen=True)
class ConditionRow:
    name: str
    holds: bool
    detail: str
    numerical: bool


@dataclass(frozen=True)
class TrialDetail:
    number: int
    state: str
    status: str | None
    reason: str | None
    spec: dict[str, Any] | None
    certified: bool | None
    conditions: tuple[ConditionRow, ...]
    metrics: dict[str, float | int | None]
    init_record: dict[str, Any] | None
    export_command: str | None  # None when optnas export would refuse the trial
    export_note: str  # why there is no command, or what the command needs


def trial_detail(df: pd.DataFrame, number: int) -> TrialDetail:
    """The row of trial ``number``; a number the study lacks is a ValueError naming the valid range."""
    rows = df[df["number"] == number] if len(df) else df
    if rows.empty:
        span = f"0..{int(df['number'].max())}" if len(df) else "none: the study is empty"
        raise ValueError(f"study {df.attrs.get('study')!r} has no trial {number}; its trials: {span}")
    row = rows.iloc[0].to_dict()
    cert = row.get("certificate") if isinstance(row.get("certificate"), dict) else None
    conditions = tuple(
        ConditionRow(str(c.get("name")), bool(c.get("holds")), str(c.get("detail", "")), bool(c.get("numerical")))
        for c in (cert or {}).get("conditions", [])
        if isinstance(c, dict)
    )
    metrics = {k: _clean(row.get(k)) for k in METRIC_COLUMNS if k in row}
    metrics |= {k: _clean(row.get(k)) for k in ("lr", "weight_decay", "duration_s") if k in row}
    command, note = _export(df, row)
    spec = row.get("spec")
    return TrialDetail(
        number=int(number),
        state=str(row.get("state")),
        status=row.get("status") if isinstance(row.get("status"), str) else None,
        reason=row.get("reason") if isinstance(row.get("reason"), str) else None,
        spec=spec if isinstance(spec, dict) else None,
        certified=None if cert is None else bool(cert.get("ok")),
        conditions=conditions,
        metrics=metrics,
        init_record=row.get("init_record") if isinstance(row.get("init_record"), dict) else None,
        export_command=command,
        export_note=note,
    )


def _clean(value: Any) -> float | int | None:
    if isinstance(value, bool | np.bool_):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return int(number) if isinstance(value, int | np.integer) else number


def _export(df: pd.DataFrame, row: dict[str, Any]) -> tuple[str | None, str]:
    if row.get("state") not in EXPORTABLE:
        return None, f"not exportable: the trial is {row.get('state')} ({row.get('status') or 'no status'})"
    has_weights = isinstance(row.get("weights"), str) and bool(row.get("weights"))
    if row.get("state") != "COMPLETE" and not has_weights:  # pruned/infeasible/untrainable: nothing stored
        return None, f"nothing to export: the trial is {row.get('status') or row.get('state')} and stored no weights"
    study, storage = str(df.attrs.get("study")), str(df.attrs.get("storage", ""))
    parts = ["optnas", "export", "--storage", storage, "--study", study, "--trial", str(int(row["number"])),
             "--out", f"export-{study}-trial-{int(row['number'])}"]
    weights = row.get("weights")
    note = ""
    if not isinstance(weights, str) or not weights:
        parts.append("--retrain")
        note = "stored without weights: --retrain trains the spec again with the study's task and budget"
    if "***" in storage:
        note = (note + "; " if note else "") + "the storage URL's password is hidden: put it back in --storage"
    return " ".join(shlex.quote(p) for p in parts), note
