"""Browser draw time of a study's overview, optnas dashboard and optuna-dashboard side by side, on the same
study file and machine, in Debian's headless Chromium; screenshots of both.

    python benchmarks/dashboard_scale/browser.py JOURNAL [--runs 3] [--out benchmarks/dashboard_scale]
        [--timeout 300] [--name browser]      # results: OUT/NAME.json, screenshots OUT/NAME_<kind>.png

Both servers bind 127.0.0.1 only and are started by their own CLI (``optnas dashboard``,
``optuna-dashboard``). Timed: from navigation start until the overview is fully drawn, in a fresh browser
page; *cold* is the first page of a freshly started server, opened as soon as its port accepts (the study
is read from the file each time), *warm* a second page on the same server. optnas: the leaderboard's rows,
the best-trial card and the history, Pareto-front and learning-curve figures drawn by Plotly.
optuna-dashboard: its study page's Plotly figures drawn.
Results go to ``browser.json`` beside this file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OPTNAS_DRAWN = """() => ['history-graph', 'pareto-graph', 'curves-graph'].every(id => {
    const gd = document.querySelector(`#${id} .js-plotly-plot`);
    return gd && gd._fullData && gd._fullData.length && gd.querySelector('.main-svg'); })
  && document.querySelectorAll('#leaderboard tbody tr td').length > 0
  && document.querySelector('#best-link') !== null"""
# optuna-dashboard's study page: every Plotly figure on it has its traces and SVG, and there are at least two
OPTUNA_DRAWN = """() => { const gds = [...document.querySelectorAll('.js-plotly-plot')];
  return gds.length >= 2 && gds.every(gd => gd._fullData && gd._fullData.length && gd.querySelector('.main-svg')); }"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], limit: float = 300.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no server on 127.0.0.1:{port} after {limit:.0f} s")


def _server(kind: str, journal: str, port: int) -> subprocess.Popen[bytes]:
    if kind == "optnas":  # as users start it (the CLI reads the newest study while the browser loads)
        cmd = [sys.executable, "-m", "optnas", "dashboard", "--storage", journal, "--port", str(port)]
    else:
        exe = shutil.which("optuna-dashboard") or "optuna-dashboard"
        cmd = [exe, journal, "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _url(kind: str, port: int, study: str, study_id: int) -> str:
    if kind == "optnas":
        return f"http://127.0.0.1:{port}/studies/{study}"
    return f"http://127.0.0.1:{port}/dashboard/studies/{study_id}"


def measure(browser: Any, kind: str, journal: str, study: str, shot: Path | None,
            timeout_s: float = 300.0) -> dict[str, float | None]:
    """Seconds from navigation start until the overview is drawn: ``cold`` (the server's first page: it
    reads the study) and ``warm`` (a second, fresh page on the same server: its caches hold the study); and
    ``start``, from the server command's launch until the cold page was drawn (its imports and its reading
    of the file included). None: not drawn within ``timeout_s`` (the server's start included)."""
    port = _port()
    launched = time.monotonic()
    proc = _server(kind, journal, port)
    try:
        _wait_port(port, proc, timeout_s)
        cold = _draw(browser, kind, port, study, None, timeout_s)
        start = time.monotonic() - launched if cold else None  # the server's start included
        return {"cold": cold, "warm": _draw(browser, kind, port, study, shot, timeout_s) if cold else None,
                "start": start}
    except RuntimeError as exc:  # the server never answered, or exited
        print(f"{kind}: {exc}", flush=True)
        return {"cold": None, "warm": None, "start": None}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _draw(browser: Any, kind: str, port: int, study: str, shot: Path | None, timeout_s: float) -> float | None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(_url(kind, port, study, 0), wait_until="commit")
        try:
            page.wait_for_function(OPTNAS_DRAWN if kind == "optnas" else OPTUNA_DRAWN, timeout=timeout_s * 1000,
                                   polling=50)
        except PlaywrightTimeout:
            if shot is not None:  # what it shows instead
                page.screenshot(path=str(shot), timeout=300000)
            return None
        seconds = page.evaluate("() => performance.now() / 1000")  # since navigation start, in the page
        if shot is not None:
            page.wait_for_timeout(1000)
            page.screenshot(path=str(shot), full_page=True, timeout=300000)  # slow on a loaded machine
        return float(seconds)
    finally:
        page.close()


def _stat(stat: str, values: list[float | None]) -> float | None:
    """``best`` or ``median`` of the runs; a run that never drew (None) counts as slower than any that did."""
    order = sorted(values, key=lambda v: float("inf") if v is None else v)
    return order[0] if stat == "best" else order[len(order) // 2]


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("journal")
    parser.add_argument("--study", default="synthetic")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent))
    parser.add_argument("--chromium", default=os.environ.get("OPTNAS_CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a page counts as not drawn")
    parser.add_argument("--name", default="browser", help="results NAME.json, screenshots NAME_<kind>.png")
    parser.add_argument("--fresh-browser", action="store_true",
                        help="a new Chromium for each server (default: one for all runs, as before)")
    args = parser.parse_args()
    out = Path(args.out)
    results: dict[str, Any] = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()}",
                               "journal_mb": round(os.path.getsize(args.journal) / 1e6, 1), "timeout_s": args.timeout,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "fresh_browser": args.fresh_browser, "runs": {}}
    with sync_playwright() as p:
        browser = None
        for i in range(args.runs):
            for kind in ("optnas", "optuna-dashboard"):
                shot = out / f"{args.name}_{kind}.png" if i == 0 else None
                if browser is None or args.fresh_browser:
                    if browser is not None:
                        browser.close()
                    browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
                seconds = measure(browser, kind, args.journal, args.study, shot, args.timeout)
                results["runs"].setdefault(kind, []).append(
                    {k: None if v is None else round(v, 2) for k, v in seconds.items()})
                print(f"{kind}: overview drawn {seconds} s after navigation", flush=True)
        if browser is not None:
            browser.close()
    for stat in ("best", "median"):
        results[stat] = {k: {m: _stat(stat, [r.get(m) for r in v]) for m in ("cold", "warm", "start")}
                         for k, v in results["runs"].items()}
    results["load_after"] = os.getloadavg()
    (out / f"{args.name}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
