"""Fixtures for export tests: perturbed networks and a real stored study (journal, attributes, artifacts)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch
from optuna.artifacts import FileSystemArtifactStore, upload_artifact
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from safetensors.torch import save_model
from torch import nn

import optnas
from optnas.training.result import json_safe

RINGS = {"name": "rings", "params": {"n_samples": 300}}
TRAIN = {"epochs": 1, "lr": 3e-3, "batch_size": 64, "latency_repeats": 1}


def perturb(net: nn.Module, seed: int = 0, scale: float = 0.1) -> nn.Module:
    """Move every parameter and float buffer away from its initial value (BN variances stay positive)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))
        for name, b in net.named_buffers():
            if not b.is_floating_point():
                continue
            if name.endswith("running_var"):
                b.mul_(1.0 + 0.5 * torch.rand(b.shape, generator=g))
            else:
                b.add_(scale * torch.randn(b.shape, generator=g))
    return net.eval()


def built(spec: optnas.ArchSpec, shape: tuple[int, ...], outputs: int = 3, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return perturb(optnas.build(spec, shape, outputs), seed)


class StudyMaker:
    """Writes a study the way `optnas search` does (docs/storage.md), with real artifacts."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.journal = root / "journal.log"
        self.artifacts = root / "artifacts"
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.storage = JournalStorage(JournalFileBackend(str(self.journal)))
        self.models: dict[tuple[str, int], nn.Module] = {}

    def study(
        self, name: str, objectives: list[tuple[str, str]], train: dict[str, Any] | None = None,
        task: dict[str, Any] | None = None, artifact_dir: str | None = None,
    ) -> optuna.Study:
        study = optuna.create_study(study_name=name, storage=self.storage, directions=[d for _, d in objectives])
        study.set_user_attr("optnas", {
            "version": "0.1.0",
            "space_file": "search_spaces/rings.yaml",
            "space": {},
            "task": task or RINGS,
            "train": train or TRAIN,
            "objectives": [{"name": n, "direction": d} for n, d in objectives],
            "artifact_dir": artifact_dir or str(self.artifacts.resolve()),
        })
        return study

    def trial(
        self, study: optuna.Study, spec: optnas.ArchSpec, values: list[float] | None,
        *, weights: bool = True, state: optuna.trial.TrialState = optuna.trial.TrialState.COMPLETE,
        status: str = "complete", reason: str | None = None, seed: int = 0,
    ) -> int:
        trial = study.ask()
        model = built(spec, (2,), 3, seed=trial.number + seed)
        attrs = {
            "spec": spec.to_dict(),
            # json_safe: Certificate.to_dict() of implicit algorithms holds a numpy.bool (contraction)
            "certificate": json_safe(optnas.certify(spec, input_shape=(2,)).to_dict()),
            "status": status,
            "reason": reason,
            "metrics": {"val_metric": values[0] if values else None, "params": len(model.state_dict())},
            "curves": {},
            "init_record": {"init": spec.init},
            "train": {**TRAIN, "seed": 0, "not_an_option": True},
            "weights": None,
            "worker": {"host": "test", "pid": 0},
        }
        if weights:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "weights.safetensors"
                save_model(model, str(path))
                attrs["weights"] = upload_artifact(
                    artifact_store=FileSystemArtifactStore(str(self.artifacts)), file_path=str(path),
                    study_or_trial=trial,
                )
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        study.tell(trial, values if state == optuna.trial.TrialState.COMPLETE else None, state=state)
        self.models[(study.study_name, trial.number)] = model
        return trial.number


@pytest.fixture
def maker(tmp_path: Path) -> StudyMaker:
    return StudyMaker(tmp_path / "runs")


@pytest.fixture
def spec_of() -> Callable[..., optnas.ArchSpec]:
    def make(algorithm: str = "heavy_ball", **kw: Any) -> optnas.ArchSpec:
        return optnas.ArchSpec(algorithm=algorithm, depth=kw.pop("depth", 3), width=kw.pop("width", 8), **kw)

    return make
