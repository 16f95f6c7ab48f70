"""Checks of task parameters at the public boundary: each failure names the value and the rule."""

from __future__ import annotations

from typing import Any

from ..errors import UsageError


def integer(task: str, name: str, value: Any, low: int, high: int | None = None) -> int:
    """``value`` as an int in [low, high]; bools are rejected (True is not a count)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        rule = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
        raise UsageError(f"{task} task: {name}={value!r} is invalid: it must be {rule}")
    return int(value)


def fraction(task: str, name: str, value: Any, *, allow_zero: bool = True) -> float:
    """``value`` as a float in [0, 1) (or (0, 1) when zero is not allowed)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        ok = (0.0 <= value < 1.0) if allow_zero else (0.0 < value < 1.0)
    if not ok:
        rule = "a number in [0, 1)" if allow_zero else "a number in (0, 1)"
        raise UsageError(f"{task} task: {name}={value!r} is invalid: it must be {rule}")
    return float(value)


def number(task: str, name: str, value: Any, low: float, *, strict: bool = False) -> float:
    """``value`` as a float >= low (> low when strict)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        ok = value > low if strict else value >= low
    if not ok:
        rule = f"a number {'>' if strict else '>='} {low}"
        raise UsageError(f"{task} task: {name}={value!r} is invalid: it must be {rule}")
    return float(value)


def boolean(task: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{task} task: {name}={value!r} is invalid: it must be true or false")
    return value


def split_fractions(task: str, val_fraction: Any, test_fraction: Any) -> tuple[float, float]:
    """Validation and test fractions, each in (0, 1), leaving a non-empty training part."""
    val = fraction(task, "val_fraction", val_fraction, allow_zero=False)
    test = fraction(task, "test_fraction", test_fraction, allow_zero=False)
    if val + test >= 1.0:
        raise UsageError(f"{task} task: val_fraction={val} + test_fraction={test} is invalid: their sum must be < 1")
    return val, test
