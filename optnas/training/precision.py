"""Devices and mixed precision: autocast exists on CUDA only, so precision is resolved per device."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager

import torch

from ..errors import UsageError

# precision name -> autocast dtype (None: plain fp32)
PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` is CUDA when available, else the CPU; a CUDA device that is absent is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise UsageError(f"device={device!r} is invalid; valid devices: auto, cpu, cuda, cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"device={device!r} is invalid: no CUDA device is available (use cpu or auto)")
    if dev.type not in ("cpu", "cuda"):
        raise UsageError(f"device={device!r} is invalid; valid devices: auto, cpu, cuda, cuda:N")
    return dev


def resolve_precision(precision: str, device: torch.device) -> str:
    """The precision a run uses on ``device``: "auto" picks bf16 on capable CUDA devices, else fp32."""
    if precision == "auto":
        cuda_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
        return "bf16" if cuda_bf16 else "fp32"
    if PRECISIONS[precision] is not None and device.type != "cuda":
        raise UsageError(
            f"train option precision={precision!r} is invalid on device {device}: mixed precision is "
            "CUDA-only (use precision='fp32' or 'auto')"
        )
    return precision


def autocast(precision: str, device: torch.device) -> Callable[[], AbstractContextManager[object]]:
    """A factory of the autocast context for ``precision`` (a no-op context for fp32)."""
    dtype = PRECISIONS[precision]
    if dtype is None:
        return contextlib.nullcontext
    return lambda: torch.autocast(device_type=device.type, dtype=dtype)


def release_cached_memory(device: torch.device) -> None:
    """Return the CUDA caching allocator's unused blocks to the driver after a run (a no-op on the CPU).

    Trials that share a GPU (Ray's fractional GPUs, ``--jobs K`` on one device) are separate processes: memory
    one of them keeps cached after its run is memory the others cannot allocate.
    """
    if device.type == "cuda":
        torch.cuda.empty_cache()
