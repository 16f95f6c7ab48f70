"""Plugins: the user's modules that register algorithms, blocks, activations, schedules and tasks.

A plugin is an importable module whose import registers components (``@optnas.algorithms.register(...)``
and so on). Three ways name one, all handled here, the one place plugins are imported:

- ``plugins: [mylab.optnas_parts, ...]`` in a search-space file;
- ``--plugin MODULE`` (repeatable) on every ``optnas`` command;
- the ``optnas.plugins`` entry-point group of an installed package, loaded by every command::

      [project.entry-points."optnas.plugins"]
      mylab = "mylab.optnas_parts"

Every module loaded is also written to the ``OPTNAS_PLUGINS`` environment variable (comma-separated), and
``import optnas`` imports the modules it names: worker processes inherit the variable, and Ray workers get it
in the job's runtime environment together with the plugin modules' files (`ray_runtime_env`), so every
process that builds a network has the same registries as the command that started it.

Example:
    >>> import optnas.plugins
    >>> optnas.plugins.load(["mylab.optnas_parts"])      # doctest: +SKIP
    ['mylab.optnas_parts']
    >>> optnas.plugins.load(["no_such_mod"])
    Traceback (most recent call last):
    ...
    optnas.errors.UsageError: plugin 'no_such_mod' failed to import: ModuleNotFoundError: No module named 'no_such_mod'
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from .errors import UsageError

GROUP = "optnas.plugins"
ENV = "OPTNAS_PLUGINS"


def _remember(module: str) -> None:
    names = [n for n in os.environ.get(ENV, "").split(",") if n]
    if module not in names:
        os.environ[ENV] = ",".join([*names, module])


def _import(module: str, where: str) -> Any:
    if not isinstance(module, str) or not module or any(not part.isidentifier() for part in module.split(".")):
        raise UsageError(f"{where}: {module!r} is not a module name (e.g. mylab.optnas_parts)")
    # `optnas` is a console script, so the folder it runs in is not on sys.path; `python -m` would add it
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        return importlib.import_module(module)
    except Exception as exc:  # a plugin's own error (bad registration, missing dependency) is bad input too
        first = (str(exc).strip().splitlines() or [""])[0]
        raise UsageError(f"{where} {module!r} failed to import: {type(exc).__name__}: {first}") from None


def load(modules: Iterable[str], *, where: str = "plugin") -> list[str]:
    """Import ``modules`` (each once) and remember them for worker processes; returns their names."""
    done = []
    for module in modules:
        _import(module, where)
        _remember(module)
        done.append(module)
    return done


def load_entry_points() -> list[str]:
    """Import every installed package's ``optnas.plugins`` entry point; returns the modules loaded.

    The entry point's value is a module (``"mylab.optnas_parts"``), or ``"module:function"``, in which case
    the function is called with no arguments after the import (a ``register()`` hook).
    """
    done = []
    for ep in entry_points(group=GROUP):
        module = _import(ep.module, f"plugin (entry point {ep.name!r})")
        if ep.attr:
            hook = getattr(module, ep.attr, None)
            if not callable(hook):
                raise UsageError(f"plugin entry point {ep.name!r}: {ep.value!r} names no function")
            hook()
        _remember(ep.module)
        done.append(ep.module)
    return done


def load_from_env() -> list[str]:
    """Import the modules named in ``OPTNAS_PLUGINS`` (what a worker process does at ``import optnas``)."""
    return load([n for n in os.environ.get(ENV, "").split(",") if n], where=f"plugin (from {ENV})")


def loaded() -> list[str]:
    """The plugin modules this process loaded (and that its workers will load)."""
    return [n for n in os.environ.get(ENV, "").split(",") if n]


def ray_runtime_env() -> dict[str, Any]:
    """What a Ray job needs to import this process's plugins on every worker.

    ``env_vars`` carries ``OPTNAS_PLUGINS``; ``py_modules`` ships the files of plugin modules that are not
    installed packages (a module beside your space file, on ``PYTHONPATH``): Ray uploads them to each node.
    Installed plugin packages must be installed on the cluster's nodes too.
    """
    names = loaded()
    if not names:
        return {}
    shipped: list[str] = []
    for name in names:
        top = sys.modules.get(name.split(".")[0])
        path = Path(getattr(top, "__file__", "") or "")
        if not path.name or _installed(path):
            continue
        source = path.parent if path.name == "__init__.py" else path
        if str(source) not in shipped:
            shipped.append(str(source))
    env: dict[str, Any] = {"env_vars": {ENV: ",".join(names)}}
    if shipped:
        env["py_modules"] = shipped
    return env


def _installed(path: Path) -> bool:
    return any(part in ("site-packages", "dist-packages") for part in path.parts)
