"""Figures are pure functions of the results DataFrame: checked on their data, traces, axes and hover text."""

from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pandas as pd
import pytest

import optnas
from optnas.dashboard import figures as F
from optnas.dashboard.data import spec_labels
from optnas.dashboard.figures.architecture import combination


def _brute_front(costs, values, maximize):
    sign = 1.0 if maximize else -1.0
    out = []
    for i in range(len(costs)):
        dominated = any(
            costs[j] <= costs[i] and sign * values[j] >= sign * values[i]
            and (costs[j] < costs[i] or sign * values[j] > sign * values[i])
            for j in range(len(costs))
        )
        out.append(not dominated)
    return np.array(out)


@pytest.mark.parametrize("maximize", [True, False])
def test_pareto_mask_matches_the_definition_with_ties(maximize):
    rng = np.random.default_rng(0)
    for _ in range(30):
        n = int(rng.integers(1, 40))
        costs = rng.integers(0, 8, n).astype(float)  # few levels: many ties in cost and in value
        values = rng.integers(0, 6, n).astype(float)
        got = F.pareto_mask(costs, values, maximize=maximize)
        assert got.tolist() == _brute_front(costs, values, maximize).tolist()


def test_history_of_a_real_search(searched_frame, searched):
    data = F.history_data(searched_frame)
    assert data.total == searched.trials and len(data.numbers) == searched.trials  # all complete
    values = searched_frame.set_index("number").loc[data.numbers, "val_metric"].to_numpy()
    assert np.allclose(data.values, values)
    assert np.allclose(data.best, np.maximum.accumulate(values))  # rings accuracy: maximized
    fig = F.plot_history(data)
    points, best, star, *ties = fig.data
    winner = F.history_data(searched_frame).best_trial
    assert star.name == f"best trial ({winner})" and list(star.customdata) == [winner]
    assert all(t.name.startswith("tied with the best") for t in ties)
    assert list(points.x) == list(data.numbers) and list(points.customdata) == list(data.numbers)
    # the best-so-far line is sent as its corners only, and draws exactly the running best (a step line
    # holds each corner's value until the next corner)
    assert len(best.x) <= len(data.numbers) and best.line.shape == "hv" and best.x[-1] == data.numbers[-1]
    held = np.asarray(best.y)[np.searchsorted(np.asarray(best.x), data.numbers, side="right") - 1]
    assert np.allclose(held, data.best)
    assert fig.layout.xaxis.title.text == "trial number" and fig.layout.yaxis.title.text == "validation metric"
    labels = spec_labels(searched_frame.set_index("number").loc[data.numbers].reset_index())
    for text, number, label in zip(points.text, data.numbers, labels, strict=True):
        assert text.startswith(f"trial {number}<br>") and label in text and "val_metric=" in text


def test_history_skips_unfinished_trials_and_minimizes(edge_frame):
    data = F.history_data(edge_frame)
    assert data.numbers.tolist() == [0, 1, 5] and data.best.tolist() == [0.6, 0.8, 0.8] and data.total == 6
    df = edge_frame.copy()
    df.attrs = {**edge_frame.attrs, "objectives": [{"name": "val_metric", "direction": "minimize"}]}
    assert F.history_data(df).best.tolist() == [0.6, 0.6, 0.6]
    assert "best so far (lowest)" in F.plot_history(F.history_data(df)).data[1].name


@pytest.mark.parametrize("cost", ["params", "flops", "latency_ms"])
def test_pareto_figure_on_a_real_search(searched_frame, cost):
    data = F.pareto_data(searched_frame, cost)
    fig = F.plot_pareto(data)
    dominated, front, *marks = fig.data
    assert marks and marks[0].name.startswith("best trial")
    assert front.name.startswith("Pareto front (") and len(front.x) == int(data.front.sum()) >= 1
    assert len(dominated.x) + len(front.x) == len(searched_frame)
    # the front trace is exactly the non-dominated trials, by increasing cost
    df = searched_frame.set_index("number")
    expected = F.pareto_mask(df[cost].to_numpy(float), df["val_metric"].to_numpy(float), maximize=True)
    assert sorted(front.customdata) == sorted(df.index[expected])
    assert list(front.x) == sorted(front.x)
    assert fig.layout.yaxis.title.text == "validation metric"
    assert fig.layout.xaxis.title.text == {"params": "parameters", "flops": "FLOPs per sample",
                                           "latency_ms": "latency (ms, noisy)"}[cost]
    for text, number in zip(front.text, front.customdata, strict=True):
        s = df.loc[number, "spec"]
        assert f"trial {number}<br>{s['algorithm']}" in text and f"depth={s['depth']} width={s['width']}" in text


def test_pareto_front_of_known_points_and_log_axis(edge_frame):
    data = F.pareto_data(edge_frame, "params")
    front = dict(zip(data.numbers.tolist(), data.front.tolist(), strict=True))
    assert front == {0: False, 1: True, 5: True}  # trial 0 (100 params, 0.6) is beaten by 5 (50, 0.7)
    assert F.plot_pareto(data).layout.xaxis.type == "linear"  # 50..400: under two decades
    wide = edge_frame.copy()
    wide.loc[wide["number"] == 1, "params"] = 50 * 1000
    assert F.plot_pareto(F.pareto_data(wide, "params")).layout.xaxis.type == "log"
    with pytest.raises(ValueError, match="cost='depth' is invalid"):
        F.pareto_data(edge_frame, "depth")


def test_parallel_coordinates_axes(searched_frame):
    data = F.parallel_data(searched_frame)
    fig = F.plot_parallel(data)
    (trace,) = fig.data
    dims = {d.label: d for d in trace.dimensions}
    ordered = searched_frame.sort_values("number")
    betas = [json.loads(p).get("beta") for p in ordered["algorithm_params"]]
    varied = len({b for b in betas if b is not None}) > 1
    assert list(dims) == ["trial", "algorithm", "schedule", "block", "activation", "depth", "width",
                          *(["heavy_ball.beta"] if varied else []), "validation metric"]
    assert list(dims["trial"].values) == ordered["number"].tolist()  # brushing this axis picks a trial
    # categories are names; a continuous parameter is a numeric axis of its own (not one category per value)
    algorithms = sorted(set(ordered["algorithm"]))
    assert list(dims["algorithm"].ticktext) == algorithms
    assert [algorithms[int(v)] for v in dims["algorithm"].values] == ordered["algorithm"].tolist()
    if varied:
        beta = dims["heavy_ball.beta"]
        na = beta.tickvals[0]
        assert beta.ticktext[0] == "n/a" and na < min(b for b in betas if b is not None)
        assert [None if v == na else pytest.approx(v) for v in beta.values] == betas
    assert np.allclose(trace.line.color, searched_frame.sort_values("number")["val_metric"])
    assert set(dims["depth"].tickvals) == set(searched_frame["depth"])  # ticks on searched values only


def test_learning_curves_of_chosen_trials(searched_frame):
    keys = F.curve_keys(searched_frame)
    assert {"val_metric", "train_loss"} <= set(keys)
    best = F.default_trials(searched_frame, 3)
    ranked_values = searched_frame.set_index("number").loc[best, "val_metric"].tolist()
    assert ranked_values == sorted(ranked_values, reverse=True)
    data = F.curves_data(searched_frame, [*best, 999], "train_loss")
    assert [s.number for s in data.series] == best and data.missing == (999,)
    fig = F.plot_curves(data)
    for trace, number in zip(fig.data, best, strict=True):
        curve = searched_frame.set_index("number").loc[number, "curves"]["train_loss"]
        assert np.allclose(trace.y, curve) and list(trace.x) == list(range(1, len(curve) + 1))
        assert trace.name == f"trial {number}"
    assert fig.layout.yaxis.title.text == "training loss" and "999" in fig.layout.title.text


def test_curves_keep_gaps_for_non_finite_values(edge_frame):
    data = F.curves_data(edge_frame, [3], "val_metric")  # the diverged trial stored null
    assert np.isnan(data.series[0].values[1]) and data.series[0].values[0] == 0.3


def test_empty_study_figures_say_why():
    df = pd.DataFrame(columns=["number", "state", "status"])
    df.attrs.update(study="empty", objectives=[])
    for fig in (F.plot_history(F.history_data(df)), F.plot_pareto(F.pareto_data(df)),
                F.plot_parallel(F.parallel_data(df)), F.plot_curves(F.curves_data(df, []))):
        assert len(fig.data) == 0
        (note,) = fig.layout.annotations
        assert "no complete trial" in note.text or "choose trials" in note.text


@pytest.mark.parametrize("name", optnas.algorithms.names())
def test_architecture_edges_are_the_coefficient_tables(name):
    depth = 5
    data = F.architecture_data({"algorithm": name, "depth": depth, "width": 8, "activation": "tanh"})
    algo = optnas.algorithms.get(name)
    steps = optnas.schedules.get("constant").values(depth)
    assert data.slots == algo.slot_names(depth)[:6] and data.implicit == algo.implicit
    for k in range(data.shown):
        layer = algo.layer(k, depth)
        a, b, _ = optnas.algorithms.linear_part(layer, float(steps[k]))
        m = len(data.slots)
        assert {(i, j): v for i, j, v in data.updates[k]} == pytest.approx(
            {(i, j): a[i, j] for i, j in itertools.product(range(m), range(m)) if a[i, j] != 0}
        )
        assert dict(data.t_outputs[k]) == pytest.approx({i: b[i] for i in range(m) if b[i] != 0})
        if not algo.implicit:
            assert dict(data.t_inputs[k]) == pytest.approx({j: c for j, c in layer.c.items() if j < m})
    fig = F.plot_architecture(data)
    t_nodes = next(t for t in fig.data if t.name == "T (learnable)")
    assert len(t_nodes.x) == data.shown and all(data.structure in h for h in t_nodes.hovertext)
    assert any(algo.formula in a.text for a in fig.layout.annotations if a.text)


def test_architecture_of_momentum_reads_two_iterates_and_caps_dense_history():
    hb = F.architecture_data({"algorithm": "heavy_ball", "algorithm_params": {"beta": 0.9}, "depth": 8})
    assert hb.slots == ("x", "x[k-1]")
    assert hb.t_inputs[0] == ((0, 1.0),) and hb.updates[0] == ((0, 0, 1.0), (1, 0, 1.0))  # start-up: Euler
    assert [(i, j) for i, j, _ in hb.updates[2]] == [(0, 0), (0, 1), (1, 0)]
    nesterov = F.architecture_data({"algorithm": "nesterov", "depth": 8})
    assert re.fullmatch(r"[\d.]+·x − [\d.]+·x\[k-1\]", combination(nesterov.t_inputs[3], nesterov.slots))
    dense = F.architecture_data({"algorithm": "dense", "depth": 20})
    assert len(dense.slots) == 6 and dense.hidden_slots == 15 and all(dense.mixed)
    fig = F.plot_architecture(dense)
    assert "first 4 of 20 layers" in fig.layout.title.text
    assert any("15 older slot(s) not drawn" in (a.text or "") for a in fig.layout.annotations)
    assert F.architecture_data({"algorithm": "gd", "depth": 6, "stages": 2}).depth == 3


def test_architecture_of_an_implicit_scheme_feeds_t_the_new_iterate():
    data = F.architecture_data({"algorithm": "bdf2", "depth": 6, "activation": "tanh"})
    assert data.implicit and all(t == ((0, 1.0),) for t in data.t_inputs)
    fig = F.plot_architecture(data)
    into_t = next(t for t in fig.data if t.name == "into T")
    assert all("reads the new iterate" in text for text in into_t.text)
    with pytest.raises(ValueError, match="unknown"):
        F.architecture_data({"algorithm": "no_such_algorithm"})


def test_activation_choices_and_criticality_plot(searched_frame):
    choices = F.activation_choices(searched_frame)
    assert {c.name for c in choices} == set(searched_frame["activation"])
    counts = searched_frame["activation"].value_counts()
    assert choices[0].name == counts.index[0] or counts.iloc[0] == counts.iloc[-1]
    relu = F.ActivationChoice("relu", "{}")
    assert F.ActivationChoice.from_key(relu.key) == relu
    data = F.criticality_data(relu, depth=20)
    fig = F.plot_criticality(data)
    names = [t.name for t in fig.data]
    assert "χ∥" in names and "χ⊥" in names and sum(n.startswith("K0") for n in names) == 4
    # relu is scale-invariant: χ = 1 everywhere, so the χ axis is widened instead of magnifying rounding noise
    lo, hi = fig.layout.yaxis2.range
    assert hi - lo == pytest.approx(np.log10(4.0))
    mrepu = F.ActivationChoice("mrepu", '{"p": 2}')
    assert mrepu.label == "mrepu(p=2)" and F.criticality_data(mrepu, depth=10).report.activation == "mrepu"


def test_timeline_marks_a_sigkilled_worker_dead(edge_frame):
    import datetime as dt
    import os
    import signal
    import socket
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    df = edge_frame.copy()
    df.attrs = edge_frame.attrs
    host = socket.gethostname()
    running = df["state"] == "RUNNING"
    df["worker"] = [f"{host}:{proc.pid}" if r else f"{host}:{os.getpid()}" for r in running]
    df.loc[df["datetime_start"].isna(), "datetime_start"] = dt.datetime(2026, 1, 1)
    from optnas.dashboard.figures.timeline import plot_timeline, timeline_data

    data = timeline_data(df)
    assert {w.name: w.dead for w in data.workers} == {f"{host}:{proc.pid}": True, f"{host}:{os.getpid()}": False}
    fig = plot_timeline(data)
    assert "1 dead" in fig.layout.title.text
    assert sum(len(t.customdata) for t in fig.data) == len(df)  # every trial is a clickable bar
    assert f"{host}:{proc.pid} (dead)" in {y for t in fig.data for y in t.y}


def test_thousands_of_points_get_brief_hover_with_the_plotted_values(searched_frame):
    """From WEBGL_FROM points on, no hover text is sent: Plotly builds the hover from the trial number
    (customdata) and the plotted values with a template; the figure's JSON is a fraction of the full one's."""
    from plotly.io.json import to_json_plotly

    from optnas.dashboard.figures._plotly import WEBGL_FROM

    done = searched_frame[searched_frame["state"] == "COMPLETE"]
    big = pd.concat([done] * (WEBGL_FROM // len(done) + 1), ignore_index=True)
    big["number"] = range(len(big))
    big["val_metric"] = np.linspace(0.1, 0.9, len(big))
    history = F.plot_history(F.history_data(big))
    pareto = F.plot_pareto(F.pareto_data(big, "params"))
    for trace in (history.data[0], pareto.data[0]):
        assert trace.type == "scattergl" and trace.text is None
        assert trace.hovertemplate.startswith("trial %{customdata}<br>")
        # the one number format (data.fmt): 4 significant digits, no trailing zeros; counts in full
        assert "%{y:.4~g}" in trace.hovertemplate and "validation metric" in trace.hovertemplate
    assert list(history.data[0].customdata[:6]) == list(range(6))  # what the template and a click read
    assert "parameters %{x:,.0f}" in pareto.data[0].hovertemplate
    small = F.plot_history(F.history_data(done))
    assert small.data[0].hovertemplate is None and "val_metric=" in small.data[0].text[0]
    per_point = len(to_json_plotly(history)) / len(big)
    assert per_point < 60, per_point  # x, y (base64) and customdata: no text (the full one is ~240 a point)
