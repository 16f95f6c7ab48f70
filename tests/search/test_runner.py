"""Searches on a real journal storage: counts, recorded outcomes, weights, workers, resume."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import torch
from optuna.artifacts import FileSystemArtifactStore, download_artifact
from safetensors.torch import load_model

import optnas
from optnas import results
from optnas.errors import UsageError
from optnas.search import SearchSpace, run_search
from tests._support.cli import run_cli

DIVERGE = """
task: {name: polynomial, params: {n_samples: 300}}
train: {epochs: 3, batch_size: 32, lr: 5.0, clip: null}
space:
  algorithm: [gd]
  block: {mlp2: {hidden: 16}}
  activation: {repu: {p: [4]}, tanh: {}}
  depth: 6
  width: 16
sampler: {name: random}
pruner: {name: none}
trials: 6
"""


def test_search_reaches_its_count_and_stores_everything(write_space, tmp_path):
    storage = str(tmp_path / "runs" / "journal.log")
    space = SearchSpace.from_yaml(write_space())
    study = run_search(space, trials=4, storage=storage, progress=False)
    df = results.load(storage, "fast")
    assert len(df) == 4 and set(df["state"]) == {"COMPLETE"} and df["certified"].all()
    assert df["number"].tolist() == [0, 1, 2, 3]
    for col in ("val_metric", "test_metric", "params", "flops", "latency_ms", "wall_s"):
        assert df[col].notna().all(), col
    assert len(df["curves"][0]["val_metric"]) == 2
    # the stored weights rebuild the trained model
    record = study.user_attrs["optnas"]
    best = study.best_trial
    spec = optnas.ArchSpec.from_dict(best.user_attrs["spec"])
    model = optnas.build(spec, (2,), 3)
    path = tmp_path / "w.safetensors"
    download_artifact(
        artifact_store=FileSystemArtifactStore(record["artifacts"]),
        artifact_id=best.user_attrs["weights"],
        file_path=str(path),
    )
    load_model(model, str(path))
    task = optnas.tasks.get("rings", n_samples=300)
    x, y = task.tensors("val")
    acc = (model.eval()(x).argmax(1) == y).float().mean().item()
    assert acc == pytest.approx(best.user_attrs["metrics"]["val_metric"], abs=1e-6)


def test_divergence_is_a_recorded_failure_and_the_study_goes_on(write_space, tmp_path):
    storage = str(tmp_path / "j.log")
    study = run_search(SearchSpace.from_yaml(write_space(DIVERGE)), storage=storage, progress=False)
    df = results.load(storage, study.study_name)
    assert len(df) == 6
    diverged = df[df["status"] == "diverged"]
    assert len(diverged) >= 1 and set(diverged["state"]) == {"FAIL"}
    assert diverged["reason"].str.contains("epoch").all()
    assert (df["status"] == "complete").any()


def test_uncertified_draws_are_failed_trials_with_conditions(write_space, tmp_path):
    text = """
    task: {name: rings, params: {n_samples: 200}}
    train: {epochs: 1}
    space: {algorithm: [proximal_point], activation: {repu: {p: [2]}, tanh: {}}, depth: 2, width: 4}
    sampler: {name: random}
    trials: 6
    """
    storage = str(tmp_path / "j.log")
    run_search(SearchSpace.from_yaml(write_space(text)), storage=storage, progress=False)
    df = results.load(storage, None)
    bad = df[df["status"] == "uncertified"]
    assert len(df) == 6 and len(bad) >= 1
    assert set(bad["state"]) == {"FAIL"} and not bad["certified"].any()
    assert bad["reason"].str.contains("contraction").all()


def test_multi_objective_study(write_space, tmp_path):
    text = write_space().read_text() + "objectives: [{metric: val_metric}, {metric: params, direction: minimize}]\n"
    storage = str(tmp_path / "j.log")
    study = run_search(
        SearchSpace.from_yaml(write_space(text, "multi.yaml")), trials=4, storage=storage, progress=False
    )
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert isinstance(study.sampler, optuna.samplers.NSGAIISampler)
    assert len(study.best_trials) >= 1


def test_resume_refuses_and_completes(write_space, tmp_path):
    storage = str(tmp_path / "j.log")
    space = SearchSpace.from_yaml(write_space())
    run_search(space, trials=2, storage=storage, progress=False)
    with pytest.raises(ValueError, match=r"already exists .* resume=True \(--resume\)"):
        run_search(space, trials=3, storage=storage, progress=False)
    first = {
        t.number: t.values
        for t in optuna.load_study(study_name="fast", storage=optnas.search.open_storage(storage)).trials
    }
    study = run_search(space, trials=3, storage=storage, progress=False, resume=True)
    assert len(study.trials) == 3
    assert {t.number: t.values for t in study.trials if t.number in first} == first  # finished ones kept


def _cli(*argv, **kw):
    """`optnas` in its own process: where several processes (--jobs) or a killed one are the point."""
    return subprocess.run([sys.executable, "-m", "optnas", *argv], capture_output=True, text=True, timeout=300, **kw)


def test_four_workers_one_journal_no_lost_or_duplicated_trials(write_space, tmp_path):
    storage = str(tmp_path / "j.log")
    proc = _cli("search", str(write_space()), "--trials", "8", "--jobs", "4", "--storage", storage, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    study = optuna.load_study(study_name="fast", storage=optnas.search.open_storage(storage))
    assert sorted(t.number for t in study.trials) == list(range(8))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert len({t.user_attrs["worker"]["pid"] for t in study.trials}) >= 2  # really several workers


def test_sigkill_mid_trial_loses_nothing_and_resume_completes(write_space, tmp_path):
    slow = write_space().read_text().replace("epochs: 2", "epochs: 8").replace("n_samples: 300", "n_samples: 1500")
    path = write_space(slow, "slow.yaml")
    storage = str(tmp_path / "j.log")
    backend = optnas.search.open_storage(storage)
    log = (tmp_path / "search.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "optnas", "search", str(path), "--trials", "3", "--storage", storage, "--no-progress"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 240
    finished: dict = {}
    while time.time() < deadline:  # wait for one finished trial and one running
        time.sleep(0.2)
        assert proc.poll() is None, f"search ended before it could be killed:\n{(tmp_path / 'search.log').read_text()}"
        try:
            trials = optuna.load_study(study_name="slow", storage=backend).trials
        except KeyError:
            continue
        done = [t for t in trials if t.state.is_finished()]
        if done and any(t.state == optuna.trial.TrialState.RUNNING for t in trials):
            finished = {t.number: t.values for t in done}
            break
    assert finished, "no trial finished in time"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    result = _cli("search", str(path), "--trials", "3", "--storage", storage, "--resume", "--no-progress")
    assert result.returncode == 0, result.stderr
    study = optuna.load_study(study_name="slow", storage=backend)
    states = [t.state for t in study.trials]
    assert sum(s == optuna.trial.TrialState.COMPLETE for s in states) == 3
    assert states.count(optuna.trial.TrialState.FAIL) == 1  # the killed trial, failed on resume
    assert {t.number: t.values for t in study.trials if t.number in finished} == finished


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--jobs", "0"], "--jobs: 0 is invalid"),
        (["--trials", "x"], "--trials: 'x' is not an integer"),
        (["--backend", "dask"], "invalid choice: 'dask'"),
        (["--storage", "/proc/no/where/j.log"], "cannot create its folder"),
        (["--storage", "mongodb://localhost/x"], "unknown scheme 'mongodb'"),
        (["--gpus-per-trial", "0.5"], "need --backend ray"),
    ],
)
def test_bad_flags_exit_2_one_line(write_space, tmp_path, argv, needle):
    proc = run_cli("search", str(write_space()), "--storage", str(tmp_path / "j.log"), *argv, cwd=tmp_path)
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_bad_files_exit_2_and_existing_storage_intact(write_space, tmp_path):
    storage = tmp_path / "j.log"
    assert (
        run_cli("search", str(write_space()), "--trials", "1", "--storage", str(storage), "--no-progress").returncode
        == 0
    )
    before = storage.read_bytes()
    bad = write_space("task: {name: rings}\nspace: {algorithm: [nope]}", "bad.yaml")
    for argv in (
        ["search", str(bad)],
        ["search", str(tmp_path / "missing.yaml")],
        ["search", str(write_space()), "--trials", "2"],
    ):  # exists, no --resume
        proc = run_cli(*argv, "--storage", str(storage))
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert storage.read_bytes() == before


def test_default_storage_is_a_journal_under_optnas_runs(write_space, tmp_path):
    proc = run_cli("search", str(write_space()), "--trials", "1", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "optnas-runs" / "journal.log").is_file()
    assert any((tmp_path / "optnas-runs" / "artifacts").iterdir())
    assert "study fast" in proc.stdout


def test_cifar_space_files_load_with_data(tmp_path):
    import numpy as np
    import yaml

    root = tmp_path / "cifar"
    root.mkdir()
    rng = np.random.default_rng(0)
    for name, n in [*((f"data_batch_{i}.bin", 20) for i in range(1, 6)), ("test_batch.bin", 20)]:
        records = np.concatenate([rng.integers(0, 10, (n, 1)), rng.integers(0, 256, (n, 3072))], axis=1)
        (root / name).write_bytes(records.astype(np.uint8).tobytes())
    spaces = Path(__file__).resolve().parents[2] / "search_spaces"
    for f in ("cifar10_narrow_deep.yaml", "cifar10_wide_shallow.yaml"):
        data = yaml.safe_load((spaces / f).read_text())
        data["task"]["params"]["root"] = str(root)
        space = SearchSpace.from_dict(data)
        spec = space.suggest(optuna.create_study(directions=["maximize", "minimize"]).ask())
        assert optnas.build(spec, (3, 32, 32), 10)(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"trials": 0}, r"trials=0 \(--trials\) is invalid"),
        ({"trials": True}, r"trials=True \(--trials\)"),
        ({"timeout": -1.0}, r"timeout=-1.0 \(--timeout\)"),
    ],
)
def test_python_api_rejects_a_bad_budget_before_touching_storage(write_space, tmp_path, kwargs, needle):
    storage = tmp_path / "j.log"
    with pytest.raises(UsageError, match=needle):
        run_search(SearchSpace.from_yaml(write_space()), storage=str(storage), progress=False, **kwargs)
    assert not storage.exists()


def _told_constraints(trial: optuna.trial.FrozenTrial) -> list[float] | None:
    """What the sampler sees: Optuna 5's ``trial.constraints``, Optuna 4's list in the system attributes."""
    if hasattr(trial, "constraints"):
        return list(trial.constraints.values()) or None
    return trial.system_attrs.get("constraints")


def test_constraints_reach_the_sampler_and_infeasible_draws_are_never_trained(write_space, tmp_path):
    extra = "sampler: {name: tpe, params: {n_startup_trials: 8}}\nconstraints: {max_params: 300}\n"
    text = write_space().read_text() + extra
    text = text.replace("trials: 4", "trials: 8")
    storage = str(tmp_path / "j.log")
    study = run_search(SearchSpace.from_yaml(write_space(text, "c.yaml")), storage=storage, progress=False)
    by_status = {s: [t for t in study.trials if t.user_attrs["status"] == s] for s in ("complete", "infeasible")}
    assert by_status["complete"] and by_status["infeasible"], [t.user_attrs["status"] for t in study.trials]
    for t in study.trials:
        margin = t.user_attrs["constraints"]  # params - max_params, so > 0 is infeasible
        assert _told_constraints(t) == margin
        assert (margin[0] > 0) == (t.user_attrs["status"] == "infeasible")
    assert all(t.state == optuna.trial.TrialState.PRUNED and "metrics" not in t.user_attrs
               for t in by_status["infeasible"])
