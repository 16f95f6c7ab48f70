"""Where a journal-file storage keeps its run: export reads storages with `optnas.search.storage.open_existing`."""

from __future__ import annotations

from pathlib import Path

from ..search.storage import DEFAULT_STORAGE, open_existing

__all__ = ["DEFAULT_STORAGE", "journal_dir", "open_existing"]


def journal_dir(url: str | None) -> Path | None:
    """The folder of a journal-file storage (where its run keeps artifacts), None for RDB URLs."""
    url = url or DEFAULT_STORAGE
    return None if "://" in url else Path(url).resolve().parent
