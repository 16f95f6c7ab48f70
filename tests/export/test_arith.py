"""model.py's combinations run the skeleton's float operations: bit-identical to `optnas.nn.unrolled`."""

from __future__ import annotations

import itertools

import pytest
import torch

from optnas.export._arith import Coef, atom, combination
from optnas.nn.unrolled import _combine

# float coefficients that take every path: lerp (sums to 1), unit (no multiply), -1, general, zero (skipped)
FLOATS = [1.0, -1.0, 0.0, 1.9, -0.9, 1.5, -0.5, 0.3333333333333333, 0.6666666666666667, 1e-3]


def _run(text: str, tensors: dict[str, torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
    return eval(text, {"torch": torch}, {**tensors, "w": weights})


@pytest.mark.parametrize("count", [1, 2, 3])
def test_every_float_combination_matches_the_skeleton_bit_for_bit(count: int) -> None:
    g = torch.Generator().manual_seed(count)
    tensors = {name: torch.randn(64, 33, generator=g) for name in ("a", "b", "c")}
    names = list(tensors)[:count]
    weights = torch.softmax(torch.randn(3, generator=g), 0)
    checked = 0
    for coefs in itertools.product(FLOATS, repeat=count):
        text = combination([(Coef(c, repr(c)), n) for c, n in zip(coefs, names, strict=True)])
        expected = _combine([(c, tensors[n]) for c, n in zip(coefs, names, strict=True)])
        if expected is None:
            assert text is None
            continue
        assert torch.equal(_run(text, tensors, weights), expected), (coefs, text)
        checked += 1
    assert checked > 0


def test_tensor_coefficients_and_mixed_ones_match() -> None:
    g = torch.Generator().manual_seed(7)
    tensors = {name: torch.randn(16, 9, generator=g) for name in ("a", "b", "c")}
    weights = torch.softmax(torch.randn(3, generator=g), 0)
    cases = [
        [(Coef(None, "w[0]"), "a"), (Coef(None, "w[1]"), "b"), (Coef(0.25, "0.25"), "c")],
        [(Coef(1.0, "1.0"), "a"), (Coef(None, "w[2]"), "b")],
        [(Coef(0.5, "0.5"), "a"), (Coef(0.5, "0.5"), "b"), (Coef(None, "w[0]"), "c")],
    ]
    for terms in cases:
        text = combination(terms)
        assert text is not None
        expected = _combine([(weights[int(c.text[2])] if c.value is None else c.value, tensors[t]) for c, t in terms])
        assert torch.equal(_run(text, tensors, weights), expected), text


def test_a_known_prefix_is_reused_and_atoms_are_not_parenthesised() -> None:
    lerp = combination([(Coef(1.5, "1 + BETA"), "x"), (Coef(-0.5, "-BETA"), "x_prev")])
    assert lerp == "torch.lerp(x_prev, x, 1 + BETA)"
    full = combination([(Coef(1.5, "1 + BETA"), "x"), (Coef(-0.5, "-BETA"), "x_prev"), (Coef(0.1, "h[k]"), "f")],
                       {lerp: "y"})
    assert full == "y.add(f, alpha=h[k])"
    assert [atom(t) for t in ("x", "-BETA", "T[k](x)", "torch.lerp(a, b, 0.5)", "1 + BETA", "a * b")] == [
        "x", "-BETA", "T[k](x)", "torch.lerp(a, b, 0.5)", "(1 + BETA)", "(a * b)"]
