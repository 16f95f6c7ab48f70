"""Export and report write whole or not at all: a full disk, a read-only mount and a dangling symbolic link
are one line (the path and the OS error), exit 2, and nothing half-written is left (real tmpfs mounts)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from optnas.cli import main

from .conftest import fill

EXPORT = ["export", "--study", "rings"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().err.strip().splitlines()


def _export(stored: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str]]:
    return _run(capsys, *EXPORT, "--storage", str(stored), "--out", str(out), *extra)


def _report(stored: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    return _run(capsys, "report", "--storage", str(stored), "-o", str(out))


def _one_line(code: int, err: list[str], path: Path, reason: str) -> None:
    assert code == 2 and len(err) == 1, err
    assert repr(str(path)) in err[0] and reason in err[0], err


def test_export_on_a_full_disk_leaves_nothing(stored: Path, mount: Callable[..., Path], capsys) -> None:
    disk = mount("256k")
    fill(disk, 12_000)
    code, err = _export(stored, disk / "best", capsys)
    _one_line(code, err, disk / "best", "[Errno 28] No space left on device")
    assert sorted(p.name for p in disk.iterdir()) == ["filler"]  # no folder, no temporary one


def test_force_on_a_full_disk_keeps_the_earlier_export_whole(stored: Path, mount: Callable[..., Path],
                                                             capsys) -> None:
    disk = mount("1m")
    assert _export(stored, disk / "best", capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in (disk / "best").iterdir()}
    fill(disk, 12_000)
    code, err = _export(stored, disk / "best", capsys, "--force")
    _one_line(code, err, disk / "best", "No space left on device")
    assert {p.name: p.read_bytes() for p in (disk / "best").iterdir()} == before  # marker included
    fill(disk, 900_000)  # space again: --force replaces it (the marker was kept, so it is allowed)
    assert _export(stored, disk / "best", capsys, "--force")[0] == 0


def test_export_and_report_on_a_read_only_mount(stored: Path, mount: Callable[..., Path], capsys) -> None:
    disk = mount("64k", read_only=True)
    _one_line(*_export(stored, disk / "best", capsys), disk / "best", "Read-only file system")
    _one_line(*_report(stored, disk / "r.html", capsys), disk / "r.html", "Read-only file system")
    assert list(disk.iterdir()) == []


def test_report_on_a_full_disk_leaves_nothing(stored: Path, mount: Callable[..., Path], capsys) -> None:
    disk = mount("256k")
    fill(disk, 20_000)
    _one_line(*_report(stored, disk / "r.html", capsys), disk / "r.html", "No space left on device")
    assert sorted(p.name for p in disk.iterdir()) == ["filler"]


def test_a_dangling_symlink_is_one_line(stored: Path, tmp_path: Path, capsys) -> None:
    for name in ("best", "r.html"):
        (tmp_path / name).symlink_to(tmp_path / "gone" / name)
    _one_line(*_export(stored, tmp_path / "best", capsys), tmp_path / "best", "dangling symbolic link")
    _one_line(*_report(stored, tmp_path / "r.html", capsys), tmp_path / "r.html", "dangling symbolic link")
    assert not (tmp_path / "gone").exists()


def test_a_folder_of_user_files_is_not_told_to_pass_force(stored: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    for extra in ((), ("--force",)):
        code, err = _export(stored, tmp_path / "mine", capsys, *extra)
        assert code == 2 and len(err) == 1 and "no optnas export wrote (notes.txt)" in err[0], err
        assert "pass --force" not in err[0]
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_modes_follow_the_umask(stored: Path, tmp_path: Path, capsys, mask: int) -> None:
    old = os.umask(mask)
    try:
        assert _export(stored, tmp_path / "best", capsys)[0] == 0
        assert _report(stored, tmp_path / "r.html", capsys)[0] == 0
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "best").iterdir()] + [tmp_path / "r.html"]
    assert "weights.safetensors" in {p.name for p in files}
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(0o666 & ~mask)}
    assert oct((tmp_path / "best").stat().st_mode & 0o777) == oct(0o777 & ~mask)
    marker = json.loads((tmp_path / "best" / ".optnas-export").read_text())
    assert "weights.safetensors" in marker["files"]
