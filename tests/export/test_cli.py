"""`optnas export` as a command: its flags, its output, and bad input as a ValueError (the CLI's exit 2)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

import optnas
from optnas.cli import export_cmd

from .conftest import StudyMaker


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="optnas export")
    export_cmd.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture
def journal(maker: StudyMaker) -> str:
    s = maker.study("rings", [("val_metric", "maximize")])
    maker.trial(s, optnas.ArchSpec(algorithm="gd", depth=2, width=8), [0.7])
    maker.trial(s, optnas.ArchSpec(algorithm="proximal_point", depth=2, width=8), [0.8])
    return str(maker.journal)


def test_export_best_with_formats(journal: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "best"
    assert export_cmd.run(_parse("--storage", journal, "--study", "rings", "--out", str(out), "--format", "pt2")) == 0
    captured = capsys.readouterr()
    assert "exported trial 1 of study 'rings' (val_metric=0.8)" in captured.out
    assert "note: pt2 not written: this network has implicit layers" in captured.err
    assert (out / "model.py").is_file() and not (out / "model.pt2").exists()
    assert json.loads((out / "export.json").read_text())["source"]["trial"] == 1


def test_export_a_trial_number_then_refuse_to_overwrite(journal: str, tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "zero")
    assert export_cmd.run(_parse("--storage", journal, "--study", "rings", "--trial", "0", "--out", out)) == 0
    with pytest.raises(ValueError, match="is not empty"):
        export_cmd.run(_parse("--storage", journal, "--study", "rings", "--trial", "1", "--out", out))
    assert export_cmd.run(_parse("--storage", journal, "--study", "rings", "--trial", "1", "--out", out,
                                 "--force")) == 0
    assert json.loads((Path(out) / "spec.json").read_text())["algorithm"] == "proximal_point"


def test_study_is_required() -> None:
    with pytest.raises(SystemExit):
        _parse("--out", "x")


def test_unknown_study_is_a_value_error(journal: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown study 'other'"):
        export_cmd.run(_parse("--storage", journal, "--study", "other", "--out", str(tmp_path / "o")))


def test_force_never_replaces_a_users_own_files_in_home(journal: str, tmp_path: Path, monkeypatch, capsys) -> None:
    from optnas.cli import main

    home = tmp_path / "home"
    home.mkdir()
    (home / "README.md").write_text("my notes")
    (home / "model.py").write_text("my model")
    monkeypatch.setenv("HOME", str(home))
    assert main(["export", "--storage", journal, "--study", "rings", "--out", "~", "--force"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--out {str(home)!r} holds files that no optnas export wrote" in err[0]
    assert sorted(p.name for p in home.iterdir()) == ["README.md", "model.py"]
    assert (home / "README.md").read_text() == "my notes" and (home / "model.py").read_text() == "my model"
    # ~ is expanded, and an earlier export there is replaced by --force
    for trial in ("0", "1"):
        assert main(["export", "--storage", journal, "--study", "rings", "--trial", trial, "--out", "~/best",
                     "--force"]) == 0
    assert json.loads((home / "best" / "export.json").read_text())["source"]["trial"] == 1
    assert not (Path.cwd() / "~").exists()
