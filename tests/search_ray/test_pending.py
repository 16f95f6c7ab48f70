"""Tune's pending-trial limit on the Ray backend (`cluster.pending_trials`), against a real local Ray."""

import os
from types import SimpleNamespace

from optnas.search.ray import cluster
from optnas.search.ray.cluster import Resources, pending_trials
from optnas.search.ray.run import _pending


def test_one_pending_trial_for_each_trial_the_cluster_runs_at_once(local_ray):
    cpus = int(local_ray.cluster_resources()["CPU"])  # 2
    assert pending_trials(Resources(cpu=1, gpu=0)) == cpus
    assert pending_trials(Resources(cpu=0.5, gpu=0)) == 2 * cpus
    assert pending_trials(Resources(cpu=1, gpu=0, workers=2)) == cpus // 2
    assert pending_trials(Resources(cpu=1, gpu=0.5)) == 1  # no GPU yet (an autoscaler adds them): Tune's own 1


def test_the_limit_holds_for_the_run_only_and_a_users_setting_wins(local_ray, monkeypatch):
    monkeypatch.delenv(cluster.PENDING_ENV, raising=False)
    session = SimpleNamespace(resources=Resources(cpu=0.5, gpu=0))
    with _pending(session):
        assert os.environ[cluster.PENDING_ENV] == str(pending_trials(session.resources))
    assert cluster.PENDING_ENV not in os.environ
    monkeypatch.setenv(cluster.PENDING_ENV, "7")
    with _pending(session):
        assert os.environ[cluster.PENDING_ENV] == "7"
    assert os.environ[cluster.PENDING_ENV] == "7"
