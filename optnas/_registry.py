"""A name -> factory registry: the one place where names are looked up, and what each entry is.

Every extensible family (activations, algorithms, schedules, blocks, tasks) is a `Registry`. A module
that owns one re-exports its bound methods, so users write ``optnas.activations.get("repu", p=2)``.
Every entry is registered the same way, ``@register(name, params={...})`` on its definition, and carries
its metadata (`describe`): a description (the factory's docstring, first paragraph, never cut) and its
parameters with their defaults and valid ranges, which `optnas list` prints. A numeric range is data, an
`Interval`: the factory checks its argument with it, so the range shown is the range enforced.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from . import _validate

T = TypeVar("T")
_EMPTY = inspect.Parameter.empty


@dataclass(frozen=True)
class Interval:
    """The valid range of a numeric parameter, as data: `check` enforces it, ``str`` shows it (`optnas list`).

    ``optional``: None is valid too, and this says what it means; ``note``: what the certificate narrows it to.

    Example:
        >>> beta = Interval(-1.0, 1.0, note="certified for beta < 1")
        >>> str(beta), beta.check("heavy_ball beta", 0.5)
        ('[-1, 1] (certified for beta < 1)', 0.5)
        >>> beta.check("heavy_ball beta", 2)
        Traceback (most recent call last):
        ...
        optnas.errors.UsageError: heavy_ball beta=2 is invalid: it must be a finite number in [-1.0, 1.0]
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    optional: str | None = None
    note: str = ""

    def check(self, label: str, value: Any) -> Any:
        """``value`` as an int or float inside the range (None when `optional`); else a one-line error."""
        if value is None and self.optional is not None:
            return None
        if self.integer:
            lo, hi = (None if b is None else int(b) for b in (self.low, self.high))
            return _validate.integer(label, value, lo, hi)
        return _validate.number(label, value, self.low, self.high, low_open=self.low_open, high_open=self.high_open)

    def __str__(self) -> str:
        def shown(x: float) -> str:
            return str(int(x)) if float(x).is_integer() else str(x)

        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            text = f"{'(' if self.low_open else '['}{shown(lo)}, {shown(hi)}{')' if self.high_open else ']'}"
        elif lo is not None:
            text = f"{'>' if self.low_open else '>='} {shown(lo)}"
        else:
            text = f"{'<' if self.high_open else '<='} {shown(hi)}" if hi is not None else "any number"
        text = f"integers {text}" if self.integer else text
        text += f" or None ({self.optional})" if self.optional else ""
        return text + (f" ({self.note})" if self.note else "")


Range = Interval | str  # a numeric range as data, or the valid values of any other parameter in words


@dataclass(frozen=True)
class Param:
    """One parameter of an entry: its name, default (None when required or unset) and valid range."""

    name: str
    default: Any
    range: str

    def __str__(self) -> str:
        default = "" if self.default is _EMPTY else f"={self.default!r}"
        return f"{self.name}{default}" + (f": {self.range}" if self.range else "")


@dataclass(frozen=True)
class EntryInfo:
    """What `Registry.describe` says of an entry."""

    name: str
    description: str
    params: tuple[Param, ...]


def _description(factory: Any) -> str:
    """The first paragraph of the factory's docstring, joined into one line (never truncated); a paragraph
    ending in a colon announces the next one, which is taken too."""
    paragraphs = (inspect.getdoc(factory) or "").split("\n\n")
    taken = [paragraphs[0]]
    while taken[-1].rstrip().endswith(":") and len(taken) < len(paragraphs):
        taken.append(paragraphs[len(taken)])
    return " ".join(" ".join(taken).split())


class Registry(Generic[T]):
    """Maps names to factories (usually classes) of one kind.

    Example:
        >>> reg: Registry[type] = Registry("widget")
        >>> @reg.register("box")
        ... class Box:
        ...     def __init__(self, size: int = 1) -> None:
        ...         self.size = size
        >>> reg.get("box", size=3).size
        3
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., Any]] = {}
        self._meta: dict[str, tuple[str | None, dict[str, Range]]] = {}
        self._versions: dict[str, int] = {}
        self._registrations = itertools.count(1)

    def register(
        self, name: str, *, description: str | None = None, params: Mapping[str, Range] | None = None,
        overwrite: bool = False,
    ) -> Callable[[T], T]:
        """Decorator registering a factory under ``name`` (lower-case, no spaces).

        ``description`` defaults to the factory's docstring (first paragraph); ``params`` maps parameter
        names to their valid ranges: an `Interval` the factory checks with (``{"beta": Interval(-1.0, 1.0)}``),
        or words for other values (``{"norm": "true or false"}``); `describe` and `optnas list` show them.
        """
        if not name or name != name.strip() or " " in name:
            raise ValueError(f"{self.kind} name {name!r} is invalid: use a non-empty name without spaces")

        def decorate(factory: T) -> T:
            if name in self._entries and not overwrite:
                raise ValueError(
                    f"{self.kind} {name!r} is already registered; pass overwrite=True to replace it"
                )
            self._entries[name] = factory  # type: ignore[assignment]
            self._meta[name] = (description, dict(params or {}))
            self._versions[name] = next(self._registrations)
            return factory

        return decorate

    def unregister(self, name: str) -> None:
        """Remove a (user) entry; mainly for tests."""
        self.entry(name)
        del self._entries[name]
        self._meta.pop(name, None)
        self._versions.pop(name, None)

    def version(self, name: str) -> int:
        """A number that changes each time ``name`` is registered: what caches of an entry's behaviour key on.

        ``id()`` of the entry would not do: a re-registered class keeps its id, and a freed factory's id is
        handed to the next object.

        Example:
            >>> reg: Registry[type] = Registry("widget")
            >>> _ = reg.register("box")(dict)
            >>> first = reg.version("box")
            >>> _ = reg.register("box", overwrite=True)(dict)
            >>> reg.version("box") != first
            True
        """
        self.entry(name)
        return self._versions[name]

    def ranges(self, name: str) -> dict[str, Range]:
        """The valid range of each parameter of ``name`` as registered (`Interval` data, or words)."""
        self.entry(name)
        return dict(self._meta.get(name, (None, {}))[1])

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def entry(self, name: str) -> Any:
        """The registered factory itself (a class, usually), without calling it."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            valid = ", ".join(self.names())
            raise ValueError(f"unknown {self.kind} {name!r}; valid names: {valid}") from None

    def describe(self, name: str) -> EntryInfo:
        """The entry's description and parameters (name, default, range) from its signature and registration.

        Example:
            >>> from optnas import algorithms
            >>> [str(p) for p in algorithms.describe("heavy_ball").params]
            ['beta=0.9: [-1, 1] (certified for beta < 1)']
        """
        factory = self.entry(name)
        description, ranges = self._meta.get(name, (None, {}))
        try:
            signature = inspect.signature(factory)
            found = [
                (p.name, p.default) for p in signature.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            ]
        except (TypeError, ValueError):
            found = []
        names = [n for n, _ in found] + [n for n in ranges if n not in dict(found)]
        defaults = dict(found)
        params = tuple(Param(n, defaults.get(n, _EMPTY), str(ranges.get(n, ""))) for n in names)
        return EntryInfo(name, description or _description(factory), params)

    def get(self, name: str, **params: Any) -> Any:
        """Instantiate ``name`` with ``params``; an unknown name or parameter lists the valid ones."""
        factory = self.entry(name)
        try:
            signature = inspect.signature(factory)
        except (TypeError, ValueError):  # builtins without a signature: let the call decide
            return factory(**params)
        try:
            signature.bind(**params)
        except TypeError:
            valid = [p for p in signature.parameters if p not in ("self", "args", "kwargs")]
            bad = sorted(set(params) - set(valid)) or sorted(params)
            raise ValueError(
                f"invalid parameter(s) {bad} for {self.kind} {name!r}; valid parameters: {valid or 'none'}"
            ) from None
        return factory(**params)

    def public(self) -> tuple[Callable[..., Any], ...]:
        """The module-level API of a registry module: ``names, get, entry, register, unregister``."""
        return self.names, self.get, self.entry, self.register, self.unregister

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
