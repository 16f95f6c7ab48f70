"""The algorithm registry: every algorithm registers on its class with ``@register(name)``.

An algorithm's parameter ranges are its class's ``ranges`` (`optnas._registry.Interval` data, or words for
a name such as a momentum schedule): its ``__init__`` checks each argument with them, and `describe` and
`optnas list` show the same ranges.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .._registry import Range, Registry
from .base import Algorithm, implicit_table_problem

_REGISTRY: Registry[type[Algorithm]] = Registry("algorithm")
names, get, entry, _register, unregister = _REGISTRY.public()
describe = _REGISTRY.describe
ranges = _REGISTRY.ranges


def register(
    name: str, *, description: str | None = None, params: Mapping[str, Range] | None = None, overwrite: bool = False
) -> Callable[[type[Algorithm]], type[Algorithm]]:
    """Decorator registering an algorithm class under ``name`` (metadata as in `Registry.register`;
    ``params`` defaults to the class's ``ranges``).

    An implicit scheme whose default tables the implicit forward pass cannot run (two sweeps, T in a row
    other than x+, ...) is refused here with one line, instead of certifying and failing in forward.
    """
    def decorate(cls: type[Algorithm]) -> type[Algorithm]:
        if getattr(cls, "implicit", False):
            problem = _default_problem(cls)
            if problem:
                raise ValueError(f"implicit algorithm {name!r} cannot run: {problem}")
        given = getattr(cls, "ranges", {}) if params is None else params
        return _register(name, description=description, params=given, overwrite=overwrite)(cls)

    return decorate


def _default_problem(cls: type[Algorithm]) -> str | None:
    try:
        algorithm = cls()
    except TypeError:  # required parameters: checked for each spec when it is certified
        return None
    return next((p for d in (1, 2, 3, 6) if (p := implicit_table_problem(algorithm.layers(d)))), None)
