"""Copy the runtime code a network needs out of ``optnas/nn`` (which imports only torch).

Each runtime module is parsed once; its top-level definitions and imports become a table. Given the
classes a network uses, `runtime_source` returns exactly the definitions they reach (by name), in the
order they appear in ``optnas/nn``, and the imports those definitions use. The code is copied verbatim.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from dataclasses import dataclass
from functools import cache
from types import ModuleType

# Dependency order: a module's code only refers to definitions of the modules before it (or its own).
RUNTIME = ("tableau", "activations", "steps", "blocks", "io", "unrolled")


def runtime_modules() -> list[ModuleType]:
    return [importlib.import_module(f"optnas.nn.{name}") for name in RUNTIME]


@dataclass(frozen=True)
class _Definition:
    module: str  # e.g. "unrolled"
    order: int  # position in the module
    text: str
    uses: frozenset[str]


@dataclass(frozen=True)
class _Table:
    definitions: dict[str, _Definition]
    imports: dict[str, tuple[str, ...]]  # bound name -> import statement(s) binding it
    docstrings: dict[str, str]


@cache
def _table() -> _Table:
    definitions: dict[str, _Definition] = {}
    imports: dict[str, tuple[str, ...]] = {}
    docstrings: dict[str, str] = {}
    for module in runtime_modules():
        short = module.__name__.rsplit(".", 1)[1]
        source = inspect.getsource(module)
        lines = source.splitlines()
        tree = ast.parse(source)
        docstrings[short] = ast.get_docstring(tree) or ""
        for order, node in enumerate(tree.body):
            if isinstance(node, ast.ImportFrom) and (node.level or node.module == "__future__"):
                continue  # siblings are pasted into the same file; model.py writes its own __future__
            if isinstance(node, ast.Import | ast.ImportFrom):
                text = ast.get_source_segment(source, node) or ""
                for alias in node.names:
                    name = alias.asname or alias.name.split(".")[0]
                    imports[name] = (*imports.get(name, ()), text)
                continue
            names = _defined_names(node)
            if not names:
                continue  # the docstring, __all__-like expressions
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            text = "\n".join(lines[start - 1 : node.end_lineno])
            uses = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
            for name in names:
                definitions[name] = _Definition(short, order, text, uses)
    return _Table(definitions, imports, docstrings)


def _defined_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def is_runtime_class(cls: type) -> bool:
    """True for a class defined at the top level of an ``optnas.nn`` runtime module."""
    table = _table()
    module = cls.__module__.rsplit(".", 1)
    return (
        cls.__module__.startswith("optnas.nn.")
        and module[-1] in RUNTIME
        and cls.__qualname__ in table.definitions
        and table.definitions[cls.__qualname__].module == module[-1]
    )


def runtime_source(names: set[str]) -> tuple[list[str], list[tuple[str, str, list[str]]]]:
    """(import statements, [(module, its docstring, [definition texts])]) reached from ``names``.

    Example:
        >>> imports, sections = runtime_source({"FixedSteps"})
        >>> [module for module, _, _ in sections], "from torch import nn" in imports
        (['steps'], True)
    """
    table = _table()
    todo, reached = list(names), set()
    while todo:
        name = todo.pop()
        if name in reached or name not in table.definitions:
            continue
        reached.add(name)
        todo.extend(table.definitions[name].uses)
    chosen = {table.definitions[n] for n in reached}
    used = set().union(*(d.uses for d in chosen)) if chosen else set()
    imports = list(dict.fromkeys(text for name in sorted(used) for text in table.imports.get(name, ())))
    sections = []
    for module in RUNTIME:
        texts = [d.text for d in sorted(chosen, key=lambda d: d.order) if d.module == module]
        if texts:
            sections.append((module, table.docstrings[module], texts))
    return imports, sections
