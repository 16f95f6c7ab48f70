"""What a storage URL says: the default journal, whether a URL names a database, the URL safe to print.

Everywhere, ``--storage`` takes an RDB URL (``postgresql://...``, ``sqlite:///...``) or a plain file path,
which means an Optuna journal file at that path; these are the only places that tell the two apart.

Example:
    >>> is_rdb("postgresql://db/optnas"), is_rdb("optnas-runs/journal.log")
    (True, False)
    >>> hide_password("postgresql://user:secret@db/optnas")
    'postgresql://user:***@db/optnas'
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_DIR = Path("optnas-runs")
DEFAULT_STORAGE = str(DEFAULT_DIR / "journal.log")
RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql")


def scheme(url: str) -> str | None:
    """The database kind a URL names (``postgresql+psycopg://`` -> ``postgresql``); None for a file path."""
    return url.split("://", 1)[0].split("+")[0] if "://" in url else None


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
    if "://" not in url:
        return url
    # SQLAlchemy (Optuna's RDB dependency) is imported only for a database URL, as Optuna itself does
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("://", 1)[0] + "://..."
