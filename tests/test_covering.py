"""The pairwise covering helper the cross-product tests run by default: complete, small, deterministic."""

import itertools

import pytest

from tests._support.covering import pairwise

FACTORS = [
    [list("abc"), [1, 2]],
    [list(range(12)), list(range(6)), list(range(9))],
    [list(range(3)), list(range(2)), list(range(2)), list(range(4)), list(range(5))],
    [[0, 1]] * 8,
]


@pytest.mark.parametrize("factors", FACTORS, ids=lambda f: "x".join(str(len(v)) for v in f))
def test_every_pair_of_values_of_every_two_factors_is_covered(factors):
    cases = pairwise(factors)
    for i, j in itertools.combinations(range(len(factors)), 2):
        assert {(c[i], c[j]) for c in cases} == set(itertools.product(factors[i], factors[j]))
    assert all(len(c) == len(factors) for c in cases)
    # far below the full product; the two largest factors bound it from below
    sizes = sorted(len(f) for f in factors)
    assert sizes[-1] * sizes[-2] <= len(cases) <= 2 * sizes[-1] * sizes[-2] + len(factors)
    assert pairwise(factors) == cases  # deterministic: same factors, same cases, same order


def test_two_factors_are_their_full_product_and_degenerate_inputs():
    assert sorted(pairwise([[1, 2], "xy"])) == sorted(itertools.product([1, 2], "xy"))
    assert pairwise([[1, 2, 3]]) == [(1,), (2,), (3,)]
    assert pairwise([[1, 2], []]) == []
