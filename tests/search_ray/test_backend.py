"""The Ray backend writes the study the optuna backend writes: same draws, records, weights; its own
early stopping (ASHA, the dominance rule) and failure records."""

import optuna
import pytest
from optuna.artifacts import FileSystemArtifactStore, download_artifact
from optuna.trial import TrialState
from safetensors.torch import load_model

import optnas
from optnas import results
from optnas.errors import UsageError
from optnas.search import SearchSpace, run_search
from optnas.search.ray_backend import run_ray_search
from optnas.storage import trial_record
from tests._support.cli import run_cli


@pytest.fixture
def random_text(texts):
    return texts.FAST + "sampler: {name: random}\n"


CONTRACT = ("spec", "certificate", "status", "reason", "metrics", "curves", "init_record", "train", "weights", "worker")


def test_same_trials_and_records_as_the_optuna_backend(local_ray, write_space, tmp_path, random_text):
    path = write_space(random_text)
    ours = str(tmp_path / "ray" / "j.log")
    reference = run_search(SearchSpace.from_yaml(path), storage=str(tmp_path / "opt" / "j.log"), progress=False)
    stats: dict = {}
    study = run_ray_search(SearchSpace.from_yaml(path), storage=ours, progress=False, stats=stats)
    assert {k: v for k, v in study.user_attrs["optnas"].items() if k != "artifacts"} == {
        k: v for k, v in reference.user_attrs["optnas"].items() if k != "artifacts"
    }
    assert len(study.trials) == len(reference.trials) == 4
    for mine, theirs in zip(study.trials, reference.trials, strict=True):
        assert mine.state == theirs.state == TrialState.COMPLETE
        assert mine.params == theirs.params
        mine_all, theirs_all = trial_record.full(study, mine), trial_record.full(reference, theirs)
        for key in ("spec", "certificate", "train", "status", "init_record"):
            assert mine_all[key] == theirs_all[key], key
        # one torch thread per Ray trial against two here: equal up to float summation order
        assert mine.values == pytest.approx(theirs.values, abs=1e-6)
        assert mine.intermediate_values == pytest.approx(theirs.intermediate_values, abs=1e-6)
        assert mine_all["curves"]["val_loss"] == pytest.approx(theirs_all["curves"]["val_loss"], rel=1e-4)
        assert set(CONTRACT) <= set(mine_all)
        assert mine.user_attrs["node"] and mine.user_attrs["gpu"] is None  # no GPU on a CPU-only Ray
        assert mine.user_attrs["ray"]["experiment"].endswith("/ray/fast")
    assert stats["ray_start_s"] == 0.0 or stats["ray_start_s"] < 1  # this process's Ray was reused
    assert stats["suggest_n"] >= 4 and stats["finish_n"] == 4
    # the stored weights rebuild the trained model
    best = study.best_trial
    model = optnas.build(optnas.ArchSpec.from_dict(best.user_attrs["spec"]), (2,), 3)
    file = tmp_path / "w.safetensors"
    store = FileSystemArtifactStore(study.user_attrs["optnas"]["artifacts"])
    download_artifact(artifact_store=store, artifact_id=best.user_attrs["weights"], file_path=str(file))
    load_model(model, str(file))
    x, y = optnas.tasks.get("rings", n_samples=300).tensors("val")
    assert (model.eval()(x).argmax(1) == y).float().mean().item() == pytest.approx(best.value, abs=1e-6)
    df = results.load(ours, "fast")
    assert len(df) == 4 and df["certified"].all() and (df["status"] == "complete").all()


def test_uncertified_and_diverged_trials_are_recorded_failures(local_ray, write_space, tmp_path):
    # proximal_point with RePU fails its certificate (no global Lipschitz constant): an uncertified draw;
    # gd at lr 5 without clipping diverges
    text = """
    task: {name: polynomial, params: {n_samples: 300}}
    train: {epochs: 3, batch_size: 32, lr: 5.0, clip: null}
    space:
      algorithm: [gd, proximal_point]
      block: {mlp2: {hidden: 16}}
      activation: {repu: {p: [4]}, tanh: {}}
      depth: 6
      width: 16
    sampler: {name: random}
    pruner: {name: none}
    trials: 8
    """
    storage = str(tmp_path / "j.log")
    run_ray_search(SearchSpace.from_yaml(write_space(text)), storage=storage, progress=False)
    df = results.load(storage, None)
    assert len(df) == 8
    bad = df[df["status"] == "uncertified"]
    assert len(bad) >= 1 and set(bad["state"]) == {"FAIL"} and not bad["certified"].any()
    assert bad["reason"].str.contains("contraction").all()
    diverged = df[df["status"] == "diverged"]
    assert len(diverged) >= 1 and set(diverged["state"]) == {"FAIL"}
    assert diverged["reason"].str.contains("epoch").all() and diverged["weights"].isna().all()


def test_asha_stops_poor_trials_and_records_them_as_pruned(local_ray, write_space, tmp_path, texts):
    text = texts.FAST.replace("pruner: {name: none}", "pruner: {name: hyperband, params: {reduction_factor: 2}}")
    text = text.replace(
        "epochs: 2, batch_size: 64, lr: 0.01", "epochs: 6, batch_size: 32, lr: {low: 1.0e-4, high: 0.3, log: true}"
    )
    text = text.replace("trials: 4", "trials: 10") + "sampler: {name: random}\n"
    storage = str(tmp_path / "j.log")
    # two CPUs a trial: one at a time, so each trial meets the rungs the earlier ones filled
    study = run_ray_search(SearchSpace.from_yaml(write_space(text)), storage=storage, cpus_per_trial=2, progress=False)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert len(study.trials) == 10 and pruned
    for t in pruned:
        assert t.user_attrs["status"] == "pruned" and "pruned by ASHA at epoch" in t.user_attrs["reason"]
        curve = trial_record.full(study, t)["curves"]["val_metric"]
        assert len(curve) < 6 and t.user_attrs["weights"] is None
        assert len(t.intermediate_values) == len(curve)
    assert any(t.state == TrialState.COMPLETE for t in study.trials)


def test_several_objectives(local_ray, write_space, tmp_path, random_text):
    text = random_text.replace("trials: 4", "trials: 2")  # two trials make a front as well as four
    text += "objectives: [{metric: val_metric}, {metric: params, direction: minimize}]\n"
    study = run_ray_search(SearchSpace.from_yaml(write_space(text)), storage=str(tmp_path / "j.log"), progress=False)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert len(study.trials) == 2 and len(study.best_trials) >= 1
    assert all(len(t.values or []) == 2 for t in study.trials if t.state == TrialState.COMPLETE)


def test_bad_values_raise_before_anything_starts(write_space, tmp_path, free_port):
    space = SearchSpace.from_yaml(write_space())
    storage = tmp_path / "j.log"
    for kwargs, needle in (
        ({"gpus_per_trial": -1.0}, "--gpus-per-trial -1 is invalid"),
        ({"gpus_per_trial": 1.5}, "a fraction"),
        ({"cpus_per_trial": 0.0}, "--cpus-per-trial 0 is invalid"),
        ({"device": "cuda", "gpus_per_trial": 0.0}, "needs a GPU share"),
        ({"address": "nowhere"}, "use auto, HOST:PORT"),
        ({"address": f"127.0.0.1:{free_port()}"}, "is unreachable"),
        ({"trials": 0}, r"trials=0 \(--trials\) is invalid"),
    ):
        with pytest.raises(UsageError, match=needle):
            run_ray_search(space, storage=str(storage), progress=False, **kwargs)
    assert not storage.exists()


@pytest.mark.parametrize("value", ["soon", "-1", "inf"])
def test_bad_checkpoint_interval_raises_before_anything_starts(write_space, tmp_path, monkeypatch, value):
    monkeypatch.setenv("OPTNAS_RAY_CHECKPOINT_S", value)
    storage = tmp_path / "j.log"
    with pytest.raises(UsageError, match=f"OPTNAS_RAY_CHECKPOINT_S='{value}' is invalid"):
        run_ray_search(SearchSpace.from_yaml(write_space()), storage=str(storage), progress=False)
    assert not storage.exists()


@pytest.mark.parametrize("value", ["", "abc", "nan", "inf", "-1", "1e300"])
def test_cli_bad_reconcile_interval_exits_2_with_one_line_and_writes_nothing(write_space, tmp_path, value):
    space, storage = write_space(), tmp_path / "j.log"
    proc = run_cli("search", str(space), "--backend", "ray", "--storage", str(storage), cwd=tmp_path,
                   env={"OPTNAS_RAY_RECONCILE_S": value})
    assert proc.returncode == 2 and proc.stdout == "", proc
    assert proc.stderr == (f"optnas search: error: OPTNAS_RAY_RECONCILE_S={value!r} is invalid: it must be a number "
                           "of seconds > 0 and <= 86400 (a day)\n")
    assert [p.name for p in tmp_path.iterdir()] == [space.name]  # no storage, no Ray folder, no lock


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--gpus-per-trial", "-1"], "--gpus-per-trial -1 is invalid"),
        (["--ray-address", "127.0.0.1:{port}"], "is unreachable"),
    ],
)
def test_cli_bad_flags_exit_2_with_one_line(write_space, tmp_path, argv, needle, free_port):
    storage = tmp_path / "j.log"
    argv = ["search", str(write_space()), "--backend", "ray", "--storage", str(storage),
            *(a.format(port=free_port()) for a in argv)]
    proc = run_cli(*argv, cwd=tmp_path)
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not storage.exists() and not (tmp_path / "ray").exists()


def test_resume_of_a_finished_search_adds_trials(local_ray, write_space, tmp_path):
    """A new study refuses an existing name; --resume with a larger count runs only the new trials."""
    storage = str(tmp_path / "j.log")
    space = SearchSpace.from_yaml(write_space())
    run_ray_search(space, trials=1, storage=storage, progress=False)
    with pytest.raises(UsageError, match=r"already exists .* resume=True \(--resume\)"):
        run_ray_search(space, trials=2, storage=storage, progress=False)
    first = {
        t.number: t.values
        for t in optuna.load_study(study_name="fast", storage=optnas.search.open_storage(storage)).trials
    }
    study = run_ray_search(space, trials=2, storage=storage, progress=False, resume=True)
    assert len(study.trials) == 2 and all(t.state == TrialState.COMPLETE for t in study.trials)
    assert {t.number: t.values for t in study.trials if t.number in first} == first
