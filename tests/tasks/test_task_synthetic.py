"""The synthetic tasks compute what they claim: ring bands, XOR labels, the sawtooth, the polynomial."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import optnas.tasks as tasks
from optnas.tasks.synthetic import tent_power


def _all(task: tasks.TensorTask) -> tuple[torch.Tensor, torch.Tensor]:
    parts = [task.tensors(s) for s in tasks.SPLITS]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


@pytest.mark.parametrize("rings", [3, 4])
def test_rings_label_is_the_radius_band(rings: int) -> None:
    x, y = _all(tasks.get("rings", rings=rings, n_samples=100 * rings))
    radius = x.norm(dim=1) * (2 * rings - 1)
    assert bool(((radius >= 2 * y - 1e-5) & (radius <= 2 * y + 1 + 1e-5)).all())
    assert torch.bincount(y).tolist() == [100] * rings  # balanced
    assert float(x.norm(dim=1).max()) <= 1.0 + 1e-6  # scaled into the unit disc


def test_parity_label_is_xor_of_the_bits() -> None:
    x, y = _all(tasks.get("parity", bits=7))
    bits = (x > 0).long()
    assert set(x.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(y, bits.sum(dim=1) % 2)
    assert len({tuple(r) for r in bits.tolist()}) == 2**7


def test_parity_sampled_for_many_bits() -> None:
    task = tasks.get("parity", bits=40, n_samples=500)
    x, y = _all(task)
    assert x.shape == (500, 40) and torch.equal(y, (x > 0).long().sum(dim=1) % 2)


def test_tent_power_is_the_sawtooth() -> None:
    x = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 0.125])
    assert np.allclose(tent_power(x, 1), [0.0, 0.5, 1.0, 0.5, 0.0, 0.25])
    assert np.allclose(tent_power(x, 2), [0.0, 1.0, 0.0, 1.0, 0.0, 0.5])
    # k folds: 2**(k-1) teeth, so 2**k linear pieces on a fine grid
    grid = np.linspace(0, 1, 2**12 + 1)
    slopes = np.sign(np.diff(tent_power(grid, 4)))
    assert int((np.diff(slopes) != 0).sum()) + 1 == 2**4


def test_telgarsky_targets() -> None:
    x, y = _all(tasks.get("telgarsky", k=5, n_samples=300))
    assert x.shape == (300, 1) and y.shape == (300, 1)
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert torch.allclose(y, torch.from_numpy(tent_power(x.double().numpy(), 5)).float(), atol=1e-5)


def test_polynomial_default_is_chebyshev_t5() -> None:
    x, y = _all(tasks.get("polynomial", n_samples=300))
    expected = torch.cos(5 * torch.arccos(x.double().clamp(-1, 1))).float()
    assert torch.allclose(y, expected, atol=1e-4)
    assert float(y.abs().max()) <= 1.0 + 1e-5


def test_polynomial_with_coefficients() -> None:
    task = tasks.get("polynomial", coefficients=[1.0, 0.0, -2.0], n_samples=100)
    x, y = _all(task)
    assert torch.allclose(y, 1.0 - 2.0 * x**2, atol=1e-5)
    assert task.params["coefficients"] == [1.0, 0.0, -2.0]
