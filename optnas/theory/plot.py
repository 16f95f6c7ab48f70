"""Figures of the analysis, in Optuna's style: a pure function gathers the data (testable, no Plotly),
a thin one draws it. Plotly is imported only when a figure is asked for.

Example:
    >>> data = theory_plot_data("tanh", depth=20)
    >>> float(data.flows[1.0][0]), len(data.flows[1.0]), data.chi_par.shape == data.ks.shape
    (1.0, 21, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _validate
from ._sigma import resolve
from .criticality import CriticalityReport, criticality
from .kernel import sigma_flow, sigma_moments

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["TheoryPlotData", "plot_theory", "theory_plot_data"]


@dataclass(frozen=True)
class TheoryPlotData:
    """Kernel flows K_ℓ (one per input kernel K0) and χ_∥(K), χ_⊥(K) at the report's initialization."""

    report: CriticalityReport
    depth: int
    flows: dict[float, np.ndarray]
    ks: np.ndarray
    chi_par: np.ndarray
    chi_perp: np.ndarray


def theory_plot_data(
    activation: str,
    *,
    depth: int = 100,
    k0s: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0),
    ks: np.ndarray | None = None,
    **params: Any,
) -> TheoryPlotData:
    """Gather the figure's data at the activation's recommended initialization (critical or fallback)."""
    _validate.integer("depth", depth, 1)
    report = criticality(activation, **params)
    sig = resolve(activation, params)
    c_b, c_w = report.init.c_b, report.init.c_w
    grid = np.logspace(-3, 3, 61) if ks is None else np.asarray(ks, dtype=float)
    flows = {float(k0): sigma_flow(sig, c_b, c_w, float(k0), depth) for k0 in k0s}
    moments = [sigma_moments(sig, float(k)) for k in grid]
    return TheoryPlotData(
        report=report,
        depth=depth,
        flows=flows,
        ks=grid,
        chi_par=np.array([c_w * m.d_sigma_sq for m in moments]),
        chi_perp=np.array([c_w * m.slope_sq for m in moments]),
    )


def _flat_range(chi: np.ndarray) -> list[float] | None:
    """A log-axis range of a factor 2 either side when χ is flat (within 1.5×), else None (autoscale).

    Scale-invariant activations (ReLU, leaky ReLU) have χ = 1 at every K: autoscaling would blow rounding noise
    of 1e-15 up to the full panel height and draw a flat line as a jagged one.
    """
    chi = chi[np.isfinite(chi) & (chi > 0)]
    if not len(chi) or chi.max() / chi.min() >= 1.5:
        return None
    middle = float(np.sqrt(chi.max() * chi.min()))
    return [float(np.log10(middle / 2)), float(np.log10(middle * 2))]


def plot_theory(data: TheoryPlotData) -> go.Figure:
    """Two panels: the kernel flow with depth (log scale, the [K0/10, 10·K0] band of K0 = 1 shaded) and
    the susceptibilities against K, at the initialization the report recommends."""
    try:
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots
    except ImportError as exc:  # plotly is a core dependency, but keep the message clear if it is missing
        raise ImportError("optnas theory figures need plotly: pip install plotly") from exc

    r = data.report
    title = f"{r.activation} {r.params or ''} — {r.init.source} init C_b={r.init.c_b:.4g}, C_W={r.init.c_w:.4g}"
    fig = make_subplots(rows=1, cols=2, subplot_titles=("kernel K_ℓ with depth ℓ", "susceptibilities at K"))
    layers = np.arange(data.depth + 1)
    for k0, flow in data.flows.items():
        shown = np.where(np.isfinite(flow) & (flow > 0), flow, np.nan)  # log axes cannot show 0 or inf
        fig.add_trace(go.Scatter(x=layers, y=shown, mode="lines", name=f"K0 = {k0:g}"), row=1, col=1)
    fig.add_hrect(y0=0.1, y1=10.0, fillcolor="green", opacity=0.08, line_width=0, row=1, col=1)
    fig.add_trace(go.Scatter(x=data.ks, y=data.chi_par, mode="lines", name="χ∥"), row=1, col=2)
    fig.add_trace(go.Scatter(x=data.ks, y=data.chi_perp, mode="lines", name="χ⊥"), row=1, col=2)
    fig.add_hline(y=1.0, line_dash="dot", row=1, col=2)
    fig.update_xaxes(title_text="layer ℓ", row=1, col=1)
    fig.update_yaxes(title_text="K_ℓ", type="log", row=1, col=1)
    fig.update_xaxes(title_text="K", type="log", row=1, col=2)
    fig.update_yaxes(title_text="χ", type="log", row=1, col=2)
    flat = _flat_range(np.concatenate([data.chi_par, data.chi_perp]))
    if flat is not None:
        fig.update_yaxes(range=flat, row=1, col=2)
    fig.update_layout(title=title, template="plotly_white")
    return fig
