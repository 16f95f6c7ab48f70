"""What a module's forward does to its input: every torch call on data-derived tensors, recorded.

`DataFlow` is a `torch.overrides.TorchFunctionMode` that follows the values derived from T's input through
one forward pass (by tensor identity, so a ``detach`` does not hide them) and records, outside trusted
modules (torch's own layers and the declared σ, which the activation condition checks):

- **reads**: a data-derived value turned into a Python value (``Tensor.__bool__``, ``item``, ``float()``,
  ``tolist``, ``numpy``): the only way a forward can branch on its data (data-dependent control flow);
- **jumps**: an op that is discontinuous on the data (``round``, ``floor``, ``sign``, ``remainder`` ...) or
  whose every output is an integer or boolean tensor (comparisons, ``argmax``, casts to integers).

Example:
    >>> import torch
    >>> z = torch.tensor([0.3, -0.2, 0.4])
    >>> with DataFlow([z], trusted=()) as flow:
    ...     y = torch.round(z) if z.sum() > 0 else z
    >>> sorted(flow.reads), sorted(flow.jumps)
    (['Tensor.__bool__'], ['Tensor.gt', 'torch.round'])
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

__all__ = ["DataFlow", "trusted_modules"]

# data read into Python: what an `if`, a `float(...)` or a `.item()` on the data calls
READS = frozenset({"__bool__", "__float__", "__int__", "__index__", "__complex__", "item", "tolist", "numpy",
                   "__array__", "__format__"})
# float-valued but discontinuous in their argument
JUMPS = frozenset({"round", "floor", "ceil", "trunc", "fix", "frac", "sign", "sgn", "signbit", "heaviside",
                   "remainder", "fmod", "floor_divide", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__",
                   "bucketize", "searchsorted", "histc", "nonzero", "masked_select", "unique", "argwhere"})


def _name(func: Any) -> str:
    name = str(getattr(func, "__name__", func))
    qual = str(getattr(func, "__qualname__", name))
    return f"Tensor.{name}" if qual.startswith(("TensorBase.", "Tensor.")) else f"torch.{name}"


def _base(name: str) -> str:
    short = name.rsplit(".", 1)[-1]
    return short if short.startswith("__") else short.rstrip("_")


def trusted_modules(module: nn.Module, extra: Iterable[nn.Module] = ()) -> list[nn.Module]:
    """torch's own layers inside ``module`` (and ``extra``, e.g. σ): their internals are not the user's code."""
    found = [m for m in module.modules() if m is not module and type(m).__module__.startswith("torch.")]
    return found + list(extra)


class DataFlow(TorchFunctionMode):
    """Records reads and jumps on tensors derived from ``inputs`` (see the module docstring).

    ``trusted`` modules get hooks that pause the recording while their forward runs (values still flow).
    """

    def __init__(self, inputs: Iterable[torch.Tensor], trusted: Iterable[nn.Module]) -> None:
        super().__init__()
        self._data: dict[int, weakref.ref[torch.Tensor]] = {}
        for t in inputs:
            self._mark(t)
        self.reads: dict[str, int] = {}
        self.jumps: dict[str, int] = {}
        self._depth = 0
        self._trusted = list(trusted)
        self._hooks: list[Any] = []

    def _mark(self, t: torch.Tensor) -> None:
        self._data[id(t)] = weakref.ref(t)

    def _is_data(self, t: Any) -> bool:
        ref = self._data.get(id(t)) if isinstance(t, torch.Tensor) else None
        return ref is not None and ref() is t

    def __enter__(self) -> DataFlow:
        def enter(*_: Any) -> None:
            self._depth += 1

        def leave(*_: Any) -> None:
            self._depth -= 1

        for m in self._trusted:
            self._hooks += [m.register_forward_pre_hook(enter), m.register_forward_hook(leave)]
        super().__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        for h in self._hooks:
            h.remove()
        self._hooks.clear()

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        leaves, _ = tree_flatten((args, kwargs))
        on_data = any(self._is_data(t) for t in leaves)
        out = func(*args, **kwargs)
        if not on_data:
            return out
        outs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        for t in outs:
            self._mark(t)
        if self._depth == 0:
            name = _name(func)
            base = _base(name)
            if base in READS:
                self.reads[name] = self.reads.get(name, 0) + 1
            elif base in JUMPS or (outs and not any(t.is_floating_point() or t.is_complex() for t in outs)):
                self.jumps[name] = self.jumps.get(name, 0) + 1
        return out
