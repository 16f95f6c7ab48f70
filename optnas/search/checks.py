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

import difflib
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .. import _validate, footprint, limits
from .._shapes import SPATIAL_DIMS, input_kind
from .._validate import shown
from ..errors import UsageError
from ..spec import ArchSpec
from .config import KeyedError, SpaceFile, Value
from .values import first, largest, numbers

__all__ = ["check_memory", "check_values", "did_you_mean", "format_validation"]


def format_validation(where: Path, exc: ValidationError) -> str:
    """pydantic's errors as one line: ``FILE: key.path: what is wrong (got VALUE)``.

    An unknown key comes first, with the close valid key, since a misspelt key (``spcae``) also makes the
    key it meant "missing": that error is its consequence and is not counted.
    """
    errors = exc.errors()
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    err = unknown[0] if unknown else errors[0]
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    cause = (err.get("ctx") or {}).get("error")
    if err["type"] == "extra_forbidden":
        *parent, bad = err["loc"]
        valid = _keys_at(tuple(parent))
        meant = did_you_mean(str(bad), valid)
        explained = [e for e in errors if e["type"] == "missing" and e["loc"] == (*parent, meant)]
        rest = len(errors) - 1 - len(explained)
        listed = f"; valid keys here: {', '.join(valid)}" if valid else ""
        text = f"{where}: {key}: unknown key{_hint(meant)}{listed}"
    else:
        rest = len(errors) - 1
        if isinstance(cause, KeyedError):
            text = f"{where}: {key}{cause.path}: {cause}"
        elif err["type"] == "missing":  # its input is the whole enclosing mapping: not worth printing
            text = f"{where}: {key}: missing (a required key)"
        else:
            text = f"{where}: {key}: {err['msg']} (got {shown(err.get('input'))})"
    return text + (f" (and {rest} more)" if rest > 0 else "")


def did_you_mean(word: str, valid: Sequence[str]) -> str | None:
    """The valid name closest to a misspelt ``word`` (``spcae`` -> ``space``), or None when none is close.

    Example:
        >>> did_you_mean("spcae", ["task", "space", "train"])
        'space'
    """
    close = difflib.get_close_matches(word, list(valid), n=1, cutoff=0.6)
    return close[0] if close else None


def _hint(meant: str | None) -> str:
    return f" (did you mean {meant!r}?)" if meant else ""



def _keys_at(path: tuple[str | int, ...]) -> list[str]:
    """The keys the file's schema allows at ``path`` (list positions skipped); [] where it is not a model."""
    model: Any = SpaceFile
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if _is_model(model) else None
        model = _model_in(field.annotation) if field is not None else None
    return list(model.model_fields) if _is_model(model) else []


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside an annotation (``Task | None``, ``list[ObjectiveConfig]``), or None."""
    if _is_model(annotation):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _sizes(where: Path, label: str, value: Value, high: int) -> None:
    for key, v in numbers(label, value):
        try:
            _validate.integer(key, v, 1, high, why=limits.budget_text())
        except UsageError as exc:
            raise UsageError(f"{where}: {exc}") from None


def _numbers(where: Path, label: str, value: Value, low: float, *, low_open: bool) -> None:
    for key, v in numbers(label, value):
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
    _stages_within_depth(where, s.stages, s.depth)
    for name, params in s.block.items():
        if "hidden" in params:
            _sizes(where, f"space.block.{name}.hidden", params["hidden"], limits.max_size())
    _numbers(where, "train.lr", config.train.lr, 0.0, low_open=True)
    _numbers(where, "train.weight_decay", config.train.weight_decay, 0.0, low_open=False)


def _stages_within_depth(where: Path, stages: Value, depth: Value) -> None:
    """Every stage count fits the shallowest depth (each stage runs at least one layer), or no draw could build."""
    ends = [(k, v) for k, v in numbers("space.depth", depth) if not k.endswith(".step")]
    depth_key, shallowest = min(ends, key=lambda kv: kv[1])
    for key, v in numbers("space.stages", stages):
        if not key.endswith(".step") and v > shallowest:
            raise UsageError(
                f"{where}: {key}={v} is invalid: it exceeds the smallest depth {depth_key}={shallowest}, and each "
                f"stage runs at least one layer; valid: stages <= {shallowest} (or raise the depth)"
            )


def check_memory(config: SpaceFile, where: Path, input_shape: tuple[int, ...]) -> None:
    """The largest corner of the space (deepest, widest, most stages, largest hidden) fits the memory bound."""
    s = config.space
    depth, width = largest(s.depth), largest(s.width)
    stages = min(largest(s.stages), depth)
    if stages > 1 and not SPATIAL_DIMS[input_kind(input_shape)]:
        raise UsageError(
            f"{where}: space.stages={stages} is invalid for the task's inputs of shape {input_shape}: "
            "only images and signals have stages; use stages: 1"
        )
    for alg, alg_params in s.algorithm.items():
        for block, block_params in s.block.items():
            params = {k: (largest(v) if k == "hidden" else first(v)) for k, v in block_params.items()}
            spec = ArchSpec(
                algorithm=alg, algorithm_params={k: first(v) for k, v in alg_params.items()},
                block=block, block_params=params, depth=depth, width=width, stages=stages,
            )
            footprint.check_spec(spec, input_shape, label=f"{where}: space: the largest corner")

