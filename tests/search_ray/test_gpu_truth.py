"""GPU truth on clusters without CUDA: a joined cluster never refuses for GPUs it lacks now, a trial holding
a GPU share without CUDA fails with that reason (not retried), and a run whose every trial errored exits 1."""

import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

from optnas.errors import SearchIncomplete
from optnas.search import open_storage
from optnas.search.ray.cluster import resources
from optnas.search.ray.fatal import NoCuda, check_device, retryable
from optnas.search.ray.run import check_not_all_errors

sys.path.insert(0, str(Path(__file__).parent))  # loopback.py, beside this file

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine where CUDA is not visible")


@NO_CUDA
def test_a_gpu_share_without_cuda_is_an_error_naming_it():
    with pytest.raises(NoCuda, match="holds GPU 1 but CUDA is not visible"):
        check_device("auto", ["1"])
    with pytest.raises(NoCuda, match="asked for --device cuda"):
        check_device("cuda", [])
    assert check_device("auto", []) == "auto" and check_device("cpu", []) == "cpu"


def test_only_node_and_memory_failures_are_retried():
    assert retryable(MemoryError()) and retryable(OSError("NFS gone")) and retryable(torch.cuda.OutOfMemoryError())
    assert not retryable(NoCuda("x")) and not retryable(ValueError("bad lr")) and not retryable(ImportError("p"))


def test_a_joined_cluster_lacking_gpus_waits_with_one_line(local_ray, caplog):
    got = resources(2.0, None, "auto", started=False)  # the test's Ray has no GPU
    assert (got.gpu, got.cpu) == (2.0, 1.0)
    (line,) = [r.getMessage() for r in caplog.records if "wait" in r.getMessage()]
    assert "0 GPU(s)" in line and "trials will wait for nodes" in line
    assert resources(None, None, "cuda", started=False).gpu == 1.0  # cuda asks for a GPU it will wait for
    with pytest.raises(Exception, match="this machine's Ray has 0 GPU"):
        resources(2.0, None, "auto", started=True)  # a Ray optnas started cannot grow


def _study_with(tmp_path, records: list[dict | None]) -> optuna.Study:
    study = optuna.create_study(storage=open_storage(str(tmp_path / "j.log")), study_name="s")
    for attrs in records:
        t = study.ask()
        for key, value in (attrs or {}).items():
            t.set_user_attr(key, value)
        study.tell(t, 1.0 if attrs is None else None, state=TrialState.COMPLETE if attrs is None else TrialState.FAIL)
    return study


def test_a_run_whose_every_trial_errored_raises_naming_the_reason(tmp_path):
    err = {"status": "error", "reason": "NoCuda: the trial holds GPU 0 but CUDA is not visible"}
    study = _study_with(tmp_path, [None, err, err])
    check_not_all_errors(study, 0, "optnas search ...")  # one trial completed: the search measured something
    with pytest.raises(SearchIncomplete, match=r"every trial of this run failed \(2\): NoCuda: the trial holds"):
        check_not_all_errors(study, 1, "optnas search ...")
    diverged = _study_with(tmp_path / "d", [{"status": "diverged", "reason": "loss nan at epoch 2"}])
    check_not_all_errors(diverged, 0, "x")  # an outcome of the search, not an error


@pytest.mark.slow
@NO_CUDA
def test_autoscaled_gpu_node_without_cuda(write_space, tmp_path, texts):
    """Two loopback nodes: a head with no GPU, then (as an autoscaler would) a node declaring 2 GPUs."""
    from loopback import ray_nodes

    path = write_space(texts.FAST.replace("trials: 4", "trials: 2"))
    storage = str(tmp_path / "j.log")
    with ray_nodes(head_gpus=0) as cluster:
        proc = subprocess.Popen(
            [sys.executable, "-m", "optnas", "search", str(path), "--backend", "ray", "--storage", storage,
             "--ray-address", cluster.address, "--gpus-per-trial", "1", "--no-progress"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **cluster.env},
        )
        deadline = time.time() + 120
        while time.time() < deadline and not _has_trials(storage):
            assert proc.poll() is None, proc.communicate()
            time.sleep(1)
        assert _has_trials(storage), "no trial was asked"
        time.sleep(3)
        assert proc.poll() is None, "refused instead of waiting for a GPU node"
        cluster.add_node(gpus=2, cpus=2)
        _, err = proc.communicate(timeout=300)
    assert "trials will wait for nodes" in err
    assert proc.returncode == 1, err
    assert "every trial of this run failed (2): NoCuda: the trial holds GPU" in err.strip().splitlines()[-1]
    trials = optuna.load_study(study_name="fast", storage=open_storage(storage)).trials
    assert len(trials) == 2 and all(t.state == TrialState.FAIL for t in trials)
    for t in trials:
        assert t.user_attrs["status"] == "error" and "CUDA is not visible" in t.user_attrs["reason"]
        assert t.user_attrs["ray"]["gpu_ids"] and "retries" not in t.user_attrs["ray"]  # not retried


def _has_trials(storage: str) -> bool:
    try:
        return bool(optuna.load_study(study_name="fast", storage=open_storage(storage)).trials)
    except (KeyError, ValueError):
        return False
