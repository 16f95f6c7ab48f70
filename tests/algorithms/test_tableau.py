"""The coefficient tables have one form: the algorithm's named rows are what a built network stores and runs,
what the certificate reads back from it, and what the dense matrices are made of."""

import copy
import pickle

import numpy as np
import pytest
import torch

import optnas
from optnas import algorithms
from optnas.algorithms import Layer, Row, linear_part
from optnas.build import skeleton
from optnas.nn.steps import FixedSteps
from optnas.nn.unrolled import Unrolled
from optnas.stages import read_plan, stage_plan


@pytest.mark.parametrize("name", ["heavy_ball", "apg2", "ladmm", "dense", "bdf2"])
def test_a_built_network_runs_the_rows_the_algorithm_wrote(name):
    spec = optnas.ArchSpec(algorithm=name, depth=4, width=8)
    net = optnas.build(spec, (3,), 2)
    written = stage_plan(spec)[0].layers
    assert net.stages[0].layers == written  # the same rows, not a translation of them
    assert read_plan(net)[0].layers == written
    assert all(isinstance(r, Row) for layer in written for s in layer.sweeps for r in s.values())


def test_rows_are_stored_in_the_order_the_forward_pass_adds_them():
    """Slots ascending, zero terms and rows that keep their slot left out, the caller's dicts copied."""
    a0 = {2: 0.25, 0: 0.5, 1: 0.0}
    row = Row(a0=a0, a1={1: 0.5}, b1=1)
    a0[0] = 99.0  # a later change to the caller's dict does not reach the row
    assert row.terms == ((0, 0.5, 0.0), (1, 0.0, 0.5), (2, 0.25, 0.0)) and row.b1 == 1.0
    layer = Layer(3, c={2: 0.0, 1: 0.5, 0: 0.5}, sweeps=({2: Row(a0={2: 1.0}), 1: Row(a0={0: 1.0}), 0: row},))
    assert list(layer.c.items()) == [(0, 0.5), (1, 0.5)]
    assert list(layer.sweeps[0]) == [0, 1]  # row 2 keeps s_2: not run


def test_the_order_rows_are_written_in_does_not_change_the_outputs():
    forward = {0: Row(a0={0: 1.5, 1: -0.5}, b1=1.0), 1: Row(a0={0: 1.0})}
    backward = {1: Row(a0={0: 1.0}), 0: Row(a0={1: -0.5, 0: 1.5}, b1=1.0)}
    x = torch.randn(4, 3)
    outs = []
    for rows in (forward, backward):
        torch.manual_seed(0)
        blocks = [torch.nn.Linear(3, 3) for _ in range(3)]
        net = Unrolled(blocks, [Layer(2, c={0: 1.0}, sweeps=(rows,))] * 3, [1.0, 1.0], FixedSteps([0.1] * 3))
        outs.append(net(x))
    assert torch.equal(outs[0], outs[1])


def test_linear_part_is_the_closed_form():
    """Heavy ball: A = [[1 + β, −β], [1, 0]], b = (h, 0); APG2's two sweeps compose to x+ = (1−θ)x + θ(z + h/θ·f)."""
    a, b, c = linear_part(algorithms.get("heavy_ball", beta=0.5).layer(3, 8), 0.25)
    assert np.array_equal(a, [[1.5, -0.5], [1.0, 0.0]]) and np.array_equal(b, [0.25, 0.0])
    assert np.array_equal(c, [1.0, 0.0])
    alg = algorithms.get("apg2")
    th, h = float(optnas.schedules.get("apg_theta").values(4)[2]), 0.3
    a, b, c = linear_part(alg.layer(2, 4), h)
    assert a == pytest.approx(np.array([[1 - th, th], [0.0, 1.0]]))
    assert b == pytest.approx([h, h / th]) and c == pytest.approx([1 - th, th])


def test_tables_are_checked_where_they_are_written():
    with pytest.raises(ValueError, match=r"slot 3 is out of range; valid: 0\.\.1"):
        Layer(2, c={0: 1.0}, sweeps=({0: Row(a0={3: 1.0})},))
    with pytest.raises(ValueError, match=r"slot 2 is out of range"):  # a zero weight names a slot too
        Layer(2, c={0: 1.0}, sweeps=({0: Row(a1={2: 0.0}, b1=1.0)},))
    with pytest.raises(ValueError, match=r"Layer\.mix=3 is invalid; valid: None or 1\.\.2"):
        Layer(2, c={0: 1.0}, sweeps=(), mix=3)
    with pytest.raises(ValueError, match=r"Layer\.slots=0 is invalid"):
        Layer(0, c={}, sweeps=())
    with pytest.raises(ValueError, match=r"sweep 0 holds .*; valid: rows written Row"):
        Layer(1, c={0: 1.0}, sweeps=({0: ({0: 1.0}, {}, 0.0, 1.0)},))  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="a layer of 1 slots for a state of 2"):
        Unrolled([torch.nn.Identity()], [Layer(1, c={0: 1.0}, sweeps=())], [1.0, 1.0], FixedSteps([0.1]))


def test_a_built_network_copies_and_pickles_with_its_tables():
    """A search deep-copies a trained model to count its FLOPs; the tables travel with it."""
    spec = optnas.ArchSpec(algorithm="nesterov", depth=3, width=8)
    net = optnas.build(spec, (3,), 2).eval()
    x = torch.randn(5, 3)
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert other.stages[0].layers == net.stages[0].layers
        assert torch.equal(other(x), net(x))


def test_skeleton_of_a_user_layer_runs_its_rows():
    """x+ = x + h·T(x) written by hand: two steps of h = 0.5 on T = identity give x·1.5²."""
    gd = skeleton(algorithms.get("gd"), [torch.nn.Identity()] * 2, FixedSteps([0.5, 0.5]))
    assert gd.layers[0] == Layer(1, c={0: 1.0}, sweeps=({0: Row(a0={0: 1.0}, b1=1.0)},))
    assert torch.equal(gd(torch.ones(1)), torch.tensor([2.25]))
