"""`Trainer`: a run stopped after any epoch (or mid-epoch by its time budget) and resumed in a new process gives
the uninterrupted run's curves and metrics, with every learning-rate schedule optnas has."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import optnas
from optnas.errors import UsageError
from optnas.training import Trainer

EPOCHS = 3
# optnas's learning-rate schedule is linear warmup then cosine to 0 (optim.lr_factor): with no warmup it is a
# plain cosine. Both, with each optimizer (SGD's momentum buffers and AdamW's moments are optimizer state).
SCHEDULES: dict[str, dict[str, Any]] = {
    "cosine-adamw": {"warmup": 0.0, "optimizer": "adamw"},
    "warmup-cosine-sgd": {"warmup": 0.4, "optimizer": "sgd"},
}
SPEC = optnas.ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 0.5}, depth=3, width=12)
KEYS = ("val_metric", "test_metric", "val_loss", "test_loss", "train_loss", "best_val_metric", "best_epoch", "steps")


def _net() -> nn.Module:
    # dropout draws from torch's global generator while training: the resumed run must continue its state
    return nn.Sequential(nn.Linear(2, 24), nn.ReLU(), nn.Dropout(0.2), nn.Linear(24, 3))


def _trainer(kind: str, options: dict[str, Any], **extra: Any) -> Trainer:
    torch.manual_seed(0)  # a module's own initialisation is the caller's (a spec's is the trainer's)
    subject: Any = SPEC if kind == "spec" else _net()
    return Trainer(subject, "rings", seed=7, device="cpu", batch_size=64, lr=5e-3, latency_repeats=1,
                   **options, **extra)


def _summary(result: optnas.RunResult) -> dict[str, Any]:
    curves = {k: v for k, v in result.curves.items() if k != "epoch_s"}
    return {"status": result.status, "curves": curves, "metrics": {k: result.metrics[k] for k in KEYS}}


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-6)
    return bool(a == b)


RESUME = """
import json, sys, torch
sys.path.insert(0, {tests!r})
from test_trainer_resume import _summary, _trainer
torch.set_num_threads(1)
out = {{}}
for name, (kind, options, path) in json.loads(sys.argv[1]).items():
    trainer = _trainer(kind, options)
    trainer.load_state_dict(torch.load(path, weights_only=True))
    out[name] = _summary(trainer.fit({epochs}))
print(json.dumps(out))
"""


def test_stopped_after_any_epoch_or_mid_epoch_resumes_in_a_new_process_to_the_same_run(tmp_path: Path) -> None:
    expected, jobs = {}, {}
    for schedule, options in SCHEDULES.items():
        for kind in ("module", "spec"):
            expected[f"{schedule}-{kind}"] = _summary(_trainer(kind, options).fit(EPOCHS))
            for stop in range(EPOCHS - 1):
                trainer = _trainer(kind, options)
                assert trainer.fit(EPOCHS, callback=lambda epoch, _, s=stop: epoch == s).status == "pruned"
                assert trainer.epoch == stop + 1
                path = str(tmp_path / f"{schedule}-{kind}-{stop}.pt")
                jobs[f"{schedule}-{kind}-after-{stop}"] = (kind, options, path)
                torch.save(trainer.state_dict(), path)
        # a time budget that runs out after the first step: the state holds the position inside epoch 0
        cut = _trainer("module", options, max_seconds=1e-9)
        result = cut.fit(EPOCHS)
        assert result.metrics["budget_exhausted"] and result.metrics["steps"] == 1
        assert cut.state_dict()["position"]["step"] == 1
        jobs[f"{schedule}-module-mid-epoch"] = ("module", options, str(tmp_path / f"{schedule}-cut.pt"))
        torch.save(cut.state_dict(), jobs[f"{schedule}-module-mid-epoch"][2])
    script = RESUME.format(tests=str(Path(__file__).parent), epochs=EPOCHS)
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(jobs)], capture_output=True, text=True, timeout=600, check=True
    )
    resumed = json.loads(done.stdout)
    assert resumed.keys() == jobs.keys()
    for name, summary in resumed.items():
        reference = expected[name.split("-after-")[0].removesuffix("-mid-epoch")]
        assert summary["status"] == "complete"
        assert _close(summary, reference), name
    # the lr curve is the schedule's, over the whole run, not restarted by the resume
    assert expected["cosine-adamw-module"]["curves"]["lr"][-1] == 0.0


def test_resumed_trainer_keeps_the_callers_rng_and_refuses_another_run(tmp_path: Path) -> None:
    trainer = _trainer("module", SCHEDULES["cosine-adamw"])
    trainer.fit(EPOCHS, callback=lambda epoch, _: True)
    state = trainer.state_dict()
    other = _trainer("module", SCHEDULES["cosine-adamw"])
    other.load_state_dict(state)
    torch.manual_seed(1)
    before = torch.rand(1)
    torch.manual_seed(1)
    other.fit(EPOCHS)
    assert torch.equal(torch.rand(1), before)  # the run trains on its own random state
    with pytest.raises(UsageError, match=r"lr=0\.005 \(here 0\.01\)"):
        Trainer(_net(), "rings", seed=7, device="cpu", batch_size=64, lr=1e-2).load_state_dict(state)
    with pytest.raises(UsageError, match="seed=7"):
        Trainer(_net(), "rings", seed=8, device="cpu").load_state_dict(state)
