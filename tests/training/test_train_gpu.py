"""CUDA-only behaviour: mixed precision, channels-last, CUDA peak memory (run with -m gpu)."""

from __future__ import annotations

import pytest
import torch

import optnas
import optnas.tasks as tasks
from optnas.training import train

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_auto_device_and_precision_on_cuda() -> None:
    spec = optnas.ArchSpec(algorithm="gd", block="preact_conv", depth=2, width=16)
    result = train(spec, tasks.get("digits", as_images=True), epochs=2, device="auto", batch_size=128)
    m = result.metrics
    assert result.status == "complete" and m["device"].startswith("cuda")
    assert m["precision"] == ("bf16" if torch.cuda.is_bf16_supported() else "fp32")
    assert m["peak_mem_source"] == "cuda_max_memory_allocated" and m["peak_mem_mb"] > 0
    assert m["test_metric"] > 0.5 and m["latency_ms"] > 0
    model = result.model
    assert model is not None and next(model.parameters()).is_cuda


def test_fp16_with_loss_scaling_trains() -> None:
    spec = optnas.ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 0.9}, depth=4, width=64)
    result = train(spec, "digits", epochs=5, device="cuda", precision="fp16", lr=3e-3)
    assert result.status == "complete" and result.metrics["precision"] == "fp16"
    assert result.metrics["test_metric"] > 0.8


def test_divergence_is_caught_on_cuda() -> None:
    spec = optnas.ArchSpec(algorithm="gd", depth=4, width=64)
    result = train(spec, "polynomial", epochs=20, device="cuda", optimizer="sgd", lr=1e6, clip=None, warmup=0.0)
    assert result.status == "diverged" and "epoch" in (result.reason or "")
