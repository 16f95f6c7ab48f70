"""Synthetic tasks of the two source papers: nested rings, parity, Telgarsky's sawtooth, a polynomial.

Every sample is drawn from a numpy generator seeded by the task's ``seed``, which also seeds the split,
so ``get(name, **params)`` rebuilds exactly the same data anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from .._validate import is_number
from ..errors import UsageError
from . import _validate as v
from .base import TensorTask, tensor_splits
from .registry import SAMPLES, SPLIT, TASKS

_MAX_ENUMERATED_BITS = 16  # 2**16 patterns: the largest parity task enumerated in full


def _task(
    name: str,
    kind: str,
    x: np.ndarray,
    y: np.ndarray,
    num_outputs: int,
    params: Mapping[str, object],
    val_fraction: float,
    test_fraction: float,
    seed: int,
) -> TensorTask:
    y_t = torch.from_numpy(y).long() if kind == "classification" else torch.from_numpy(y).float()
    splits = tensor_splits(torch.from_numpy(x).float(), y_t, val_fraction, test_fraction, seed)
    return TensorTask(name, kind, splits, num_outputs, params)


@TASKS.register("rings", params={"rings": "integers >= 2", "n_samples": f"{SAMPLES}, >= 10·rings", **SPLIT})
def rings(
    rings: int = 3,
    n_samples: int = 3000,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> TensorTask:
    """Nested rings in the plane; the class of a point is its ring (0 = the central disc).

    Ring i covers radii [2i, 2i + 1] / (2·rings − 1): a central disc, then annuli separated by gaps as
    wide as the rings, sampled uniformly by area with the same number of points per ring. A flow in R²
    (a network whose state stays 2-wide) cannot pull the disc out of its surrounding annulus; a network
    lifted to 3+ dimensions can (THEORY.md §1, width lift).

    Example:
        >>> task = rings(rings=3, n_samples=600)
        >>> task.input_shape, task.num_outputs, task.num_samples("train")
        ((2,), 3, 420)
    """
    rings = v.integer("rings", "rings", rings, 2)
    n_samples = v.samples("rings", n_samples, 10 * rings, features=2)
    seed = v.integer("rings", "seed", seed, 0)
    val_fraction, test_fraction = v.split_fractions("rings", val_fraction, test_fraction)

    rng = np.random.default_rng(seed)
    per_ring = n_samples // rings
    label = np.repeat(np.arange(rings), per_ring)
    inner, outer = 2.0 * label, 2.0 * label + 1.0
    # uniform by area: r² uniform between the squared radii
    radius = np.sqrt(rng.uniform(size=label.size) * (outer**2 - inner**2) + inner**2) / (2 * rings - 1)
    angle = rng.uniform(0.0, 2.0 * np.pi, size=label.size)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    params = {
        "rings": rings,
        "n_samples": n_samples,
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
    }
    return _task("rings", "classification", x, label, rings, params, val_fraction, test_fraction, seed)


@TASKS.register(
    "parity", params={"bits": "[1, 64]", "n_samples": f"None (all 2^bits patterns, bits <= 16) or {SAMPLES}", **SPLIT}
)
def parity(
    bits: int = 10,
    n_samples: int | None = None,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> TensorTask:
    """n-bit parity as two-class classification; bits are encoded as ±1 so inputs are centred.

    With ``n_samples=None`` all 2**bits patterns are enumerated (bits <= 16); otherwise ``n_samples``
    patterns are drawn uniformly (with replacement). The class is the XOR of the bits.

    Example:
        >>> task = parity(bits=4)
        >>> task.input_shape, task.num_outputs, sum(task.num_samples(s) for s in ("train", "val", "test"))
        ((4,), 2, 16)
    """
    bits = v.integer("parity", "bits", bits, 1, 64)
    seed = v.integer("parity", "seed", seed, 0)
    val_fraction, test_fraction = v.split_fractions("parity", val_fraction, test_fraction)
    rng = np.random.default_rng(seed)
    if n_samples is None:
        if bits > _MAX_ENUMERATED_BITS:
            raise UsageError(
                f"parity task: bits={bits} with n_samples=None is invalid: enumerating all patterns needs "
                f"bits <= {_MAX_ENUMERATED_BITS}; pass n_samples"
            )
        codes = np.arange(2**bits, dtype=np.int64)
        pattern = (codes[:, None] >> np.arange(bits)) & 1
    else:
        n_samples = v.samples("parity", n_samples, 10, features=bits)
        pattern = rng.integers(0, 2, size=(n_samples, bits))
    label = pattern.sum(axis=1) % 2
    params = {
        "bits": bits,
        "n_samples": n_samples,
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
    }
    x = 2.0 * pattern - 1.0
    return _task("parity", "classification", x, label, 2, params, val_fraction, test_fraction, seed)


def tent_power(x: np.ndarray, k: int) -> np.ndarray:
    """Telgarsky's sawtooth: the tent map t(x) = 1 − |2x − 1| composed k times (2**(k−1) teeth on [0, 1])."""
    y = np.asarray(x, dtype=np.float64)
    for _ in range(k):
        y = 1.0 - np.abs(2.0 * y - 1.0)
    return y


@TASKS.register("telgarsky", params={"k": "[1, 30]", "n_samples": SAMPLES, **SPLIT})
def telgarsky(
    k: int = 3,
    n_samples: int = 2000,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> TensorTask:
    """Regression of the k-fold tent map on x ~ U[0, 1] (Telgarsky's depth-separation sawtooth).

    Example:
        >>> task = telgarsky(k=2, n_samples=100)
        >>> task.input_shape, task.num_outputs, task.metric_name
        ((1,), 1, 'mse')
    """
    # beyond ~30 folds the sawtooth's teeth fall below float32 resolution of x
    k = v.integer("telgarsky", "k", k, 1, 30)
    n_samples = v.samples("telgarsky", n_samples, 10, features=1)
    seed = v.integer("telgarsky", "seed", seed, 0)
    val_fraction, test_fraction = v.split_fractions("telgarsky", val_fraction, test_fraction)
    x = np.random.default_rng(seed).uniform(0.0, 1.0, size=(n_samples, 1))
    params = {
        "k": k,
        "n_samples": n_samples,
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
    }
    return _task("telgarsky", "regression", x, tent_power(x, k), 1, params, val_fraction, test_fraction, seed)


_DEFAULT_DEGREE = 5


@TASKS.register(
    "polynomial",
    params={"degree": "[1, 20] (Chebyshev T_degree)", "coefficients": "finite numbers, lowest power first",
            "n_samples": SAMPLES, **SPLIT},
)
def polynomial(
    degree: int | None = None,
    coefficients: Sequence[float] | None = None,
    n_samples: int = 2000,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> TensorTask:
    """Regression of a smooth 1-D polynomial on x ~ U[−1, 1] (the toy regression of the MRePU paper).

    The paper's exact polynomial is not available to us; by default the target is the Chebyshev
    polynomial T_degree (degree 5: 16x⁵ − 20x³ + 5x), which oscillates between −1 and 1 and so tests
    more than a trend. ``coefficients`` (lowest power first) gives any other polynomial instead.

    Example:
        >>> task = polynomial(coefficients=[0.0, 1.0, 0.0, -1.0], n_samples=100)   # x − x³
        >>> task.input_shape, task.num_outputs
        ((1,), 1)
    """
    if degree is not None and coefficients is not None:
        raise UsageError("polynomial task: give degree or coefficients, not both")
    if coefficients is not None:
        ok = (
            isinstance(coefficients, list | tuple)
            and len(coefficients) > 0
            and all(is_number(c) for c in coefficients)
        )
        if not ok:
            raise UsageError(
                f"polynomial task: coefficients={coefficients!r} is invalid: "
                "it must be a non-empty list of finite numbers, lowest power first"
            )
        poly = np.polynomial.Polynomial([float(c) for c in coefficients])
    else:
        degree = v.integer("polynomial", "degree", _DEFAULT_DEGREE if degree is None else degree, 1, 20)
        poly = np.polynomial.Chebyshev.basis(degree).convert(kind=np.polynomial.Polynomial)
    n_samples = v.samples("polynomial", n_samples, 10, features=1)
    seed = v.integer("polynomial", "seed", seed, 0)
    val_fraction, test_fraction = v.split_fractions("polynomial", val_fraction, test_fraction)
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n_samples, 1))
    params = {
        "degree": degree,
        "coefficients": None if coefficients is None else list(coefficients),
        "n_samples": n_samples,
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
    }
    return _task("polynomial", "regression", x, poly(x), 1, params, val_fraction, test_fraction, seed)
