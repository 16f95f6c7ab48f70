"""scikit-learn's 8×8 handwritten digits (1,797 images shipped with scikit-learn, nothing downloaded)."""

from __future__ import annotations

import torch

from . import _validate as v
from .base import TensorTask, tensor_splits
from .registry import SPLIT, TASKS


@TASKS.register("digits", params={"as_images": "true or false", **SPLIT})
def digits(
    as_images: bool = False,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
) -> TensorTask:
    """Ten-class digit recognition; images ``(1, 8, 8)`` or flat vectors ``(64,)``.

    Pixels (0..16) are standardised with the mean and standard deviation of the training split only, so
    no statistic leaks from the test split; ``task.standardize`` records them, so an exported network
    takes raw pixels as scikit-learn gives them.

    Example:
        >>> digits(as_images=True).input_shape
        (1, 8, 8)
        >>> digits().input_shape
        (64,)
        >>> len(digits().standardize["mean"])
        64
    """
    from sklearn.datasets import load_digits  # scikit-learn is heavy to import: only when asked

    as_images = v.boolean("digits", "as_images", as_images)
    seed = v.integer("digits", "seed", seed, 0)
    val_fraction, test_fraction = v.split_fractions("digits", val_fraction, test_fraction)
    data = load_digits()
    x = torch.as_tensor(data.images, dtype=torch.float32)
    x = x.unsqueeze(1) if as_images else x.flatten(1)
    splits = tensor_splits(x, torch.as_tensor(data.target, dtype=torch.long), val_fraction, test_fraction, seed)
    train_x = splits["train"][0]
    mean, std = train_x.mean(), train_x.std()
    splits = {s: ((xs - mean) / std, ys) for s, (xs, ys) in splits.items()}
    params = {
        "as_images": as_images,
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
    }
    task = TensorTask("digits", "classification", splits, 10, params)
    # one scalar pair over all pixels, written out per feature: the shape export's Standardize checks
    task.standardize = {k: torch.full(x.shape[1:], float(s)).tolist() for k, s in (("mean", mean), ("std", std))}
    return task
