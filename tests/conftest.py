"""Fixtures and options shared by every test folder.

``--device`` runs the tests that take the ``device`` fixture on that device:

    python -m pytest tests/training/test_device_paths.py --device cuda     # on a GPU machine

The default is ``cpu``, so the default run needs no GPU; benchmarks/gpu/run.py passes ``--device cuda``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

PLUGIN_FILES = Path(__file__).parent / "plugin_files"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--device", default="cpu", choices=("cpu", "cuda"),
                     help="device of the tests that take the `device` fixture (default cpu)")


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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server's URL: OPTNAS_TEST_POSTGRES_URL if set, else a throwaway cluster started
    from Debian's postgresql binaries (`.ci/run` installs them), stopped and removed after the session.

    Skips, with the reason, only when neither is possible (benchmarks/faults/_env.py starts one the same
    way for the soak, which runs without pytest)."""
    if os.environ.get("OPTNAS_TEST_POSTGRES_URL"):
        yield os.environ["OPTNAS_TEST_POSTGRES_URL"]
        return
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install optnas[postgres])")
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql) and no OPTNAS_TEST_POSTGRES_URL")
    bindir = os.path.dirname(bins[-1])
    run_as = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    if run_as and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as an unprivileged user")
    base = Path(tempfile.mkdtemp(prefix="optnas-pg-"))  # not pytest's tmp dirs: the server runs as postgres
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if run_as:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run([*run_as, f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres"], check=True,
                   capture_output=True)
    subprocess.run([*run_as, f"{bindir}/pg_ctl", "-D", str(data), "-w", "-l", str(base / "log"), "-o",
                    f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
