"""Writers to SIGKILL: a process that forks one `optnas.storage.BatchWriter` writer per command, for
tests/storage/test_batch_killed.py.

Run as ``python -m tests._support.killed_writer``; it imports once (optnas, optuna: seconds) and then, per
JSON line on stdin, forks a writer with its own storage and connections, prints ``pid N``, and, when the
writer has ended (killed or not), ``exit N STATUS``. A command names a storage (``"url"``), a study
(``"study"``) and an operation on it:

- ``{"op": "create", "k": K}``: write `draft` (K) as a new trial; prints ``created K TRIAL_ID NUMBER``;
- ``{"op": "records", "k": K, "trial_id": T}``: `records` (K) on trial T in one ``set_user_attrs``;
- ``{"op": "reports", "k": K, "trial_id": T}``: `reports` (K) in one ``set_intermediate_values``;
- ``{"op": "loop", "k": K}``: trials K, K+1, ... each created, then its records, then its reports, forever.

``"hold": TABLE`` stops the writer (prints ``held``, sleeps) just before its INSERT into TABLE;
``"hold": "commit"`` just before its COMMIT: inside the transaction, rows written, at a moment the test
chooses. Every transaction's begin and commit print ``b`` and ``c``, so a test can kill at a random point
among them. Lines go straight to the pipe (no buffer lost to the kill).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import Any

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState, create_trial

DISTRIBUTIONS = {
    "lr": FloatDistribution(1e-4, 0.1, log=True),
    "depth": IntDistribution(2, 6),
    "block": CategoricalDistribution(["mlp2", "conv", None]),
}
STEPS = 5


def draft(k: int) -> FrozenTrial:
    """The K-th drafted trial, as the Ray driver writes one: params, nested records, a system attribute."""
    return create_trial(
        state=TrialState.RUNNING,
        params={"lr": 0.01 + k * 1e-4, "depth": 2 + k % 5, "block": [None, "conv", "mlp2"][k % 3]},
        distributions=DISTRIBUTIONS,
        user_attrs={"k": k, "spec": {"layers": [1, 2, {"act": "relu"}], "k": k}, "ray": {"trial_id": f"r{k}"}},
        system_attrs={"constraints": [1.5, -float(k)]},
    )


def records(k: int) -> dict[str, Any]:
    """Trial K's records at its end: one replaces a drafted record ("spec"), the others are new."""
    return {"spec": {"replaced": k}, "status": "ok", "metrics": {"val": k / 1000, "curve": list(range(k % 7))}}


def reports(k: int) -> dict[int, float]:
    return {step: k + step / 10 for step in range(STEPS)}


def _say(line: str) -> None:
    os.write(1, (line + "\n").encode())


def _hold() -> None:
    _say("held")
    while True:
        time.sleep(3600)


def _write(command: dict[str, Any]) -> None:
    """One writer process: its own storage (its own connections), the command, then exit."""
    import sqlalchemy
    from optuna.storages import RDBStorage

    from optnas.storage import BatchWriter

    storage = RDBStorage(command["url"])
    study_id = storage.get_study_id_from_name(command["study"])
    writer = BatchWriter(storage)
    hold = command.get("hold")

    def on_begin(conn: Any) -> None:
        _say("b")

    def on_commit(conn: Any) -> None:
        _say("c")
        if hold == "commit":
            _hold()

    def on_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if hold and statement.lstrip().upper().startswith(f"INSERT INTO {hold.upper()} "):
            _hold()

    sqlalchemy.event.listen(storage.engine, "begin", on_begin)
    sqlalchemy.event.listen(storage.engine, "commit", on_commit)
    sqlalchemy.event.listen(storage.engine, "before_cursor_execute", on_statement)
    k, op = int(command["k"]), command["op"]
    if op == "create":
        trial_id, number = writer.create(study_id, draft(k))
        _say(f"created {k} {trial_id} {number}")
    elif op == "records":
        writer.set_user_attrs(int(command["trial_id"]), records(k))
    elif op == "reports":
        writer.set_intermediate_values(int(command["trial_id"]), reports(k))
    elif op == "loop":
        while True:
            trial_id, number = writer.create(study_id, draft(k))
            writer.set_user_attrs(trial_id, records(k))
            writer.set_intermediate_values(trial_id, reports(k))
            k += 1
    else:
        raise ValueError(f"unknown op {op!r}")


def main() -> None:
    from optuna.storages import RDBStorage

    import optnas.storage  # noqa: F401  - imported once here, so each forked writer starts at once

    # a storage opened once, so Optuna's lazy imports (its schema checks) are done before the forks; its
    # connections are closed, so no writer shares one
    RDBStorage("sqlite:///:memory:").engine.dispose()
    with contextlib.suppress(ImportError):  # PostgreSQL's driver, where installed (SQLAlchemy imports it lazily)
        import psycopg  # noqa: F401

    for line in sys.stdin:
        command = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _write(command)
            except BaseException as exc:  # the test reads it on stdout
                _say(f"error {type(exc).__name__}: {exc}")
                code = 1
            os._exit(code)
        _say(f"pid {pid}")
        _, status = os.waitpid(pid, 0)
        _say(f"exit {pid} {status}")


if __name__ == "__main__":
    main()
