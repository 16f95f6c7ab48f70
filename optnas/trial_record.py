"""A trial's bulky record (per-epoch curves, initialisation record): kept as one Optuna artifact, read back here.

Per-epoch curves are long lists of floats; as user attributes they make optuna-dashboard's trial list several
thousand pixels wide. The trial writer (`optnas.search.lifecycle.record`) uploads them as one JSON artifact,
``record.json``, and stores only its id in the small user attribute ``record``; where no artifact store is
at hand (a trial recorded without one) they stay inline as the ``curves`` and ``init_record`` attributes, as
studies written before this change have them. `bulk` reads both (docs/storage.md).

Example:
    >>> bulk({"curves": {"val_metric": [0.5, 0.7]}}, None)["curves"]
    {'val_metric': [0.5, 0.7]}
    >>> bulk({"status": "uncertified"}, None)
    {'curves': None, 'init_record': None}
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

import optuna
from optuna.artifacts import FileSystemArtifactStore
from optuna.artifacts.exceptions import ArtifactNotFound

BULK = ("curves", "init_record")  # the attributes that move to the artifact
KEY = "record"  # the user attribute holding the artifact id
FILE = "record.json"


def pack(attrs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``attrs`` split into (small attributes, bulk) — bulk is empty when the record has none."""
    small = {k: v for k, v in attrs.items() if k not in BULK}
    return small, {k: attrs[k] for k in BULK if k in attrs}


def bulk(attrs: dict[str, Any], artifact_dir: str | None) -> dict[str, Any]:
    """The bulk record of a trial with user attributes ``attrs`` (artifact or inline); missing keys are None.

    An artifact that cannot be read (its folder moved, a file deleted) reads as no record, never an error:
    the results table, the dashboard and the dominance rule go on with the rest."""
    found: dict[str, Any] = {}
    artifact = attrs.get(KEY)
    if isinstance(artifact, str) and artifact_dir:
        found = _read(os.path.abspath(artifact_dir), artifact)
    return {k: found.get(k, attrs.get(k)) for k in BULK}


@lru_cache(maxsize=65536)  # artifacts never change once written: the dominance rule reads them every epoch
def _read_text(folder: str, artifact: str) -> str | None:
    try:
        with FileSystemArtifactStore(folder).open_reader(artifact) as f:
            return f.read().decode("utf-8")
    except (ArtifactNotFound, OSError, UnicodeDecodeError):
        return None


def _read(folder: str, artifact: str) -> dict[str, Any]:
    text = _read_text(folder, artifact)
    if text is None:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def merged(attrs: dict[str, Any], artifact_dir: str | None) -> dict[str, Any]:
    """``attrs`` with its bulk record read back in (what the dominance rule and old readers expect)."""
    if not isinstance(attrs.get(KEY), str):
        return attrs
    return {**attrs, **{k: v for k, v in bulk(attrs, artifact_dir).items() if v is not None}}


def full(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """``trial``'s user attributes with its bulk record read back, from ``study``'s recorded artifact folder."""
    meta = study.user_attrs.get("optnas") or {}
    folder = meta.get("artifact_dir") if isinstance(meta, dict) else None
    return merged(trial.user_attrs, folder if isinstance(folder, str) else None)
