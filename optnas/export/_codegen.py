"""Write modules built inside `recording()` as the constructor calls that made them (`Writer`).

Each module becomes the constructor call that made it (recorded, not inferred); modules passed as
arguments become nested calls; long literals become named constants. Parametrizations added after
construction (spectral norm on implicit layers' T) become explicit calls (`spectral_norm_lines`).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any

from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm

from ._literal import WIDTH, NotLiteral, flat, literal, plain, runs
from ._record import Call, init_owner, recorded_call
from ._source import is_runtime_class
from ._user import import_path, not_importable

_INLINE = 100  # longer literals become module-level constants


class NotExportable(ValueError):
    """The network holds something model.py cannot reproduce with torch alone."""


@dataclass
class Writer:
    """Writes modules as the constructor calls that made them; long literals become module constants."""

    constants: list[str] = field(default_factory=list)
    runtime_classes: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    user_imports: dict[str, tuple[str, str]] = field(default_factory=dict)

    def class_name(self, cls: type, where: str) -> str:
        if getattr(nn, cls.__name__, None) is cls:
            return f"nn.{cls.__name__}"
        if is_runtime_class(cls):
            self.runtime_classes.add(cls.__name__)
            return cls.__name__
        return self.imported(cls, f"{where}: {cls.__name__}")

    def imported(self, obj: Any, where: str) -> str:
        """The name model.py uses for a user class or function, imported from its module."""
        path = import_path(obj)
        if path is None:
            raise NotExportable(f"{where}: " + not_importable(getattr(obj, "__name__", repr(obj)), obj))
        module, name = path
        if module == "torch" or module.startswith("torch."):
            return f"{module}.{name}"  # torch is imported by model.py anyway
        bound = name
        while (bound in self.user_imports and self.user_imports[bound] != path) or bound in self.runtime_classes:
            bound += "_"
        self.user_imports[bound] = path
        return bound

    def module(self, module: nn.Module, indent: int, where: str, lead: int = 0) -> str:
        cls = type(module)
        if parametrize.is_parametrized(module):
            cls = cls.__bases__[0]  # torch swaps in a generated Parametrized<Class> subclass
        name = self.class_name(cls, where)
        owner = init_owner(cls)
        if owner is nn.Module:
            return f"{name}()"  # no constructor of its own: takes no arguments
        call = recorded_call(module)
        if call is None or call.owner is not owner:
            raise NotExportable(f"{where}: no record of how this {cls.__name__} was constructed")
        return self.call(name, call, indent, f"{where} -> {cls.__name__}", lead)

    def arguments(self, call: Call, indent: int, where: str) -> list[tuple[str | None, str]]:
        """(keyword or None, code) per argument that differs from its default."""
        out: list[tuple[str | None, str]] = []
        for p in call.signature.parameters.values():
            if p.name not in call.arguments:
                continue
            value, here = call.arguments[p.name], f"{where}({p.name})"
            if p.kind is p.VAR_POSITIONAL:
                out += [(None, self.value(v, indent, here, call.owner, p.name)) for v in value]
            elif p.kind is p.VAR_KEYWORD:
                out += [(k, self.value(v, indent, here, call.owner, k)) for k, v in value.items()]
            elif not _is_default(value, p.default):
                out.append((p.name, self.value(value, indent, here, call.owner, p.name, len(p.name) + 1)))
        return out

    def call(self, name: str, call: Call, indent: int, where: str, lead: int = 0) -> str:
        args = self.arguments(call, indent + 4, where)
        positional = _positional(call.signature, args)
        one_line = f"{name}({', '.join(positional)})"
        if "\n" not in one_line and indent + lead + len(one_line) + 1 <= WIDTH:  # + 1: the trailing comma
            return one_line
        pad = " " * (indent + 4)
        lines = "".join(f"{pad}{code},\n" if key is None else f"{pad}{key}={code},\n" for key, code in args)
        return f"{name}(\n{lines}{' ' * indent})"

    def value(self, value: Any, indent: int, where: str, owner: type, param: str, lead: int = 0) -> str:
        if isinstance(value, nn.Module):
            return self.module(value, indent, where, lead)
        if isinstance(value, list | tuple) and any(isinstance(v, nn.Module) for v in value):
            items = [self.value(v, indent + 4, f"{where}[{i}]", owner, param) for i, v in enumerate(value)]
            loop = f"[{items[0]} for _ in range({len(items)})]"
            if len(set(items)) == 1 and len(items) > 1 and isinstance(value, list) and "\n" not in loop \
                    and indent + lead + len(loop) < WIDTH:
                return loop
            if not items:
                return "[]" if isinstance(value, list) else "()"
            pad = " " * (indent + 4)
            open_, close = ("[", "]") if isinstance(value, list) else ("(", ")")
            return open_ + "\n" + "".join(f"{pad}{item},\n" for item in items) + " " * indent + close
        if callable(value):  # an activation registered as a plain tensor function: import it by name
            return self.imported(value, where)
        try:
            text = flat(value)
        except NotLiteral as exc:
            raise NotExportable(f"{where}: {exc}; model.py can only pass literals and modules") from None
        if len(text) <= _INLINE and indent + lead + len(text) < WIDTH:
            return text
        return self.constant(value, owner, param)

    def constant(self, value: Any, owner: type, param: str) -> str:
        stem = re.sub(r"(?<!^)(?=[A-Z])", "_", owner.__name__).upper()
        index = self.counts.get(stem + param, 0)
        self.counts[stem + param] = index + 1
        name = f"{stem}_{index}_{param.upper()}"
        value = plain(value)
        if isinstance(value, list) and len(parts := runs(value)) < len(value):
            # repeated layers (every constant-coefficient algorithm) are written once
            lead = len(name) + 12  # "NAME = [" ... "] * 12 + "
            text = " + ".join(literal([item], 0, lead) + (f" * {n}" if n > 1 else "") for item, n in parts)
        else:
            text = literal(value, 0, len(name) + 3)
        self.constants.append(f"{name} = {text}")
        return name


def _is_default(value: Any, default: Any) -> bool:
    if default is inspect.Parameter.empty:
        return False
    value = plain(value)
    if value is None or default is None:
        return value is None and default is None
    return isinstance(default, bool | int | float | str) and type(value) is type(default) and value == default


def _positional(signature: inspect.Signature, args: list[tuple[str | None, str]]) -> list[str]:
    """One-line form: required parameters by position (until one is skipped), the rest by keyword."""
    params = list(signature.parameters.values())
    out, position, by_keyword = [], 0, False
    for key, code in args:
        if key is None:
            out.append(code)
            continue
        while position < len(params) and params[position].name != key:
            if params[position].kind is not inspect.Parameter.VAR_POSITIONAL:
                by_keyword = True  # a skipped parameter: later ones must be named
            position += 1
        param = params[position] if position < len(params) else None
        required = param is not None and param.default is param.empty
        ok = param is not None and param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
        if required and ok and not by_keyword:
            out.append(code)
        else:
            out.append(f"{key}={code}")
            by_keyword = True
        position += 1
    return out


_INDEXED = re.compile(r"^(?P<prefix>.+)\.(?P<index>\d+)\.(?P<suffix>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)$")


def spectral_norm_lines(net: nn.Module) -> list[str]:
    calls: list[tuple[str, str]] = []  # (module path, call arguments after the module)
    for path, module in net.named_modules():
        if not parametrize.is_parametrized(module):
            continue
        for tensor, plist in module.parametrizations.items():
            for p in plist:
                if not isinstance(p, _SpectralNorm):
                    raise NotExportable(f"{path}.{tensor}: parametrization {type(p).__name__} is not supported")
                conv_t = isinstance(module, nn.ConvTranspose1d | nn.ConvTranspose2d | nn.ConvTranspose3d)
                options = [flat(tensor)] if tensor != "weight" else []  # spectral_norm's defaults are left out
                if p.n_power_iterations != 1:
                    options.append(f"n_power_iterations={p.n_power_iterations}")
                if p.eps != 1e-12:
                    options.append(f"eps={p.eps!r}")
                if p.dim != (1 if conv_t else 0):
                    options.append(f"dim={p.dim}")
                calls.append((path, "".join(f", {o}" for o in options)))
    # Group "P.<i>.S" over every child i of P into one loop (every T of a stage, typically).
    groups: dict[str, dict[int, list[tuple[str, str]]]] = {}
    singles: list[tuple[str, str]] = []
    for path, extra in calls:
        m = _INDEXED.match(path)
        if m:
            groups.setdefault(m["prefix"], {}).setdefault(int(m["index"]), []).append((m["suffix"], extra))
        else:
            singles.append((path, extra))
    lines = [f"        spectral_norm({_attr('self', path)}{extra})" for path, extra in singles]
    for prefix, by_index in groups.items():
        size = len(list(net.get_submodule(prefix).children()))
        bodies = list(by_index.values())
        if sorted(by_index) == list(range(size)) and all(b == bodies[0] for b in bodies):
            lines.append(f"        for t in {_attr('self', prefix)}:")
            lines += [f"            spectral_norm({_attr('t', suffix)}{extra})" for suffix, extra in bodies[0]]
        else:
            lines += [
                f"        spectral_norm({_attr('self', f'{prefix}.{i}.{suffix}')}{extra})"
                for i, body in by_index.items() for suffix, extra in body
            ]
    return lines


def _attr(root: str, path: str) -> str:
    parts = path.split(".")
    if not all(p.isidentifier() or p.isdigit() for p in parts):
        return f"{root}.get_submodule({path!r})"
    return root + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts)
