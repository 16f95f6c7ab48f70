"""The import structure of optnas: no circle among its modules, no module importing the package it sits in,
and optnas imports at module level, except those marked ``# lazy: <why>`` (an optional dependency, or a
command's stack loaded only when the command runs).

The graph is built from the source with `ast`: every ``import`` of an optnas module, wherever it is (module
level, inside a function, under ``if TYPE_CHECKING:``), is an edge; ``from pkg import name`` is an edge to
``pkg.name`` when that is a module, else to ``pkg``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "optnas"
MARKER = "# lazy:"


def _modules() -> dict[str, tuple[Path, bool]]:
    """{dotted name: (file, is a package's __init__)} of every optnas module."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


MODULES = _modules()


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The optnas modules an import statement imports."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            target = ".".join([*base, node.module] if node.module else base)
        else:
            target = node.module or ""
        names = [f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target for a in node.names]
    return [n for n in names if n in MODULES and n != module]


def _imports(path: Path) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """(import statement, whether it runs inside a function) of a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inner: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inner.update(id(n) for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, id(node) in inner


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, (path, is_package) in MODULES.items():
        for node, _ in _imports(path):
            graph[module].update(_targets(module, is_package, node))
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (its modules, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def _marked(lines: list[str], node: ast.stmt) -> bool:
    """Whether a function-level import carries the marker: on its own lines, or in the comment above the run
    of imports it belongs to."""
    own = lines[node.lineno - 1 : (node.end_lineno or node.lineno)]
    if any(MARKER in line for line in own):
        return True
    for line in reversed(lines[: node.lineno - 1]):
        text = line.strip()
        if text.startswith(MARKER):
            return True
        if not (text.startswith(("#", "from ", "import ", ")")) or text.endswith(",")):
            return False
    return False


def test_no_import_circle():
    found = _cycle(_graph())
    assert found is None, "import circle: " + " -> ".join(found or [])


def test_no_module_imports_a_package_it_sits_in():
    upward = [f"{m} -> {t}" for m, targets in _graph().items() for t in targets
              if MODULES[t][1] and m.startswith(t + ".")]
    assert not upward, upward


def test_function_level_optnas_imports_say_why():
    unmarked = []
    for module, (path, is_package) in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node, inner in _imports(path):
            if inner and _targets(module, is_package, node) and not _marked(lines, node):
                unmarked.append(f"{path.relative_to(ROOT)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert not unmarked, f"import at module level, or say why not with '{MARKER} <why>':\n" + "\n".join(unmarked)


def test_the_checks_see_a_circle_and_an_unmarked_import():
    # the checks themselves: a circle of three, an import without the marker, one with it
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    source = "def f():\n    # why not\n    from . import x\n\n\ndef g():\n    # lazy: Dash is optional\n    import y\n"
    lines = source.splitlines()
    first, second = (n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import | ast.ImportFrom))
    assert not _marked(lines, first) and _marked(lines, second)
