"""The output folder: refuse a non-empty one without ``force``, write into a temporary folder, then publish.

Nothing is half-written: every file is produced and checked in a temporary folder *beside* the target
(`staging`: for a new ``out`` a hidden folder next to it, renamed to ``out`` when complete; for an existing
empty folder or an earlier export a hidden folder inside it, whose files are renamed into place, the
marker file (`.optnas-export`, listing what it wrote) last). Renames on one filesystem cannot run out of
space, so a full disk, a read-only folder or a dangling symbolic link fails before anything is published:
one `optnas.errors.OutputWriteError` line, the temporary folder removed. Files and folders get the modes
the umask gives, like any the user creates.
``force`` replaces only an earlier optnas export, a folder holding that marker: the files the marker
lists are removed (stale optional formats too), any other file in the folder is left alone. A folder
without the marker (a home directory, a project) is never touched, even with ``force``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .._output import check_target, dir_mode, file_mode
from ..errors import OutputWriteError

# Every file an export may write; `--force` removes these (and only these) before publishing.
FILES = (
    "model.py", "weights.safetensors", "spec.json", "certificate.json", "metrics.json", "export.json",
    "README.md", "model.pt2", "model.onnx",
)
MARKER = ".optnas-export"  # written by an export after its files: what it wrote, so --force may replace it
STAGING = ".optnas-export-tmp-"  # prefix of the temporary folder inside an existing --out (ignored, removed)


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
    check_target(path, "--out")
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {str(path)!r} exists and is not a directory")
    try:
        present = sorted(p.name for p in path.iterdir() if not p.name.startswith(STAGING)) if path.is_dir() else []
    except OSError as exc:  # a folder we may not list
        raise OutputWriteError("--out", path, exc) from None
    if not present:
        return path
    shown = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
    if _earlier_export(path) is None:  # --force would not help: it never touches files no export wrote
        raise ValueError(
            f"--out {str(path)!r} holds files that no optnas export wrote ({shown}): --force only replaces an "
            f"earlier export (a folder with its {MARKER} file); choose a new or empty folder"
        )
    if not force:
        raise ValueError(
            f"--out {str(path)!r} is not empty ({shown}); pass --force (force=True) to replace the earlier "
            "optnas export there"
        )
    return path


@contextmanager
def staging(out: Path) -> Iterator[Path]:
    """A temporary folder on ``out``'s filesystem to write the export into; removed if anything fails.

    An OSError inside (a full disk, a read-only folder) becomes one `OutputWriteError` line naming ``out``.
    """
    try:
        if out.is_dir():  # an empty folder or an earlier export (possibly a mount point): stage inside it
            tmp = Path(tempfile.mkdtemp(dir=out, prefix=STAGING))
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    except OSError as exc:
        raise OutputWriteError("--out", out, exc) from None
    try:
        yield tmp
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputWriteError("--out", out, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)  # gone after publish; still there if publish was not reached


def publish(staging: Path, out: Path, force: bool) -> None:
    """Move the finished files from ``staging`` (made by `staging`) into ``out``, the marker listing them last.

    Call it inside the `staging` block: an OSError here is still one line and leaves no partial export.
    """
    check_out(out, force)  # again: the folder may have filled up while we worked
    names = sorted(item.name for item in staging.iterdir())
    record = {"written_by": "optnas export", "files": names}
    (staging / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    for item in staging.iterdir():
        os.chmod(item, file_mode())  # safetensors and mkstemp-made files would be 0600
    for item in [*staging.iterdir(), staging]:
        fd = os.open(item, os.O_RDONLY)  # on disk before the rename publishes them
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    if staging.parent != out:  # a new folder: one rename publishes all of it
        os.chmod(staging, dir_mode())
        os.rename(staging, out)
        return
    earlier = _earlier_export(out) if force else None
    if earlier is not None:
        (out / MARKER).unlink()  # first: a crash below leaves a folder --force will not touch
        for name in earlier:
            (out / name).unlink(missing_ok=True)
    for name in names:
        os.rename(staging / name, out / name)
    os.rename(staging / MARKER, out / MARKER)
    staging.rmdir()
    for stale in out.glob(f"{STAGING}*"):  # left by an export that was killed
        shutil.rmtree(stale, ignore_errors=True)
