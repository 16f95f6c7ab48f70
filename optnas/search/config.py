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

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Scalar = bool | int | float | str


class Range(BaseModel):
    """A numeric range; integer bounds without ``log`` give an integer parameter."""

    model_config = ConfigDict(extra="forbid")
    low: float | int
    high: float | int
    log: bool = False
    step: float | int | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.high < self.low:
            raise ValueError(f"range high={self.high} is below low={self.low}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0, got low={self.low}")
        return self

    @property
    def integer(self) -> bool:
        return (
            isinstance(self.low, int)
            and isinstance(self.high, int)
            and not self.log
            and (self.step is None or isinstance(self.step, int))
        )


Value = Range | list[Scalar] | Scalar
Params = dict[str, Value]


def _family(value: Any) -> Any:
    """A family given as a list of names means each name with no parameters."""
    if isinstance(value, str):
        return {value: {}}
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
    model_config = ConfigDict(extra="forbid")
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
    model_config = ConfigDict(extra="forbid")
    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class Train(BaseModel):
    """Training budget and options; ``lr`` and ``weight_decay`` may be searched (a range or a choice)."""

    model_config = ConfigDict(extra="forbid")
    epochs: int = Field(10, ge=1)
    lr: Value = 3e-3
    weight_decay: Value = 0.01
    batch_size: int = Field(128, ge=1)
    optimizer: Literal["adamw", "sgd"] = "adamw"
    warmup: float = Field(0.05, ge=0, lt=1)
    clip: float | None = 1.0
    max_seconds: float | None = Field(None, gt=0)
    compile: bool = False


class ObjectiveConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: Literal["val_metric", "test_metric", "params", "flops", "latency_ms"] = "val_metric"
    direction: Literal["minimize", "maximize"] | None = None  # task metrics default to the task's direction


class Sampler(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Literal["auto", "tpe", "random", "nsgaii", "motpe"] = "auto"
    params: dict[str, Any] = Field(default_factory=dict)


class Pruner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Literal["hyperband", "median", "none"] = "hyperband"
    params: dict[str, Any] = Field(default_factory=dict)
    # multi-objective early stopping (ours): stop a trial dominated at the same epoch by a finished one
    dominated_after: float = Field(0.5, ge=0, le=1, description="fraction of epochs before the rule may stop a trial")


class Constraints(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_params: int | None = Field(None, ge=1)
    max_flops: int | None = Field(None, ge=1)


class Trainability(BaseModel):
    """Zero-cost screening by the effective theory: skip candidates predicted to explode or vanish.

    Skipped candidates are recorded as pruned trials with status "untrainable" and the score's reason.
    """

    model_config = ConfigDict(extra="forbid")
    skip_untrainable: bool = False


class SpaceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: Task | None = None  # may be left out when a Task object is given (SearchSpace(..., task=...))
    plugins: list[str] = Field(default_factory=list)  # modules imported first: they register user components
    train: Train = Field(default_factory=lambda: Train())
    space: Space
    objectives: list[ObjectiveConfig] = Field(default_factory=lambda: [ObjectiveConfig()], min_length=1)
    sampler: Sampler = Field(default_factory=lambda: Sampler())
    pruner: Pruner = Field(default_factory=lambda: Pruner())
    constraints: Constraints = Field(default_factory=lambda: Constraints())
    trainability: Trainability = Field(default_factory=lambda: Trainability())
    trials: int = Field(20, ge=1)
    seed: int = 0

    @field_validator("objectives")
    @classmethod
    def _distinct(cls, value: list[ObjectiveConfig]) -> list[ObjectiveConfig]:
        names = [o.metric for o in value]
        if len(set(names)) != len(names):
            raise ValueError(f"objectives repeat a metric: {names}")
        return value
