"""Studies for the dashboard tests.

``searched``: a real study made by `optnas.search.run_search` on a tiny space (real training, certificates,
curves; about 10 s, once per session). ``edge_study``: hand-written trials in every state a search records
(complete, pruned, diverged, running, an infinite value), written with Optuna's own API.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

import optnas

TINY = """
task: {name: rings, params: {n_samples: 300}}
train: {epochs: 2, batch_size: 64, lr: 0.01}
space:
  algorithm: {gd: {}, heavy_ball: {beta: {low: 0.0, high: 0.9}}, nesterov: {}}
  block: {mlp2: {hidden: 8}}
  activation: [relu, tanh]
  depth: {low: 2, high: 3}
  width: [4, 8]
pruner: {name: none}
trials: 6
"""


@dataclass(frozen=True)
class Searched:
    storage: str  # journal file path
    study: str
    trials: int


@pytest.fixture(scope="session")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Searched:
    from optnas.search import SearchSpace, run_search

    root = tmp_path_factory.mktemp("searched")
    space_file = root / "tiny.yaml"
    space_file.write_text(textwrap.dedent(TINY))
    storage = str(root / "runs" / "journal.log")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPTNAS_LOCK_DIR", str(root / "locks"))
        mp.setenv("OPTNAS_TORCH_THREADS", "1")
        run_search(SearchSpace.from_yaml(space_file), trials=6, storage=storage, progress=False, device="cpu")
    return Searched(storage=storage, study="tiny", trials=6)


OBJECTIVES = [{"name": "val_metric", "direction": "maximize"}, {"name": "params", "direction": "minimize"}]


def spec(algorithm: str = "heavy_ball", depth: int = 4, width: int = 8, **extra: Any) -> dict[str, Any]:
    params = {"beta": 0.5} if algorithm == "heavy_ball" else {}
    return optnas.ArchSpec(algorithm=algorithm, algorithm_params=params, block="mlp2", block_params={"hidden": 8},
                           depth=depth, width=width, **extra).to_dict()


def trial_attrs(status: str, val: float | None, params: int, **extra: Any) -> dict[str, Any]:
    s = extra.pop("spec", None) or spec()
    cert = optnas.certify(optnas.ArchSpec.from_dict(s), input_shape=(2,)).to_dict()
    curves = {"val_metric": [0.3, val] if val is not None else [0.3, None], "train_loss": [1.0, 0.7]}
    metrics = {"val_metric": val, "test_metric": val, "params": params, "flops": 2 * params, "latency_ms": 0.1,
               "wall_s": 1.0, "epochs": 2}
    return {"spec": s, "certificate": cert, "status": status, "reason": None if status == "complete" else "why",
            "metrics": metrics, "curves": curves, "weights": "w" if status == "complete" else None, **extra}


def add_edge_trials(study: optuna.Study) -> None:
    """Numbers 0..5: complete 0.6 (100 params), complete 0.8 (400), pruned, diverged, running, complete 0.7 (50)."""
    t0 = dt.datetime(2026, 1, 1)
    dist = {"depth": IntDistribution(1, 9)}
    rows = [
        (TrialState.COMPLETE, [0.6, 100.0], trial_attrs("complete", 0.6, 100)),
        (TrialState.COMPLETE, [0.8, 400.0], trial_attrs("complete", 0.8, 400, spec=spec("nesterov", depth=6))),
        (TrialState.PRUNED, None, trial_attrs("pruned", 0.5, 100)),
        (TrialState.FAIL, None, trial_attrs("diverged", None, 100)),
        (TrialState.RUNNING, None, {"spec": spec("gd"), "worker": {"host": "h", "pid": 1}}),
        (TrialState.COMPLETE, [0.7, 50.0], trial_attrs("complete", 0.7, 50, spec=spec("gd", width=4))),
    ]
    for state, values, attrs in rows:
        study.add_trial(create_trial(
            state=state, values=values, params={"depth": 4}, distributions=dist, user_attrs=attrs,
        ) if state != TrialState.RUNNING else _running(attrs, dist, t0))


def _running(attrs: dict[str, Any], dist: dict[str, Any], start: dt.datetime) -> optuna.trial.FrozenTrial:
    return optuna.trial.FrozenTrial(
        number=0, trial_id=0, state=TrialState.RUNNING, value=None, values=None, datetime_start=start,
        datetime_complete=None, params={"depth": 4}, distributions=dist, user_attrs=attrs, system_attrs={},
        intermediate_values={},
    )


def make_edge_study(storage: optuna.storages.BaseStorage | str, name: str = "edge") -> optuna.Study:
    study = optuna.create_study(study_name=name, storage=storage, directions=["maximize", "minimize"])
    study.set_user_attr("optnas", {"objectives": OBJECTIVES, "task": {"name": "rings", "params": {}}})
    add_edge_trials(study)
    return study


@pytest.fixture
def edge_journal(tmp_path: Path) -> str:
    """A journal file holding the ``edge`` study."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = tmp_path / "edge.log"
    make_edge_study(JournalStorage(JournalFileBackend(str(path))))
    return str(path)


@pytest.fixture
def edge_frame(edge_journal: str):
    """The ``edge`` study's results DataFrame, as the dashboard reads it."""
    from optnas.dashboard import StudySource

    return StudySource(edge_journal).frame("edge")


@pytest.fixture(scope="session")
def searched_frame(searched: Searched):
    from optnas.dashboard import StudySource

    return StudySource(searched.storage).frame(searched.study)


@pytest.fixture
def edge_study_maker():
    return make_edge_study
