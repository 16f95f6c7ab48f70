"""The documented upper bounds of what a search-space file may hold (docs/security.md lists them).

A space file is input anyone may hand you: every size it can set is bounded, so no file can take the
machine's memory or minutes of CPU before it is refused, in one line, in milliseconds.

Example:
    >>> from optnas.search import bounds
    >>> bounds.MAX_FILE_BYTES, bounds.MAX_NODES
    (1048576, 100000)
"""

from __future__ import annotations

from .._validate import ECHO_MAX

__all__ = [
    "ECHO_MAX", "MAX_CHOICES", "MAX_DEPTH", "MAX_EPOCHS", "MAX_FILE_BYTES", "MAX_NODES", "MAX_PLUGINS", "MAX_TRIALS",
]

MAX_FILE_BYTES = 1 << 20  # a space file is a page of YAML; 1 MiB is a thousand times that
MAX_NODES = 100_000  # YAML nodes after aliases are expanded (a "billion laughs" file expands to 10^9)
MAX_DEPTH = 32  # levels of nesting (a space file has 4)
MAX_CHOICES = 1_000  # items of one choice list (width: [...]) and names of one family (algorithm: ...)
MAX_EPOCHS = 100_000  # train.epochs: a trial's budget
MAX_TRIALS = 1_000_000  # trials: the study's count (file and --trials)
MAX_PLUGINS = 100  # modules in plugins: [...]
