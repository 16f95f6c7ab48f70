"""GPU placement (needs a CUDA device: python -m pytest -m gpu): fractional GPUs, the GPU recorded per trial."""

import pytest
import torch
from optuna.trial import TrialState

from optnas.search import SearchSpace
from optnas.search.ray_backend import run_ray_search

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_two_trials_share_a_gpu_and_record_it(local_ray, write_space, tmp_path, texts):
    study = run_ray_search(
        SearchSpace.from_yaml(write_space(texts.SLOW, "slow.yaml")),
        trials=4,
        storage=str(tmp_path / "j.log"),
        device="cuda",
        gpus_per_trial=0.5,
        progress=False,
    )
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    name = torch.cuda.get_device_name(0)
    assert {t.user_attrs["gpu"] for t in study.trials} == {name}
    assert all(t.user_attrs["device"].startswith("cuda") for t in study.trials)
    assert all(t.user_attrs["ray"]["gpu_ids"] for t in study.trials)
