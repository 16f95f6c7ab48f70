"""`train`: build an ArchSpec with optnas.build, fit it, record the spec and its initialisation."""

from __future__ import annotations

import json

import pytest

import optnas
import optnas.tasks as tasks
from optnas.training import train

SMALL = optnas.ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 0.9}, depth=3, width=8)


@pytest.fixture(scope="module")
def rings() -> tasks.TensorTask:
    return tasks.get("rings", n_samples=300)


def test_train_builds_fits_and_records_the_spec(rings: tasks.TensorTask) -> None:
    result = train(SMALL, rings, epochs=3, device="cpu", lr=1e-2)
    assert result.status == "complete"
    assert result.spec == SMALL.to_dict() and result.task is not None and result.task["name"] == "rings"
    assert result.metrics["init"] == "default" and result.metrics["init_record"]["init"] == "default"
    assert result.metrics["params"] == sum(p.numel() for p in result.model.parameters())  # type: ignore[union-attr]
    assert result.metrics["flops"] > 0 and len(result.curves["val_metric"]) == 3
    assert json.loads(json.dumps(result.to_dict(), allow_nan=False))["spec"]["algorithm"] == "heavy_ball"


def test_train_accepts_a_spec_dict_and_a_task_name() -> None:
    result = train(SMALL.replace(init="zero_last").to_dict(), "telgarsky", epochs=1, device="cpu")
    assert result.status == "complete" and result.metrics["init"] == "zero_last"
    assert result.metrics["init_record"]["init"] == "zero_last"


def test_same_seed_same_initialisation_and_run(rings: tasks.TensorTask) -> None:
    a = train(SMALL, rings, epochs=2, seed=7, device="cpu")
    b = train(SMALL, rings, epochs=2, seed=7, device="cpu")
    c = train(SMALL, rings, epochs=2, seed=8, device="cpu")
    assert a.curves["train_loss"] == b.curves["train_loss"] != c.curves["train_loss"]


def test_uncertified_spec_is_refused_unless_allowed(rings: tasks.TensorTask) -> None:
    narrow = SMALL.replace(stem="none", width=2)
    with pytest.raises(optnas.UncertifiedArchitecture, match="width"):
        train(narrow, rings, epochs=1, device="cpu")
    assert train(narrow, rings, epochs=1, device="cpu", allow_uncertified=True).status == "complete"


def test_images_and_sequences_train(rings: tasks.TensorTask) -> None:
    conv = optnas.ArchSpec(block="preact_conv", depth=2, width=8)
    digits = tasks.get("digits", as_images=True)
    assert train(conv, digits, epochs=1, device="cpu", batch_size=256).status == "complete"
    tokens = optnas.ArchSpec(block="transformer", block_params={"heads": 2}, depth=2, width=16)
    seq = tasks.get("mnist1d", n_samples=200, as_sequence=True)
    result = train(tokens, seq, epochs=1, device="cpu", batch_size=32, latency_repeats=1)
    assert result.status == "complete" and result.metrics["flops"] > 0


def test_implicit_networks_record_their_solver_residual(rings: tasks.TensorTask) -> None:
    spec = optnas.ArchSpec(algorithm="proximal_point", depth=2, width=8)
    result = train(spec, rings, epochs=2, device="cpu")
    assert result.status == "complete" and len(result.curves["solver_residual"]) == 2
    assert 0.0 <= result.metrics["solver_residual"] < 1e-2  # the contraction converged
    explicit = train(SMALL, rings, epochs=1, device="cpu")
    assert "solver_residual" in explicit.curves  # explicit networks report 0.0
    assert explicit.metrics["solver_residual"] == 0.0


def test_bad_spec_type_is_a_value_error(rings: tasks.TensorTask) -> None:
    with pytest.raises(ValueError, match="spec must be an optnas.ArchSpec or its dict"):
        train("gd", rings, epochs=1, device="cpu")  # type: ignore[arg-type]


@pytest.mark.slow
def test_quality_digits_95_percent_within_60_cpu_seconds() -> None:
    """A certified OptDNN (GD skeleton, pre-activation conv T) reaches >= 95% test accuracy on digits."""
    spec = optnas.ArchSpec(algorithm="gd", block="preact_conv", depth=4, width=32)
    assert optnas.certify(spec).ok
    result = train(
        spec,
        tasks.get("digits", as_images=True),
        epochs=20,
        device="cpu",
        lr=3e-3,
        batch_size=64,
        weight_decay=0.05,
        max_seconds=60,
    )
    assert result.status == "complete"
    assert result.metrics["test_metric"] >= 0.95
    # the training loop obeys the 60 s budget; scoring and cost measurements come on top
    assert result.metrics["wall_s"] < 75


@pytest.mark.slow
def test_quality_rings_need_the_width_lift() -> None:
    """Lifted, the implicit proximal-point OptDNN separates 3 nested rings; kept at width 2 it cannot.

    Each implicit step x -> x+ solves x+ = x + h·T(x+) with h·Lip(T) < 1 (certified contraction), so it is a
    homeomorphism of the state space: at width 2 the network is a homeomorphism of the plane followed by a
    linear head, which cannot separate a disc from the annulus around it (THEORY.md §1, width lift).
    """
    task = tasks.get("rings", rings=3, n_samples=1500)
    lifted = optnas.ArchSpec(algorithm="proximal_point", depth=8, width=16)
    narrow = lifted.replace(stem="none", width=2)
    assert optnas.certify(lifted).ok and not optnas.certify(narrow, input_shape=(2,)).ok
    ok = train(lifted, task, epochs=12, device="cpu", lr=1e-2, batch_size=64)
    bad = train(narrow, task, epochs=30, device="cpu", lr=1e-2, batch_size=64, allow_uncertified=True)
    assert ok.status == bad.status == "complete"
    assert ok.metrics["test_metric"] >= 0.99
    assert bad.metrics["test_metric"] <= 0.8 and max(bad.curves["val_metric"]) <= 0.8
