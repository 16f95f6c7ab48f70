"""Python literals for plain data (numbers, strings, lists, dicts) that read well and round-trip exactly."""

from __future__ import annotations

import json
import math
from typing import Any

WIDTH = 116  # model.py lines stay within ruff's 120 columns with room for indentation slack


class NotLiteral(ValueError):
    """A value that has no Python literal (a function, a tensor, an object)."""


def plain(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and tuples kept; anything else unchanged."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0 and not hasattr(value, "requires_grad"):
        return value.item()  # numpy scalar (a float64 prints as np.float64(...) otherwise)
    return value


def flat(value: Any) -> str:
    """One-line literal of ``value``; floats by their shortest exact repr (non-finite as float('inf'))."""
    value = plain(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are Python escapes too
    if value is None or isinstance(value, bool):
        return repr(None if value is None else bool(value))
    if isinstance(value, int):
        return repr(int(value))  # an IntEnum's repr is not a literal
    if isinstance(value, float):
        value = float(value)
        return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    if isinstance(value, list):
        return "[" + ", ".join(flat(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(flat(v) for v in value) + (",)" if len(value) == 1 else ")")
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return "{" + ", ".join(f"{flat(k)}: {flat(v)}" for k, v in value.items()) + "}"
    raise NotLiteral(f"{value!r} ({type(value).__name__}) has no Python literal")


def literal(value: Any, indent: int = 0, lead: int = 0) -> str:
    """Like `flat`, but a list, tuple or dict too long for one line puts one item per line.

    ``indent`` is the indentation of the line the literal starts on, ``lead`` the characters before it there.

    Example:
        >>> print(literal({"c": [1.0, 0.0], "mix": None}))
        {"c": [1.0, 0.0], "mix": None}
    """
    value = plain(value)
    one_line = flat(value)
    if indent + lead + len(one_line) <= WIDTH or not isinstance(value, list | tuple | dict) or not value:
        return one_line
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        items = [f"{flat(k)}: {literal(v, indent + 4, len(flat(k)) + 2)}" for k, v in value.items()]
        open_, close = "{", "}"
    else:
        items = [literal(v, indent + 4) for v in value]
        open_, close = ("[", "]") if isinstance(value, list) else ("(", ")")
    return open_ + "\n" + "".join(f"{pad}{item},\n" for item in items) + " " * indent + close


def packed(value: dict[str, Any], indent: int = 0, lead: int = 0) -> str:
    """A dict literal with as many items per line as fit (a spec reads in a few lines, not one per key).

    Example:
        >>> print(packed({"algorithm": "gd", "depth": 3}))
        {"algorithm": "gd", "depth": 3}
    """
    one_line = flat(value)
    if indent + lead + len(one_line) <= WIDTH:
        return one_line
    pad, lines, line = " " * (indent + 4), [], ""
    for key, item in value.items():
        part = f"{flat(key)}: {literal(item, indent + 4, len(flat(key)) + 2)},"
        if line and ("\n" in part or len(pad) + len(line) + 1 + len(part) > WIDTH):
            lines.append(line)
            line = ""
        line = f"{line} {part}" if line else part
    lines.append(line)
    return "{\n" + "".join(f"{pad}{item}\n" for item in lines) + " " * indent + "}"


def runs(items: list[Any]) -> list[tuple[Any, int]]:
    """Consecutive equal items as (item, count)."""
    out: list[tuple[Any, int]] = []
    for item in items:
        if out and out[-1][0] == item:
            out[-1] = (item, out[-1][1] + 1)
        else:
            out.append((item, 1))
    return out


def docstring_safe(text: str) -> str:
    """``text`` escaped to sit inside a triple-quoted docstring (a study name may hold quotes or backslashes)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')
