"""The Ray Tune searcher of the Ray backend: it asks the user's Optuna study for trials and draws their specs.

`OptunaBridge.suggest` asks the study (its own sampler), draws the spec with the trial lifecycle's `draw`
(certified, or recorded as a failed trial with its conditions, and the next one asked), takes the trial's
lock (`optnas.search.locks`) and hands Ray a plan for the worker: the spec and its certificate (the worker
builds from it, never certifies again), the training options, the Optuna trial number. The searcher holds no
state: the study is the search's state (`session`).

Example:
    >>> tune.TuneConfig(search_alg=OptunaBridge(), num_samples=-1)     # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

import optuna
from ray.tune.search import Searcher

from ...certify import Certificate
from ...errors import StorageWriteError
from ...spec import ArchSpec
from ..lifecycle import Lifecycle, TrialEnd, record, tell
from ..locks import claim_lock
from ..space import UncertifiedDraw
from .cluster import checkpoint_interval
from .session import Session, bound
from .tally import reconcile
from .worker import CHECKPOINT_EVERY_S

log = logging.getLogger("optnas.search")


class OptunaBridge(Searcher):
    """Ray Tune searcher over the user's Optuna study (see the module docstring); stateless between runs."""

    def __init__(self) -> None:
        super().__init__(metric=None, mode=None)

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:  # type: ignore[override]  # FINISHED is a str
        return next_config(bound(), trial_id)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        """Nothing: `StudyWriter` records the trial, with the Ray trial's checkpoint and error at hand."""

    def save(self, checkpoint_path: str) -> None:
        # the study holds the search's state; this marker only lets Tune's restore find a searcher file
        Path(checkpoint_path).write_text(json.dumps({"searcher": "optnas", "state": "in the Optuna study"}))

    def restore(self, checkpoint_path: str) -> None:
        """Nothing to restore: the study is read live."""


def next_config(session: Session, ray_trial_id: str) -> dict[str, Any] | str | None:
    """A plan for a new Ray trial, ``Searcher.FINISHED`` once the target is in sight, or None (not yet)."""
    if not session.reconciled:
        return None
    if session.deadline is not None and time.monotonic() >= session.deadline:
        return Searcher.FINISHED
    study, life = session.study, session.lifecycle()
    with session.timed("suggest"):
        while True:
            with claim_lock(session.url, study.study_name):
                # the driver's own counts (`tally`): no read of the study, whatever its size
                if session.due() >= session.target and _finished(session):
                    return Searcher.FINISHED
                # drawn as a draft, then written whole (`ask`): no read of the running trials, one write;
                # under the claim lock until held, so that no sweep on this machine takes it for a dead one
                trial = session.asking().ask()
                ray_record = {"trial_id": ray_trial_id, "experiment": session.experiment}
                trial.set_user_attr("ray", ray_record)
                drawn = _draw(life, trial)
                number = session.commit(trial)
            session.ray_attrs[number] = ray_record
            if isinstance(drawn, tuple):
                spec, options, certificate = drawn
                return {"optnas": plan(session, number, spec.to_dict(), options, certificate)}
            # a draw that never reaches Ray: recorded and told (uncertified: its conditions are recorded)
            _fail_draw(session, number, TrialEnd("FAIL") if drawn is None else life.error(drawn, number))


def _finished(session: Session) -> bool:
    """Whether the target is met, from a fresh read of the study: once a search, before Tune is told it is
    finished for good (trials other processes held may have ended since the last reconciliation)."""
    session.drain()  # the writer thread's tells first: none is read half-done
    reconcile(session.tally, session.study, session.locks, session.known)
    return session.due() >= session.target


def _draw(
    life: Lifecycle, trial: optuna.Trial
) -> tuple[ArchSpec, dict[str, Any], Certificate] | Exception | None:
    """The certified spec, its training options and certificate, None for an uncertified draw, or the error of
    a draw."""
    try:
        return life.draw(trial)  # the trial's one certificate: the worker builds from it
    except UncertifiedDraw:  # recorded with its conditions by suggest; the count goes on
        return None
    except StorageWriteError:
        raise
    except Exception as exc:  # a bug in one draw must not end the study (as in the optuna backend)
        return exc


def _fail_draw(session: Session, number: int, outcome: TrialEnd) -> None:
    sink = session.trial(number)
    with sink.batched():  # one transaction on an RDB: this is on Tune's control loop
        sink.set_user_attr("worker", {"host": socket.gethostname(), "pid": os.getpid()})
        record(sink, outcome, upload=None)
    tell(session.study, number, outcome)
    session.told(number)
    session.release(number, counts=True)
    session.done()


def plan(
    session: Session, number: int, spec: dict[str, Any], options: dict[str, Any], certificate: Certificate
) -> dict[str, Any]:
    """What a Ray worker gets for one trial besides the run's validated space (`worker.trainable`): the spec
    and its certificate, the training options and resources (`worker.train_trial`)."""
    cfg = session.space.config
    return {
        "number": number,
        "spec": spec,
        "certificate": certificate.to_dict(),  # JSON, as the whole plan: Tune stores it with the experiment
        "train": options,
        "epochs": cfg.train.epochs,
        "seed": session.seed,
        "device": session.device,
        "threads": session.resources.threads,
        "workers": session.resources.workers,  # > 1: data-parallel over Ray Train workers of cpu and gpu each
        "cpu": session.resources.cpu,
        "gpu": session.resources.gpu,
        "milestones": session.milestones,
        "checkpoint_every_s": checkpoint_interval(CHECKPOINT_EVERY_S),
    }

