"""File locks that the OS releases when their process dies: the claim lock and one lock per running trial.

A worker asks for a trial (``study.ask()``) and takes that trial's lock (an ``flock`` on
``LOCKS/<study key>/trial-<number>.lock``) inside the claim lock, and keeps it until the trial is told. So,
holding the claim lock, anyone can tell a dead worker's trial from a live one whatever moment the worker
died at, even before it wrote a pid: a RUNNING trial whose lock nobody holds has no live worker. The
folder is ``$OPTNAS_LOCK_DIR`` (default ``~/.cache/optnas/locks``); every process of one search on one
machine must see the same folder (they do unless the variable differs between them).

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

LockState = Literal["held", "free", "missing"]


def study_key(storage: str, study: str) -> str:
    """One key per (storage, study): a journal by its absolute path, an RDB by its URL."""
    where = os.path.abspath(storage) if "://" not in storage else storage
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
