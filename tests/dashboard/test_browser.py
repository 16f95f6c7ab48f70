"""The dashboard and the report in a real browser: Debian's headless Chromium driven by Playwright.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``; or set OPTNAS_CHROMIUM) and ``pip install
playwright`` (no browser download: Playwright drives the system Chromium). When either is missing these
tests FAIL with that message: they check what users see, so CI must provide both. Screenshots go to the
test's tmp dir, and also to $OPTNAS_SCREENSHOT_DIR when set.
"""

from __future__ import annotations

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

from optnas.dashboard import create_app, write_report

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Dash's dev-tools error UI (front-end, back-end and layout errors) and Dash's own error page
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
        self.problems: list[str] = []
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
        return self.page.evaluate(
            """id => { const gd = document.querySelector(`#${id} .js-plotly-plot`);
                       return gd && gd._fullData ? gd._fullData.map(t => ({type: t.type, name: t.name, n: t._length}))
                                                 : null; }""",
            graph_id,
        )

    def wait_for_traces(self, graph_id: str, timeout: float = 30000) -> list[dict[str, Any]]:
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


def test_dashboard_renders_a_real_study(browser, served, tmp_path, searched):
    url, journal = served
    w = Watched(browser, url)
    w.page.goto(url)
    w.page.wait_for_selector("#leaderboard tbody tr td[data-dash-column='algorithm']", timeout=30000)
    assert w.page.locator("#leaderboard tbody tr:has(td)").count() == searched.trials
    history = w.wait_for_traces("history-graph")
    assert [t["n"] for t in history] == [searched.trials, searched.trials]
    pareto = w.wait_for_traces("pareto-graph")
    assert {t["name"] for t in pareto} == {"dominated", "Pareto front"} and sum(t["n"] for t in pareto) == 6
    assert w.wait_for_traces("parallel-graph")[0]["type"] == "parcoords"
    assert len(w.wait_for_traces("curves-graph")) == 5  # the five best trials by default
    w.page.wait_for_timeout(500)
    w.shot(tmp_path / "dashboard_overview.png")
    w.assert_clean()

    # a new trial lands in the storage: the open page picks it up on its own (dcc.Interval)
    writer = optuna.load_study(study_name=searched.study, storage=JournalStorage(JournalFileBackend(journal)))
    template = writer.best_trial
    writer.add_trial(optuna.trial.create_trial(
        state=TrialState.COMPLETE, value=1.0, params=template.params, distributions=template.distributions,
        user_attrs={**template.user_attrs, "metrics": {**template.user_attrs["metrics"], "val_metric": 1.0}},
    ))
    w.page.wait_for_function("() => document.querySelectorAll('#leaderboard tbody tr:has(td)').length === 7",
                             timeout=20000)
    rows = w.page.locator("#leaderboard tbody tr:has(td)")  # the header row is in tbody too
    assert rows.first.locator("td[data-dash-column='number']").inner_text() == "6"  # the new best leads

    # a leaderboard row opens its trial page
    second = int(rows.nth(1).locator("td[data-dash-column='number']").inner_text())
    rows.nth(1).locator("td[data-dash-column='algorithm']").click()
    w.page.wait_for_selector("#certificate-table", timeout=20000)
    number = int(w.page.locator("#trial").input_value())
    assert number == second and w.page.locator("#trial-title").inner_text().startswith(f"trial {number}: COMPLETE")
    assert w.page.locator("#certificate-table tr").count() == 1 + 7  # header + every condition
    assert f"--trial {number} " in w.page.locator("#export-command").inner_text()
    arch = w.wait_for_traces("architecture-graph")
    assert any(t["name"] == "T (learnable)" for t in arch)
    w.shot(tmp_path / "dashboard_trial.png")
    w.assert_clean()

    w.page.click("text=Activations")
    crit = w.wait_for_traces("criticality-graph")
    assert sum(t["name"].startswith("K0") for t in crit) == 4
    assert "universality" in w.page.locator("#criticality-report").inner_text()
    w.shot(tmp_path / "dashboard_activation.png")
    w.assert_clean()


def test_report_opens_offline(browser, searched, tmp_path):
    out = tmp_path / "report.html"
    write_report(searched.storage, searched.study, out)
    w = Watched(browser, f"file://{out}")
    w.page.goto(f"file://{out}")
    w.page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].every(gd => gd.data && "
                             "gd.querySelector('.main-svg'))", timeout=30000)
    plots = w.page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => gd.data.length)")
    assert len(plots) == 9 and all(n > 0 for n in plots)
    w.shot(tmp_path / "report.png")
    assert w.problems == []
