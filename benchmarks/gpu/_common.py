"""Shared pieces of the GPU benchmark: synthetic CIFAR-10 batches, a GPU sampler, the machine's description.

Example:
    >>> from pathlib import Path; import tempfile
    >>> root = write_synthetic_cifar(Path(tempfile.mkdtemp()) / "cifar", train=50, test=10)
    >>> sorted(p.name for p in root.iterdir())[0]
    'data_batch_1.bin'
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

# Dense bf16 tensor-core peaks by the vendor's datasheet, TFLOP/s. Source: /work/.library/device/H200.md
# ("for the SXM part ... dense bf16 about 990 TFLOP/s, plain fp32 about 67, by that datasheet"; the H100 SXM
# has the same rates). The device README measured ~790 TFLOP/s on an 8192^3 bf16 matmul: `measure_peak` below
# measures it again in every run, and MFU is reported against both.
DATASHEET_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0}


def write_synthetic_cifar(folder: Path, train: int, test: int, seed: int = 0) -> Path:
    """CIFAR-10 binary batches (5 train files, 1 test file; optnas/tasks/cifar10.py reads them) of learnable
    synthetic images: each class has its own colour and stripe pattern, plus noise."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(40, 216, size=(10, 3))
    stripes = np.stack([np.sin(np.arange(32) * (k + 1) * np.pi / 16) for k in range(10)])  # (10, 32)

    def records(n: int) -> bytes:
        labels = rng.integers(0, 10, size=n)
        base = colours[labels][:, :, None, None] + 30 * stripes[labels][:, None, None, :]  # (n, 3, 1, 32)
        images = np.clip(base + rng.normal(0, 40, size=(n, 3, 32, 32)), 0, 255).astype(np.uint8)
        out = np.empty((n, 1 + 3072), dtype=np.uint8)
        out[:, 0], out[:, 1:] = labels, images.reshape(n, -1)
        return out.tobytes()

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, 6):
        (folder / f"data_batch_{i}.bin").write_bytes(records(max(1, train // 5)))
    (folder / "test_batch.bin").write_bytes(records(test))
    return folder


class GpuSampler:
    """Samples GPU utilization (%) and used memory (MiB) in a thread: pynvml, else nvidia-smi, else nothing.

    Example:
        >>> with GpuSampler(every_s=0.05) as s:
        ...     time.sleep(0.2)
        >>> s.summary(0.0, time.time())["source"] in ("pynvml", "nvidia-smi", "none")
        True
    """

    def __init__(self, every_s: float = 0.25) -> None:
        self.every_s = every_s
        self.rows: list[tuple[float, list[tuple[float, float]]]] = []
        self.source, self._read = _reader()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._read is not None:
                self.rows.append((time.time(), self._read()))
            self._stop.wait(self.every_s)

    def __enter__(self) -> GpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def summary(self, start: float, end: float) -> dict[str, Any]:
        """Mean and max utilization, max used memory, over the samples taken between ``start`` and ``end``."""
        rows = [r for t, r in self.rows if start <= t <= end]
        if not rows:
            return {"source": self.source, "samples": 0}
        per_gpu = list(zip(*rows, strict=True))
        return {
            "source": self.source,
            "samples": len(rows),
            "util_mean_pct": [round(statistics.fmean(u for u, _ in g), 1) for g in per_gpu],
            "util_max_pct": [max(u for u, _ in g) for g in per_gpu],
            "mem_used_max_mib": [max(m for _, m in g) for g in per_gpu],
        }


def _reader() -> tuple[str, Any]:
    if not torch.cuda.is_available():
        return "none", None
    try:
        import pynvml  # nvidia-ml-py: no process per sample

        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]

        def read() -> list[tuple[float, float]]:
            return [
                (
                    float(pynvml.nvmlDeviceGetUtilizationRates(h).gpu),
                    pynvml.nvmlDeviceGetMemoryInfo(h).used / 2**20,
                )
                for h in handles
            ]

        return "pynvml", read
    except Exception:  # pynvml missing or NVML refused: fall back to the command line tool
        smi = shutil.which("nvidia-smi")
        if smi is None:
            return "none", None

        def read_smi() -> list[tuple[float, float]]:
            out = subprocess.run(
                [smi, "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"],
                capture_output=True, text=True, timeout=10, check=True,
            ).stdout
            return [(float(a), float(b)) for a, b in (line.split(",") for line in out.strip().splitlines())]

        return "nvidia-smi", read_smi


def device_info(device: torch.device) -> dict[str, Any]:
    """What the run ran on."""
    info: dict[str, Any] = {
        "type": device.type,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "name": platform.processor() or platform.machine(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(
            name=props.name,
            count=torch.cuda.device_count(),
            capability=f"{props.major}.{props.minor}",
            multiprocessors=props.multi_processor_count,
            memory_gib=round(props.total_memory / 2**30, 1),
            bf16_supported=torch.cuda.is_bf16_supported(),
        )
        smi = shutil.which("nvidia-smi")
        if smi:
            out = subprocess.run([smi, "--query-gpu=driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=10, check=False)
            info["driver"] = out.stdout.strip().splitlines()[0] if out.stdout.strip() else None
    return info


def versions() -> dict[str, Any]:
    def version(name: str) -> str | None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": cudnn,
        **{name: version(name) for name in ("optnas", "optuna", "ray", "numpy")},
    }


def measure_peak(device: torch.device) -> dict[str, Any]:
    """The matmul rate this device reaches (bf16 8192^3 on CUDA, fp32 512^3 on a CPU) and its datasheet peak."""
    cuda = device.type == "cuda"
    n, dtype = (8192, torch.bfloat16) if cuda else (512, torch.float32)
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    repeats = 10
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    seconds = time.perf_counter() - start
    measured = 2 * n**3 * repeats / seconds / 1e12
    name = torch.cuda.get_device_name(device) if cuda else ""
    sheet = next((v for k, v in DATASHEET_BF16_TFLOPS.items() if k in name), None)
    return {
        "matmul": f"{n}x{n}x{n} {str(dtype).removeprefix('torch.')}, mean of {repeats} after 3 warm-ups",
        "matmul_tflops_measured": round(measured, 3),
        "datasheet_bf16_dense_tflops": sheet,
        "datasheet_source": "/work/.library/device/H200.md (vendor datasheet, dense bf16)" if sheet else None,
        # MFU's denominator: the datasheet's bf16 peak where known, else what this device just measured
        "mfu_peak_tflops": sheet if sheet is not None else round(measured, 3),
    }


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def release(device: torch.device) -> None:
    """Give cached device memory back between measurements (and compiled graphs with it)."""
    import gc

    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
