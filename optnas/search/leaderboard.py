"""The summary printed at the end of a search: where it is stored, what happened, the best trials, what next.

Counts and the best trial come from `optnas.outcome` (the one rule), never from a count of its own. The
table fits 80 columns: short headers, one space between columns, long names folded rather than cut.

Example:
    >>> from rich.console import Console                                        # doctest: +SKIP
    >>> render_summary(study, storage="optnas-runs/journal.log", console=Console(width=80))  # doctest: +SKIP
"""

from __future__ import annotations

import shlex

import optuna
import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from .. import outcome, results
from .._format import number
from ..spec import FAMILIES, describe_fields, describe_line
from ..storage import DEFAULT_STORAGE

# (column of optnas.results.frame, header, right-aligned); the objectives are added between them
SPEC_COLUMNS = (("number", "#", True), ("algorithm", "algorithm", False), ("block", "block", False),
                ("activation", "activation", False), ("depth", "depth", True), ("width", "width", True))
COST_COLUMNS = (("params", "params", True), ("wall_s", "s", True))
WIDTH = 80
SPEC_FIELDS = (*FAMILIES, "depth", "width", "stages")  # a row without its spec object (an older frame)


def ranked_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The COMPLETE trials of ``df`` (`optnas.results.frame`) best first, by `optnas.results.ranking`."""
    done = df[df["state"] == "COMPLETE"] if "state" in df else df.iloc[0:0]
    if done.empty:
        return done
    return done.set_index("number", drop=False).loc[results.ranking(df)]


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
    df = results.frame(study)
    tally = outcome.counts(outcome.trial_status(t) for t in study.get_trials(deepcopy=False))
    console.print(f"study [bold]{study.study_name}[/bold] in {storage}")
    console.print(f"{len(study.trials)} trials: {outcome.format_counts(tally)}")
    ranked = ranked_frame(df)
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
    values = ", ".join(f"{o['name']} {number(row.get('objective_' + o['name']))}" for o in objectives)
    test = row.get("test_metric")
    extra = "" if test is None or pd.isna(test) or any(o["name"] == "test_metric" for o in objectives) else (
        f" (test {number(test)})"
    )
    given = row.get("spec")
    spec = describe_line(describe_fields(given if isinstance(given, dict) else {k: row.get(k) for k in SPEC_FIELDS}))
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
        table.add_row(*(number(r.get(key)) for key, _, _ in columns))
    return table
