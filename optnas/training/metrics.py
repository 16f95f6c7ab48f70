"""What a run measures: split loss and metric, parameters, FLOPs, latency and peak memory.

FLOPs come from torch's own counter (`torch.utils.flop_counter.FlopCounterMode`), which counts matrix
multiplications and convolutions (2 FLOPs per multiply-add) but not elementwise operations; for implicit
layers it counts the fixed-point iterations the counted forward actually ran.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import torch
from torch import nn

from ..tasks.base import Split, Task
from .divergence import Diverged, check_values, output_magnitude

Forward = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class SplitScore:
    """Mean loss and metric over one split (None for an empty split)."""

    loss: float | None
    metric: float | None
    samples: int


@torch.no_grad()
def evaluate(
    forward: Forward,
    task: Task,
    split: Split,
    *,
    device: torch.device,
    batch_size: int,
    autocast: Callable[[], AbstractContextManager[object]],
    threshold: float = float("inf"),
    prepare: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
) -> SplitScore:
    """Loss and metric of ``forward`` (a model in eval mode) over ``split``, with one device sync.

    Raises `Diverged` when an output is non-finite or larger than ``threshold``.
    """
    loss_sum = torch.zeros((), device=device)
    score_sum = torch.zeros((), device=device)
    magnitude = torch.zeros((), device=device)
    n = 0
    for x, y in task.batches(split, batch_size=batch_size, device=device):
        with autocast():
            out = forward(prepare(x))
        loss_sum += task.loss(out, y).float() * y.shape[0]
        score_sum += task.objective.score_sum(out, y).float()
        magnitude = torch.maximum(magnitude, output_magnitude(out))
        n += int(y.shape[0])
    if n == 0:
        return SplitScore(None, None, 0)
    loss, score, mag = torch.stack([loss_sum, score_sum, magnitude]).cpu().tolist()
    problem = check_values(loss / n, mag, threshold)
    if problem:
        raise Diverged(f"{problem} while evaluating the {split} split")
    return SplitScore(loss / n, score / n, n)


def count_params(model: nn.Module) -> int:
    """Trainable parameters (shared tensors counted once)."""
    seen = {id(p): p for p in model.parameters() if p.requires_grad}
    return sum(p.numel() for p in seen.values())


@torch.no_grad()
def flops_per_sample(model: nn.Module, x: torch.Tensor) -> int:
    """Forward FLOPs per sample: FlopCounterMode over one forward of batch ``x``, divided by its size.

    Example:
        >>> flops_per_sample(nn.Linear(4, 3), torch.zeros(8, 4))   # 2·4·3 per sample
        24
    """
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        model(x)
    return int(counter.get_total_flops()) // max(1, int(x.shape[0]))


@torch.no_grad()
def latency_ms(forward: Forward, x: torch.Tensor, repeats: int, warmup: int = 2) -> float:
    """Median wall time in ms of ``repeats`` eval forwards of batch ``x`` on its device (after warmup)."""
    cuda = x.device.type == "cuda"
    for _ in range(warmup):
        forward(x)
    times = []
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize(x.device)
        start = time.perf_counter()
        forward(x)
        if cuda:
            torch.cuda.synchronize(x.device)  # kernels are asynchronous: wait for them to finish
        times.append((time.perf_counter() - start) * 1e3)
    return float(statistics.median(times))


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> tuple[float | None, str]:
    """Peak memory in MiB and what it measures.

    CUDA: ``torch.cuda.max_memory_allocated`` since the run started (tensors only, this run only).
    CPU: the process's peak resident set size (``resource.getrusage`` ru_maxrss): everything the process
    ever held, including the interpreter, libraries and earlier runs, so it is an upper bound for the run.
    """
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda_max_memory_allocated"
    try:
        import resource
    except ImportError:  # Windows has no resource module
        return None, "unavailable"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux, bytes on macOS
    return (peak / 2**20 if sys.platform == "darwin" else peak / 2**10), "process_max_rss"
