"""In-memory batching: device-resident tensors indexed by a permutation, no DataLoader."""

from __future__ import annotations

import torch

import optnas.tasks as tasks


def _task(n: int = 103) -> tasks.TensorTask:
    x = torch.arange(n, dtype=torch.float32).view(n, 1)
    return tasks.from_tensors(x, torch.arange(n) % 2, val_fraction=0.1, test_fraction=0.1)


def test_shuffled_epoch_sees_each_sample_at_most_once_and_drops_the_ragged_batch() -> None:
    task = _task()
    n = task.num_samples("train")
    batches = list(task.batches("train", batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert [int(x.shape[0]) for x, _ in batches] == [16] * (n // 16) == [16] * task.steps_per_epoch(16)
    seen = torch.cat([x[:, 0] for x, _ in batches])
    assert len(set(seen.tolist())) == len(seen)
    # shuffled: not the stored order
    assert not torch.equal(seen, task.tensors("train")[0][: len(seen), 0])


def test_shuffle_is_reproducible_with_the_generator() -> None:
    task = _task()
    first = [
        x for x, _ in task.batches("train", batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(5))
    ]
    again = [
        x for x, _ in task.batches("train", batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(5))
    ]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))


def test_evaluation_batches_cover_the_split_in_order() -> None:
    task = _task()
    x = torch.cat([xb for xb, _ in task.batches("val", batch_size=3)])
    assert torch.equal(x, task.tensors("val")[0])


def test_small_split_still_yields_one_training_batch() -> None:
    task = _task(30)
    batches = list(task.batches("train", batch_size=64, shuffle=True, generator=torch.Generator()))
    assert len(batches) == 1 == task.steps_per_epoch(64)


def test_tensors_are_moved_to_the_device_once() -> None:
    task = _task()
    list(task.batches("train", batch_size=8, device="cpu"))
    cached = task._on_device["train"][0]
    list(task.batches("val", batch_size=8, device="cpu"))
    assert task._on_device["train"][0] is cached


def test_pickled_task_carries_its_data_but_not_its_device_copy() -> None:
    import pickle

    task = _task()
    list(task.batches("train", batch_size=8))
    clone = pickle.loads(pickle.dumps(task))
    assert clone._on_device == {} and torch.equal(clone.tensors("test")[0], task.tensors("test")[0])
    assert torch.equal(next(clone.batches("val", batch_size=4))[0], next(task.batches("val", batch_size=4))[0])
