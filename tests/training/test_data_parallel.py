"""`Trainer(data_parallel=True)` over 2 gloo ranks trains as one worker on the global batch: the same curves
(up to the order of float sums), the same curves on every rank, and a resumable state."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import optnas
from optnas.errors import UsageError
from optnas.training import Trainer

SPEC = optnas.ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 0.5}, depth=3, width=12)
OPTIONS = {"batch_size": 64, "lr": 5e-3, "latency_repeats": 1}


RANKS = """
import json, sys
from pathlib import Path
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import optnas
from optnas.training import Trainer

SPEC = optnas.ArchSpec.from_dict(json.loads(sys.argv[1]))
OPTIONS = json.loads(sys.argv[2])


def rank_main(rank, world, init, out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        result = Trainer(SPEC, "rings", seed=3, device="cpu", data_parallel=True, **OPTIONS).fit(3)
        curves = {k: v for k, v in result.curves.items() if k != "epoch_s"}
        Path(f"{out}.{rank}").write_text(json.dumps({"curves": curves, "steps": result.metrics["steps"]}))
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    mp.spawn(rank_main, args=(2, sys.argv[3], sys.argv[4]), nprocs=2, join=True)
"""


@pytest.mark.slow
def test_two_ranks_train_as_one_worker_on_the_global_batch(tmp_path: Path) -> None:
    script, out = tmp_path / "ranks.py", str(tmp_path / "rank")
    script.write_text(RANKS)
    args = [sys.executable, str(script), json.dumps(SPEC.to_dict()), json.dumps(OPTIONS),
            f"file://{tmp_path / 'store'}", out]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads(Path(f"{out}.{r}").read_text()) for r in range(2)]
    assert ranks[0] == ranks[1]  # every rank holds the same curves
    torch.set_num_threads(1)
    alone = Trainer(SPEC, "rings", seed=3, device="cpu", **OPTIONS).fit(3)
    assert ranks[0]["steps"] == alone.metrics["steps"]  # the same steps: each rank takes half of each batch
    for name in ("train_loss", "train_metric", "val_loss", "val_metric", "lr"):
        assert ranks[0]["curves"][name] == pytest.approx(alone.curves[name], abs=1e-5), name


def test_data_parallel_needs_a_process_group() -> None:
    with pytest.raises(UsageError, match="torch.distributed process group"):
        Trainer(SPEC, "rings", device="cpu", data_parallel=True)
