"""Fixtures for the trust tests: a small stored study (real journal, real weights), real tmpfs mounts."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import optuna
import pytest
from optuna.artifacts import FileSystemArtifactStore, upload_artifact
from safetensors.torch import save_model

import optnas
from optnas.training.result import json_safe

SPEC = optnas.ArchSpec(algorithm="gd", depth=2, width=4)


def make_study(folder: Path, name: str = "rings", plugins: list[str] | None = None) -> Path:
    """A journal with one COMPLETE trial whose weights are a stored artifact, as a search leaves it."""
    journal = folder / "runs" / "journal.log"
    artifacts = folder / "runs" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    study = optuna.create_study(study_name=name, storage=storage, directions=["maximize"])
    meta = {"task": {"name": "rings", "params": {}, "input_shape": [2], "num_outputs": 3},
            "train": {"epochs": 1}, "objectives": [{"name": "val_metric", "direction": "maximize"}],
            "artifact_dir": str(artifacts.resolve())}
    if plugins is not None:
        meta["plugins"] = plugins
    study.set_user_attr("optnas", meta)
    trial = study.ask()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "weights.safetensors"
        save_model(optnas.build(SPEC, (2,), 3), str(path))
        weights = upload_artifact(artifact_store=FileSystemArtifactStore(str(artifacts)), file_path=str(path),
                                  study_or_trial=trial)
    for key, value in {"spec": SPEC.to_dict(), "status": "complete", "weights": weights,
                       "certificate": json_safe(optnas.certify(SPEC, input_shape=(2,)).to_dict()),
                       "metrics": {"val_metric": 0.5}}.items():
        trial.set_user_attr(key, value)
    study.tell(trial, [0.5])
    return journal


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    return make_study(tmp_path)


@pytest.fixture
def mount() -> Iterator[Callable[..., Path]]:
    """``mount(size="64k", read_only=False)``: a real tmpfs (root and mount(8) needed; skipped otherwise)."""
    made: list[Path] = []

    def make(size: str = "64k", read_only: bool = False) -> Path:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("mounting a tmpfs needs root and mount(8)")
        where = Path(tempfile.mkdtemp(prefix="optnas-trust-"))
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                              capture_output=True, check=False)
        if done.returncode != 0:
            where.rmdir()
            pytest.skip(f"mount -t tmpfs not allowed here: {done.stderr.decode().strip()}")
        made.append(where)
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        return where

    yield make
    for where in made:
        subprocess.run(["umount", "-l", str(where)], check=False)
        where.rmdir()


def fill(disk: Path, leave: int) -> None:
    """Fill the tmpfs ``disk`` until about ``leave`` bytes are free."""
    free = shutil.disk_usage(disk).free
    (disk / "filler").write_bytes(b"\0" * max(0, free - leave))
