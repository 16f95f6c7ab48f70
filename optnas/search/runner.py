"""Run a search on one machine: K worker processes on one Optuna storage, a progress bar, a leaderboard.

The study holds exactly ``trials`` counted trials (`optnas.outcome`): a worker claims a trial
(``study.ask()``) under the claim lock only while counted + running trials are below the count, and takes
the trial's lock before it lets go of the claim lock (`optnas.search.locks`). Before each claim it fails the
trials of dead workers (`optnas.search.liveness.sweep`: a RUNNING trial whose lock nobody holds); a failed
trial is ``lost`` and another runs in its place, so a live sibling completes the study. ``resume`` does the
same sweep first. With an RDB storage, heartbeats also fail and retry a dead worker's trial.

A failed write to the storage (a full disk) ends the search with `optnas.errors.StorageWriteError` (exit 2);
a search that ends short of its count because its workers died raises `optnas.errors.SearchIncomplete`,
which names the lost trials and the command that resumes.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import shlex
import time
import warnings
from dataclasses import dataclass
from typing import Any

import optuna
import torch

from .._validate import shown
from .._version import __version__
from ..errors import SearchIncomplete, StorageWriteError, UsageError
from ..storage import DEFAULT_STORAGE, is_rdb, open_storage, repaired
from ..storage.urls import url_scheme
from . import bounds, failpoints
from .counts import counted, lost, running, waiting
from .lifecycle import Lifecycle, record, tell, uploader
from .liveness import Heartbeat, fail_stale, sweep
from .locks import TrialLock, claim_lock
from .progress import Progress
from .space import SearchSpace
from .study import check_resumable, choose_store, create_or_resume, make_pruner, make_sampler

log = logging.getLogger("optnas.search")


@dataclass(frozen=True)
class SearchJob:
    """Everything a worker process needs (picklable: workers are spawned).

    ``space`` travels validated (`SearchSpace` pickles without its data; a given Task object with it): a worker
    does not parse, check or constrain the file again."""

    space: SearchSpace
    seed: int  # the run's: --seed, else the file's
    storage: str
    study: str
    trials: int
    timeout: float | None
    device: str
    artifacts: str  # the artifact store's URL (optnas.storage.artifacts)
    jobs: int = 1


def _load(job: SearchJob) -> tuple[optuna.Study, optuna.storages.BaseStorage]:
    storage = open_storage(job.storage)
    sampler = make_sampler(job.space, seed=None)
    study = optuna.load_study(study_name=job.study, storage=storage, sampler=sampler, pruner=make_pruner(job.space))
    return study, storage


def work(
    job: SearchJob,
    study: optuna.Study | None = None,
    storage: optuna.storages.BaseStorage | None = None,
    on_trial: Any = None,
) -> int:
    """The worker loop: claim, run, record and tell trials until the study holds ``job.trials``; trials run."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    # ask/tell outside study.optimize on an RDB: optnas beats the heartbeat itself (liveness.Heartbeat),
    # so Optuna's warning, repeated for every trial, says nothing true here
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    # Small models train fastest with few threads, and K workers must not oversubscribe the cores.
    torch.set_num_threads(int(os.environ.get("OPTNAS_TORCH_THREADS", max(1, (os.cpu_count() or 1) // job.jobs))))
    if study is None or storage is None:
        study, storage = _load(job)
    life = Lifecycle(job.space, seed=job.seed, device=job.device)
    deadline = None if job.timeout is None else time.monotonic() + job.timeout
    done = 0
    try:
        while deadline is None or time.monotonic() < deadline:
            fail_stale(study, storage)  # RDB heartbeats: fail and retry trials of dead workers elsewhere
            with claim_lock(job.storage, job.study):
                sweep(study, job.storage, backend=storage)  # dead workers here, whatever moment they died at
                claim = _claim(study, job.trials)
                if claim == "stop":
                    break
                trial = study.ask() if claim == "run" else None
                if trial is not None:
                    failpoints.reach("after_ask")
                    lock = TrialLock(job.storage, job.study, trial.number)
            if trial is None:  # others are running the last trials; one may die and need replacing
                time.sleep(1.0)
                continue
            try:
                with Heartbeat(storage, study, trial.number):
                    outcome = life.run(trial, storage, job.artifacts)
                    outcome = record(trial, outcome, upload=uploader(job.artifacts, trial, storage))
                    tell(study, trial.number, outcome)
            except optuna.exceptions.UpdateFinishedTrialError:
                # another process finished it meanwhile (it took this worker for dead): say so in one line
                log.warning("trial %d was finished by another process while it ran here (a process of this "
                            "search with another OPTNAS_LOCK_DIR, or a stale heartbeat); its result here is "
                            "dropped", trial.number)
            finally:
                lock.release()
            done += 1
            if on_trial is not None:
                on_trial(study)
    except optuna.exceptions.StorageInternalError as exc:  # an RDB refused a write
        raise StorageWriteError(job.storage, exc) from None
    return done


def _claim(study: optuna.Study, target: int) -> str:
    """ "run" a new or retried trial, "wait" while others run the last ones (one may die), or "stop"."""
    if waiting(study):
        return "run"
    done, busy = counted(study), running(study)
    if done >= target:
        return "stop"
    return "wait" if done + busy >= target else "run"


MAX_STUDY_NAME = 200  # characters of a study name (Optuna's RDB column holds 512)


def check_budget(trials: int | None, timeout: float | None, study: str | None = None) -> None:
    """The search budget both backends accept: ``trials`` an integer in [1, `bounds.MAX_TRIALS`], ``timeout``
    > 0 seconds (or None), ``study`` a non-empty name of printable characters (None: the space file's name).

    Messages name the Python argument first and the CLI flag after it: both kinds of caller read them.
    """
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or not
                               1 <= trials <= bounds.MAX_TRIALS):
        raise UsageError(f"trials={shown(trials)} (--trials) is invalid: it must be an integer in "
                         f"[1, {bounds.MAX_TRIALS}]")
    if study is not None and (not isinstance(study, str) or not study.strip() or not study.isprintable()
                              or len(study) > MAX_STUDY_NAME):
        raise UsageError(f"study={shown(study)} (--study) is invalid: give a name of 1 to {MAX_STUDY_NAME} printable "
                         "characters, or leave it out to use the space file's name")
    if timeout is not None and not timeout > 0:
        raise UsageError(f"timeout={timeout!r} (--timeout) is invalid: it must be > 0 seconds")


def worker_main(job: SearchJob, errors: Any = None) -> None:
    """The entry point of each spawned worker process (``--jobs K``): imports done here reach every worker.

    A failed storage write is put on ``errors`` for the parent to raise, and the worker exits 2."""
    try:
        work(job)
    except StorageWriteError as exc:
        if errors is not None:
            errors.put(exc)
        raise SystemExit(2) from None


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
    artifacts: str | None = None,
) -> optuna.Study:
    """Run (or resume) the search of ``space``; returns the Optuna study.

    ``artifacts``: where weights and curve records go (`optnas.storage.artifacts`): a folder or ``s3://bucket/prefix``;
    default the space file's ``artifacts:``, else beside a journal or SQLite file (a PostgreSQL URL needs one,
    or ``"local"``). A resumed study keeps the store it recorded.

    Raises `optnas.errors.StorageWriteError` when a write fails, `optnas.errors.SearchIncomplete` when the
    search ends short of its count because workers died (the message says how to resume).

    Example:
        >>> space = SearchSpace.from_yaml("search_spaces/rings.yaml")        # doctest: +SKIP
        >>> study = run_search(space, trials=10, storage="runs/journal.log")  # doctest: +SKIP
    """
    check_budget(trials, timeout, study)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"jobs={jobs!r} (--jobs) is invalid: it must be an integer >= 1")
    if space.config.workers_per_trial > 1:
        raise UsageError(
            f"workers_per_trial={space.config.workers_per_trial} (--workers-per-trial) needs --backend ray: the "
            "optuna backend trains each trial in one process"
        )
    seed = space.config.seed if seed is None else seed  # passed on: the caller's space is never changed
    url = storage or DEFAULT_STORAGE
    name = study or space.name
    target = trials or space.config.trials
    make_sampler(space, seed), make_pruner(space)  # a bad seed or parameter: before any file is made
    if resume:
        check_resumable(url, name)
    elif is_rdb(url) or url_scheme(url) is None:  # a malformed store, or a database without one: refused
        # before the storage is touched (an unknown storage scheme is open_storage's to refuse)
        choose_store(space, url, name, artifacts, resume=False, probe=False)
    backend = open_storage(url)
    # a resumed study's own store, read from the storage; one that cannot be written: refused before any study
    store = choose_store(space, url, name, artifacts, resume=resume, backend=backend)
    optuna_study = create_or_resume(space, url, name, resume=resume, backend=backend, store=store, seed=seed)
    first = len(optuna_study.get_trials(deepcopy=False))
    if resume:
        with claim_lock(url, name):
            stale = sweep(optuna_study, url, backend=backend)
        if stale and repaired(url):  # the cut tail may have held their last records: not only dead workers
            log.warning("resume: failed %d trial(s) left RUNNING: the journal's cut tail (repaired above) lost "
                        "their last records, or their workers died; they are run again", len(stale))
        elif stale:
            log.warning("resume: failed %d trial(s) left running by dead workers", len(stale))
    optuna_study.set_user_attr("optnas", {**optuna_study.user_attrs.get("optnas", {}), "version": __version__})
    job = SearchJob(
        space=space,
        seed=seed,
        storage=url,
        study=name,
        trials=target,
        timeout=timeout,
        device=device,
        artifacts=store,
        jobs=jobs,
    )
    start = time.monotonic()
    with Progress(optuna_study, target, enabled=progress) as bar:
        if jobs == 1:
            work(job, optuna_study, backend, on_trial=bar.update)
        else:
            _run_workers(job, optuna_study, bar.update)
        bar.update(optuna_study)
    timed_out = timeout is not None and time.monotonic() - start >= timeout
    check_complete(optuna_study, url, target, first, timed_out, resume_command(space, url, name, target))
    return optuna_study


def _run_workers(job: SearchJob, study: optuna.Study, on_poll: Any) -> None:
    ctx = mp.get_context("spawn")
    errors = ctx.SimpleQueue()
    procs = [ctx.Process(target=worker_main, args=(job, errors), daemon=False) for _ in range(job.jobs)]
    for p in procs:
        p.start()
    while any(p.is_alive() for p in procs):
        on_poll(study)
        time.sleep(1.0)
    for p in procs:
        p.join()
    if not errors.empty():
        raise errors.get()


def check_complete(
    study: optuna.Study, storage: str, target: int, first: int, timed_out: bool, command: str
) -> None:
    """At the end of a run: fail what dead workers left RUNNING; raise `SearchIncomplete` if the count fell short.

    ``first``: the number of this run's first trial (lost trials before it were reported by earlier runs)."""
    with claim_lock(storage, study.study_name):
        sweep(study, storage)
    gone = lost(study, since=first)
    done = counted(study)
    if done < target and not timed_out and not running(study):
        which = ", ".join(f"#{n}" for n in gone) or "none"
        raise SearchIncomplete(
            f"search {study.study_name!r} stopped at {done} of {target} trials; lost with dead workers: {which}; "
            f"continue with: {command}",
            study=study,
            lost=gone,
            command=command,
        )
    if gone:
        numbers = ", ".join(f"#{n}" for n in gone)
        log.warning("%d trial(s) lost with dead workers were run again: %s", len(gone), numbers)


def resume_command(space: SearchSpace, storage: str, study: str, target: int, backend: str | None = None) -> str:
    """The command line that continues this search."""
    argv = ["optnas", "search", str(space.path) if space.path else "SPACE.yaml", "--storage", storage]
    argv += ["--study", study, "--trials", str(target), "--resume"]
    if backend:
        argv += ["--backend", backend]
    return shlex.join(argv)
