"""`ArchSpec`: the complete, JSON-serialisable description of one candidate network."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from . import _validate, limits

STEMS = ("lift", "none")
FAMILIES = ("algorithm", "schedule", "block", "activation")


@dataclass(frozen=True)
class ArchSpec:
    """One candidate of the search space; the only input of `optnas.build`.

    depth is the number of unrolled iterations L (over all stages); width is the state width (features,
    channels or token features) of the first stage; stem="lift" maps the input to that width with a learned
    layer, stem="none" keeps the state at the input dimension (which the certificate rejects: see
    THEORY.md, width lift); stages > 1 (images only) halves the resolution and doubles the width between
    stages, restarting the algorithm from the downsampled iterate.

    Example:
        >>> spec = ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 0.9}, depth=8, width=32)
        >>> ArchSpec.from_dict(spec.to_dict()) == spec
        True
    """

    algorithm: str = "gd"
    algorithm_params: dict[str, Any] = field(default_factory=dict)
    schedule: str = "constant"
    schedule_params: dict[str, Any] = field(default_factory=dict)
    block: str = "mlp2"
    block_params: dict[str, Any] = field(default_factory=dict)
    activation: str = "relu"
    activation_params: dict[str, Any] = field(default_factory=dict)
    depth: int = 8
    width: int = 64
    init: str = "default"
    stem: str = "lift"
    stages: int = 1

    def __post_init__(self) -> None:
        for name in ("algorithm", "schedule", "block", "activation", "init", "stem"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"ArchSpec.{name}={value!r} is invalid: it must be a non-empty name")
        for name in ("algorithm_params", "schedule_params", "block_params", "activation_params"):
            value = getattr(self, name)
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise ValueError(f"ArchSpec.{name}={value!r} is invalid: it must be a dict with str keys")
            object.__setattr__(self, name, dict(value))  # never share the caller's dict
        bounds = {"depth": limits.max_depth(), "width": limits.max_size(), "stages": limits.max_stages()}
        for name, high in bounds.items():  # memory bounds: see optnas.limits
            _validate.integer(f"ArchSpec.{name}", getattr(self, name), 1, high, why=limits.budget_text())
        if self.stem not in STEMS:
            raise ValueError(f"ArchSpec.stem={self.stem!r} is invalid; valid stems: {', '.join(STEMS)}")
        if self.stages > self.depth:
            raise ValueError(
                f"ArchSpec.stages={self.stages} is invalid: it must not exceed depth={self.depth}"
            )

    def __hash__(self) -> int:
        return hash(self.to_json())

    def to_dict(self) -> dict[str, Any]:
        """A plain dict that `json.dumps` accepts and `from_dict` reads back."""
        return json.loads(json.dumps(asdict(self)))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchSpec:
        """Inverse of `to_dict`; unknown keys are an error naming them and the valid keys."""
        if not isinstance(data, dict):
            raise ValueError(f"an ArchSpec must be a JSON object, got {type(data).__name__}")
        valid = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - valid)
        if unknown:
            raise ValueError(f"unknown ArchSpec key(s) {unknown}; valid keys: {', '.join(sorted(valid))}")
        return cls(**data)

    def describe(self) -> str:
        """The spec on one line, the one form every view prints (CLI, corner report, dashboard, export).

        Example:
            >>> ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 0.9}, depth=8, width=32).describe()
            'heavy_ball(beta=0.9) constant mlp2 relu depth=8 width=32'
        """
        return describe_line(describe_fields(self.to_dict()))

    def replace(self, **changes: Any) -> ArchSpec:
        """A copy with some fields changed (validated again)."""
        return ArchSpec.from_dict({**self.to_dict(), **changes})


def named(name: Any, params: Mapping[str, Any] | None) -> str:
    """One family of a spec line: ``heavy_ball`` with ``{"beta": 0.9}`` -> ``heavy_ball(beta=0.9)``.

    Values print exactly (``str``): a bisected bound such as 0.9999999 is not rounded to a value that fails."""
    inner = ",".join(f"{k}={v}" for k, v in (params or {}).items())
    return f"{name}({inner})" if inner else str(name)


def describe_fields(spec: Mapping[str, Any]) -> dict[str, str]:
    """The fields of `ArchSpec.describe` from a spec dict (`ArchSpec.to_dict`, or a row of trial results):
    each family with its parameters, depth, width, stages (the corner report merges lines field by field)."""
    return {**{key: named(spec.get(key), spec.get(f"{key}_params")) for key in FAMILIES},
            "depth": str(spec.get("depth")), "width": str(spec.get("width")), "stages": str(spec.get("stages", 1))}


def describe_line(fields: Mapping[str, str]) -> str:
    """`describe_fields` on one line (``stages=`` only when there are several)."""
    stages = f" stages={fields['stages']}" if fields["stages"] != "1" else ""
    return " ".join(fields[key] for key in FAMILIES) + f" depth={fields['depth']} width={fields['width']}{stages}"
