"""Open an existing Optuna storage for reading: a plain path is a journal file, anything with :// an RDB URL.

A private stand-in until the search's own opener (optnas.search.storage) is shared: unlike a search,
export never creates a storage, so a path that does not exist is an error, not a new journal.
"""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

DEFAULT_STORAGE = "optnas-runs/journal.log"


def open_existing(url: str | None) -> optuna.storages.BaseStorage:
    """The storage at ``url`` (default ``./optnas-runs/journal.log``); a clear error when it is not there.

    Example:
        >>> open_existing("/nonexistent/journal.log")
        Traceback (most recent call last):
        ...
        ValueError: --storage '/nonexistent/journal.log': no such journal file (run `optnas search` first...
    """
    url = url or DEFAULT_STORAGE
    if "://" in url:
        if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
            raise ValueError(f"--storage {url!r}: no such SQLite file")
        try:
            return RDBStorage(url, skip_table_creation=True)
        except Exception as exc:  # sqlalchemy raises many types for bad URLs and unreachable databases
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ValueError(f"--storage {url!r} cannot be opened: {first}") from None
    path = Path(url)
    if path.is_dir():
        raise ValueError(f"--storage {url!r} is a directory; give the journal file, e.g. {path / 'journal.log'}")
    if not path.is_file():
        raise ValueError(f"--storage {url!r}: no such journal file (run `optnas search` first, or pass the right path)")
    return JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))


def journal_dir(url: str | None) -> Path | None:
    """The folder of a journal-file storage (where its run keeps artifacts), None for RDB URLs."""
    url = url or DEFAULT_STORAGE
    return None if "://" in url else Path(url).resolve().parent
