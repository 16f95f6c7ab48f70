"""Small layout helpers shared by the pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from dash import html

from ..data import fmt, label

# version (the dcc.Store's data: {"study": name, "signature": [...]}) or a page's view -> the results DataFrame
FrameGetter = Callable[[Any], pd.DataFrame]


def card(title: str, children: list[Any], **kwargs: Any) -> html.Section:
    return html.Section([html.H2(title), *children], className="card", **kwargs)


def key_values(items: dict[str, Any], *, id_: str) -> html.Table:
    """A two-column table: human names (`data.label`), the one number format (`data.fmt`)."""
    rows = [html.Tr([html.Th(label(k)), html.Td(fmt(v))]) for k, v in items.items()]
    return html.Table(html.Tbody(rows), className="kv", id=id_)


