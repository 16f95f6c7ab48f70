"""The dashboard and the report in a real browser: Debian's headless Chromium driven by Playwright.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``; or set OPTNAS_CHROMIUM) and ``pip install
playwright`` (no browser download: Playwright drives the system Chromium). When either is missing these
tests FAIL with that message: they check what users see, so CI must provide both. Screenshots go to the
test's tmp dir, and also to $OPTNAS_SCREENSHOT_DIR when set.
"""

from __future__ import annotations

import json
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
