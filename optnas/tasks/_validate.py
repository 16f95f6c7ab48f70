"""Checks of task parameters: `optnas._validate`'s rules, with the task's name in every message."""

from __future__ import annotations

from typing import Any

from .. import _validate, limits
from ..errors import UsageError


def integer(task: str, name: str, value: Any, low: int, high: int | None = None) -> int:
    """``value`` as an int in [low, high]; bools are rejected (True is not a count)."""
    return _validate.integer(f"{task} task: {name}", value, low, high)


def samples(task: str, value: Any, low: int, features: int) -> int:
    """A sample count: an integer >= low whose generated data fit the memory bound (see `optnas.limits`)."""
    return _validate.integer(
        f"{task} task: n_samples", value, low, limits.max_samples(features), why=limits.budget_text()
    )


def fraction(task: str, name: str, value: Any, *, allow_zero: bool = True) -> float:
    """``value`` as a float in [0, 1) (or (0, 1) when zero is not allowed)."""
    return _validate.number(f"{task} task: {name}", value, 0, 1, low_open=not allow_zero, high_open=True)


def number(task: str, name: str, value: Any, low: float, *, strict: bool = False) -> float:
    """``value`` as a finite float >= low (> low when strict)."""
    return _validate.number(f"{task} task: {name}", value, low, low_open=strict)


def boolean(task: str, name: str, value: Any) -> bool:
    return _validate.boolean(f"{task} task: {name}", value)


def split_fractions(task: str, val_fraction: Any, test_fraction: Any) -> tuple[float, float]:
    """Validation and test fractions, each in (0, 1), leaving a non-empty training part."""
    val = fraction(task, "val_fraction", val_fraction, allow_zero=False)
    test = fraction(task, "test_fraction", test_fraction, allow_zero=False)
    if val + test >= 1.0:
        raise UsageError(f"{task} task: val_fraction={val} + test_fraction={test} is invalid: their sum must be < 1")
    return val, test
