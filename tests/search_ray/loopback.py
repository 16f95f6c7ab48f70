"""A real Ray cluster of several nodes on loopback: each node a ``ray start`` in its own process group and temp
folder, with declared (fake) GPUs; `add_node` joins one more, as an autoscaler would. Stopped by signalling
those groups only (``ray stop`` would stop every Ray on the machine)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests._support.processes import free_port, stop_group


@dataclass
class Cluster:
    address: str
    env: dict[str, str]  # what a client of this cluster needs (Ray's token authentication)
    procs: list[subprocess.Popen] = field(default_factory=list)
    temps: list[str] = field(default_factory=list)

    def add_node(self, gpus: int, cpus: int = 1) -> None:
        """Join a node with ``gpus`` declared GPUs (it registers a few seconds later)."""
        self._start([f"--address={self.address}"], gpus, cpus)

    def _start(self, where: list[str], gpus: int, cpus: int) -> str:
        temp = tempfile.mkdtemp(prefix="optnas-ln-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
        self.temps.append(temp)
        argv = [sys.executable, "-m", "ray.scripts.scripts", "start", *where, "--node-ip-address=127.0.0.1",
                f"--num-cpus={cpus}", f"--num-gpus={gpus}", "--object-store-memory=100000000",
                f"--dashboard-agent-listen-port={free_port()}", f"--metrics-export-port={free_port()}",
                f"--temp-dir={temp}", "--block"]
        if where[0] == "--head":
            argv.append("--include-dashboard=false")
        self.procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                           start_new_session=True, env={**os.environ, **self.env}))
        return temp


@contextlib.contextmanager
def ray_nodes(head_gpus: int, head_cpus: int = 1) -> Iterator[Cluster]:
    """A head node on a free port, ready for clients; more nodes with `Cluster.add_node`."""
    port = free_port()
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    cluster = Cluster(address=f"127.0.0.1:{port}", env=env)
    try:
        temp = cluster._start(["--head", f"--port={port}"], head_gpus, head_cpus)
        deadline = time.time() + 120
        while time.time() < deadline and not list(Path(temp).glob("session_latest/gcs_server_port_*")):
            assert cluster.procs[0].poll() is None, "ray start --head exited"
            time.sleep(0.5)
        time.sleep(2)  # the head's raylet registers just after the GCS listens
        yield cluster
    finally:
        for proc in reversed(cluster.procs):
            stop_group(proc)
        for temp in cluster.temps:
            shutil.rmtree(temp, ignore_errors=True)
