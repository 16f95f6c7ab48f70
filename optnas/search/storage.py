"""Open Optuna storages from what users type: a plain path (journal file) or an RDB URL.

The embedded default is a journal file under ``./optnas-runs/``: safe for several processes on one machine.
RDB URLs get heartbeats, so a trial whose worker died is failed and retried (PostgreSQL across machines).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

from ..errors import UsageError
from ._journal_file import SafeJournalFile, damaged_error, foreign_error, repair_tail, warn_cut_tail

DEFAULT_DIR = Path("optnas-runs")
DEFAULT_STORAGE = str(DEFAULT_DIR / "journal.log")
RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql")
# Heartbeat every 10 s; a trial silent for 30 s is stale. Tests shorten both through the environment.
HEARTBEAT_S = int(os.environ.get("OPTNAS_HEARTBEAT_INTERVAL", "10"))
GRACE_S = int(os.environ.get("OPTNAS_GRACE_PERIOD", "30"))
MAX_RETRY = 3


def is_rdb(url: str) -> bool:
    return "://" in url and url.split("://", 1)[0].split("+")[0] in RDB_SCHEMES


def open_storage(url: str | None = None, *, create: bool = True, heartbeat: bool = True) -> optuna.storages.BaseStorage:
    """A journal file for a plain path (created with its folder when ``create``), else an RDB storage.

    Example:
        >>> storage = open_storage("/tmp/optnas-doctest/journal.log")
        >>> type(storage).__name__
        'JournalStorage'
    """
    url = url or DEFAULT_STORAGE
    if "://" in url:
        scheme = url.split("://", 1)[0]
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
    return _replay(str(path), backend)


def _replay(path: str, backend: JournalFileBackend, flag: str = "--storage") -> JournalStorage:
    """Optuna's `JournalStorage` over ``backend``; a journal damaged in the middle is one line with a fix."""
    try:
        return JournalStorage(backend)
    # Optuna's reader raises JSONDecodeError / "Invalid log format." for a bad line, KeyError or TypeError
    # for a JSON line that is no journal record
    except (ValueError, KeyError, TypeError) as exc:
        error = damaged_error(path, flag) or UsageError(
            f"{flag} {path!r} cannot be read as an Optuna journal ({type(exc).__name__}: {exc}); pass the "
            "journal a search wrote, e.g. optnas-runs/journal.log")
        raise error from None


def open_existing(url: str | None = None, *, flag: str = "--storage") -> optuna.storages.BaseStorage:
    """Open a storage for reading only: nothing is created (a missing journal is an error), no heartbeat.
    ``flag``: the command-line option errors name.

    Example:
        >>> open_existing("/nonexistent/journal.log")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        optnas.errors.UsageError: --storage '/nonexistent/journal.log': no such journal file ...
    """
    url = url or DEFAULT_STORAGE
    if "://" in url:
        if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
            raise UsageError(f"{flag} {url!r}: no such SQLite file")
        try:
            return RDBStorage(url, skip_table_creation=True)
        except Exception as exc:  # sqlalchemy raises many types for bad URLs and unreachable databases
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UsageError(f"{flag} {url!r} cannot be opened: {first}") from None
    path = Path(url)
    if path.is_dir():
        raise UsageError(f"{flag} {url!r} is a directory; give the journal file, e.g. {path / 'journal.log'}")
    if path.exists() and not path.is_file():
        raise UsageError(f"{flag} {url!r} is not a regular file; give the journal file a search wrote")
    if not path.is_file():
        raise UsageError(f"{flag} {url!r}: no such journal file (run `optnas search` first, or pass the right path)")
    if (foreign := foreign_error(str(path), flag)) is not None:
        raise foreign
    # Optuna's reader skips a partial last record, so a journal cut at its tail reads as its complete
    # records, and nothing here writes: the repair is left to the next search or resume, and said here
    warn_cut_tail(str(path), flag)
    return _replay(str(path), JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))), flag)

