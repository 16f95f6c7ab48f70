"""The leaderboard, the task metric and the trial page's content, from results DataFrames."""

from __future__ import annotations

import pandas as pd
import pytest

from optnas.dashboard.data import Metric, hover_text, leaderboard_page, params_text, ranked, task_metric
from optnas.dashboard.trial import trial_detail


def test_task_metric_is_the_first_metric_objective():
    df = pd.DataFrame()
    df.attrs["objectives"] = [{"name": "params", "direction": "minimize"},
                              {"name": "test_metric", "direction": "minimize"}]
    assert task_metric(df) == Metric("test_metric", "minimize")
    df.attrs["objectives"] = [{"name": "flops", "direction": "minimize"}]
    assert task_metric(df) == Metric("flops", "minimize")
    df.attrs["objectives"] = []
    assert task_metric(df) == Metric("val_metric", "maximize")


def test_leaderboard_ranks_complete_trials_first_then_the_rest(edge_frame):
    page = leaderboard_page(edge_frame)
    assert [r["number"] for r in page.rows] == [1, 5, 0, 2, 3, 4]
    assert [r["status"] for r in page.rows] == ["complete", "complete", "complete", "pruned", "diverged", "running"]
    top = page.rows[0]
    assert top["id"] == 1 and top["algorithm"] == "nesterov" and top["block"] == "mlp2(hidden=8)"
    assert top["val_metric"] == 0.8 and top["params"] == 400 and isinstance(top["params"], int)
    assert top["certified"] == "yes" and page.rows[-1]["certified"] == ""  # running: no certificate yet
    assert leaderboard_page(edge_frame.iloc[:0]).rows == []


def test_leaderboard_sorts_any_column_with_missing_values_last_and_pages(edge_frame):
    asc = leaderboard_page(edge_frame, sort_by=[{"column_id": "val_metric", "direction": "asc"}])
    assert [r["number"] for r in asc.rows][:4] == [2, 0, 5, 1] and asc.rows[-1]["val_metric"] is None
    desc = leaderboard_page(edge_frame, sort_by=[{"column_id": "val_metric", "direction": "desc"}])
    assert [r["number"] for r in desc.rows][:4] == [1, 5, 0, 2] and desc.rows[-1]["val_metric"] is None
    alpha = leaderboard_page(edge_frame, sort_by=[{"column_id": "algorithm", "direction": "asc"}])
    assert [r["algorithm"] for r in alpha.rows][:2] == ["gd", "gd"]
    ignored = leaderboard_page(edge_frame, sort_by=[{"column_id": "no_such_column", "direction": "asc"}])
    assert [r["number"] for r in ignored.rows] == [1, 5, 0, 2, 3, 4]
    p = leaderboard_page(edge_frame, page=1, page_size=4)
    assert p.page_count == 2 and p.total == 6 and [r["number"] for r in p.rows] == [3, 4]
    assert leaderboard_page(edge_frame, page=99, page_size=4).rows == p.rows  # clamped to the last page


def test_ranked_minimizes_when_the_metric_does(edge_frame):
    df = edge_frame.copy()
    df.attrs = {**edge_frame.attrs, "objectives": [{"name": "val_metric", "direction": "minimize"}]}
    assert ranked(df)["number"].tolist()[:3] == [0, 5, 1]


def test_hover_and_params_text(edge_frame):
    assert params_text('{"beta": 0.123456, "momentum": "fista_momentum"}') == "beta=0.123456,momentum=fista_momentum"
    assert params_text("{}") == "" and params_text(None) == ""
    text = hover_text(edge_frame[edge_frame["number"] == 0])[0]
    assert text.startswith("trial 0<br>heavy_ball(beta=0.5) constant mlp2(hidden=8) relu depth=4 width=8<br>")
    assert "schedule constant · init default" in text and "val_metric=0.6" in text and "params=100" in text


def test_trial_detail_of_a_real_trial(searched_frame, searched):
    detail = trial_detail(searched_frame, 2)
    row = searched_frame.set_index("number").loc[2]
    assert detail.spec == row["spec"] and detail.certified is True and detail.state == "COMPLETE"
    assert [c.name for c in detail.conditions] == [c["name"] for c in row["certificate"]["conditions"]]
    assert all(c.holds for c in detail.conditions) and all(c.detail for c in detail.conditions)
    assert detail.metrics["val_metric"] == row["val_metric"] and detail.metrics["params"] == row["params"]
    assert detail.export_command == (
        f"optnas export --storage {searched_frame.attrs['storage']} --study {searched.study} --trial 2 "
        f"--out export-{searched.study}-trial-2"
    )
    assert searched_frame.attrs["storage"].startswith("/")  # absolute: the command works from any folder


def test_trial_detail_of_failed_and_unknown_trials(edge_frame):
    failed = trial_detail(edge_frame, 3)
    assert failed.status == "diverged" and failed.reason == "why" and failed.export_command is None
    assert "FAIL" in failed.export_note
    running = trial_detail(edge_frame, 4)
    assert running.certified is None and running.conditions == () and running.status == "running"
    with pytest.raises(ValueError, match=r"has no trial 42; its trials: 0\.\.5"):
        trial_detail(edge_frame, 42)


def test_export_command_quotes_and_hides_passwords(edge_frame):
    df = edge_frame.copy()
    df.attrs = {**edge_frame.attrs, "study": "my study", "storage": "postgresql://u:***@db/optuna"}
    df.loc[df["number"] == 0, "weights"] = None
    detail = trial_detail(df, 0)
    assert "--study 'my study'" in detail.export_command and detail.export_command.endswith("--retrain")
    assert "without weights" in detail.export_note and "password is hidden" in detail.export_note


def test_best_is_on_the_pareto_front_and_leads_everywhere():
    """Issue 15: trial 1 (0.9, 500 params) is dominated by trial 5 (0.9, 300): 5 is best, and leads the table."""
    from optnas import outcome
    from optnas.dashboard.data import best_number, ranking

    df = pd.DataFrame({"number": [0, 1, 2, 5], "state": ["COMPLETE", "COMPLETE", "PRUNED", "COMPLETE"],
                       "status": ["complete", "complete", "infeasible", "complete"],
                       "objective_val_metric": [0.8, 0.9, None, 0.9], "objective_params": [10.0, 500.0, None, 300.0],
                       "val_metric": [0.8, 0.9, 0.95, 0.9], "params": [10, 500, 20, 300]})
    df.attrs["objectives"] = [{"name": "val_metric", "direction": "maximize"},
                              {"name": "params", "direction": "minimize"}]
    assert best_number(df) == 5 == outcome.best([(0, [0.8, 10]), (1, [0.9, 500]), (5, [0.9, 300])],
                                                 ["maximize", "minimize"])
    assert ranking(df) == [5, 1, 0] and ranked(df)["number"].tolist() == [5, 1, 0, 2]
    assert leaderboard_page(df).rows[0]["number"] == 5
    assert leaderboard_page(df, filters={"status": ["infeasible"]}).rows[0]["number"] == 2
    assert leaderboard_page(df, sort_by="junk", page="x", filters={"nope": 1}).total == 4  # crafted: defaults


def test_per_frame_computes_once_while_threads_ask_at_once_and_recovers_from_a_failure():
    """The server's preload and a first page's callbacks ask for the same figure at once: one computes it,
    the others wait for its result; a failed computation leaves each waiter to compute its own."""
    import threading
    import time

    from optnas.dashboard.data import per_frame

    calls: list[str] = []
    fail = threading.Event()

    @per_frame
    def slow(df: pd.DataFrame, col: str) -> int:
        calls.append(col)
        time.sleep(0.3)  # long enough for every thread below to arrive while it runs
        if fail.is_set() and len(calls) == 1:
            raise RuntimeError("first computation fails")
        return int(df[col].sum())

    def ask_at_once(df: pd.DataFrame, n: int) -> list[object]:
        out: list[object] = [None] * n

        def ask(i: int) -> None:
            try:
                out[i] = slow(df, "a")
            except RuntimeError as exc:
                out[i] = exc

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        return out

    df = pd.DataFrame({"a": [1, 2, 3]})
    assert ask_at_once(df, 4) == [6, 6, 6, 6] and calls == ["a"]  # one computation, four answers
    assert slow(df, "a") == 6 and calls == ["a"]  # remembered
    calls.clear()
    fail.set()
    out = ask_at_once(pd.DataFrame({"a": [1, 2, 3]}), 3)  # another frame: computed afresh, and the first fails
    assert sum(isinstance(o, RuntimeError) for o in out) == 1 and out.count(6) == 2
    assert 2 <= len(calls) <= 3  # the waiters computed their own (one may have found the other's result)


def test_per_frame_keeps_the_argument_sets_last_used_per_frame():
    """Each zoom of a figure is an argument set: a long-lived server's frame keeps only the last few."""
    from optnas.dashboard.data import KEYS_PER_FRAME, per_frame

    calls: list[int] = []
    zoomed = per_frame(lambda df, view: calls.append(view) or view * 2)
    df = pd.DataFrame({"a": [1]})
    for view in range(KEYS_PER_FRAME + 4):
        zoomed(df, view)
    zoomed(df, KEYS_PER_FRAME + 3)  # the last one used: remembered
    assert len(calls) == KEYS_PER_FRAME + 4
    zoomed(df, 5)  # among the last KEYS_PER_FRAME: remembered, and now the most recently used
    assert len(calls) == KEYS_PER_FRAME + 4
    assert zoomed(df, 0) == 0 and calls[-1] == 0  # the first ones were dropped: computed again
    zoomed(df, 5)
    assert calls[-1] == 0  # 5 was kept (used again) while older ones were dropped
