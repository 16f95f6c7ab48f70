"""Every discrete corner of a search space, certified: what `optnas certify SPACE.yaml` prints.

A corner picks one name of each family with each parameter at one of its values (a range at its two
ends, after the load-time bisection that the search itself uses, so heavy_ball ``beta: {high: 0.95}``
is checked at 0.95), and depth, width and stages at one of theirs. Identical lines are merged with a
count; when a space has more corners than ``limit``, the first ``limit`` are checked and the report says
how many of how many, and why.

Example:
    >>> from optnas.search import SearchSpace
    >>> space = SearchSpace.from_dict({"task": {"name": "rings"}, "space": {"algorithm": ["gd", "nesterov"],
    ...                                "depth": {"low": 2, "high": 4}, "width": [8]}})
    >>> report = check_corners(space)
    >>> report.total, report.checked, report.certified
    (4, 4, 4)
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..certify import Certificate, certify
from ..spec import ArchSpec
from .config import Range, Value

if TYPE_CHECKING:
    from .space import SearchSpace

__all__ = ["CornerReport", "check_corners", "corner_count", "corners", "describe"]

LIMIT = 20_000  # certificates take milliseconds each: this many is about a minute on a laptop core


def _ends(value: Value) -> list[Any]:
    if isinstance(value, Range):
        return [value.low] if value.low == value.high else [value.low, value.high]
    values = value if isinstance(value, list) else [value]
    return list(dict.fromkeys(values))  # a value listed twice is one corner


def _family(params_by_name: dict[str, dict[str, Value]]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, params in params_by_name.items():
        keys = list(params)
        for combo in itertools.product(*(_ends(params[k]) for k in keys)):
            out.append((name, dict(zip(keys, combo, strict=True))))
    return out


def _axes(space: SearchSpace) -> list[list[Any]]:
    s = space.config.space
    return [
        _family(s.algorithm), _family(s.schedule), _family(s.block), _family(s.activation),
        _ends(s.depth), _ends(s.width), _ends(s.stages),
    ]


def corner_count(space: SearchSpace) -> int:
    """How many corners the space has (without making any)."""
    return math.prod(len(axis) for axis in _axes(space))


def corners(space: SearchSpace) -> Iterator[ArchSpec | str]:
    """Each corner's spec, or a line saying why the combination is not a valid spec."""
    s = space.config.space
    for (alg, ap), (sch, sp), (blk, bp), (act, acp), depth, width, stages in itertools.product(*_axes(space)):
        try:
            yield ArchSpec(
                algorithm=alg, algorithm_params=ap, schedule=sch, schedule_params=sp, block=blk, block_params=bp,
                activation=act, activation_params=acp, depth=int(depth), width=int(width), stages=int(stages),
                stem=s.stem,
            )
        except ValueError as exc:
            yield f"skip  depth={depth} width={width} stages={stages}: {exc}"


def describe(spec: dict[str, Any]) -> str:
    """One corner on one line, with every family's parameters."""
    def named(key: str) -> str:
        params = spec.get(f"{key}_params") or {}
        inner = ",".join(f"{k}={v}" for k, v in params.items())
        return f"{spec.get(key)}({inner})" if inner else str(spec.get(key))

    stages = f" stages={spec['stages']}" if spec.get("stages", 1) != 1 else ""
    return (f"{named('algorithm')} {named('schedule')} {named('block')} {named('activation')} "
            f"depth={spec.get('depth')} width={spec.get('width')}{stages}")


@dataclass
class CornerReport:
    """The certificates of the corners checked, and the lines to print."""

    total: int
    certificates: list[Certificate] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    limit: int = LIMIT

    @property
    def checked(self) -> int:
        return len(self.certificates) + len(self.skipped)

    @property
    def certified(self) -> int:
        return sum(c.ok for c in self.certificates)

    @property
    def ok(self) -> bool:
        return self.certified == len(self.certificates) and not self.skipped

    def lines(self) -> list[str]:
        """One line a distinct result; a line that repeats carries its count."""
        raw = [
            f"ok    {describe(c.spec)}" if c.ok
            else f"FAIL  {describe(c.spec)}: " + "; ".join(f"{f.name}: {f.detail}" for f in c.failing())
            for c in self.certificates
        ] + self.skipped
        return [line if n == 1 else f"{line}  (x{n})" for line, n in Counter(raw).items()]

    def summary(self, where: object) -> str:
        head = f"{self.certified} of {self.checked} corners of {where} certified"
        if self.skipped:
            head += f" ({len(self.skipped)} not valid specs)"
        if self.checked < self.total:
            head += (f"; checked {self.checked} of its {self.total} corners (the first {self.limit}: "
                     f"pass --limit {self.total} to check them all)")
        else:
            head += f"; every corner checked ({self.total})"
        return head


# Conditions that read only the algorithm, the schedule, the depth and the stages (the linear part): corners
# that differ only in block, activation or width share them, so each is computed once a group. Any other
# condition (or one renamed) is computed for every corner, so sharing can only save time, never change a verdict.
LINEAR_PART = frozenset({"consistency", "zero_stability", "step_sizes"})


def _certify(spec: ArchSpec, shape: tuple[int, ...], shared: dict[str, Certificate]) -> Certificate:
    """``certify(spec)``, reusing the linear-part conditions (and any per-stage data) of its group's first corner."""
    from .. import limits
    from ..certify.conditions import CONDITIONS, resolve

    group = repr((spec.algorithm, spec.algorithm_params, spec.schedule, spec.schedule_params, spec.depth,
                  spec.stages, spec.stem))
    first = shared.get(group)
    if first is None:
        shared[group] = first = certify(spec, input_shape=shape)
        return first
    limits.check_spec(spec, shape)
    ctx = resolve(spec, shape)
    known = {c.name: c for c in first.conditions if c.name in LINEAR_PART}
    out = [known.get(check.__name__) or check(ctx) for check in CONDITIONS]
    return dataclasses.replace(first, spec=spec.to_dict(), conditions=out)


def check_corners(space: SearchSpace, limit: int = LIMIT) -> CornerReport:
    """Certify the first ``limit`` corners of ``space`` (all of them unless it has more)."""
    report = CornerReport(total=corner_count(space), limit=limit)
    shape = space.task().input_shape
    shared: dict[str, Certificate] = {}
    for corner in itertools.islice(corners(space), limit):
        if isinstance(corner, str):
            report.skipped.append(corner)
        else:
            report.certificates.append(_certify(corner, shape, shared))
    return report
