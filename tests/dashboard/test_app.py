"""The Dash app's server side, through Flask's test client: callbacks answer with the study's data, the
page refreshes while trials arrive, and nothing but Dash's own routes is served."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from optnas.dashboard import StudySource, create_app
from optnas.errors import UsageError


def call(client: Any, outputs: list[tuple[str, str]], inputs: list[tuple[str, str, Any]],
         state: list[tuple[str, str, Any]] = (), changed: int = 0) -> dict[str, Any]:
    """POST one callback the way dash-renderer does (inputs and state in the callback's order; ``changed``:
    the index of the input that fired); returns {component id: {prop: value}}, {} for 204."""
    many = len(outputs) > 1
    body = {
        "output": ("..{}..".format("...".join(f"{i}.{p}" for i, p in outputs)) if many
                   else f"{outputs[0][0]}.{outputs[0][1]}"),
        "outputs": [{"id": i, "property": p} for i, p in outputs] if many
        else {"id": outputs[0][0], "property": outputs[0][1]},
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "changedPropIds": [f"{inputs[changed][0]}.{inputs[changed][1]}"],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
    }
    response = client.post("/_dash-update-component", json=body)
    if response.status_code == 204:
        return {}
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_json()["response"]


def array(value: Any) -> np.ndarray:
    """Plotly sends numpy arrays as typed base64 ({"dtype", "bdata"})."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


@pytest.fixture
def client(edge_journal):
    return create_app(edge_journal).server.test_client()


def version(client: Any, study: str = "edge", current: Any = None) -> dict[str, Any]:
    return call(client, [("version", "data"), ("status", "children")],
                [("study", "value", study), ("tick", "n_intervals", 1)], [("version", "data", current)])


def test_study_picker_and_version(client):
    picked = call(client, [("study", "options"), ("study", "value")], [("tick", "n_intervals", 0)],
                  [("study", "value", None)])
    assert picked["study"] == {"options": [{"label": "edge", "value": "edge"}], "value": "edge"}
    first = version(client)
    assert first["version"]["data"] == {"study": "edge", "signature": [1, 3, 1, 1, 0]}
    assert first["status"]["children"].startswith("6 trials: 1 running, 3 complete, 1 pruned, 1 failed")
    again = version(client, current=first["version"]["data"])
    assert "version" not in again and "status" in again  # unchanged: nothing downstream rebuilds


def test_figures_and_leaderboard_callbacks(client):
    v = version(client)["version"]["data"]
    board = call(client, [("leaderboard", "data"), ("leaderboard", "page_count")],
                 [("version", "data", v), ("leaderboard", "sort_by", [{"column_id": "params", "direction": "asc"}]),
                  ("leaderboard", "page_current", 0)])["leaderboard"]
    assert [r["params"] for r in board["data"]][:4] == [50, 100, 100, 100] and board["page_count"] == 1
    pareto = call(client, [("pareto-graph", "figure")], [("version", "data", v), ("pareto-cost", "value", "params")])
    traces = {t["name"]: t for t in pareto["pareto-graph"]["figure"]["data"]}
    assert sorted(array(traces["Pareto front"]["customdata"]).tolist()) == [1, 5]
    assert array(traces["dominated"]["customdata"]).tolist() == [0]
    history = call(client, [("history-graph", "figure")], [("version", "data", v)])["history-graph"]["figure"]
    assert history["layout"]["yaxis"]["title"]["text"] == "val_metric"
    parallel = call(client, [("parallel-graph", "figure")], [("version", "data", v)])["parallel-graph"]["figure"]
    assert parallel["data"][0]["type"] == "parcoords"
    choices = call(client, [("curve-trials", "options"), ("curve-trials", "value"), ("curve-key", "options"),
                            ("curve-key", "value")], [("version", "data", v)],
                   [("curve-trials", "value", None), ("curve-key", "value", None)])
    assert choices["curve-trials"]["value"][:3] == [1, 5, 0] and choices["curve-key"]["value"] == "val_metric"
    curves = call(client, [("curves-graph", "figure")], [("version", "data", v), ("curve-trials", "value", [1, 5]),
                                                         ("curve-key", "value", "train_loss")])
    assert [t["name"] for t in curves["curves-graph"]["figure"]["data"]] == ["trial 1", "trial 5"]


def _texts(component: Any) -> list[str]:
    """All strings inside a serialized Dash component tree."""
    if isinstance(component, str):
        return [component]
    if isinstance(component, list):
        return [s for c in component for s in _texts(c)]
    if isinstance(component, dict):
        return _texts(component.get("props", {}).get("children"))
    return []


def test_trial_selection_and_page(client):
    v = version(client)["version"]["data"]
    picked = call(client, [("trial", "value"), ("tab", "value")],
                  [("leaderboard", "active_cell", {"row": 2, "column": 1, "column_id": "status", "row_id": 5}),
                   ("history-graph", "clickData", None), ("pareto-graph", "clickData", None),
                   ("version", "data", v)], [("trial", "value", None)])
    assert picked == {"trial": {"value": 5}, "tab": {"value": "trial"}}
    clicked = call(client, [("trial", "value"), ("tab", "value")],
                   [("leaderboard", "active_cell", None), ("history-graph", "clickData", None),
                    ("pareto-graph", "clickData", {"points": [{"customdata": 1}]}), ("version", "data", v)],
                   [("trial", "value", 5)], changed=2)
    assert clicked["trial"]["value"] == 1
    page = call(client, [("trial-content", "children")], [("version", "data", v), ("trial", "value", 1)])
    texts = _texts(page["trial-content"]["children"])
    assert "trial 1: COMPLETE (complete)" in texts and "Certificate: certified" in texts
    assert any(t.startswith("optnas export --storage ") and "--trial 1" in t for t in texts)
    dumped = json.dumps(page)
    assert '"id": "architecture-graph"' in dumped and '"id": "certificate-table"' in dumped
    assert "T(z) = W2" in dumped  # T's inner structure, from the block's declared structure
    missing = call(client, [("trial-content", "children")], [("version", "data", v), ("trial", "value", 99)])
    assert "has no trial 99" in json.dumps(missing)


def test_activation_page(client):
    v = version(client)["version"]["data"]
    choice = call(client, [("activation", "options"), ("activation", "value")], [("version", "data", v)],
                  [("activation", "value", None)])["activation"]
    assert [o["label"] for o in choice["options"]] == ["relu"]
    content = call(client, [("activation-content", "children")], [("activation", "value", choice["value"])])
    dumped = json.dumps(content)
    assert '"id": "criticality-graph"' in dumped and "scale-invariant" in dumped


def test_dashboard_follows_a_running_search(tmp_path, edge_study_maker):
    path = str(tmp_path / "live.log")
    writer = edge_study_maker(JournalStorage(JournalFileBackend(path)))
    client = create_app(path).server.test_client()
    before = version(client)["version"]["data"]
    writer.add_trial(optuna.trial.create_trial(state=TrialState.COMPLETE, values=[0.99, 20.0],
                                               user_attrs={"status": "complete", "metrics": {"val_metric": 0.99,
                                                                                             "params": 20}}))
    after = version(client, current=before)["version"]["data"]
    assert after["signature"] == [1, 4, 1, 1, 0]
    board = call(client, [("leaderboard", "data"), ("leaderboard", "page_count")],
                 [("version", "data", after), ("leaderboard", "sort_by", []), ("leaderboard", "page_current", 0)])
    assert board["leaderboard"]["data"][0]["number"] == 6  # the new best trial leads


def test_serves_no_files(client, edge_journal):
    assert client.get("/").status_code == 200 and client.get("/_dash-layout").status_code == 200
    assert client.get("/assets/app.py").status_code == 404
    assert client.get("/static/app.py").status_code in (200, 404)  # the catch-all page, never a file
    assert b"import" not in client.get("/static/app.py").data
    for path in ("/assets/../app.py", "/assets/%2e%2e/app.py", "/_dash-component-suites/dash/../../dash.py",
                 f"/assets/{edge_journal}"):
        response = client.get(path)
        assert response.status_code in (404, 500) or b"<!DOCTYPE html>" in response.data[:200], path
        assert b"op_code" not in response.data and b"def " not in response.data, path
    rules = {r.rule for r in client.application.url_map.iter_rules()}
    assert not any(r.startswith("/static") for r in rules) and not any("mcp" in r for r in rules)


def test_bad_storage_fails_before_any_app(tmp_path):
    with pytest.raises(UsageError, match="no such journal file"):
        create_app(str(tmp_path / "nothing.log"))
    with pytest.raises(UsageError, match="refresh_s"):
        create_app(StudySource.__new__(StudySource), refresh_s=0)
