"""Trial checkpoints of the optuna backend: a running trial's `Trainer` state in the study's artifact store.

A trial checkpoints at the end of an epoch once `interval` seconds have passed since the last one (the
``OPTNAS_CHECKPOINT_S`` environment variable, default 30; ``0``: every epoch), as a study artifact named by
the trial's ``checkpoint`` user attribute (``{"artifact_id", "epoch"}``; the previous one is removed). When
its worker dies, the sweep that fails it (a live sibling's, or ``--resume``'s: `optnas.search.liveness`)
queues a continuation: a WAITING trial with the same parameters and the dead trial's ``checkpoint``, which
the next worker trains on from that epoch (`optnas.training.Trainer.load_state_dict`: on the CPU, to the
curves of a run never interrupted). The dead trial stays ``lost`` (it does not count); its continuation
counts.

`artifact_store` is the one place that says where checkpoints live: re-point it to another store.

Example:
    >>> interval({"OPTNAS_CHECKPOINT_S": "0"})
    0.0
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from collections.abc import Mapping
from typing import Any

import optuna
import torch
from optuna.storages import BaseStorage

from ..errors import StorageWriteError, UsageError
from ..storage import artifacts

DEFAULT_INTERVAL_S = 30.0
log = logging.getLogger("optnas.search")
KEY = "checkpoint"  # the trial user attribute naming its last checkpoint


def interval(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds between a trial's checkpoints (``OPTNAS_CHECKPOINT_S``)."""
    raw = environ.get("OPTNAS_CHECKPOINT_S")
    if raw is None:
        return DEFAULT_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise UsageError(f"OPTNAS_CHECKPOINT_S={raw[:40]!r} is invalid: seconds >= 0 (0: every epoch)")
    return value


def artifact_store(store: str) -> artifacts.Store:
    """The store checkpoints go to: the study's artifact store (the one its weights use, `optnas.artifacts`)."""
    return artifacts.open_store(store)


def save(trial: optuna.Trial, storage: BaseStorage, store: str, epoch: int, state: dict[str, Any]) -> None:
    """Store ``state`` as ``trial``'s checkpoint after ``epoch`` epochs, then drop the one before it.

    A remote store's failed write skips this checkpoint (the trial goes on; a continuation would start from
    the one before); a local folder that cannot be written raises `StorageWriteError`, as weights do."""
    opened = artifact_store(store)
    before = trial.user_attrs.get(KEY)
    with tempfile.TemporaryDirectory(prefix="optnas-trial-ckpt-") as tmp:
        path = os.path.join(tmp, "trainer.pt")
        try:
            torch.save(state, path)
        except OSError as exc:
            raise StorageWriteError(tmp, exc) from None
        try:
            artifact_id = opened.upload(path, trial, storage)
        except artifacts.ArtifactWriteError as exc:
            log.warning("trial %d: checkpoint after epoch %d not stored: %s", trial.number, epoch, exc)
            return
    trial.set_user_attr(KEY, {"artifact_id": artifact_id, "epoch": epoch})
    if isinstance(before, dict) and before.get("artifact_id"):
        with contextlib.suppress(Exception):  # a stale file costs disk only; the attribute names the new one
            opened.store.remove(before["artifact_id"])


def load(store: str, checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The state a ``checkpoint`` attribute names."""
    data = artifact_store(store).read(checkpoint["artifact_id"])
    if data is None:
        raise FileNotFoundError(f"checkpoint {checkpoint['artifact_id']} is not in artifact store {store}")
    return dict(torch.load(io.BytesIO(data), map_location="cpu", weights_only=True))


def continue_dead(study: optuna.Study, dead: optuna.trial.FrozenTrial) -> bool:
    """Queue the continuation of a dead trial that has a checkpoint; whether it had one."""
    checkpoint = dead.user_attrs.get(KEY)
    if not isinstance(checkpoint, dict):
        return False
    study.enqueue_trial(
        dead.params, user_attrs={KEY: checkpoint, "continues": dead.number}, skip_if_exists=False
    )
    return True
