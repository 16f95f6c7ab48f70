"""mnist1d under the paper's protocol: exactly the generator's reference data, validation from training only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import optnas
from optnas.errors import UsageError


def test_reference_is_the_generators_default_data_and_split():
    from mnist1d.data import get_dataset_args, make_dataset

    state = np.random.get_state()
    data = make_dataset(get_dataset_args())  # 5,000 signals, seed 42, 80/20 train/test
    np.random.set_state(state)
    task = optnas.tasks.get("mnist1d", reference=True, as_signal=True)
    assert task.input_shape == optnas.Signal(1, 40) and task.input_kind == "signal"
    (xt, yt), (xv, yv), (xs, ys) = (task.tensors(s) for s in ("train", "val", "test"))
    assert (len(xt), len(xv), len(xs)) == (3600, 400, 1000)
    # the test split is the generator's 1,000 test signals, in order
    assert torch.equal(xs[:, 0], torch.from_numpy(data["x_test"]).float()) and torch.equal(
        ys, torch.from_numpy(data["y_test"]).long())
    # train + val are exactly the generator's 4,000 training signals (validation carved from them only)
    ours = np.sort(np.concatenate([xt[:, 0].numpy(), xv[:, 0].numpy()]).view(f"V{40 * 4}").ravel())
    theirs = np.sort(data["x"].astype(np.float32).view(f"V{40 * 4}").ravel())
    assert np.array_equal(ours, theirs)
    assert np.array_equal(np.bincount(torch.cat([yt, yv]).numpy()), np.bincount(data["y"]))


def test_withheld_test_is_empty_and_a_run_reports_no_test_metric():
    task = optnas.tasks.get("mnist1d", reference=True, withhold_test=True)
    assert task.num_samples("test") == 0 and task.input_shape == (40,)
    spec = optnas.ArchSpec(algorithm="gd", depth=2, width=48)
    result = optnas.train(spec, task, epochs=1, lr=3e-3, latency_repeats=1)
    assert result.status == "complete" and result.metrics["test_metric"] is None


@pytest.mark.parametrize(("params", "message"), [
    ({"reference": True, "n_samples": 1000}, "reference=true is the generator's default data"),
    ({"reference": True, "seed": 1}, "reference=true is the generator's default data"),
    ({"withhold_test": True}, "withhold_test=true is for reference=true"),
    ({"as_signal": True, "as_sequence": True}, "exclusive"),
])
def test_bad_reference_options_name_the_parameter(params, message):
    with pytest.raises(UsageError, match=message):
        optnas.tasks.get("mnist1d", **params)
