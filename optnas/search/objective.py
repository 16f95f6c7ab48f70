"""One trial of an optnas search: draw a certified spec, screen it, train it, record everything.

Every outcome is recorded (docs/storage.md): a diverged run or an uncertified draw is a failed trial with
its reason, a pruned, infeasible or predicted-untrainable one a pruned trial; none of them stops the study.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from typing import Any

import optuna
import torch
from optuna.artifacts import FileSystemArtifactStore, upload_artifact
from safetensors.torch import save_model

from ..build import build
from ..spec import ArchSpec
from ..training import RunResult, train
from ..training.metrics import count_params, flops_per_sample
from .dominance import STATIC, Point, dominated_at_epoch
from .space import SearchSpace


class TrialFailed(Exception):
    """A trial that ran and failed (diverged): recorded as FAIL with its reason."""


def _pruned(trial: optuna.Trial, status: str, reason: str) -> optuna.TrialPruned:
    trial.set_user_attr("status", status)
    trial.set_user_attr("reason", reason)
    return optuna.TrialPruned(reason)


class Objective:
    """Callable for ``study.ask()``-ed trials; returns the objective value(s) of a completed trial."""

    def __init__(self, space: SearchSpace, *, device: str = "auto", artifact_dir: Path | None = None) -> None:
        self.space = space
        self.device = device
        self.objectives = space.objectives()
        self.task = space.task()
        self.store = FileSystemArtifactStore(str(artifact_dir)) if artifact_dir else None
        if artifact_dir:
            artifact_dir.mkdir(parents=True, exist_ok=True)

    def __call__(self, trial: optuna.Trial) -> float | list[float]:
        cfg = self.space.config
        trial.set_user_attr("worker", {"host": socket.gethostname(), "pid": os.getpid()})
        spec = self.space.suggest(trial)  # raises UncertifiedDraw, recorded by the runner
        options = self.space.suggest_train(trial)
        trial.set_user_attr("train", {**options, "epochs": cfg.train.epochs, "seed": cfg.seed})
        if cfg.trainability.skip_untrainable:
            self._screen(trial, spec)
        costs = self._static_costs(trial, spec) if self._needs_static_costs() else {}
        result = train(
            spec,
            self.task,
            epochs=cfg.train.epochs,
            seed=cfg.seed,
            device=self.device,
            callback=self._callback(trial, costs),
            **options,
        )
        self._record(trial, result)
        if result.status == "diverged":
            raise TrialFailed(result.reason or "diverged")
        if result.status == "pruned":
            raise optuna.TrialPruned(result.reason)
        self._save_weights(trial, result)
        values = [float(result.metrics[name]) for name, _ in self.objectives]
        return values[0] if len(values) == 1 else values

    # -- screening ------------------------------------------------------------------------------------
    def _screen(self, trial: optuna.Trial, spec: ArchSpec) -> None:
        from .. import theory

        # tolerance 1e3: AdamW with clipping trains networks whose initial signal grows up to ~1e5x
        # (benchmarks/trainability: 2.6% false rejections at 1e3 against 26% at the default 10)
        score = theory.trainability_score(spec, input_shape=self.task.input_shape, tolerance=1e3)
        trial.set_user_attr("trainability", {"score": float(score.score), "reason": score.reason})
        if not score.predicted_trainable:
            raise _pruned(trial, "untrainable", f"zero-cost score {score.score:.3g}: {score.reason}")

    def _needs_static_costs(self) -> bool:
        c = self.space.config.constraints
        return len(self.objectives) > 1 or c.max_params is not None or c.max_flops is not None

    def _static_costs(self, trial: optuna.Trial, spec: ArchSpec) -> dict[str, float]:
        model = build(spec, self.task.input_shape, self.task.num_outputs)
        x = torch.zeros(1, *self.task.input_shape)
        costs = {"params": float(count_params(model)), "flops": float(flops_per_sample(model, x))}
        c = self.space.config.constraints
        limits = {"params": c.max_params, "flops": c.max_flops}
        violations = [costs[k] - v for k, v in limits.items() if v is not None]
        trial.set_user_attr("constraints", violations)
        over = [f"{k}={costs[k]:.0f} > {v}" for k, v in limits.items() if v is not None and costs[k] > v]
        if over:
            raise _pruned(trial, "infeasible", "violates constraint " + ", ".join(over))
        return costs

    # -- early stopping -------------------------------------------------------------------------------
    def _callback(self, trial: optuna.Trial, costs: dict[str, float]) -> Any:
        (metric, direction), multi = self.objectives[0], len(self.objectives) > 1
        epochs = self.space.config.train.epochs
        after = int(self.space.config.pruner.dominated_after * epochs)
        cost_names = [n for n, _ in self.objectives if n in STATIC]

        def callback(epoch: int, row: dict[str, Any]) -> bool:
            value = row.get("val_metric")
            if value is None:
                return False
            if not multi:
                trial.report(float(value), epoch)
                if trial.should_prune():
                    trial.set_user_attr("reason", f"pruned by {type(trial.study.pruner).__name__} at epoch {epoch}")
                    return True
                return False
            if epoch < after:
                return False
            finished = [
                Point(t.user_attrs["curves"]["val_metric"][epoch], {c: t.user_attrs["metrics"][c] for c in cost_names})
                for t in trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
                if len(t.user_attrs.get("curves", {}).get("val_metric", [])) > epoch
            ]
            winner = dominated_at_epoch(Point(float(value), costs), finished, direction, cost_names)
            if winner is not None:
                trial.set_user_attr(
                    "reason", f"dominated at epoch {epoch} by a finished trial ({metric}, {cost_names})"
                )
                return True
            return False

        return callback

    # -- records --------------------------------------------------------------------------------------
    def _record(self, trial: optuna.Trial, result: RunResult) -> None:
        data = result.to_dict()
        trial.set_user_attr("status", result.status)
        if result.status != "pruned" or "reason" not in trial.user_attrs:
            trial.set_user_attr("reason", data["reason"])
        trial.set_user_attr("metrics", data["metrics"])
        trial.set_user_attr("curves", data["curves"])
        init_record = getattr(result.model, "init_record", None)
        trial.set_user_attr("init_record", init_record)
        trial.set_user_attr("device", str(result.metrics.get("device", self.device)))

    def _save_weights(self, trial: optuna.Trial, result: RunResult) -> None:
        if self.store is None or result.model is None:
            trial.set_user_attr("weights", None)
            return
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, f"trial-{trial.number}.safetensors")
            save_model(result.model.cpu(), path)
            artifact_id = upload_artifact(artifact_store=self.store, file_path=path, study_or_trial=trial)
        trial.set_user_attr("weights", artifact_id)
