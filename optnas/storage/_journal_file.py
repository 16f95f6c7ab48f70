"""The journal file optnas writes to: a record cut off by a crash or a full disk never corrupts the journal.

Optuna appends one JSON record a line under a lock and, when reading, skips a last line that lacks its
newline (a write in progress). If a writer dies mid-record (SIGKILL, full disk), the next append lands
right after the partial bytes and the merged line breaks every later read ("Expecting ':' delimiter").
`repair_tail` runs when a search opens the journal: under Optuna's own lock it keeps a backup copy and
cuts the partial last record (or, when only its newline was lost, restores the newline), saying so in
one line. `SafeJournalFile` is Optuna's file backend whose appends check the tail first and, when a write
fails (ENOSPC, EIO), cut their own partial bytes before raising, so the file always ends at a record.
`damaged` turns a bad record in the middle of the file into one line with its byte offset and a fix (the one
place that message is written: the writer's and the read-only reader's replays both raise it).

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "journal.log")
    >>> with open(path, "wb") as fh:
    ...     _ = fh.write(b'{"op_code":0,"worker_id":"w","study_name":"s","directions":[1]}\\n{"op_co')
    >>> repair_tail(path).startswith(path)       # a one-line note: what was cut, where the copy is
    True
    >>> open(path, "rb").read().endswith(b"]}\\n")
    True
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

from optuna.storages import JournalStorage
from optuna.storages.journal import BaseJournalBackend, JournalFileBackend, JournalFileOpenLock

from ..errors import CutJournalWarning, StorageWriteError, UsageError

log = logging.getLogger("optnas.storage")
_CHUNK = 1 << 16


def _last_line_start(fd: int, end: int) -> int:
    """Offset where the line ending at ``end`` (exclusive, its newline not included) starts."""
    pos = end
    while pos > 0:
        step = min(_CHUNK, pos)
        chunk = os.pread(fd, step, pos - step)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            return pos - step + cut + 1
        pos -= step
    return 0


def _is_record(data: bytes) -> bool:
    try:
        return isinstance(json.loads(data), dict)
    except ValueError:  # json.JSONDecodeError and UnicodeDecodeError are both ValueErrors
        return False


def _backup(path: str) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target, n = f"{path}.{stamp}.bak", 1
    while os.path.exists(target):
        n += 1
        target = f"{path}.{stamp}-{n}.bak"
    try:
        shutil.copyfile(path, target)
    except OSError as exc:
        Path(target).unlink(missing_ok=True)  # no half-written backup left behind
        raise UsageError(
            f"--storage {path!r}: its last record is partial and must be cut, but a backup copy "
            f"could not be written to {target} ({exc.strerror}); free space and run again"
        ) from None
    return target


_FIRST_LINE_MAX = 1 << 20  # journal records are small JSON objects; a longer first line is no journal


def _looks_like_journal(fd: int, size: int) -> bool:
    """Whether the file's first line is a journal record (or, cut before its newline, starts like one)."""
    head = os.pread(fd, min(size, _FIRST_LINE_MAX), 0)
    line, newline, _ = head.partition(b"\n")
    if newline:  # every record Optuna's journal writes carries its operation's code
        try:
            first = json.loads(line)
        except ValueError:
            return False
        return isinstance(first, dict) and "op_code" in first
    return size <= _FIRST_LINE_MAX and head.lstrip().startswith(b"{")


def foreign_error(path: str, flag: str = "--storage") -> UsageError | None:
    """The error for a non-empty file that is not an Optuna journal (None for a journal, an empty file or
    no file): checked before anything reads or appends, so another file given by mistake is never changed."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        size = os.fstat(fd).st_size
        if size == 0 or _looks_like_journal(fd, size):
            return None
    finally:
        os.close(fd)
    return UsageError(f"{flag} {path!r} is not an Optuna journal file (its first line is not a journal record); "
                      "pass the journal a search wrote, e.g. optnas-runs/journal.log")


def cut_tail(path: str) -> int:
    """Bytes after the journal's last newline: a record cut mid-write, which readers skip (0: sound)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return 0
    try:
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return 0
        return size - _last_line_start(fd, size)
    finally:
        os.close(fd)


_warned: set[tuple[str, int]] = set()


def warn_cut_tail(path: str, flag: str = "--storage") -> None:
    """Say (a `CutJournalWarning`, once per file and size) that a journal being read has a cut tail.

    Readers (export, report, dashboard, `optnas.results.load`) never write, so they cannot repair it; they
    read the complete records and say what is left out.
    """
    cut = cut_tail(path)
    if not cut or (os.path.abspath(path), cut) in _warned:
        return
    _warned.add((os.path.abspath(path), cut))
    warnings.warn(CutJournalWarning(
        f"{flag} {path!r}: its last {cut} bytes are a record cut mid-write (a crash or a full disk), not read: "
        "trials may be missing; `optnas search --resume` on this storage repairs the file (after a backup copy)"
    ), stacklevel=3)


_repaired: dict[str, str] = {}


def repaired(path: str) -> str | None:
    """The note of the repair `repair_tail` made of ``path`` in this process (None: none was needed)."""
    return _repaired.get(os.path.abspath(path))


def _repair_locked(path: str, fd: int) -> str | None:
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    ends_with_newline = os.pread(fd, 1, size - 1) == b"\n"
    end = size - 1 if ends_with_newline else size
    start = _last_line_start(fd, end)
    last = os.pread(fd, end - start, start)
    if _is_record(last):
        if ends_with_newline:
            return None
        backup = _backup(path)
        os.write(fd, b"\n")  # a complete record that lost only its newline: keep the record
        os.fsync(fd)
        return (
            f"{path}: its last record had lost its newline (a crash mid-write); "
            f"kept a copy in {backup} and restored it"
        )
    backup = _backup(path)
    os.ftruncate(fd, start)
    os.fsync(fd)
    return (
        f"{path}: its last record was cut off ({size - start} bytes at byte {start}, a crash or a full disk "
        f"mid-write); kept a copy in {backup} and cut the partial record"
    )


def repair_tail(path: str, lock: JournalFileOpenLock | None = None) -> str | None:
    """Cut a partial last record (after a backup copy) under the journal's lock; the note, or None if sound."""
    lock = lock or JournalFileOpenLock(path)
    lock.acquire()
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND)
        try:
            note = _repair_locked(path, fd)
        finally:
            os.close(fd)
    finally:
        lock.release()
    if note:
        _repaired[os.path.abspath(path)] = note
        log.warning("%s", note)
    return note


def first_bad_record(path: str) -> tuple[int, int, int] | None:
    """(record number from 1, byte offset, records after it) of the first bad line before the last one."""
    bad: tuple[int, int] | None = None
    after = 0
    offset = 0
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if bad is not None:
                after += 1
            elif not line.endswith(b"\n") or not _is_record(line):
                bad = (number, offset)
            offset += len(line)
    if bad is None or after == 0:
        return None  # at worst a partial last record, which Optuna's reader skips
    return bad[0], bad[1], after


def damaged(path: str, flag: str = "--storage", why: BaseException | None = None) -> UsageError:
    """The one-line error for a journal that cannot be replayed: a record damaged in the middle (its number,
    byte offset and a fix), else ``why`` (what Optuna's reader raised)."""
    found = first_bad_record(path)
    if found is None:
        what = f" ({type(why).__name__}: {str(why)[:200]})" if why is not None else ""
        return UsageError(f"{flag} {path!r} cannot be read as an Optuna journal{what}; pass the journal a search "
                          "wrote, e.g. optnas-runs/journal.log")
    number, offset, after = found
    return UsageError(
        f"{flag} {path!r}: record {number} at byte {offset} is not valid JSON and {after} record(s) follow "
        f"it (the file was cut or edited in the middle); restore a backup copy, or keep the {number - 1} "
        f"record(s) before it: cp {path} {path}.damaged && truncate -s {offset} {path}"
    )


def replay(path: str, backend: BaseJournalBackend, flag: str = "--storage") -> JournalStorage:
    """Optuna's `JournalStorage` over ``backend``; a journal that cannot be replayed is `damaged`'s one line."""
    try:
        return JournalStorage(backend)
    except UsageError:  # the reader said it already (`ReadOnlyJournal`)
        raise
    # Optuna's reader raises JSONDecodeError / "Invalid log format." for a bad line, KeyError or TypeError
    # for a JSON line that is no journal record
    except (ValueError, KeyError, TypeError) as exc:
        raise damaged(path, flag, exc) from None


class SafeJournalFile(JournalFileBackend):
    """Optuna's `JournalFileBackend` whose appends never leave or extend a partial record.

    Same file format and lock as Optuna's (plain `JournalFileBackend` reads and writes it alongside), but
    each append first cuts a partial tail left by a writer that died (with a backup copy and a note), and a
    failed write (full disk, I/O error) is truncated back to the record boundary before the error is raised.
    """

    def __init__(self, path: str) -> None:
        self._journal_path = path
        self._journal_lock = JournalFileOpenLock(path)  # the open()-based lock works on every filesystem
        try:
            super().__init__(path, lock_obj=self._journal_lock)
        except OSError as exc:  # creating the file on a full or read-only disk
            raise StorageWriteError(path, exc) from None

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        """Append ``logs`` whole or not at all; a failed write raises `optnas.errors.StorageWriteError`."""
        data = ("\n".join(json.dumps(entry, separators=(",", ":")) for entry in logs) + "\n").encode("utf-8")
        try:
            self._journal_lock.acquire()
        except OSError as exc:  # the lock file cannot be created: the disk is full too
            raise StorageWriteError(self._journal_path, exc) from None
        try:
            fd = os.open(self._journal_path, os.O_RDWR | os.O_APPEND)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    note = _repair_locked(self._journal_path, fd)
                    if note:
                        log.warning("%s", note)
                    size = os.fstat(fd).st_size
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                except OSError:
                    os.ftruncate(fd, size)  # frees space, so it works on a full disk too
                    raise
            finally:
                os.close(fd)
        except OSError as exc:
            raise StorageWriteError(self._journal_path, exc) from None
        finally:
            self._journal_lock.release()
