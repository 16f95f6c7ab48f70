"""Skeleton overhead: forward+backward of a depth-20 heavy-ball skeleton vs hand-written loops.

The same T modules run in (a) optnas's generic unrolled skeleton (heavy_ball, beta=0.9), (b) a plain
hand-written residual loop x = x + h·T(x), and (c) a hand-written heavy-ball loop. Timings are
interleaved (a, b, c, a, b, c, ...) in one process so machine noise hits all three alike; the
result is the ratio of medians.

    python benchmarks/skeleton_overhead/run.py [--repeats 60] [--out benchmarks/skeleton_overhead/results.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
from torch import nn

import optnas
from optnas.build import skeleton
from optnas.nn.steps import FixedSteps

DEPTH, H, BETA = 20, 1.0 / 20, 0.9


class ResidualLoop(nn.Module):
    def __init__(self, blocks: list[nn.Module]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for t in self.blocks:
            x = x + H * t(x)
        return x


class HeavyBallLoop(ResidualLoop):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        prev = x
        for t in self.blocks:
            x, prev = x + BETA * (x - prev) + H * t(x), x
        return x


def cases() -> dict[str, tuple[list[nn.Module], torch.Tensor]]:
    act = optnas.activations.get("relu")
    mlp = [optnas.blocks.get("mlp2", hidden=256).build(256, act, "vector") for _ in range(DEPTH)]
    conv = [optnas.blocks.get("preact_conv").build(32, act, "image") for _ in range(DEPTH)]
    return {
        "mlp2 (batch 256, width 256, hidden 256)": (mlp, torch.randn(256, 256)),
        "preact_conv (batch 32, 32 ch, 16x16)": (conv, torch.randn(32, 32, 16, 16)),
    }


def step(model: nn.Module, x: torch.Tensor) -> float:
    t0 = time.perf_counter()
    model(x).square().mean().backward()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    args = parser.parse_args()
    torch.manual_seed(0)
    results = {}
    for name, (ts, x) in cases().items():
        models = {
            "skeleton": skeleton(optnas.algorithms.get("heavy_ball", beta=BETA), ts, FixedSteps([H] * DEPTH)),
            "residual_loop": ResidualLoop(ts),
            "heavy_ball_loop": HeavyBallLoop(ts),
        }
        times: dict[str, list[float]] = {k: [] for k in models}
        for _ in range(5):  # warm-up
            for m in models.values():
                step(m, x)
        for _ in range(args.repeats):
            for k, m in models.items():
                times[k].append(step(m, x))
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        results[name] = {
            "median_ms": {k: round(v, 3) for k, v in med.items()},
            "ratio_vs_residual_loop": round(med["skeleton"] / med["residual_loop"], 4),
            "ratio_vs_heavy_ball_loop": round(med["skeleton"] / med["heavy_ball_loop"], 4),
        }
        print(name, json.dumps(results[name]))
    record = {
        "benchmark": "skeleton overhead, depth 20, forward+backward",
        "command": "python benchmarks/skeleton_overhead/run.py",
        "date": time.strftime("%Y-%m-%d"),
        "machine": (
            f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
            f"torch {torch.__version__}"
        ),
        "repeats": args.repeats,
        "target": "skeleton / residual_loop <= 1.10 on CPU",
        "results": results,
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
