"""MNIST-1D (Greydanus 2020): 40-sample 1-D signals of ten digit templates, generated locally.

The ``mnist1d`` package's ``get_dataset`` downloads a pickle by default; optnas only ever calls its
generator ``mnist1d.data.make_dataset``, which needs numpy and scipy and touches neither the network nor
the disk. Its generator seeds numpy's *global* RNG, so we save and restore that state around the call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import UsageError
from . import _validate as v
from .base import TensorTask, tensor_splits
from .registry import SAMPLES, SPLIT, TASKS


def generate(num_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """All ``num_samples`` signals ``(N, 40)`` and labels ``(N,)`` of MNIST-1D's generator with ``seed``."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise UsageError(
            "the mnist1d task needs the mnist1d package: pip install 'optnas[mnist1d]' (or mnist1d)"
        ) from None
    args = get_dataset_args()
    args.num_samples = num_samples
    args.seed = seed
    state = np.random.get_state()
    try:
        data: dict[str, Any] = make_dataset(args)
    finally:
        np.random.set_state(state)
    x = np.concatenate([data["x"], data["x_test"]])
    y = np.concatenate([data["y"], data["y_test"]])
    return x, y


@TASKS.register("mnist1d", params={"n_samples": SAMPLES, "as_sequence": "true or false", **SPLIT})
def mnist1d(
    n_samples: int = 5000,
    as_sequence: bool = False,
    seed: int = 42,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
) -> TensorTask:
    """Ten-class classification of MNIST-1D signals, as vectors ``(40,)`` or sequences ``(40, 1)``.

    ``seed`` seeds the generator (42, the reference data set's seed, by default) and the split. The data are
    already centred with unit variance by the generator.

    Example:
        >>> task = mnist1d(n_samples=1000)
        >>> task.input_shape, task.num_outputs, task.num_samples("test")
        ((40,), 10, 200)
    """
    n_samples = v.samples("mnist1d", n_samples, 100, features=4 * 40)  # the generator works on padded signals
    as_sequence = v.boolean("mnist1d", "as_sequence", as_sequence)
    seed = v.integer("mnist1d", "seed", seed, 0, 2**32 - 1)
    val_fraction, test_fraction = v.split_fractions("mnist1d", val_fraction, test_fraction)
    x_np, y_np = generate(n_samples, seed)
    x = torch.from_numpy(x_np).float()
    if as_sequence:
        x = x.unsqueeze(-1)  # (tokens=40, features=1)
    splits = tensor_splits(x, torch.from_numpy(y_np).long(), val_fraction, test_fraction, seed)
    params = {
        "n_samples": n_samples,
        "as_sequence": as_sequence,
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
    }
    return TensorTask("mnist1d", "classification", splits, 10, params)
