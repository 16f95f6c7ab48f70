"""Task registry: data sets with their splits, loss and metric, plus tasks from a user's own data.

Example:
    >>> import optnas.tasks
    >>> "digits" in optnas.tasks.names()
    True
    >>> task = optnas.tasks.get("telgarsky", k=3)
    >>> task.input_shape, task.num_outputs, task.metric_name, task.direction
    ((1,), 1, 'mse', 'minimize')

Register your own with ``@optnas.tasks.register("name")`` on a function (or class) that takes the task's
parameters and returns a `Task` (usually a `TensorTask`, or `from_tensors(...)` of your data).
"""

from __future__ import annotations

from typing import Any

from . import cifar10 as _cifar10
from . import mnist1d as _mnist1d
from . import sklearn_digits as _sklearn_digits
from . import synthetic as _synthetic
from .base import SPLITS, Split, Task, TensorTask, split_indices
from .objectives import OBJECTIVES, Objective
from .registry import TASKS
from .user import LoaderTask, from_loaders, from_tensors

__all__ = [
    "OBJECTIVES",
    "SPLITS",
    "LoaderTask",
    "Objective",
    "Split",
    "Task",
    "TensorTask",
    "describe",
    "entry",
    "from_loaders",
    "from_tensors",
    "get",
    "names",
    "register",
    "resolve",
    "split_indices",
    "unregister",
]

del _cifar10, _mnist1d, _sklearn_digits, _synthetic  # imported for their registrations only

names = TASKS.names
get = TASKS.get
register = TASKS.register
entry = TASKS.entry
describe = TASKS.describe
unregister = TASKS.unregister


def resolve(task: Task | str, **params: Any) -> Task:
    """``task`` itself if it is a `Task`, else ``get(task, **params)``; anything else is a ValueError.

    Example:
        >>> resolve("parity", bits=3).input_shape
        (3,)
    """
    if isinstance(task, Task):
        if params:
            raise ValueError(f"task parameters {sorted(params)} only apply to a task given by name")
        return task
    if isinstance(task, str):
        made = TASKS.get(task, **params)
        if not isinstance(made, Task):
            raise ValueError(f"task {task!r} returned {type(made).__name__}, not an optnas.tasks.Task")
        return made
    raise ValueError(f"task={task!r} is invalid: pass a task name ({', '.join(names())}) or a Task")
