"""Build the tables: one Optuna study per table over its grid, one trial per architecture (all its seeds).

The study is the record. A trial is enqueued with its cell (the position in `grid.cells`, informational),
so ``ask`` hands that cell back, trains it with every seed of the table's fixed setup and stores the spec
and the rows as user attributes (weights are not stored). The next cell is always the first of the
table's build order whose spec has no COMPLETE trial, so a stopped build resumes where it stopped, on any
machine that has the journal, and never trains an architecture twice. Trials left RUNNING by a dead
builder are failed at start (a pid file keeps a second builder out).

Example (from the repository root):
    OPTNAS_TORCH_THREADS=1 nice -n 19 python -m optnas.bench build --storage benchmarks/optnas_bench/journal.log
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
import torch

from .. import tasks
from .._process import alive
from .._validate import is_integer, is_number
from ..build import build as build_net
from ..certify import certify
from ..errors import UsageError
from ..spec import ArchSpec
from ..storage import open_readonly, open_storage
from ..training import train
from ..training.seeding import seeded
from . import grid, proxies
from .fingerprint import fingerprint

STUDY_PREFIX = "optnas-bench-"
PROXY_BATCH = 64  # the first training samples (unshuffled) on which the zero-cost proxies are taken
# 2: synflow on one all-ones input (Tanaka et al.); version 1 (the build's first 80 cells) summed it over
# PROXY_BATCH identical all-ones inputs, exactly PROXY_BATCH times as much: `table` rescales those rows.
# 3: synflow stored as its log (+inf where the float64 forward overflows; `table` takes the log of older
# rows, whose overflowed values are NaN and stay so), fisher over the gradient-carrying layer outputs only
# (versions 1-2 recorded NaN on every implicit network: see `proxies`).
PROXY_VERSION = 3


# Trials started before this moment were trained by a builder that kept running on the training code of
# before 2026-12-01 11:37 (merges that changed initialisation and the step tables): their rows do not
# reproduce with `optnas.train` now, so they count as not built and are trained again; the table keeps the
# newest trial of each architecture. A change to the training code that changes any number must move this
# moment (and the build then retrains the whole table).
# Trials recorded since carry the fingerprint of the code that trained them (`fingerprint`); this moment
# still rules those without one (the committed tables).
VALID_FROM = datetime(2026, 12, 1, 12, 30)  # naive, as Optuna stores trial times
CODE_KEY = "code"  # the user attribute holding a trial's training-code fingerprint


def valid(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether a COMPLETE build trial was trained by the current training code: its recorded fingerprint
    is this code's (`fingerprint`); a trial without one, by the `VALID_FROM` date."""
    code = trial.user_attrs.get(CODE_KEY)
    if code is not None:
        return bool(code == fingerprint())
    return trial.datetime_start is not None and trial.datetime_start >= VALID_FROM


def study_name(table: str) -> str:
    return STUDY_PREFIX + table


def _r(value: Any, digits: int = 6) -> Any:
    return round(value, digits) if isinstance(value, float) and math.isfinite(value) else value


def _task(table: grid.Table) -> Any:
    return tasks.get(table.task["name"], **table.task["params"])


def _certificate(spec: ArchSpec, input_shape: tuple[int, ...]) -> dict[str, Any]:
    cert = certify(spec, input_shape=input_shape)
    return {"ok": cert.ok, "conditions": {c.name: bool(c.holds) for c in cert.conditions}}


def zero_cost(spec: ArchSpec, task: Any, seed: int) -> dict[str, float]:
    """Every proxy of ``spec`` at the initialization `optnas.train` gives it with ``seed``."""
    x, y = next(iter(task.batches("train", batch_size=PROXY_BATCH)))
    with seeded(seed, torch.device("cpu")):  # optnas.train's seeding rule: the same weights
        model = build_net(spec, task.input_shape, task.num_outputs)
    return {k: _r(v) for k, v in proxies.compute(model, x, y, task.loss).items()}


def theory(spec: ArchSpec, input_shape: tuple[int, ...]) -> dict[str, float]:
    # lazy: the effective theory loads scipy.optimize (about a second); optnas.bench's readers never need it
    from ..theory import trainability_score

    s = trainability_score(spec, input_shape=input_shape)
    return {"theory_score": _r(s.score), "theory_deviation": _r(s.deviation)}


def train_row(spec: ArchSpec, table: grid.Table, task: Any, seed: int) -> dict[str, Any]:
    """One (architecture, seed) row: the metrics of `optnas.train` under the table's setup, and its proxies."""
    kwargs = table.train_kwargs(seed)
    kwargs.pop("task")
    cpu = time.process_time()
    result = train(spec, task, device="cpu", **kwargs)
    cpu_s = time.process_time() - cpu  # one thread: the uncontended cost, where wall time counts the load
    m = result.metrics
    return {
        "seed": seed,
        "status": result.status,
        "reason": result.reason,
        "val_metric": _r(m.get("val_metric")),
        "test_metric": _r(m.get("test_metric")),
        "best_val_metric": _r(m.get("best_val_metric")),
        "params": m.get("params"),
        "flops": m.get("flops"),
        "train_s": _r(m.get("wall_s"), 4),
        "cpu_s": _r(cpu_s, 4),
        "val_curve": [_r(v) for v in result.curves["val_metric"]],
        "epoch_s": [_r(v, 4) for v in result.curves["epoch_s"]],
        "train_loss": [_r(v) for v in result.curves["train_loss"]],
        **zero_cost(spec, task, seed),
    }


@contextlib.contextmanager
def _pid_file(path: Path) -> Iterator[None]:
    if path.exists():
        text = path.read_text().strip()
        if text.isdigit() and alive(int(text)):
            raise UsageError(f"{path}: a build is already running as pid {text}; stop it with kill {text}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{os.getpid()}\n")
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _open(storage: str, table: str) -> optuna.Study:
    return optuna.create_study(
        storage=open_storage(storage), study_name=study_name(table), direction="maximize", load_if_exists=True
    )


def done_specs(study: optuna.Study) -> set[str]:
    """The canonical JSON of every architecture the study holds a valid (`valid`) COMPLETE trial of."""
    done = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    return {ArchSpec.from_dict(t.user_attrs["spec"]).to_json() for t in done if valid(t)}


def _fail_stale(study: optuna.Study) -> int:
    """Fail what a stopped builder left: RUNNING trials, and WAITING ones enqueued but never asked."""
    stale = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.RUNNING])
    for t in stale:  # our pid file says no builder is alive: these were cut off by a stop
        study.tell(t.number, state=optuna.trial.TrialState.FAIL)
    waiting = len(study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.WAITING]))
    for _ in range(waiting):
        study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)  # ask pops the waiting trial
    return len(stale) + waiting


def run_cell(study: optuna.Study, table: grid.Table, task: Any, cell: int, spec: ArchSpec) -> float:
    """Train one cell with every seed and record it as one COMPLETE trial; returns its mean val metric."""
    study.enqueue_trial({"cell": cell}, skip_if_exists=False)
    trial = study.ask()
    n = len(grid.cells(table.name))
    got = trial.suggest_int("cell", 0, n - 1)
    if got != cell:  # another waiting trial was popped: put it back in order by failing ours
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise RuntimeError(f"study {study.study_name}: expected cell {cell}, the queue gave {got}")
    start = time.perf_counter()
    rows = [train_row(spec, table, task, seed) for seed in table.seeds]
    trial.set_user_attr("spec", spec.to_dict())
    trial.set_user_attr("certificate", _certificate(spec, task.input_shape))
    trial.set_user_attr("theory", theory(spec, task.input_shape))
    trial.set_user_attr("rows", rows)
    trial.set_user_attr("proxy_version", PROXY_VERSION)
    trial.set_user_attr(CODE_KEY, fingerprint())
    trial.set_user_attr("cell_s", round(time.perf_counter() - start, 3))
    # diverged seeds count as 0 in the trial's summary value; the rows keep their own status
    value = sum((r["val_metric"] or 0.0) if r["status"] == "complete" else 0.0 for r in rows) / len(rows)
    study.tell(trial, value)
    return value


def check_limits(max_cells: Any, max_seconds: Any) -> None:
    """``max_cells`` an integer >= 1 and ``max_seconds`` a finite number > 0 (or None): a UsageError else.

    Example:
        >>> check_limits(None, 60.0)
        >>> check_limits(-1, None)
        Traceback (most recent call last):
        ...
        optnas.errors.UsageError: --max-cells -1 is invalid: it must be an integer >= 1 (or left out: no limit)
    """
    if max_cells is not None and not (is_integer(max_cells) and max_cells >= 1):
        raise UsageError(f"--max-cells {max_cells!r} is invalid: it must be an integer >= 1 (or left out: no limit)")
    if max_seconds is not None and not (is_number(max_seconds) and max_seconds > 0):
        raise UsageError(f"--max-seconds {max_seconds!r} is invalid: it must be a finite number of seconds > 0 "
                         "(or left out: no limit)")


def build(
    storage: str,
    tables: list[str],
    *,
    pid_file: str | Path,
    max_cells: int | None = None,
    max_seconds: float | None = None,
    reverse: bool = False,
    log: Any = print,
) -> dict[str, int]:
    """Train the next cells of ``tables`` round-robin until done, ``max_cells`` or ``max_seconds``.

    ``reverse``: from the end of the build order, for a second builder on its own journal (one process
    trains one cell at a time; a table is one study): `merge` then copies its trials into the first one's.
    SIGTERM stops after the cell in training (a SIGKILL loses at most that cell). Returns cells trained.
    """
    for name in tables:
        grid.get(name)
    check_limits(max_cells, max_seconds)
    torch.set_num_threads(int(os.environ.get("OPTNAS_TORCH_THREADS", "1")))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    stop = {"asked": False}

    def on_term(signum: int, frame: object) -> None:
        stop["asked"] = True

    previous = signal.signal(signal.SIGTERM, on_term)
    trained = dict.fromkeys(tables, 0)
    start = time.perf_counter()
    try:
        with _pid_file(Path(pid_file)):
            state: dict[str, tuple[optuna.Study, grid.Table, Any, list[ArchSpec], Iterator[int]]] = {}
            for name in tables:
                study = _open(storage, name)
                failed = _fail_stale(study)
                if failed:
                    log(f"{name}: failed {failed} trial(s) a stopped build left running")
                table = grid.get(name)
                order = grid.cells(name)
                done = done_specs(study)
                todo = [i for i, spec in enumerate(order) if spec.to_json() not in done]
                if reverse:
                    todo.reverse()
                log(f"{name}: {len(order) - len(todo)}/{len(order)} cells done")
                state[name] = (study, table, _task(table), order, iter(todo))
            active = list(tables)
            while active and not stop["asked"]:
                for name in list(active):
                    if stop["asked"] or (max_cells is not None and sum(trained.values()) >= max_cells):
                        stop["asked"] = True
                        break
                    if max_seconds is not None and time.perf_counter() - start > max_seconds:
                        stop["asked"] = True
                        break
                    study, table, task, order, queue = state[name]
                    cell = next(queue, None)
                    if cell is None:
                        active.remove(name)
                        continue
                    value = run_cell(study, table, task, cell, order[cell])
                    trained[name] += 1
                    log(f"{name}: cell {cell} {order[cell].algorithm}/{order[cell].activation} "
                        f"depth {order[cell].depth} width {order[cell].width}: mean val {value:.4f}")
    finally:
        signal.signal(signal.SIGTERM, previous)
    return trained


def merge(storage: str, source: str, tables: list[str]) -> dict[str, int]:
    """Copy into ``storage`` the COMPLETE trials of ``source`` (a second builder's journal) whose
    architecture ``storage`` lacks, as they are (params, value, user attributes, times). Returns the copies.

    Example (from the repository root; stop the second builder first):
        python -m optnas.bench merge --from benchmarks/optnas_bench/second.log --tables mnist1d
    """
    src_store = open_readonly(source, flag="--from")
    held = {s.study_name for s in src_store.get_all_studies()}
    for name in tables:
        if study_name(name) not in held:
            raise UsageError(f"--from {source!r} holds no study {study_name(name)!r} (table {name}); it holds: "
                             f"{', '.join(sorted(held)) or 'none'}")
    copied = {}
    for name in tables:
        into = _open(storage, name)
        have = done_specs(into)
        src = optuna.load_study(study_name=study_name(name), storage=src_store)
        copied[name] = 0
        for t in src.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE]):
            key = ArchSpec.from_dict(t.user_attrs["spec"]).to_json()
            if key in have or not valid(t):
                continue
            into.add_trial(optuna.trial.FrozenTrial(  # number and id are the study's to give
                number=-1, trial_id=-1, state=t.state, value=t.value, datetime_start=t.datetime_start,
                datetime_complete=t.datetime_complete, params=t.params, distributions=t.distributions,
                user_attrs=t.user_attrs, system_attrs={}, intermediate_values=dict(t.intermediate_values),
            ))
            have.add(key)
            copied[name] += 1
    return copied


def snapshot(journal: str | Path, out: str | Path) -> Path:
    """Gzip the journal up to its last complete line (a builder may be appending) into ``out``, atomically.

    This is what is committed; `restore` turns it back into a journal on another machine.
    """
    import gzip

    data = Path(journal).read_bytes()
    data = data[: data.rfind(b"\n") + 1]
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(data)
    os.replace(tmp, out)
    return out


def restore(journal: str | Path, snapshot_path: str | Path) -> bool:
    """Recreate a missing ``journal`` from its committed snapshot; False when there is nothing to do."""
    import gzip

    journal, snapshot_path = Path(journal), Path(snapshot_path)
    if journal.exists() or not snapshot_path.exists():
        return False
    tmp = journal.with_name(journal.name + ".tmp")
    with gzip.open(snapshot_path, "rb") as gz:
        tmp.write_bytes(gz.read())
    os.replace(tmp, journal)
    return True
