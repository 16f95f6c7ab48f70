"""The faults, one function each: run a real search, inject the fault at a random moment, resume, and read the
study with plain Optuna before (right after the fault) and after the resume."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _check import Snapshot, account, snapshot
from _env import mount_tmpfs, resize_tmpfs, unmount
from _procs import Search, children, in_session, kill, traceback_in


@dataclass
class Round:
    """One fault on one backend: where its study lives and how its searches are started."""

    number: int
    backend: str  # journal | postgres | ray
    fault: str
    work: Path
    space: Path
    rng: random.Random
    pg_url: str | None
    trials: int
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def study(self) -> str:
        return f"r{self.number}_{self.fault}"

    def url(self, journal: Path | None = None) -> str:
        if self.backend == "postgres":
            assert self.pg_url
            return self.pg_url
        return str(journal or self.work / "runs" / "journal.log")

    def env(self) -> dict[str, str]:
        return {**os.environ, "OPTNAS_LOCK_DIR": str(self.work / "locks"), "OPTNAS_HEARTBEAT_INTERVAL": "1",
                "OPTNAS_GRACE_PERIOD": "4", "OPTNAS_RAY_CHECKPOINT_S": "0", "PYTHONUNBUFFERED": "1"}

    def start(self, url: str, *, jobs: int = 1, resume: bool = False) -> Search:
        argv = [str(self.space), "--trials", str(self.trials), "--storage", url, "--study", self.study,
                "--no-progress"]
        if self.backend == "ray":
            argv += ["--backend", "ray"]
        elif jobs > 1:
            argv += ["--jobs", str(jobs)]
        if resume:
            argv.append("--resume")
        return Search(argv, self.work, self.env())


def _wait_for(predicate: Callable[[], bool], search: Search, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and search.proc.poll() is None:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def _running(url: str, study: str) -> Callable[[], bool]:
    return lambda: bool(snapshot(url, study).numbers("RUNNING"))


def _said(text: str) -> list[str]:
    """What a command said besides its leaderboard table (the box-drawn lines)."""
    return [line for line in text.splitlines() if line.strip() and not any(c in line for c in "│┃━─┏┗┡└")][-6:]


def _resume_and_check(r: Round, url: str, before: Snapshot, faulted: Search, faulted_rc: int | None) -> None:
    resumed = r.start(url, resume=True)
    rc = resumed.wait(600)
    killed_after = resumed.reap(30)
    after = snapshot(url, r.study)
    out = resumed.output()
    crashes = []
    if traceback_in(faulted.output()):
        crashes.append("traceback in the faulted run")
    if rc != 0:
        crashes.append(f"resume exited {rc}")
    if traceback_in(out):
        crashes.append("traceback in the resume")
    if after.error:
        crashes.append(f"plain Optuna cannot read the study: {after.error}")
    r.record.update(
        faulted_rc=faulted_rc, resume_rc=rc, crashes=crashes, left_processes=killed_after,
        faulted_said=_said(faulted.output()), resume_said=_said(out),
        before={"complete": len(before.numbers("COMPLETE")), "running": len(before.numbers("RUNNING")),
                "error": before.error},
        **account(before, after, r.trials),
    )


def kill_process(r: Round, which: str) -> None:
    """SIGKILL a worker process, the parent `optnas search`, or a Ray trial actor while a trial runs."""
    url = r.url()
    search = r.start(url, jobs=2 if which in ("worker", "parent") else 1)  # ray: no --jobs
    if which == "actor":
        ready = _wait_for(lambda: any("ImplicitFunc" in c for c in in_session(search.sid).values()), search, 240)
    else:
        ready = _wait_for(_running(url, r.study), search, 240)
    time.sleep(r.rng.uniform(0.0, 2.5))
    if which == "worker":
        cmds = in_session(search.sid)
        pool = [p for p in children(search.proc.pid) if "spawn_main" in cmds.get(p, "")]
    elif which == "actor":
        pool = [p for p, c in in_session(search.sid).items() if c.startswith("ray::ImplicitFunc")]
    else:
        pool = [search.proc.pid]
    victim = r.rng.choice(pool) if (ready and pool) else None
    r.record["victim"] = in_session(search.sid).get(victim, which)[:80] if victim else None
    r.record["injected"] = bool(victim and kill(victim))
    rc = search.wait(600)
    # after the parent's death its orphaned workers may finish the study; a local Ray it started is killed
    r.record["reaped"] = search.reap(90 if which == "parent" and r.backend != "ray" else 20)
    _resume_and_check(r, url, snapshot(url, r.study), search, rc)


def cut_journal(r: Round) -> None:
    """Kill the whole search mid-run (a crash), then cut the journal's last record at a random byte."""
    url = r.url()
    search = r.start(url)
    ready = _wait_for(lambda: bool(snapshot(url, r.study).numbers("COMPLETE")), search, 240)
    time.sleep(r.rng.uniform(0.0, 2.0))
    for pid in in_session(search.sid):
        kill(pid)
    rc = search.wait(60)
    search.reap(20)
    data = Path(url).read_bytes()
    last = len(data) - data.rstrip(b"\n").rfind(b"\n") - 1  # the last record with its newline
    cut = r.rng.randint(1, max(1, last - 1))
    os.truncate(url, len(data) - cut)
    r.record.update(injected=ready, cut_bytes=cut, last_record_bytes=last)
    _resume_and_check(r, url, snapshot(url, r.study), search, rc)


def full_disk(r: Round) -> None:
    """The storage folder on a small real tmpfs that fills mid-search; then room is made and the study resumed."""
    disk = r.work / "disk"
    size_kb = r.rng.randint(12, 40)  # a 3-trial study needs ~40 KB (journal and weights)
    why = mount_tmpfs(disk, size_kb)
    if why:
        r.record.update(injected=False, skipped=f"cannot mount a tmpfs: {why}")
        return
    try:
        url = r.url(disk / "journal.log")
        search = r.start(url)
        rc = search.wait(600)
        search.reap(20)
        r.record.update(size_kb=size_kb, injected=rc != 0,
                        journal_ends_at_record=Path(url).read_bytes().endswith(b"\n") if Path(url).exists() else None)
        before = snapshot(url, r.study)
        resize_tmpfs(disk, 64 * 1024)
        _resume_and_check(r, url, before, search, rc)
    finally:
        unmount(disk)


FAULTS: dict[str, Callable[[Round], None]] = {
    "kill_worker": lambda r: kill_process(r, "worker"),
    "kill_parent": lambda r: kill_process(r, "parent"),
    "kill_ray_actor": lambda r: kill_process(r, "actor"),
    "cut_journal": cut_journal,
    "full_disk": full_disk,
}
