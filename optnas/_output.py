"""Files and folders a command writes for the user (a report, an export, a plot): whole or not at all.

Each is written into a temporary file or folder *beside* its target (same folder, so the same filesystem)
and renamed into place only when complete: a full disk, a read-only folder or an interrupted process
leaves the target as it was. Every failure is an `optnas.errors.OutputWriteError`, one line with the path
and the OS error. Modes follow the umask, like any file the user creates (``mkstemp`` would make 0600).

Example:
    >>> import tempfile, pathlib, os
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "report.html"
    >>> write_file(target, "<html></html>", flag="-o")
    >>> target.read_text(), oct(target.stat().st_mode & 0o777) == oct(file_mode())
    ('<html></html>', True)
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from .errors import OutputWriteError

_umask_lock = threading.Lock()


def umask() -> int:
    """The process's umask (read by setting and restoring it, under a lock)."""
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a new file gets here: 0o666 less the umask."""
    return 0o666 & ~umask()


def dir_mode() -> int:
    """The mode a new folder gets here: 0o777 less the umask."""
    return 0o777 & ~umask()


def check_target(path: Path, flag: str) -> None:
    """Refuse a dangling symbolic link (writing through it would create a file somewhere else)."""
    if path.is_symlink() and not path.exists():
        raise OutputWriteError(flag, path, f"it is a dangling symbolic link (to {os.readlink(path)!r}); remove it "
                               "or give another path")


def write_file(path: Path, data: str | bytes, *, flag: str) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file beside it, fsync, chmod, rename."""
    check_target(path, flag)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputWriteError(flag, path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            view = memoryview(raw)
            while view:
                view = view[handle.write(view):]
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputWriteError(flag, path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
