"""Run a search on one machine: K worker processes on one Optuna storage, a progress bar, a leaderboard.

The study holds exactly ``trials`` finished trials: a worker claims a trial (``study.ask()``) under a file
lock only while finished + running trials are below the count, so concurrent workers neither lose nor add
trials. A worker killed mid-trial leaves that trial RUNNING; ``resume`` fails it (its process is gone) and
runs the remainder. With an RDB storage, heartbeats fail and retry it while the search still runs.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import multiprocessing as mp
import os
import socket
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import torch
from optuna.storages import fail_stale_trials
from optuna.storages._heartbeat import get_heartbeat_thread, is_heartbeat_enabled
from optuna.trial import TrialState

from .. import __version__
from ..errors import UsageError
from .objective import Objective, TrialFailed
from .space import SearchSpace, UncertifiedDraw
from .storage import DEFAULT_STORAGE, artifact_dir_for, open_storage
from .study import make_pruner, make_sampler

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
log = logging.getLogger("optnas.search")


@dataclass(frozen=True)
class SearchJob:
    """Everything a worker process needs (picklable: workers are spawned)."""

    space_file: str | None
    space_dict: dict[str, Any]
    storage: str
    study: str
    trials: int
    timeout: float | None
    device: str
    artifact_dir: str
    jobs: int = 1
    task: Any = None  # a Task object given to the SearchSpace (pickled to spawned workers), else None


def counted(study: optuna.Study) -> int:
    """Finished trials that count toward the target: those with an optnas outcome (not dead-worker failures)."""
    return sum(
        1
        for t in study.get_trials(deepcopy=False, states=FINISHED)
        if t.state != TrialState.FAIL or "status" in t.user_attrs
    )


def running(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))


def waiting(study: optuna.Study) -> int:
    """Trials queued to run again (a heartbeat retry of a dead worker's trial): always worth claiming."""
    return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


@contextmanager
def claim_lock(storage: str, study: str) -> Iterator[None]:
    """A per-(storage, study) lock file, so workers on this machine claim trials one at a time."""
    key = hashlib.sha1(f"{os.path.abspath(storage) if '://' not in storage else storage}|{study}".encode()).hexdigest()
    path = Path(os.environ.get("OPTNAS_LOCK_DIR", Path.home() / ".cache" / "optnas" / "locks")) / f"{key[:16]}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _load(job: SearchJob) -> tuple[SearchSpace, optuna.Study]:
    space = SearchSpace.from_dict(job.space_dict, Path(job.space_file) if job.space_file else None, task=job.task)
    storage = open_storage(job.storage)
    sampler = make_sampler(space, seed=None)
    study = optuna.load_study(study_name=job.study, storage=storage, sampler=sampler, pruner=make_pruner(space))
    return space, study


def work(
    job: SearchJob, space: SearchSpace | None = None, study: optuna.Study | None = None, on_trial: Any = None
) -> int:
    """The worker loop: claim, run and record trials until the study holds ``job.trials``. Returns trials run."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    # Small models train fastest with few threads, and K workers must not oversubscribe the cores.
    torch.set_num_threads(int(os.environ.get("OPTNAS_TORCH_THREADS", max(1, (os.cpu_count() or 1) // job.jobs))))
    if space is None or study is None:
        space, study = _load(job)
    objective = Objective(space, device=job.device, artifact_dir=Path(job.artifact_dir))
    deadline = None if job.timeout is None else time.monotonic() + job.timeout
    done = 0
    heartbeat = is_heartbeat_enabled(study._storage)
    while deadline is None or time.monotonic() < deadline:
        if heartbeat:
            fail_stale_trials(study)
        with claim_lock(job.storage, job.study):
            claim = _claim(study, job.trials, heartbeat)
            trial = study.ask() if claim == "run" else None
        if claim == "stop":
            break
        if trial is None:  # others are running the last trials; one may be stale and come back as WAITING
            time.sleep(1.0)
            continue
        with get_heartbeat_thread(trial._trial_id, study._storage):
            state, values = _run_one(objective, trial)
        study.tell(trial, values, state=state)
        done += 1
        if on_trial is not None:
            on_trial(study)
    return done


def _claim(study: optuna.Study, target: int, heartbeat: bool) -> str:
    """ "run" a new or retried trial, "wait" for running ones (heartbeat storages only), or "stop"."""
    if waiting(study):
        return "run"
    done, busy = counted(study), running(study)
    if done >= target:
        return "stop"
    if done + busy >= target:
        # journal: no heartbeat will retry a dead worker's trial, so stop (``--resume`` recovers it)
        return "wait" if heartbeat else "stop"
    return "run"


def _run_one(objective: Objective, trial: optuna.Trial) -> tuple[TrialState, Any]:
    try:
        return TrialState.COMPLETE, objective(trial)
    except optuna.TrialPruned as exc:
        trial.set_user_attr("reason", trial.user_attrs.get("reason") or str(exc))
        trial.set_user_attr("status", trial.user_attrs.get("status") or "pruned")
        return TrialState.PRUNED, None
    except (UncertifiedDraw, TrialFailed):
        return TrialState.FAIL, None
    except Exception as exc:  # a bug or an environment error in one trial must not end the study
        log.warning("trial %d failed: %s: %s", trial.number, type(exc).__name__, exc)
        trial.set_user_attr("status", "error")
        trial.set_user_attr("reason", f"{type(exc).__name__}: {exc}")
        return TrialState.FAIL, None


def fail_dead_workers(study: optuna.Study) -> int:
    """Fail RUNNING trials whose worker process on this host is gone (journal storages have no heartbeat)."""
    host, failed = socket.gethostname(), 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = t.user_attrs.get("worker") or {}
        if worker.get("host") == host and not alive(int(worker.get("pid", -1))):
            study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
            failed += 1
    return failed


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (signal 0 checks without sending anything)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_budget(trials: int | None, timeout: float | None) -> None:
    """The search budget both backends accept: ``trials`` an integer >= 1, ``timeout`` > 0 seconds (or None).

    Messages name the Python argument first and the CLI flag after it: both kinds of caller read them.
    """
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or trials < 1):
        raise UsageError(f"trials={trials!r} (--trials) is invalid: it must be an integer >= 1")
    if timeout is not None and not timeout > 0:
        raise UsageError(f"timeout={timeout!r} (--timeout) is invalid: it must be > 0 seconds")


def _worker_main(job: SearchJob) -> None:
    work(job)


def run_search(
    space: SearchSpace,
    *,
    trials: int | None = None,
    timeout: float | None = None,
    study: str | None = None,
    storage: str | None = None,
    jobs: int = 1,
    seed: int | None = None,
    device: str = "auto",
    resume: bool = False,
    progress: bool = True,
) -> optuna.Study:
    """Run (or resume) the search of ``space``; returns the Optuna study.

    Example:
        >>> space = SearchSpace.from_yaml("search_spaces/rings.yaml")        # doctest: +SKIP
        >>> study = run_search(space, trials=10, storage="runs/journal.log")  # doctest: +SKIP
    """
    from .study import create_or_resume

    check_budget(trials, timeout)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"jobs={jobs!r} (--jobs) is invalid: it must be an integer >= 1")
    if seed is not None:
        space.config.seed = seed
    url = storage or DEFAULT_STORAGE
    name = study or space.name
    target = trials or space.config.trials
    optuna_study = create_or_resume(space, url, name, resume=resume)
    if resume:
        stale = fail_dead_workers(optuna_study)
        if stale:
            log.warning("resume: failed %d trial(s) left running by dead workers", stale)
    optuna_study.set_user_attr("optnas", {**optuna_study.user_attrs.get("optnas", {}), "version": __version__})
    job = SearchJob(
        space_file=str(space.path) if space.path else None,
        space_dict=space.to_dict(),
        storage=url,
        study=name,
        trials=target,
        timeout=timeout,
        device=device,
        artifact_dir=str(artifact_dir_for(url)),
        jobs=jobs,
        task=space.given_task,
    )
    from .progress import Progress

    with Progress(optuna_study, target, enabled=progress) as bar:
        if jobs == 1:
            work(job, space, optuna_study, on_trial=bar.update)
        else:
            ctx = mp.get_context("spawn")
            procs = [ctx.Process(target=_worker_main, args=(job,), daemon=False) for _ in range(jobs)]
            for p in procs:
                p.start()
            while any(p.is_alive() for p in procs):
                bar.update(optuna_study)
                time.sleep(1.0)
            for p in procs:
                p.join()
        bar.update(optuna_study)
    return optuna_study
