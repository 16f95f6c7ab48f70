"""Activation page: the criticality report and plots (kernel flow with depth, susceptibilities) of each
activation the study used, from optnas.theory."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from ..figures import ActivationChoice, activation_choices, criticality_data, plot_criticality
from ._common import FrameGetter
from ._view import view_id


def layout() -> html.Div:
    return html.Div(
        [
            html.Div(
                [html.Label("activation", htmlFor="activation"),
                 dcc.Dropdown(id="activation", clearable=False, style={"minWidth": "20em"})],
                className="toolbar",
            ),
            dcc.Loading(html.Div(id="activation-content")),
        ]
    )


def register(app: dash.Dash, frame_of: FrameGetter) -> None:
    @app.callback(
        Output("activation", "options"),
        Output("activation", "value"),
        Input(view_id("activations"), "data"),
        State("activation", "value"),
        prevent_initial_call=True,  # its view sets it off (`_view.view_id`)
    )
    def _choices(version: Any, current: str | None) -> tuple[Any, Any]:
        choices = activation_choices(frame_of(version))
        keys = [c.key for c in choices]
        value = current if current in keys else (keys[0] if keys else None)
        return [{"label": c.label, "value": c.key} for c in choices], value

    @app.callback(Output("activation-content", "children"), Input("activation", "value"))
    def _content(key: str | None) -> Any:
        if not key:
            return html.P("no trial of this study records an activation yet")
        choice = ActivationChoice.from_key(key)
        try:
            data = criticality_data(choice)
        except ValueError as exc:  # an activation registered in the search process but not here
            return html.P(f"{choice.label}: {exc}", className="bad")
        return [
            dcc.Graph(id="criticality-graph", figure=plot_criticality(data)),
            html.Pre(data.report.format(), id="criticality-report"),
        ]
