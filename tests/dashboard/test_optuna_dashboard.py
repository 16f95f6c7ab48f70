"""A study written by optnas opens in optuna-dashboard unchanged, through optuna-dashboard's own WSGI app.

optuna-dashboard is optional (``pip install optuna-dashboard``): this test is skipped, with that reason,
where it is not installed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from werkzeug.test import Client

optuna_dashboard = pytest.importorskip("optuna_dashboard", reason="pip install optuna-dashboard")


def test_optuna_dashboard_serves_an_optnas_study(searched):
    before = hashlib.sha256(Path(searched.storage).read_bytes()).hexdigest()
    client = Client(optuna_dashboard.wsgi(searched.storage))  # a plain journal path, as its CLI takes it
    studies = json.loads(client.get("/api/studies").get_data())["study_summaries"]
    (summary,) = studies
    assert summary["study_name"] == searched.study and summary["directions"] == ["maximize"]
    detail = client.get(f"/api/studies/{summary['study_id']}?after=0")
    assert detail.status_code == 200
    data = json.loads(detail.get_data())
    assert len(data["trials"]) == searched.trials and len(data["best_trials"]) == 1
    attrs = {a["key"]: a["value"] for a in data["trials"][0]["user_attrs"]}
    assert {"spec", "certificate", "status", "metrics", "record"} <= set(attrs)  # the curves: an artifact
    assert json.loads(attrs["spec"])["block"] == "mlp2"  # shown as the JSON optnas stored
    assert client.get("/dashboard").status_code == 200
    assert client.get(f"/api/studies/{summary['study_id']}/param_importances").status_code == 200
    assert hashlib.sha256(Path(searched.storage).read_bytes()).hexdigest() == before
