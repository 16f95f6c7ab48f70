"""(b) where an optnas trial's time goes, step by step, against the bare trainable's (no Ray, one process).

Each step of one one-second trial of `tune_wall.py`'s one-point space, as the Ray backend runs it, timed
``--reps`` times in one process with one torch thread (medians and means in ms):

- driver: the draw (``Lifecycle.draw``: the space's suggestion and its certification) on an in-memory study;
  the trial's record (``lifecycle.record`` + ``tell``) on a journal study, as the writer thread runs them;
- worker: ``Lifecycle.prepare`` (screen, static costs), the training (``Trainer.fit``, what bare Tune's
  trainable runs too), ``Lifecycle.finish`` (the record, the trained network's certificate), the final
  report's files (weights, JSON), the start report's node lookup (``where``: needs Ray, so ``--ray``);
- bare: ``optnas.training.train`` of the same spec, what `tune_wall.bare_trainable` trains.

    python benchmarks/cluster_scale/profile_trial.py [--reps 20] [--ray] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from tune_wall import _space  # noqa: E402  # the same one-point space


def _timed(fn: Callable[[], Any], reps: int) -> tuple[dict[str, float], Any]:
    times, out = [], None
    for _ in range(reps):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    ms = [t * 1000 for t in times]
    return {"median_ms": round(statistics.median(ms), 2), "mean_ms": round(statistics.fmean(ms), 2),
            "n": reps}, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--ray", action="store_true", help="also time the start report's node lookup on a local Ray")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    import optuna
    import torch
    from safetensors.torch import save_model

    from optnas.search import SearchSpace, open_storage
    from optnas.search.lifecycle import Lifecycle, record, tell
    from optnas.search.ray.worker import where
    from optnas.spec import ArchSpec
    from optnas.training import Trainer, train

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="optnas-prof-"))
    space = SearchSpace.from_yaml(_space(args.epochs, 300, work))
    life = Lifecycle(space, device="cpu")
    memory = optuna.create_study()
    steps: dict[str, dict[str, float]] = {}

    def draw() -> dict[str, Any]:
        spec, _, _ = life.draw(memory.ask())
        return spec.to_dict()

    steps["driver: draw (suggest + certify)"], spec_dict = _timed(draw, args.reps)
    spec = ArchSpec.from_dict(spec_dict)
    steps["worker: prepare"], prepared = _timed(lambda: life.prepare(spec), args.reps)
    options = space.suggest_train(memory.ask())

    def fit() -> Any:
        return Trainer(spec, life.task, seed=0, device="cpu", **options).fit(args.epochs)

    steps["worker: train (Trainer.fit)"], result = _timed(fit, args.reps)
    steps["worker: finish (record, trained certificate)"], outcome = _timed(
        lambda: life.finish(result, prepared), args.reps)

    def files() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            save_model(outcome.model.cpu(), os.path.join(tmp, "model.safetensors"))
            Path(tmp, "final.json").write_text(json.dumps({"optnas_final": outcome.to_dict()}))

    steps["worker: final report files"], _ = _timed(files, args.reps)

    def bare() -> Any:
        return train(spec_dict, space.task(), epochs=args.epochs, seed=0, device="cpu", lr=0.01, batch_size=64)

    steps["bare: train (optnas.training.train)"], _ = _timed(bare, args.reps)
    storage = open_storage(str(work / "journal.log"))
    study = optuna.create_study(storage=storage, study_name="prof")

    def write() -> None:
        trial = study.ask()
        life.draw(trial)
        record(trial, outcome, upload=None)
        tell(study, trial.number, outcome)

    steps["driver: draw + record + tell on a journal"], _ = _timed(write, args.reps)
    if args.ray:
        import ray

        ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False, logging_level="error")
        try:
            steps["worker: start report's node lookup (where)"], _ = _timed(
                lambda: ray.get(ray.remote(num_cpus=0)(where).remote()), args.reps)
            steps["ray: an empty remote call (reference)"], _ = _timed(
                lambda: ray.get(ray.remote(num_cpus=0)(lambda: None).remote()), args.reps)
        finally:
            ray.shutdown()
    doc = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "epochs": args.epochs,
           "load_before_after": os.getloadavg(), "steps": steps}
    text = json.dumps(doc, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
