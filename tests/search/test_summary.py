"""The end-of-search summary: storage, study, counts by optnas status, the best trial, next commands, 80 columns."""

from __future__ import annotations

import optuna
import pytest
from rich.console import Console

from optnas import outcome
from optnas.errors import SearchIncomplete
from optnas.search import SearchSpace, run_search
from optnas.search.leaderboard import render_summary
from optnas.search.progress import best_text
from optnas.search.runner import check_complete, resume_command
from tests._support.cli import run_cli

LONG_NAMES = """
task: {name: rings, params: {n_samples: 200}}
train: {epochs: 2, batch_size: 64, lr: 0.01}
space:
  algorithm: {adams_bashforth2: {}, gd: {}}
  block: {mlp2: {hidden: 8}}
  activation: {leaky_relu: {}, tanh: {}}
  depth: {low: 2, high: 3}
  width: [8]
pruner: {name: none}
trials: 3
"""


def test_cli_summary_names_storage_counts_best_and_next_commands_in_80_columns(write_space, tmp_path):
    space_file = write_space(LONG_NAMES)
    storage = "runs/journal.log"  # relative to the search's folder, as users type it
    done = run_cli("search", str(space_file), "--storage", storage, "--study", "wide", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "…" not in out  # no header or name cut short
    study = optuna.load_study(study_name="wide", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / storage))))
    tally = outcome.counts(outcome.trial_status(t) for t in study.trials)
    best = outcome.best([(t.number, t.values) for t in study.trials if t.state.name == "COMPLETE"], ["maximize"])
    assert f"study wide in {storage}" in out and outcome.format_counts(tally) in out
    assert f"best: trial {best}, val_metric" in out
    for header in ("algorithm", "activation", "depth", "width", "val_metric", "params"):
        assert header in out
    assert f"optnas dashboard --storage {storage}" in out
    assert f"optnas export --storage {storage} --study wide --out best-wide" in out
    assert "--resume" not in out  # no worker died


def test_summary_counts_lost_trials_and_offers_resume_when_workers_died(write_space, tmp_path):
    space = SearchSpace.from_yaml(write_space())
    storage = str(tmp_path / "journal.log")
    study = run_search(space, trials=2, storage=storage, study="dead", progress=False)
    study.ask()  # a trial whose worker died mid-training: RUNNING, and nobody holds its lock
    command = resume_command(space, storage, "dead", 3)
    with pytest.raises(SearchIncomplete) as caught:  # what run_search does when its workers end short
        check_complete(study, storage, 3, 0, False, command)
    console = Console(width=80, record=True)
    render_summary(caught.value.study, storage=storage, resume=caught.value.command, console=console)
    text = console.export_text()
    assert "3 trials: 2 complete, 1 lost" in text
    assert f"{command}   # 1 lost with dead workers" in text
    assert best_text(study) == f"best val_metric={study.best_value:.4g} (#{study.best_trial.number})"
