"""Architecture diagram of an unrolled skeleton: which iterates feed T and each new iterate, layer by layer.

Read from the same coefficient tables and steps the forward pass runs (`optnas.stages.stage_plan`): T_k's input is
``z_k = Σ_j c_j s_j``; the layer's sweeps, composed at the step h_k (`optnas.algorithms.linear_part`), give the edges
``s_j -> s+_i`` (``A_ij ≠ 0``) and ``T_k -> s+_i`` (``b_i ≠ 0``). Implicit schemes feed T the new iterate
(a fixed point). T's inner structure is the block's declared `Block.structure`.

Example:
    >>> data = architecture_data({"algorithm": "heavy_ball", "algorithm_params": {"beta": 0.9}, "depth": 8})
    >>> data.slots, data.t_inputs[3]
    (('x', 'x[k-1]'), ((0, 1.0),))
    >>> [(i, j, round(a, 2)) for i, j, a in data.updates[3]]
    [(0, 0, 1.9), (0, 1, -0.9), (1, 0, 1.0)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ... import algorithms, blocks
from ...spec import ArchSpec
from ...stages import stage_plan
from ._plotly import TEMPLATE, graph_objects

if TYPE_CHECKING:
    import plotly.graph_objects as go

TOL = 1e-12
Weighted = tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class ArchitectureData:
    """The first ``shown`` layers of the first stage; slot indices beyond ``len(slots)`` are not drawn."""

    algorithm: str  # with parameters, e.g. heavy_ball(beta=0.9)
    formula: str
    implicit: bool
    slots: tuple[str, ...]
    hidden_slots: int  # older slots left out of the drawing (DenseNet-like mixing keeps every iterate)
    depth: int  # layers of the first stage
    stages: int
    steps: tuple[float, ...]  # h_k of the shown layers
    t_inputs: tuple[Weighted, ...]  # per layer: (slot j, c_j); implicit: (0, 1.0) meaning the new iterate
    updates: tuple[tuple[tuple[int, int, float], ...], ...]  # per layer: (new slot i, old slot j, A_ij)
    t_outputs: tuple[Weighted, ...]  # per layer: (new slot i, b_i)
    mixed: tuple[bool, ...]  # row 0 is a learned convex combination (softmax) of the previous iterates
    block: str  # with parameters
    structure: str
    hidden: int | None
    activation: str

    @property
    def shown(self) -> int:
        return len(self.t_inputs)


def _named(name: str, params: dict[str, Any]) -> str:
    inner = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
    return f"{name}({inner})" if inner else name


def architecture_data(spec: dict[str, Any], *, max_layers: int = 4, max_slots: int = 6) -> ArchitectureData:
    """Gather the diagram of a spec dict (``ArchSpec.to_dict()``, the trial's ``spec`` attribute).

    Unknown names or invalid parameters raise the registries' ValueError.
    """
    s = ArchSpec.from_dict(spec)
    algo = algorithms.get(s.algorithm, **s.algorithm_params)
    block = blocks.get(s.block, **s.block_params)
    first = stage_plan(s)[0]  # the tables and steps optnas.build runs in the first stage
    depth, steps = first.depth, first.steps
    names = algo.slot_names(depth)
    keep = min(len(names), max_slots)
    t_inputs: list[Weighted] = []
    updates: list[tuple[tuple[int, int, float], ...]] = []
    t_outputs: list[Weighted] = []
    mixed: list[bool] = []
    for k in range(min(depth, max_layers)):
        layer = first.layers[k]
        a, b, _ = algorithms.linear_part(layer, steps[k])
        if algo.implicit:
            t_inputs.append(((0, 1.0),))
        else:
            t_inputs.append(tuple((j, c) for j, c in layer.c.items() if abs(c) > TOL and j < keep))
        updates.append(tuple((i, j, float(a[i, j])) for i in range(keep) for j in range(keep) if abs(a[i, j]) > TOL))
        t_outputs.append(tuple((i, float(b[i])) for i in range(keep) if abs(b[i]) > TOL))
        mixed.append(layer.mix is not None)
    return ArchitectureData(
        algorithm=_named(s.algorithm, s.algorithm_params),
        formula=algo.formula,
        implicit=algo.implicit,
        slots=tuple(names[:keep]),
        hidden_slots=len(names) - keep,
        depth=depth,
        stages=s.stages,
        steps=tuple(float(h) for h in steps[: len(t_inputs)]),
        t_inputs=tuple(t_inputs),
        updates=tuple(updates),
        t_outputs=tuple(t_outputs),
        mixed=tuple(mixed),
        block=_named(s.block, s.block_params),
        structure=block.structure,
        hidden=block.hidden_width(s.width),
        activation=_named(s.activation, s.activation_params),
    )


def combination(terms: Weighted, slots: tuple[str, ...]) -> str:
    """``((0, 1.9), (1, -0.9))`` -> ``'1.9·x − 0.9·x[k-1]'``."""
    out = ""
    for j, c in terms:
        sign = "−" if c < 0 else "+"
        mag = "" if abs(abs(c) - 1.0) < 1e-9 else f"{abs(c):.4g}·"
        out += ("−" if c < 0 else "") if not out else f" {sign} "
        out += f"{mag}{slots[j]}"
    return out or "0"


def plot_architecture(data: ArchitectureData) -> go.Figure:
    """State columns s_0 … s_L (rows: the algorithm's slots), T_k boxes between them, arrows for nonzero
    coefficients (hover an arrow's midpoint for its value)."""
    go = graph_objects()
    fig = go.Figure()
    rows = {j: -j for j in range(len(data.slots))}  # slot j drawn at y = -j; T_k above, at y = 1
    arrows: list[dict[str, Any]] = []
    mids: dict[str, tuple[list[float], list[float], list[str]]] = {
        "iterate": ([], [], []), "into T": ([], [], []), "out of T": ([], [], [])
    }

    def edge(kind: str, x0: float, y0: float, x1: float, y1: float, text: str) -> None:
        color = {"iterate": "gray", "into T": "royalblue", "out of T": "firebrick"}[kind]
        arrows.append({"x": x1, "y": y1, "ax": x0, "ay": y0, "xref": "x", "yref": "y", "axref": "x", "ayref": "y",
                       "showarrow": True, "arrowhead": 2, "arrowsize": 1.2, "arrowwidth": 1.5,
                       "arrowcolor": color, "standoff": 9, "startstandoff": 9, "text": ""})
        mids[kind][0].append((x0 + x1) / 2)
        mids[kind][1].append((y0 + y1) / 2)
        mids[kind][2].append(text)

    for k in range(data.shown):
        h = data.steps[k]
        slot = lambda j, k=k: f"{data.slots[j]}@{k}"  # noqa: E731 - slot j of state k, for hover text
        if data.implicit:  # enters T's right side, so it does not hide the T -> x+ arrow
            edge("into T", k + 1, 0, k + 0.58, 1, f"T_{k} reads the new iterate {slot(0, k + 1)}: fixed point "
                 f"x+ = u + c·T(x+)")
        for j, c in data.t_inputs[k] if not data.implicit else ():
            edge("into T", k, rows[j], k + 0.5, 1, f"z_{k} ∋ {c:.4g}·{slot(j)}")
        for i, b in data.t_outputs[k]:
            edge("out of T", k + 0.5, 1, k + 1, rows[i], f"{slot(i, k + 1)} ∋ {b:.4g}·T_{k}  (h_{k} = {h:.4g})")
        for i, j, a in data.updates[k]:
            learned = " (learned softmax weight, uniform shown)" if data.mixed[k] and i == 0 else ""
            edge("iterate", k, rows[j], k + 1, rows[i], f"{slot(i, k + 1)} ∋ {a:.4g}·{slot(j)}{learned}")

    for kind, (xs, ys, texts) in mids.items():
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name=kind, text=texts, hoverinfo="text",
                                     marker={"size": 6, "opacity": 0.0}, showlegend=False))
    n = data.shown
    sx = [k for k in range(n + 1) for _ in data.slots]
    sy = [rows[j] for _ in range(n + 1) for j in range(len(data.slots))]
    stext = [data.slots[j] if k == 0 else "" for k in range(n + 1) for j in range(len(data.slots))]
    shover = [f"state {k}, slot {data.slots[j]}" for k in range(n + 1) for j in range(len(data.slots))]
    fig.add_trace(go.Scatter(x=sx, y=sy, mode="markers+text", text=stext, textposition="middle left",
                             hovertext=shover, hoverinfo="text", name="iterates",
                             marker={"size": 16, "color": "white", "line": {"width": 2, "color": "black"}}))
    t_hover = []
    for k in range(n):
        z = "x+ (the new iterate: fixed point)" if data.implicit else combination(data.t_inputs[k], data.slots)
        t_hover.append(f"T_{k} = {data.block}, σ = {data.activation}<br>z_{k} = {z}<br>h_{k} = {data.steps[k]:.4g}"
                       f"<br>{data.structure}")
    fig.add_trace(go.Scatter(x=[k + 0.5 for k in range(n)], y=[1] * n, mode="markers+text",
                             text=[f"T{k}" for k in range(n)], textposition="top center", hovertext=t_hover,
                             hoverinfo="text", name="T (learnable)",
                             marker={"symbol": "square", "size": 24, "color": "lightsteelblue",
                                     "line": {"width": 2, "color": "royalblue"}}))
    more = f", first {n} of {data.depth} layers drawn" if data.depth > n else ""
    stages = f", stage 1 of {data.stages}" if data.stages > 1 else ""
    older = f"; {data.hidden_slots} older slot(s) not drawn" if data.hidden_slots else ""
    notes = [
        f"<b>{data.algorithm}</b>: {data.formula}",
        f"<b>T</b> = {data.block}, hidden width {data.hidden}, σ = {data.activation}: {data.structure}",
        "arrows: gray s→s+ (A_ij), blue s→T (c_j), red T→s+ (b_i, includes h_k)"
        + ("; implicit: blue s+→T, T reads the new iterate" if data.implicit else "") + older,
    ]
    for i, note in enumerate(notes):  # below the plot, placed in pixels so any height keeps them apart
        arrows.append({"text": note, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0, "y": 0,
                       "yanchor": "top", "yshift": -34 - 20 * i, "xanchor": "left", "align": "left",
                       "font": {"size": 12}})
    fig.update_layout(
        title=f"Unrolled skeleton: {data.algorithm}{more}{stages}",
        template=TEMPLATE,
        annotations=arrows,
        showlegend=False,
        xaxis={"tickvals": list(range(n + 1)), "ticktext": [f"s{k}" for k in range(n + 1)], "zeroline": False,
               "showgrid": False, "range": [-0.6, n + 0.3]},
        yaxis={"visible": False, "range": [-len(data.slots) + 0.4, 1.7]},
        margin={"b": 110, "l": 70, "r": 20, "t": 60},
        height=260 + 60 * len(data.slots),
    )
    return fig
