"""The search-space file (YAML), validated with pydantic.

A value anywhere in ``space`` is fixed (``0.9``), a choice (``[16, 32, 64]``) or a range
(``{low: 0.0, high: 0.95}``, with optional ``log: true`` or ``step``). Families (algorithm, schedule,
block, activation) map each allowed name to its own parameters, so parameters are conditional on the
name (``beta`` exists only when heavy_ball is drawn).

Example file:

    task: {name: rings, params: {n_rings: 3}}
    train: {epochs: 20, lr: {low: 1.0e-3, high: 1.0e-2, log: true}}
    space:
      algorithm: {gd: {}, heavy_ball: {beta: {low: 0.0, high: 0.95}}}
      block: {mlp2: {hidden: [16, 32]}}
      activation: [relu, gelu]
      depth: {low: 2, high: 12}
      width: [8, 16]
    objectives: [{metric: val_metric}, {metric: params, direction: minimize}]
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, field_validator

from .._validate import is_number, shown
from . import bounds

Scalar = bool | int | float | str
Int = Annotated[int, Strict()]  # a count is an int: not True, not 1.5, not "3"
Bool = Annotated[bool, Strict()]  # true/false only: not 1, not "yes"
# numbers everywhere: finite (allow_inf_nan=False on every model) and never a bool
Float = Annotated[float, BeforeValidator(lambda v: _number("", v))]
# frozen: a loaded SearchSpace is never changed (a run's seed is passed on, not written into it)
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)
# YAML 1.1 (PyYAML) reads 1e-3 and 1e12 as strings; YAML 1.2 and users mean numbers
_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


class KeyedError(ValueError):
    """A bad value below a field: ``path`` (".high", ".0") extends the field's key path in the message."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def _number(path: str, value: Any) -> Any:
    """A finite int or float (exponent strings read as numbers); anything else is left to the field."""
    if isinstance(value, str) and _EXPONENT.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, bool) or (isinstance(value, float) and not is_number(value)):
        raise KeyedError(path, f"{shown(value)} is invalid: it must be a finite number")
    return value


class Range(BaseModel):
    """A numeric range; integer bounds without ``log`` give an integer parameter."""

    model_config = _STRICT
    low: float | int
    high: float | int
    log: Bool = False
    step: float | int | None = None

    @property
    def integer(self) -> bool:
        return (
            isinstance(self.low, int)
            and isinstance(self.high, int)
            and not self.log
            and (self.step is None or isinstance(self.step, int))
        )


def _range(value: dict[str, Any]) -> Range:
    unknown = sorted(set(value) - set(Range.model_fields))
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(Range.model_fields), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise KeyedError(f".{unknown[0]}", f"unknown key{hint}; a range has low, high and optional log, step")
    for key in ("low", "high"):
        if key not in value:
            raise KeyedError(f".{key}", "missing: a range needs low and high")
    clean = dict(value)
    for key in ("low", "high", "step"):
        if clean.get(key) is not None:
            clean[key] = _number(f".{key}", clean[key])
            if not isinstance(clean[key], int | float):
                raise KeyedError(f".{key}", f"{shown(clean[key])} is invalid: it must be a finite number")
    if "log" in clean and not isinstance(clean["log"], bool):
        raise KeyedError(".log", f"{shown(clean['log'])} is invalid: it must be true or false")
    low, high, step = clean["low"], clean["high"], clean.get("step")
    if high < low:
        raise KeyedError(".high", f"{shown(high)} is invalid: it must be >= low={shown(low)}")
    if clean.get("log") and low <= 0:
        raise KeyedError(".low", f"{shown(low)} is invalid: a log range needs low > 0")
    if step is not None and step <= 0:
        raise KeyedError(".step", f"{shown(step)} is invalid: it must be > 0")
    return Range.model_validate(clean)


def _value(value: Any) -> Any:
    """Parse a space value: a mapping is a range, a list a choice, anything else a fixed scalar."""
    if isinstance(value, Range):
        return value
    if isinstance(value, dict):
        return _range(value)
    if isinstance(value, list):
        if not value:
            raise KeyedError("", "an empty list: give at least one choice")
        if len(value) > bounds.MAX_CHOICES:
            raise KeyedError("", f"a list of {len(value)} choices: at most {bounds.MAX_CHOICES} are allowed")
        return [_scalar(f".{i}", v) for i, v in enumerate(value)]
    return _scalar("", value)


def _scalar(path: str, value: Any) -> Any:
    """A fixed value: true/false stays a flag (mlp2 norm), a number must be finite."""
    value = value if isinstance(value, bool) else _number(path, value)
    if not isinstance(value, bool | int | float | str):
        raise KeyedError(path, f"{shown(value)} is invalid: give a number, a name, true/false, a list or a range")
    return value


Value = Annotated[Range | list[Scalar] | Scalar, BeforeValidator(_value)]
Params = dict[str, Value]


def _family(value: Any) -> Any:
    """A family given as a list of names means each name with no parameters."""
    if isinstance(value, str):
        return {value: {}}
    if isinstance(value, list | dict) and len(value) > bounds.MAX_CHOICES:
        raise ValueError(f"{len(value)} names: at most {bounds.MAX_CHOICES} are allowed")
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise ValueError("a list of names must hold names only")
        return {v: {} for v in value}
    if isinstance(value, dict):
        return {k: ({} if v is None else v) for k, v in value.items()}
    return value


def _one(name: str) -> dict[str, Params]:
    return {name: {}}


class Space(BaseModel):
    model_config = _STRICT
    algorithm: dict[str, Params]
    schedule: dict[str, Params] = Field(default_factory=lambda: _one("constant"))
    block: dict[str, Params] = Field(default_factory=lambda: _one("mlp2"))
    activation: dict[str, Params] = Field(default_factory=lambda: _one("relu"))
    depth: Value = 8
    width: Value = 32
    init: list[str] | str = "default"
    stem: str = "lift"
    stages: Value = 1

    _families = field_validator("algorithm", "schedule", "block", "activation", mode="before")(_family)

    @field_validator("algorithm", "schedule", "block", "activation")
    @classmethod
    def _non_empty(cls, value: dict[str, Params]) -> dict[str, Params]:
        if not value:
            raise ValueError("give at least one name")
        return value


class Task(BaseModel):
    model_config = _STRICT
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class Train(BaseModel):
    """Training budget and options; ``lr`` and ``weight_decay`` may be searched (a range or a choice)."""

    model_config = _STRICT
    epochs: Int = Field(10, ge=1, le=bounds.MAX_EPOCHS)
    lr: Value = 3e-3
    weight_decay: Value = 0.01
    batch_size: Int = Field(128, ge=1)
    optimizer: Literal["adamw", "sgd"] = "adamw"
    warmup: Float = Field(0.05, ge=0, lt=1)
    clip: Float | None = Field(1.0, gt=0)
    max_seconds: Float | None = Field(None, gt=0)
    compile: Bool = False


class ObjectiveConfig(BaseModel):
    model_config = _STRICT
    metric: Literal["val_metric", "test_metric", "params", "flops", "latency_ms"] = "val_metric"
    direction: Literal["minimize", "maximize"] | None = None  # task metrics default to the task's direction


class Sampler(BaseModel):
    model_config = _STRICT
    name: Literal["auto", "tpe", "random", "nsgaii", "motpe", "evolution", "local"] = "auto"
    params: dict[str, Any] = Field(default_factory=dict)


class Pruner(BaseModel):
    model_config = _STRICT
    name: Literal["hyperband", "median", "none"] = "hyperband"
    params: dict[str, Any] = Field(default_factory=dict)
    # multi-objective early stopping (ours): stop a trial dominated at the same epoch by a finished one
    dominated_after: Float = Field(0.5, ge=0, le=1, description="fraction of epochs before the rule may stop a trial")


class Constraints(BaseModel):
    model_config = _STRICT
    max_params: Int | None = Field(None, ge=1)
    max_flops: Int | None = Field(None, ge=1)


class Trainability(BaseModel):
    """Zero-cost screening by the effective theory: skip candidates predicted to explode or vanish.

    Skipped candidates are recorded as pruned trials with status "untrainable" and the score's reason.
    """

    model_config = _STRICT
    skip_untrainable: Bool = False


class SpaceFile(BaseModel):
    model_config = _STRICT
    task: Task | None = None  # may be left out when a Task object is given (SearchSpace(..., task=...))
    # modules imported first: they register user components
    plugins: list[str] = Field(default_factory=list, max_length=bounds.MAX_PLUGINS)
    train: Train = Field(default_factory=lambda: Train())
    space: Space
    objectives: list[ObjectiveConfig] = Field(default_factory=lambda: [ObjectiveConfig()], min_length=1)
    sampler: Sampler = Field(default_factory=lambda: Sampler())
    pruner: Pruner = Field(default_factory=lambda: Pruner())
    constraints: Constraints = Field(default_factory=lambda: Constraints())
    trainability: Trainability = Field(default_factory=lambda: Trainability())
    trials: Int = Field(20, ge=1, le=bounds.MAX_TRIALS)
    # where weights and curve records go (optnas.storage.artifacts): a folder, s3://BUCKET/PREFIX or "local"
    artifacts: Annotated[str, Strict()] | None = None
    seed: Int = Field(0, ge=0, le=2**32 - 1)  # numpy's seed range, which every sampler uses
    # data-parallel workers per trial (Ray backend: DDP through Ray Train); batch_size stays the global batch
    workers_per_trial: Int = Field(1, ge=1, le=1024)

    @field_validator("objectives")
    @classmethod
    def _distinct(cls, value: list[ObjectiveConfig]) -> list[ObjectiveConfig]:
        names = [o.metric for o in value]
        if len(set(names)) != len(names):
            raise ValueError(f"objectives repeat a metric: {names}")
        return value
