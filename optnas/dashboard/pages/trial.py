"""Trial page: status, spec, each certificate condition, metrics, the architecture diagram of the unrolled
skeleton and the command that exports the trial."""

from __future__ import annotations

import json
from typing import Any

import dash
from dash import Input, Output, dcc, html

from ..figures import (
    StudyMedian,
    TrialCurvesData,
    architecture_data,
    plot_architecture,
    plot_intermediate,
    plot_trial_curves,
    study_median,
    trial_curves_data,
)
from ..trial import TrialDetail, trial_detail
from ._common import FrameGetter, card, key_values
from ._view import route_of, view_id


def layout() -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Label("trial", htmlFor="trial"),
                    dcc.Input(id="trial", type="number", min=0, step=1, debounce=True, style={"width": "8em"}),
                    html.Span("(or click a leaderboard row or any plotted trial)", className="hint"),
                ],
                className="toolbar",
            ),
            html.Div(id="trial-content"),
        ]
    )


def render(detail: TrialDetail, curves: TrialCurvesData | None = None) -> list[Any]:
    """The page body of one trial; ``curves``: its own curves and intermediate values beside the study's."""
    head = f"trial {detail.number}: {detail.state}" + (f" ({detail.status})" if detail.status else "")
    parts: list[Any] = [html.H2(head, id="trial-title")]
    if detail.reason:
        parts.append(html.P(f"reason: {detail.reason}", className="reason"))
    cert_state = {True: "certified", False: "NOT certified", None: "no certificate recorded"}[detail.certified]
    conditions = html.Table(
        [
            html.Thead(html.Tr([html.Th("condition"), html.Th("holds"), html.Th("detail")])),
            html.Tbody([
                html.Tr(
                    [
                        html.Td(c.name),
                        html.Td("yes" if c.holds else "NO", className="ok" if c.holds else "bad"),
                        html.Td(c.detail + (" [numerical]" if c.numerical else "")),
                    ]
                )
                for c in detail.conditions
            ]),
        ],
        id="certificate-table",
        className="grid",
    )
    parts.append(html.Div(
        [
            card("Spec", [html.Pre(json.dumps(detail.spec, indent=2) if detail.spec else "no spec recorded",
                                   id="trial-spec")]),
            card("Metrics", [key_values(detail.metrics, id_="trial-metrics")]
                 + ([html.P(f"init: {_init(detail.init_record)}")] if detail.init_record else [])),
        ],
        className="row",
    ))
    if curves is not None:
        parts.append(html.Div([
            card("Curves", [dcc.Graph(id="trial-curves-graph", figure=plot_trial_curves(curves))]),
            card("Intermediate values", [dcc.Graph(id="intermediate-graph", figure=plot_intermediate(curves))]),
        ], className="row"))
    parts.append(card(f"Certificate: {cert_state}", [conditions]))
    parts.append(card("Architecture", [architecture(detail)]))
    command = detail.export_command
    export = [html.Pre(command, id="export-command", className="command")] if command else []
    note = [html.P(detail.export_note, className="hint")] if detail.export_note else []
    parts.append(card("Export", export + note))
    return parts


def architecture(detail: TrialDetail) -> Any:
    if not detail.spec:
        return html.P("no spec recorded: nothing to draw")
    try:
        figure = plot_architecture(architecture_data(detail.spec))
    except ValueError as exc:  # e.g. a user algorithm registered in the search process, not in this one
        return html.P(f"cannot draw this spec here: {exc}", className="bad")
    return dcc.Graph(id="architecture-graph", figure=figure)


def _init(record: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items())


_MEDIANS = 4  # study medians kept: one per study version a user flips between


def register(app: dash.Dash, frame_of: FrameGetter) -> None:
    medians: dict[str, tuple[Any, StudyMedian]] = {}

    def median_of(df: Any, view: Any) -> StudyMedian:
        """The study's per-epoch median, once per study version (50,000 curves take a fraction of a second)."""
        study, signature = str(df.attrs.get("study")), view.get("signature") if isinstance(view, dict) else None
        cached = medians.get(study)
        if cached is None or cached[0] != signature or signature is None:
            if len(medians) >= _MEDIANS:
                medians.pop(next(iter(medians)))
            medians[study] = (signature, study_median(df))
        return medians[study][1]

    @app.callback(Output("trial-content", "children"), Input(view_id("trial"), "data"), prevent_initial_call=True)
    def _trial(view: Any) -> Any:
        route = route_of(view)
        number = route.get("trial") if route.get("page") == "trial" else None
        if not isinstance(number, int):
            return html.P("choose a trial: type its number, or click a leaderboard row or a plotted trial")
        df = frame_of({"study": route.get("study")})  # the route's study, even before the version catches up
        try:
            detail = trial_detail(df, int(number))
        except ValueError as exc:
            return html.P(str(exc), className="bad")
        return render(detail, trial_curves_data(df, int(number), median_of(df, view)))
