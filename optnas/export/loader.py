"""`load`: an exported folder back as a module: its model.py with its weights.safetensors (never a pickle)."""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import os
import sys
from pathlib import Path
from types import ModuleType

from safetensors import SafetensorError
from safetensors.torch import load_model
from torch import nn

_COUNTER = itertools.count()


def import_model_file(path: Path) -> ModuleType:
    """Import a generated model.py under a fresh, unique module name (two exports never collide)."""
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    name = f"optnas_exported_{digest}_{next(_COUNTER)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # inspect.getsource (used by torch.export) finds classes through sys.modules
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load(path: str | os.PathLike[str]) -> nn.Module:
    """The exported network in ``path`` (a folder written by `export_model`/`optnas export`), in eval mode.

    It runs the folder's model.py (only load folders you trust, as with any Python file) and reads
    weights.safetensors with ``strict=True``; nothing is unpickled.

    Example:
        >>> import torch, optnas.export                                   # doctest: +SKIP
        >>> net = optnas.export.load("exported/")                         # doctest: +SKIP
        >>> net(torch.randn(8, *net.input_shape)).shape                   # doctest: +SKIP
        torch.Size([8, 3])
    """
    folder = Path(path)
    for name in ("model.py", "weights.safetensors"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name}: missing; {folder} is not an optnas export folder")
    module = import_model_file(folder / "model.py")
    exported = getattr(module, "ExportedModel", None)
    if not isinstance(exported, type) or not issubclass(exported, nn.Module):
        raise ValueError(f"{folder / 'model.py'} defines no ExportedModel module class")
    model = exported()
    try:
        load_model(model, str(folder / "weights.safetensors"), strict=True)
    except (RuntimeError, SafetensorError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{folder / 'weights.safetensors'} does not match model.py: {first}") from None
    return model.eval()
