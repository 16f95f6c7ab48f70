"""CIFAR-10 from tiny files written in the official binary format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import optnas.tasks as tasks
from optnas.tasks.cifar10 import MEAN, RECORD_BYTES, STD, TEST_FILE, TRAIN_FILES


def _write_batch(path: Path, labels: list[int], seed: int) -> np.ndarray:
    """Records of label byte + R, G, B planes (32×32, row-major); returns the images (N, 3, 32, 32)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(len(labels), 3, 32, 32), dtype=np.uint8)
    records = np.concatenate([np.array(labels, dtype=np.uint8)[:, None], images.reshape(len(labels), -1)], 1)
    records.tofile(path)
    return images


@pytest.fixture
def cifar_dir(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    root = tmp_path / "cifar-10-batches-bin"
    root.mkdir()
    train = [_write_batch(root / name, [(i + j) % 10 for j in range(8)], i) for i, name in enumerate(TRAIN_FILES)]
    test = _write_batch(root / TEST_FILE, list(range(10)), 99)
    return root, np.concatenate(train), test


def _denormalise(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return ((x * std + mean) * 255.0).round()


def test_reads_the_binary_format(cifar_dir: tuple[Path, np.ndarray, np.ndarray]) -> None:
    root, train_images, test_images = cifar_dir
    assert (root / TEST_FILE).stat().st_size == 10 * RECORD_BYTES
    task = tasks.get("cifar10", root=str(root), augment=False, val_fraction=0.25)
    assert task.input_shape == (3, 32, 32) and task.num_outputs == 10
    assert (task.num_samples("train"), task.num_samples("val"), task.num_samples("test")) == (30, 10, 10)
    x, y = next(task.batches("test", batch_size=100))
    assert x.dtype == torch.float32 and y.tolist() == list(range(10))
    # the planes come back as channels R, G, B: pixel values round-trip through the normalisation
    assert torch.equal(_denormalise(x), torch.from_numpy(test_images).float())
    # train + val are exactly the five training batches
    raw = torch.cat([task.tensors("train")[0], task.tensors("val")[0]])
    assert sorted(map(bytes, raw.numpy())) == sorted(map(bytes, train_images))


def test_parent_directory_is_accepted(cifar_dir: tuple[Path, np.ndarray, np.ndarray]) -> None:
    root, _, _ = cifar_dir
    assert tasks.get("cifar10", root=str(root.parent), max_train=5).num_samples("train") == 5


def test_augmentation_flips_and_crops_training_batches_only(
    cifar_dir: tuple[Path, np.ndarray, np.ndarray],
) -> None:
    root, _, _ = cifar_dir
    plain = tasks.get("cifar10", root=str(root), augment=False)
    augmented = tasks.get("cifar10", root=str(root), augment=True)
    generator = torch.Generator().manual_seed(0)
    x_aug, _ = next(augmented.batches("train", batch_size=8, shuffle=True, generator=generator))
    x_plain, _ = next(plain.batches("train", batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert x_aug.shape == x_plain.shape == (8, 3, 32, 32)
    assert not torch.equal(x_aug, x_plain)
    # evaluation batches are never augmented
    assert torch.equal(next(augmented.batches("test", batch_size=4))[0], next(plain.batches("test", batch_size=4))[0])


def test_missing_directory_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"does not hold the CIFAR-10 binary batches \(missing: data_batch_1.bin"):
        tasks.get("cifar10", root=str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match=r"root=None is invalid: name the directory"):
        tasks.get("cifar10")


def test_corrupt_file_is_rejected(cifar_dir: tuple[Path, np.ndarray, np.ndarray]) -> None:
    root, _, _ = cifar_dir
    with open(root / TRAIN_FILES[2], "ab") as f:
        f.write(b"\x00" * 10)
    with pytest.raises(ValueError, match=r"data_batch_3.bin is not a CIFAR-10 binary batch"):
        tasks.get("cifar10", root=str(root))
