"""Pairwise (strength-2) covering arrays: every pair of values of any two factors appears in some case.

A full cross product of k factors grows as the product of their sizes; a pairwise set grows as the product of
the two largest. Faults that need one factor value meet one of another (an implicit algorithm on a conv block,
an unbounded activation in an implicit layer) are all caught by a pairwise set; the full product runs under
``-m slow``.

    >>> cases = pairwise([["a", "b", "c"], [1, 2], ["x", "y"]])
    >>> covered = {(i, c[i], j, c[j]) for c in cases for i in range(3) for j in range(3) if i < j}
    >>> len(covered) == 3 * 2 + 3 * 2 + 2 * 2 and len(cases) <= 3 * 2 + 1
    True

The construction is greedy and deterministic (same factors, same cases, same order): a case is added while
some pair is uncovered, starting from the first uncovered pair of the two largest factors and filling the
other factors with the value that covers most uncovered pairs (ties: the first value).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any


def pairwise(factors: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Cases (one value per factor, in factor order) covering every pair of values of every two factors."""
    sizes = [len(f) for f in factors]
    if any(n == 0 for n in sizes):
        return []
    if len(factors) < 2:
        return [(v,) for v in factors[0]] if factors else [()]
    pairs = list(itertools.combinations(range(len(factors)), 2))
    uncovered = {(i, a, j, b) for i, j in pairs for a in range(sizes[i]) for b in range(sizes[j])}
    # the two largest factors first: their pairs are the lower bound on the number of cases
    order = sorted(range(len(factors)), key=lambda i: -sizes[i])
    first, second = sorted(order[:2])
    cases: list[tuple[int, ...]] = []
    while uncovered:
        seed = min((p for p in uncovered if p[0] == first and p[2] == second), default=min(uncovered))
        case: dict[int, int] = {seed[0]: seed[1], seed[2]: seed[3]}
        for k in order:
            if k in case:
                continue
            case[k] = max(range(sizes[k]), key=lambda v: (_gain(case, k, v, uncovered), -v))
        row = tuple(case[k] for k in range(len(factors)))
        uncovered -= {(i, row[i], j, row[j]) for i, j in pairs}
        cases.append(row)
    return [tuple(factors[k][v] for k, v in enumerate(row)) for row in cases]


def _gain(case: dict[int, int], k: int, v: int, uncovered: set[tuple[int, int, int, int]]) -> int:
    """How many uncovered pairs choosing value v for factor k covers, given the values already chosen."""
    return sum(((i, a, k, v) if i < k else (k, v, i, a)) in uncovered for i, a in case.items())
