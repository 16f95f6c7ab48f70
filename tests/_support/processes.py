"""Ports and process groups of the servers tests start for real (Ray nodes, moto, PostgreSQL clients)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess


def free_port() -> int:
    """A free TCP port outside Ray's default worker-port range (10002-19999): a Ray test may run beside it."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not 10002 <= port <= 19999:
            return port


def stop_group(proc: subprocess.Popen, term_wait: float = 10) -> None:
    """SIGTERM ``proc``'s process group, then SIGKILL what is left of it after ``term_wait`` seconds."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=term_wait)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # what SIGTERM left of this group, and only of it
    proc.wait(timeout=10)
