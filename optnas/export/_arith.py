"""Write Σ coef·tensor as Python code that runs the same float operations as the optnas skeleton.

An exported model must reproduce the original's outputs bit for bit, and ``x + β·(x − x−)`` rounds
differently from the one ``torch.lerp`` the skeleton runs (``optnas.nn.unrolled._combine``). So every
combination is written with the kernels the skeleton uses, in its order: two float coefficients summing
to 1 are one ``torch.lerp``, a unit coefficient costs no multiply, further float terms are
``.add(t, alpha=c)``, tensor coefficients (learnable steps, softmax weights) are ``+ c * t``.

Example:
    >>> beta = Coef(1.5, "1 + BETA"), Coef(-0.5, "-BETA")  # 1.5 + (-0.5) == 1.0: one lerp
    >>> combination([(beta[0], "x"), (beta[1], "x_prev"), (Coef(0.1, "h[k]"), "T[k](x)")])
    'torch.lerp(x_prev, x, 1 + BETA).add(T[k](x), alpha=h[k])'
    >>> beta = Coef(1.9, "1 + BETA"), Coef(-0.9, "-BETA")  # 1.9 + (-0.9) != 1.0 in floats: no lerp
    >>> combination([(beta[0], "x"), (beta[1], "x_prev"), (Coef(0.1, "h[k]"), "T[k](x)")])
    '(x * (1 + BETA)).add(x_prev, alpha=-BETA).add(T[k](x), alpha=h[k])'
"""

from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass(frozen=True)
class Coef:
    """A coefficient: its value when it is a Python float at run time (None: a tensor), and its code."""

    value: float | None
    text: str


def atom(text: str, receiver: bool = False) -> str:
    """``text`` in parentheses unless it is a name, a number, an index, a call or (not as the ``receiver``
    of a method call, where ``-a.add(b)`` would negate the sum) a negated one of these."""
    node = ast.parse(text, mode="eval").body
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and not receiver:
        node = node.operand
    return text if isinstance(node, ast.Name | ast.Constant | ast.Subscript | ast.Call | ast.Attribute) else f"({text})"


def combination(terms: list[tuple[Coef, str]], known: dict[str, str] | None = None) -> str | None:
    """Code for Σ coef·tensor over ``terms`` (already without empty slots), or None when nothing is left.

    ``known`` maps code to a variable already holding it: a prefix of the combination equal to one (the
    input of T, typically) is reused, which is exact because it is the same operations on the same tensors.
    """
    known = known or {}
    live = [(c, t) for c, t in terms if not (c.value is not None and c.value == 0.0)]
    if not live:
        return None
    (c0, t0), rest = live[0], live[1:]
    if len(live) >= 2 and c0.value is not None and live[1][0].value is not None \
            and c0.value + live[1][0].value == 1.0:
        out, rest = f"torch.lerp({live[1][1]}, {t0}, {c0.text})", live[2:]
    elif c0.value == 1.0:
        out = t0
    elif c0.value == -1.0:
        out = f"-{atom(t0)}"
    else:
        out = f"{atom(t0)} * {atom(c0.text)}"
    out = known.get(out, out)
    for c, t in rest:
        if c.value is None:
            out = f"{out} + {atom(c.text)} * {atom(t)}"
        elif c.value == 1.0:
            out = f"{out} + {atom(t)}"
        elif c.value == -1.0:
            out = f"{out} - {atom(t)}"
        else:
            out = f"{atom(out, receiver=True)}.add({t}, alpha={c.text})"
        out = known.get(out, out)
    return out
