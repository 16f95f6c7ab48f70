"""`optnas report` and `optnas dashboard` through the real CLI entry point (`optnas.cli.main`)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import optuna
import pytest

import optnas.cli
from optnas.dashboard.serve import is_loopback, listen, warn_if_exposed
from optnas.errors import UsageError

ENTRIES = {
    "dashboard": ("dashboard_cmd", "browse studies in a local web app (read-only)"),
    "report": ("report_cmd", "write a self-contained HTML report of a study"),
}


@pytest.fixture
def cli(monkeypatch, capsys):
    """``cli(*argv) -> (exit code, stdout, stderr)``, with this issue's commands registered as the lead will."""
    for name, entry in ENTRIES.items():
        monkeypatch.setitem(optnas.cli.COMMANDS, name, entry)

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = optnas.cli.main(list(argv))
        except SystemExit as exc:  # argparse errors
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_report_is_self_contained_and_complete(cli, searched, tmp_path):
    out = tmp_path / "report.html"
    code, stdout, err = cli("report", "--storage", searched.storage, "-o", str(out))
    assert code == 0, err
    assert f"wrote {out}: study 'tiny', 6 trials" in stdout
    html = out.read_text()
    assert html.count("plotly.js v") == 1  # inlined once, used by every figure
    assert not re.search(r"<script[^>]+src=", html) and not re.search(r"<link[^>]+href=\"?https?:", html)
    assert "cdn.plot.ly/plotly" not in html
    figures = html.count('class="plotly-graph-div"')
    # history, 3 Pareto fronts, parallel coordinates, curves, the best trial's architecture, 2 activations
    assert figures == 9
    for text in ("Leaderboard (best 6 of 6 trials)", "Pareto front: validation metric against FLOPs per sample",
                 "Certificate: certified", "two_layer_structure", "optnas export --storage", "scale-invariant"):
        assert text in html, text
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left behind
    assert oct(out.stat().st_mode & 0o777) == "0o644"


def test_report_refuses_bad_input_with_one_line_and_keeps_the_old_file(cli, searched, tmp_path):
    out = tmp_path / "report.html"
    out.write_text("previous report")
    for argv, message in [
        (["--storage", searched.storage, "--study", "nope"], "unknown study 'nope'"),
        (["--storage", str(tmp_path / "missing.log")], "no such journal file"),
    ]:
        code, _, err = cli("report", *argv, "-o", str(out))
        assert code == 2 and message in err and err.count("\n") == 1, err
    assert out.read_text() == "previous report"
    code, _, err = cli("report", "--storage", searched.storage, "-o", str(tmp_path / "no" / "dir" / "r.html"))
    assert code == 2 and "does not exist" in err
    code, _, err = cli("report", "--storage", searched.storage, "-o", str(tmp_path))
    assert code == 2 and "is a directory" in err
    code, _, err = cli("report", "--storage", searched.storage)
    assert code == 2 and "-o/--output" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_report_needs_study_when_the_storage_holds_several(cli, tmp_path, edge_study_maker):
    url = f"sqlite:///{tmp_path / 'two.db'}"
    edge_study_maker(url, "first")
    optuna.create_study(study_name="second", storage=url)
    code, _, err = cli("report", "--storage", url, "-o", str(tmp_path / "r.html"))
    assert code == 2 and "--study is required" in err and "first, second" in err
    code, _, err = cli("report", "--storage", url, "--study", "second", "-o", str(tmp_path / "r.html"))
    assert code == 0, err
    assert "the study has no trials yet" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize("port", ["0", "70000"])
def test_dashboard_rejects_bad_ports(cli, searched, port):
    code, _, err = cli("dashboard", "--storage", searched.storage, "--port", port)
    assert code == 2 and f"--port {port} is invalid" in err
    code, _, err = cli("dashboard", "--storage", searched.storage, "--port", "http")
    assert code == 2 and "invalid int value" in err


def test_dashboard_rejects_a_bad_decimation_threshold(cli, searched, monkeypatch):
    monkeypatch.setenv("OPTNAS_DASHBOARD_DECIMATE_FROM", "many")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    code, out, err = cli("dashboard", "--storage", searched.storage, "--port", str(port))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "OPTNAS_DASHBOARD_DECIMATE_FROM='many' is invalid; valid: a positive integer (points in view)" in err


def test_dashboard_rejects_missing_storage_and_busy_port(cli, tmp_path, searched):
    code, _, err = cli("dashboard", "--storage", str(tmp_path / "none.log"))
    assert code == 2 and "no such journal file" in err and not (tmp_path / "none.log").exists()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = cli("dashboard", "--storage", searched.storage, "--port", str(port))
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err


def test_exposure_is_warned_about(capsys):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("myhost")
    warn_if_exposed("127.0.0.1")
    assert capsys.readouterr().err == ""
    warn_if_exposed("0.0.0.0")
    assert "--host 0.0.0.0 serves the dashboard beyond this machine" in capsys.readouterr().err
    with pytest.raises(UsageError, match="--port 0 is invalid"):
        listen("127.0.0.1", 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dashboard_command_serves_on_localhost_by_default(searched):
    port = _free_port()
    code = textwrap.dedent(f"""
        import sys, optnas.cli
        optnas.cli.COMMANDS.update({ENTRIES!r})
        sys.exit(optnas.cli.main(["dashboard", "--storage", {searched.storage!r}, "--port", "{port}"]))
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"optnas dashboard: http://127.0.0.1:{port}/"), (line, proc.stderr.read())
        deadline = time.monotonic() + 20
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert "<title>optnas dashboard</title>" in page
        layout = urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-layout", timeout=5).read().decode()
        assert "leaderboard" in layout and "(read-only)" in layout
        with socket.socket() as s:  # bound to loopback only: another local address does not answer
            s.settimeout(2)
            other = next((a for a in _local_addresses() if not a.startswith("127.")), None)
            if other is not None:
                assert s.connect_ex((other, port)) != 0
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert "warning" not in proc.stderr.read()


def _local_addresses() -> list[str]:
    try:
        return [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    except socket.gaierror:
        return []


def test_study_browser_is_a_thin_ready_made_dashboard(searched, monkeypatch):
    import runpy

    path = Path(__file__).parents[2] / "dashboards" / "study_browser.py"
    monkeypatch.setenv("OPTNAS_STORAGE", searched.storage)
    namespace = runpy.run_path(str(path), run_name="study_browser")
    assert type(namespace["app"]).__name__ == "Dash"
    assert len(path.read_text().splitlines()) < 40
