"""Export reads storages with `optnas.search.storage.open_existing` (the default: ``./optnas-runs/journal.log``)."""

from __future__ import annotations

from ..search.storage import DEFAULT_STORAGE, open_existing

__all__ = ["DEFAULT_STORAGE", "open_existing"]
