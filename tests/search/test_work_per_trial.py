"""Work done once: one certificate and one build per trial, a space never changed by a run, workers that get
the validated space (not a file to parse and check again)."""

import pickle
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import CodeType

import pydantic
import pytest

import optnas
from optnas import results
from optnas.certify import certify_plan
from optnas.search import SearchSpace, run_search
from optnas.search import space as space_module


@contextmanager
def calls(**functions: Callable[..., object]) -> Iterator[Counter[str]]:
    """Count the calls of ``functions`` in this thread (by code object: every import alias is seen)."""
    codes: dict[CodeType, str] = {f.__code__: name for name, f in functions.items()}  # type: ignore[attr-defined]
    seen: Counter[str] = Counter()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            seen[codes[frame.f_code]] += 1

    sys.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(None)


def test_a_trial_is_certified_once_and_built_once(write_space, tmp_path):
    # two objectives: the static costs are counted, which used to build the network a second time
    text = write_space().read_text() + "objectives: [{metric: val_metric}, {metric: params, direction: minimize}]\n"
    space = SearchSpace.from_yaml(write_space(text, "multi.yaml"))
    storage = str(tmp_path / "j.log")
    with calls(certify=certify_plan, build=optnas.build) as seen:
        run_search(space, trials=2, storage=storage, progress=False)
    df = results.load(storage, "multi")
    assert set(df["state"]) == {"COMPLETE"} and df["params"].notna().all()
    assert seen == {"certify": 2, "build": 2}


def test_a_run_passes_its_seed_on_and_leaves_the_space_as_loaded(write_space, tmp_path):
    space = SearchSpace.from_yaml(write_space())
    before = space.to_dict()
    storage = str(tmp_path / "j.log")
    study = run_search(space, trials=1, storage=storage, seed=7, progress=False)
    assert space.to_dict() == before and space.config.seed == 0
    assert study.user_attrs["optnas"]["space"]["seed"] == 7  # the record says what the trials ran with
    assert study.trials[0].user_attrs["train"]["seed"] == 7
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        space.config.seed = 7  # type: ignore[misc]
    with pytest.raises(AttributeError):
        space.config = space.config  # type: ignore[misc]


def test_a_pickled_space_is_not_validated_again(write_space):
    space = SearchSpace.from_yaml(write_space())
    with calls(constrain=space_module.SearchSpace._constrain, check=space_module.check_values,
               from_dict=SearchSpace.from_dict) as seen:
        copy = pickle.loads(pickle.dumps(space))
    assert not seen
    assert copy.to_dict() == space.to_dict() and copy.task().input_shape == space.task().input_shape
