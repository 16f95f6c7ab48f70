"""Checks of a search-space file beyond its schema: sizes, positive rates, memory bounds, and messages.

Everything here runs at load, before a task is made, a storage is opened or a file is written, and every
failure is one line naming the file, the key path (``space.depth.high``) and what is valid.

Example:
    >>> from optnas.search import SearchSpace
    >>> space = {"algorithm": "gd", "depth": {"low": -3, "high": 4}}
    >>> SearchSpace.from_dict({"task": {"name": "rings"}, "space": space})
    Traceback (most recent call last):
    ...
    optnas.errors.UsageError: <search space>: space.depth.low=-3 is invalid: it must be an integer in [1, ...] (...)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .. import _validate, limits
from .._shapes import SPATIAL_DIMS, input_kind
from ..errors import UsageError
from ..spec import ArchSpec
from .config import KeyedError, Range, SpaceFile, Value

__all__ = ["check_memory", "check_values", "format_validation"]


def format_validation(where: Path, exc: ValidationError) -> str:
    """pydantic's first error as one line: ``FILE: key.path: what is wrong (got VALUE)``."""
    errors = exc.errors()
    err = errors[0]
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    cause = (err.get("ctx") or {}).get("error")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if isinstance(cause, KeyedError):
        return f"{where}: {key}{cause.path}: {cause}{more}"
    return f"{where}: {key}: {err['msg']} (got {err.get('input')!r}){more}"


def _leaves(label: str, value: Value) -> Iterator[tuple[str, Any]]:
    """(key path, number) for every number a value holds: a range's ends, a list's items, a scalar."""
    if isinstance(value, Range):
        yield f"{label}.low", value.low
        yield f"{label}.high", value.high
        if value.step is not None:
            yield f"{label}.step", value.step
    elif isinstance(value, list):
        yield from ((f"{label}.{i}", v) for i, v in enumerate(value))
    else:
        yield label, value


def _sizes(where: Path, label: str, value: Value, high: int) -> None:
    for key, v in _leaves(label, value):
        try:
            _validate.integer(key, v, 1, high, why=limits.budget_text())
        except UsageError as exc:
            raise UsageError(f"{where}: {exc}") from None


def _numbers(where: Path, label: str, value: Value, low: float, *, low_open: bool) -> None:
    for key, v in _leaves(label, value):
        try:
            _validate.number(key, v, low, low_open=low_open)
        except UsageError as exc:
            raise UsageError(f"{where}: {exc}") from None


def check_values(config: SpaceFile, where: Path) -> None:
    """Sizes are integers within the memory bounds; learning rates > 0 and weight decays >= 0."""
    s = config.space
    _sizes(where, "space.depth", s.depth, limits.max_depth())
    _sizes(where, "space.width", s.width, limits.max_size())
    _sizes(where, "space.stages", s.stages, limits.max_stages())
    for name, params in s.block.items():
        if "hidden" in params:
            _sizes(where, f"space.block.{name}.hidden", params["hidden"], limits.max_size())
    _numbers(where, "train.lr", config.train.lr, 0.0, low_open=True)
    _numbers(where, "train.weight_decay", config.train.weight_decay, 0.0, low_open=False)


def _largest(value: Value) -> int:
    return int(max(v for _, v in _leaves("", value) if _validate.is_number(v)))


def check_memory(config: SpaceFile, where: Path, input_shape: tuple[int, ...]) -> None:
    """The largest corner of the space (deepest, widest, most stages, largest hidden) fits the memory bound."""
    s = config.space
    depth, width = _largest(s.depth), _largest(s.width)
    stages = min(_largest(s.stages), depth)
    if stages > 1 and not SPATIAL_DIMS[input_kind(input_shape)]:
        raise UsageError(
            f"{where}: space.stages={stages} is invalid for the task's inputs of shape {input_shape}: "
            "only images and signals have stages; use stages: 1"
        )
    for alg, alg_params in s.algorithm.items():
        for block, block_params in s.block.items():
            params = {k: (_largest(v) if k == "hidden" else _first(v)) for k, v in block_params.items()}
            spec = ArchSpec(
                algorithm=alg, algorithm_params={k: _first(v) for k, v in alg_params.items()},
                block=block, block_params=params, depth=depth, width=width, stages=stages,
            )
            limits.check_spec(spec, input_shape, label=f"{where}: space: the largest corner")


def _first(value: Value) -> Any:
    if isinstance(value, Range):
        return value.low
    return value[0] if isinstance(value, list) else value
