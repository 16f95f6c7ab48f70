"""The MNIST-1D paper's baselines, our own implementations, trained on the reference data with several seeds.

Greydanus, "Scaling down deep learning" (2020), table of test accuracies on the reference data (4,000
training / 1,000 test signals of length 40, the `mnist1d` generator's default arguments): logistic
regression 32%, MLP 68%, CNN 94%, GRU 91%, human expert 96%. The architectures and the training recipe
are those of the mnist1d repository's ``notebooks/models.py``, ``notebooks/train.py`` and
``notebooks/mnist1d-classification.ipynb`` (read there, written again here):

- logistic regression: one Linear(40, 10);
- MLP: Linear(40, 100) -> ReLU, then h + ReLU(Linear(100, 100) h), then Linear(100, 10);
- CNN: three Conv1d (1->25, kernel 5; 25->25, kernel 3; 25->25, kernel 3), each stride 2, padding 1, ReLU,
  then the flattened 25×5 features -> Linear(125, 10);
- GRU: a bidirectional GRU (hidden 6) over the 40 samples as a sequence of scalars, every step's outputs
  flattened (40·12) -> Linear(480, 10);
- training: Adam, learning rate 1e-2, no weight decay, batch 100, 6,000 steps taking the training set's
  batches in its stored order (cyclically), cross-entropy; the test accuracy after the last step.

The paper trains on all 4,000 training signals and reports the test accuracy at the end (no validation
split, no early stopping); so do we. Writes ``baselines.json`` beside this file.

    nice python benchmarks/mnist1d/baselines.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from optnas.tasks.mnist1d import reference

HERE = Path(__file__).resolve().parent
PAPER = {"logistic": 0.32, "mlp": 0.68, "cnn": 0.94, "gru": 0.91, "human": 0.96}
STEPS, BATCH, LR = 6000, 100, 1e-2


class Logistic(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(40, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class MLP(nn.Module):
    def __init__(self, hidden: int = 100) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(40, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc1(x))
        h = h + torch.relu(self.fc2(h))  # the paper's MLP has this residual connection on its middle layer
        return self.fc3(h)


class CNN(nn.Module):
    def __init__(self, channels: int = 25) -> None:
        super().__init__()
        self.convs = nn.ModuleList([
            nn.Conv1d(1, channels, 5, stride=2, padding=1),  # 40 -> 19
            nn.Conv1d(channels, channels, 3, stride=2, padding=1),  # 19 -> 10
            nn.Conv1d(channels, channels, 3, stride=2, padding=1),  # 10 -> 5
        ])
        self.fc = nn.Linear(channels * 5, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.unsqueeze(1)
        for conv in self.convs:
            h = torch.relu(conv(h))
        return self.fc(h.flatten(1))


class GRU(nn.Module):
    def __init__(self, hidden: int = 6) -> None:
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden * 40, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(x.unsqueeze(-1))  # zero initial state, as the paper's
        return self.fc(out.flatten(1))


MODELS: dict[str, Callable[[], nn.Module]] = {"logistic": Logistic, "mlp": MLP, "cnn": CNN, "gru": GRU}


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        acc = float((model(x).argmax(-1) == y).float().mean())
    model.train()
    return acc


def train(name: str, seed: int, data: dict[str, torch.Tensor]) -> dict[str, float]:
    torch.manual_seed(seed)
    model = MODELS[name]()
    opt = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=0.0)
    x, y = data["x"], data["y"]
    start = time.perf_counter()
    for step in range(STEPS):
        i = (step * BATCH) % len(x)  # the stored order, cyclically (4,000 / 100: 40 batches an epoch)
        loss = nn.functional.cross_entropy(model(x[i : i + BATCH]), y[i : i + BATCH])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {
        "test_accuracy": accuracy(model, data["x_test"], data["y_test"]),
        "train_accuracy": accuracy(model, x, y),
        "train_s": time.perf_counter() - start,
    }


def size(name: str) -> dict[str, int]:
    model = MODELS[name]().eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 40))
    return {"params": sum(p.numel() for p in model.parameters()), "flops": int(counter.get_total_flops())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = {k: torch.from_numpy(v) for k, v in reference().items()}
    data = {k: v.float() if k.startswith("x") else v.long() for k, v in data.items()}
    out_path = HERE / "baselines.json"
    out = json.loads(out_path.read_text()) if out_path.exists() else {}
    out.update({
        "paper": PAPER,
        "recipe": {"optimizer": "Adam", "lr": LR, "weight_decay": 0.0, "batch_size": BATCH, "steps": STEPS},
        "data": {"train": len(data["x"]), "test": len(data["x_test"]), "length": int(data["x"].shape[1])},
        "machine": f"{platform.machine()}, {torch.get_num_threads()} thread, torch {torch.__version__} CPU, "
                   "shared with other jobs",
        "date": time.strftime("%Y-%m-%d"),
    })
    models = out.setdefault("models", {})
    for name in args.models:
        runs = {int(k): v for k, v in models.get(name, {}).get("runs", {}).items()}
        for seed in args.seeds:
            runs[seed] = train(name, seed, data)
            print(name, seed, runs[seed], flush=True)
        accs = [r["test_accuracy"] for r in runs.values()]
        models[name] = {
            **size(name),
            "runs": {str(k): runs[k] for k in sorted(runs)},
            "test_accuracy": {"mean": statistics.fmean(accs), "std": statistics.pstdev(accs),
                              "min": min(accs), "max": max(accs), "seeds": len(accs)},
        }
        out_path.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
