"""Training throughput of CIFAR-10-shaped networks: images/s and MFU for each precision / layout / compile.

One measurement builds a network with `optnas.build`, feeds it optnas's own data path (the cifar10 task's
on-device normalisation and augmentation) and times ``steps`` AdamW training steps after ``warmup`` steps
(compilation happens in the warm-up and is timed apart). FLOPs per step come from torch's
`FlopCounterMode` over one eager forward+backward of the same batch (matmuls and convolutions only, 2 per
multiply-add); MFU is FLOPs per step × steps / measured seconds / the peak (`_common.measure_peak`).

Example:
    >>> corner("search_spaces/cifar10_narrow_deep.yaml", "narrow_deep")["depth"]   # doctest: +SKIP
    36
"""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from _common import release, sync

import optnas
from optnas.tasks import Task
from optnas.training.optim import make_optimizer
from optnas.training.precision import autocast

REPO = Path(__file__).resolve().parents[2]
SPACES = {
    "narrow_deep": "search_spaces/cifar10_narrow_deep.yaml",
    "wide_shallow": "search_spaces/cifar10_wide_shallow.yaml",
}
BLOCKS = ("preact_conv", "convnext")
# (precision, channels_last, compile), in the order they run (`run`: the compiled ones last, they cost most)
VARIANTS = (
    ("fp32", False, False),
    ("fp32", True, False),
    ("bf16", False, False),
    ("bf16", True, False),
    ("bf16", True, True),
    ("fp32", False, True),
)


def corner(path: str | Path, name: str) -> dict[str, Any]:
    """The space's corner: narrow_deep is the largest depth at the smallest width, wide_shallow the reverse."""
    data = yaml.safe_load((REPO / path).read_text())
    space, train = data["space"], data["train"]
    depths, widths = space["depth"], space["width"]
    lo, hi = (depths["low"], depths["high"]) if isinstance(depths, dict) else (min(depths), max(depths))
    widths = widths if isinstance(widths, list) else [widths]
    deep = name == "narrow_deep"
    return {
        "depth": int(hi if deep else lo),
        "width": int(min(widths) if deep else max(widths)),
        "stages": int(space.get("stages", 1)),
        "batch_size": int(train.get("batch_size", 128)),
        "space_file": str(path),
    }


def measure(
    task: Task,
    spec: optnas.ArchSpec,
    device: torch.device,
    *,
    batch_size: int,
    precision: str,
    channels_last: bool,
    compile: bool,
    warmup: int,
    steps: int,
    min_seconds: float,
    peak_tflops: float,
) -> dict[str, Any]:
    """Time training steps of ``spec`` on ``task``; returns images/s, FLOPs per step, MFU and peak memory."""
    torch.manual_seed(0)
    model = optnas.build(spec, task.input_shape, task.num_outputs).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = make_optimizer(model, "adamw", 1e-3, 0.05, 0.9)
    forward = torch.compile(model) if compile else model
    context = autocast(precision, device)
    generator = torch.Generator().manual_seed(0)
    batches = _endless(task, batch_size, device, generator)

    def prepare(x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if channels_last else x

    def step(net: Any) -> torch.Tensor:
        x, y = next(batches)
        with context():
            loss = task.loss(net(prepare(x)), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        step(model)  # eager: the counter sees every matmul and convolution of forward and backward
    flops_per_step = int(counter.get_total_flops())
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(warmup):
        loss = step(forward)
    sync(device)
    warmup_s = time.perf_counter() - start
    done, start = 0, time.perf_counter()
    while done < steps or time.perf_counter() - start < min_seconds:
        loss = step(forward)
        done += 1
        if done % 8 == 0:
            sync(device)
    sync(device)
    seconds = time.perf_counter() - start
    final_loss = float(loss.detach())
    peak_mem = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    achieved = flops_per_step * done / seconds / 1e12
    return {
        "steps": done,
        "seconds": round(seconds, 4),
        "warmup_s": round(warmup_s, 3),
        "images_per_s": round(done * batch_size / seconds, 1),
        "flops_per_step": flops_per_step,
        "achieved_tflops": round(achieved, 4),
        "mfu": achieved / peak_tflops,
        "peak_mem_mib": None if peak_mem is None else round(peak_mem, 1),
        "final_loss": final_loss if math.isfinite(final_loss) else None,
    }


def _endless(task: Task, batch_size: int, device: torch.device, generator: torch.Generator) -> Any:
    while True:
        yield from task.batches("train", batch_size=batch_size, device=device, shuffle=True, generator=generator)


def run(task: Task, device: torch.device, *, tiny: bool, deadline: float, peak_tflops: float) -> dict[str, Any]:
    """Every (variant, corner, block) that fits before ``deadline``; what does not fit is listed as skipped.

    All eager variants run first, for every block and corner, then the compiled ones (the shallow corner first,
    since it compiles fastest): the budget is spent on compiling only once every eager number is in.
    """
    cuda = device.type == "cuda"
    runs: list[dict[str, Any]] = []
    jobs = [(v, b, n) for v in VARIANTS for n in (("wide_shallow", "narrow_deep") if v[2] else SPACES) for b in BLOCKS]
    for (precision, channels_last, compiled), block, name in jobs:
        shape = corner(SPACES[name], name)
        if tiny:
            deep = name == "narrow_deep"
            shape.update(depth=6 if deep else 3, width=8 if deep else 12, batch_size=16)
        spec = optnas.ArchSpec(
            algorithm="gd", block=block, activation="gelu" if block == "convnext" else "relu",
            depth=shape["depth"], width=shape["width"], stages=shape["stages"],
        )
        row = {"block": block, "corner": name, **shape, "precision": precision,
               "channels_last": channels_last, "compile": compiled}
        if precision != "fp32" and not cuda:
            runs.append({**row, "skipped": "bf16 autocast is CUDA-only in optnas (precision.py)"})
            continue
        if compiled and tiny:
            runs.append({**row, "skipped": "torch.compile is left out of the tiny run (tens of seconds on a CPU)"})
            continue
        need = 45.0 if compiled else 8.0
        if time.monotonic() + need > deadline:
            runs.append({**row, "skipped": f"time budget: under {need:.0f} s left for this section"})
            continue
        try:
            row.update(measure(
                task, spec, device, batch_size=shape["batch_size"], precision=precision,
                channels_last=channels_last, compile=compiled, warmup=1 if tiny else (3 if compiled else 5),
                steps=2 if tiny else 20, min_seconds=0.0 if tiny else 2.0, peak_tflops=peak_tflops,
            ))
        except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:  # a failed variant is a result, not a crash
            row["error"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}"
        if compiled:
            torch.compiler.reset()  # drop compiled graphs: the next measurement compiles its own
        release(device)  # measure's network, optimizer and activations are gone once it returned
        runs.append(row)
    return {"runs": runs, "summary": summarise(runs)}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Speed-ups over eager fp32 per (block, corner), and the best MFU."""
    measured = [r for r in runs if "images_per_s" in r]
    key = lambda r: (r["precision"], r["channels_last"], r["compile"])  # noqa: E731
    speedups = {}
    for block, name in itertools.product(BLOCKS, SPACES):
        mine = {key(r): r["images_per_s"] for r in measured if r["block"] == block and r["corner"] == name}
        base = mine.get(("fp32", False, False))
        if base:
            speedups[f"{block}/{name}"] = {
                f"{p}{'+channels_last' if cl else ''}{'+compile' if c else ''}": round(v / base, 3)
                for (p, cl, c), v in mine.items()
            }
    best = max(measured, key=lambda r: r["mfu"], default=None)
    return {
        "speedup_over_fp32_eager": speedups,
        "best_mfu": None if best is None else {k: best[k] for k in (
            "block", "corner", "depth", "width", "precision", "channels_last", "compile", "mfu", "images_per_s")},
    }
