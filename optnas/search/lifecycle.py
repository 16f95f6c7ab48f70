"""One trial of an optnas search, whatever runs it: draw, certify, screen, static costs, train, record, tell.

Both backends are thin drivers around this module (docs/storage.md is the record it writes):

- the optuna backend's workers run `Lifecycle.run` on an asked trial, then `record` and `tell`;
- the Ray backend draws and certifies on the driver (`Lifecycle.draw`), screens and trains on a Ray worker
  (`Lifecycle.screen` and `start` with the driver's certificate, its own resumable fit, `Lifecycle.finish`),
  and the driver calls the same `record` and `tell` with the `TrialEnd` the worker sent back.

An `TrialEnd` is the whole result of a trial: its Optuna state, values and record (user attributes). A diverged
run or an uncertified draw is a failed trial with its reason; a pruned, infeasible or predicted-untrainable
one a pruned trial; an error in one trial a failed trial with ``status: error``. None of them stops a study;
only a failed write to the storage does (`optnas.errors.StorageWriteError`).

Example:
    >>> space = SearchSpace.from_yaml("search_spaces/rings.yaml")           # doctest: +SKIP
    >>> life = Lifecycle(space)                                              # doctest: +SKIP
    >>> trial = study.ask(); outcome = life.run(trial)                       # doctest: +SKIP
    >>> outcome = record(trial, outcome, upload=up); tell(study, trial.number, outcome)  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import json
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args

import optuna
import torch
from optuna.storages import BaseStorage
from optuna.trial import TrialState
from safetensors.torch import save_model
from torch import nn

from ..build import build
from ..certify import Certificate, certify_model
from ..errors import StorageWriteError
from ..spec import ArchSpec
from ..storage import artifacts, trial_record
from ..storage.artifacts import ArtifactWriteError
from ..training import RunResult, Trainer
from ..training.metrics import count_params, flops_per_sample
from ..training.result import json_safe
from . import checkpoints, failpoints
from .dominance import DominanceRule
from .space import SearchSpace, UncertifiedDraw

log = logging.getLogger("optnas.search")


class TrialSink(Protocol):
    """Where a trial's record goes: an asked ``optuna.Trial``, or the Ray driver's `StoredTrial`."""

    @property
    def number(self) -> int: ...

    def set_user_attr(self, key: str, value: Any) -> None: ...


EndState = Literal["COMPLETE", "PRUNED", "FAIL"]  # the Optuna state a trial is told (`TrialState` names)
END_STATES: tuple[EndState, ...] = get_args(EndState)


@dataclass
class TrialEnd:
    """What one trial ended as: an Optuna state name, its objective values, its record (user attributes).

    Not `optnas.outcome`, which reads a finished trial's optnas status (``complete``, ``diverged``, ``lost``, ...)
    back from the study; a `TrialEnd` is what the lifecycle writes and tells."""

    state: EndState
    values: list[float] | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    model: nn.Module | None = field(default=None, repr=False, compare=False)  # weights of a COMPLETE trial

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without the model (the Ray worker sends it to the driver; weights travel as a file)."""
        return {"state": self.state, "values": self.values, "attrs": self.attrs}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialEnd:
        state = data["state"]
        if state not in END_STATES:
            raise ValueError(f"trial end state={state!r} is invalid; valid: {', '.join(END_STATES)}")
        return cls(state, data.get("values"), dict(data.get("attrs") or {}))


@dataclass
class Prepared:
    """What the steps before training produced: their attributes, the static costs, or an early outcome."""

    attrs: dict[str, Any]
    costs: dict[str, float]
    stop: TrialEnd | None = None


def _pruned(attrs: dict[str, Any], status: str, reason: str) -> TrialEnd:
    return TrialEnd("PRUNED", None, {**attrs, "status": status, "reason": reason})


def trained_certificate(model: Any) -> dict[str, Any] | None:
    """`optnas.certify.certify_model` of a trained network as a trial records it (None: not an optnas build).

    It replaces the draw's certificate: the record, the export and the dashboard show the network as trained
    (a learnable σ's slope, the solver budget), which the spec alone cannot tell."""
    net = getattr(model, "_orig_mod", model)  # torch.compile's wrapper holds the network
    if getattr(net, "certificate", None) is None:
        return None
    return certify_model(net).record()


class Lifecycle:
    """The steps of a trial for one search space (one per worker process; the task's data is loaded once)."""

    def __init__(self, space: SearchSpace, *, seed: int | None = None, device: str = "auto") -> None:
        self.space = space
        self.seed = space.config.seed if seed is None else seed  # the run's --seed, else the file's
        self.device = device
        self.objectives = space.objectives()
        self.task = space.task()
        cfg = space.config
        self.dominance = (
            DominanceRule(self.objectives, epochs=cfg.train.epochs, after=cfg.pruner.dominated_after)
            if len(self.objectives) > 1
            else None
        )

    # -- draw (on an asked Optuna trial: the search space is define-by-run) ------------------------------
    def draw(self, trial: optuna.Trial) -> tuple[ArchSpec, dict[str, Any], Certificate]:
        """A certified spec, its training options and its certificate; records ``spec``, ``certificate``,
        ``train``.

        Raises `UncertifiedDraw` (``status: uncertified`` and the failing conditions are recorded)."""
        spec, certificate = self.space.draw(trial)
        options = self.space.suggest_train(trial)
        cfg = self.space.config
        trial.set_user_attr("train", {**options, "epochs": cfg.train.epochs, "seed": self.seed})
        return spec, options, certificate

    # -- before training: the zero-cost screen and the static costs --------------------------------------
    def prepare(self, spec: ArchSpec, certificate: Certificate | None = None) -> Prepared:
        """`screen`, then the static costs of a network built for them (`costs`): for a caller that trains
        networks of its own (a data-parallel Ray trial's workers); a trial trained here uses `start`."""
        prepared = self.screen(spec)
        if prepared.stop is not None or not self.needs_costs:
            return prepared
        return self.costs(prepared, build(spec, self.task.input_shape, self.task.num_outputs, certificate=certificate))

    def start(
        self, spec: ArchSpec, certificate: Certificate | None, options: dict[str, Any], prepared: Prepared,
        *, device: str | None = None,
    ) -> tuple[Trainer, Prepared]:
        """The trial's one build (the trainer's network, from the draw's ``certificate``) and, when they are
        read, the static costs counted on it (``prepared.stop``: over a constraint, never trained).

        Both backends start a screened trial here: the optuna backend's `run` and the Ray worker."""
        trainer = Trainer(
            spec, self.task, seed=self.seed, device=device or self.device, certificate=certificate, **options
        )
        if self.needs_costs:
            prepared = self.costs(prepared, trainer.model)
        return trainer, prepared

    @property
    def needs_costs(self) -> bool:
        """Whether the static costs are read: several objectives, or a constraint on them."""
        c = self.space.config.constraints
        return len(self.objectives) > 1 or c.max_params is not None or c.max_flops is not None

    def screen(self, spec: ArchSpec) -> Prepared:
        """The zero-cost trainability screen, when the file asks for it (a pruned outcome if it fails)."""
        attrs: dict[str, Any] = {}
        if self.space.config.trainability.skip_untrainable:
            # lazy: the effective theory loads scipy.optimize (about a second): only for a space that screens
            from .. import theory

            # tolerance 1e3: AdamW with clipping trains networks whose initial signal grows up to ~1e5x
            # (benchmarks/trainability: 2.6% false rejections at 1e3 against 26% at the default 10)
            score = theory.trainability_score(spec, input_shape=self.task.input_shape, tolerance=1e3)
            attrs["trainability"] = {"score": float(score.score), "reason": score.reason}
            if not score.predicted_trainable:
                reason = f"zero-cost score {score.score:.3g}: {score.reason}"
                return Prepared(attrs, {}, _pruned(attrs, "untrainable", reason))
        return Prepared(attrs, {})

    def costs(self, prepared: Prepared, model: nn.Module) -> Prepared:
        """Parameters and FLOPs of ``model`` (untouched: counted on a CPU copy), checked against the constraints."""
        c, attrs = self.space.config.constraints, dict(prepared.attrs)
        model = copy.deepcopy(model).cpu()  # the counted forward updates norm statistics: not the trained model's
        x = torch.zeros(1, *self.task.input_shape)
        costs = {"params": float(count_params(model)), "flops": float(flops_per_sample(model, x))}
        limits = {"params": c.max_params, "flops": c.max_flops}
        attrs["constraints"] = [costs[k] - v for k, v in limits.items() if v is not None]
        over = [f"{k}={costs[k]:.0f} > {v}" for k, v in limits.items() if v is not None and costs[k] > v]
        if over:
            return Prepared(attrs, costs, _pruned(attrs, "infeasible", "violates constraint " + ", ".join(over)))
        return Prepared(attrs, costs)

    # -- after training: the record -------------------------------------------------------------------
    def finish(self, result: RunResult, prepared: Prepared, stopped: str | None = None) -> TrialEnd:
        """The outcome of a training run (``stopped``: why an epoch callback stopped it, if one did)."""
        data = result.to_dict()
        attrs = {
            **prepared.attrs,
            "status": result.status,
            "reason": stopped if result.status == "pruned" and stopped else data["reason"],
            "metrics": data["metrics"],
            "curves": data["curves"],
            "init_record": getattr(result.model, "init_record", None),
            "device": str(result.metrics.get("device", self.device)),
        }
        trained = trained_certificate(result.model) if result.model is not None else None
        if trained is not None:  # the trained network's certificate, from its current parameters
            attrs["certificate"] = trained
        if result.status == "diverged":
            return TrialEnd("FAIL", None, attrs)
        if result.status == "pruned":
            return TrialEnd("PRUNED", None, attrs)
        values = [float(result.metrics[name]) for name, _ in self.objectives]
        return TrialEnd("COMPLETE", values, attrs, model=result.model)

    @staticmethod
    def error(exc: BaseException, number: int) -> TrialEnd:
        """A bug or an environment error in one trial: a failed trial, and the study goes on."""
        log.warning("trial %d failed: %s: %s", number, type(exc).__name__, exc)
        return TrialEnd("FAIL", None, {"status": "error", "reason": f"{type(exc).__name__}: {exc}"})

    # -- the whole trial, in this process (optuna backend) ----------------------------------------------
    def run(self, trial: optuna.Trial, storage: BaseStorage | None = None, store: str | None = None) -> TrialEnd:
        """Draw, screen, train ``trial`` with its pruner or the dominance rule; its `TrialEnd`.

        With ``storage`` and ``store`` (the artifact store's URL) the trial checkpoints
        (`optnas.search.checkpoints`), and a trial that continues a dead one starts from its checkpoint.
        Raises only a failed storage write (`StorageWriteError`, or an RDB's `StorageInternalError`)."""
        try:
            trial.set_user_attr("worker", {"host": socket.gethostname(), "pid": os.getpid()})
            spec, options, certificate = self.draw(trial)  # the trial's one certificate
            prepared = self.screen(spec)
            if prepared.stop is not None:
                return prepared.stop
            cfg = self.space.config
            trainer, prepared = self.start(spec, certificate, options, prepared)
            if prepared.stop is not None:
                return prepared.stop
            saved = trial.user_attrs.get(checkpoints.KEY)
            if isinstance(saved, dict) and store is not None:  # the continuation of a dead trial
                trainer.load_state_dict(checkpoints.load(store, saved)["trainer"])
                for step, value in enumerate(trainer.curves["val_metric"]):  # its intermediate values so far
                    if value is not None and self.dominance is None:
                        trial.report(float(value), step)
            saver = None if storage is None or store is None else _Saver(trial, storage, store, trainer)
            stopper = _EpochStopper(self, trial, prepared.costs, saver)
            result = trainer.fit(cfg.train.epochs, callback=stopper)
            if isinstance(saved, dict):
                result.metrics["resumed_from_epoch"] = int(saved["epoch"])
            return self.finish(result, prepared, stopper.reason)
        except UncertifiedDraw:
            return TrialEnd("FAIL")  # suggest recorded status, reason and certificate
        except (StorageWriteError, optuna.exceptions.StorageInternalError):
            raise
        except Exception as exc:  # a bug or an environment error in one trial must not end the study
            return self.error(exc, trial.number)


class _EpochStopper:
    """The per-epoch callback of the optuna backend: the study's pruner (one objective) or the dominance rule."""

    def __init__(
        self, life: Lifecycle, trial: optuna.Trial, costs: dict[str, float], saver: _Saver | None = None
    ) -> None:
        self.life, self.trial, self.costs, self.saver = life, trial, costs, saver
        self.reason: str | None = None
        # read once: where finished trials' curves are
        self.store = artifacts.of_study(trial.study.user_attrs.get("optnas"))

    def __call__(self, epoch: int, row: dict[str, Any]) -> bool:
        stop = self._decide(epoch, row)
        if not stop and self.saver is not None and epoch + 1 < self.life.space.config.train.epochs:
            self.saver(epoch + 1)
        return stop

    def _decide(self, epoch: int, row: dict[str, Any]) -> bool:
        if epoch == 0:
            failpoints.reach("epoch")
        value = row.get("val_metric")
        if value is None:
            return False
        if self.life.dominance is None:
            self.trial.report(float(value), epoch)
            if self.trial.should_prune():
                self.reason = f"pruned by {type(self.trial.study.pruner).__name__} at epoch {epoch}"
                return True
            return False
        done = self.trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        self.reason = self.life.dominance.check(
            epoch, float(value), self.costs, (trial_record.merged(t.user_attrs, self.store) for t in done)
        )
        return self.reason is not None


class _Saver:
    """Checkpoint the trial's trainer at the end of an epoch, at most every `checkpoints.interval` seconds."""

    def __init__(self, trial: optuna.Trial, storage: BaseStorage, store: str, trainer: Trainer) -> None:
        self.trial, self.storage, self.store, self.trainer = trial, storage, store, trainer
        self.every_s = checkpoints.interval()
        self.last = time.perf_counter()

    def __call__(self, finished: int) -> None:
        if time.perf_counter() - self.last < self.every_s:
            return
        state = {"epoch": finished, "trainer": self.trainer.state_dict()}
        checkpoints.save(self.trial, self.storage, self.store, finished, state)
        self.last = time.perf_counter()


# -- record and tell: the only writes of a trial's outcome ----------------------------------------------
Upload = Callable[[str], str]  # a weights file -> the artifact id it was stored as


def uploader(store: str, trial: optuna.Trial | optuna.trial.FrozenTrial, storage: BaseStorage) -> Upload:
    """Upload a trial's files as its Optuna artifacts in the store ``store`` names (`optnas.storage.artifacts`).

    A folder that cannot be written raises `StorageWriteError` (exit 2); a remote store's failure
    `ArtifactWriteError`, which `record` turns into a failed trial."""
    opened = artifacts.open_store(store)
    return lambda path: opened.upload(path, trial, storage)


def record(
    sink: TrialSink, outcome: TrialEnd, *, upload: Upload | None, weights_file: str | None = None
) -> TrialEnd:
    """Write ``outcome``'s record to the trial and its weights (a COMPLETE trial's), ``status`` last.

    ``weights_file``: a safetensors file already written (the Ray worker's); else the outcome's model is saved.
    Returns the outcome to tell: ``outcome``, or a failed one when its artifacts could not be stored (a
    remote store refused the write): the reason is recorded and the search goes on.
    """
    attrs, bulk = trial_record.pack(outcome.attrs)
    try:
        weights = _weights(outcome, upload, weights_file)
        if bulk and upload is not None:  # the curves as one artifact: optuna-dashboard's trial list stays narrow
            attrs[trial_record.KEY] = _upload_json(bulk, upload)
            bulk = {}
    except ArtifactWriteError as exc:
        log.warning("trial %d failed: %s", sink.number, exc)
        reason = f"its weights and curves could not be stored: {exc}"
        outcome = TrialEnd("FAIL", None, {**outcome.attrs, "status": "error", "reason": reason})
        attrs, weights = {**attrs, "status": "error", "reason": reason}, None
        attrs.pop(trial_record.KEY, None)
    attrs.update(bulk)  # kept inline when not stored as an artifact
    status = attrs.pop("status", None)
    for key, value in attrs.items():
        sink.set_user_attr(key, value)
    sink.set_user_attr("weights", weights)
    if status is not None:  # last: a trial whose record has a status has all of it
        sink.set_user_attr("status", status)
    return outcome


def _upload_json(data: dict[str, Any], upload: Upload) -> str:
    with tempfile.TemporaryDirectory(prefix="optnas-record-") as tmp:
        path = os.path.join(tmp, trial_record.FILE)
        try:
            with open(path, "w", encoding="utf-8") as f:
                json.dump(json_safe(data), f, separators=(",", ":"))
        except OSError as exc:
            raise StorageWriteError(path, exc) from None
        return upload(path)


def _weights(outcome: TrialEnd, upload: Upload | None, weights_file: str | None) -> str | None:
    if outcome.state != "COMPLETE" or upload is None:
        return None
    if weights_file is not None:
        return upload(weights_file)
    if outcome.model is None:
        return None
    with tempfile.TemporaryDirectory(prefix="optnas-weights-") as tmp:
        path = os.path.join(tmp, "model.safetensors")
        try:
            save_model(outcome.model.cpu(), path)
        except OSError as exc:
            raise StorageWriteError(path, exc) from None
        return upload(path)


def tell(study: optuna.Study, number: int, outcome: TrialEnd) -> None:
    """Tell the study the trial's state (after `record`); a trial someone already failed stays as it is."""
    failpoints.reach("before_tell")
    state = TrialState[outcome.state]
    values = outcome.values if state == TrialState.COMPLETE else None
    study.tell(number, values, state=state, skip_if_finished=True)

