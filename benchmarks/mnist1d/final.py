"""The final evaluation of the MNIST-1D search, under the paper's protocol: the test signals are touched here only.

1. The search's best trial, chosen on validation (``optnas export --trial best``), is exported to
   ``benchmarks/mnist1d/best/`` (model.py + weights); this script loads that folder with torch alone and scores
   it once on the 1,000 reference test signals.
2. The chosen architecture is trained again from scratch with ``--seeds`` fresh seeds (the trial's own
   training options: epochs, lr, batch size, ...) on the same training signals (validation carved from the
   4,000 training signals, test withheld), and each retrained network is scored once on the test signals.

Writes ``search.json`` beside this file: the search's cost and trials, the exported network's test accuracy,
the retrains' (mean, std, median, min, max), params and FLOPs next to the CNN baseline's.

    nice python benchmarks/mnist1d/final.py --storage /tmp/mnist1d/journal.log --study mnist1d_signal \\
        --seeds 100 101 102 103 104
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import optuna
import torch

import optnas
from optnas.training.metrics import flops_per_sample

HERE = Path(__file__).resolve().parent


def test_accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy on the reference test signals: the one place they are read."""
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(-1) == y).float().mean())


def load_exported(folder: Path) -> torch.nn.Module:
    """The exported model.py, imported as a plain module (torch alone), with its weights."""
    spec = importlib.util.spec_from_file_location("exported_mnist1d", folder / "model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load()  # type: ignore[no-any-return]


def retrain(job: tuple[dict[str, Any], int, int, dict[str, Any]]) -> dict[str, Any]:
    """Train the chosen spec from scratch with a fresh seed on the search's task, then score it once on test."""
    spec_dict, epochs, seed, options = job
    torch.set_num_threads(1)
    task = optnas.tasks.get("mnist1d", as_signal=True, reference=True, withhold_test=True)
    x_test, y_test = optnas.tasks.get("mnist1d", as_signal=True, reference=True).tensors("test")
    start = time.perf_counter()
    spec = optnas.ArchSpec.from_dict(spec_dict)
    result = optnas.train(spec, task, epochs=epochs, seed=seed, device="cpu", **options)
    return {
        "status": result.status, "val_metric": result.metrics.get("val_metric"),
        "test_accuracy": test_accuracy(result.model, x_test, y_test) if result.status == "complete" else None,
        "train_s": time.perf_counter() - start,
    }


def search_summary(storage: str, study_name: str) -> dict[str, Any]:
    study = optuna.load_study(study_name=study_name, storage=optnas.storage.open_readonly(storage))
    trials = study.get_trials(deepcopy=False)
    durations = [(t.datetime_complete - t.datetime_start).total_seconds()
                 for t in trials if t.datetime_start and t.datetime_complete]
    states: dict[str, int] = {}
    for t in trials:
        status = t.user_attrs.get("status") or t.state.name.lower()
        states[status] = states.get(status, 0) + 1
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    return {
        "trials": len(trials),
        "by_status": states,
        "trial_cpu_s_sum": sum(durations),
        "wall_s": (max(ends) - min(starts)).total_seconds() if starts and ends else None,
        "table": [
            {"number": t.number, "status": t.user_attrs.get("status") or t.state.name.lower(),
             "val_metric": t.value if t.values else None, "spec": t.user_attrs.get("spec"),
             "train": t.user_attrs.get("train")}
            for t in trials
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--storage", required=True)
    parser.add_argument("--study", default="mnist1d_signal")
    parser.add_argument("--exported", default=str(HERE / "best"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102, 103, 104])
    parser.add_argument("--processes", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)

    folder = Path(args.exported)
    spec = optnas.ArchSpec.from_dict(json.loads((folder / "spec.json").read_text()))
    source = json.loads((folder / "export.json").read_text())["source"]
    study = optuna.load_study(study_name=args.study, storage=optnas.storage.open_readonly(args.storage))
    chosen = study.trials[int(source["trial"])]
    train_options = dict(chosen.user_attrs["train"])
    epochs, _ = train_options.pop("epochs"), train_options.pop("seed", None)

    # the reference test signals, read for scoring only
    x_test, y_test = optnas.tasks.get("mnist1d", as_signal=True, reference=True).tensors("test")

    exported = load_exported(folder)
    out: dict[str, Any] = {
        "protocol": "reference data (mnist1d generator defaults), validation 400 of the 4,000 training "
                    "signals, test (1,000) withheld from the search and read only by this script",
        "search": search_summary(args.storage, args.study),
        "chosen": {"trial": int(source["trial"]), "val_metric": chosen.value, "spec": spec.to_dict(),
                   "train": {"epochs": epochs, **train_options}},
        "exported_test_accuracy": test_accuracy(exported, x_test, y_test),
        "params": sum(p.numel() for p in exported.parameters()),
        "flops": flops_per_sample(exported, x_test[:8]),
        "machine": f"{platform.machine()}, torch {torch.__version__} CPU, 1 thread a process, shared with other jobs",
        "date": time.strftime("%Y-%m-%d"),
    }
    # one process a seed (1 thread each): the retrains are independent
    jobs = [(spec.to_dict(), epochs, seed, train_options) for seed in args.seeds]
    with ProcessPoolExecutor(max_workers=min(args.processes, len(jobs))) as pool:
        runs = {str(seed): run for seed, run in zip(args.seeds, pool.map(retrain, jobs), strict=True)}
    for seed, run in runs.items():
        print(seed, run, flush=True)
    accs = [r["test_accuracy"] for r in runs.values() if r["test_accuracy"] is not None]
    out["retrains"] = {
        "runs": runs,
        "test_accuracy": {"mean": statistics.fmean(accs), "std": statistics.pstdev(accs),
                          "median": statistics.median(accs), "min": min(accs), "max": max(accs),
                          "seeds": len(accs)} if accs else None,
    }
    (HERE / "search.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: out[k] for k in ("exported_test_accuracy", "params", "flops")}), out["retrains"]["test_accuracy"])


if __name__ == "__main__":
    main()
