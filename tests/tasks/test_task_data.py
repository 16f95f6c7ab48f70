"""Real data sets: scikit-learn's digits and MNIST-1D (generated locally, never downloaded)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

import optnas.tasks as tasks


def test_digits_images_and_vectors_hold_the_same_data() -> None:
    images = tasks.get("digits", as_images=True)
    vectors = tasks.get("digits")
    assert images.input_shape == (1, 8, 8) and vectors.input_shape == (64,)
    assert images.num_outputs == 10
    for split in tasks.SPLITS:
        xi, yi = images.tensors(split)
        xv, yv = vectors.tensors(split)
        assert torch.allclose(xi.flatten(1), xv) and torch.equal(yi, yv)
    assert sum(vectors.num_samples(s) for s in tasks.SPLITS) == 1797


def test_digits_are_standardised_with_training_statistics() -> None:
    task = tasks.get("digits")
    train = task.tensors("train")[0]
    assert abs(float(train.mean())) < 1e-5 and abs(float(train.std()) - 1.0) < 1e-4
    assert abs(float(task.tensors("test")[0].mean())) > 1e-6  # test statistics were not used


def test_mnist1d_generates_offline_without_writing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("mnist1d tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.chdir(tmp_path)
    state = np.random.get_state()
    task = tasks.get("mnist1d", n_samples=500)
    assert os.listdir(tmp_path) == []  # no cached pickle
    assert task.input_shape == (40,) and task.num_outputs == 10
    assert sum(task.num_samples(s) for s in tasks.SPLITS) == 500
    after = np.random.get_state()
    assert np.array_equal(state[1], after[1]) and state[2] == after[2]  # global numpy RNG untouched
    labels = torch.cat([task.tensors(s)[1] for s in tasks.SPLITS])
    assert torch.bincount(labels).tolist() == [50] * 10


def test_mnist1d_as_sequence() -> None:
    seq = tasks.get("mnist1d", n_samples=200, as_sequence=True)
    vec = tasks.get("mnist1d", n_samples=200)
    assert seq.input_shape == (40, 1)
    assert torch.equal(seq.tensors("train")[0].squeeze(-1), vec.tensors("train")[0])
