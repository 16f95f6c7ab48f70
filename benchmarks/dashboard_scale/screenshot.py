"""Screenshots of the dashboard (as served by ``optnas dashboard``, no dev tools) in Debian's headless Chromium,
with the browser-side time until the overview's figures are drawn.

    python benchmarks/dashboard_scale/screenshot.py STORAGE [--out benchmarks/dashboard_scale] [--trial N]

Needs /usr/bin/chromium (apt-get install -y chromium) and ``pip install playwright``.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from pathlib import Path

from werkzeug.serving import make_server

from optnas.dashboard import create_app

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
GRAPHS = ("history-graph", "pareto-graph", "curves-graph")  # the overview; parallel coordinates: analysis
DRAWN = """ids => ids.every(id => {
    const gd = document.querySelector(`#${id} .js-plotly-plot`);
    return gd && gd._fullData && gd._fullData.length && gd.querySelector('.main-svg'); })"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("storage")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent))
    parser.add_argument("--trial", type=int, default=None, help="trial page to capture (default: the best)")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    out = Path(args.out)

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, create_app(args.storage).server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            t = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("#leaderboard tbody tr td", timeout=60000)
            page.wait_for_function(DRAWN, arg=list(GRAPHS), timeout=60000)
            print(f"overview drawn {time.perf_counter() - t:.2f} s after navigation (browser + server)")
            page.wait_for_timeout(800)
            page.screenshot(path=str(out / "dashboard_overview.png"), full_page=True)
            if args.trial is not None:
                page.click("text=Trial")
                page.fill("#trial", str(args.trial))
                page.press("#trial", "Enter")
            else:
                page.locator("#leaderboard td[data-dash-column='algorithm']:not(.phantom-cell)").first.click()
            page.wait_for_selector("#architecture-graph .main-svg", timeout=60000)
            page.wait_for_timeout(800)
            page.screenshot(path=str(out / "dashboard_trial.png"), full_page=True)
            page.click("#nav-analysis")
            page.wait_for_function(DRAWN, arg=["timeline-graph", "parallel-graph", "importance-graph", "slice-graph"],
                                   timeout=300000)
            page.wait_for_timeout(800)
            page.screenshot(path=str(out / "dashboard_analysis.png"), full_page=True)
            page.click("text=Activations")
            page.wait_for_selector("#criticality-graph .main-svg", timeout=60000)
            page.wait_for_timeout(800)
            page.screenshot(path=str(out / "dashboard_activation.png"), full_page=True)
            browser.close()
            print("console errors:", errors or "none")
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
