"""The certificate checks exactly the steps and tables the built network runs (issue: stages > 1 once
certified the whole depth while each stage ran its own)."""

from __future__ import annotations

import pytest
import torch

import optnas
from optnas import ArchSpec, algorithms, schedules
from optnas.certify import certify_plan
from optnas.stages import read_plan, split_depth, stage_plan

IMAGE = (3, 8, 8)
# Every algorithm × step schedule × 1–3 stages at depth 4 by default; more depths (uneven splits, longer
# stages) under -m slow.
CASES = [
    pytest.param(alg, sched, stages, depth, marks=[pytest.mark.slow] if depth != 4 else [])
    for alg in algorithms.names()
    for sched in schedules.step_names()
    for stages in (1, 2, 3)
    for depth in (3, 4, 7, 11)
    if stages <= depth
]


def _spec(alg: str, sched: str, stages: int, depth: int) -> ArchSpec:
    # mlp2 on images (1×1 convs): stages need images, and the grid stays cheap to build
    return ArchSpec(algorithm=alg, schedule=sched, schedule_params={"horizon": 1.5}, block="mlp2",
                    block_params={"hidden": 2}, depth=depth, width=4, stages=stages)


@pytest.mark.parametrize(("alg", "sched", "stages", "depth"), CASES)
def test_certified_steps_are_the_steps_that_run(alg: str, sched: str, stages: int, depth: int) -> None:
    spec = _spec(alg, sched, stages, depth)
    net = optnas.build(spec, IMAGE, 2, allow_uncertified=True)
    cert = net.certificate
    assert [s.depth for s in cert.stages] == split_depth(depth, stages) == [len(s.blocks) for s in net.stages]
    ran = net.stage_steps()
    assert len(ran) == len(cert.stages) == stages
    for checked, runs in zip(cert.stages, ran, strict=True):
        if checked.h_max is None:
            assert checked.steps == runs  # exactly: the same floats
        else:  # learnable: float32 h_max·sigmoid(θ) initialised at the checked values
            assert runs == pytest.approx(checked.steps, rel=1e-6)
            assert all(0 < h < checked.h_max for h in runs)
    again = certify_plan(spec, read_plan(net), IMAGE)  # from the tables the module's forward pass runs
    assert again.ok == cert.ok
    assert [(c.name, c.holds) for c in again.conditions] == [(c.name, c.holds) for c in cert.conditions]
    if cert.stages[0].h_max is None:
        assert again.to_dict() == cert.to_dict()


def test_each_stage_runs_and_is_certified_at_its_own_step() -> None:
    """The issue's reproduction: proximal point, depth 2, 2 stages, horizon 1.5: each stage is one step of 1.5,
    so h·Lip(T) = 1.5 is no contraction (it was certified with 0.75)."""
    spec = ArchSpec(algorithm="proximal_point", block="preact_conv", depth=2, stages=2, width=4,
                    schedule_params={"horizon": 1.5})
    cert = optnas.certify(spec, IMAGE)
    assert [(s.depth, s.steps) for s in cert.stages] == [(1, (1.5,)), (1, (1.5,))]
    contraction = next(c for c in cert.conditions if c.name == "contraction")
    assert not contraction.holds and "1.5" in contraction.detail
    net = optnas.build(spec, IMAGE, 2, allow_uncertified=True)
    assert net.stage_steps() == [(1.5,), (1.5,)]


def test_stage_plan_closed_form() -> None:
    """Stage i of depth L_i runs the schedule's depth-L_i steps (Σ h = horizon per stage) and restarts the
    algorithm's time-varying sequences (Nesterov's β_k = k/(k+3) starts at 0 in every stage)."""
    spec = ArchSpec(algorithm="nesterov", schedule_params={"horizon": 2.0}, depth=7, stages=3, block="preact_conv")
    plan = stage_plan(spec)
    assert [p.depth for p in plan] == [3, 2, 2]
    assert [p.steps for p in plan] == [(2 / 3,) * 3, (1.0, 1.0), (1.0, 1.0)]
    for p in plan:  # row 0 of layer k: x+ = (1 + β_k)x − β_k x− + h·T(y), β_k = k/(k + 3)
        betas = [-layer.sweeps[0][0].a0[1] for layer in p.layers]
        assert betas == pytest.approx([k / (k + 3) for k in range(p.depth)], abs=1e-15)


def test_certificate_round_trips_its_stages() -> None:
    cert = optnas.certify(_spec("heavy_ball", "learnable", 2, 5), IMAGE)
    again = optnas.Certificate.from_dict(cert.to_dict())
    assert again.stages == cert.stages and again.stages[0].h_max is not None
    old = cert.to_dict()
    del old["stages"]  # a certificate stored before stages were recorded
    assert optnas.Certificate.from_dict(old).stages == []


def test_built_network_runs() -> None:
    net = optnas.build(_spec("bdf2", "cosine", 3, 7), IMAGE, 2)
    assert net(torch.randn(2, *IMAGE)).shape == (2, 2)
