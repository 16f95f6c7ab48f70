"""Parameter ranges are data the factories check with: what `optnas list` shows is what `get` enforces."""

import math

import pytest

from optnas import activations, algorithms, blocks, schedules
from optnas.algorithms import Interval

REGISTRIES = {"algorithm": algorithms, "activation": activations, "block": blocks, "schedule": schedules}
CASES = [
    (kind, name, param, bounds)
    for kind, registry in REGISTRIES.items()
    for name in registry.names()
    for param, bounds in registry.ranges(name).items()
    if isinstance(bounds, Interval)
]


def _inside(bounds: Interval) -> list[float]:
    lo, hi = bounds.low, bounds.high
    points = [] if lo is None or bounds.low_open else [lo]
    points += [] if hi is None or bounds.high_open else [hi]
    if lo is not None and hi is not None:
        points.append((lo + hi) / 2)
    return [int(p) if bounds.integer else p for p in points]


def _outside(bounds: Interval) -> list[float]:
    step = 1 if bounds.integer else 1e-9
    out = [bounds.low - step] if bounds.low is not None and not bounds.low_open else []
    out += [bounds.low] if bounds.low is not None and bounds.low_open else []
    out += [bounds.high + step] if bounds.high is not None and not bounds.high_open else []
    out += [bounds.high] if bounds.high is not None and bounds.high_open else []
    return [int(p) if bounds.integer else p for p in out]


def test_the_registries_hold_checked_ranges() -> None:
    kinds = {kind for kind, *_ in CASES}
    assert {"algorithm", "activation"} <= kinds, kinds
    assert {name for kind, name, *_ in CASES if kind == "algorithm"} >= {"heavy_ball", "lm_resnet", "ladmm", "bdf2"}


@pytest.mark.parametrize(("kind", "name", "param", "bounds"), CASES, ids=[f"{c[1]}.{c[2]}" for c in CASES])
def test_a_range_shown_is_the_range_enforced(kind: str, name: str, param: str, bounds: Interval) -> None:
    registry = REGISTRIES[kind]
    for value in _inside(bounds):
        registry.get(name, **{param: value})  # accepted
    for value in _outside(bounds):
        assert math.isfinite(value)
        with pytest.raises(ValueError, match=f"{param}={value!r} is invalid"):
            registry.get(name, **{param: value})
    assert str(bounds) in next(str(p) for p in registry.describe(name).params if p.name == param)
