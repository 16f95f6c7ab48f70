"""The task registry: the one place where task names are looked up."""

from __future__ import annotations

from typing import Any

from .._registry import Registry

TASKS: Registry[Any] = Registry("task")
