"""The leaderboard printed at the end of a search: best trials first (Pareto front for several objectives)."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from ..outcome import counts, format_counts

COLUMNS = (
    "number",
    "algorithm",
    "block",
    "activation",
    "depth",
    "width",
    "val_metric",
    "test_metric",
    "params",
    "flops",
    "latency_ms",
    "wall_s",
)


def rank(df: pd.DataFrame, objectives: list[dict[str, str]]) -> pd.DataFrame:
    """Complete trials sorted by the first objective (its direction), best first."""
    done = df[df["state"] == "COMPLETE"]
    if done.empty or not objectives:
        return done
    first = objectives[0]
    return done.sort_values(f"objective_{first['name']}", ascending=first["direction"] == "minimize")


def render(df: pd.DataFrame, objectives: list[dict[str, str]], top: int = 10, console: Console | None = None) -> None:
    console = console or Console(width=None if Console().is_terminal else 160)
    ranked = rank(df, objectives).head(top)
    # results.frame's status column is outcome.trial_status: the one rule for every count
    title = f"study {df.attrs.get('study')}: " + format_counts(counts(df["status"]))
    table = Table(title=title)
    for c in COLUMNS:
        table.add_column(c, justify="right" if c not in ("algorithm", "block", "activation") else "left")
    for _, r in ranked.iterrows():
        table.add_row(*(_fmt(r.get(c)) for c in COLUMNS))
    console.print(table)


def _fmt(v: object) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
