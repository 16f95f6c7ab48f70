"""Refuse to let Ray unpickle a run folder someone else could have written (``--backend ray --resume``).

`ray.tune.Tuner.restore` unpickles what Ray saved in the experiment folder ``<root>/<study>``: ``tuner.pkl``
(cloudpickle), ``searcher-state-*.pkl`` (pickle), the cloudpickle blobs inside ``experiment_state-*.json``
and ``search_gen_state-*.json``, and a trial's ``error.pkl``. Whoever can write any of them, or replace a
folder on the way to them, runs code as the user who resumes. So, as ssh treats its keys (StrictModes),
every file and folder of the experiment must belong to the user (or root) and be writable by no one else,
and every folder above it must be writable by no one else unless it is sticky (``/tmp``).
Remote experiment storage (``OPTNAS_RAY_STORAGE=s3://...``) is not checked: its access rules are the
bucket's.

Example:
    >>> import tempfile
    >>> check_experiment(tempfile.mkdtemp())   # a private folder of this user: nothing to say
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ...errors import UsageError
from ...storage.urls import url_scheme

UNPICKLED = "tuner.pkl, searcher-state-*.pkl, the cloudpickle blobs in experiment_state-*.json"


def _problem(path: Path, st: os.stat_result, *, inside: bool) -> str | None:
    if st.st_uid not in (os.geteuid(), 0):
        return f"owned by uid {st.st_uid}, not by you (uid {os.geteuid()})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and (inside or not st.st_mode & stat.S_ISVTX):
        who = "others" if st.st_mode & stat.S_IWOTH else "its group"
        return f"writable by {who} (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def _stat(path: Path) -> os.stat_result:
    try:
        return os.stat(path)  # a link is judged by what it points to: that is what Ray would read
    except FileNotFoundError:
        return os.lstat(path)  # a dangling link


def _first_bad_inside(top: Path) -> tuple[Path, str] | None:
    why = _problem(top, _stat(top), inside=True)
    if why:
        return top, why
    for here, dirs, files in os.walk(top):
        for name in sorted(dirs) + sorted(files):
            path = Path(here, name)
            why = _problem(path, _stat(path), inside=True)
            if why:
                return path, why
    return None


def check_experiment(experiment: str) -> None:
    """Raise a one-line `UsageError` when ``experiment`` (a local Ray experiment folder) is not the user's own.

    A folder that does not exist holds nothing to restore and passes.
    """
    if url_scheme(experiment):  # a cloud URI (OPTNAS_RAY_STORAGE): no local folder to check
        return
    top = Path(experiment)
    if not top.exists():
        return
    found: tuple[Path, str] | None = None
    for parent in reversed(top.resolve().parents):  # from / down: the first bad folder is the one to fix
        why = _problem(parent, os.stat(parent), inside=False)
        if why:
            found = (parent, why)
            break
    if found is None:
        found = _first_bad_inside(top)
    if found is not None:
        path, why = found
        raise UsageError(
            f"--resume: {path} is {why}; Ray's Tuner.restore unpickles the files in {top} ({UNPICKLED}), so "
            f"whoever can write there can run code as you: make it yours and private (chown, chmod go-w) "
            f"or start a new study"
        )
