"""Fixtures shared by every test folder."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PLUGIN_FILES = Path(__file__).parent / "plugin_files"


@pytest.fixture
def user_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A user's plugin (mylab_plugin + its torch-only mylab_nn) copied to a folder outside the package.

    The folder is on sys.path of this process only (subprocesses must find it as users' would: from their
    working folder or what optnas ships); the plugin is not imported yet. Afterwards its registrations,
    modules and the OPTNAS_PLUGINS variable are removed, so other tests see the built-in registries only.
    """
    folder = tmp_path / "userlib"
    folder.mkdir()
    for name in ("mylab_nn.py", "mylab_plugin.py"):
        shutil.copy(PLUGIN_FILES / name, folder / name)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delenv("OPTNAS_PLUGINS", raising=False)
    yield folder
    plugin = sys.modules.pop("mylab_plugin", None)
    sys.modules.pop("mylab_nn", None)
    if plugin is not None:
        import optnas

        for family, names in plugin.NAMES.items():
            registry = getattr(optnas, family)
            for name in names:
                if name in registry.names():
                    registry.unregister(name)
