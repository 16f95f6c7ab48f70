"""Processes of one soak round: each `optnas search` runs in its own session, so every process it starts (its
workers, the local Ray cluster and Ray's actors) carries that session id and can be found and killed by pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields after the command name: state, ppid, pgrp, session


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def in_session(sid: int) -> dict[int, str]:
    """Live (not zombie) processes of session ``sid``: pid -> command line."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields and fields[0] != "Z" and int(fields[3]) == sid:
            found[int(entry)] = _cmdline(int(entry))
    return found


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields and fields[0] != "Z" and int(fields[1]) == pid:
                out.append(int(entry))
    return sorted(out)


def kill(pid: int) -> bool:
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


@dataclass
class Search:
    """One `optnas search` command running in its own session."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    proc: subprocess.Popen = field(init=False)
    log: Path = field(init=False)
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.cwd / f"search-{time.monotonic_ns()}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "optnas", "search", *self.argv], cwd=self.cwd, env=self.env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.started = time.monotonic()

    @property
    def sid(self) -> int:
        return self.proc.pid

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def reap(self, grace_s: float = 60.0) -> list[str]:
        """Wait up to ``grace_s`` for the session to empty, then SIGKILL what is left; what had to be killed."""
        deadline = time.monotonic() + grace_s
        while in_session(self.sid) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = in_session(self.sid)
        for pid in left:
            kill(pid)
        if self.proc.poll() is None:
            self.proc.wait(timeout=30)
        for _ in range(40):
            if not in_session(self.sid):
                break
            time.sleep(0.25)
        return sorted(left.values())


def traceback_in(text: str) -> bool:
    return "Traceback (most recent call last)" in text
