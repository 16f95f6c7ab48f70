"""The output folder: refuse a non-empty one without ``force``, write into a temporary folder, then publish.

Nothing is half-written: every file is produced and checked in a temporary folder first, and only a
complete export is moved into place. With ``force``, files of an earlier export are replaced (stale
optional formats removed); other files in the folder are left alone.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# Every file an export may write; `--force` removes these (and only these) before publishing.
FILES = (
    "model.py", "weights.safetensors", "spec.json", "certificate.json", "metrics.json", "export.json",
    "README.md", "model.pt2", "model.onnx",
)


def check_out(out: str | os.PathLike[str], force: bool) -> Path:
    """``out`` as a Path, after checking it may be written (call it before any expensive work).

    Example:
        >>> check_out("/nonexistent/optnas-export", force=False)
        PosixPath('/nonexistent/optnas-export')
    """
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {str(path)!r} exists and is not a directory")
    if path.is_dir() and not force:
        present = sorted(p.name for p in path.iterdir())
        if present:
            shown = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
            raise ValueError(
                f"--out {str(path)!r} is not empty ({shown}); pass --force (force=True) to overwrite an export there"
            )
    return path


def publish(staging: Path, out: Path, force: bool) -> None:
    """Move the finished files from ``staging`` into ``out``."""
    check_out(out, force)  # again: the folder may have filled up while we worked
    out.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        if force:
            (out / name).unlink(missing_ok=True)
    for item in staging.iterdir():
        shutil.move(str(item), str(out / item.name))
