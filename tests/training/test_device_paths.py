"""The CUDA path, checked where a CPU can check it (``--device cuda`` runs the same tests on a GPU).

- placement: no tensor made inside a network's forward or backward without a device (it would land on the
  CPU while the network runs on CUDA), for every registered algorithm and block;
- autocast: every family trains a step under bf16 autocast (CPU autocast here, CUDA's with --device cuda),
  its parameters and gradients staying fp32 and finite;
- memory: a finished run keeps no gradients, no optimizer and, once the caller drops the result, no network;
  a search keeps no trial's network (on CUDA: allocated memory returns to where it was).
"""

from __future__ import annotations

import gc
import textwrap
import traceback
import weakref
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook
from torch.overrides import TorchFunctionMode

import optnas
from optnas import algorithms, blocks
from optnas.nn.unrolled import Network

# tensor factories whose device defaults to the CPU when none is given
FACTORIES = {torch.zeros, torch.ones, torch.empty, torch.full, torch.tensor, torch.as_tensor, torch.arange,
             torch.eye, torch.rand, torch.randn, torch.randint, torch.linspace, torch.scalar_tensor}
SHAPES = {"mlp2": (4,), "preact_conv": (3, 8, 8), "convnext": (3, 8, 8), "transformer": (5, 4)}
IMPLICIT = {"proximal_point", "bdf2", "accel_proximal"}  # need a globally Lipschitz activation


class DevicelessFactories(TorchFunctionMode):
    """Records each tensor factory called without ``device=``, with the line that called it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func in FACTORIES and kwargs.get("device") is None:
            frame = traceback.extract_stack()[-2]
            self.calls.append(f"torch.{func.__name__} at {frame.filename}:{frame.lineno}: {frame.line}")
        return func(*args, **kwargs)


def _spec(algorithm: str, block: str) -> optnas.ArchSpec:
    return optnas.ArchSpec(algorithm=algorithm, block=block, activation="tanh" if algorithm in IMPLICIT else "gelu",
                           depth=3, width=8)


def _families() -> list[tuple[str, str]]:
    # the pairs optnas runs: an implicit algorithm with an unbounded-Lipschitz block (convnext's LayerNorm,
    # attention) is refused by build, so it never reaches a device
    return [(a, b) for a in algorithms.names() for b in blocks.names()
            if optnas.certify(_spec(a, b), input_shape=SHAPES[b]).ok]


def _net(algorithm: str, block: str, device: torch.device) -> nn.Module:
    spec = _spec(algorithm, block)
    torch.manual_seed(0)
    return optnas.build(spec, input_shape=SHAPES[block], num_outputs=3).to(device)


def test_the_placement_check_finds_a_planted_cpu_tensor() -> None:
    class Planted(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + torch.zeros(x.shape[-1])  # the defect: a CPU tensor on a CUDA run

    x = torch.randn(2, 3)
    with DevicelessFactories() as mode:
        Planted()(x)
    assert len(mode.calls) == 1 and "torch.zeros" in mode.calls[0] and "test_device_paths.py" in mode.calls[0]


@pytest.mark.parametrize(("algorithm", "block"), _families())
def test_networks_make_no_tensor_off_their_device(algorithm: str, block: str, device: torch.device) -> None:
    net = _net(algorithm, block, device)
    x = torch.randn(2, *SHAPES[block], device=device)
    with DevicelessFactories() as mode:
        net(x).square().mean().backward()
    assert mode.calls == []


@pytest.mark.parametrize(("algorithm", "block"), _families())
def test_networks_train_under_bf16_autocast(algorithm: str, block: str, device: torch.device) -> None:
    net = _net(algorithm, block, device)
    x, y = torch.randn(4, *SHAPES[block], device=device), torch.randint(0, 3, (4,), device=device)
    with torch.autocast(device.type, dtype=torch.bfloat16):
        out = net(x)
        loss = nn.functional.cross_entropy(out, y)
    loss.backward()
    assert out.shape == (4, 3) and torch.isfinite(out.float()).all() and torch.isfinite(loss)
    for name, p in net.named_parameters():
        assert p.dtype == torch.float32, name
        assert p.grad is None or (p.grad.dtype == torch.float32 and torch.isfinite(p.grad).all()), name


def _live_networks() -> int:
    gc.collect()
    return sum(type(o) is Network for o in gc.get_objects())


def test_a_finished_run_keeps_no_gradients_optimizer_or_network(device: torch.device) -> None:
    optimizers: list[weakref.ref[torch.optim.Optimizer]] = []
    handle = register_optimizer_step_pre_hook(lambda opt, *_: optimizers.append(weakref.ref(opt)))
    try:
        spec = optnas.ArchSpec(algorithm="heavy_ball", block="mlp2", depth=3, width=8)
        result = optnas.train(spec, "rings", epochs=2, device=str(device), batch_size=64, latency_repeats=1)
    finally:
        handle.remove()
    assert result.status == "complete" and optimizers
    model = result.model
    assert model is not None and all(p.grad is None for p in model.parameters())  # no gradient memory kept
    gc.collect()
    assert all(ref() is None for ref in optimizers)  # nor the optimizer's moments
    net = weakref.ref(model)
    del model, result
    gc.collect()
    assert net() is None


def test_a_search_keeps_no_trial_network(device: torch.device, tmp_path: Path, monkeypatch: Any) -> None:
    from optnas.search import SearchSpace, run_search

    monkeypatch.setenv("OPTNAS_LOCK_DIR", str(tmp_path / "locks"))
    space_file = tmp_path / "rings.yaml"
    space_file.write_text(textwrap.dedent("""
        task: {name: rings, params: {n_samples: 300}}
        train: {epochs: 2, batch_size: 64, lr: 0.01}
        space:
          algorithm: {gd: {}, heavy_ball: {beta: 0.5}}
          block: {mlp2: {hidden: 8}}
          activation: [relu]
          depth: 2
          width: 8
        pruner: {name: none}
        trials: 3
    """))
    before = _live_networks()
    allocated = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0
    study = run_search(SearchSpace.from_yaml(space_file), storage=str(tmp_path / "j.log"), device=str(device),
                       progress=False)
    assert len(study.trials) == 3
    assert _live_networks() == before
    if device.type == "cuda":
        assert torch.cuda.memory_allocated(device) <= allocated
