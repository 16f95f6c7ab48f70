"""The task registry: names, lookup errors, user registration, and the contract every task meets."""

from __future__ import annotations

import pytest
import torch

import optnas.tasks as tasks
from optnas.tasks import TensorTask

BUILTIN = ["cifar10", "digits", "mnist1d", "parity", "polynomial", "rings", "telgarsky"]
# small, fast instances of every in-memory built-in (cifar10 needs files: see test_task_cifar10)
SMALL = {
    "rings": {"n_samples": 300},
    "parity": {"bits": 6},
    "telgarsky": {"k": 3, "n_samples": 200},
    "polynomial": {"n_samples": 200},
    "digits": {},
    "mnist1d": {"n_samples": 500},
}


def test_every_builtin_is_registered() -> None:
    assert set(BUILTIN) <= set(tasks.names())


def test_unknown_task_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"unknown task 'mnist'.*digits.*rings"):
        tasks.get("mnist")


@pytest.mark.parametrize("name", sorted(SMALL))
def test_task_contract(name: str) -> None:
    task = tasks.get(name, **SMALL[name])
    assert task.kind in ("classification", "regression")
    assert (task.metric_name, task.direction) == (
        ("accuracy", "maximize") if task.kind == "classification" else ("mse", "minimize")
    )
    sizes = [task.num_samples(s) for s in tasks.SPLITS]
    assert all(n > 0 for n in sizes)
    for split in tasks.SPLITS:
        x, y = next(task.batches(split, batch_size=16))
        assert tuple(x.shape[1:]) == task.input_shape
        assert x.dtype == torch.float32 and bool(torch.isfinite(x).all())
        if task.kind == "classification":
            assert y.dtype == torch.long and y.dim() == 1
            assert int(y.min()) >= 0 and int(y.max()) < task.num_outputs
        else:
            assert y.dtype == torch.float32 and tuple(y.shape[1:]) == (task.num_outputs,)
    description = task.describe()
    assert description["name"] == name and description["samples"]["train"] == sizes[0]
    # params rebuild the same task
    again = tasks.get(name, **task.params)
    assert torch.equal(again.tensors("test")[0], task.tensors("test")[0])


@pytest.mark.parametrize("name", ["rings", "telgarsky", "mnist1d"])
def test_seed_changes_the_split_and_is_reproducible(name: str) -> None:
    params = SMALL[name]
    a, b = tasks.get(name, seed=1, **params), tasks.get(name, seed=1, **params)
    c = tasks.get(name, seed=2, **params)
    assert torch.equal(a.tensors("val")[0], b.tensors("val")[0])
    assert not torch.equal(a.tensors("val")[0], c.tensors("val")[0])


def test_splits_are_disjoint() -> None:
    task = tasks.get("parity", bits=8)
    rows = {s: {tuple(r.tolist()) for r in task.tensors(s)[0]} for s in tasks.SPLITS}
    assert not rows["train"] & rows["val"] and not rows["train"] & rows["test"] and not rows["val"] & rows["test"]
    assert sum(len(r) for r in rows.values()) == 2**8  # every pattern once


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("rings", {"rings": 1}, r"rings=1 is invalid: it must be an integer >= 2"),
        ("rings", {"n_samples": 5}, r"n_samples=5 is invalid: it must be an integer in \[30, "),
        ("parity", {"bits": 0}, r"bits=0 is invalid: it must be an integer in \[1, 64\]"),
        ("parity", {"bits": 20}, r"bits=20 .* pass n_samples"),
        ("telgarsky", {"k": 0}, r"k=0 is invalid"),
        ("telgarsky", {"k": 2.5}, r"k=2.5 is invalid"),
        ("polynomial", {"degree": 3, "coefficients": [1.0]}, r"degree or coefficients, not both"),
        ("polynomial", {"coefficients": []}, r"coefficients=\[\] is invalid"),
        ("digits", {"as_images": "yes"}, r"as_images='yes' is invalid: it must be true or false"),
        ("digits", {"val_fraction": 0.5, "test_fraction": 0.5}, r"their sum must be < 1"),
        ("mnist1d", {"n_samples": 5}, r"n_samples=5 is invalid"),
        ("rings", {"seed": -1}, r"seed=-1 is invalid"),
        ("rings", {"val_fraction": 0}, r"val_fraction=0 is invalid: it must be a finite number in \(0, 1\)"),
    ],
)
def test_bad_params_name_value_and_rule(name: str, params: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tasks.get(name, **params)


def test_unknown_param_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"invalid parameter\(s\) \['ring'\] for task 'rings'"):
        tasks.get("rings", ring=3)


def test_users_register_their_own_task() -> None:
    @tasks.register("xor_blobs_test")
    def xor_blobs(n: int = 64) -> TensorTask:
        x = torch.randn(n, 2)
        y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).long()
        return tasks.from_tensors(x, y, name="xor_blobs_test")

    try:
        assert "xor_blobs_test" in tasks.names()
        task = tasks.get("xor_blobs_test", n=100)
        assert task.input_shape == (2,) and task.num_outputs == 2
        assert tasks.resolve("xor_blobs_test").name == "xor_blobs_test"
    finally:
        tasks.TASKS.unregister("xor_blobs_test")


def test_resolve_rejects_other_objects() -> None:
    with pytest.raises(ValueError, match="pass a task name"):
        tasks.resolve(42)  # type: ignore[arg-type]
