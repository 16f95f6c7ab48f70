"""The Dash app's server side, through Flask's test client: callbacks answer with the study's data, the
page refreshes while trials arrive, and nothing but Dash's own routes is served."""

from __future__ import annotations

import json
from typing import Any

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


@pytest.fixture
def client(edge_journal):
    return create_app(edge_journal).server.test_client()


ROUTE_OUT = [("url", "pathname"), ("study", "value"), ("route", "data"), ("trial", "value")]
ROUTE_IN = ["url.pathname", "study.value", "leaderboard.active_cell", "parallel-picked.data",
            "trial.value", "history-graph.clickData", "pareto-graph.clickData", "timeline-graph.clickData",
            "slice-graph.clickData"]
FILTERS = ["status", "algorithm", "block", "activation", "certified"]


def route(client: Any, pathname: str, changed: str = "url.pathname", value: Any = None) -> dict[str, Any]:
    """The router callback as the browser fires it: input ``changed`` (e.g. ``pareto-graph.clickData``) got
    ``value``."""
    given = {"url.pathname": pathname} | ({changed: value} if changed != "url.pathname" else {})
    inputs = [(*name.split("."), given.get(name)) for name in ROUTE_IN]
    return call(client, ROUTE_OUT, inputs, [("route", "data", None)],
                changed=ROUTE_IN.index(changed))


def version(client: Any, study: str = "edge", current: Any = None) -> dict[str, Any]:
    r = {"study": study, "page": "overview", "trial": None}
    return call(client, [("version", "data"), ("status", "children")],
                [("route", "data", r), ("tick", "n_intervals", 1)], [("version", "data", current)])


def board(client: Any, v: Any, sort_by: Any = (), filters: dict[str, Any] | None = None) -> dict[str, Any]:
    chosen = [("filter-" + f, "value", (filters or {}).get(f)) for f in FILTERS]
    return call(client, [("leaderboard", "data"), ("leaderboard", "page_count"), ("leaderboard-count", "children"),
                         ("leaderboard", "columns"), ("leaderboard", "style_data_conditional")],
                [("view-overview", "data", v), ("leaderboard", "sort_by", list(sort_by)),
                 ("leaderboard", "page_current", 0), ("leaderboard-columns", "value", None), *chosen])


def test_routes_picker_and_version(client):
    home = route(client, "/")
    assert home["url"]["pathname"] == "/studies/edge"  # the newest study
    assert home["study"] == {"value": "edge"}
    picker = call(client, [("study", "options")], [("tick", "n_intervals", 1)], [("study", "options", None)])
    assert picker["study"]["options"] == [{"label": "edge", "value": "edge"}]
    assert home["route"]["data"] == {"study": "edge", "page": "overview", "trial": None}
    deep = route(client, "/studies/edge/trials/3")
    assert "url" not in deep and deep["route"]["data"] == {"study": "edge", "page": "trial", "trial": 3}
    best = route(client, "/studies/edge/trials")  # no number: the best trial
    assert best["url"]["pathname"] == "/studies/edge/trials/1"
    unknown = route(client, "/studies/nope/activations")  # never another study's page (the server 404s it)
    assert "url" not in unknown and unknown["route"]["data"]["study"] == "nope"
    first = version(client)
    assert first["version"]["data"] == {"study": "edge", "signature": [1, 3, 1, 1, 0]}
    # optnas's statuses (outcome.py), not Optuna's states: the FAIL trial is a diverged one
    assert first["status"]["children"].startswith("6 trials: 3 complete, 1 pruned, 1 diverged, 1 running")
    again = version(client, current=first["version"]["data"])
    assert "version" not in again and "status" in again  # unchanged: nothing downstream rebuilds


def test_clicks_open_trial_pages(client):
    at = "/studies/edge"
    cell = {"row": 2, "column": 1, "column_id": "status", "row_id": 5}
    assert route(client, at, "leaderboard.active_cell", cell)["url"]["pathname"] == \
        "/studies/edge/trials/5"
    click = {"points": [{"curveNumber": 1, "pointNumber": 0, "customdata": 1}]}
    for graph in ("history-graph", "pareto-graph", "timeline-graph", "slice-graph"):
        opened = route(client, at, f"{graph}.clickData", click)
        assert opened["url"]["pathname"] == "/studies/edge/trials/1" and opened["trial"]["value"] == 1
    assert route(client, at, "parallel-picked.data", 4)["url"]["pathname"].endswith("/4")
    # crafted clicks go nowhere and raise nothing
    for junk in ("x", [], {"points": "x"}, {"points": [{"customdata": {"a": 1}}]}, {"points": [{"customdata": -3}]}):
        assert "url" not in route(client, at, "pareto-graph.clickData", junk)


def test_figures_and_leaderboard_callbacks(client):
    v = version(client)["version"]["data"]
    page = board(client, v, [{"column_id": "params", "direction": "asc"}])["leaderboard"]
    assert [r["params"] for r in page["data"]][:4] == [50, 100, 100, 100] and page["page_count"] == 1
    ranked = board(client, v)["leaderboard"]["data"]
    assert [r["number"] for r in ranked][:3] == [1, 5, 0]  # the best-trial rule's order
    styles = board(client, v)["leaderboard"]["style_data_conditional"]
    assert styles[0]["if"] == {"filter_query": "{number} = 1"} and styles[0]["backgroundColor"] == "#fef3c7"
    only = board(client, v, filters={"status": ["complete"], "algorithm": ["heavy_ball", "gd"]})
    assert [r["number"] for r in only["leaderboard"]["data"]] == [5, 0]
    assert only["leaderboard-count"]["children"] == "2 of 6 trials (filtered)"
    assert [c["id"] for c in only["leaderboard"]["columns"]][:2] == ["number", "status"]
    # the one number format: trial numbers as in their URL, counts with separators, others .4~g (1, not 1.000)
    formats = {c["id"]: c.get("format", {}).get("specifier") for c in only["leaderboard"]["columns"]}
    assert (formats["number"], formats["params"], formats["val_metric"]) == ("", ",", ".4~g")
    pareto = call(client, [("pareto-graph", "figure")],
                  [("view-overview", "data", v), ("pareto-cost", "value", "params"), ("pareto-zoom", "data", None)])
    traces = {t["name"].split(" (")[0]: t for t in pareto["pareto-graph"]["figure"]["data"]}
    assert sorted(traces["Pareto front"]["customdata"]) == [1, 5]  # plain lists: the browser reports them
    assert traces["dominated trial"]["customdata"] == [0]
    assert traces["best trial"]["customdata"] == [1] and traces["best trial"]["marker"]["symbol"] == "star"
    history = call(client, [("history-graph", "figure")],
                   [("view-overview", "data", v), ("history-x", "value", "number"),
                    ("history-options", "value", ["log", "pruned"]), ("history-zoom", "data", None)])
    layout = history["history-graph"]["figure"]["layout"]
    assert layout["yaxis"]["title"]["text"] == "validation metric" and layout["yaxis"]["type"] == "log"
    assert any(t["name"].startswith("pruned") for t in history["history-graph"]["figure"]["data"])
    # a zoom redraws its range; a zoom stamped with other options, or a crafted one, redraws nothing
    inputs = [("view-overview", "data", v), ("history-x", "value", "number"), ("history-options", "value", [])]
    zoom = {"event": {"xaxis.range[0]": 0.5, "xaxis.range[1]": 5.5}, "context": ["number", []]}
    zoomed = call(client, [("history-graph", "figure")], [*inputs, ("history-zoom", "data", zoom)], changed=3)
    assert zoomed["history-graph"]["figure"]["layout"]["xaxis"]["range"] == [0.5, 5.5]
    assert sorted(zoomed["history-graph"]["figure"]["data"][0]["customdata"]) == [1, 5]
    refreshed = call(client, [("history-graph", "figure")], [*inputs, ("history-zoom", "data", zoom)])
    assert refreshed["history-graph"]["figure"]["layout"]["xaxis"]["range"] == [0.5, 5.5]  # a refresh keeps it
    switched = call(client, [("history-graph", "figure")],
                    [*inputs[:2], ("history-options", "value", ["log"]), ("history-zoom", "data", zoom)], changed=2)
    assert "range" not in switched["history-graph"]["figure"]["layout"]["xaxis"]  # another option: the whole study
    for junk in ({**zoom, "context": ["time", []]}, {"event": "x", "context": ["number", []]}, [1], "z"):
        assert call(client, [("history-graph", "figure")], [*inputs, ("history-zoom", "data", junk)], changed=3) == {}
    # parallel coordinates are drawn on the analysis page only (a WebGL set-up the overview need not pay)
    closed = call(client, [("parallel-graph", "figure")], [("view-analysis", "data", v | {"route": None})])
    assert "parallel-graph" not in closed  # no update while the page is not shown
    analysis = {"study": v["study"], "page": "analysis", "trial": None}
    parallel = call(client, [("parallel-graph", "figure")], [("view-analysis", "data", v | {"route": analysis})])
    assert parallel["parallel-graph"]["figure"]["data"][0]["type"] == "parcoords"
    curves_out = [("curve-trials", "options"), ("curve-trials", "value"), ("curve-key", "options"),
                  ("curve-key", "value"), ("curves-state", "data"), ("curves-graph", "figure")]
    choices = call(client, curves_out, [("view-overview", "data", v), ("curve-trials", "value", None),
                                        ("curve-key", "value", None)], [("curves-state", "data", None)])
    assert choices["curve-trials"]["value"] == [1, 5, 0] and choices["curve-key"]["value"] == "val_metric"
    assert [t["name"] for t in choices["curves-graph"]["figure"]["data"]] == ["trial 1", "trial 5", "trial 0"]
    # another study's selection never carries over: the state names its study
    other = call(client, curves_out, [("view-overview", "data", v), ("curve-trials", "value", [0]),
                                      ("curve-key", "value", None)],
                 [("curves-state", "data", {"study": "rings", "own": True})])
    assert other["curve-trials"]["value"] == [1, 5, 0]
    # the user's pick (curve-trials fired) and another series: the figure follows in the same answer
    curves = call(client, curves_out, [("view-overview", "data", v), ("curve-trials", "value", [1, 5]),
                                       ("curve-key", "value", "train_loss")], [("curves-state", "data", None)],
                  changed=1)
    assert [t["name"] for t in curves["curves-graph"]["figure"]["data"]] == ["trial 1", "trial 5"]
    assert curves["curve-key"]["value"] == "train_loss" and curves["curves-state"]["data"]["own"] is True


def test_parallel_brush_picks_trials(client):
    v = version(client)["version"]["data"]
    out = [("parallel-brush", "data"), ("parallel-list", "children"), ("parallel-picked", "data")]
    # axis 0 is the trial number: brushing [4.5, 5.5] leaves trial 5 alone, which opens it
    one = call(client, out, [("parallel-graph", "restyleData", [{"dimensions[0].constraintrange": [[4.5, 5.5]]}, [0]])],
               [("version", "data", v), ("parallel-brush", "data", {})])
    assert one["parallel-picked"]["data"] == 5
    two = call(client, out, [("parallel-graph", "restyleData", [{"dimensions[0].constraintrange": [[-1, 1.5]]}, [0]])],
               [("version", "data", v), ("parallel-brush", "data", {"version": v, "ranges": {"3": [[0, 9]]}})])
    assert "parallel-picked" not in two and "2 trial(s)" in json.dumps(two["parallel-list"])


def _texts(component: Any) -> list[str]:
    """All strings inside a serialized Dash component tree."""
    if isinstance(component, str):
        return [component]
    if isinstance(component, list):
        return [s for c in component for s in _texts(c)]
    if isinstance(component, dict):
        return _texts(component.get("props", {}).get("children"))
    return []


def _array(value: Any) -> list[float]:
    """A figure's numbers as Dash sends them: a list, or plotly.py's typed binary array (base64 ``bdata``)."""
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).round(12).tolist()
    return list(value)


def _components(tree: Any) -> list[dict[str, Any]]:
    """Every serialized component in a tree (depth first)."""
    if isinstance(tree, list):
        return [c for t in tree for c in _components(t)]
    if isinstance(tree, dict):
        if "type" in tree and "props" in tree:
            return [tree, *_components(tree["props"].get("children"))]
        return [c for v in tree.values() for c in _components(v)]
    return []


def test_trial_page_and_best_card(client):
    v = version(client)["version"]["data"]
    r = {"study": "edge", "page": "trial", "trial": 1}
    page = call(client, [("trial-content", "children")], [("view-trial", "data", v | {"route": r})])
    texts = _texts(page["trial-content"]["children"])
    assert "trial 1: COMPLETE (complete)" in texts and "Certificate: certified" in texts
    assert any(t.startswith("optnas export --storage ") and "--trial 1" in t for t in texts)
    dumped = json.dumps(page)
    assert '"id": "architecture-graph"' in dumped and '"id": "certificate-table"' in dumped
    assert "T(z) = W2" in dumped  # T's inner structure, from the block's declared structure
    graphs = {g["props"]["id"]: g["props"]["figure"] for g in _components(page) if g.get("type") == "Graph"}
    curves = {t["name"]: _array(t["y"]) for t in graphs["trial-curves-graph"]["data"]}
    assert curves == {"training loss": [1.0, 0.7], "validation metric": [0.3, 0.8]}  # every recorded series
    inter = {t["name"].split(" (")[0]: t for t in graphs["intermediate-graph"]["data"]}
    assert _array(inter["trial 1"]["y"]) == [0.3, 0.8]
    assert _array(inter["study median"]["y"]) == [0.3, 0.7]  # complete trials 0, 1, 5 end at 0.6, 0.8, 0.7
    assert "3 complete trials" in inter["study median"]["name"]
    missing = call(client, [("trial-content", "children")],
                   [("view-trial", "data", v | {"route": r | {"trial": 99}})])
    assert "has no trial 99" in json.dumps(missing)
    best = _texts(call(client, [("best-trial", "children")], [("view-overview", "data", v)])["best-trial"]["children"])
    assert "trial 1" in best and "certified" in best
    assert any(t.startswith("optnas export ") and "--trial 1 " in t for t in best)


def test_activation_page(client):
    v = version(client)["version"]["data"]
    choice = call(client, [("activation", "options"), ("activation", "value")], [("view-activations", "data", v)],
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
    assert board(client, after)["leaderboard"]["data"][0]["number"] == 6  # the new best trial leads


def test_serves_no_files(client, edge_journal):
    root = client.get("/")  # a redirect to the newest study's page, served by the catch-all
    assert root.status_code == 302 and root.headers["Location"] == "/studies/edge"
    assert client.get("/studies/edge").status_code == 200 and client.get("/_dash-layout").status_code == 200
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


def test_crafted_callback_requests_get_400_without_traceback(client, caplog):
    bodies = [{"output": "nope.children", "outputs": {"id": "nope", "property": "children"}, "inputs": []},
              {"output": "..url.pathname..", "inputs": "x"}, {}]
    for body in bodies:
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code == 400, response.get_data(as_text=True)[:300]
        assert "Traceback" not in response.get_data(as_text=True)
    assert not any(r.exc_info for r in caplog.records) and "Traceback" not in caplog.text


def test_plotlyjs_partial_bundle_is_served_and_loaded_first(client):
    """The page loads optnas's plotly.js bundle before Dash's renderer, so dcc.Graph draws with it; the one
    fixed route serves it cached for a year, at the plotly.js version plotly.py ships."""
    from plotly.offline import get_plotlyjs_version

    from optnas.dashboard import plotlyjs

    page = client.get("/studies/edge").get_data(as_text=True)
    assert page.index(plotlyjs.script_url()) < page.index("dash_renderer")
    served = client.get(plotlyjs.script_url())
    assert served.status_code == 200 and served.mimetype == "text/javascript"
    assert "immutable" in served.headers["Cache-Control"]
    assert served.get_data() == plotlyjs.BUNDLE.read_bytes()
    assert get_plotlyjs_version() == plotlyjs.VERSION and plotlyjs.usable()
    for other in ("/_optnas/../app.py", "/_optnas/x.js", "/_optnas/plotly-optnas.min.js/../../storage.py"):
        body = client.get(other).get_data(as_text=True)  # Dash's page (its catch-all route), never a file
        assert "import " not in body and "Plotly=" not in body and "_dash-config" in body


def test_unknown_studies_pages_and_trials_are_404_pages_listing_what_exists(client):
    """Never another study's data: each wrong URL gets a 404 page that says what is missing and links to
    what exists (the study's pages with its trial range, every study)."""
    cases = {
        "/studies/nosuchstudy/trials/1": "no study &#x27;nosuchstudy&#x27;",
        "/studies/edge/trials/6": "has no trial &#x27;6&#x27; (its trials: 0 to 5)",
        "/studies/edge/trials/-1": "has no trial &#x27;-1&#x27;",
        "/studies/edge/trials/" + "9" * 40: "has no trial &#x27;" + "9" * 40,
        "/studies/edge/trials/1x": "has no trial &#x27;1x&#x27;",
        "/studies/edge/nopage": "has no page &#x27;nopage&#x27;",
        "/studies/edge/trials/1/more": "no page",
        "/elsewhere": "no page &#x27;/elsewhere&#x27;",
    }
    for url, said in cases.items():
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code == 404, url
        assert said in body, (url, body[-600:])
        assert '<a href="/studies/edge">edge</a> (6 trials)' in body  # what exists
        assert "_dash-config" not in body  # not the app: it would draw a study
    assert '<a href="/studies/edge/trials/5">trial 5</a>' in client.get("/studies/edge/trials/9").get_data(as_text=True)
    for url in ("/studies/edge", "/studies/edge/trials", "/studies/edge/trials/5", "/studies/edge/analysis",
                "/studies/edge/activations"):
        assert client.get(url).status_code == 200, url


def test_crafted_requests_to_any_route_get_4xx_and_one_log_line(client, caplog):
    """Dash's script route raises on paths it does not serve (500 and ~25 lines of traceback before)."""
    import logging

    caplog.set_level(logging.INFO)
    paths = ["/_dash-component-suites/dash/../../dash.py", "/_dash-component-suites/x/y.js",
             "/_dash-component-suites/dash/dcc/%00.js", "/_dash-component-suites/dash/dcc/async-graph.v9.js"]
    for path in paths:
        caplog.clear()
        response = client.get(path)
        assert 400 <= response.status_code < 500, path
        assert "Traceback" not in response.get_data(as_text=True)
        lines = [r for r in caplog.records if r.name.startswith("optnas")]
        assert len(lines) == 1 and not lines[0].exc_info and "\n" not in lines[0].getMessage(), path
    assert "Traceback" not in caplog.text
