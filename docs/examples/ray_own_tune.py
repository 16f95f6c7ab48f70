"""Your own Ray Tune job with optnas as its search algorithm (docs/ray.md, "Your own Tune job").

    python docs/examples/ray_own_tune.py [--torch-trainer] [--asha] [--storage runs/journal.log] [--trials 4]

The trainable is yours: here it trains the certified spec it is given with `optnas.train`, or (with
``--torch-trainer``) runs a Ray Train ``TorchTrainer`` of 2 workers (gloo on CPU; NCCL and one GPU each on a
GPU cluster) with a DistributedDataParallel loop of its own. The trials land in the optnas study:
``optnas dashboard --storage runs/journal.log`` and ``optnas export --storage ... --study own --out best``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import ray
import torch
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from safetensors.torch import save_model

import optnas
import optnas.search.ray

SPACE = Path(__file__).resolve().parents[2] / "search_spaces" / "rings.yaml"
REPORTED = ("val_metric", "test_metric", "params", "flops", "latency_ms", "wall_s")


def _task(config: dict) -> optnas.tasks.Task:
    return optnas.tasks.get(config["task"]["name"], **config["task"]["params"])


def _weights(model: torch.nn.Module) -> str:
    path = os.path.join(tempfile.mkdtemp(prefix="own-tune-"), "weights.safetensors")  # the driver uploads it
    save_model(model.cpu(), path)
    return path


def optnas_trainable(config: dict) -> None:
    """One Tune trial: train the spec with optnas.train and report what the study needs."""
    options = dict(config["train"])
    epochs, seed = options.pop("epochs"), options.pop("seed")
    spec = optnas.ArchSpec.from_dict(config["spec"])

    def each_epoch(epoch: int, info: dict) -> None:
        # every epoch but the last is an intermediate report (a scheduler may stop the trial at it); the last
        # epoch's value comes with the final report
        if epoch < epochs - 1 and info["val_metric"] is not None:
            tune.report({"val_metric": info["val_metric"]})

    result = optnas.train(spec, _task(config), epochs=epochs, seed=seed, device="cpu", callback=each_epoch,
                          **options)
    report = {k: result.metrics[k] for k in REPORTED if result.metrics.get(k) is not None}
    # the final report has a status: the searcher tells it from a stop by a scheduler
    report.update(status=result.status, reason=result.reason or "")
    if result.status == "complete" and result.model is not None:
        report["weights"] = _weights(result.model)
    tune.report(report)


def ddp_loop(config: dict) -> None:
    """Each Ray Train worker: the same network under DistributedDataParallel, batches split by rank."""
    import ray.train
    import ray.train.torch

    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    task, options = _task(config), config["train"]
    torch.manual_seed(options["seed"])
    net = optnas.build(optnas.ArchSpec.from_dict(config["spec"]), task.input_shape, task.num_outputs)
    model = ray.train.torch.prepare_model(net)
    opt = torch.optim.AdamW(model.parameters(), lr=options["lr"], weight_decay=options["weight_decay"])
    for epoch in range(options["epochs"]):
        batches = list(task.batches("train", batch_size=options["batch_size"], shuffle=True,
                                    generator=torch.Generator().manual_seed(epoch)))
        # every rank takes the same number of steps: DDP all-reduces in each backward, so a rank with one
        # batch more than the other would wait for it forever
        steps = max(1, len(batches) // world)
        for j in range(steps):
            x, y = batches[(rank + world * j) % len(batches)]
            opt.zero_grad()
            task.loss(model(x), y).backward()
            opt.step()
        with torch.no_grad():
            x, y = task.tensors("val")
            val = float((model(x).argmax(1) == y).float().mean())
        metrics = {"val_metric": val, "epoch": epoch}
        checkpoint = None
        if rank == 0 and epoch == options["epochs"] - 1:
            metrics["weights"] = _weights(net)
            # Ray Train keeps the metrics of reports that carry a checkpoint: that is what fit() returns
            checkpoint = ray.train.Checkpoint.from_directory(os.path.dirname(metrics["weights"]))
        ray.train.report(metrics, checkpoint=checkpoint)


def torch_trainer_trainable(config: dict) -> None:
    """One Tune trial that spans 2 Ray Train workers (a trial over several GPUs on a cluster)."""
    from ray.train import ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    # half a CPU per worker so 2 workers fit a 2-core machine; on a GPU cluster: use_gpu=True (one GPU each)
    scaling = ScalingConfig(num_workers=2, use_gpu=False, resources_per_worker={"CPU": 0.5})
    trainer = TorchTrainer(ddp_loop, train_loop_config=config, scaling_config=scaling,
                           torch_config=TorchConfig(backend="gloo"))
    final = trainer.fit().metrics or {}
    tune.report({k: v for k, v in final.items() if k in ("val_metric", "weights")} | {"status": "complete"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-trainer", action="store_true")
    parser.add_argument("--storage", default="optnas-runs/journal.log")
    parser.add_argument("--study", default="own")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--asha", action="store_true", help="stop poor trials early (they are recorded PRUNED)")
    parser.add_argument("--space", default=str(SPACE))
    args = parser.parse_args()
    space = optnas.SearchSpace.from_yaml(args.space)
    search_alg = optnas.search.ray.searcher(space, storage=args.storage, study=args.study)
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False)
    try:
        trainable = torch_trainer_trainable if args.torch_trainer else optnas_trainable
        # a TorchTrainer's own workers take the CPUs; its Tune trial needs almost none
        resources = {"cpu": 0.1} if args.torch_trainer else {"cpu": 1}
        tuner = tune.Tuner(
            tune.with_resources(trainable, resources),
            tune_config=tune.TuneConfig(
                search_alg=search_alg, num_samples=args.trials, max_concurrent_trials=1,
                scheduler=ASHAScheduler(metric="val_metric", mode="max", grace_period=1) if args.asha else None,
            ),
        )
        tuner.fit()
    finally:
        ray.shutdown()
    counts = optnas.outcome.counts(optnas.outcome.trial_status(t) for t in search_alg.study.trials)
    print(f"study {args.study!r} in {args.storage}: {optnas.outcome.format_counts(counts)}")


if __name__ == "__main__":
    main()
