"""The output folder: refuse a non-empty one without ``force``, write into a temporary folder, then publish.

Nothing is half-written: every file is produced and checked in a temporary folder first, and only a
complete export is moved into place, its marker file (`.optnas-export`, listing what it wrote) last.
``force`` replaces only an earlier optnas export, a folder holding that marker: the files the marker
lists are removed (stale optional formats too), any other file in the folder is left alone. A folder
without the marker (a home directory, a project) is never touched, even with ``force``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

# Every file an export may write; `--force` removes these (and only these) before publishing.
FILES = (
    "model.py", "weights.safetensors", "spec.json", "certificate.json", "metrics.json", "export.json",
    "README.md", "model.pt2", "model.onnx",
)
MARKER = ".optnas-export"  # written by an export after its files: what it wrote, so --force may replace it


def _earlier_export(path: Path) -> list[str] | None:
    """The files an earlier optnas export wrote in ``path`` (from its marker), or None if it holds none."""
    try:
        record = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # no marker, or not one optnas wrote
        return None
    files = record.get("files") if isinstance(record, dict) and record.get("written_by") == "optnas export" else None
    if not isinstance(files, list):
        return None
    return [name for name in files if name in FILES]  # never more than an export can write


def check_out(out: str | os.PathLike[str], force: bool) -> Path:
    """``out`` as a Path (``~`` expanded), after checking it may be written (call it before expensive work).

    Example:
        >>> check_out("/nonexistent/optnas-export", force=False)
        PosixPath('/nonexistent/optnas-export')
    """
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {str(path)!r} exists and is not a directory")
    present = sorted(p.name for p in path.iterdir()) if path.is_dir() else []
    if not present:
        return path
    shown = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
    if not force:
        raise ValueError(
            f"--out {str(path)!r} is not empty ({shown}); pass --force (force=True) to overwrite an export there"
        )
    if _earlier_export(path) is None:
        raise ValueError(
            f"--out {str(path)!r} holds files that no optnas export wrote ({shown}): --force only replaces an "
            f"earlier export (a folder with its {MARKER} file); choose a new or empty folder"
        )
    return path


def publish(staging: Path, out: Path, force: bool) -> None:
    """Move the finished files from ``staging`` into ``out``, then write the marker that lists them."""
    check_out(out, force)  # again: the folder may have filled up while we worked
    out.mkdir(parents=True, exist_ok=True)
    earlier = _earlier_export(out) if force else None
    if earlier is not None:
        (out / MARKER).unlink()  # first: a crash below leaves a folder --force will not touch
        for name in earlier:
            (out / name).unlink(missing_ok=True)
    names = sorted(item.name for item in staging.iterdir())
    for name in names:
        shutil.move(str(staging / name), str(out / name))
    record = {"written_by": "optnas export", "files": names}
    (out / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
