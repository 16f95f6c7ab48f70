"""Search-space files: validation errors, constraining to certified sets, define-by-run suggestions."""

import optuna
import pytest

from optnas import ArchSpec, certify
from optnas.errors import UsageError
from optnas.search import SearchSpace, UncertifiedDraw


def test_valid_file_loads(write_space):
    space = SearchSpace.from_yaml(write_space())
    assert space.objectives() == [("val_metric", "maximize")]
    assert space.name == "fast"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("task: {name: rings\nspace: [", "malformed YAML at line"),
        ("task: {name: rings}\nspace: {algorithm: [nope]}", "space.algorithm: unknown name 'nope'; valid: "),
        ("task: {name: nope}\nspace: {algorithm: [gd]}", "task.name: unknown task 'nope'; valid: "),
        ("task: {name: rings}\nspace: {algorithm: [gd], depth: {low: 5, high: 2}}", "space.depth"),
        ("task: {name: rings}\nspace: {algorithm: [gd]}\nobjectives: [{metric: accuracy}]", "objectives.0.metric"),
        ("task: {name: rings}\nspace: {algorithm: {heavy_ball: {beta: 2.0}}}", "beta=2.0 is invalid"),
        ("task: {name: rings}\nspace: {algorithm: [gd], schedule: [apg_theta]}", "not a step schedule"),
        ("task: {name: rings}\nspace: {algorithm: [gd], width: [1, 2]}", "every width in [1, 2] is below 3"),
        ("task: {name: rings}\nspace: {algorithm: [gd]}\nbogus: 1", "bogus: unknown key; valid keys here: task,"),
        ("- just a list", "must be a mapping"),
        # issue 25: a draw of stages 3 with depth 2 could not build; refused at load
        ("task: {name: rings}\nspace: {algorithm: [gd], stages: [1, 2, 3], depth: {low: 2, high: 6}}",
         "space.stages.2=3 is invalid: it exceeds the smallest depth space.depth.low=2, and each stage runs at "
         "least one layer; valid: stages <= 2"),
        ("task: {name: rings}\nspace: {algorithm: [gd], stages: {low: 1, high: 4}, depth: [3, 8]}",
         "space.stages.high=4 is invalid: it exceeds the smallest depth space.depth.0=3"),
    ],
)
def test_bad_files_name_file_key_and_value(write_space, text, needle):
    path = write_space(text, "bad.yaml")
    with pytest.raises(UsageError) as info:
        SearchSpace.from_yaml(path)
    message = str(info.value)
    assert str(path) in message and needle in message and "\n" not in message


def test_ranges_constrained_to_certified_sets(write_space):
    text = """
    task: {name: rings}
    space:
      algorithm: {heavy_ball: {beta: {low: 0.0, high: 1.0}}}
      width: [2, 3, 16]
    """
    with pytest.warns(UserWarning) as record:
        space = SearchSpace.from_yaml(write_space(text))
    beta = space.config.space.algorithm["heavy_ball"]["beta"]
    assert beta.low == 0.0 and 0.999 < beta.high < 1.0
    assert certify(ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": beta.high})).ok
    assert space.config.space.width == [3, 16]
    messages = " ".join(str(w.message) for w in record)
    assert "beta=1 fails the certificate" in messages and "dropped [2]" in messages


def test_suggest_is_define_by_run_and_certified(write_space):
    space = SearchSpace.from_yaml(write_space())
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(20):
        trial = study.ask()
        spec = space.suggest(trial)
        assert certify(spec, input_shape=(2,)).ok
        assert ("heavy_ball.beta" in trial.params) == (spec.algorithm == "heavy_ball")
        assert trial.user_attrs["certificate"]["ok"] and trial.user_attrs["spec"] == spec.to_dict()
        seen.add(spec.algorithm)
        study.tell(trial, 0.0)
    assert seen == {"gd", "heavy_ball"}


def test_stored_certificate_is_compact_and_reads_back(write_space):
    """The attribute is `Certificate.record()`: no copy of the spec, no step lists, yet every condition and
    its detail; read back with the trial's spec it equals a fresh certificate up to the step lists."""
    import json

    from optnas.certify import Certificate
    from optnas.stages import stage_plan

    space = SearchSpace.from_yaml(write_space())
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    trial = study.ask()
    spec = space.suggest(trial)
    stored = trial.user_attrs["certificate"]
    fresh = certify(spec, input_shape=(2,))
    assert "spec" not in stored and all("steps" not in s for s in stored["stages"])
    assert len(json.dumps(stored)) < 0.75 * len(json.dumps(fresh.to_dict()))
    back = Certificate.from_dict(stored, spec=trial.user_attrs["spec"])
    assert back.spec == fresh.spec and back.conditions == fresh.conditions and back.ok == fresh.ok
    assert [(s.depth, s.h_max) for s in back.stages] == [(s.depth, s.h_max) for s in fresh.stages]
    assert [len(p.steps) for p in stage_plan(spec)] == [s.depth for s in back.stages]


def test_uncertified_draw_is_recorded_not_returned(write_space):
    text = """
    task: {name: rings}
    space: {algorithm: [proximal_point], activation: {repu: {p: [2]}}}
    """
    space = SearchSpace.from_yaml(write_space(text))
    trial = optuna.create_study().ask()
    with pytest.raises(UncertifiedDraw, match="contraction"):
        space.suggest(trial)
    assert trial.user_attrs["status"] == "uncertified" and not trial.user_attrs["certificate"]["ok"]


def test_shipped_space_files_are_valid():
    from pathlib import Path

    files = sorted(Path(__file__).resolve().parents[2].joinpath("search_spaces").glob("*.yaml"))
    assert len(files) >= 9
    for f in files:
        if "cifar10" in f.name:
            continue  # needs the CIFAR-10 files; checked with a fake directory in test_space_files_cifar
        if f.name == "tabular.yaml":  # names no task: the user's own data comes in as a Task object
            import torch

            import optnas.tasks

            x = torch.randn(60, 5)
            SearchSpace.from_yaml(f, task=optnas.tasks.from_tensors(x, (x[:, 0] > 0).long()))
            continue
        SearchSpace.from_yaml(f)
