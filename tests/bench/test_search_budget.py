"""The search replay's budget (issue 26): `simulate` runs every trial asked, past the table's architectures
(a cell drawn again is trained again, on a seed drawn at random); search.py's budget is what caps a run, at
half of the table's built architectures, says so on stderr and in its JSON, and never caps random search's
own budget. (The partial signal table's replay once ran 110 of 300 trials: a silent cap at a third.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

import optnas.bench
from optnas.bench.simulate import MAX_DRAWS_PER_TRIAL
from tests._support.bench_scripts import HERE, bench_script


def _partial(architectures: int) -> pd.DataFrame:
    """The shipped digits table cut to its first ``architectures`` architectures: a partial build."""
    df = optnas.bench.load("digits")
    keep = df["arch"].drop_duplicates().iloc[:architectures]
    part = df[df["arch"].isin(keep)].reset_index(drop=True)
    part.attrs["meta"] = df.attrs["meta"]
    return part


def test_simulate_runs_every_trial_asked_past_the_tables_architectures() -> None:
    part = _partial(30)
    sim = optnas.bench.simulate(part, optuna.samplers.RandomSampler, trials=120, repeats=2, jobs=1,
                                missing="nearest")
    assert sim.best.shape == (2, 120)
    assert (sim.draws < MAX_DRAWS_PER_TRIAL * 120).all()  # every trial was a real one, none padded
    # each of the 120 trials trained something (4x the 30 architectures): the clock moves at every one
    assert (np.diff(sim.elapsed, axis=1) > 0).all()


def test_the_budget_is_capped_at_half_the_built_architectures(monkeypatch: pytest.MonkeyPatch) -> None:
    search = bench_script("search", monkeypatch)
    assert search.budget({"architectures": 331}, 300) == (
        165, "300 trials asked, 165 run: at most half of the 331 built architectures")
    assert search.budget({"architectures": 560}, 300)[0] == 280
    assert search.budget({"architectures": 560}, search.TRIALS["mnist1d_signal"]) == (280, None)
    for table, trials in search.TRIALS.items():  # every table's own budget is within the cap when complete
        grid = optnas.bench.load(table).attrs["meta"]["grid_architectures"]
        assert trials <= grid * search.MAX_GRID_SHARE, table


def test_a_capped_run_says_so_and_random_keeps_its_budget(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    search = bench_script("search", monkeypatch)
    part = _partial(40)
    monkeypatch.setattr(search, "load", lambda name: part)  # the script's table: this partial one
    out = search.run_table("digits", 2, 300, (), 1, 100, 200, out_path=tmp_path / "s.json",
                           only=["random", "evolution"], command="test")
    assert "300 trials asked, 20 run" in capsys.readouterr().err
    recorded = json.loads((tmp_path / "s.json").read_text())
    assert recorded["trials"] == out["trials"] == 20 and recorded["trials_requested"] == 300
    assert recorded["budget_capped"].startswith("300 trials asked, 20 run")
    assert recorded["runs"]["evolution"]["trials"] == 20
    assert recorded["runs"]["random"]["trials"] == 200  # its median measured, not censored by the cap
    assert len(recorded["runs"]["random"]["regret_median"]) == 200
    assert recorded["runs"]["random"]["load_1min"] >= 0 and recorded["runs"]["random"]["wall_s"] > 0


def test_the_recorded_budgets_are_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    search = bench_script("search", monkeypatch)
    for table in json.loads((HERE / "search.json").read_text())["tables"]:
        x = json.loads((HERE / f"search_{table}.json").read_text())
        assert x["trials"] == search.budget(x["counts"], x["trials_requested"])[0], table
        assert x["trials"] <= x["counts"]["architectures"] * search.MAX_GRID_SHARE, table
        assert all(r["trials"] == x["trials"] for k, r in x["runs"].items() if k != "random" and "gp" not in k)


def test_the_theory_screen_keeps_mrepu_out_before_training(monkeypatch: pytest.MonkeyPatch) -> None:
    search = bench_script("search", monkeypatch)
    df = optnas.bench.load("digits").copy()
    mrepu = df["activation"] == "mrepu"
    df.loc[mrepu, ["val_metric", "status"]] = [1.0, "complete"]  # made the best, so a draw of one would show
    df["val_curve"] = [[1.0] * len(c) if m else c for c, m in zip(df["val_curve"], mrepu, strict=True)]
    df.attrs["meta"] = optnas.bench.load("digits").attrs["meta"]
    kw = {"trials": 60, "repeats": 2, "jobs": 1}
    plain = optnas.bench.simulate(df, optuna.samplers.RandomSampler, **kw)
    screened = optnas.bench.simulate(df, optuna.samplers.RandomSampler, screen=search.theory_screen(df), **kw)
    assert (np.nanmax(plain.best, axis=1) == 1.0).all()  # unscreened, random search draws MRePU in 60 trials
    assert (np.nanmax(screened.best, axis=1) < 1.0).all()  # screened: never trained
    assert (screened.draws > 60).all()  # its MRePU draws were asked, rejected and not counted as trials


def test_gp_forked_after_the_theory_screen_does_not_hang(tmp_path: Path) -> None:
    """The theory screen runs torch in search.py's process; GP replay workers forked after it (past GP's 10
    random startup trials) with torch's OpenMP pool running there hung on a futex at 0 CPU seconds;
    search.py keeps torch at one thread."""
    out = tmp_path / "s.json"
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); from pathlib import Path; import search; "
            f"search.run_table('digits', 2, 12, search.SCREENS, 2, 12, 10, out_path=Path({str(out)!r}), "
            "only=['gp', 'gp+theory'], command='test')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert set(json.loads(out.read_text())["runs"]) == {"gp", "gp+theory"}
