"""The task registry: the one place where task names are looked up."""

from __future__ import annotations

from typing import Any

from .._registry import Registry

TASKS: Registry[Any] = Registry("task")

# Valid ranges shared by the built-in tasks (shown by `optnas list tasks`).
SPLIT = {"seed": "integers >= 0", "val_fraction": "(0, 1), with test_fraction < 1 in sum",
         "test_fraction": "(0, 1), with val_fraction < 1 in sum"}
SAMPLES = "integers, at least the task's minimum, within the memory bound (optnas.limits)"
