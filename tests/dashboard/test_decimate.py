"""Decimation of the history and Pareto scatters: one real trial per screen cell (the cell's best) above the
threshold, the exact marks always drawn, a zoom that re-queries the range with the same rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optnas.dashboard import figures as F
from optnas.dashboard.figures import decimate as D

OBJECTIVES = [{"name": "val_metric", "direction": "maximize"}, {"name": "params", "direction": "minimize"}]


def big_frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """``n`` complete trials with a metric and a parameter count, ranked as the dashboard ranks them."""
    rng = np.random.default_rng(seed)
    params = rng.integers(100, 100_000, n).astype(float)
    val = np.clip(0.5 + 0.4 * np.log10(params) / 5 + rng.normal(0, 0.05, n), 0, 1).round(4)
    df = pd.DataFrame({"number": np.arange(n), "state": "COMPLETE", "val_metric": val, "params": params,
                       "objective_val_metric": val, "objective_params": params})
    df.attrs["objectives"] = OBJECTIVES
    return df


def test_decimate_keeps_the_best_of_each_occupied_cell():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 10, 5000), rng.normal(0, 1, 5000)
    score = rng.normal(size=5000)
    keep = D.decimate(x, y, score=score, limit=100, cells=(20, 10))
    cx = np.clip(np.floor((x - x.min()) / (x.max() - x.min()) * 20), 0, 19).astype(int)
    cy = np.clip(np.floor((y - y.min()) / (y.max() - y.min()) * 10), 0, 9).astype(int)
    expected = sorted(max(np.flatnonzero((cx == a) & (cy == b)), key=lambda i: score[i])
                      for a, b in set(zip(cx.tolist(), cy.tolist(), strict=True)))
    assert keep.tolist() == expected  # a brute-force pass over the cells agrees
    assert D.decimate(x, y, score=score, limit=5000).tolist() == list(range(5000))  # at the limit: all


def test_view_of_reads_plotly_relayout_events_and_ignores_crafted_ones():
    assert D.view_of({"xaxis.range[0]": 5, "xaxis.range[1]": 2, "yaxis.range[0]": 0.1, "yaxis.range[1]": 0.9}) \
        == D.View((2.0, 5.0), (0.1, 0.9))
    assert D.view_of({"xaxis.range": [1, 3]}) == D.View((1.0, 3.0), None)
    assert D.view_of({"xaxis.autorange": True, "yaxis.autorange": True}) == D.FULL
    assert D.view_of({"autosize": True}) is None and D.view_of("junk") is None
    assert D.view_of({"xaxis.range[0]": "a", "xaxis.range[1]": float("nan")}) is None
    assert D.view_of({"xaxis.range[0]": True, "xaxis.range[1]": 3}) is None
    day = D.view_of({"xaxis.range[0]": "2026-01-01", "xaxis.range[1]": "2026-01-02 12:00"}, x_date=True)
    assert day is not None and day.x is not None and day.x[1] - day.x[0] == 36 * 3600 * 1e9


def test_limit_reads_the_documented_variable(monkeypatch):
    monkeypatch.delenv(D.ENV, raising=False)
    assert D.limit() == D.DECIMATE_FROM == 5000
    monkeypatch.setenv(D.ENV, "300")
    assert D.limit() == 300
    monkeypatch.setenv(D.ENV, "-4")
    with pytest.raises(ValueError, match=f"{D.ENV}='-4' is invalid; valid: a positive integer"):
        D.limit()


@pytest.mark.parametrize("raw", ["nan", "inf", "1e300", "0", "1.5", "true", " ", "\xff\xfe"])
def test_limit_refuses_what_is_not_a_positive_integer(monkeypatch, raw):
    monkeypatch.setenv(D.ENV, raw)
    with pytest.raises(ValueError, match=f"{D.ENV}=.* is invalid; valid: a positive integer") as info:
        D.limit()
    assert "\n" not in str(info.value)


def test_history_draws_one_per_cell_with_the_exact_marks(monkeypatch):
    monkeypatch.setenv(D.ENV, "500")
    df = big_frame()
    data = F.history_data(df)
    fig = F.plot_history(data)
    points = fig.data[0]
    drawn = np.asarray(points.customdata)
    assert 500 < len(drawn) < len(df) and len(set(drawn.tolist())) == len(drawn)
    # every drawn point is a real trial at its own place
    assert np.allclose(np.asarray(points.y, dtype=float), df.set_index("number").loc[drawn, "val_metric"])
    # the trials that set the best so far are drawn, the line is exact, the best trial is marked
    records = data.numbers[np.flatnonzero(np.concatenate([[True], np.diff(data.best) != 0]))]
    assert set(records.tolist()) <= set(drawn.tolist())
    line = next(t for t in fig.data if t.name.startswith("best so far"))
    assert np.asarray(line.y, dtype=float).max() == df["val_metric"].max()
    assert any(t.name == f"best trial ({data.best_trial})" for t in fig.data)
    assert f"3,000 trials, {len(drawn):,} drawn" in fig.layout.title.text and "zoom to see all" in fig.layout.title.text
    # zoomed into trials 100..400: every trial there, the range kept
    zoomed = F.plot_history(data, view=D.View((100.0, 400.0), None))
    assert sorted(zoomed.data[0].customdata) == list(range(100, 401))
    assert list(zoomed.layout.xaxis.range) == [100.0, 400.0]
    assert "all 301 trials in range drawn; double-click to zoom out" in zoomed.layout.title.text


def test_history_below_the_threshold_draws_everything(monkeypatch):
    monkeypatch.delenv(D.ENV, raising=False)
    fig = F.plot_history(F.history_data(big_frame()))
    assert len(fig.data[0].customdata) == 3000 and "<sup>" not in fig.layout.title.text


def test_pareto_keeps_its_whole_front_and_zooms(monkeypatch):
    monkeypatch.setenv(D.ENV, "400")
    df = big_frame(seed=2)
    data = F.pareto_data(df, "params")
    fig = F.plot_pareto(data)
    dominated, front = fig.data[0], fig.data[1]
    assert sorted(front.customdata) == sorted(data.numbers[data.front].tolist())
    assert len(dominated.customdata) < (~data.front).sum()
    assert dominated.name == f"dominated trial ({(~data.front).sum()})"
    assert "dominated: " in fig.layout.title.text and "zoom to see all" in fig.layout.title.text
    assert fig.layout.xaxis.type == "log"
    # the rule on the log axis's units: each cell's best metric (the brute-force test above checks the rule)
    rest = np.flatnonzero(~data.front)
    keep = D.decimate(np.log10(data.costs[rest]), data.values[rest], score=data.values[rest],
                      tie=-data.costs[rest], limit=400)
    assert sorted(dominated.customdata) == sorted(data.numbers[rest[keep]].tolist())
    # zoom in (log axis units): everything in range drawn
    lo, hi = 3.0, 3.3
    zoomed = F.plot_pareto(data, view=D.View((lo, hi), None))
    inside = (~data.front) & (np.log10(data.costs) >= lo) & (np.log10(data.costs) <= hi)
    assert sorted(zoomed.data[0].customdata) == sorted(data.numbers[inside].tolist())
    assert sorted(zoomed.data[1].customdata) == sorted(front.customdata)  # the front: always whole


def test_history_by_time_and_pruned_trials_decimate_and_zoom(monkeypatch):
    """The time axis zooms by dates (Plotly sends strings, the view holds nanoseconds); pruned trials'
    last values are decimated by the same rule and said so."""
    monkeypatch.setenv(D.ENV, "200")
    df = big_frame(2000)
    start = pd.Timestamp("2026-01-01")
    df["datetime_start"] = [start + pd.Timedelta(minutes=i) for i in range(len(df))]
    df["duration_s"] = 30.0
    df.loc[df["number"] % 4 == 3, "state"] = "PRUNED"
    data = F.history_data(df, x="time", include_pruned=True)
    fig = F.plot_history(data)
    complete, pruned = fig.data[0], fig.data[1]
    assert pruned.name == "pruned trial, last value (500)" and len(pruned.customdata) < 500
    assert len(complete.customdata) < 1500 and "pruned: 500 trials" in fig.layout.title.text
    view = D.view_of({"xaxis.range[0]": "2026-01-01 01:00:00", "xaxis.range[1]": "2026-01-01 02:00:00"}, x_date=True)
    assert view is not None
    zoomed = F.plot_history(data, view=view)
    # trial i ends at minute i + 0.5: those of minutes 60..119 are in range
    assert sorted(zoomed.data[0].customdata + zoomed.data[1].customdata) == list(range(60, 120))
    assert [str(v)[:19] for v in zoomed.layout.xaxis.range] == ["2026-01-01T01:00:00", "2026-01-01T02:00:00"]
