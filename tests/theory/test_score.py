from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import pytest
import torch

import optnas
from optnas import ArchSpec
from optnas.theory import trainability_score
from optnas.theory._sigma import single_thread


def _measure(spec: ArchSpec, features: int = 16, batch: int = 256, seeds: int = 2) -> tuple[float, float]:
    """Forward growth and angular growth of the built network's iterate, at initialization."""
    forward, angular = [], []
    with torch.no_grad(), single_thread():
        for seed in range(seeds):
            torch.manual_seed(seed)
            net = optnas.build(spec, (features,), 1)
            x0 = net.stem(torch.randn(batch, features))
            v = torch.randn_like(x0)
            v *= 1e-3 * x0.norm(dim=1, keepdim=True) / v.norm(dim=1, keepdim=True)
            x, xp = x0, x0 + v
            for stage in net.stages:
                x, xp = stage(x), stage(xp)
            f = float(x.pow(2).mean() / x0.pow(2).mean())
            forward.append(f)
            angular.append(math.sqrt(float(((xp - x).pow(2).sum(1) / v.pow(2).sum(1)).mean()) / f))
    return sum(forward) / seeds, sum(angular) / seeds


MEASURED: list[dict[str, Any]] = [
    {"activation": "relu", "init": "critical", "schedule_params": {"horizon": 8.0}},
    {"activation": "tanh", "init": "critical", "schedule_params": {"horizon": 16.0}},
    {
        "algorithm": "heavy_ball",
        "algorithm_params": {"beta": 0.9},
        "activation": "tanh",
        "schedule_params": {"horizon": 8.0},
    },
    {"activation": "sigmoid", "init": "critical", "schedule_params": {"horizon": 4.0}},
    {"activation": "gelu", "block_params": {"norm": True}, "schedule_params": {"horizon": 16.0}},
    {"algorithm": "apg2", "activation": "relu", "schedule_params": {"horizon": 4.0}},
]


@pytest.mark.parametrize("fields", MEASURED, ids=lambda f: f"{f.get('algorithm', 'gd')}-{f['activation']}")
def test_predicted_growth_matches_a_built_network(fields: dict[str, Any]) -> None:
    spec = ArchSpec(width=256, depth=16, **fields)
    predicted = trainability_score(spec, input_variance=1.0, input_shape=(16,))
    forward, angular = _measure(spec)
    assert predicted.forward_growth == pytest.approx(forward, rel=0.2)
    assert predicted.angular_growth == pytest.approx(angular, rel=0.2)


def test_short_horizons_are_benign_long_ones_are_not() -> None:
    # residual steps h = horizon/depth: at h = 1/L even ReLU at C_W = 2 barely moves the signal...
    calm = trainability_score(ArchSpec(activation="relu", init="critical", depth=32))
    assert calm.predicted_trainable and calm.score > 0.9
    # ...while at h = 1 each layer multiplies it by 1 + C_W²/2 = 3
    wild = trainability_score(ArchSpec(activation="relu", init="critical", depth=32, schedule_params={"horizon": 32.0}))
    assert not wild.predicted_trainable and wild.score < 1e-3
    assert wild.forward_growth == pytest.approx(3.0**32 * (1 / 3) / (1 / 3), rel=1e-6)
    scores = [
        trainability_score(ArchSpec(activation="relu", init="critical", depth=32, schedule_params={"horizon": h})).score
        for h in (1.0, 4.0, 16.0)
    ]
    assert scores == sorted(scores, reverse=True)


def test_zero_last_starts_as_the_identity() -> None:
    s = trainability_score(ArchSpec(activation="repu", activation_params={"p": 3}, init="zero_last", depth=8))
    assert (s.score, s.forward_growth, s.angular_growth, s.predicted_trainable) == (1.0, 1.0, 1.0, True)


def test_overflow_scores_zero_with_a_reason() -> None:
    spec = ArchSpec(
        activation="repu", activation_params={"p": 3}, depth=32, init="critical", schedule_params={"horizon": 32.0}
    )
    s = trainability_score(spec)
    assert s.score == 0.0 and not s.predicted_trainable and "overflows" in s.reason


def test_score_is_in_unit_interval_and_serializable() -> None:
    for alg in ("gd", "nesterov", "dense", "ladmm", "bdf2"):
        s = trainability_score(ArchSpec(algorithm=alg, activation="gelu", depth=6))
        assert 0.0 <= s.score <= 1.0 and s.to_dict()["init"]["source"].startswith("default")


def test_bad_input_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="init='orthogonal'.*critical, default, zero_last"):
        trainability_score(ArchSpec(init="orthogonal"))
    with pytest.raises(ValueError, match="tolerance"):
        trainability_score(ArchSpec(), tolerance=1.0)
    with pytest.raises(ValueError, match="input_variance"):
        trainability_score(ArchSpec(), input_variance=-1.0)


def test_does_not_import_the_search_stack() -> None:
    code = (
        "import sys, optnas.theory as t; from optnas import ArchSpec;"
        "t.trainability_score(ArchSpec(init='critical', activation='gelu'));"
        "bad = [m for m in ('optuna', 'ray', 'dash') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
