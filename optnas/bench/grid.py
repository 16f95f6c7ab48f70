"""The tables' grids and their one fixed training setup, as data: what `build` trains and `load` reads.

A grid is a union of products (explicit algorithms × step schedules × activations × depths × widths, and
implicit algorithms × the globally Lipschitz activations × ...), so every cell is certified by construction
and `cells` checks it again with `optnas.certify`. The order of `cells` is fixed (a seeded permutation), so
a build stopped after k architectures holds the same k on every machine: a partial table is a uniform
random sample of the grid, never a corner of it.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from ..spec import ArchSpec

# algorithm name -> its parameters in the table (one certified setting per family)
EXPLICIT: dict[str, dict[str, Any]] = {
    "gd": {},
    "heavy_ball": {"beta": 0.9},
    "nesterov": {},
    "lm_resnet": {"k": 0.5},
    "adams_bashforth2": {},
    "fista": {},
    "apg2": {},
    "ladmm": {"rho": 1.0},
    "dense": {},
}
IMPLICIT: dict[str, dict[str, Any]] = {"proximal_point": {}, "bdf2": {}, "accel_proximal": {}}
SCHEDULES = ("constant", "cosine", "harmonic", "learnable")  # the step schedules (momentum ones are not steps)
ACTIVATIONS: dict[str, dict[str, Any]] = {
    "relu": {},
    "gelu": {},
    "tanh": {},
    "repu": {"p": 2},
    "mrepu": {"p": 2},
}
LIPSCHITZ = ("relu", "gelu", "tanh")  # the implicit networks' contraction needs a global Lipschitz constant
DEPTHS = (2, 4, 8)
WIDTHS = (72, 128)  # >= input dimension + 1 on both tasks (40 and 64 features): the certificate's lift
HIDDEN = 64
MAX_FEATURES = 64  # the widest input of the tables (digits): certifying against it covers both


@dataclass(frozen=True)
class Table:
    """One table: its task, the recorded training setup, the seeds and the build order's seed."""

    name: str
    task: dict[str, Any]
    epochs: int
    options: dict[str, Any]
    seeds: tuple[int, ...] = (0, 1, 2)
    order_seed: int = 0
    specs: tuple[ArchSpec, ...] | None = None  # a table's own list instead of the grid (small test tables)

    def train_kwargs(self, seed: int) -> dict[str, Any]:
        """What `optnas.train` needs (with the task built from ``task``) to reproduce a row of ``seed``."""
        return {"task": dict(self.task), "epochs": self.epochs, "seed": seed, **self.options}


# The fixed setup: AdamW, one LR for every cell, cosine decay, CPU fp32; latency is not recorded (one repeat).
_OPTIONS = {"lr": 1e-2, "batch_size": 128, "weight_decay": 0.01, "warmup": 0.05, "clip": 1.0,
            "precision": "fp32", "latency_repeats": 1}
# The signal table: MNIST-1D's same 4,000 samples as 1-D signals, Signal(1, 40), through the conv forms of
# the blocks (preact_conv: a 1-D pre-activation conv; mlp2: pointwise, no mixing along the length), two stages
# (40 -> 20 samples). Explicit algorithms only: an implicit conv network's fixed-point solve costs several
# times a cell of this size on one CPU thread. Five seeds (the vector tables have three): the noise the audit
# measured is per-architecture, so each architecture's standard error needs more than three draws.
SIGNAL_ALGORITHMS: dict[str, dict[str, Any]] = {
    "gd": {}, "heavy_ball": {"beta": 0.9}, "nesterov": {}, "lm_resnet": {"k": 0.5},
    "adams_bashforth2": {}, "fista": {}, "apg2": {},
}
SIGNAL_BLOCKS: dict[str, dict[str, Any]] = {"preact_conv": {"hidden": 16, "kernel": 3}, "mlp2": {"hidden": 16}}
SIGNAL_SCHEDULES = ("constant", "learnable")
SIGNAL_DEPTHS = (2, 4)
SIGNAL_WIDTHS = (8, 16)  # channels: the lift stem maps 1 channel to width (no width >= input + 1 rule on conv)
SIGNAL_STAGES = 1
SIGNAL_INPUT = (1, 40)  # Signal(channels, length) of MNIST-1D


def _signal_spec(algorithm: str, block: str, schedule: str, activation: str, depth: int, width: int) -> ArchSpec:
    return ArchSpec(
        algorithm=algorithm, algorithm_params=dict(SIGNAL_ALGORITHMS[algorithm]), schedule=schedule,
        block=block, block_params=dict(SIGNAL_BLOCKS[block]),
        activation=activation, activation_params=dict(ACTIVATIONS[activation]),
        depth=depth, width=width, stages=SIGNAL_STAGES,
    )


@lru_cache(maxsize=1)
def signal_grid() -> tuple[ArchSpec, ...]:
    """Every architecture of the signal table (all certified: tests/bench check each against Signal(1, 40)).

    Example:
        >>> len(signal_grid())
        560
    """
    product = itertools.product(SIGNAL_ALGORITHMS, SIGNAL_BLOCKS, SIGNAL_SCHEDULES, ACTIVATIONS,
                                SIGNAL_DEPTHS, SIGNAL_WIDTHS)
    return tuple(_signal_spec(*c) for c in product)


TABLES: dict[str, Table] = {
    "mnist1d": Table("mnist1d", {"name": "mnist1d", "params": {"n_samples": 4000}}, 10, dict(_OPTIONS)),
    "digits": Table("digits", {"name": "digits", "params": {}}, 10, dict(_OPTIONS), order_seed=1),
    "mnist1d_signal": Table(
        "mnist1d_signal", {"name": "mnist1d", "params": {"n_samples": 4000, "as_signal": True}}, 10,
        dict(_OPTIONS), seeds=(0, 1, 2, 3, 4), order_seed=2, specs=signal_grid(),
    ),
}


def _spec(algorithm: str, schedule: str, activation: str, depth: int, width: int) -> ArchSpec:
    params = EXPLICIT.get(algorithm, IMPLICIT.get(algorithm, {}))
    return ArchSpec(
        algorithm=algorithm, algorithm_params=dict(params), schedule=schedule,
        block="mlp2", block_params={"hidden": HIDDEN},
        activation=activation, activation_params=dict(ACTIVATIONS[activation]),
        depth=depth, width=width,
    )


def _certified(algorithm: str, schedule: str, depth: int) -> bool:
    # The products' only uncertified corners (checked for every cell by tests/bench/test_grid.py, slow):
    # a learnable schedule on a depth-2 implicit network, whose h_max makes c·Lip(T) reach 1.
    return not (algorithm in IMPLICIT and schedule == "learnable" and depth <= 2)


@lru_cache(maxsize=1)
def _grid() -> tuple[ArchSpec, ...]:
    explicit = itertools.product(EXPLICIT, SCHEDULES, ACTIVATIONS, DEPTHS, WIDTHS)
    implicit = itertools.product(IMPLICIT, SCHEDULES, LIPSCHITZ, DEPTHS, WIDTHS)
    return tuple(_spec(*c) for c in itertools.chain(explicit, implicit) if _certified(c[0], c[1], c[3]))


def grid() -> list[ArchSpec]:
    """Every certified architecture of the grid, in a canonical (unshuffled) order.

    Example:
        >>> len(grid())
        1278
    """
    return list(_grid())


def cells(name: str) -> list[ArchSpec]:
    """The grid of table ``name`` in its build order.

    The order shuffles the groups of one (schedule, activation, depth, width), seeded by the table, and
    keeps each group's algorithms together: a partial table then holds every family at the matched
    settings it reached (paired comparisons with gd need no complete table), and its groups are a uniform
    random sample of the grid's.
    """
    return list(_cells(name))


def group_of(spec: ArchSpec) -> tuple[Any, ...]:
    return (spec.block, spec.schedule, spec.activation, spec.depth, spec.width)


@cache
def _cells(name: str) -> tuple[ArchSpec, ...]:
    table = get(name)
    specs = list(table.specs) if table.specs is not None else grid()
    groups = sorted({group_of(s) for s in specs}, key=str)
    random.Random(table.order_seed).shuffle(groups)
    rank = {g: i for i, g in enumerate(groups)}
    return tuple(sorted(specs, key=lambda s: rank[group_of(s)]))  # stable: the grid's order inside a group


def register(table: Table) -> Table:
    """Add (or replace) a table definition, e.g. a small one for a test or a new task."""
    TABLES[table.name] = table
    _cells.cache_clear()
    return table


def get(name: str) -> Table:
    if name not in TABLES:
        raise ValueError(f"unknown optnas-bench table {name!r}; valid tables: {', '.join(sorted(TABLES))}")
    return TABLES[name]
