"""Why `optnas.tasks.from_tensors` standardizes by default: scikit-learn's wine, raw against standardized.

One fixed certified network (heavy ball β = 0.5, mlp2 hidden 32, depth 4, width 32, AdamW lr 3e-3, 30
epochs) on 5 split seeds of wine (178 samples, 13 features from ~0.1 to ~1,700), trained on the raw features
and on features standardized with the training split's statistics; logistic regression on standardized
features (scikit-learn, the usual baseline) on the same splits. Writes results.json beside this file.

    python benchmarks/wine/run.py
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import optnas

SEEDS = range(5)
SPEC = optnas.ArchSpec(
    algorithm="heavy_ball", algorithm_params={"beta": 0.5}, block="mlp2", block_params={"hidden": 32},
    depth=4, width=32,
)


def main() -> None:
    torch.set_num_threads(1)
    x, y = load_wine(return_X_y=True)
    out: dict[str, object] = {"spec": SPEC.to_dict(), "epochs": 30, "lr": 3e-3, "seeds": list(SEEDS)}
    for standardize in (False, True):
        accs = []
        for seed in SEEDS:
            task = optnas.tasks.from_tensors(x, y, standardize=standardize, seed=seed, name="wine")
            accs.append(optnas.train(SPEC, task, epochs=30, seed=seed, lr=3e-3).metrics["test_metric"])
        out["optnas_standardized" if standardize else "optnas_raw"] = accs
    logreg = []
    for seed in SEEDS:
        task = optnas.tasks.from_tensors(x, y, standardize=False, seed=seed)
        (xt, yt), (xs, ys) = task.tensors("train"), task.tensors("test")
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(xt.numpy(), yt.numpy())
        logreg.append(float(model.score(xs.numpy(), ys.numpy())))
    out["logistic_regression_standardized"] = logreg
    out["test_samples"] = int(task.num_samples("test"))
    out["machine"] = f"{platform.machine()}, {platform.python_version()}, torch {torch.__version__}"
    out["date"] = time.strftime("%Y-%m-%d")
    (Path(__file__).parent / "results.json").write_text(json.dumps(out, indent=2) + "\n")
    for key in ("optnas_raw", "optnas_standardized", "logistic_regression_standardized"):
        values = out[key]
        print(f"{key}: {min(values):.3f}-{max(values):.3f} test accuracy ({values})")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
