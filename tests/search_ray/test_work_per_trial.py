"""Work done once on Ray, as on the optuna backend (tests/search/test_work_per_trial.py): the driver certifies a
trial's draw, its worker builds the network once with that certificate and never validates the space again.

Counted in every process by a plugin (tests/plugin_files/count_calls.py) named in the space file: the workers
import it when they receive the space, so the counts also show that a file's plugins reach Ray workers."""

import os
import secrets
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

from optnas import plugins, results
from optnas.search import SearchSpace
from optnas.search.ray_backend import run_ray_search
from tests._support.spaces import fast_space

PLUGIN = Path(__file__).parents[1] / "plugin_files" / "count_calls.py"


@pytest.mark.slow  # 60-120 s on a loaded 2-core machine (load 14-40): a Ray Tune run of two trial actors
def test_a_ray_trial_is_certified_once_and_built_once(local_ray, write_space, tmp_path, monkeypatch):
    # the plugin is this test's only, and it must not outlive the test: loading it writes its name into the
    # environment, which later tests' processes would inherit (and fail to import). delenv of an unset
    # variable records nothing to undo, so set it first: the undo then removes whatever the load wrote.
    monkeypatch.setenv(plugins.ENV, "")
    monkeypatch.delenv(plugins.ENV)
    monkeypatch.setattr(sys, "path", list(sys.path))  # its folder joins the import path
    name = f"count_calls_{secrets.token_hex(4)}"
    shutil.copy(PLUGIN, tmp_path / f"{name}.py")
    calls = tmp_path / f"{name}.calls"
    # two objectives: the static costs are counted, which used to build the network a second time
    text = fast_space(epochs=1, trials=2) + (f"plugins: [{name}]\n"
                                   "objectives: [{metric: val_metric}, {metric: params, direction: minimize}]\n")
    space = SearchSpace.from_yaml(write_space(text, "multi.yaml"))
    calls.unlink()  # the load's own validation and bisection are not a trial's work
    storage = str(tmp_path / "j.log")
    try:
        run_ray_search(space, trials=2, storage=storage, progress=False)
    finally:
        sys.modules.pop(name).stop()
    df = results.load(storage, "multi")
    assert len(df) == 2 and set(df["state"]) == {"COMPLETE"} and df["params"].notna().all()
    lines = [line.split() for line in calls.read_text().splitlines()]
    driver = Counter(what for what, pid in lines if int(pid) == os.getpid())
    workers = Counter(what for what, pid in lines if int(pid) != os.getpid())
    assert (driver, workers) == ({"certify": 2}, {"build": 2})
