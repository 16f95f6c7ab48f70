"""A fingerprint of the code a benchmark row's numbers come from, stored with each build trial.

A row reproduces with `optnas.train` only while the code on its training path is what trained it: the
network (build, nn, blocks, activations, algorithms, schedules, stages, certify: the solver budget), the
training loop, the tasks' data, the zero-cost proxies, and torch's version. The fingerprint hashes that
code's syntax tree without docstrings (comments and documentation change no number), so a build trial
records exactly which code trained it, whenever and wherever it ran; a trial of other code is stale.

Example:
    >>> len(fingerprint()) == 16 and fingerprint() == fingerprint()
    True
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

import torch

__all__ = ["TRAINING_CODE", "fingerprint"]

# Paths under the optnas package whose code sets a row's numbers (folders: every .py file in them).
TRAINING_CODE = (
    "_shapes.py", "activations.py", "algorithms", "blocks.py", "build.py", "certify", "limits.py", "nn",
    "schedules.py", "spec.py", "stages.py", "tasks", "theory", "training", "bench/build.py", "bench/proxies.py",
)
_ROOT = Path(__file__).resolve().parent.parent


def _code(path: Path) -> str:
    """The module's syntax tree without docstrings: what runs, not how it is described."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


@functools.cache
def fingerprint() -> str:
    """16 hex digits identifying the training code of this installation (and torch's version)."""
    digest = hashlib.sha256(f"torch {torch.__version__}\n".encode())
    for name in TRAINING_CODE:
        where = _ROOT / name
        for path in sorted(where.rglob("*.py")) if where.is_dir() else [where]:
            digest.update(f"{path.relative_to(_ROOT).as_posix()}\n{_code(path)}\n".encode())
    return digest.hexdigest()[:16]
