"""The analysis page's figures (Optuna's importance, slice, contour, EDF and rank; the aggregated timeline),
the trial page's curves, and the one number format, on real studies."""

from __future__ import annotations

import datetime as dt

import numpy as np
import optuna
import pandas as pd

from optnas.dashboard import figures as F
from optnas.dashboard.data import best_and_ties
from optnas.dashboard.figures import optuna_plots as O
from optnas.dashboard.figures.importance import RELIABLE_FROM, importance_data, plot_importance
from optnas.dashboard.figures.timeline import AGGREGATE_FROM, plot_timeline, timeline_data
from optnas.dashboard.report import task_line


def _study(n: int, seed: int = 0) -> optuna.Study:
    """An Optuna study of ``n`` complete trials over two parameters, objective = x (y is irrelevant)."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per trial
    try:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        study.optimize(lambda t: t.suggest_float("x", 0, 1) + 0 * t.suggest_int("y", 0, 9), n_trials=n)
    finally:
        optuna.logging.set_verbosity(before)
    return study


def test_importance_warns_below_the_documented_minimum_and_says_on_how_many():
    few = importance_data(_study(3))
    assert few.complete == 3 and "only 3 complete trial" in few.warning and str(RELIABLE_FROM) in few.warning
    title = plot_importance(few).layout.title.text
    assert "rests on 3 complete trials" in title and "warning" in title
    enough = importance_data(_study(RELIABLE_FROM))
    assert enough.warning == "" and "warning" not in plot_importance(enough).layout.title.text


def test_optuna_plots_one_parameter_at_a_time_and_sampled_at_scale():
    study = _study(60)
    assert O.param_names(study) == ["x", "y"]
    sliced = O.plot_slice(study, 0, "y")
    assert len(sliced.data) == 1 and sliced.layout.title.text.startswith("Slice: objective 0 against y")
    assert sorted(sliced.data[0].customdata) == list(range(60))  # each point names its trial
    assert any(t.type == "contour" for t in O.plot_contour(study, 0, ["x", "y"]).data)
    edf = O.plot_edf(study, 0)
    assert edf.data[0].type == "scatter" and "60 complete trials" in edf.layout.title.text
    assert len(O.plot_rank(study, 0, ["y", "x"]).data) >= 1
    # a sample above the limit: the best tenth kept, trial numbers those of the study
    fig = O._draw("slice", study, 0, optuna.visualization.plot_slice, "s", limit=20, params=["x"])
    assert "a sample: 20 of 60" in fig.layout.title.text
    values = {t.number: t.value for t in study.trials}
    best2 = sorted(values, key=values.get)[:2]
    assert set(best2) <= set(fig.data[0].customdata)
    assert all(values[n] == v for n, v in zip(fig.data[0].customdata, fig.data[0].y, strict=True))


def test_timeline_aggregates_by_worker_and_time_from_thousands_of_trials():
    t0 = dt.datetime(2026, 1, 1)
    n = AGGREGATE_FROM + 10
    df = pd.DataFrame({"number": range(n), "state": "COMPLETE", "status": ["complete"] * (n - 10) + ["pruned"] * 10,
                       "worker": [f"h:{i % 4}" for i in range(n)],
                       "datetime_start": [t0 + dt.timedelta(seconds=i) for i in range(n)],
                       "datetime_complete": [t0 + dt.timedelta(seconds=i + 3) for i in range(n)]})
    fig = plot_timeline(timeline_data(df, now=t0))
    (heat,) = fig.data
    assert heat.type == "heatmap" and len(heat.y) == 4 and len(heat.x) == 120
    assert np.nansum(np.asarray(heat.z, dtype=float)) == n  # every trial counted once
    assert f"{n:,} trials ({n - 10:,} complete, 10 pruned)" in fig.layout.title.text
    small = plot_timeline(timeline_data(df.head(50), now=t0))
    assert all(t.type == "bar" for t in small.data)


def test_trial_curves_and_intermediate_values_beside_the_median(edge_frame):
    data = F.trial_curves_data(edge_frame, 5)
    assert sorted(data.curves) == ["train_loss", "val_metric"] and data.own.tolist() == [0.3, 0.7]
    assert data.median.tolist() == [0.3, 0.7] and data.peers == 3
    fig = F.plot_trial_curves(data)
    assert [a.text for a in fig.layout.annotations] == ["training loss", "validation metric"]
    assert fig.layout.xaxis.dtick == 1 and fig.layout.xaxis.tickformat == "d"  # whole epochs only
    inter = F.plot_intermediate(data)
    assert [t.name.split(" (")[0] for t in inter.data] == ["middle half of the 3 complete trials", "study median",
                                                           "trial 5"]
    none = F.plot_intermediate(F.trial_curves_data(edge_frame, 4))  # the running trial: no curve yet
    assert "recorded no" in none.layout.annotations[0].text


def test_best_and_ties_marked_and_a_single_trial_is_readable(edge_frame):
    tied = edge_frame.copy()
    tied.loc[tied["number"] == 5, "val_metric"] = 0.8  # 5 ties 1 on the task metric; 1 wins on the next key?
    best, ties = best_and_ties(tied)
    assert ties == tuple(n for n in (1, 5) if n != best)
    fig = F.plot_history(F.history_data(tied))
    names = [t.name for t in fig.data]
    assert f"best trial ({best})" in names and "tied with the best on the task metric (1)" in names
    one = tied[tied["number"] == 0]
    single = F.plot_history(F.history_data(one))
    assert list(single.layout.xaxis.range) == [-0.5, 0.5] and single.layout.xaxis.tickformat == "d"
    assert single.layout.yaxis.range[0] < 0.6 < single.layout.yaxis.range[1]


def test_report_task_row_is_one_line():
    task = {"name": "digits", "params": {}, "input_shape": [64], "num_outputs": 10, "given": False,
            "standardize": {"mean": [0.1] * 64, "std": [0.3] * 64}}
    line = task_line(task)
    assert "\n" not in line and len(line) < 140 and "mean (64 values)" in line and "0.1" not in line
