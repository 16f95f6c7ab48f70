"""A name -> factory registry: the one place where names are looked up.

Every extensible family (activations, algorithms, schedules, blocks, tasks) is a `Registry`. A module
that owns one re-exports its bound methods, so users write ``optnas.activations.get("repu", p=2)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


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

    def register(self, name: str, *, overwrite: bool = False) -> Callable[[T], T]:
        """Decorator registering a factory under ``name`` (lower-case, no spaces)."""
        if not name or name != name.strip() or " " in name:
            raise ValueError(f"{self.kind} name {name!r} is invalid: use a non-empty name without spaces")

        def decorate(factory: T) -> T:
            if name in self._entries and not overwrite:
                raise ValueError(
                    f"{self.kind} {name!r} is already registered; pass overwrite=True to replace it"
                )
            self._entries[name] = factory  # type: ignore[assignment]
            return factory

        return decorate

    def unregister(self, name: str) -> None:
        """Remove a (user) entry; mainly for tests."""
        self.entry(name)
        del self._entries[name]

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
