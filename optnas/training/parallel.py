"""Data-parallel training of one run over the ranks of an initialised ``torch.distributed`` process group.

``batch_size`` stays the **global** batch: every rank draws the same batch order (the same seed) and trains
on its contiguous slice of each batch (``batch_size / world_size`` samples), and DDP averages the gradients,
so a step is the step one worker would take on the whole batch (up to the order of float sums) and the
learning rate needs no scaling. Every rank takes the same number of steps (DDP all-reduces in each backward:
a rank with one step more would wait for ever), the epoch's loss and metric sums are summed over the ranks,
and a time budget stops every rank at the same step. Scoring (validation, test, costs) runs on each rank's
replica of the model, so every rank holds the same curves.

Example (inside a Ray Train ``TorchTrainer`` loop, or any ``torchrun`` script)::

    trainer = optnas.training.Trainer(spec, task, seed=0, data_parallel=True, batch_size=256)
    result = trainer.fit(10)          # rank 0 saves trainer.state_dict() when it checkpoints
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..errors import UsageError


@dataclass(frozen=True)
class DataParallel:
    """This process's rank and the world size of the run."""

    rank: int
    world: int
    device: torch.device  # where collectives run (NCCL needs CUDA tensors)

    @classmethod
    def join(cls, device: torch.device, batch_size: int) -> DataParallel:
        if not (dist.is_available() and dist.is_initialized()):
            raise UsageError(
                "data_parallel=True needs an initialised torch.distributed process group (Ray Train's "
                "TorchTrainer, torchrun)"
            )
        world = dist.get_world_size()
        if batch_size % world:
            raise UsageError(
                f"train option batch_size={batch_size} is invalid with {world} data-parallel workers: the "
                f"global batch is split evenly, so it must be a multiple of {world}"
            )
        return cls(dist.get_rank(), world, device)

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def shard(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous slice of a global batch (the last ranks' are shorter for a short batch)."""
        size = -(-int(batch.shape[0]) // self.world)
        return batch[self.rank * size : (self.rank + 1) * size]

    def sums(self, loss: torch.Tensor, score: torch.Tensor, seen: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        """The epoch's loss and metric sums and sample count over every rank."""
        count = torch.tensor(float(seen), device=loss.device, dtype=torch.float64)
        total = torch.stack([loss.double(), score.double(), count])
        dist.all_reduce(total)
        return total[0].to(loss.dtype), total[1].to(score.dtype), int(total[2].item())

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` holds on any rank (one all-reduce)."""
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item() > 0)
