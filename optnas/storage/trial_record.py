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
from collections.abc import Iterable
from typing import Any

import optuna

from . import artifacts
from .artifacts import Store

BULK = ("curves", "init_record")  # the attributes that move to the artifact
KEY = "record"  # the user attribute holding the artifact id
FILE = "record.json"


def pack(attrs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``attrs`` split into (small attributes, bulk) — bulk is empty when the record has none."""
    small = {k: v for k, v in attrs.items() if k not in BULK}
    return small, {k: attrs[k] for k in BULK if k in attrs}


def bulk(attrs: dict[str, Any], store: Store | str | None) -> dict[str, Any]:
    """The bulk record of a trial with user attributes ``attrs`` (artifact or inline); missing keys are None.

    ``store``: the study's artifact store (`optnas.storage.artifacts.of_study`) or its URL. An artifact the store does
    not hold (a file deleted) reads as no record: the results table, the dashboard and the dominance rule go
    on with the rest. A store that cannot be read (not mounted, no credentials) raises
    `optnas.storage.artifacts.ArtifactStoreError`: never a silent "no curves"."""
    found: dict[str, Any] = {}
    artifact = attrs.get(KEY)
    if isinstance(artifact, str) and store:
        found = _read(artifacts.open_store(store) if isinstance(store, str) else store, artifact)
    return {k: found.get(k, attrs.get(k)) for k in BULK}


def _read(store: Store, artifact: str) -> dict[str, Any]:
    raw = store.read(artifact)
    if raw is None:
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        return {}
    return data if isinstance(data, dict) else {}


def ids(trials: Iterable[Any]) -> list[str]:
    """The record artifacts of ``trials`` (for `optnas.storage.artifacts.Store.prefetch`)."""
    return [a for t in trials if isinstance(a := t.user_attrs.get(KEY), str)]


def merged(attrs: dict[str, Any], store: Store | str | None) -> dict[str, Any]:
    """``attrs`` with its bulk record read back in (what the dominance rule and old readers expect)."""
    if not isinstance(attrs.get(KEY), str):
        return attrs
    return {**attrs, **{k: v for k, v in bulk(attrs, store).items() if v is not None}}


def full(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """``trial``'s user attributes with its bulk record read back, from ``study``'s recorded artifact store."""
    return merged(trial.user_attrs, artifacts.of_study(study.user_attrs.get("optnas")))
