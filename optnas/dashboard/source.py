"""`StudySource`: the studies of one storage, read-only, with one DataFrame per study rebuilt only when its
trials change (what the dashboard and the report read).

Example:
    >>> source = StudySource("optnas-runs/journal.log")      # doctest: +SKIP
    >>> source.names()                                        # doctest: +SKIP
    ['rings']
    >>> source.frame("rings").shape                           # doctest: +SKIP
    (40, 38)
"""

from __future__ import annotations

import os
import threading

import optuna
import pandas as pd
from optuna.trial import TrialState

from .. import plugins
from ..errors import UsageError
from ..results import frame
from ..storage import DEFAULT_STORAGE, gc_paused, hide_password, open_readonly, read_study
from ..storage.urls import url_scheme


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
        self.display_url = hide_password(self.url) if url_scheme(self.url) else os.path.abspath(self.url)
        with gc_paused(freeze=True):  # a journal is replayed here; its trials are kept
            self.storage = open_readonly(self.url)
        self._studies: dict[str, optuna.Study] = {}
        # a journal's signatures, kept while the file is unchanged: read every few seconds by every open page
        self._journal = None if url_scheme(self.url) else self.url
        self._signatures: dict[str, tuple[tuple[int, int], tuple[int, ...]]] = {}
        self._frames: dict[str, tuple[tuple[int, ...], pd.DataFrame]] = {}
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}

    def require_plugins(
        self, studies: list[str] | None = None, *, trust: bool = False, command: str = "optnas"
    ) -> None:
        """Check that the plugins ``studies`` (default: all) were made with are imported (`plugins.require`):
        a study's list is data, imported only when ``trust``."""
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
                self._studies[name] = read_study(self.storage, name)
            return self._studies[name]

    def signature(self, name: str) -> tuple[int, ...]:
        """Trials per state (in `TrialState` order): changes whenever a trial is added, starts or ends.

        A journal whose size and modification time are what they were at the last call holds no new record
        (a journal only grows), so its study's signature is the last one: one ``stat`` instead of a pass over
        every trial (at 50,000 trials, a tenth of a second for each page's refresh and each callback)."""
        stamp = self._stamp()
        known = self._signatures.get(name)
        if stamp is not None and known is not None and known[0] == stamp:
            return known[1]
        counts = dict.fromkeys(TrialState, 0)
        # the first read of an RDB study loads every trial, kept from then on (frozen: `gc_paused`); later
        # reads add the few new ones (freezing at every refresh would also freeze the requests' garbage)
        with gc_paused(freeze=name not in self._studies):
            trials = self.study(name).get_trials(deepcopy=False)
        for t in trials:
            counts[t.state] += 1
        signature = tuple(counts.values())
        if stamp is not None:  # taken before the read: a record landing meanwhile changes it, and is read next time
            self._signatures[name] = (stamp, signature)
        return signature

    def _stamp(self) -> tuple[int, int] | None:
        """The journal file's (size, modification time in ns); None for a database (or a file gone)."""
        if self._journal is None:
            return None
        try:
            info = os.stat(self._journal)
        except OSError:
            return None
        return info.st_size, info.st_mtime_ns

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
