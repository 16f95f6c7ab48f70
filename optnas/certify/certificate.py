"""The certificate's data: conditions, the verdict, and the exception `build` raises."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Condition:
    """One condition of the universality theorem: its name, whether it holds, and why."""

    name: str
    holds: bool
    detail: str
    numerical: bool = False  # True when the check is a numerical bound rather than exact/by construction
    # True when this call could not check it (the width lift needs the input shape): it does not count
    # against ``ok``, is never printed as holding, and `optnas.build` checks it at the real input shape
    deferred: bool = False

    def __post_init__(self) -> None:
        # numpy comparisons give numpy.bool, which JSON and Optuna user attrs reject
        object.__setattr__(self, "holds", bool(self.holds))
        object.__setattr__(self, "numerical", bool(self.numerical))
        object.__setattr__(self, "deferred", bool(self.deferred))


@dataclass(frozen=True)
class Stage:
    """One stage as certified: its ``depth`` and the steps h_k it checked (``optnas.stages.stage_plan``).

    For a learnable schedule ``steps`` are the initial values and ``h_max`` the bound the steps stay below
    (the linear part was checked on a grid over (0, h_max]); otherwise ``h_max`` is None.
    """

    depth: int
    steps: tuple[float, ...]
    h_max: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(float(h) for h in self.steps))


@dataclass(frozen=True)
class Certificate:
    """The verdict on one spec: ``ok`` when every condition holds.

    ``stages`` holds one `Stage` per stage of the network, with the step sizes the conditions checked;
    a built network's ``stage_steps()`` gives the same h_k.

    Example:
        >>> import optnas
        >>> cert = optnas.certify(optnas.ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 1.0}))
        >>> cert.ok, [c.name for c in cert.conditions if not c.holds]
        (False, ['consistency', 'zero_stability'])
        >>> [(s.depth, s.steps[:2]) for s in cert.stages]
        [(8, (0.125, 0.125))]
    """

    spec: dict[str, Any]
    conditions: list[Condition] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.holds for c in self.conditions)

    def failing(self) -> list[Condition]:
        return [c for c in self.conditions if not c.holds]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "spec": self.spec, "conditions": [asdict(c) for c in self.conditions],
            "stages": [{"depth": s.depth, "steps": list(s.steps), "h_max": s.h_max} for s in self.stages],
        }

    def record(self) -> dict[str, Any]:
        """`to_dict` as a trial stores it: without the spec (the trial's ``spec`` attribute holds it), the
        conditions' false flags left out, each stage's depth and h_max without its step list (`stage_plan`
        of the spec makes it again): about half the characters, so optuna-dashboard's trial list stays
        readable. `from_dict` reads both forms.

        Example:
            >>> c = Certificate({"algorithm": "gd"}, [Condition("step_sizes", True, "h_k in [0.1, 0.1]")])
            >>> c.record()["conditions"]
            [{'name': 'step_sizes', 'holds': True, 'detail': 'h_k in [0.1, 0.1]'}]
            >>> Certificate.from_dict(c.record(), spec={"algorithm": "gd"}) == c
            True
        """
        conditions = [{k: v for k, v in asdict(c).items() if v is not False or k == "holds"} for c in self.conditions]
        stages = [{"depth": s.depth, "h_max": s.h_max} for s in self.stages]
        return {"ok": self.ok, "conditions": conditions, "stages": stages}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], spec: dict[str, Any] | None = None) -> Certificate:
        """A certificate from `to_dict` or from a trial's `record` (then ``spec``: the trial's spec)."""
        # certificates stored before stages were recorded have none
        stages = [Stage(s["depth"], tuple(s.get("steps", ())), s.get("h_max")) for s in data.get("stages", [])]
        return cls(spec=data.get("spec", spec or {}), conditions=[Condition(**c) for c in data["conditions"]],
                   stages=stages)

    def summary(self) -> str:
        """One line: verdict, the spec's names, and the failing conditions."""
        sp = self.spec
        params = ",".join(f"{k}={v}" for k, v in sp.get("algorithm_params", {}).items())
        what = (f"{sp.get('algorithm')}({params}) {sp.get('block')} {sp.get('activation')} "
                f"depth={sp.get('depth')} width={sp.get('width')}")
        if self.ok:
            return f"ok    {what}"
        return f"FAIL  {what}: " + "; ".join(f"{c.name}: {c.detail}" for c in self.failing())

    def format(self) -> str:
        """Human-readable lines: the verdict, then one line per condition."""
        verdict = "CERTIFIED universal approximator" if self.ok else "NOT certified"
        lines = [f"{verdict}: {self.spec.get('algorithm')} / {self.spec.get('block')} / {self.spec.get('activation')}"]
        for c in self.conditions:
            mark = "open" if c.deferred else "ok  " if c.holds else "FAIL"
            lines.append(f"  [{mark}] {c.name}{' (numerical)' if c.numerical else ''}: {c.detail}")
        return "\n".join(lines)


class UncertifiedArchitecture(ValueError):
    """Raised by `optnas.build` for a spec whose certificate fails (unless allow_uncertified=True)."""

    def __init__(self, certificate: Certificate) -> None:
        self.certificate = certificate
        failing = "; ".join(f"{c.name}: {c.detail}" for c in certificate.failing())
        super().__init__(f"architecture is not certified ({failing})")
