"""The trial record's bulk (curves, init record) as one artifact, and old studies with it inline, read alike."""

import json
import os
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

import optnas
from optnas import results
from optnas.search.dominance import DominanceRule
from optnas.search.lifecycle import TrialEnd, record, tell, uploader
from optnas.storage import trial_record
from optnas.storage.artifacts import ArtifactStoreError

SPEC = optnas.ArchSpec(algorithm="gd", block="mlp2", block_params={"hidden": 8}, activation="tanh", depth=3, width=8)
CURVES = {k: [0.1 * i + 0.123456789 for i in range(40)] for k in ("train_loss", "val_loss", "val_metric", "lr")}
INIT = {"init": "default"}
OBJECTIVES = [("val_metric", "maximize"), ("params", "minimize")]


def _study(root: Path) -> tuple[optuna.Study, JournalStorage]:
    storage = JournalStorage(JournalFileBackend(str(root / "journal.log")))
    study = optuna.create_study(study_name="s", storage=storage, directions=[d for _, d in OBJECTIVES])
    study.set_user_attr("optnas", {
        "version": "0.1.0",
        "task": {"name": "rings", "params": {}, "input_shape": [2], "num_outputs": 3},
        "objectives": [{"name": n, "direction": d} for n, d in OBJECTIVES],
        "artifact_dir": str(root / "artifacts"),
    })
    return study, storage


def _longest(attrs: dict) -> int:
    """What optuna-dashboard shows of the widest user attribute (it cuts JSON values at 1024 characters)."""
    return max(len(v) if isinstance(v, str) else min(1024, len(json.dumps(v))) for v in attrs.values())


def _dominated(df_attrs, artifact_dir) -> str | None:
    rule = DominanceRule(OBJECTIVES, epochs=40, after=0.5)
    return rule.check(30, 0.5, {"params": 1e6}, (trial_record.merged(a, artifact_dir) for a in df_attrs))


def test_old_study_with_inline_curves_reads_as_before(tmp_path):
    # as optnas wrote trials before the artifact (git show 0b991ae:optnas/search/objective.py)
    study, _ = _study(tmp_path)
    trial = study.ask()
    trial.set_user_attr("spec", SPEC.to_dict())
    trial.set_user_attr("certificate", optnas.certify(SPEC, input_shape=(2,)).to_dict())
    trial.set_user_attr("status", "complete")
    trial.set_user_attr("reason", None)
    trial.set_user_attr("metrics", {"val_metric": 3.9, "params": 10.0})
    trial.set_user_attr("curves", CURVES)
    trial.set_user_attr("init_record", INIT)
    trial.set_user_attr("device", "cpu")
    trial.set_user_attr("weights", None)
    study.tell(trial.number, [3.9, 10.0])
    df = results.frame(study)
    assert df["curves"][0] == CURVES and df["init_record"][0] == INIT and bool(df["certified"][0])
    attrs = [t.user_attrs for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))]
    assert _dominated(attrs, str(tmp_path / "artifacts")) is not None


def test_record_keeps_the_curves_as_one_artifact(tmp_path):
    study, storage = _study(tmp_path)
    trial = study.ask()
    trial.set_user_attr("spec", SPEC.to_dict())
    attrs = {"status": "complete", "reason": None, "metrics": {"val_metric": 3.9, "params": 10.0},
             "curves": CURVES, "init_record": INIT, "device": "cpu"}
    inline = _longest(attrs)
    outcome = TrialEnd("COMPLETE", [3.9, 10.0], attrs)
    record(trial, outcome, upload=uploader(str(tmp_path / "artifacts"), trial, storage))
    tell(study, trial.number, outcome)
    stored = study.trials[0].user_attrs
    assert "curves" not in stored and "init_record" not in stored and isinstance(stored["record"], str)
    assert stored["status"] == "complete" and stored["metrics"]["val_metric"] == 3.9
    assert inline == 1024 and _longest(stored) < 300  # the widest column of the dashboard's trial list
    df = results.frame(study)  # reads the artifact back, like the optnas dashboard and report
    assert df["curves"][0] == CURVES and df["init_record"][0] == INIT
    assert _dominated([stored], str(tmp_path / "artifacts")) is not None


def test_without_an_artifact_store_the_curves_stay_inline(tmp_path):
    study, _ = _study(tmp_path)
    trial = study.ask()
    record(trial, TrialEnd("PRUNED", None, {"status": "pruned", "reason": "r", "curves": CURVES}), upload=None)
    assert study.trials[0].user_attrs["curves"] == CURVES
    assert results.frame(study)["curves"][0] == CURVES


def test_a_lost_artifact_reads_as_no_curves(tmp_path):
    study, storage = _study(tmp_path)
    trial = study.ask()
    outcome = TrialEnd("FAIL", None, {"status": "diverged", "reason": "nan", "curves": CURVES})
    record(trial, outcome, upload=uploader(str(tmp_path / "artifacts"), trial, storage))
    tell(study, trial.number, outcome)
    os.remove(tmp_path / "artifacts" / study.trials[0].user_attrs["record"])
    df = results.frame(study)
    assert df["curves"][0] is None and df["status"][0] == "diverged"


def test_an_artifact_folder_missing_on_this_machine_is_said_never_read_as_no_curves(tmp_path):
    study, storage = _study(tmp_path)
    trial = study.ask()
    outcome = TrialEnd("FAIL", None, {"status": "diverged", "reason": "nan", "curves": CURVES})
    record(trial, outcome, upload=uploader(str(tmp_path / "artifacts"), trial, storage))
    tell(study, trial.number, outcome)
    (tmp_path / "artifacts").rename(tmp_path / "unmounted")  # a shared folder not mounted on this machine
    with pytest.raises(ArtifactStoreError, match=r"artifact folder .*artifacts does not exist on this machine"):
        results.frame(study)
    df = results.frame(study, strict=False)  # the dashboard's way: the trials, and why their curves are missing
    assert df["curves"][0] is None and "does not exist" in df.attrs["artifacts_error"]
