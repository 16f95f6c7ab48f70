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
    # non-empty when the check rests on a choice of ours rather than on the theorem (growing products
    # accepted, a numerical contraction estimate): what the choice is, shown on the verdict line
    ours: str = ""

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
    # implicit networks: the fixed-point iterations the solver runs, max(max_iter, what the certified
    # contraction factor q needs for the solver's tolerance); None for explicit ones
    solver_iterations: int | None = None

    @property
    def ok(self) -> bool:
        return all(c.holds for c in self.conditions)

    def failing(self) -> list[Condition]:
        return [c for c in self.conditions if not c.holds]

    def to_dict(self) -> dict[str, Any]:
        out = {
            "ok": self.ok, "spec": self.spec, "conditions": [asdict(c) for c in self.conditions],
            "stages": [{"depth": s.depth, "steps": list(s.steps), "h_max": s.h_max} for s in self.stages],
        }
        return out | ({"solver_iterations": self.solver_iterations} if self.solver_iterations is not None else {})

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
        conditions = [
            {k: v for k, v in asdict(c).items() if (v is not False and v != "") or k == "holds"}
            for c in self.conditions
        ]
        stages = [{"depth": s.depth, "h_max": s.h_max} for s in self.stages]
        out = {"ok": self.ok, "conditions": conditions, "stages": stages}
        return out | ({"solver_iterations": self.solver_iterations} if self.solver_iterations is not None else {})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], spec: dict[str, Any] | None = None) -> Certificate:
        """A certificate from `to_dict` or from a trial's `record` (then ``spec``: the trial's spec)."""
        # certificates stored before stages were recorded have none
        stages = [Stage(s["depth"], tuple(s.get("steps", ())), s.get("h_max")) for s in data.get("stages", [])]
        return cls(spec=data.get("spec", spec or {}), conditions=[Condition(**c) for c in data["conditions"]],
                   stages=stages, solver_iterations=data.get("solver_iterations"))

    def summary(self) -> str:
        """One line: verdict, the spec's names, and the failing conditions."""
        sp = self.spec
        params = ",".join(f"{k}={v}" for k, v in sp.get("algorithm_params", {}).items())
        what = (f"{sp.get('algorithm')}({params}) {sp.get('block')} {sp.get('activation')} "
                f"depth={sp.get('depth')} width={sp.get('width')}")
        if self.ok:
            return f"ok    {what}"
        return f"FAIL  {what}: " + "; ".join(f"{c.name}: {c.detail}" for c in self.failing())

    def verdict(self) -> str:
        """The first line of `format`: what the theorem says of this skeleton, and our own choices.

        The universality theorem is about the family of networks as depth grows: a certificate says its
        conditions hold for the skeleton (algorithm, block, activation, width), not that one fixed-depth
        network approximates everything. Conditions that rest on a choice of ours say so here.

        Example:
            >>> import optnas
            >>> line = optnas.certify(optnas.ArchSpec(algorithm="gd", width=16)).verdict()
            >>> line.split(": ")[0]
            'conditions of the universality theorem hold for this skeleton (gd / mlp2 / relu, width 16)'
            >>> line.split(": ")[1]
            'as depth grows, these networks approximate any continuous function on compacta'
            >>> optnas.certify(optnas.ArchSpec(algorithm="nesterov")).verdict().split(" [ours] ")[1][:40]
            'zero_stability: products of the time-var'
        """
        sp = self.spec
        what = f"{sp.get('algorithm')} / {sp.get('block')} / {sp.get('activation')}, width {sp.get('width')}"
        if not self.ok:
            failing = ", ".join(c.name for c in self.failing())
            return f"NOT certified: the universality theorem's conditions fail for this skeleton ({what}): {failing}"
        line = (f"conditions of the universality theorem hold for this skeleton ({what}): as depth grows, these "
                "networks approximate any continuous function on compacta")
        ours = [f"{c.name}: {c.ours}" for c in self.conditions if c.ours]
        return line + (f" [ours] {'; '.join(ours)}" if ours else "")

    def format(self) -> str:
        """Human-readable lines: the verdict, then one line per condition."""
        lines = [self.verdict()]
        for c in self.conditions:
            mark = "open" if c.deferred else "ok  " if c.holds else "FAIL"
            tags = (" (numerical)" if c.numerical else "") + (" [ours]" if c.ours else "")
            lines.append(f"  [{mark}] {c.name}{tags}: {c.detail}")
        return "\n".join(lines)


class UncertifiedArchitecture(ValueError):
    """Raised by `optnas.build` for a spec whose certificate fails (unless allow_uncertified=True)."""

    def __init__(self, certificate: Certificate) -> None:
        self.certificate = certificate
        failing = "; ".join(f"{c.name}: {c.detail}" for c in certificate.failing())
        super().__init__(f"architecture is not certified ({failing})")
