"""Fixtures and options shared by every test folder.

``--device`` runs the tests that take the ``device`` fixture on that device:

    python -m pytest tests/training/test_device_paths.py --device cuda     # on a GPU machine

The default is ``cpu``, so the default run needs no GPU; benchmarks/gpu/run.py passes ``--device cuda``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

PLUGIN_FILES = Path(__file__).parent / "plugin_files"
ROOT = Path(__file__).resolve().parents[1]

# The tests' models are tiny: with several intra-op threads, per-op synchronisation dominates, and on a busy
# machine spinning threads make a 8-channel conv take 80 ms instead of 3 (measured). One thread here and in
# the searches and commands the tests start (OPTNAS_TORCH_THREADS is the runner's documented knob, OMP_NUM_THREADS
# torch's default in a new process); a variable already set wins.
os.environ.setdefault("OPTNAS_TORCH_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


# Under pytest-xdist (`-n 2 --dist loadgroup`, the README's test command) a worker takes whole groups: a test
# module by default, so its module-scoped fixtures (a browser, a searched study) are built once; a folder where
# a session fixture is shared by every module (one local Ray, one searched study for the dashboard); an
# ``xdist_group`` mark written on a test wins. Without xdist the marks do nothing.
FOLDER_GROUPS = {"search_ray": "ray", "dashboard": "dashboard"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the marks into the node ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        if item.get_closest_marker("xdist_group") is None and item.path.is_relative_to(tests):
            where = item.path.relative_to(tests)
            group = FOLDER_GROUPS.get(where.parts[0]) if len(where.parts) > 1 else None
            item.add_marker(pytest.mark.xdist_group(group or where.as_posix()))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--device", default="cpu", choices=("cpu", "cuda"),
                     help="device of the tests that take the `device` fixture (default cpu)")


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    """Each test starts on one torch thread (an in-process search or a test may have set another count)."""
    torch.set_num_threads(int(os.environ["OPTNAS_TORCH_THREADS"]))


@pytest.fixture
def device(request: pytest.FixtureRequest) -> torch.device:
    name = request.config.getoption("--device")
    if name == "cuda" and not torch.cuda.is_available():
        pytest.fail("--device cuda: torch sees no CUDA device here")
    return torch.device(name)


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
    # set, then delete: delenv of an unset variable records nothing to undo, and loading the plugin writes
    # OPTNAS_PLUGINS, which later tests' processes would inherit; this way the undo removes it
    monkeypatch.setenv("OPTNAS_PLUGINS", "")
    monkeypatch.delenv("OPTNAS_PLUGINS")
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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server's URL: OPTNAS_TEST_POSTGRES_URL if set, else a throwaway cluster started
    from Debian's postgresql binaries (`.ci/run` installs them), stopped and removed after the session.

    Skips, with the reason, only when neither is possible. The server is started by the fault soak's
    ``benchmarks/faults/_env.py`` (one implementation for both; the soak runs without pytest)."""
    if os.environ.get("OPTNAS_TEST_POSTGRES_URL"):
        yield os.environ["OPTNAS_TEST_POSTGRES_URL"]
        return
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install optnas[postgres])")
    spec = importlib.util.spec_from_file_location("optnas_faults_env", ROOT / "benchmarks" / "faults" / "_env.py")
    assert spec is not None and spec.loader is not None
    env = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(env)
    why = env.postgres_unavailable()
    if why:
        pytest.skip(f"{why}, and no OPTNAS_TEST_POSTGRES_URL")
    with env.postgres() as url:
        yield url
