"""The dashboard and the report in a real browser: Debian's headless Chromium driven by Playwright.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``; or set OPTNAS_CHROMIUM) and ``pip install
playwright`` (no browser download: Playwright drives the system Chromium). When either is missing these
tests FAIL with that message: they check what users see, so CI must provide both. Screenshots go to the
test's tmp dir, and also to $OPTNAS_SCREENSHOT_DIR when set.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from optnas.dashboard import create_app, plotlyjs, write_report
from tests._support.bench_scripts import bench_script

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Dash's dev-tools error UI (front-end, back-end and layout errors) and Dash's own error page
# How long a wait for the page may take: on a quiet machine each returns within a second or two, but on a
# loaded 2-core one (another pytest-xdist worker, Ray, other jobs) Dash's callbacks and Plotly's drawing took
# over 30 s; a wait ends as soon as its condition holds, so a long limit costs a passing run nothing.
WAIT_MS = 180_000
ERROR_SELECTOR = (".dash-fe-error__title, .dash-be-error__str, .dash-backend-error, ._dash-error, "
                  ".dash-error-card__message")


def _chromium() -> str:
    found = os.environ.get("OPTNAS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).exists():
        pytest.fail("the browser tests need Chromium: apt-get install -y chromium (or set OPTNAS_CHROMIUM=/path)")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need Playwright: pip install playwright (it drives the system Chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watched:
    """A page whose console errors, page errors, failed responses and outside requests are recorded."""

    def __init__(self, browser: Any, allowed: str) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.set_default_timeout(WAIT_MS)  # clicks, reads and navigations too (Playwright's default: 30 s)
        self.problems: list[str] = []
        self.scripts: list[str] = []  # every script the page asked for
        self.types: set[str] = set()  # every trace type Plotly drew
        self.outputs: list[str] = []  # the outputs of every callback request, in order
        self.page.on("request", lambda r: r.resource_type == "script" and self.scripts.append(r.url))
        self.page.on("request", lambda r: r.url.split("?")[0].endswith("/_dash-update-component")
                     and self.outputs.append(json.loads(r.post_data or "{}").get("output", "")))
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status} {r.url}"))

        def route(r: Any) -> None:  # offline: anything but the app (or the file) is refused and reported
            if r.request.url.startswith(allowed):
                r.continue_()
            else:
                self.problems.append(f"outside request: {r.request.url}")
                r.abort()

        self.page.route("**/*", route)

    def traces(self, graph_id: str) -> list[dict[str, Any]]:
        """Type, name and number of points of each trace Plotly drew (its own ``_fullData``)."""
        drawn = self.page.evaluate(
            """id => { const gd = document.querySelector(`#${id} .js-plotly-plot`);
                       return gd && gd._fullData ? gd._fullData.map(t => ({type: t.type, name: t.name, n: t._length}))
                                                 : null; }""",
            graph_id,
        )
        self.types |= {t["type"] for t in drawn or []}
        return drawn

    def wait_for_traces(self, graph_id: str, timeout: float = WAIT_MS) -> list[dict[str, Any]]:
        self.page.wait_for_function(
            """id => { const gd = document.querySelector(`#${id} .js-plotly-plot`);
                       return gd && gd._fullData && gd._fullData.length > 0 && gd.querySelector('.main-svg'); }""",
            arg=graph_id, timeout=timeout,
        )
        return self.traces(graph_id)

    def shot(self, path: Path) -> None:
        self.page.screenshot(path=str(path), full_page=True)
        extra = os.environ.get("OPTNAS_SCREENSHOT_DIR")
        if extra:
            shutil.copy(path, Path(extra) / path.name)

    def assert_clean(self) -> None:
        errors = self.page.locator(ERROR_SELECTOR)
        assert errors.count() == 0, errors.all_inner_texts()
        assert self.problems == []


@pytest.fixture
def served(searched, tmp_path) -> Iterator[tuple[str, str]]:
    """The dashboard (Dash dev tools on, so callback errors would show) on a copy of the searched study."""
    from werkzeug.serving import make_server

    journal = tmp_path / "journal.log"
    shutil.copy(searched.storage, journal)
    app = create_app(str(journal), refresh_s=1.0)
    app.enable_dev_tools(debug=True, dev_tools_hot_reload=False, dev_tools_ui=True, dev_tools_props_check=True,
                         dev_tools_disable_version_check=True)  # dev tools would ask plotly.com for news
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/", str(journal)
    server.shutdown()
    thread.join(timeout=10)


# Where Plotly drew point ``i`` of the first trace whose name starts with ``name``, in page pixels,
# from the plot's own axes (so the mouse clicks what the user sees), and the trial it stands for.
# The leaderboard pins trial and status: Dash draws it as two grids (pinned, scrolling), each with hidden
# "phantom" copies of the other's cells; rows are counted in the scrolling one, cells read where they show.
LEADERBOARD_ROWS = "#leaderboard .dash-fixed-content tbody tr:has(td)"
LEADERBOARD_CELL = "#leaderboard td[data-dash-column='algorithm']:not(.phantom-cell)"
POINT_JS = """([id, name, i]) => {
  const gd = document.querySelector(`#${id} .js-plotly-plot`);
  const t = gd._fullData.find(t => t.name.startsWith(name));
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
  let x = t.x[i];
  if (t.type === 'bar') { x = xa.d2l(t.base[i]) + t.x[i] / 2; } else { x = xa.d2l(x); }
  return {x: r.left + xa._offset + xa.l2p(x), y: r.top + ya._offset + ya.l2p(ya.d2l(t.y[i])),
          number: t.customdata[i]}; }"""
# Page pixels of value ``v`` on parcoords axis ``k``, read off two of the axis's own tick labels.
AXIS_JS = """([id, k, v]) => {
  const axes = document.querySelectorAll(`#${id} .y-axis`);
  const ticks = [...axes[k].querySelectorAll('.tick')].map(t => {
      const b = t.getBoundingClientRect(); return {v: parseFloat(t.textContent), y: b.top + b.height / 2}; })
    .filter(t => !isNaN(t.v));
  const [a, b] = [ticks[0], ticks[ticks.length - 1]];
  const box = axes[k].querySelector('.domain, path, line').getBoundingClientRect();
  return {x: box.left + box.width / 2, y: a.y + (v - a.v) * (b.y - a.y) / (b.v - a.v), px: (b.y - a.y) / (b.v - a.v)};
}"""


def _click_point(w: Watched, graph: str, name: str, i: int) -> int:
    """A real mouse click on a drawn point; returns the trial number it should open.

    Like a user, the mouse first hovers until Plotly shows the point's hover label (the plot may still be
    settling its size after the scroll), then clicks there.
    """
    w.page.locator(f"#{graph}").scroll_into_view_if_needed()
    for _ in range(20):
        w.page.wait_for_timeout(250)
        at = w.page.evaluate(POINT_JS, [graph, name, i])
        w.page.mouse.move(at["x"] - 3, at["y"] - 3)
        w.page.mouse.move(at["x"], at["y"], steps=3)
        w.page.wait_for_timeout(150)
        if w.page.locator(f"#{graph} .hoverlayer .hovertext").count():
            break
    w.page.mouse.click(at["x"], at["y"])
    return int(at["number"])


def _wait_url(w: Watched, href: str) -> None:
    """The address bar shows ``href`` (pushState navigations fire no load event to wait for)."""
    try:
        w.page.wait_for_function("u => location.href === u", arg=href, timeout=WAIT_MS)
    except Exception:
        w.shot(Path(os.environ.get("OPTNAS_SCREENSHOT_DIR", "/tmp")) / "failed.png")
        raise AssertionError(f"expected {href}, the page shows {w.page.url}; problems: {w.problems}") from None


def _wait_trial(w: Watched, url: str, study: str, number: int) -> None:
    _wait_url(w, f"{url}studies/{study}/trials/{number}")
    w.page.wait_for_function("n => (document.querySelector('#trial-title') || {}).innerText?.startsWith(`trial ${n}:`)",
                             arg=number, timeout=WAIT_MS)


def test_dashboard_renders_a_real_study(browser, served, tmp_path, searched):
    url, journal = served
    w = Watched(browser, url)
    w.page.goto(f"{url}studies/{searched.study}")  # a deep link loads directly
    w.page.wait_for_selector(LEADERBOARD_CELL, timeout=WAIT_MS)
    assert w.page.locator(LEADERBOARD_ROWS).count() == searched.trials
    history = w.wait_for_traces("history-graph")
    points, best_line = history[:2]
    assert points["n"] == searched.trials  # every trial; the best-so-far line comes as its corners only
    assert best_line["name"].startswith("best so far") and 2 <= best_line["n"] <= searched.trials
    best_number = int(w.page.locator("#best-link").inner_text().removeprefix("trial "))
    assert {"name": f"best trial ({best_number})", "type": "scatter", "n": 1} in history  # marked on the plot
    pareto = w.wait_for_traces("pareto-graph")
    assert sum(t["n"] for t in pareto if not t["name"].startswith(("best", "tied"))) == searched.trials
    assert {t["name"].split(" (")[0] for t in pareto} - {"tied with the best on the task metric"} == {
        "dominated trial", "Pareto front", "best trial"}
    # the best trial's leaderboard row is highlighted (its cells' background), the next one is not
    colors = w.page.evaluate("""() => [...document.querySelectorAll("#leaderboard td[data-dash-column='algorithm']"
        + ":not(.phantom-cell)")].slice(0, 2).map(td => getComputedStyle(td).backgroundColor)""")
    assert colors[0] == "rgb(254, 243, 199)" and colors[1] != colors[0], colors
    assert len(w.wait_for_traces("curves-graph")) == 5  # the five best trials by default
    status = w.page.locator("header .status").first.inner_text()
    assert status.startswith(f"{searched.trials} trials: {searched.trials} complete")
    best = w.page.locator("#best-link").inner_text()
    w.page.wait_for_timeout(500)
    w.shot(tmp_path / "dashboard_overview.png")
    w.assert_clean()
    # the hidden pages sent no request (their views are set only while they are shown)
    hidden = ("trial-content.", "timeline-graph.", "importance-graph.", "slice-graph.", "parallel-graph.",
              "..activation.options")
    assert w.outputs and not [o for o in w.outputs if any(o.startswith(h) for h in hidden)], w.outputs

    # a real mouse click on a history point opens that trial; back and forward move between the pages
    number = _click_point(w, "history-graph", "complete", 2)
    _wait_trial(w, url, searched.study, number)
    w.shot(tmp_path / "dashboard_trial_from_history.png")
    w.page.go_back()
    _wait_url(w, f"{url}studies/{searched.study}")
    w.page.wait_for_selector("#page-overview:not([style*='none'])", timeout=WAIT_MS)
    w.page.go_forward()
    _wait_trial(w, url, searched.study, number)
    w.page.go_back()
    w.page.wait_for_selector("#page-overview:not([style*='none'])", timeout=WAIT_MS)

    # a real mouse click on the best trial's star opens it; its page draws its own curves and its intermediate
    # values beside the study's median
    assert _click_point(w, "history-graph", "best trial", 0) == best_number
    _wait_trial(w, url, searched.study, best_number)
    curves = w.wait_for_traces("trial-curves-graph")
    assert {t["name"] for t in curves} >= {"validation metric", "training loss"}
    inter = w.wait_for_traces("intermediate-graph")
    assert [t["name"].split(" (")[0] for t in inter] == [f"middle half of the {searched.trials} complete trials",
                                                        "study median", f"trial {best_number}"]
    w.page.locator("#intermediate-graph").scroll_into_view_if_needed()
    w.page.wait_for_timeout(500)
    w.shot(tmp_path / "dashboard_trial_curves.png")
    w.page.go_back()
    w.page.wait_for_selector("#page-overview:not([style*='none'])", timeout=WAIT_MS)

    # ... and so does a click on a Pareto point (the front's cheapest one)
    w.wait_for_traces("pareto-graph")
    number = _click_point(w, "pareto-graph", "Pareto front", 0)
    _wait_trial(w, url, searched.study, number)
    w.page.go_back()
    w.page.wait_for_selector("#page-overview:not([style*='none'])", timeout=WAIT_MS)

    # the trial page of the leaderboard's second row: the click on the row opens it
    w.page.goto(f"{url}studies/{searched.study}")
    w.page.wait_for_selector(LEADERBOARD_CELL, timeout=WAIT_MS)
    rows = w.page.locator(LEADERBOARD_ROWS)  # the header row is in tbody too
    assert rows.first.locator("td[data-dash-column='number']").text_content() == best.removeprefix("trial ")
    second = int(rows.nth(1).locator("td[data-dash-column='number']").text_content())
    rows.nth(1).locator("td[data-dash-column='algorithm']").click()
    _wait_trial(w, url, searched.study, second)
    w.page.wait_for_selector("#certificate-table", timeout=WAIT_MS)
    assert w.page.locator("#certificate-table tr").count() == 1 + 7  # header + every condition
    assert f"--trial {second} " in w.page.locator("#export-command").inner_text()
    arch = w.wait_for_traces("architecture-graph")
    assert any(t["name"] == "T (learnable)" for t in arch)
    w.shot(tmp_path / "dashboard_trial.png")
    w.assert_clean()

    # analysis: importance (6 trials: with its warning), slice one parameter at a time, EDF, contour, rank,
    # and the timeline, whose bars open their trial
    w.page.click("#nav-analysis")
    _wait_url(w, f"{url}studies/{searched.study}/analysis")
    assert w.wait_for_traces("importance-graph")[0]["type"] == "bar"
    assert "warning: rests on only 6 complete trial" in w.page.locator("#importance-graph .gtitle").text_content()
    assert len(w.wait_for_traces("slice-graph")) == 1
    assert w.wait_for_traces("edf-graph")[0]["type"] == "scatter"
    assert "contour" in {t["type"] for t in w.wait_for_traces("contour-graph")}
    assert w.wait_for_traces("rank-graph")
    first = w.page.locator("#slice-graph .gtitle").text_content()
    w.page.locator("#slice-param").click()  # the mouse picks another parameter
    options = w.page.locator("label.dash-dropdown-option:visible")  # the open menu (a portal, not inside)
    w.page.wait_for_timeout(300)
    texts = options.all_inner_texts()
    other = next(t for t in texts if not first.rstrip(")").split(" (")[0].endswith(f"against {t}"))
    options.filter(has_text=other).first.click()
    w.page.wait_for_function("t => (document.querySelector('#slice-graph .gtitle') || {}).textContent?.includes(t)",
                             arg=f"against {other}", timeout=WAIT_MS)
    timeline = w.wait_for_traces("timeline-graph")
    assert sum(t["n"] for t in timeline) == searched.trials
    w.page.wait_for_timeout(500)
    w.shot(tmp_path / "dashboard_analysis.png")
    number = _click_point(w, "timeline-graph", "complete", 1)
    _wait_trial(w, url, searched.study, number)
    w.assert_clean()

    # parallel coordinates (analysis page): brushing the trial axis around one trial picks that line and
    # opens it
    w.page.click("#nav-analysis")
    _wait_url(w, f"{url}studies/{searched.study}/analysis")
    assert w.wait_for_traces("parallel-graph")[0]["type"] == "parcoords"
    w.page.locator("#parallel-graph").scroll_into_view_if_needed()
    w.page.wait_for_timeout(500)
    at = w.page.evaluate(AXIS_JS, ["parallel-graph", 0, 3])
    half = abs(at["px"]) * 0.3  # less than half the distance to the next trial number
    w.page.mouse.move(at["x"], at["y"] - half)
    w.page.mouse.down()
    w.page.mouse.move(at["x"], at["y"] + half, steps=8)
    w.page.mouse.up()
    _wait_trial(w, url, searched.study, 3)
    w.assert_clean()

    # a new trial lands in the storage: the open page picks it up on its own (dcc.Interval)
    w.page.goto(f"{url}studies/{searched.study}")
    w.page.wait_for_selector(LEADERBOARD_CELL, timeout=WAIT_MS)
    writer = optuna.load_study(study_name=searched.study, storage=JournalStorage(JournalFileBackend(journal)))
    template = writer.best_trial
    writer.add_trial(optuna.trial.create_trial(
        state=TrialState.COMPLETE, value=1.0, params=template.params, distributions=template.distributions,
        user_attrs={**template.user_attrs, "metrics": {**template.user_attrs["metrics"], "val_metric": 1.0}},
    ))
    new = searched.trials
    w.page.wait_for_function(f"() => document.querySelectorAll('{LEADERBOARD_ROWS}').length === {new + 1}",
                             timeout=WAIT_MS)
    assert rows.first.locator("td[data-dash-column='number']").text_content() == str(new)  # the new best leads
    w.page.wait_for_function(f"() => document.querySelector('#best-link').innerText === 'trial {new}'", timeout=WAIT_MS)
    # the default curve selection follows the search: the new best is among the drawn curves
    w.page.wait_for_function(
        """n => { const gd = document.querySelector('#curves-graph .js-plotly-plot');
                  return gd && gd._fullData && gd._fullData.some(t => t.name === `trial ${n}`); }""",
        arg=new, timeout=WAIT_MS)

    w.page.click("#nav-activations")
    _wait_url(w, f"{url}studies/{searched.study}/activations")
    crit = w.wait_for_traces("criticality-graph")
    assert sum(t["name"].startswith("K0") for t in crit) == 4
    assert "universality" in w.page.locator("#criticality-report").inner_text()
    w.shot(tmp_path / "dashboard_activation.png")
    w.assert_clean()

    # a wrong URL is a 404 page that says so and lists what exists, never another study's data
    response = w.page.goto(f"{url}studies/nosuchstudy/trials/1")
    assert response.status == 404
    text = w.page.locator("#not-found").inner_text()
    assert "no study 'nosuchstudy'" in text
    assert f"{searched.study} ({searched.trials + 1} trials)" in text  # with the one added above
    w.shot(tmp_path / "dashboard_404.png")
    w.page.locator(f"#not-found a[href='/studies/{searched.study}']").first.click()
    w.page.wait_for_selector(LEADERBOARD_CELL, timeout=WAIT_MS)
    assert w.problems[0] == f"HTTP 404 {url}studies/nosuchstudy/trials/1"  # and the console's line about it
    assert all("404" in p for p in w.problems), w.problems
    w.problems.clear()

    # plotly.js is optnas's partial bundle, never Dash's full one, and it holds every trace type drawn above
    assert {s for s in w.scripts if "plotly" in s} == {f"{url.rstrip('/')}{plotlyjs.script_url()}"}
    registered = set(w.page.evaluate("() => Object.keys(Plotly.PlotSchema.get().traces)"))
    assert registered == plotlyjs.TRACES and w.types <= registered and {"bar", "parcoords", "scattergl"} & w.types


def test_leaderboard_scrolls_with_trial_and_status_pinned(browser, served, searched, tmp_path):
    """In a window too narrow for every column, the leaderboard scrolls sideways; trial and status stay put."""
    url, _ = served
    w = Watched(browser, url)
    w.page.set_viewport_size({"width": 760, "height": 900})
    w.page.goto(f"{url}studies/{searched.study}")
    w.page.wait_for_selector(LEADERBOARD_CELL, timeout=WAIT_MS)
    pinned = "#leaderboard .dash-fixed-column td[data-dash-column='{}']:not(.phantom-cell)"
    far = "#leaderboard .dash-fixed-content td[data-dash-column='certified']:not(.phantom-cell)"
    trial, status, certified = (w.page.locator(pinned.format("number")).first,
                                w.page.locator(pinned.format("status")).first, w.page.locator(far).first)
    before = trial.bounding_box(), status.bounding_box()
    algorithm_x = w.page.locator(LEADERBOARD_CELL).first.bounding_box()["x"]
    width = w.page.evaluate("() => window.innerWidth")
    assert certified.bounding_box()["x"] > width  # off to the right
    certified.hover()  # the mouse wheel's way there: scrolls the grid until the cell is in view
    w.page.mouse.wheel(2000, 0)
    w.page.wait_for_function(f"""() => {{ const c = document.querySelector("{far}").getBoundingClientRect();
                                       return c.right <= {width}; }}""", timeout=WAIT_MS)
    assert (trial.bounding_box(), status.bounding_box()) == before  # pinned: not moved by the scroll
    assert w.page.locator(LEADERBOARD_CELL).first.bounding_box()["x"] < algorithm_x  # the rest did move
    w.shot(tmp_path / "leaderboard_scrolled.png")
    trial.click()  # a pinned cell opens its trial like any other
    number = int(trial.text_content().replace(",", ""))
    _wait_trial(w, url, searched.study, number)
    w.assert_clean()


def test_study_switch_resets_the_study_state(browser, served, searched, edge_study_maker):
    url, journal = served
    edge_study_maker(JournalStorage(JournalFileBackend(journal)))  # a second, newer study
    w = Watched(browser, url)
    w.page.goto(url)
    _wait_url(w, f"{url}studies/edge")  # the newest study first, by a redirect: no history entry for "/"
    assert w.page.evaluate("() => history.length") == 2  # the blank start page and the study
    w.page.wait_for_function("() => document.querySelector('#best-link')?.innerText === 'trial 1'", timeout=WAIT_MS)
    w.page.goto(f"{url}studies/{searched.study}/trials/4")
    _wait_trial(w, url, searched.study, 4)
    w.page.click("#study")
    w.page.get_by_role("option", name="edge").click()
    _wait_url(w, f"{url}studies/edge")  # the study's own overview: no trial carried over
    w.page.wait_for_function(
        """() => { const gd = document.querySelector('#curves-graph .js-plotly-plot');
                   return gd && gd._fullData
                          && gd._fullData.map(t => t.name).join() === 'trial 1,trial 5,trial 0'; }""",
        timeout=WAIT_MS)
    assert "3 complete, 1 pruned, 1 diverged, 1 running" in w.page.locator("header .status").first.inner_text()
    w.assert_clean()


def test_report_opens_offline(browser, searched, tmp_path):
    out = tmp_path / "report.html"
    write_report(searched.storage, searched.study, out)
    w = Watched(browser, f"file://{out}")
    w.page.goto(f"file://{out}", timeout=WAIT_MS)  # 4.7 MB of inlined plotly.js, parsed on a loaded machine
    w.page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].every(gd => gd.data && "
                             "gd.querySelector('.main-svg'))", timeout=WAIT_MS)
    plots = w.page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => gd.data.length)")
    assert len(plots) == 9 and all(n > 0 for n in plots)
    w.shot(tmp_path / "report.png")
    assert w.problems == []


def _many_trials_journal(path: Path, n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A journal of one ``crowd`` study with ``n`` complete trials (metric and cost spread like a search's),
    built by Optuna's JournalStorage in memory (the scale benchmark's `MemoryJournal`) and written once (``n``
    appends to a file take far longer)."""
    import random

    from optuna.distributions import IntDistribution
    from optuna.trial import create_trial

    import optnas

    memory = bench_script("synthetic", monkeypatch, folder="dashboard_scale").MemoryJournal()
    study = optuna.create_study(study_name="crowd", storage=JournalStorage(memory), directions=["maximize", "minimize"])
    objectives = [{"name": "val_metric", "direction": "maximize"}, {"name": "params", "direction": "minimize"}]
    study.set_user_attr("optnas", {"objectives": objectives, "task": {"name": "rings", "params": {}}})
    base = [{"spec": optnas.ArchSpec(algorithm=a, block="mlp2", block_params={"hidden": 8}, depth=4, width=8).to_dict(),
             "status": "complete", "metrics": {"test_metric": 0.5, "flops": 200, "wall_s": 1.0, "epochs": 2}}
            for a in ("gd", "nesterov", "fista")]
    rng = random.Random(0)
    trials = []
    for i in range(n):
        params = rng.randint(100, 100_000)
        val = round(min(0.99, max(0.3, 0.6 + 0.05 * math.log10(params) + rng.gauss(0, 0.05))), 4)
        attrs = {**base[i % 3], "metrics": {**base[i % 3]["metrics"], "val_metric": val, "params": params}}
        trials.append(create_trial(state=TrialState.COMPLETE, values=[val, float(params)], params={"depth": 4},
                                   distributions={"depth": IntDistribution(1, 9)}, user_attrs=attrs))
    study.add_trials(trials)
    path.write_text("".join(json.dumps(log) + "\n" for log in memory.logs))


# the points of the first trace named ``name``: their trial numbers and x values
TRACE_JS = """([id, name]) => { const gd = document.querySelector(`#${id} .js-plotly-plot`);
  const t = gd._fullData.find(t => t.name.startsWith(name));
  return {numbers: Array.from(t.customdata), x: Array.from(t.x)}; }"""
TITLE_JS = "id => document.querySelector(`#${id} .gtitle`)?.textContent || ''"


def test_decimated_plots_keep_every_trial_reachable(browser, tmp_path, monkeypatch):
    """Above the threshold (lowered to 300 here through its documented variable) the history and Pareto
    plots draw one trial per screen cell; a click opens the drawn trial, a mouse-drag zoom redraws the range
    with every trial in it, a double-click returns to the overview, the front and the best are always there."""
    from werkzeug.serving import make_server

    from optnas.dashboard import StudySource
    from optnas.dashboard import figures as F

    monkeypatch.setenv("OPTNAS_DASHBOARD_DECIMATE_FROM", "300")
    journal = tmp_path / "crowd.log"
    _many_trials_journal(journal, 2500, monkeypatch)
    df = StudySource(str(journal)).frame("crowd")
    pareto_truth = F.pareto_data(df, "params")
    best = F.history_data(df).best_trial
    app = create_app(str(journal), refresh_s=60.0)
    app.enable_dev_tools(debug=True, dev_tools_hot_reload=False, dev_tools_ui=True, dev_tools_props_check=True,
                         dev_tools_disable_version_check=True)  # a callback error shows on the page
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/"
    try:
        w = Watched(browser, url)
        w.page.goto(f"{url}studies/crowd")
        history = w.wait_for_traces("history-graph")
        drawn = history[0]["n"]
        assert history[0]["name"] == "complete trial (2500)" and 300 < drawn < 2500
        assert {"name": f"best trial ({best})", "type": "scatter", "n": 1} in history
        assert f"2,500 trials, {drawn:,} drawn" in w.page.evaluate(TITLE_JS, "history-graph")
        pareto = w.wait_for_traces("pareto-graph")
        front = next(t for t in pareto if t["name"].startswith("Pareto front"))
        assert front["n"] == int(pareto_truth.front.sum())  # the whole front, however many are decimated
        assert next(t for t in pareto if t["name"].startswith("dominated"))["n"] < int((~pareto_truth.front).sum())
        assert {"name": f"best trial ({best})", "type": "scatter", "n": 1} in pareto
        w.page.wait_for_timeout(500)
        w.shot(tmp_path / "decimated_overview.png")

        # a click on a drawn point (the lowest: alone in its corner, where the mouse hits no neighbour) opens it
        drawn_y = w.page.evaluate(TRACE_JS.replace("x: Array.from(t.x)", "x: Array.from(t.y)"),
                                  ["history-graph", "complete"])["x"]
        number = _click_point(w, "history-graph", "complete", drawn_y.index(min(drawn_y)))
        _wait_trial(w, url, "crowd", number)
        w.page.go_back()
        w.page.wait_for_selector("#page-overview:not([style*='none'])", timeout=WAIT_MS)
        w.wait_for_traces("history-graph")

        # a mouse-drag zoom over trials ~1000..1150: the range redrawn with every trial in it
        box = w.page.evaluate("""id => { const gd = document.querySelector(`#${id} .js-plotly-plot`);
            const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
            return {x0: r.left + xa._offset + xa.l2p(1000), x1: r.left + xa._offset + xa.l2p(1150),
                    y0: r.top + ya._offset + 2, y1: r.top + ya._offset + ya._length - 2}; }""", "history-graph")
        before = w.page.evaluate(TRACE_JS, ["history-graph", "complete"])
        w.page.mouse.move(box["x0"], box["y0"])
        w.page.mouse.down()
        w.page.mouse.move((box["x0"] + box["x1"]) / 2, (box["y0"] + box["y1"]) / 2, steps=5)
        w.page.mouse.move(box["x1"], box["y1"], steps=5)
        w.page.mouse.up()
        w.page.wait_for_function(f"() => ({TITLE_JS})('history-graph').includes('zoomed: all')", timeout=WAIT_MS)
        after = w.page.evaluate(TRACE_JS, ["history-graph", "complete"])
        lo, hi = min(after["x"]), max(after["x"])
        inside_before = [n for n, x in zip(before["numbers"], before["x"], strict=True) if lo <= x <= hi]
        assert sorted(after["numbers"]) == list(range(int(lo), int(hi) + 1))  # every trial of the range
        assert len(after["numbers"]) > len(inside_before)
        assert 100 < hi - lo < 200
        w.page.wait_for_timeout(500)
        w.shot(tmp_path / "decimated_zoomed.png")

        # a double-click returns to the overview, decimated again
        w.page.mouse.dblclick((box["x0"] + box["x1"]) / 2, (box["y0"] + box["y1"]) / 2)
        w.page.wait_for_function(f"() => ({TITLE_JS})('history-graph').includes('zoom to see all')", timeout=WAIT_MS)
        assert w.traces("history-graph")[0]["n"] == drawn
        w.assert_clean()
    finally:
        server.shutdown()
        thread.join(timeout=10)
