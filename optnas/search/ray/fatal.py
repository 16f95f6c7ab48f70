"""Failures a Ray retry cannot fix: recorded as the trial's outcome, never retried.

Ray Tune retries a trial whose trainable raised, up to ``FailureConfig(max_failures)`` times, and has no
non-retryable error (``Trial.should_recover`` counts failures, whatever they were). A trial of optnas is
deterministic (the same spec, seed and data): an exception its own code raises (CUDA not visible, a bad
training option, a plugin that does not import) would be raised again by every retry. So the worker ends
such a trial normally, with a failed `TrialEnd` whose reason is the error, and Ray retries only what kills
a worker (a node lost, a process killed, memory exhausted), where the trial's checkpoint helps.

`check_device` is the rule that a trial holding a GPU share trains on it: without CUDA it fails with that
reason, never silently on the CPU.

Example:
    >>> retryable(MemoryError()), retryable(ValueError("lr must be > 0"))
    (True, False)
"""

from __future__ import annotations

import os
from typing import Any

import torch

from ..lifecycle import Lifecycle, TrialEnd

# A retry may fix these: another trial freed the GPU's memory, a shared file system or network came back.
RETRYABLE: tuple[type[BaseException], ...] = (MemoryError, OSError, torch.cuda.OutOfMemoryError)


class NoCuda(RuntimeError):
    """A trial that holds a GPU share (or asked for ``--device cuda``) on a worker where CUDA is not visible."""


def retryable(exc: BaseException) -> bool:
    """Whether a Ray retry of the trial may succeed: memory and I/O errors, and Ray's own (its control flow)."""
    return isinstance(exc, RETRYABLE) or type(exc).__module__.split(".")[0] == "ray"


def check_device(device: str, gpu_ids: list[str]) -> str:
    """The device the trial trains on: ``cuda`` when it holds a GPU share (``gpu_ids``, Ray's) or asked for
    cuda, else ``device``. Raises `NoCuda` when that is cuda and torch sees no CUDA device here."""
    if not gpu_ids and device != "cuda":
        return device
    if not torch.cuda.is_available():
        held = f"holds GPU {','.join(gpu_ids)}" if gpu_ids else "asked for --device cuda"
        raise NoCuda(
            f"the trial {held} but CUDA is not visible on this node (torch {torch.__version__}, CUDA "
            f"{torch.version.cuda or 'not built in'}, CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r})"
        )
    return "cuda"


def failed(plan: dict[str, Any], exc: BaseException) -> TrialEnd:
    """The outcome of a trial whose own code raised ``exc``: failed, its reason the error (status ``error``)."""
    return Lifecycle.error(exc, int(plan["number"]))
