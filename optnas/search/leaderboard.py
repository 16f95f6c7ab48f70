"""The summary printed at the end of a search: where it is stored, what happened, the best trials, what next.

Counts and the best trial come from `optnas.outcome` (the one rule), never from a count of its own. The
table fits 80 columns: short headers, one space between columns, long names folded rather than cut.

Example:
    >>> from rich.console import Console                                        # doctest: +SKIP
    >>> render_summary(study, storage="optnas-runs/journal.log", console=Console(width=80))  # doctest: +SKIP
"""

from __future__ import annotations

import shlex
from typing import Any

import optuna
import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from .. import outcome
from ..results import frame
from ..storage import DEFAULT_STORAGE

# (column of optnas.results.frame, header, right-aligned); the objectives are added between them
SPEC_COLUMNS = (("number", "#", True), ("algorithm", "algorithm", False), ("block", "block", False),
                ("activation", "activation", False), ("depth", "depth", True), ("width", "width", True))
COST_COLUMNS = (("params", "params", True), ("wall_s", "s", True))
WIDTH = 80


def ranked_frame(df: pd.DataFrame, directions: list[str]) -> pd.DataFrame:
    """The COMPLETE trials of ``df`` (`optnas.results.frame`) best first, by `optnas.outcome.ranking`."""
    objectives = [f"objective_{o['name']}" for o in df.attrs.get("objectives", [])]
    done = df[df["state"] == "COMPLETE"] if "state" in df else df.iloc[0:0]
    if done.empty or not objectives or any(c not in done for c in objectives):
        return done.iloc[0:0]
    candidates = [(int(r["number"]), [r[c] for c in objectives]) for _, r in done.iterrows()]
    order = outcome.ranking(candidates, directions)
    return done.set_index("number", drop=False).loc[order]


def render_summary(
    study: optuna.Study,
    *,
    storage: str,
    resume: str | None = None,
    top: int = 10,
    console: Console | None = None,
) -> None:
    """Print the study's summary: storage, counts by optnas status, best trial, leaderboard, next commands.

    ``resume`` is the command that continues a search its workers left short (`SearchIncomplete.command`).
    """
    console = console or _Console(width=None if Console().is_terminal else WIDTH, highlight=False)
    df = frame(study)
    directions = [d.name.lower() for d in study.directions]
    tally = outcome.counts(outcome.trial_status(t) for t in study.get_trials(deepcopy=False))
    console.print(f"study [bold]{study.study_name}[/bold] in {storage}")
    console.print(f"{len(study.trials)} trials: {outcome.format_counts(tally)}")
    ranked = ranked_frame(df, directions)
    if ranked.empty:
        console.print("best: no complete trial")
    else:
        # never broken by the console inside the spec list: one line if it fits, else the values and the
        # spec on a line each
        values, spec = _best_line(ranked.iloc[0], df.attrs.get("objectives", []))
        one = f"best: {values}: {spec}"
        lines = [one] if len(one) <= console.width else [f"best: {values}:", f"      {spec}"]
        for line in lines:
            console.print(line, soft_wrap=True)
        console.print(_table(ranked.head(top), df.attrs.get("objectives", [])))
    flag = "" if storage == DEFAULT_STORAGE else f" --storage {shlex.quote(storage)}"
    name = shlex.quote(study.study_name)
    lines = [f"optnas dashboard{flag}", f"optnas report{flag} --study {name} -o {name}-report.html"]
    if not ranked.empty:
        lines.append(f"optnas export{flag} --study {name} --out best-{study.study_name}")
    if resume:
        lost = tally.get("lost", 0)
        lines.append(f"{resume}   # {lost} lost with dead workers")
    console.print("next:")
    for line in lines:
        console.print(f"  {line}", soft_wrap=True)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich's own answer is SystemExit(1); the CLI ends every command alike when stdout's reader has gone
        self.quiet = True
        raise BrokenPipeError


def _best_line(row: pd.Series, objectives: list[dict[str, str]]) -> tuple[str, str]:
    """(the trial and its values, its spec): the two halves of the ``best:`` line."""
    values = ", ".join(f"{o['name']} {_fmt(row.get('objective_' + o['name']))}" for o in objectives)
    test = row.get("test_metric")
    extra = "" if test is None or pd.isna(test) or any(o["name"] == "test_metric" for o in objectives) else (
        f" (test {_fmt(test)})"
    )
    spec = (f"{row.get('algorithm')}, {row.get('block')}, {row.get('activation')}, depth {row.get('depth')}, "
            f"width {row.get('width')}")
    return f"trial {int(row['number'])}, {values}{extra}", spec


def _table(ranked: pd.DataFrame, objectives: list[dict[str, str]]) -> Table:
    names = [o["name"] for o in objectives]
    columns: list[tuple[str, str, bool]] = [*SPEC_COLUMNS]
    columns += [(f"objective_{n}", n, True) for n in names]
    columns += [c for c in COST_COLUMNS if c[0] not in names]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0), show_edge=False)
    for _, header, right in columns:
        table.add_column(header, justify="right" if right else "left", min_width=len(header), overflow="fold")
    for _, r in ranked.iterrows():
        table.add_row(*(_fmt(r.get(key), key) for key, _, _ in columns))
    return table


def _fmt(v: Any, key: str = "") -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "-"
    if key == "wall_s":
        return f"{float(v):.1f}"
    if key in ("params", "flops") and isinstance(v, int | float):
        return f"{int(v)}"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
