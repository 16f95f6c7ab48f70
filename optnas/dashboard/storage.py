"""Open an Optuna storage read-only and keep one DataFrame per study, rebuilt only when its trials change.

The dashboard and the report never write: a journal file is read through a backend that refuses appends
(`ReadOnlyJournal`; the file is never created), SQLite is opened with ``mode=ro``, PostgreSQL sessions are
read-only transactions.

Example:
    >>> source = StudySource("optnas-runs/journal.log")      # doctest: +SKIP
    >>> source.names()                                        # doctest: +SKIP
    ['rings']
    >>> source.frame("rings").shape                           # doctest: +SKIP
    (40, 38)
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
import pandas as pd
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.trial import TrialState

from ..errors import UsageError
from ..results import frame
from ..search._journal_file import foreign_error, warn_cut_tail
from ..search.storage import DEFAULT_STORAGE
from . import _rdb
from ._journal import ReadOnlyJournal

_SQLITE_HEADER = b"SQLite format 3\x00"


_gc_lock = threading.Lock()
_gc_pauses = 0  # pauses in progress (nested or in other threads)
_gc_resume = False  # whether the collector was running when the first of them began


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector while a large study is read.

    Why: replaying or reading 10,000 trials allocates millions of long-lived objects, and the generational
    collector rescans all of them every time the oldest generation grows by a quarter (about 0.4 s a pass,
    half the cold load time), while there are no cycles to collect. Nested and concurrent pauses are counted:
    the collector runs again when the last one ends (if it was running before).
    """
    global _gc_pauses, _gc_resume
    with _gc_lock:
        _gc_pauses += 1
        if _gc_pauses == 1:
            _gc_resume = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_resume:
                gc.enable()


def hide_password(url: str) -> str:
    """``postgresql://u:secret@h/db`` -> ``postgresql://u:***@h/db``; a file path is returned unchanged."""
    if "://" not in url:
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("://", 1)[0] + "://..."


def open_readonly(url: str | None) -> BaseStorage:
    """A storage that can only be read: a journal file path, ``sqlite:///path`` or another RDB URL.

    Missing files are an error (nothing is created). Example:
        >>> open_readonly("/no/such/journal.log")
        Traceback (most recent call last):
        ...
        optnas.errors.UsageError: --storage '/no/such/journal.log': no such journal file
    """
    url = url or DEFAULT_STORAGE
    if "://" in url:
        return _open_rdb(url)
    path = Path(url)
    if path.is_dir():
        raise UsageError(f"--storage {url!r} is a directory; give a journal file such as {path / 'journal.log'}")
    if path.exists() and not path.is_file():
        raise UsageError(f"--storage {url!r} is not a regular file; give the journal file a search wrote")
    if not path.is_file():
        raise UsageError(f"--storage {url!r}: no such journal file")
    try:
        with open(path, "rb") as fh:
            header = fh.read(len(_SQLITE_HEADER))
    except PermissionError:
        raise UsageError(f"--storage {url!r} is not readable") from None
    if header == _SQLITE_HEADER:
        raise UsageError(f"--storage {url!r} is a SQLite database: write sqlite:///{url}")
    if (foreign := foreign_error(str(path))) is not None:  # another file given by mistake: not a cut journal
        raise foreign
    warn_cut_tail(str(path))  # read-only: the cut record is skipped and said, the repair left to --resume
    try:
        return JournalStorage(ReadOnlyJournal(str(path)))
    except (ValueError, KeyError) as exc:  # a corrupt or foreign file: JSONDecodeError is a ValueError
        raise UsageError(f"--storage {url!r} is not an Optuna journal file ({exc})") from None


def _open_rdb(url: str) -> RDBStorage:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    shown = hide_password(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UsageError(f"--storage {shown!r} is not a valid database URL") from None
    backend = parsed.get_backend_name()
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if backend == "sqlite":
        db = parsed.database
        if not db or db == ":memory:":
            raise UsageError(f"--storage {shown!r}: an in-memory SQLite database holds no study")
        if not os.path.isfile(db):
            raise UsageError(f"--storage {shown!r}: no such SQLite file {db!r}")
        # SQLite's own read-only mode: any write fails inside the driver, and no file is created
        url = f"sqlite:///file:{quote(os.path.abspath(db))}?mode=ro&uri=true"
    elif backend == "postgresql":
        engine_kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
    elif backend not in ("mysql",):
        raise UsageError(f"--storage {shown!r}: unknown scheme {parsed.drivername!r}; use a file path, sqlite://, "
                         "postgresql:// or mysql://")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # skip_table_creation: an empty database stays empty (and is reported below as holding no study)
            return RDBStorage(url, engine_kwargs=engine_kwargs, skip_table_creation=True)
    except Exception as exc:  # sqlalchemy raises many types for unreachable, refused or foreign databases
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"--storage {shown!r} cannot be read as an Optuna storage: {first}") from None


class StudySource:
    """The studies of one storage, read-only, with a per-study DataFrame cache.

    `frame` rebuilds a study's DataFrame only when its signature (the number of trials in each state)
    changed since the last call, so a dashboard that refreshes every few seconds re-reads the storage
    (incrementally: Optuna's journal replay and RDB trial cache keep finished trials) but rebuilds nothing
    while no trial starts or finishes.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or DEFAULT_STORAGE
        # absolute, so the export command shown on a trial page works from any folder
        self.display_url = hide_password(self.url) if "://" in self.url else os.path.abspath(self.url)
        with gc_paused():  # a journal is replayed here
            self.storage = open_readonly(self.url)
        self._studies: dict[str, optuna.Study] = {}
        self._frames: dict[str, tuple[tuple[int, ...], pd.DataFrame]] = {}
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}

    def require_plugins(
        self, studies: list[str] | None = None, *, trust: bool = False, command: str = "optnas"
    ) -> None:
        """Check that the plugins ``studies`` (default: all) were made with are imported (`plugins.require`):
        a study's list is data, imported only when ``trust``."""
        from .. import plugins

        for summary in self.storage.get_all_studies():
            if studies is None or summary.study_name in studies:
                meta = summary.user_attrs.get("optnas")
                plugins.require(plugins.recorded(meta), summary.study_name, trust=trust, command=command)

    def names(self) -> list[str]:
        """Study names in creation order."""
        return [s.study_name for s in self.storage.get_all_studies()]

    def study(self, name: str) -> optuna.Study:
        """The loaded study; an unknown name is a UsageError listing the valid ones."""
        with self._lock:
            if name not in self._studies:
                names = self.names()
                if name not in names:
                    valid = ", ".join(names) or "none"
                    raise UsageError(f"unknown study {name!r} in {self.display_url}; valid: {valid}")
                if isinstance(self.storage, RDBStorage) and _rdb.AVAILABLE:
                    self._studies[name] = _rdb.FastRDBStudy(name, self.storage)
                else:
                    # a fixed sampler: load_study would otherwise build a TPE sampler nobody uses
                    sampler = optuna.samplers.RandomSampler()
                    self._studies[name] = optuna.load_study(study_name=name, storage=self.storage, sampler=sampler)
            return self._studies[name]

    def signature(self, name: str) -> tuple[int, ...]:
        """Trials per state (in `TrialState` order): changes whenever a trial is added, starts or ends."""
        counts = dict.fromkeys(TrialState, 0)
        with gc_paused():  # the first read of an RDB study loads every trial
            trials = self.study(name).get_trials(deepcopy=False)
        for t in trials:
            counts[t.state] += 1
        return tuple(counts.values())

    def frame(self, name: str) -> pd.DataFrame:
        """`optnas.results.frame` of the study, from the cache while its signature is unchanged.

        Callers must not modify the returned DataFrame (it is shared); copy it first.
        """
        sig = self.signature(name)
        cached = self._frames.get(name)
        if cached is not None and cached[0] == sig:
            return cached[1]
        # one build per study at a time: a page's first load asks for it from several callbacks at once,
        # and each would otherwise build the same frame (and share the GIL with the others)
        with self._lock:
            building = self._building.setdefault(name, threading.Lock())
        with building:
            cached = self._frames.get(name)
            if cached is not None and cached[0] == sig:
                return cached[1]
            with gc_paused():
                df = frame(self.study(name), self.url, strict=False)  # no store: the trials without curves
            df.attrs["storage"] = self.display_url
            with self._lock:
                self._frames[name] = (sig, df)
        return df
