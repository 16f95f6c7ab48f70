"""Ray backend tests: real Ray (one local Ray per test session, started on first use), real journal
storages, real training on tiny tasks."""

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests._support.fixtures import _lock_dir, write_space  # noqa: F401 (fixtures this folder uses)
from tests._support.processes import free_port, stop_group
from tests._support.spaces import FAST, SLOW

ray = pytest.importorskip("ray")


@pytest.fixture(scope="session")
def local_ray():
    """One local Ray for the in-process tests (run_ray_search uses a Ray this process already holds)."""
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=200 * 1024**2,
        log_to_driver=False,
        logging_level="error",
    )
    yield ray
    ray.shutdown()


@pytest.fixture
def texts():
    """The search-space texts of these tests."""
    return SimpleNamespace(FAST=FAST, SLOW=SLOW)


@pytest.fixture(name="free_port")
def _free_port():
    return free_port


@pytest.fixture(name="cli")
def _cli():
    return cli


def cli(*argv: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "optnas", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        **kw,
    )


@pytest.fixture
def ray_cluster():
    """A real Ray head on loopback (token authentication, as Ray starts clusters by default), in its own
    process group and temp folder; stopped by signalling that group only (`ray stop` would stop every Ray
    on the machine). Yields its address, the environment clients need, and the head's node id."""
    temp = tempfile.mkdtemp(prefix="optnas-rc-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    port, agent_port = free_port(), free_port()
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    head = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ray.scripts.scripts",
            "start",
            "--head",
            f"--port={port}",
            "--node-ip-address=127.0.0.1",
            "--num-cpus=2",
            "--object-store-memory=200000000",
            "--include-dashboard=false",
            f"--dashboard-agent-listen-port={agent_port}",
            f"--temp-dir={temp}",
            "--block",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, **env},
    )
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            assert head.poll() is None, "ray start --head exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        node = ""
        while time.time() < deadline and not node:  # the head's node id names its port files
            ports = list(Path(temp, "session_latest").glob("gcs_server_port_*"))
            node = ports[0].name.rsplit("_", 1)[1] if ports else ""
            time.sleep(0.5)
        time.sleep(1)  # the raylet registers just after the GCS listens
        yield SimpleNamespace(address=f"127.0.0.1:{port}", env=env, node=node)
    finally:
        stop_group(head, term_wait=5)
        subprocess.run(["rm", "-rf", temp], check=False)


