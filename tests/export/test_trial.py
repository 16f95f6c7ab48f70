"""export_trial on a real stored study: trial choice, stored weights, retraining, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

import optnas
from optnas.export import export_trial, load

from .conftest import StudyMaker

OBJECTIVES = [("val_metric", "maximize"), ("params", "minimize")]


def _spec(width: int, algorithm: str = "heavy_ball") -> optnas.ArchSpec:
    return optnas.ArchSpec(algorithm=algorithm, depth=2, width=width)


@pytest.fixture
def study(maker: StudyMaker) -> StudyMaker:
    s = maker.study("rings", OBJECTIVES)
    maker.trial(s, _spec(8), [0.80, 100.0])                                   # 0
    maker.trial(s, _spec(12), [0.90, 300.0])                                  # 1: best val_metric ...
    maker.trial(s, _spec(16), [0.90, 500.0])                                  # 2: ... tie, more params
    maker.trial(s, _spec(10, "bdf2"), [0.70, 50.0])                           # 3: fewest params
    maker.trial(s, _spec(8), None, weights=False, state=TrialState.FAIL, status="diverged",
                reason="loss is nan at epoch 0, step 3")                      # 4
    maker.trial(s, _spec(20), [0.95, 900.0], weights=False)                   # 5: stored without weights
    return maker


def _assert_same_outputs(folder: Path, maker: StudyMaker, number: int) -> None:
    x = torch.randn(32, 2)
    with torch.no_grad():
        diff = (load(folder)(x) - maker.models[("rings", number)](x)).abs().max()
    assert float(diff) <= 1e-6


def test_best_with_stored_weights_by_a_number_and_by_another_objective(study: StudyMaker, tmp_path: Path) -> None:
    storage = str(study.journal)
    done = export_trial(storage, "rings", 1, out=tmp_path / "one")
    assert done.info["source"]["trial"] == 1 and done.info["source"]["weights"].startswith("artifact ")
    _assert_same_outputs(tmp_path / "one", study, 1)
    assert json.loads((tmp_path / "one/metrics.json").read_text())["val_metric"] == 0.90

    done = export_trial(storage, "rings", "best", out=tmp_path / "params", objective="params")
    assert done.info["source"]["trial"] == 3  # the implicit bdf2 network: fewest params
    _assert_same_outputs(tmp_path / "params", study, 3)


def test_best_is_the_first_objective_ties_broken_by_the_next(maker: StudyMaker, tmp_path: Path) -> None:
    s = maker.study("tie", OBJECTIVES)
    for width, values in [(8, [0.9, 500.0]), (12, [0.9, 300.0]), (16, [0.8, 10.0])]:
        maker.trial(s, _spec(width), values)
    done = export_trial(str(maker.journal), "tie", out=tmp_path / "out")
    assert done.info["source"]["trial"] == 1 and done.info["source"]["selected_by"] == "best val_metric"
    front = {t.number for t in s.best_trials}
    assert done.info["source"]["trial"] in front


def test_best_trial_without_weights_asks_for_retrain_then_retrains(study: StudyMaker, tmp_path: Path) -> None:
    storage = str(study.journal)
    with pytest.raises(ValueError, match=r"trial 5 of study 'rings' was stored without weights; pass --retrain"):
        export_trial(storage, "rings", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    done = export_trial(storage, "rings", out=tmp_path / "out", retrain=True, device="cpu")
    source = done.info["source"]
    assert source["trial"] == 5 and source["weights"] == "retrained"
    assert source["retrain"]["epochs"] == 1 and source["retrain"]["options"]["lr"] == 3e-3
    assert source["retrain"]["not_train_options"] == ["not_an_option"]
    metrics = json.loads((tmp_path / "out/metrics.json").read_text())
    assert metrics["epochs"] == 1 and "test_metric" in metrics  # measured by the retraining run
    assert load(tmp_path / "out")(torch.randn(4, 2)).shape == (4, 3)


@pytest.mark.parametrize(
    ("study_name", "trial", "objective", "message"),
    [
        ("nope", "best", None, r"unknown study 'nope' in .*; valid: rings"),
        ("rings", 99, None, r"study 'rings' has no trial 99; its trials are numbered 0..5"),
        ("rings", "4", None, r"trial 4 of study 'rings' is FAIL \(diverged: loss is nan at epoch 0, step 3\)"),
        ("rings", "first", None, r"--trial 'first' is invalid: use 'best' or a trial number"),
        ("rings", "best", "flops", r"--objective 'flops' is not an objective of study 'rings'; valid: val_metric"),
    ],
)
def test_clear_errors(study: StudyMaker, tmp_path: Path, study_name, trial, objective, message) -> None:
    with pytest.raises(ValueError, match=message):
        export_trial(str(study.journal), study_name, trial, out=tmp_path / "out", objective=objective)
    assert not (tmp_path / "out").exists()


def test_missing_storage_and_foreign_study(maker: StudyMaker, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such journal file"):
        export_trial(str(tmp_path / "absent.log"), "rings", out=tmp_path / "out")
    optuna.create_study(study_name="plain", storage=maker.storage)
    with pytest.raises(ValueError, match="has no 'optnas' user attribute"):
        export_trial(str(maker.journal), "plain", out=tmp_path / "out")


def test_weights_found_beside_a_moved_journal(maker: StudyMaker, tmp_path: Path) -> None:
    s = maker.study("moved", OBJECTIVES, artifact_dir=str(tmp_path / "gone" / "artifacts"))
    maker.trial(s, _spec(8), [0.5, 1.0])
    done = export_trial(str(maker.journal), "moved", 0, out=tmp_path / "out")
    assert done.info["source"]["trial"] == 0
    x = torch.randn(3, 2)
    with torch.no_grad():
        assert float((load(tmp_path / "out")(x) - maker.models[("moved", 0)](x)).abs().max()) <= 1e-6


def test_recorded_task_shapes_spare_loading_the_data(maker: StudyMaker, tmp_path: Path) -> None:
    task = {"name": "cifar10", "params": {"root": str(tmp_path / "no-data")}, "input_shape": [2], "num_outputs": 3}
    s = maker.study("shapes", [("val_metric", "maximize")], task=task)
    maker.trial(s, _spec(8), [0.5])
    done = export_trial(str(maker.journal), "shapes", out=tmp_path / "out")
    assert done.info["input_shape"] == [2]


def test_sqlite_storage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    maker = StudyMaker(tmp_path / "runs")
    maker.storage = optuna.storages.RDBStorage(url)
    s = maker.study("rings", [("val_metric", "maximize")])
    maker.trial(s, _spec(8), [0.5])
    export_trial(url, "rings", out=tmp_path / "out")
    _assert_same_outputs(tmp_path / "out", maker, 0)
    with pytest.raises(ValueError, match="no such SQLite file"):
        export_trial(f"sqlite:///{tmp_path / 'absent.db'}", "rings", out=tmp_path / "out2")
