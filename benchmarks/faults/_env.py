"""Real places for the soak's studies: a throwaway PostgreSQL server (Debian's binaries, as the tests start
one) and small tmpfs mounts that fill up (we run as root)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_unavailable() -> str | None:
    """Why no throwaway PostgreSQL server can start here (None: one can)."""
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return "no PostgreSQL server binaries (apt-get install postgresql)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: cannot start PostgreSQL as an unprivileged user"
    return None


@contextmanager
def postgres(start: bool = True) -> Iterator[str | None]:
    """OPTNAS_TEST_POSTGRES_URL if set, else a throwaway PostgreSQL server's URL, stopped and removed on exit
    (None, with nothing started, when ``start`` is false or `postgres_unavailable` says why not).

    The tests' ``postgres_url`` fixture (tests/conftest.py) starts its server with this too."""
    if not start:
        yield None
        return
    if os.environ.get("OPTNAS_TEST_POSTGRES_URL"):
        yield os.environ["OPTNAS_TEST_POSTGRES_URL"]
        return
    if postgres_unavailable():
        yield None
        return
    bindir = os.path.dirname(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1])
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="optnas-pg-"))  # not a private tmp dir: the server runs as postgres
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if run_as:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    subprocess.run([*run_as, f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres"], check=True,
                   capture_output=True)
    subprocess.run([*run_as, f"{bindir}/pg_ctl", "-D", str(data), "-w", "-l", str(base / "log"), "-o",
                    f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def mount_tmpfs(where: Path, size_kb: int) -> str | None:
    """Mount a tmpfs of ``size_kb`` at ``where``; None, or why it could not be mounted."""
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(where)],
                          capture_output=True, text=True)
    return None if done.returncode == 0 else (done.stderr.strip() or f"mount exited {done.returncode}")


def resize_tmpfs(where: Path, size_kb: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size_kb}k", str(where)], check=True, capture_output=True)


def unmount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True)
