"""File locks that the OS releases when their process dies: the claim lock and one lock per running trial.

A worker asks for a trial (``study.ask()``) and takes that trial's lock (an ``flock`` on
``LOCKS/<study key>/trial-<number>.lock``) inside the claim lock, and keeps it until the trial is told. So,
holding the claim lock, anyone can tell a dead worker's trial from a live one whatever moment the worker
died at, even before it wrote a pid: a RUNNING trial whose lock nobody holds has no live worker. The
folder is ``$OPTNAS_LOCK_DIR`` (default ``~/.cache/optnas/locks``); every process of one search on one
machine must see the same folder. `enter_search` makes sure: the study records each machine's folder, and a
process whose folder differs from the recorded one while a process using that one is alive (it holds the
study's presence lock there, or a trial lock) is refused in one line, before either fails the other's trials.

Example:
    >>> import tempfile; d = tempfile.mkdtemp()
    >>> with claim_lock("/tmp/j.log", "demo", root=d), hold_trial("/tmp/j.log", "demo", 3, root=d):
    ...     print(trial_lock_state("/tmp/j.log", "demo", 3, root=d))
    held
    >>> trial_lock_state("/tmp/j.log", "demo", 3, root=d)
    'missing'
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from ..errors import UsageError
from ..storage.urls import url_scheme

LockState = Literal["held", "free", "missing"]


def study_key(storage: str, study: str) -> str:
    """One key per (storage, study): a journal by its absolute path, an RDB by its URL."""
    where = os.path.abspath(storage) if url_scheme(storage) is None else storage
    return hashlib.sha1(f"{where}|{study}".encode()).hexdigest()[:16]


def lock_root(root: str | None = None) -> Path:
    return Path(root or os.environ.get("OPTNAS_LOCK_DIR") or Path.home() / ".cache" / "optnas" / "locks")


def _trial_path(storage: str, study: str, number: int, root: str | None) -> Path:
    return lock_root(root) / study_key(storage, study) / f"trial-{number}.lock"


@contextmanager
def claim_lock(storage: str, study: str, *, root: str | None = None) -> Iterator[None]:
    """The per-(storage, study) lock under which workers on this machine claim trials and sweep dead ones."""
    path = lock_root(root) / f"{study_key(storage, study)}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class TrialLock:
    """The lock of one running trial, held by its worker (or the Ray driver) until the trial is told."""

    def __init__(self, storage: str, study: str, number: int, *, root: str | None = None) -> None:
        self.path = _trial_path(storage, study, number, root)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a+")  # noqa: SIM115  # held open for the trial's lifetime
        fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh trial: nobody else can hold it

    def release(self) -> None:
        """Remove the lock file while holding it (a sweeper that opens it afterwards finds it missing)."""
        if self._fh.closed:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            self._fh.close()


@contextmanager
def hold_trial(storage: str, study: str, number: int, *, root: str | None = None) -> Iterator[TrialLock]:
    lock = TrialLock(storage, study, number, root=root)
    try:
        yield lock
    finally:
        lock.release()


def trial_lock_state(storage: str, study: str, number: int, *, root: str | None = None) -> LockState:
    """``held`` (a live process holds it), ``free`` (its holder died) or ``missing`` (never taken here)."""
    path = _trial_path(storage, study, number, root)
    try:
        fh = open(path)  # noqa: SIM115
    except FileNotFoundError:
        return "missing"
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return "held"
        fcntl.flock(fh, fcntl.LOCK_UN)
        return "free"


_presence: dict[str, Any] = {}  # presence locks this process holds (released by the OS when it exits)


def _alive_in(folder: Path, key: str) -> bool:
    """Whether a live process uses lock folder ``folder`` for the study ``key``: it holds the presence lock
    (every search process, for its lifetime) or a trial lock there."""
    candidates = [folder / f"{key}.alive", *sorted((folder / key).glob("trial-*.lock"))]
    for path in candidates:
        try:
            fh = open(path)  # noqa: SIM115
        except OSError:
            continue
        with fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def enter_search(study: Any, storage: str, name: str, *, root: str | None = None) -> None:
    """Check this machine's lock folder against the one the study records, record it, hold the presence lock.

    Two processes of one search that see different ``OPTNAS_LOCK_DIR`` cannot see each other's trial locks,
    so each would fail the other's live trials as dead. The second is refused here, in one line, while a
    process using the recorded folder is alive; a recorded folder nobody uses any more is replaced.
    """
    ours = lock_root(root).resolve()
    key = study_key(storage, name)
    host = socket.gethostname()
    meta = dict(study.user_attrs.get("optnas") or {})
    dirs = dict(meta.get("lock_dirs") or {}) if isinstance(meta.get("lock_dirs"), dict) else {}
    recorded = dirs.get(host)
    if isinstance(recorded, str) and Path(recorded) != ours and _alive_in(Path(recorded), key):
        raise UsageError(
            f"study {name!r} is being searched on this machine by a process whose lock folder is {recorded}, and "
            f"this one's is {ours} (OPTNAS_LOCK_DIR): they would fail each other's trials; run it with "
            f"OPTNAS_LOCK_DIR={recorded}, or after that search ends"
        )
    ours.mkdir(parents=True, exist_ok=True)
    if key not in _presence:
        fh = open(ours / f"{key}.alive", "a+")  # noqa: SIM115  # held until this process exits
        fcntl.flock(fh, fcntl.LOCK_SH)
        _presence[key] = fh
    if recorded != str(ours):
        dirs[host] = str(ours)
        study.set_user_attr("optnas", {**(study.user_attrs.get("optnas") or {}), "lock_dirs": dirs})
