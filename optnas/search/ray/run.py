"""One search on Ray Tune: connect, open the study, run (or restore) the Tune experiment, hand back the study."""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import optuna
import ray
from ray import tune
from ray.tune.experiment import Trial

from ..._version import __version__
from ...errors import SearchIncomplete
from ...storage import open_storage
from ..counts import counted
from ..progress import Progress
from ..runner import check_complete, resume_command
from ..space import SearchSpace
from ..study import create_or_resume, make_pruner, make_sampler
from . import cluster
from .bridge import OptunaBridge
from .schedulers import make_scheduler
from .session import Session, bind
from .tally import reconcile_interval
from .worker import trainable as worker_trainable
from .writer import StudyWriter

log = logging.getLogger("optnas.search")

# Tune's CSV/JSON/TensorBoard loggers write a file set per trial (and import TensorBoard): the study is the
# record here, and they cost ~0.4 s a trial on a small machine. Tune's console output is replaced by optnas's
# progress bar and leaderboard. Set only where the user has not set them.
TUNE_DEFAULTS = {
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
    "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "0",
    "RAY_AIR_NEW_OUTPUT": "0",
}
# Start reports and records of trials that never scored carry no val_metric by design.
TUNE_REQUIRED = {"TUNE_DISABLE_STRICT_METRIC_CHECKING": "1"}


def trial_name(trial: Trial) -> str:
    """Ray trial (and folder) names carry the Optuna trial number: ``optuna-00012_<ray id>``."""
    return f"optuna-{int(trial.config['optnas']['number']):05d}_{trial.trial_id}"


@dataclass
class RaySearch:
    space: SearchSpace
    url: str
    name: str
    target: int
    deadline: float | None
    device: str
    artifacts: str  # the artifact store's URL (optnas.storage.artifacts)
    max_failures: int
    seed: int  # the run's: --seed, else the file's
    workers_per_trial: int
    stats: dict[str, float] = field(default_factory=dict)

    def run(
        self,
        address: str | None,
        gpus_per_trial: float | None,
        cpus_per_trial: float | None,
        *,
        resume: bool,
        progress: bool,
    ) -> optuna.Study:
        make_sampler(self.space, self.seed), make_pruner(self.space)  # before Ray or a storage exist
        start = time.perf_counter()
        started = cluster.connect(address)
        self.stats["ray_start_s"] = self.stats.get("ray_start_s", 0.0) + time.perf_counter() - start
        try:
            workers = self.workers_per_trial
            resources = cluster.resources(
                gpus_per_trial, cpus_per_trial, self.device, started and address is None, workers
            )
            storage = open_storage(self.url)
            study = create_or_resume(
                self.space, self.url, self.name, resume=resume, backend=storage, store=self.artifacts, seed=self.seed
            )
            study.set_user_attr("optnas", {**study.user_attrs.get("optnas", {}), "version": __version__})
            if counted(study) >= self.target:
                return study
            first = len(study.get_trials(deepcopy=False))
            root = cluster.experiment_root(self.url, self.artifacts)
            scheduler, milestones, scheduler_name = make_scheduler(self.space)
            with Progress(study, self.target, enabled=progress) as bar:
                session = Session(
                    space=self.space,
                    seed=self.seed,
                    study=study,
                    storage=storage,
                    url=self.url,
                    target=self.target,
                    deadline=self.deadline,
                    experiment=f"{root}/{self.name}",
                    artifacts=self.artifacts,
                    device=self.device,
                    resources=resources,
                    milestones=milestones,
                    scheduler_name=scheduler_name,
                    on_trial=bar.update,
                    stats=self.stats,
                    reconcile_s=reconcile_interval(),
                )
                with bind(session):
                    try:
                        self._fit(session, root, scheduler, resume=resume)
                    finally:
                        session.close()
            timed_out = self.deadline is not None and time.monotonic() >= self.deadline
            command = resume_command(self.space, self.url, self.name, self.target, backend="ray")
            check_complete(study, self.url, self.target, first, timed_out, command)
            check_not_all_errors(study, first, command)
            return study
        finally:
            if started:
                ray.shutdown()

    def _fit(self, session: Session, root: str, scheduler: Any, *, resume: bool) -> None:
        """Restore the interrupted Ray experiment on ``resume``; run a new one while trials are still due."""
        for key, value in TUNE_DEFAULTS.items():
            os.environ.setdefault(key, value)
        os.environ.update(TUNE_REQUIRED)
        # the validated space goes to Ray's object store once a run (Tuner.restore is given it again)
        trainable = tune.with_resources(worker_trainable(self.space), session.resources.as_dict())
        with _pending(session):
            self._fit_runs(session, root, scheduler, trainable, resume=resume)

    def _fit_runs(self, session: Session, root: str, scheduler: Any, trainable: Any, *, resume: bool) -> None:
        restorable = resume and tune.Tuner.can_restore(session.experiment)
        while True:
            start = time.perf_counter()
            if restorable:
                tuner = tune.Tuner.restore(
                    session.experiment, trainable, resume_unfinished=True, resume_errored=False, restart_errored=False
                )
            else:
                tuner = self._tuner(trainable, root, scheduler)
            with _quiet_tune():
                tuner.fit()
            session.drain()  # the writer thread's records and tells: the study is read next
            self.stats["fit_s"] = self.stats.get("fit_s", 0.0) + time.perf_counter() - start
            if _ours_running(session):
                log.warning("search %r interrupted: continue it with --resume", self.name)
                raise KeyboardInterrupt(f"search {self.name!r} interrupted")
            out_of_time = session.deadline is not None and time.monotonic() >= session.deadline
            if not restorable or out_of_time or counted(session.study) >= self.target:
                return
            restorable = False  # the restored experiment is done; a larger --trials needs a new one
            scheduler = make_scheduler(self.space)[0]
            session.reconciled = False

    def _tuner(self, trainable: Any, root: str, scheduler: Any) -> tune.Tuner:
        return tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=OptunaBridge(),
                scheduler=scheduler,
                num_samples=-1,  # the searcher says when the study holds its trials
                reuse_actors=True,
                trial_name_creator=trial_name,
                trial_dirname_creator=trial_name,
            ),
            run_config=tune.RunConfig(
                name=self.name,
                storage_path=root,
                callbacks=[StudyWriter()],
                verbose=0,
                failure_config=tune.FailureConfig(max_failures=self.max_failures),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            ),
        )


def check_not_all_errors(study: optuna.Study, first: int, command: str) -> None:
    """Raise `SearchIncomplete` (exit 1) naming the reason when every trial this run finished is an error
    (``status: error``: CUDA not visible, a bad option, a plugin that does not import): such a search
    measured nothing. Diverged or uncertified trials are outcomes of the search, not errors."""
    mine = [t for t in study.get_trials(deepcopy=False) if t.number >= first and t.state.is_finished()]
    errors = [t for t in mine if t.state == optuna.trial.TrialState.FAIL and t.user_attrs.get("status") == "error"]
    if not mine or len(errors) < len(mine):
        return
    reasons = Counter(str(t.user_attrs.get("reason") or "no reason recorded") for t in errors)
    reason, count = reasons.most_common(1)[0]
    which = "" if count == len(errors) else f" ({count} of them; {len(reasons) - 1} other reason(s) in the study)"
    raise SearchIncomplete(
        f"search {study.study_name!r}: every trial of this run failed ({len(errors)}): {reason}{which}; "
        f"fix that, then continue with: {command}",
        study=study,
        command=command,
    )


def _ours_running(session: Session) -> bool:
    """Trials of this experiment still RUNNING after fit returned: the run was interrupted (Ctrl-C)."""
    return any(
        (t.user_attrs.get("ray") or {}).get("experiment") == session.experiment
        for t in session.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    )


@contextmanager
def _pending(session: Session) -> Iterator[None]:
    """Tune's pending-trial limit for this run (`cluster.pending_trials`), unless the user set one."""
    if cluster.PENDING_ENV in os.environ:
        yield
        return
    os.environ[cluster.PENDING_ENV] = str(cluster.pending_trials(session.resources))
    try:
        yield
    finally:
        os.environ.pop(cluster.PENDING_ENV, None)


@contextmanager
def _quiet_tune() -> Iterator[None]:
    """Tune logs each failed trial's traceback and its own bookkeeping on stderr; the study records failures
    (the driver logs one line each), so keep Tune's loggers to critical errors while it runs."""
    loggers = [logging.getLogger(name) for name in ("ray.tune", "ray.train", "ray.air")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
