"""CPU seconds of a study overview's load, two versions of optnas side by side: what a shared, loaded machine
still lets one compare (wall times there say more about the other jobs than about the code).

    python benchmarks/dashboard_scale/cpu.py JOURNAL before=/path/to/old/checkout after=. [--runs 2]

Each run starts ``optnas dashboard`` from each checkout in turn (interleaved; ``PYTHONPATH`` points at it) on
the same journal and opens its overview in the same headless Chromium as `browser.py`: *cold* (the server's
first page), then *warm* (a second page). For each load: wall seconds in the page (`browser.py`'s measure),
CPU seconds of every Chromium process (renderer, GPU process with its software WebGL, browser) and of the
server process, from ``/proc`` (Linux). Results: ``OUT/NAME.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser as B  # this folder's script, not a package

TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    """utime + stime of ``pid`` in seconds (0 once it has exited)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    todo, seen = [root], []
    while todo:
        pid = todo.pop()
        seen.append(pid)
        todo += children.get(pid, [])
    return seen


def _chromium_cpu() -> float:
    total = 0.0
    for pid in _descendants(os.getpid()):
        try:
            if b"chrom" in Path(f"/proc/{pid}/cmdline").read_bytes():
                total += _cpu(pid)
        except OSError:
            continue
    return total


def _server(code: str, journal: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(code).resolve())}
    cmd = [sys.executable, "-m", "optnas", "dashboard", "--storage", journal, "--port", str(port)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _load(browser: Any, port: int, server: subprocess.Popen[bytes], study: str, timeout_s: float) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        chromium, served = _chromium_cpu(), _cpu(server.pid)
        page.goto(f"http://127.0.0.1:{port}/studies/{study}", wait_until="commit")
        page.wait_for_function(B.OPTNAS_DRAWN, timeout=timeout_s * 1000, polling=50)
        wall = page.evaluate("() => performance.now() / 1000")
        return {"wall": round(wall, 2), "chromium_cpu": round(_chromium_cpu() - chromium, 2),
                "server_cpu": round(_cpu(server.pid) - served, 2)}
    finally:
        page.close()


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("journal")
    parser.add_argument("code", nargs="+", help="NAME=CHECKOUT: an optnas source tree to serve from")
    parser.add_argument("--study", default="synthetic")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--chromium", default=os.environ.get("OPTNAS_CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent))
    parser.add_argument("--name", default="cpu")
    args = parser.parse_args()
    codes = dict(c.split("=", 1) for c in args.code)
    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "load_before": os.getloadavg(),
                               "codes": codes, "runs": {name: [] for name in codes}}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=B.ARGS)
        for _ in range(args.runs):
            for name, code in codes.items():
                port = B._port()
                server = _server(code, args.journal, port)
                try:
                    B._wait_port(port, server, args.timeout)
                    run = {"cold": _load(browser, port, server, args.study, args.timeout)}
                    run["warm"] = _load(browser, port, server, args.study, args.timeout)
                finally:
                    server.terminate()
                    server.wait(timeout=30)
                run["load"] = round(os.getloadavg()[0], 1)
                results["runs"][name].append(run)
                print(name, json.dumps(run), flush=True)
        browser.close()
    results["median"] = {name: {k: {m: statistics.median(r[k][m] for r in runs) for m in runs[0][k]}
                                for k in ("cold", "warm")} for name, runs in results["runs"].items()}
    results["load_after"] = os.getloadavg()
    (Path(args.out) / f"{args.name}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results["median"], indent=2))


if __name__ == "__main__":
    main()
