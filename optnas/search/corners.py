"""Every discrete corner of a search space, certified: what `optnas certify SPACE.yaml` prints.

A corner picks one name of each family with each parameter at one of its values (a range at its two
ends, after the load-time bisection that the search itself uses, so heavy_ball ``beta: {high: 0.95}``
is checked at 0.95), and depth, width and stages at one of theirs. Lines with the same verdict that differ
only in width, depth, stages or activation are merged (``relu|gelu depth=2|10``) with a count; when a
space has more corners than ``limit``, the first ``limit`` are checked and the report says how many of how
many, and why.

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

from .. import footprint
from ..certify import Certificate, certify
from ..certify.conditions import CONDITIONS, resolve
from ..spec import ArchSpec, describe_fields, describe_line
from .values import ends, family_corners

if TYPE_CHECKING:
    from .space import SearchSpace

__all__ = ["CornerReport", "check_corners", "corner_count", "corners", "merge"]

LIMIT = 20_000  # certificates take milliseconds each: this many is about a minute on a laptop core


def _axes(space: SearchSpace) -> list[list[Any]]:
    s = space.config.space
    return [
        family_corners(s.algorithm), family_corners(s.schedule), family_corners(s.block),
        family_corners(s.activation), ends(s.depth), ends(s.width), ends(s.stages),
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


# Merged in this order, each between lines equal in everything else (verdict included), so a merged line
# is exactly the product of its fields' values: `relu|gelu depth=2|10 width=65|96` is 8 corners, all ok.
MERGED = ("width", "depth", "stages", "activation")


def merge(rows: list[tuple[dict[str, str], str]]) -> list[tuple[dict[str, str], str, int]]:
    """Merge (fields, verdict) rows that differ in one field of `MERGED` only: (fields, verdict, count).

    Example:
        >>> rows = [({"depth": d, "width": w}, "ok") for d in ("2", "4") for w in ("8", "16")]
        >>> merge(rows)
        [({'depth': '2|4', 'width': '8|16'}, 'ok', 4)]
    """
    out = [(dict(fields), verdict, 1) for fields, verdict in rows]
    for axis in MERGED:
        groups: dict[tuple[Any, ...], tuple[dict[str, str], str, int]] = {}
        for fields, verdict, n in out:
            key = (verdict, *sorted((k, v) for k, v in fields.items() if k != axis))
            if key in groups:
                first, _, m = groups[key]
                values = list(dict.fromkeys([*first[axis].split("|"), *fields[axis].split("|")]))
                groups[key] = ({**first, axis: "|".join(values)}, verdict, m + n)
            else:
                groups[key] = (fields, verdict, n)
        out = list(groups.values())
    return out


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
        """One line a distinct result; lines differing only in width, depth, stages or activation are merged
        (see `merge`), and a line standing for several corners carries their count."""
        rows = [
            (describe_fields(c.spec), "" if c.ok else ": " + "; ".join(f"{f.name}: {f.detail}" for f in c.failing()))
            for c in self.certificates
        ]
        out = [f"{'FAIL  ' if verdict else 'ok    '}{describe_line(fields)}{verdict}" + (f"  (x{n})" if n > 1 else "")
               for fields, verdict, n in merge(rows)]
        return out + [line if n == 1 else f"{line}  (x{n})" for line, n in Counter(self.skipped).items()]

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
    group = repr((spec.algorithm, spec.algorithm_params, spec.schedule, spec.schedule_params, spec.depth,
                  spec.stages, spec.stem))
    first = shared.get(group)
    if first is None:
        shared[group] = first = certify(spec, input_shape=shape)
        return first
    footprint.check_spec(spec, shape)
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
