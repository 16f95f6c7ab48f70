"""Plugins: the user's modules that register algorithms, blocks, activations, schedules and tasks.

A plugin is an importable module whose import registers components (``@optnas.algorithms.register(...)``
and so on). Three ways name one, all handled here, the one place plugins are imported:

- ``plugins: [mylab.optnas_parts, ...]`` in a search-space file;
- ``--plugin MODULE`` (repeatable) on every ``optnas`` command;
- the ``optnas.plugins`` entry-point group of an installed package, loaded by every command::

      [project.entry-points."optnas.plugins"]
      mylab = "mylab.optnas_parts"

A storage never names code to run: a study records the plugins it was made with (``optnas.plugins`` in its
user attributes), and `require` only *checks* that they are imported already. Export, report and the
dashboard of such a study refuse in one line (naming the modules) unless the user provides them, or passes
``--trust-plugins``, which prints the study's list before importing it (`trust`). A module named by the user
(``--plugin``, a space file, ``--trust-plugins``) that is not importable otherwise is looked for in the
current folder (``--plugin``, ``--trust-plugins``) or the space file's folder; nothing else adds a folder to
the import path.

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
import importlib.util
import os
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from ._validate import shown
from .errors import UsageError

MAX_SHOWN = 8  # plugin names a message lists
GROUP = "optnas.plugins"
ENV = "OPTNAS_PLUGINS"


def _remember(module: str) -> None:
    names = [n for n in os.environ.get(ENV, "").split(",") if n]
    if module not in names:
        os.environ[ENV] = ",".join([*names, module])


def is_module_name(module: Any) -> bool:
    """A dotted name of identifiers (``mylab.optnas_parts``): what a study or a file may name."""
    return isinstance(module, str) and 0 < len(module) <= 200 and all(p.isidentifier() for p in module.split("."))


def _import(module: str, where: str, folder: str | os.PathLike[str] | None = None) -> Any:
    if not is_module_name(module):
        raise UsageError(f"{where}: {shown(module)} is not a module name (e.g. mylab.optnas_parts)")
    # a module the user named (``--plugin``, a space file) that is found nowhere else is looked for in the
    # folder they work in: `optnas` is a console script, so that folder is not on sys.path by itself
    if folder is not None and importlib.util.find_spec(module.split(".")[0]) is None:
        place = os.path.abspath(folder)
        if place not in sys.path:
            sys.path.append(place)
    try:
        return importlib.import_module(module)
    except Exception as exc:  # a plugin's own error (bad registration, missing dependency) is bad input too
        first = (str(exc).strip().splitlines() or [""])[0]
        raise UsageError(f"{where} {module!r} failed to import: {type(exc).__name__}: {first}") from None


def load(
    modules: Iterable[str], *, where: str = "plugin", folder: str | os.PathLike[str] | None = None
) -> list[str]:
    """Import ``modules`` (each once) and remember them for worker processes; returns their names.

    ``folder``: where the user keeps them (the current folder for ``--plugin``, a space file's folder),
    searched only for a module found nowhere on the import path.
    """
    done = []
    for module in modules:
        _import(module, where, folder)
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


def recorded(meta: Any) -> list[Any]:
    """The plugin list a study's ``optnas`` attribute records (anything else: none)."""
    names = meta.get("plugins") if isinstance(meta, dict) else None
    return list(names) if isinstance(names, list) else []


def missing(names: Iterable[Any]) -> list[Any]:
    """Those of ``names`` this process has not imported (checked, never imported)."""
    return [n for n in names if not (is_module_name(n) and n in sys.modules)]


def require(names: Iterable[Any], study: str, *, trust: bool = False, command: str = "optnas") -> list[str]:
    """Check that the plugins a study was made with are imported; import them only when ``trust``.

    Nothing a storage holds is imported unless the user says so: without ``trust`` a missing plugin is a
    UsageError naming the study's modules and how to provide them; with it, the list is printed on stderr
    first, then imported (looked for in the current folder too). Returns the modules imported here.

    Example:
        >>> require(["os"], "s")   # imported already: nothing to do
        []
        >>> require(["evilplug"], "s")
        Traceback (most recent call last):
        ...
        optnas.errors.UsageError: study 's' was made with plugin module(s) 'evilplug', which are not loaded; \
provide them with --plugin evilplug (or install the package that declares them as an optnas.plugins \
entry point), or pass --trust-plugins to import the study's list (only for a storage you trust)
    """
    names = list(names)
    absent = missing(names)
    if not absent:
        return []
    listed = ", ".join(shown(n) for n in absent[:MAX_SHOWN]) + (f" and {len(absent) - MAX_SHOWN} more"
                                                                  if len(absent) > MAX_SHOWN else "")
    if not trust:
        flags = " ".join(f"--plugin {n}" for n in absent[:MAX_SHOWN] if is_module_name(n)) or "--plugin MODULE"
        raise UsageError(
            f"study {shown(study)} was made with plugin module(s) {listed}, which are not loaded; provide them "
            f"with {flags} (or install the package that declares them as an optnas.plugins entry point), or pass "
            "--trust-plugins to import the study's list (only for a storage you trust)"
        )
    bad = [n for n in absent if not is_module_name(n)]
    if bad:
        raise UsageError(f"study {shown(study)} names {shown(bad[0])} as a plugin, which is not a module name; "
                         "refusing to import its list")
    print(f"{command}: --trust-plugins: importing the plugin modules study {shown(study)} names: {listed}",
          file=sys.stderr, flush=True)
    return load(absent, where=f"study {shown(study)}: plugin", folder=os.getcwd())


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
