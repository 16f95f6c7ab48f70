"""Open an Optuna storage read-only: what every reader (dashboard, report, export, results, bench) uses.

Nothing is created and nothing is written: a journal file is read through a backend that refuses appends
(`ReadOnlyJournal`, which needs no lock file), SQLite is opened with ``mode=ro``, PostgreSQL sessions are
read-only transactions. A journal whose last record was cut mid-write is read up to it, with a warning (the
repair is left to the next search or ``--resume``, which writes).

Example:
    >>> open_readonly("/no/such/journal.log")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    optnas.errors.UsageError: --storage '/no/such/journal.log': no such journal file ...
"""

from __future__ import annotations

import gc
import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import optuna
from optuna.storages import BaseStorage, RDBStorage

from ..errors import UsageError
from ._journal_file import foreign_error, replay, warn_cut_tail
from ._journal_reader import ReadOnlyJournal
from .urls import DEFAULT_STORAGE, hide_password, url_scheme

_SQLITE_HEADER = b"SQLite format 3\x00"


_gc_lock = threading.Lock()
_gc_pauses = 0  # pauses in progress (nested or in other threads)
_gc_resume = False  # whether the collector was running when the first of them began
_gc_freeze = False  # whether a pause in progress asked for what it read to be frozen (`gc_paused`)


@contextmanager
def gc_paused(*, freeze: bool = False) -> Iterator[None]:
    """Pause CPython's cyclic garbage collector while a large study is read.

    Why: replaying or reading 10,000 trials allocates millions of long-lived objects, and the generational
    collector rescans all of them every time the oldest generation grows by a quarter (about 0.4 s a pass,
    half the cold load time), while there are no cycles to collect. Nested and concurrent pauses are counted:
    the collector runs again when the last one ends (if it was running before).

    ``freeze``: when the last pause ends, move every object alive then out of the collector's reach
    (`gc.freeze`), for a process that keeps what it read (the dashboard keeps its studies' trials). Without
    it the first collections after the pause walk all of them anyway: three passes (young, middle, full)
    over 1.3 million objects at 50,000 trials cost 5.7 s of CPU, inside whichever request ran next. Frozen
    objects are still freed when no longer referenced; only a reference cycle among them is never collected.

    Example:
        >>> with gc_paused(freeze=True):
        ...     trials = [{"number": n} for n in range(3)]
        >>> gc.is_tracked(trials) and gc.get_freeze_count() > 0
        True
        >>> gc.unfreeze()
    """
    global _gc_pauses, _gc_resume, _gc_freeze
    with _gc_lock:
        _gc_pauses += 1
        _gc_freeze |= freeze
        if _gc_pauses == 1:
            _gc_resume = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0:
                if _gc_freeze:
                    gc.freeze()
                    _gc_freeze = False
                if _gc_resume:
                    gc.enable()


def open_readonly(url: str | None = None, *, flag: str = "--storage") -> BaseStorage:
    """A storage that can only be read: a journal file path, ``sqlite:///path`` or another RDB URL (default:
    ``./optnas-runs/journal.log``). Missing files are an error (nothing is created); ``flag``: the command-line
    option errors name.

    Example:
        >>> open_readonly("/no/such/journal.log", flag="--from")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        optnas.errors.UsageError: --from '/no/such/journal.log': no such journal file ...
    """
    url = url or DEFAULT_STORAGE
    if url_scheme(url):
        return _open_rdb(url, flag)
    path = Path(url)
    if path.is_dir():
        raise UsageError(f"{flag} {url!r} is a directory; give a journal file such as {path / 'journal.log'}")
    if path.exists() and not path.is_file():
        raise UsageError(f"{flag} {url!r} is not a regular file; give the journal file a search wrote")
    if not path.is_file():
        raise UsageError(f"{flag} {url!r}: no such journal file (run `optnas search` first, or pass the right path)")
    try:
        with open(path, "rb") as fh:
            header = fh.read(len(_SQLITE_HEADER))
    except PermissionError:
        raise UsageError(f"{flag} {url!r} is not readable") from None
    if header == _SQLITE_HEADER:
        raise UsageError(f"{flag} {url!r} is a SQLite database: write sqlite:///{url}")
    if (foreign := foreign_error(str(path), flag)) is not None:  # another file given by mistake: not a cut journal
        raise foreign
    warn_cut_tail(str(path), flag)  # read-only: the cut record is skipped and said, the repair left to --resume
    return replay(str(path), ReadOnlyJournal(str(path), flag), flag)


def _open_rdb(url: str, flag: str) -> RDBStorage:
    # SQLAlchemy (Optuna's RDB dependency) is imported only for a database URL, as Optuna itself does
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    shown = hide_password(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UsageError(f"{flag} {shown!r} is not a valid database URL") from None
    backend = parsed.get_backend_name()
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if backend == "sqlite":
        db = parsed.database
        if not db or db == ":memory:":
            raise UsageError(f"{flag} {shown!r}: an in-memory SQLite database holds no study")
        if not os.path.isfile(db):
            raise UsageError(f"{flag} {shown!r}: no such SQLite file {db!r}")
        # SQLite's own read-only mode: any write fails inside the driver, and no file is created
        url = f"sqlite:///file:{quote(os.path.abspath(db))}?mode=ro&uri=true"
    elif backend == "postgresql":
        engine_kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
    elif backend not in ("mysql",):
        raise UsageError(f"{flag} {shown!r}: unknown scheme {parsed.drivername!r}; use a file path, sqlite://, "
                         "postgresql:// or mysql://")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # skip_table_creation: an empty database stays empty (and is reported below as holding no study)
            return RDBStorage(url, engine_kwargs=engine_kwargs, skip_table_creation=True)
    except Exception as exc:  # sqlalchemy raises many types for unreachable, refused or foreign databases
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{flag} {shown!r} cannot be read as an Optuna storage: {first}") from None


def read_study(storage: BaseStorage, name: str) -> optuna.Study:
    """Study ``name`` of an opened storage, to read its trials: on an RDB storage `_rdb.FastRDBStudy`, whose
    `get_trials` is fast and incremental but leaves out params, distributions and intermediate values (which
    `optnas.results.frame` does not read); else Optuna's own study."""
    if isinstance(storage, RDBStorage):
        # lazy: Optuna's RDB table definitions import SQLAlchemy: loaded for a database only, as Optuna does
        from . import _rdb

        if _rdb.AVAILABLE:
            return _rdb.FastRDBStudy(name, storage)
    # a fixed sampler: load_study would otherwise build a TPE sampler nobody uses
    return optuna.load_study(study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler())


def load_readonly(url: str | None, name: str | None) -> optuna.Study:
    """Study ``name`` of the storage at ``url`` (default: the default journal), opened read-only; ``name`` may
    be left out when the storage holds one study. A missing or ambiguous name is a `UsageError` listing the
    studies there.

    Example:
        >>> load_readonly("/no/such/journal.log", "x")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        optnas.errors.UsageError: --storage '/no/such/journal.log': no such journal file ...
    """
    url = url or DEFAULT_STORAGE
    backend = open_readonly(url)
    names = sorted(optuna.study.get_all_study_names(backend))
    valid = ", ".join(names) or "none (the storage is empty)"
    if name is None:
        if len(names) != 1:
            raise UsageError(f"--study is required: {hide_password(url)} holds {len(names)} studies ({valid})")
        name = names[0]
    if name not in names:
        raise UsageError(f"unknown study {name!r} in {hide_password(url)}; valid: {valid}")
    return optuna.load_study(study_name=name, storage=backend)

