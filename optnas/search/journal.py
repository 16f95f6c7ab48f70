"""A journal file backend whose failed appends leave the file as it was (no partial last record).

Optuna's `JournalFileBackend` appends a batch of records with one ``write``; when the disk fills up part of
it may land, and the partial line makes the journal unreadable for every later reader. This backend
notes the file's size under the journal lock, and on an ``OSError`` cuts the file back to it (truncating
needs no free space) and raises `optnas.errors.StorageWriteError`, which names the path and the OS error.

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "journal.log")
    >>> backend = SafeJournalFileBackend(path)
    >>> backend.append_logs([{"op_code": 0}]); open(path).read()
    '{"op_code":0}\\n'
"""

from __future__ import annotations

import json
import os
from typing import Any

from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalFileSymlinkLock

from ..errors import StorageWriteError


class SafeJournalFileBackend(JournalFileBackend):
    """`JournalFileBackend` with all-or-nothing appends (see the module docstring)."""

    def __init__(self, file_path: str, lock_obj: JournalFileOpenLock | JournalFileSymlinkLock | None = None) -> None:
        # an open()-based lock works on every filesystem, including those without symlinks
        self.lock = lock_obj or JournalFileOpenLock(file_path)
        self.path = file_path
        try:
            super().__init__(file_path, lock_obj=self.lock)
        except OSError as exc:  # creating the file on a full or read-only disk
            raise StorageWriteError(file_path, exc) from None

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        data = ("\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n").encode("utf-8")
        try:
            acquired = self.lock.acquire()
        except OSError as exc:  # the lock file cannot be created: the disk is full too
            raise StorageWriteError(self.path, exc) from None
        assert acquired
        try:
            _append(self.path, data)
        except OSError as exc:
            raise StorageWriteError(self.path, exc) from None
        finally:
            self.lock.release()


def _append(path: str, data: bytes) -> None:
    """Append ``data`` whole or not at all (unbuffered: a buffered file would flush again before truncating)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:  # a full disk first shortens a write, then fails the next one
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, size)  # drop the partial record; readers see the journal as it was
            raise
    finally:
        os.close(fd)
