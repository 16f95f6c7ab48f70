"""Detection of a run that blew up: a non-finite loss or gradient, or exploding outputs.

Reading a value back from a GPU stalls its queue, so per-step statistics stay on the device and are read
in one transfer every ``check_every`` steps; the reason still names the first bad step.
"""

from __future__ import annotations

import math

import torch


class Diverged(Exception):
    """Raised inside the training loop when the run blew up; `optnas.train` records it, never re-raises."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DivergenceMonitor:
    """Collects (loss, max |output|, gradient norm) per step and checks them in batches.

    Example:
        >>> monitor = DivergenceMonitor(threshold=1e6, check_every=1)
        >>> monitor.record(0, 0, torch.tensor(float("nan")), torch.zeros(2, 3))
        Traceback (most recent call last):
        ...
        optnas.training.divergence.Diverged: loss is nan at epoch 0, step 0
    """

    def __init__(self, threshold: float, check_every: int = 1) -> None:
        self.threshold = threshold
        self.check_every = check_every
        self._steps: list[tuple[int, int]] = []
        self._stats: list[torch.Tensor] = []

    def record(
        self,
        epoch: int,
        step: int,
        loss: torch.Tensor,
        output: torch.Tensor,
        grad_norm: torch.Tensor | None = None,
    ) -> None:
        """Note one training step (all tensors stay on their device)."""
        norm = grad_norm.detach().float() if grad_norm is not None else torch.zeros((), device=loss.device)
        self._stats.append(torch.stack([loss.detach().float(), output_magnitude(output), norm.to(loss.device)]))
        self._steps.append((epoch, step))
        if len(self._stats) >= self.check_every:
            self.flush()

    def flush(self) -> None:
        """Check every pending step; raise `Diverged` naming the first bad one."""
        if not self._stats:
            return
        values = torch.stack(self._stats).cpu().tolist()  # the one device sync of the window
        steps, self._steps, self._stats = self._steps, [], []
        for (epoch, step), (loss, magnitude, norm) in zip(steps, values, strict=True):
            problem = check_values(loss, magnitude, self.threshold, norm)
            if problem:
                raise Diverged(f"{problem} at epoch {epoch}, step {step}")


def output_magnitude(output: torch.Tensor) -> torch.Tensor:
    """max |output| as a 0-d float tensor (NaN when any entry is NaN, since max propagates NaN)."""
    return output.detach().float().abs().amax() if output.numel() else torch.zeros((), device=output.device)


def check_values(loss: float, magnitude: float, threshold: float, grad_norm: float = 0.0) -> str | None:
    """What blew up, in words, or None when the step is healthy."""
    if not math.isfinite(loss):
        return f"loss is {loss}"
    if not math.isfinite(magnitude):
        return "the model output is non-finite"
    if magnitude > threshold:
        return f"the model output exploded (max |output| = {magnitude:.3g} > {threshold:.3g})"
    if not math.isfinite(grad_norm):
        return f"the gradient norm is {grad_norm}"
    return None
