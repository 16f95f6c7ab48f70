"""One stage of an exported network as a small class whose forward is the algorithm's recurrence.

For a depth-3 heavy-ball stage (β = 0.9) model.py reads::

    class HeavyBall(nn.Module):
        ...
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            T, h = self.blocks, self.h
            x_prev = x
            x, x_prev = x.add(T[0](x), alpha=h[0]), x  # start-up step (the history is not filled yet)
            for k in range(1, len(T)):
                x, x_prev = (x * (1 + BETA)).add(x_prev, alpha=-BETA).add(T[k](x), alpha=h[k]), x
            return x

(1.9 + (−0.9) is not 1.0 in floats, so the skeleton does not take its one-``lerp`` path here, and neither
does the code.)

Each statement is one sweep of the stage's tables (the algorithm's named rows, `optnas.nn.tableau`, that
the skeleton runs), written with the kernels the skeleton runs (`._arith`) so the outputs are bit-identical;
consecutive layers whose code is the same become one loop. Slots are named variables (``x``, ``x_prev``,
``lam``), coefficients are expressions over the algorithm's named quantities (`._forms`) where they evaluate
to the same floats, numbers otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..algorithms import Algorithm
from ..nn.tableau import Row
from ..nn.unrolled import Unrolled
from ._arith import Coef, atom, combination
from ._forms import Quantities, quantities, slot_variables
from ._literal import WIDTH, docstring_safe, flat, literal


@dataclass
class StageCode:
    """A stage class: its name and text, the module constants it reads, its constructor's extra arguments."""

    name: str
    text: str
    constants: dict[str, str] = field(default_factory=dict)  # NAME -> literal
    arguments: list[str] = field(default_factory=list)  # after the blocks: "h=H", "beta=BETA_1", ...
    needs: set[str] = field(default_factory=set)  # optnas/nn definitions copied beside it
    implicit: bool = False


@dataclass
class _Namer:
    """Writes a float coefficient of layer k as an expression over the named quantities, when exact."""

    scalars: dict[str, Any]  # NAME -> float or tuple (module constants)
    tables: dict[str, list[float]]  # name -> per-layer values (constructor arguments)
    h: list[float] | None  # fixed steps (None: learnable, a tensor at run time)
    chosen: dict[Any, str] = field(default_factory=dict)  # role -> the text the previous layer used

    def candidates(self, k: int) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        for name, value in [*self.scalars.items(), *((f"{n}[k]", v[k]) for n, v in self.tables.items())]:
            if isinstance(value, tuple):
                out += [(f"{name}[{i}]", float(v)) for i, v in enumerate(value)]
                out += [(f"-{name}[{i}]", -float(v)) for i, v in enumerate(value)]
                continue
            p = float(value)
            out += [(name, p), (f"-{name}", -p), (f"1 + {name}", 1 + p), (f"1 - {name}", 1 - p)]
            if p:
                out.append((f"1 / {name}", 1 / p))
        return out

    def name(self, value: float, k: int, role: Any = None) -> str:
        """``value`` as code; ``role`` (where it sits in the tables) keeps the previous layer's form when
        it is exact here too, so equal layers read alike (θ = 0.5 is both θ and 1 − θ)."""
        value = float(value)
        if value in (0.0, 1.0, -1.0):
            return flat(value)
        previous = self.chosen.get(role)
        if role is not None and previous is not None and _evaluates_to(previous, value, self, k):
            return previous
        text = next((t for t, v in self.candidates(k) if v == value), flat(value))
        if role is not None:
            self.chosen[role] = text
        return text

    def coef(self, a0: float, a1: float, k: int, role: Any = None) -> Coef:
        """``a0 + h_k·a1`` as the skeleton computes it (`optnas.nn.unrolled._coef`)."""
        a0, a1 = float(a0), float(a1)
        if a1 == 0.0:
            return Coef(a0, self.name(a0, k, (role, 0)))
        value = None if self.h is None else a0 + self.h[k] * a1
        t1 = self.name(a1, k, (role, 1))
        if a1 == 1.0:
            base = "h[k]"
        elif a1 == -1.0:
            base = "-h[k]"
        elif t1.startswith("-") and atom(t1[1:]) == t1[1:]:
            base = f"-h[k] * {t1[1:]}"  # h·(−p) = −(h·p) exactly
        else:
            base = f"h[k] * {atom(t1)}"
        if a0 == 0.0:
            text = base
        else:
            text = f"{self.name(a0, k, (role, 0))} {'-' if base.startswith('-') else '+'} {base.lstrip('-')}"
        if value is not None and not _evaluates_to(text, value, self, k):
            text = flat(value)  # not expressible exactly: the number the skeleton computes
        return Coef(value, text)


def _evaluates_to(text: str, value: float, namer: _Namer, k: int) -> bool:
    names: dict[str, Any] = {"h": namer.h or [], "k": k, **namer.scalars, **namer.tables}
    return eval(text, {"__builtins__": {}}, names) == value


def _class_name(algorithm: str) -> str:
    name = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", algorithm) if part)
    return name if name.isidentifier() else f"Stage{name}"


def write_stage(stage: Unrolled, algorithm: Algorithm, algorithm_name: str, index: int, stages: int) -> StageCode:
    """The class of one built stage (an `optnas.nn.unrolled.Unrolled`) and what model.py needs around it."""
    depth = len(stage.blocks)
    suffix = f"_{index}" if stages > 1 else ""
    slots = slot_variables(algorithm.slot_names(depth))
    if len(slots) != len(stage.equilibrium):
        slots = [f"s{j}" for j in range(len(stage.equilibrium))]
    named: Quantities = quantities(algorithm, depth)
    scalars = {n: v for n, v in named.items() if not isinstance(v, list)}
    tables = {n: v for n, v in named.items() if isinstance(v, list)}
    values = getattr(stage.steps, "values", None)
    namer = _Namer(scalars, tables, None if values is None else list(values))
    code = StageCode(_class_name(algorithm_name), "", implicit=bool(stage.implicit))
    code.constants = {n: literal(v, 0, len(n) + 3) for n, v in scalars.items()}
    if values is not None:
        code.constants[f"H{suffix}"] = literal(list(values), 0, len(suffix) + 4) + "  # step sizes h[k]"
        code.arguments.append(f"h=H{suffix}")
    else:
        code.needs.add("LearnableSteps")
        code.arguments.append(f"steps=LearnableSteps({flat(_initial_steps(stage))}, h_max={flat(stage.steps.h_max)})")
    for n, v in tables.items():
        code.constants[f"{n.upper()}{suffix}"] = literal(v, 0, len(n) + len(suffix) + 3)
        code.arguments.append(f"{n}={n.upper()}{suffix}")
    if stage.implicit:
        code.constants["MAX_ITER"] = f"{int(stage.max_iter)}  # the fixed-point solver's budget (the certificate's)"
        code.constants["TOL"] = f"{flat(float(stage.tol))}  # and its relative tolerance"
        code.needs.add("fixed_point")

    layers = [_layer(stage, k, slots, namer, _live_before(stage, k, slots)) for k in range(depth)]
    body = [f"{a} = {b}" for a, b in _initial(stage, slots, namer)]
    startup = int(getattr(algorithm, "startup", 0) or 0)
    k = 0
    while k < depth:
        end = k + 1
        while end < depth and layers[end] == layers[k]:
            end += 1
        lines = [line.replace("[k]", f"[{k}]") for line in layers[k]] if end - k == 1 else layers[k]
        note = "  # start-up step (the history is not filled yet)" if k < startup and end <= startup else ""
        if end - k == 1:
            body += [lines[0] + note, *lines[1:]] if note and len(lines[0]) + len(note) < 100 else lines
        else:
            stop = "len(T)" if end == depth else str(end)
            body.append(f"for k in range({stop})" if k == 0 else f"for k in range({k}, {stop})")
            body[-1] += ":"
            body += [f"    {line}" for line in lines]
        k = end
    code.text = _class_text(code, algorithm, algorithm_name, stage, tables, values is None, body, slots[0])
    return code


def _initial_steps(stage: Unrolled) -> list[float]:
    """Any steps in (0, h_max) do: θ is a weight, loaded from weights.safetensors."""
    return [round(float(h), 6) for h in stage.steps().detach().tolist()]


def _initial(stage: Unrolled, slots: list[str], namer: _Namer) -> list[tuple[str, str]]:
    """The state before layer 0: ``equilibrium[j] · x`` (an empty slot is not assigned)."""
    same = [slots[j] for j, e in enumerate(stage.equilibrium) if j and e == 1.0]
    out = [(" = ".join(same), slots[0])] if same else []
    out += [(slots[j], f"{slots[0]} * {atom(namer.name(e, 0))}") for j, e in enumerate(stage.equilibrium)
            if j and e not in (0.0, 1.0)]
    if stage.equilibrium[0] != 1.0:
        out.append((slots[0], f"{slots[0]} * {atom(namer.name(stage.equilibrium[0], 0))}"))
    return out


def _live_before(stage: Unrolled, k: int, slots: list[str]) -> set[int]:
    """Slots holding a tensor before layer k (a zero-equilibrium slot is empty until a sweep writes it)."""
    live = {j for j, e in enumerate(stage.equilibrium) if e != 0.0}
    for layer in range(k):
        for rows in stage.layers[layer].sweeps:
            live = _after(rows, live, stage, layer)
    return live


def _after(rows: Mapping[int, Row], live: set[int], stage: Unrolled, k: int) -> set[int]:
    new = set(live)
    for i, row in rows.items():
        mix = stage.layers[k].mix if i == 0 else None
        reads = range(mix) if mix else [j for j, _, _ in row.terms]
        has_f = (row.b0 or row.b1) and not (stage.implicit and i != 0)
        if any(j in live for j in reads) or has_f or (stage.implicit and i == 0):
            new.add(i)
        else:
            new.discard(i)
    return new


def _layer(stage: Unrolled, k: int, slots: list[str], namer: _Namer, live: set[int]) -> list[str]:
    """Layer k's statements, written with ``k`` for the layer index (so equal layers compare equal)."""
    lines: list[str] = []
    layer = stage.layers[k]
    mix = layer.mix
    weights: list[Coef] = []
    if mix:
        index = sum(1 for earlier in stage.layers[:k] if earlier.mix)
        lines.append(f"w = torch.softmax(self.mix_logits[{'k' if index == k else index}], 0)")
        weights = [Coef(None, f"w[{j}]") for j in range(mix)]

    def pairs(i: int, row: Row, role: Any) -> list[tuple[Coef, str]]:
        if i == 0 and weights:
            return [(weights[j], slots[j]) for j in range(len(weights)) if j in live]
        return [(namer.coef(a0, a1, k, (role, i, j)), slots[j]) for j, a0, a1 in row.terms if j in live]

    if stage.implicit:
        rows = layer.sweeps[0]
        row0 = rows[0]
        u = combination(pairs(0, row0, 0))
        assert u is not None, "an implicit layer's x+ has an empty combination"
        if u not in slots:
            lines.append(f"u = {u}")
            u = "u"
        solved = f"fixed_point(T[k], {u}, {namer.coef(row0.b0, row0.b1, k, (0, 0, 'f')).text})"
        targets = [(0, solved)] + [(i, combination(pairs(i, r, 0))) for i, r in rows.items() if i != 0]
        lines.append(_assign(sorted(targets), slots))
        return lines

    z = combination([(Coef(c, namer.name(c, k, ("c", j))), slots[j]) for j, c in layer.c.items() if j in live])
    assert z is not None, "T's input is an empty combination"
    known: dict[str, str] = {}
    if z not in slots:
        var = next(v for v in ("y", "v", "y_k") if v not in slots)
        lines.append(f"{var} = {z}")
        known, z = {z: var}, var
    f_uses = sum(1 for rows in layer.sweeps for r in rows.values() if namer.coef(r.b0, r.b1, k).value != 0.0)
    f = f"T[k]({z})"
    if f_uses > 1:
        lines.append(f"f = {f}")
        f = "f"
    for n, rows in enumerate(layer.sweeps):
        targets = [(i, combination([*pairs(i, r, n), (namer.coef(r.b0, r.b1, k, (n, i, "f")), f)], known))
                   for i, r in rows.items()]
        lines.append(_assign(targets, slots))
        live = _after(rows, live, stage, k)
        known = {}  # the sweep changed the state: T's input is no longer a prefix of what follows
    return lines


def _assign(targets: list[tuple[int, str | None]], slots: list[str]) -> str:
    """``a, b = ea, eb``: every right side reads the state before the sweep, as the skeleton's sweep does."""
    kept = [(slots[i], text) for i, text in targets if text is not None and text != slots[i]]
    return f"{', '.join(t for t, _ in kept)} = {', '.join(e for _, e in kept)}"


def _class_text(
    code: StageCode, algorithm: Algorithm, name: str, stage: Unrolled, tables: dict[str, list[float]],
    learnable: bool, body: list[str], out: str,
) -> str:
    formula = getattr(algorithm, "formula", "") or "the recurrence of its coefficient tables"
    steps = ("steps", "nn.Module") if learnable else ("h", "list[float]")
    params = [("blocks", "list[nn.Module]"), steps, *((n, "list[float]") for n in tables)]
    signature = ", ".join(f"{n}: {t}" for n, t in params)
    attrs = ["self.blocks", *(f"self.{n}" for n, _ in params[1:])]
    values = ["nn.ModuleList(blocks)", *(n for n, _ in params[1:])]
    reads = ["T", "h", *tables]
    sources = ["self.blocks", "self.steps()" if learnable else "self.h", *(f"self.{n}" for n in tables)]
    init = [f"{', '.join(attrs)} = {', '.join(values)}"]
    sizes = [layer.mix for layer in stage.layers if layer.mix]
    if sizes:
        counts = "range(1, len(blocks) + 1)" if sizes == list(range(1, len(sizes) + 1)) else flat(sizes)
        init.append("# DenseNet-like mixing: softmax weights over the previous iterates (learned)")
        init.append(f"self.mix_logits = nn.ParameterList(nn.Parameter(torch.zeros(n)) for n in {counts})")
    doc = f'    """{name}: {formula}, T[k] the blocks, h[k] the step sizes."""'
    if len(doc) > WIDTH:
        doc = f'    """{name}, T[k] the blocks, h[k] the step sizes:\n\n        {formula}\n    """'
    lines = [
        f"class {code.name}(nn.Module):",
        docstring_safe(doc[7:-3]).join([doc[:7], doc[-3:]]),
        *(["", "    implicit = True  # a fixed-point solve per layer (tracers such as torch.export cannot follow it)"]
          if code.implicit else []),
        "",
        f"    def __init__(self, {signature}) -> None:",
        "        super().__init__()",
        *(f"        {line}" for line in init),
        "",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        f"        {', '.join(reads)} = {', '.join(sources)}",
        *(f"        {line}" for line in body),
        f"        return {out}",
    ]
    return "\n".join(lines) + "\n"
