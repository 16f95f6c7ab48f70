"""`optnas.bench.query` on the shipped tables (issue 26, item 6): an ArchSpec, a spec dict, the table's own
``arch`` string or a row index name the same architecture, and a query reads an index built once."""

from __future__ import annotations

import json
import random
import re

import pandas as pd
import pytest

import optnas
import optnas.bench
from optnas.bench import table

NAME = "digits"


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return optnas.bench.load(NAME)


def test_every_way_of_naming_an_architecture_gives_its_rows(df: pd.DataFrame) -> None:
    for i in random.Random(0).sample(range(len(df)), 25):
        row = df.iloc[i]
        expected = df[df["arch"] == row["arch"]].reset_index(drop=True)
        for spec in (row["spec"], optnas.ArchSpec.from_dict(row["spec"]), row["arch"], i):
            assert optnas.bench.query(NAME, spec).equals(expected), spec
        one = optnas.bench.query(NAME, row["arch"], seed=int(row["seed"]))
        assert one.equals(row) and one.name == i
        assert optnas.bench.query(NAME, i, seed=int(row["seed"]), epoch=4) == _at(row["val_curve"], 4)
        by_seed = optnas.bench.query(NAME, row["arch"], epoch=9)
        assert list(by_seed.index) == list(expected["seed"])
        assert [None if pd.isna(v) else v for v in by_seed] == [_at(c, 9) for c in expected["val_curve"]]


def _at(curve: list[float], epoch: int) -> float | None:
    return curve[epoch] if epoch < len(curve) else None  # a diverged run's curve stops early


def test_an_arch_string_written_another_way_is_the_same_architecture(df: pd.DataFrame) -> None:
    spec = df.iloc[7]["spec"]
    reordered = json.dumps(dict(reversed(list(spec.items()))), indent=2)
    assert reordered != df.iloc[7]["arch"]
    assert optnas.bench.query(NAME, reordered).equals(optnas.bench.query(NAME, 7))


@pytest.mark.parametrize(
    ("spec", "seed", "error", "needle"),
    [
        (10**6, None, KeyError, "no row 1000000; rows: 0..3833"),
        (-1, None, KeyError, "no row -1"),
        ("{not json", None, KeyError, "no row for arch '{not json'"),
        ('{"algorithm": "gd", "depth": 3}', None, KeyError, "no row for spec"),
        (0, 9, KeyError, "no seed 9 for this spec; seeds: [0, 1, 2]"),
        (True, None, TypeError, "give an ArchSpec, a spec dict, an arch string or a row index"),
    ],
)
def test_what_the_table_lacks_is_a_key_error_saying_what_exists(spec: object, seed: int | None, error: type,
                                                                 needle: str) -> None:
    with pytest.raises(error, match=re.escape(needle)):
        optnas.bench.query(NAME, spec, seed=seed)  # type: ignore[arg-type]


def test_a_query_neither_loads_nor_scans_the_table(df: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the first query of a table, `load` (which copies all 3,834 rows) is never called again."""
    optnas.bench.query(NAME, 0)  # builds the index, if no test did

    def refuse(name: str) -> pd.DataFrame:
        raise AssertionError("query loaded the table again")

    monkeypatch.setattr(table, "load", refuse)
    for i in (0, 1000, 3833):
        assert optnas.bench.query(NAME, i, seed=int(df.iloc[i]["seed"]))["arch"] == df.iloc[i]["arch"]


SAME_FOR_EVERY_SEED = ("spec", "algorithm", "schedule", "activation", "depth", "width", "trial", "params",
                       "certificate", "theory_score", "theory_deviation")
IMPLICIT = ("proximal_point", "bdf2", "accel_proximal")


def test_columns_vary_by_seed_as_docs_bench_says(df: pd.DataFrame) -> None:
    def distinct(column: str, rows: pd.DataFrame) -> pd.Series:
        text = rows[column].map(lambda v: json.dumps(v, sort_keys=True, default=str))
        return text.groupby(rows["arch"]).nunique()

    for column in SAME_FOR_EVERY_SEED:
        assert (distinct(column, df) == 1).all(), column
    assert (distinct("train", df) == 3).all() and (distinct("val_curve", df) > 1).mean() > 0.9
    implicit = df["algorithm"].isin(IMPLICIT)
    assert (distinct("flops", df[~implicit]) == 1).all()  # explicit: a function of the spec
    assert (distinct("flops", df[implicit]) > 1).sum() == 145  # implicit: the solver's iterations after training
