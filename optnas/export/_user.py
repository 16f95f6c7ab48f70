"""User components in model.py: classes and functions that the generated file imports from their module.

A user block or activation defined as an ``nn.Module`` class (or a plain tensor function) in an importable
module exports with ``model.py`` importing it (``from mylab.acts import Snake``): the exported folder then
needs torch *and that module* where it is loaded. Classes defined in ``__main__``, inside a function or a
class cannot be imported back, so they are refused with a line saying where to move them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

# torch functions are written from a public namespace (torch.sin, not torch._C._VariableFunctions.sin)
_TORCH_NAMESPACES = ("torch", "torch.nn.functional", "torch.special")


def _lookup(module: str, name: str, obj: Any) -> bool:
    try:
        return getattr(importlib.import_module(module), name, None) is obj
    except ImportError:
        return False


def import_path(obj: type | Callable[..., Any]) -> tuple[str, str] | None:
    """``(module, name)`` such that ``from module import name`` gives back ``obj``, or None.

    Example:
        >>> import torch
        >>> import_path(torch.sin)
        ('torch', 'sin')
        >>> import_path(lambda z: z) is None
        True
    """
    name = getattr(obj, "__name__", None)
    qualname = getattr(obj, "__qualname__", name)
    module = getattr(obj, "__module__", None)
    if not isinstance(name, str) or not isinstance(module, str):
        return None
    if module.startswith("torch"):
        for namespace in _TORCH_NAMESPACES:
            if _lookup(namespace, name, obj):
                return namespace, name
    if module in ("__main__", "builtins") or qualname != name or "<" in name:
        return None
    return (module, name) if _lookup(module, name, obj) else None


def not_importable(what: str, obj: Any) -> str:
    """Why ``obj`` cannot go into model.py, and what to do instead."""
    module = getattr(obj, "__module__", "?")
    name = getattr(obj, "__qualname__", repr(obj))
    where = "in __main__ (a script or notebook)" if module == "__main__" else f"as {module}.{name}"
    return (
        f"{what} is defined {where}, which model.py cannot import back; define it at the top level of an "
        "importable module (e.g. mylab/acts.py, imported as a plugin) and register it from there"
    )
