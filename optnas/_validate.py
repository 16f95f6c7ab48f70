"""The checks of plain values at optnas's boundaries, in one place: each failure names the value and the rule.

Every public entry point (ArchSpec, registries' parameters, tasks, training options, the CLI, search-space
files) validates with these, so "an integer" always means an int that is not a bool (``True`` is not a
count) and "a number" always means a finite int or float.

Example:
    >>> integer("ArchSpec.depth", 8, 1)
    8
    >>> integer("ArchSpec.depth", True, 1)
    Traceback (most recent call last):
    ...
    optnas.errors.UsageError: ArchSpec.depth=True is invalid: it must be an integer >= 1
    >>> number("lr", float("nan"), 0.0, low_open=True)
    Traceback (most recent call last):
    ...
    optnas.errors.UsageError: lr=nan is invalid: it must be a finite number > 0.0
"""

from __future__ import annotations

import math
import os
import reprlib
from typing import Any

from .errors import UsageError

__all__ = ["ECHO_MAX", "LINE_MAX", "boolean", "integer", "is_integer", "is_number", "number", "shown"]

LINE_MAX = 1000  # characters of an error line at most (the CLI cuts longer ones: a backstop)
ECHO_MAX = 80  # characters of a value a message echoes: a huge value (a YAML bomb's) is never printed whole
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = ECHO_MAX
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6
_REPR.maxlevel = 3


def shown(value: Any) -> str:
    """``repr(value)`` cut to `ECHO_MAX` characters, without ever building the whole repr of a huge value.

    Example:
        >>> shown("x" * 1000)[:12], len(shown("x" * 1000)) <= ECHO_MAX
        ("'xxxxxxxxxxx", True)
        >>> shown(10**5000)
        '<an integer of about 5001 digits>'
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"<an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits>"
    try:
        text = _REPR.repr(value)
    except Exception:  # a value whose repr fails (an int past Python's digit limit inside a list)
        text = f"<{type(value).__name__}>"
    return text if len(text) <= ECHO_MAX else text[: ECHO_MAX - 3] + "..."


def is_integer(value: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite int or float that is not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high}"
    return ""


def _inside(value: float, low: float | None, high: float | None, low_open: bool, high_open: bool) -> bool:
    if low is not None and (value <= low if low_open else value < low):
        return False
    return not (high is not None and (value >= high if high_open else value > high))


def integer(label: str, value: Any, low: int | None = None, high: int | None = None, *, why: str = "") -> int:
    """``value`` as an int in [low, high] (either end optional); ``why`` says where ``high`` comes from."""
    if not is_integer(value) or not _inside(value, low, high, False, False):
        rule = " ".join(("an integer", _interval(low, high, False, False))).strip()
        raise UsageError(f"{label}={shown(value)} is invalid: it must be {rule}{f' ({why})' if why else ''}")
    return int(value)


def number(
    label: str, value: Any, low: float | None = None, high: float | None = None, *,
    low_open: bool = False, high_open: bool = False,
) -> float:
    """``value`` as a finite float in the interval given (open or closed at each end)."""
    if not is_number(value) or not _inside(value, low, high, low_open, high_open):
        rule = " ".join(("a finite number", _interval(low, high, low_open, high_open))).strip()
        raise UsageError(f"{label}={shown(value)} is invalid: it must be {rule}")
    return float(value)


def boolean(label: str, value: Any) -> bool:
    """``value`` itself when it is a bool (1 and "yes" are not)."""
    if not isinstance(value, bool):
        raise UsageError(f"{label}={shown(value)} is invalid: it must be true or false")
    return value


def env_number(name: str) -> tuple[str, float] | None:
    """The environment variable ``name`` as written and read as a float (NaN when it is not a number), or None
    when it is unset: each reader checks the range its setting allows and names it in its one-line error.

    Example:
        >>> os.environ["OPTNAS_EXAMPLE_S"] = "abc"
        >>> env_number("OPTNAS_EXAMPLE_S"), env_number("OPTNAS_UNSET_EXAMPLE")
        (('abc', nan), None)
        >>> del os.environ["OPTNAS_EXAMPLE_S"]
    """
    raw = os.environ.get(name)
    if raw is None:
        return None
    try:
        return raw, float(raw)
    except ValueError:
        return raw, math.nan
