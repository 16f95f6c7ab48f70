"""Open an Optuna storage to search in: a plain path (journal file, created) or an RDB URL (with heartbeats).

The embedded default is a journal file under ``./optnas-runs/``: safe for several processes on one machine.
RDB URLs get heartbeats, so a trial whose worker died is failed and retried (PostgreSQL across machines).
Readers open storages with `optnas.storage.open_readonly` instead: nothing created, nothing written.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from ..errors import UsageError
from ._journal_file import SafeJournalFile, foreign_error, repair_tail, replay
from .urls import DEFAULT_STORAGE, RDB_SCHEMES, is_rdb, url_scheme

# Heartbeat every 10 s; a trial silent for 30 s is stale. Tests shorten both through the environment.
HEARTBEAT_S = int(os.environ.get("OPTNAS_HEARTBEAT_INTERVAL", "10"))
GRACE_S = int(os.environ.get("OPTNAS_GRACE_PERIOD", "30"))
MAX_RETRY = 3


def open_storage(url: str | None = None, *, create: bool = True, heartbeat: bool = True) -> optuna.storages.BaseStorage:
    """A journal file for a plain path (created with its folder when ``create``), else an RDB storage.

    Example:
        >>> storage = open_storage("/tmp/optnas-doctest/journal.log")
        >>> type(storage).__name__
        'JournalStorage'
    """
    url = url or DEFAULT_STORAGE
    scheme = url_scheme(url)
    if scheme:
        if not is_rdb(url):
            raise UsageError(
                f"--storage {url!r}: unknown scheme {scheme!r}; use a file path or {', '.join(RDB_SCHEMES)}://"
            )
        kwargs: dict[str, Any] = {}
        if heartbeat:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                retry = RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)
            kwargs = {
                "heartbeat_interval": HEARTBEAT_S,
                "grace_period": GRACE_S,
                "heartbeat_stale_trial_callback": retry,
            }
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(url, engine_kwargs={"pool_pre_ping": True}, **kwargs)
        except Exception as exc:  # sqlalchemy raises many types for an unreachable or refused database
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UsageError(f"--storage {url!r} is unreachable: {first}") from None
    path = Path(url)
    if path.is_dir():
        raise UsageError(f"--storage {url!r} is a directory; give a journal file path such as {path / 'journal.log'}")
    if path.exists() and not path.is_file():  # /dev/null, a FIFO: nothing a search could continue from
        raise UsageError(f"--storage {url!r} is not a regular file; give a journal file path such as "
                         "optnas-runs/journal.log")
    if not path.exists():
        if not create:
            raise UsageError(f"--storage {url!r}: no such journal file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--storage {url!r}: cannot create its folder ({exc.strerror})") from None
    if not os.access(path.parent if not path.exists() else path, os.W_OK):
        raise UsageError(f"--storage {url!r} is not writable")
    if (foreign := foreign_error(str(path))) is not None:
        raise foreign
    backend = SafeJournalFile(str(path))
    repair_tail(str(path))  # a record cut off by a crash or a full disk: backed up and cut, with a note
    return replay(str(path), backend)
