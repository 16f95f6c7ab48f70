"""CIFAR-10 from the standard binary batches in a directory the user names (never downloaded).

Binary format (https://www.cs.toronto.edu/~kriz/cifar.html): each file is a sequence of 3,073-byte
records, one label byte (0..9) then 3,072 pixel bytes, the red, green and blue 32×32 planes in row-major
order. ``data_batch_1.bin`` .. ``data_batch_5.bin`` are the training set, ``test_batch.bin`` the test set.
Pixels stay uint8 in memory (a quarter of float32) and are normalised on the device batch by batch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import UsageError
from . import _validate as v
from .base import TensorTask
from .registry import SPLIT, TASKS

TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
RECORD_BYTES = 1 + 3 * 32 * 32
# per-channel mean and std of the CIFAR-10 training set, in [0, 1] units (the usual constants)
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
_PAD = 4  # random-crop padding of the standard augmentation


def find_directory(root: str | Path) -> Path:
    """The directory holding the batches: ``root`` itself or its ``cifar-10-batches-bin`` sub-directory."""
    root = Path(root).expanduser()
    for candidate in (root, root / "cifar-10-batches-bin"):
        if all((candidate / name).is_file() for name in (*TRAIN_FILES, TEST_FILE)):
            return candidate
    missing = [n for n in (*TRAIN_FILES, TEST_FILE) if not (root / n).is_file()]
    raise UsageError(
        f"cifar10 task: root={str(root)!r} does not hold the CIFAR-10 binary batches (missing: "
        f"{', '.join(missing)}); download cifar-10-binary.tar.gz from "
        "https://www.cs.toronto.edu/~kriz/cifar.html, extract it, and pass root=<its cifar-10-batches-bin>"
    )


def read_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(N, 3, 32, 32)`` uint8 and labels ``(N,)`` int64 from one binary batch file."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD_BYTES:
        raise UsageError(
            f"cifar10 task: {path} is not a CIFAR-10 binary batch: its size {raw.size} bytes is not a "
            f"positive multiple of the {RECORD_BYTES}-byte record"
        )
    records = raw.reshape(-1, RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise UsageError(f"cifar10 task: {path} holds label {labels.max()}; CIFAR-10 labels are 0..9")
    images = records[:, 1:].reshape(-1, 3, 32, 32)
    return torch.from_numpy(images.copy()), torch.from_numpy(labels)


def _normalise(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return (x.float() / 255.0 - mean) / std


def _flip_and_crop(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and random 32×32 crop of the 4-padded image, for the whole batch at once."""
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=generator).to(x.device) < 0.5
    x = torch.where(flip.view(n, 1, 1, 1), x.flip(3), x)
    padded = torch.nn.functional.pad(x, (_PAD, _PAD, _PAD, _PAD))
    dy = torch.randint(0, 2 * _PAD + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * _PAD + 1, (n,), generator=generator).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device)).view(n, 1, h, 1)
    cols = (dx[:, None] + torch.arange(w, device=x.device)).view(n, 1, 1, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1, 1)
    channel = torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1)
    return padded[batch, channel, rows, cols]


@TASKS.register(
    "cifar10",
    params={"root": "a folder with cifar-10-batches-py", "augment": "true or false",
            "max_train": "None or integers >= 1", "seed": SPLIT["seed"], "val_fraction": "(0, 1)"},
)
def cifar10(
    root: str | None = None,
    augment: bool = True,
    max_train: int | None = None,
    seed: int = 0,
    val_fraction: float = 0.1,
) -> TensorTask:
    """CIFAR-10 classification, images ``(3, 32, 32)``: train/val split of the 50,000 training images,
    the official 10,000 test images as the test split.

    ``augment`` applies random flips and 4-pixel crops to training batches on the device; ``max_train``
    keeps only the first that many training images (after the seeded shuffle), for quick searches.

    Example:
        >>> task = cifar10(root="~/data/cifar-10-batches-bin")   # doctest: +SKIP
        >>> task.input_shape, task.num_samples("test")            # doctest: +SKIP
        ((3, 32, 32), 10000)
    """
    if not isinstance(root, str | Path) or not str(root):
        raise UsageError(
            f"cifar10 task: root={root!r} is invalid: name the directory holding the CIFAR-10 binary batches "
            "(data_batch_1.bin .. data_batch_5.bin, test_batch.bin)"
        )
    augment = v.boolean("cifar10", "augment", augment)
    seed = v.integer("cifar10", "seed", seed, 0)
    val_fraction = v.fraction("cifar10", "val_fraction", val_fraction, allow_zero=False)
    if max_train is not None:
        max_train = v.integer("cifar10", "max_train", max_train, 2)
    directory = find_directory(root)
    parts = [read_batch(directory / name) for name in TRAIN_FILES]
    x = torch.cat([p[0] for p in parts])
    y = torch.cat([p[1] for p in parts])
    # the official test set is the test split: val is a seeded draw from the training images only
    order = torch.from_numpy(np.random.default_rng(seed).permutation(int(x.shape[0])))
    n_val = max(1, round(int(x.shape[0]) * val_fraction))
    val_idx, train_idx = order[:n_val], order[n_val:]
    if max_train is not None:
        train_idx = train_idx[:max_train]
    train_x, train_y = x[train_idx], y[train_idx]
    splits = {
        "train": (train_x, train_y),
        "val": (x[val_idx], y[val_idx]),
        "test": read_batch(directory / TEST_FILE),
    }
    params = {
        "root": str(root),
        "augment": augment,
        "max_train": max_train,
        "seed": seed,
        "val_fraction": val_fraction,
    }
    return TensorTask(
        "cifar10",
        "classification",
        splits,
        10,
        params,
        transform=_normalise,
        augment=_flip_and_crop if augment else None,
    )
