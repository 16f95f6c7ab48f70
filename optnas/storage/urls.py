"""What a storage URL says: the default journal, whether a URL names a database, the URL safe to print.

Everywhere, ``--storage`` takes an RDB URL (``postgresql://...``, ``sqlite:///...``) or a plain file path,
which means an Optuna journal file at that path, and ``--artifacts`` a folder or ``s3://...``: `url_scheme`
is the one place that tells a URL from a path, the functions here the only ones that read a storage URL.

Example:
    >>> is_rdb("postgresql://db/optnas"), is_rdb("optnas-runs/journal.log")
    (True, False)
    >>> hide_password("postgresql://user:secret@db/optnas")
    'postgresql://user:***@db/optnas'
"""

from __future__ import annotations

import re
from pathlib import Path

DEFAULT_DIR = Path("optnas-runs")
DEFAULT_STORAGE = str(DEFAULT_DIR / "journal.log")
RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql")
# RFC 3986's scheme (a letter, then letters, digits, "+", "-", "."), here of two characters at least: a Windows
# drive ("C://runs") is a path
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+)://")


def url_scheme(text: str) -> str | None:
    r"""The scheme ``text`` starts with, as written (``postgresql+psycopg``, ``s3``); None for a local path.

    A URL is a scheme then ``://``; anything else is a file path, even one with ``://`` further on (in a
    folder's name) or a Windows drive.

    Example:
        >>> [url_scheme(t) for t in ("sqlite:///runs/o.db", "postgresql+psycopg://u@db/o", "s3://bucket/p")]
        ['sqlite', 'postgresql+psycopg', 's3']
        >>> [url_scheme(t) for t in ("runs/journal.log", "C:\\runs\\journal.log", "C://runs", "runs/a://b/j.log")]
        [None, None, None, None]
    """
    match = _SCHEME.match(text)
    return match.group(1) if match else None


def scheme(url: str) -> str | None:
    """The database kind a URL names (``postgresql+psycopg://`` -> ``postgresql``); None for a file path."""
    written = url_scheme(url)
    return None if written is None else written.split("+")[0]


def is_rdb(url: str) -> bool:
    """Whether ``url`` names a database Optuna's RDB storage opens (else it is a journal path or unknown)."""
    return scheme(url) in RDB_SCHEMES


def local_file(url: str) -> Path | None:
    """The file on this machine a storage is: a journal path, or a SQLite URL's database file (as given,
    relative or absolute); None for a network database or an in-memory one.

    Example:
        >>> local_file("sqlite:///runs/optuna.db"), local_file("postgresql://db/optnas")
        (PosixPath('runs/optuna.db'), None)
    """
    kind = scheme(url)
    if kind is None:
        return Path(url)
    if kind != "sqlite":
        return None
    # SQLAlchemy (Optuna's RDB dependency) is imported only for a database URL, as Optuna itself does
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def hide_password(url: str) -> str:
    """``postgresql://u:secret@h/db`` -> ``postgresql://u:***@h/db``; a file path is returned unchanged."""
    if url_scheme(url) is None:
        return url
    # SQLAlchemy (Optuna's RDB dependency) is imported only for a database URL, as Optuna itself does
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return f"{url_scheme(url)}://..."
