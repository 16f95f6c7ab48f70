"""Load a search-space file for a CLI command, printing its load-time notes as plain lines."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from optnas.search import SearchSpace


def load_space(path: Path, command: str) -> Any:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        space = SearchSpace.from_yaml(path)
    for w in caught:
        if issubclass(w.category, UserWarning):
            print(f"optnas {command}: note: {w.message}")
    return space
