"""The Ray Tune backend of ``optnas search``: trials on a Ray cluster, one Optuna study as the record.

The driver (this process) samples specs with the study's sampler, certifies them and writes everything to
the Optuna storage; Ray workers only train (`optnas.search.ray`, docs/ray.md). The study is the one the
optuna backend would make: `optnas.results.load`, the dashboard and export read it whatever the backend.
"""

from __future__ import annotations

import time

import optuna

from .. import _validate
from ..errors import UsageError
from ..storage import DEFAULT_STORAGE, MAX_RETRY, open_readonly
from ..storage.artifacts import open_store
from .runner import check_budget
from .space import SearchSpace
from .study import check_resumable, choose_store


def _readable(url: str) -> optuna.storages.BaseStorage | None:
    """The storage to read a resumed study's store from; None when it cannot be opened (the run says why)."""
    try:
        return open_readonly(url)
    except UsageError:
        return None


def run_ray_search(
    space: SearchSpace,
    *,
    trials: int | None = None,
    timeout: float | None = None,
    study: str | None = None,
    storage: str | None = None,
    seed: int | None = None,
    device: str = "auto",
    resume: bool = False,
    address: str | None = None,
    gpus_per_trial: float | None = None,
    workers_per_trial: int | None = None,
    cpus_per_trial: float | None = None,
    max_failures: int = MAX_RETRY,
    progress: bool = True,
    stats: dict[str, float] | None = None,
    artifacts: str | None = None,
) -> optuna.Study:
    """Run (or, with ``resume``, continue) the search of ``space`` on Ray Tune; returns the Optuna study.

    ``address``: None starts a local Ray on this machine (shut down at the end); ``"auto"`` or ``HOST:PORT``
    joins a running cluster. Each trial asks Ray for ``cpus_per_trial`` CPUs (default 1) and
    ``gpus_per_trial`` GPUs (a fraction shares a GPU; default 1 where the cluster has GPUs and ``device``
    is not cpu). A trial whose worker dies is retried from its last checkpoint up to ``max_failures``
    times. ``artifacts``: where weights and curve records go, as for `optnas.search.run_search` (the driver
    writes them; a folder store named here also holds Ray's checkpoints). ``stats``, when given, is filled
    with where the driver's time went (Ray start, Tune, writes).

    Example:
        >>> space = SearchSpace.from_yaml("search_spaces/rings.yaml")                    # doctest: +SKIP
        >>> study = run_ray_search(space, trials=20, storage="runs/journal.log",         # doctest: +SKIP
        ...                        address="auto", gpus_per_trial=0.25)
    """
    check_budget(trials, timeout, study)
    if space.given_task is not None:
        # Ray workers rebuild the task from the space's record; a Task object holds data they do not have
        raise UsageError(
            f"the Ray backend needs a registered task, not the Task object {space.task_name!r}: register a "
            "function that returns it (@optnas.tasks.register in a plugin module) and name it in the space "
            "file, or use run_search (the optuna backend)"
        )
    _validate.integer("max_failures", max_failures, 0)
    try:
        import ray.tune  # noqa: F401
    except ImportError:
        raise UsageError("--backend ray needs Ray Tune: pip install 'optnas[ray]'") from None
    # lazy: optnas.search.ray imports Ray, an optional extra (optnas[ray]), checked just above
    from .ray.cluster import check_address, check_flags, checkpoint_interval, experiment_root
    from .ray.run import RaySearch
    from .ray.tally import reconcile_interval
    from .ray.worker import CHECKPOINT_EVERY_S

    check_flags(gpus_per_trial, cpus_per_trial, device)
    check_address(address)
    checkpoint_interval(CHECKPOINT_EVERY_S)  # read again for each trial's plan; a bad value fails here, first
    reconcile_interval()
    seed = space.config.seed if seed is None else seed  # passed on: the caller's space is never changed
    if workers_per_trial is not None:
        _validate.integer("workers_per_trial (--workers-per-trial)", workers_per_trial, 1)
    url = storage or DEFAULT_STORAGE
    name = study or space.name
    # the store before Ray starts: a missing or unwritable one is refused first (a resumed study keeps its own)
    store = choose_store(space, url, name, artifacts, resume=resume, backend=_readable(url) if resume else None,
                         probe=False)
    if resume:  # before Ray starts: Tuner.restore would unpickle what is in the experiment folder
        from .ray.trust import check_experiment  # lazy: as above

        check_experiment(f"{experiment_root(url, store)}/{name}")
        check_resumable(url, name)  # a study that does not exist: refused before anything is made
    open_store(store).probe()
    search = RaySearch(
        space=space,
        url=url,
        name=name,
        target=trials or space.config.trials,
        deadline=None if timeout is None else time.monotonic() + timeout,
        device=device,
        artifacts=store,
        max_failures=max_failures,
        seed=seed,
        workers_per_trial=space.config.workers_per_trial if workers_per_trial is None else workers_per_trial,
        stats={} if stats is None else stats,
    )
    return search.run(address, gpus_per_trial, cpus_per_trial, resume=resume, progress=progress)
