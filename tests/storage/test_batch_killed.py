"""A trial written by `optnas.storage.BatchWriter` is all or none under a real fault: the writing process
SIGKILLed inside its transaction (held there at a chosen statement, or at random points over many writes), on
a real PostgreSQL and SQLite. Afterwards plain Optuna reads every trial whole (params, records, reports,
state) or not at all, numbers stay dense, and a new writer goes on.

The writers are forked by tests/_support/killed_writer.py (one import for all of them)."""

from __future__ import annotations

import json
import os
import queue
import random
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from tests._support.killed_writer import draft, records, reports
from tests._support.processes import stop_group

ROOT = Path(__file__).resolve().parents[2]


class Writers:
    """The forking process of tests/_support/killed_writer.py, and what its writers print; its writers write
    to the study ``study`` of ``url`` (each test sets them)."""

    url = study = ""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests._support.killed_writer"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env, text=True,
                                     start_new_session=True)  # its group: it and the writers it forked
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put("")  # its end

    def line(self) -> str:
        """Its next line; a writer that says nothing for a minute (a lock never released) fails the test."""
        try:
            line = self.lines.get(timeout=60)
        except queue.Empty:
            raise AssertionError("no word from the writers for 60 s") from None
        assert line, f"the writers' process ended (exit {self.proc.poll()})"
        return line

    def start(self, **command: object) -> int:
        """Fork a writer for ``command``; its pid."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"url": self.url, "study": self.study, **command}) + "\n")
        self.proc.stdin.flush()
        while not (line := self.line()).startswith("pid "):
            pass
        return int(line.split()[1])

    def until(self, wanted: str, pid: int) -> list[str]:
        """The lines up to ``wanted`` (included); fails on the writer's exit or error first."""
        seen = []
        while (line := self.line()) != wanted:
            assert not line.startswith(("error", f"exit {pid}")), (line, seen)
            seen.append(line)
        return [*seen, line]

    def run(self, **command: object) -> list[str]:
        """A writer that ends by itself: what it printed; fails unless it exited cleanly."""
        pid = self.start(**command)
        seen = []
        while not (line := self.line()).startswith(f"exit {pid}"):
            seen.append(line)
        assert line == f"exit {pid} 0", seen
        return seen

    def kill(self, pid: int) -> None:
        """SIGKILL the writer and wait until its parent has reaped it (its sockets and locks are gone)."""
        os.kill(pid, signal.SIGKILL)
        while not (line := self.line()).startswith(f"exit {pid}"):
            pass
        assert line == f"exit {pid} {signal.SIGKILL}", line  # waitpid's status of a SIGKILLed process

    def close(self) -> None:
        """End it: its input closed, it exits; after a failed test a writer may still be held, so what is
        left of its process group after a few seconds is stopped."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stop_group(self.proc)


@pytest.fixture(scope="module")
def writers() -> Iterator[Writers]:
    started = Writers()  # one for the module: its imports take seconds, a fork milliseconds
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(params=["postgres", "sqlite"])
def study(request, tmp_path, writers) -> tuple[str, str, Writers]:
    url = f"sqlite:///{tmp_path / 'study.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    name = f"killed-{secrets.token_hex(4)}"
    storage = RDBStorage(url)
    optuna.create_study(study_name=name, storage=storage)
    storage.engine.dispose()
    writers.url, writers.study = url, name
    return url, name, writers


def _trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    """The study's trials as plain Optuna reads them from a fresh connection, each checked whole."""
    storage = RDBStorage(url)
    try:
        trials = optuna.load_study(study_name=name, storage=storage).trials
    finally:
        storage.engine.dispose()
    assert [t.number for t in trials] == list(range(len(trials)))  # dense: no number lost or taken twice
    for t in trials:
        k = t.user_attrs.get("k")
        assert isinstance(k, int), f"trial {t.number} is there in part: {t}"
        expected = draft(k)
        assert (t.state, t.params, t.distributions, t.system_attrs) == (
            TrialState.RUNNING, expected.params, expected.distributions, expected.system_attrs), t
        assert t.user_attrs in (expected.user_attrs, {**expected.user_attrs, **records(k)}), t.user_attrs
        assert t.intermediate_values in ({}, reports(k)), t.intermediate_values
    return trials


def _held_and_killed(writers: Writers, hold: str, **command: object) -> None:
    pid = writers.start(hold=hold, **command)
    writers.until("held", pid)
    writers.kill(pid)


def test_a_writer_killed_inside_its_transaction_leaves_nothing_of_it(study):
    url, name, writers = study
    (created,) = [line for line in writers.run(op="create", k=0) if line.startswith("created")]
    trial_id = int(created.split()[2])
    # a new trial: its row written (its params not), its params and records written (its system's not), all
    # of it written (the COMMIT not sent)
    for hold in ("trial_params", "trial_system_attributes", "commit"):
        _held_and_killed(writers, hold, op="create", k=1)
        assert [t.number for t in _trials(url, name)] == [0], hold
    # a running trial's records (one replacing a drafted one) and reports, written, the COMMIT not sent
    _held_and_killed(writers, "commit", op="records", k=0, trial_id=trial_id)
    _held_and_killed(writers, "commit", op="reports", k=0, trial_id=trial_id)
    (trial,) = _trials(url, name)
    assert (trial.user_attrs, trial.intermediate_values) == (draft(0).user_attrs, {})
    # a new writer goes on: the study's lock and the trial's rows were released with the killed connections
    assert any(line.endswith(" 1") for line in writers.run(op="create", k=1) if line.startswith("created"))
    writers.run(op="records", k=0, trial_id=trial_id)
    writers.run(op="reports", k=0, trial_id=trial_id)
    first, second = _trials(url, name)
    assert (first.user_attrs, first.intermediate_values) == ({**draft(0).user_attrs, **records(0)}, reports(0))
    assert (second.user_attrs, second.intermediate_values) == (draft(1).user_attrs, {})


@pytest.mark.slow  # 30 rounds a storage, ~0.5 s each
@pytest.mark.parametrize("rounds", [30])
def test_writers_killed_at_random_points_leave_every_trial_whole(study, rounds):
    """Writers creating trials, then their records, then their reports, each SIGKILLed at a random point
    shortly after a transaction began (inside it, or just past its end); every round checked, then resumed.

    Measured once (2026-12-07, loaded 2-core machine): on SQLite 4 of these 30 kills left a hot journal, that is
    landed after their transaction's first write and before its commit; the held test above covers those
    moments deterministically."""
    url, name, writers = study
    rng = random.Random(0)
    k = 0
    for _ in range(rounds):
        pid = writers.start(op="loop", k=k)
        for _ in range(rng.randint(1, 12)):  # the writer's own begins (its storage's start has some too)
            writers.until("b", pid)
        if rng.random() < 0.5:
            for _ in range(rng.randint(0, 20000)):  # a few microseconds to a few milliseconds further
                pass
        writers.kill(pid)
        trials = _trials(url, name)
        k = max((t.user_attrs["k"] for t in trials), default=-1) + 1
    assert k > 0  # trials were written, and each round went on from the last one whole
    created = [line for line in writers.run(op="create", k=k) if line.startswith("created")]
    assert created == [f"created {k} {created[0].split()[2]} {len(trials)}"]
    _trials(url, name)
