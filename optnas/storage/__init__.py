"""Where a search's results live: Optuna storages opened from what users type, and the artifact store beside them.

- `open_storage(url)`: to search in (a journal file, created with its folder, or an RDB URL with heartbeats);
- `open_readonly(url)`: to read (dashboard, report, export, results, bench): nothing created or written;
  `load_readonly(url, name)` loads one study of it, an unknown name listing the valid ones;
- `artifacts`: the store of a study's weights, curve records and checkpoints (a folder or ``s3://``);
- `trial_record`: a trial's bulky record (curves, initialisation record), kept as one artifact;
- `BatchWriter(storage)`: new trials written whole, one transaction each (the Ray driver's drafted trials);
- `read_study(storage, name)`: a study to read; on an RDB storage a fast reader (``_rdb``, the one place that
  reads Optuna's private table definitions, for the Optuna versions it was checked against: ``_rdb.SUPPORTED``).

Example:
    >>> from optnas import storage
    >>> writable = storage.open_storage("/tmp/optnas-doctest/journal.log")
    >>> type(writable).__name__, type(storage.open_readonly("/tmp/optnas-doctest/journal.log")).__name__
    ('JournalStorage', 'JournalStorage')
"""

from __future__ import annotations

from . import artifacts, trial_record
from ._journal_file import repaired
from .batch import BatchWriter
from .readonly import gc_paused, load_readonly, open_readonly, read_study
from .readwrite import MAX_RETRY, open_storage
from .urls import DEFAULT_DIR, DEFAULT_STORAGE, hide_password, is_rdb, local_file

__all__ = [
    "DEFAULT_DIR",
    "DEFAULT_STORAGE",
    "MAX_RETRY",
    "BatchWriter",
    "artifacts",
    "gc_paused",
    "hide_password",
    "is_rdb",
    "load_readonly",
    "local_file",
    "open_readonly",
    "open_storage",
    "read_study",
    "repaired",
    "trial_record",
]
