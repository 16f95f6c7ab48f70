"""Record the arguments every torch-only module constructor receives while a network is built.

`optnas.build` is the one place that knows how a spec becomes modules. To write the same network as
source code, the exporter builds it once inside `recording()`, which notes each ``torch.nn`` and
``optnas.nn`` constructor call on the instance it creates; `optnas.export._codegen` writes those calls out.
Nothing is inferred from module attributes, so the generated code calls the same constructors with the
same arguments as the build did.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from torch import nn

from ._source import runtime_modules
from ._user import import_path

_ATTR = "_optnas_export_call"
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Call:
    """``owner.__init__(self, **arguments)``: the constructor call that made a module."""

    owner: type
    signature: inspect.Signature
    arguments: dict[str, Any]  # bound by name, defaults not applied, ``self`` excluded


def recorded_call(module: nn.Module) -> Call | None:
    """The call recorded for ``module``, or None (built outside `recording`, or by an unpatched class)."""
    call = module.__dict__.get(_ATTR)
    return call if isinstance(call, Call) else None


def init_owner(cls: type) -> type:
    """The class whose ``__init__`` runs for ``cls(...)``."""
    return next(c for c in cls.__mro__ if "__init__" in c.__dict__)


def torch_only_classes() -> list[type]:
    """Module classes whose source needs only torch: ``torch.nn``'s own and those of ``optnas.nn``."""
    classes = [c for c in vars(nn).values() if isinstance(c, type) and issubclass(c, nn.Module)]
    for module in runtime_modules():
        classes += [
            c for c in vars(module).values()
            if isinstance(c, type) and issubclass(c, nn.Module) and c.__module__ == module.__name__
        ]
    return list(dict.fromkeys(classes))


def user_classes() -> list[type]:
    """Module classes of importable user modules (plugins): model.py imports them, so their calls are recorded."""
    found, todo = [], list(nn.Module.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        module = cls.__module__
        if module.split(".")[0] in ("torch", "optnas") or module == "__main__":
            continue
        if import_path(cls) is not None:
            found.append(cls)
    return found


@contextmanager
def recording() -> Iterator[None]:
    """Within this block, torch-only (and importable user) module constructors record their arguments.

    Example:
        >>> with recording():
        ...     layer = nn.Linear(2, 3)
        >>> recorded_call(layer).arguments
        {'in_features': 2, 'out_features': 3}
    """
    with _LOCK:
        # patch the class that defines each constructor (BatchNorm2d's is _BatchNorm's); nn.Module's takes no args
        owners = {init_owner(c) for c in torch_only_classes() + user_classes()} - {nn.Module, object}
        originals = {c: c.__dict__["__init__"] for c in owners if _has_signature(c.__dict__["__init__"])}
        try:
            for cls, original in originals.items():
                cls.__init__ = _recorder(cls, original)  # type: ignore[misc]
            yield
        finally:
            for cls, original in originals.items():
                cls.__init__ = original  # type: ignore[misc]


def _has_signature(function: Callable[..., None]) -> bool:
    try:
        inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without one: its modules simply stay unrecorded
        return False
    return True


def _recorder(cls: type, original: Callable[..., None]) -> Callable[..., None]:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def __init__(self: nn.Module, *args: Any, **kwargs: Any) -> None:
        # The outermost constructor records (it is the class being instantiated); the super().__init__
        # calls it makes find the record already there.
        if _ATTR not in self.__dict__:
            try:
                bound = signature.bind(self, *args, **kwargs)
            except TypeError:
                pass  # the original raises the real error below
            else:
                arguments = dict(list(bound.arguments.items())[1:])
                public = inspect.Signature(list(signature.parameters.values())[1:])
                object.__setattr__(self, _ATTR, Call(cls, public, arguments))
        original(self, *args, **kwargs)

    return __init__
