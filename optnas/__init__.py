"""optnas: certified neural architecture search over optimization-inspired networks.

Example:
    >>> import torch, optnas
    >>> spec = optnas.ArchSpec(algorithm="nesterov", depth=6, width=16, activation="gelu")
    >>> optnas.certify(spec).ok
    True
    >>> optnas.build(spec, input_shape=(4,), num_outputs=2)(torch.randn(3, 4)).shape
    torch.Size([3, 2])
"""

from __future__ import annotations

import warnings
from typing import Any

from . import activations, algorithms, blocks, plugins, schedules
from ._shapes import Signal
from ._version import __version__
from .build import build
from .certify import Certificate, Condition, UncertifiedArchitecture, certify
from .errors import UsageError
from .spec import ArchSpec
from .training import RunResult, StopTraining, train

__all__ = [
    "ArchSpec",
    "Certificate",
    "Condition",
    "RunResult",
    "SearchSpace",
    "Signal",
    "StopTraining",
    "UncertifiedArchitecture",
    "__version__",
    "activations",
    "algorithms",
    "blocks",
    "build",
    "certify",
    "schedules",
    "train",
]


def __getattr__(name: str) -> Any:
    # Heavier parts load on first use, so `import optnas` stays fast and models never pull in the search stack.
    lazy = {"theory": "optnas.theory", "tasks": "optnas.tasks", "results": "optnas.results",
            "search": "optnas.search", "export": "optnas.export", "storage": "optnas.storage"}
    import importlib

    if name in lazy:
        return importlib.import_module(lazy[name])
    if name == "SearchSpace":  # the plugin entry point; Optuna is imported only when it is used
        return importlib.import_module("optnas.search").SearchSpace
    raise AttributeError(f"module 'optnas' has no attribute {name!r}")


def _load_plugins() -> None:
    # worker processes and Ray workers import the plugins of the command that started them (optnas.plugins);
    # a broken one is a warning here, so `import optnas` (and the CLI's own one-line error) still works
    try:
        plugins.load_from_env()
    except UsageError as exc:
        warnings.warn(str(exc), stacklevel=2)


_load_plugins()
