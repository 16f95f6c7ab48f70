"""torch.compile as a training option (slow: compilation takes tens of seconds on a CPU)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from optnas.training import fit


@pytest.mark.slow
def test_compiled_model_trains_like_the_eager_one() -> None:
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 3))
    result = fit(model, "rings", epochs=3, device="cpu", compile=True, lr=1e-2)
    assert result.status == "complete" and result.metrics["compiled"] is True
    assert result.metrics["test_metric"] > 0.5
    assert result.model is model  # the caller gets the plain module back, not the compiled wrapper


class _Probe(nn.Module):
    """An MLP that remembers whether any of its forwards ran inside a compiled graph."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, width), nn.ReLU(), nn.Linear(width, 3))
        self.compiled_call = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.compiler.is_compiling():
            self.compiled_call = True  # traced into the graph as a side effect, replayed on every compiled call
        return self.net(x)


@pytest.mark.slow
def test_every_compiled_run_compiles_not_only_the_first_few() -> None:
    # each run compiles train, eval and no_grad graphs of the same forward: without dropping them after a run,
    # dynamo's recompile limit (8 per code object) made the third run of a process fall back to eager
    for width in (8, 9, 10, 11):
        model = _Probe(width)
        result = fit(model, "rings", epochs=1, device="cpu", compile=True, latency_repeats=1)
        assert result.status == "complete" and model.compiled_call, f"width {width} ran eagerly"
