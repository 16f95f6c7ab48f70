"""1-D signals (channels, length): every block with a signal form builds, certifies and trains; the kind survives
pickling and JSON; the certificate checks the 1-D convs as it checks images."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from torch import nn

import optnas
from optnas import ArchSpec, Signal, blocks
from optnas._shapes import as_shape, input_kind, positions, state_features
from optnas.errors import UsageError

SIGNAL_BLOCKS = [name for name in blocks.names() if "signal" in blocks.entry(name).inputs]
# explicit and implicit skeletons; the implicit one only with blocks that have a Lipschitz bound
CASES = [(b, "heavy_ball") for b in SIGNAL_BLOCKS] + [("preact_conv", "proximal_point"), ("mlp2", "bdf2")]


def _task(n: int = 96, length: int = 24) -> optnas.tasks.base.TensorTask:
    # two classes told apart by where a bump sits: a shift-equivariant conv net separates them
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (n,), generator=g)
    pos = torch.where(y == 1, 6, 16) + torch.randint(-2, 3, (n,), generator=g)
    grid = torch.arange(length).float()
    x = torch.exp(-0.5 * (grid[None, :] - pos[:, None]) ** 2) + 0.05 * torch.randn(n, length, generator=g)
    return optnas.tasks.from_tensors(x.unsqueeze(1), y, signal=True, seed=0)


def test_signal_blocks_are_the_conv_blocks_and_mlp2():
    assert set(SIGNAL_BLOCKS) == {"mlp2", "preact_conv", "convnext"}


@pytest.mark.parametrize(("block", "algorithm"), CASES)
def test_every_signal_block_builds_certifies_and_trains(block, algorithm):
    task = _task()
    assert task.input_shape == Signal(1, 24) and task.input_kind == "signal"
    spec = ArchSpec(algorithm=algorithm, block=block, block_params={"hidden": 8}, depth=4, width=8, stages=2,
                    activation="relu")
    cert = optnas.certify(spec, input_shape=task.input_shape)
    assert cert.ok, cert.format()
    structure = next(c for c in cert.conditions if c.name == "two_layer_structure")
    # checked by function on the 1-D block's real forward, at a signal shape (channels, length)
    assert "checked by function" in structure.detail and "of shape (16, " in structure.detail
    net = optnas.build(spec, task.input_shape, 2)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv1d)]
    assert convs and not any(isinstance(m, nn.Conv2d | nn.Linear) and m is not net.head.fc for m in net.modules()
                             if isinstance(m, nn.Conv2d))
    result = optnas.train(spec, task, epochs=2, lr=1e-2, batch_size=16, latency_repeats=1)
    assert result.status == "complete", result.reason
    assert 0.0 <= result.metrics["val_metric"] <= 1.0
    assert result.metrics["flops"] > 0 and result.metrics["params"] == sum(p.numel() for p in net.parameters())


def test_implicit_signal_convs_are_normalized_at_the_stage_length():
    spec = ArchSpec(algorithm="proximal_point", block="preact_conv", depth=4, width=4, stages=2)
    net = optnas.build(spec, Signal(1, 21), 3)
    sizes = [m.spatial for m in net.modules() if type(m).__name__ == "OperatorNormConv1d"]
    assert sizes and set(sizes) == {(21,), (11,)}  # the second stage runs at ⌈21/2⌉
    assert net(torch.randn(2, 1, 21)).shape == (2, 3)


def test_signal_kind_survives_pickle_json_and_validation():
    s = Signal(2, 40)
    assert pickle.loads(pickle.dumps(s)) == s and type(pickle.loads(pickle.dumps(s))) is Signal
    assert as_shape(json.loads(json.dumps(list(s))), "signal") == s
    assert input_kind(s) == "signal" and input_kind((2, 40)) == "token"
    assert state_features(s) == 2 and state_features((2, 40)) == 40
    assert positions(s) == 40 and positions((2, 40)) == 2 and positions((3, 4, 5)) == 20
    with pytest.raises(ValueError, match="Signal length=0 is invalid"):
        Signal(1, 0)
    with pytest.raises(ValueError, match="use \\(channels, length\\)"):
        as_shape([1, 2, 3], "signal")


def test_width_lift_counts_channels_for_signals():
    spec = ArchSpec(algorithm="gd", block="preact_conv", depth=2, width=4)
    assert optnas.certify(spec, input_shape=Signal(3, 50)).ok  # 4 >= 3 + 1: the length does not count
    assert not optnas.certify(spec, input_shape=Signal(4, 50)).ok


def test_from_tensors_reads_signals_and_standardizes_per_channel():
    x = torch.randn(50, 2, 10) * torch.tensor([1.0, 100.0])[None, :, None] + 5.0
    y = torch.randint(0, 3, (50,))
    task = optnas.tasks.from_tensors(x, y, signal=True, seed=0)
    assert task.input_shape == Signal(2, 10) and task.describe()["input_kind"] == "signal"
    mean = torch.tensor(task.standardize["mean"])
    assert mean.shape == (2, 10) and torch.allclose(mean, mean[:, :1].expand(2, 10))  # one value a channel
    xt = task.tensors("train")[0]
    assert xt.std((0, 2), correction=0).sub(1).abs().max() < 1e-4
    assert optnas.tasks.from_tensors(x, y, seed=0).input_shape == (2, 10)  # without signal=True: tokens
    with pytest.raises(UsageError, match="signal=True needs x of shape"):
        optnas.tasks.from_tensors(x[:, 0], y, signal=True)


def test_trainability_score_and_architecture_figure_take_signals():
    from optnas.dashboard.figures.architecture import architecture_data, plot_architecture
    from optnas.theory import trainability_score
    from optnas.theory.score import _stem_variance

    spec = ArchSpec(algorithm="heavy_ball", block="preact_conv", depth=3, width=8, stages=2)
    # the lift is a length-3 Conv1d: fan-in 3·channels (a default init's bias variance 1/(3·fan_in)), not the
    # 40 features of the (tokens, features) reading of the same numbers
    assert _stem_variance(spec, 1.0, Signal(1, 40)) == pytest.approx((1 + 1 / 3) / 3)
    assert _stem_variance(spec, 1.0, (1, 40)) == pytest.approx((1 + 1 / 40) / 3)
    assert trainability_score(spec, input_shape=Signal(1, 40)).depth == 3
    data = architecture_data(spec.to_dict())
    assert data.block.startswith("preact_conv") and data.stages == 2
    assert "Conv" in data.structure and plot_architecture(data).data
