"""A journal whose tail is cut is read with one line saying so, by every command that reads it; the repair
(`optnas search --resume`) says a cut tail, not dead workers, lost the last records."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import optuna
import pytest

import optnas.results
from optnas.cli import main
from optnas.dashboard import StudySource
from optnas.errors import CutJournalWarning
from tests._support.cli import run_cli

OPTNAS = str(Path(sys.executable).parent / "optnas")
CHECKOUT = str(Path(__file__).resolve().parents[2])


def _cut(journal: Path, keep_of_last: int = 20) -> int:
    """Cut the journal's last record after ``keep_of_last`` bytes (as a writer killed mid-record leaves it)."""
    data = journal.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    journal.write_bytes(data[: start + keep_of_last])
    return keep_of_last


def _warning_line(err: str, cut: int) -> None:
    lines = [line for line in err.splitlines() if "warning" in line]
    assert len(lines) == 1, err
    assert f"its last {cut} bytes are a record cut mid-write" in lines[0], lines
    assert "trials may be missing" in lines[0] and "optnas search --resume" in lines[0]


@pytest.mark.parametrize("command", ["report", "export"])
def test_report_and_export_say_the_tail_is_cut(stored: Path, tmp_path: Path, capsys, command: str) -> None:
    cut = _cut(stored)
    out = ["-o", str(tmp_path / "r.html")] if command == "report" else ["--out", str(tmp_path / "o")]
    size = stored.stat().st_size
    # the cut record is the trial's last (its tell): what is read has no finished trial to export
    main([command, "--storage", str(stored), "--study", "rings", *out])
    _warning_line(capsys.readouterr().err, cut)
    assert stored.stat().st_size == size  # readers never write: nothing repaired here


def test_results_load_and_the_dashboard_source_warn(stored: Path) -> None:
    cut = _cut(stored, 7)
    size = stored.stat().st_size
    with pytest.warns(CutJournalWarning, match=f"its last {cut} bytes"):
        df = optnas.results.load(str(stored), "rings")
    assert len(df) == 1
    _cut(stored, 6)  # another cut: said again (once per file and size)
    with pytest.warns(CutJournalWarning, match="its last 6 bytes"):
        StudySource(str(stored))
    assert stored.stat().st_size == size - 1


def test_the_dashboard_command_says_it_first(stored: Path) -> None:
    cut = _cut(stored)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": CHECKOUT}
    proc = subprocess.Popen([OPTNAS, "dashboard", "--storage", str(stored), "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    _warning_line(first, cut)


SPACE = """
task: {name: rings, params: {n_samples: 200}}
train: {epochs: 1, batch_size: 64}
space:
  algorithm: {gd: {}}
  block: {mlp2: {hidden: 4}}
  depth: 2
  width: [4, 8]
pruner: {name: none}
trials: 2
"""


def test_resume_says_a_cut_tail_not_dead_workers(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(textwrap.dedent(SPACE))
    env = {**os.environ, "PYTHONPATH": CHECKOUT, "OPTNAS_LOCK_DIR": str(tmp_path / "locks")}
    run = ["search", "s.yaml", "--storage", "runs/j.log", "--no-progress"]
    done = subprocess.run([OPTNAS, *run], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr
    journal = tmp_path / "runs" / "j.log"
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    before = [t.state.name for t in optuna.load_study(study_name="s", storage=storage).trials]
    # cut inside the last record that finishes a trial: that trial reads as RUNNING afterwards
    lines = journal.read_bytes().splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if b'"state":1' in line)
    journal.write_bytes(b"".join(lines[:last]) + lines[last][:15])
    done = run_cli(*run, "--resume", cwd=tmp_path, env={"OPTNAS_LOCK_DIR": env["OPTNAS_LOCK_DIR"]})  # main(argv)
    assert done.returncode == 0, done.stderr
    assert "its last record was cut off" in done.stderr, done.stderr
    assert "the journal's cut tail (repaired above) lost their last records" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert before == ["COMPLETE", "COMPLETE"]
