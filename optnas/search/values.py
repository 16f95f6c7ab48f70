"""What a search-space `Value` spans, read one way everywhere: its ends, its numbers, its corners.

A value (`optnas.search.config.Value`) is a fixed scalar, a list of choices or a `Range`. Its *ends* are the
values a corner takes: a range's low and high (one when they are equal), a list's distinct items, the scalar.
Loading (`SearchSpace`: parameter checks, the certified bisection), the memory check and the corner report
(`optnas.search.corners`) all read values through these functions.

Example:
    >>> from optnas.search.config import Range
    >>> ends(Range(low=2, high=8)), ends([16, 32, 16]), ends(0.9)
    ([2, 8], [16, 32], [0.9])
    >>> corners({"beta": Range(low=0.0, high=0.9), "nu": [1, 2]})
    [{'beta': 0.0, 'nu': 1}, {'beta': 0.0, 'nu': 2}, {'beta': 0.9, 'nu': 1}, {'beta': 0.9, 'nu': 2}]
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from .._validate import is_number
from .config import Range, Value

__all__ = ["corners", "ends", "family_corners", "first", "largest", "numbers"]


def ends(value: Value) -> list[Any]:
    """The values a corner takes: a range's ends, a list's distinct items (a value listed twice is one corner)."""
    if isinstance(value, Range):
        return [value.low] if value.low == value.high else [value.low, value.high]
    values = value if isinstance(value, list) else [value]
    return list(dict.fromkeys(values))


def first(value: Value) -> Any:
    """The first end: a range's low, a list's first item, the scalar."""
    return ends(value)[0]


def numbers(label: str, value: Value) -> Iterator[tuple[str, Any]]:
    """(key path, item) for every item a value holds, for messages: a range's ends and step, a list's items."""
    if isinstance(value, Range):
        yield f"{label}.low", value.low
        yield f"{label}.high", value.high
        if value.step is not None:
            yield f"{label}.step", value.step
    elif isinstance(value, list):
        yield from ((f"{label}.{i}", v) for i, v in enumerate(value))
    else:
        yield label, value


def largest(value: Value) -> int:
    """The largest number the value holds (a size: depth, width, hidden)."""
    return int(max(v for _, v in numbers("", value) if is_number(v)))


def corners(params: dict[str, Value]) -> list[dict[str, Any]]:
    """Every combination of the parameters' ends."""
    keys = list(params)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(ends(params[k]) for k in keys))]


def family_corners(family: dict[str, dict[str, Value]]) -> list[tuple[str, dict[str, Any]]]:
    """(name, parameters) for every name of a family (algorithm, block, ...) at every corner of its parameters."""
    return [(name, corner) for name, params in family.items() for corner in corners(params)]
