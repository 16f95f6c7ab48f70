"""torch.compile as a training option (slow: compilation takes tens of seconds on a CPU)."""

from __future__ import annotations

import pytest
from torch import nn

from optnas.training import fit


@pytest.mark.slow
def test_compiled_model_trains_like_the_eager_one() -> None:
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 3))
    result = fit(model, "rings", epochs=3, device="cpu", compile=True, lr=1e-2)
    assert result.status == "complete" and result.metrics["compiled"] is True
    assert result.metrics["test_metric"] > 0.5
    assert result.model is model  # the caller gets the plain module back, not the compiled wrapper
