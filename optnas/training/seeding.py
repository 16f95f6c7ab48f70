"""The seeding rule of a run, in one place: what ``seed`` fixes and how a run's random state is carried.

``seed`` fixes two things: torch's global generator is seeded with it just before the model is built (the
initial weights, and anything random the model does while training, e.g. dropout), and a separate CPU
``torch.Generator`` seeded with it draws the batch order. A run keeps its own copy of the global state
(`RngState`), so it never disturbs the caller's, and a checkpoint can carry it.

Example:
    >>> import torch
    >>> from optnas.training.seeding import RngState, seeded
    >>> with seeded(3, torch.device("cpu")) as rng:
    ...     a = torch.rand(1)
    >>> with rng.active():
    ...     b = torch.rand(1)                      # continues where the seeded block stopped
    >>> with seeded(3, torch.device("cpu")):
    ...     c, d = torch.rand(1), torch.rand(1)
    >>> bool(a == c and b == d)
    True
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch


def batch_generator(seed: int) -> torch.Generator:
    """The generator of a run's batch order."""
    return torch.Generator().manual_seed(seed)


@dataclass
class RngState:
    """A run's global torch RNG state (CPU, and its CUDA device's when it runs on one)."""

    device: torch.device
    cpu: torch.Tensor
    cuda: torch.Tensor | None = None

    def capture(self) -> None:
        """Take the current global state as this run's (call it inside `active`)."""
        self.cpu = torch.get_rng_state()
        self.cuda = torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None

    @contextlib.contextmanager
    def active(self) -> Iterator[RngState]:
        """Run a block on this state, then give the caller its own back (the block's end state is not kept:
        call `capture`)."""
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.set_rng_state(self.cpu)
            if self.cuda is not None:
                torch.cuda.set_rng_state(self.cuda, self.device)
            yield self

    def to_dict(self) -> dict[str, Any]:
        return {"cpu": self.cpu.clone(), "cuda": None if self.cuda is None else self.cuda.clone()}

    def load(self, state: dict[str, Any]) -> None:
        self.cpu = state["cpu"]
        # a CUDA state resumes on CUDA only; a CPU run's state has none
        self.cuda = state.get("cuda") if self.device.type == "cuda" else None


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[RngState]:
    """Seed torch with ``seed`` for the block (build the model in it); yields the run's `RngState`, captured
    when the block ends, and gives the caller its own state back."""
    state = RngState(device, torch.get_rng_state())
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield state
        state.capture()
