"""Create or resume the Optuna study of a search: directions, sampler, pruner and the optnas record."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import optuna

from .. import plugins
from .._version import __version__
from ..errors import UsageError
from ..storage import artifacts, local_file, open_storage
from ..training.result import json_safe
from .locks import enter_search
from .samplers import evolution, local
from .space import SearchSpace


def _constraints(trial: optuna.trial.FrozenTrial) -> list[float]:
    return list(trial.user_attrs.get("constraints", []))


def _has_constraints(space: SearchSpace) -> bool:
    c = space.config.constraints
    return c.max_params is not None or c.max_flops is not None


SAMPLERS: dict[str, Callable[[dict[str, Any], int | None, Any], optuna.samplers.BaseSampler]] = {
    "tpe": lambda p, seed, cons: optuna.samplers.TPESampler(seed=seed, constraints_func=cons, **p),
    "motpe": lambda p, seed, cons: optuna.samplers.TPESampler(seed=seed, constraints_func=cons, **p),
    "random": lambda p, seed, cons: optuna.samplers.RandomSampler(seed=seed, **p),
    "nsgaii": lambda p, seed, cons: optuna.samplers.NSGAIISampler(seed=seed, constraints_func=cons, **p),
    "evolution": evolution.make,  # regularized evolution (optnas.search.samplers)
    "local": local.make,  # local search, neighbours differing in one choice
}

PRUNERS: dict[str, Callable[[dict[str, Any], int], optuna.pruners.BasePruner]] = {
    "hyperband": lambda p, epochs: optuna.pruners.HyperbandPruner(**{"min_resource": 1, "max_resource": epochs, **p}),
    "median": lambda p, epochs: optuna.pruners.MedianPruner(**{"n_warmup_steps": max(1, epochs // 4), **p}),
    "none": lambda p, epochs: optuna.pruners.NopPruner(),
}


def make_sampler(space: SearchSpace, seed: int | None) -> optuna.samplers.BaseSampler:
    """TPE for one objective, NSGA-II for several (``auto``), or the file's choice."""
    cfg = space.config.sampler
    name = cfg.name if cfg.name != "auto" else ("tpe" if len(space.config.objectives) == 1 else "nsgaii")
    cons = _constraints if _has_constraints(space) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # Optuna 5 deprecates constraints_func for trial.set_constraint (removal in 7, hence optuna<7 in
        # pyproject); Optuna 4 has only constraints_func, and the Ray driver tells trials it holds no
        # optuna.Trial for, so constraints_func stays the one path that works on every supported version
        warnings.filterwarnings("ignore", message=".*constraints_func", category=FutureWarning)
        try:
            return SAMPLERS[name](dict(cfg.params), seed, cons)
        except (TypeError, ValueError) as exc:
            where = space.path or "<search space>"
            raise UsageError(f"{where}: sampler.params: {cfg.params} is invalid for sampler {name}: {exc}") from None


def make_pruner(space: SearchSpace) -> optuna.pruners.BasePruner:
    """The pruner for one objective (multi-objective studies use optnas's dominance rule instead)."""
    cfg = space.config.pruner
    if len(space.config.objectives) > 1:
        return optuna.pruners.NopPruner()
    try:
        return PRUNERS[cfg.name](dict(cfg.params), space.config.train.epochs)
    except (TypeError, ValueError) as exc:
        where = space.path or "<search space>"
        raise UsageError(f"{where}: pruner.params: {cfg.params} is invalid for pruner {cfg.name}: {exc}") from None


def check_resumable(storage: str, name: str) -> None:
    """``resume`` of a study in a journal or SQLite file that does not exist yet is refused before anything
    (the file, its folder) is made: a mistaken ``--resume`` leaves no empty journal behind.

    Example:
        >>> check_resumable("/nonexistent/journal.log", "rings")
        Traceback (most recent call last):
        ...
        optnas.errors.UsageError: resume=True (--resume): no study named 'rings' in /nonexistent/journal.log; ...
    """
    path = local_file(storage)
    if path is not None and not path.exists():
        raise UsageError(
            f"resume=True (--resume): no study named {name!r} in {storage}; valid: none (no storage there yet: "
            "drop --resume to start a search, or pass the --storage it used)"
        )


def choose_store(
    space: SearchSpace, storage: str, name: str, given: str | None, *, resume: bool,
    backend: optuna.storages.BaseStorage | None = None, probe: bool = True,
) -> str:
    """The artifact store URL of a search (`optnas.storage.artifacts.choose`), checked writable when ``probe``.

    ``given``: ``--artifacts`` (else the space file's ``artifacts:``). A resumed study keeps the store it
    recorded (read from ``backend``, the opened storage). A store that cannot be written is one `UsageError`,
    before any trial runs."""
    if given:
        wanted, flag = given, "--artifacts"
    elif space.artifacts:
        wanted, flag = space.artifacts, f"{space.path or '<search space>'}: artifacts:"
    else:
        wanted, flag = None, "--artifacts"
    recorded = None
    if resume and backend is not None and name in optuna.study.get_all_study_names(backend):
        meta = backend.get_study_user_attrs(backend.get_study_id_from_name(name)).get("optnas")
        recorded = artifacts.recorded(meta)
    url = artifacts.choose(storage, wanted, recorded=recorded, flag=flag)
    if probe:
        artifacts.open_store(url).probe(flag if wanted else "artifact store")
    return url


def create_or_resume(
    space: SearchSpace, storage: str, name: str, *, resume: bool, backend: optuna.storages.BaseStorage | None = None,
    store: str | None = None, seed: int | None = None,
) -> optuna.Study:
    """A new study (refusing to overwrite an existing one) or, with ``resume``, the existing one.

    ``seed``: the run's (the sampler's, recorded as the space's ``seed``); default the file's.

    ``backend``: the storage ``storage`` names, when the caller opened it already (it keeps using it).
    ``store``: the artifact store URL a new study records (`choose_store`; default:
    `optnas.storage.artifacts.choose`'s)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # sampler and pruner first: a bad seed or parameter must not leave an (empty) storage behind
    seed = space.config.seed if seed is None else seed
    sampler, pruner = make_sampler(space, seed), make_pruner(space)
    backend = backend or open_storage(storage)
    exists = name in optuna.study.get_all_study_names(backend)
    if exists and not resume:
        raise UsageError(
            f"study {name!r} already exists in {storage}: pass resume=True (--resume) to continue it, "
            "or study='NEW_NAME' (--study NEW_NAME) for a new search"
        )
    if resume and not exists:
        raise UsageError(
            f"resume=True (--resume): no study named {name!r} in {storage}; valid: "
            f"{', '.join(optuna.study.get_all_study_names(backend)) or 'none'}"
        )
    directions: list[Any] = [d for _, d in space.objectives()]
    study = optuna.create_study(
        storage=backend,
        study_name=name,
        directions=directions,
        load_if_exists=resume,
        sampler=sampler,
        pruner=pruner,
    )
    if resume:
        stored = [d.name.lower() for d in study.directions]
        if stored != directions:
            raise UsageError(
                f"resume=True (--resume): study {name!r} has directions {stored}, the space file asks for {directions}"
            )
    else:
        task = space.task()
        study.set_user_attr(
            "optnas",
            {
                "version": __version__,
                "space_file": str(space.path) if space.path else None,
                "space": {**space.to_dict(), "seed": seed},  # the seed the trials ran with
                "task": {
                    "name": space.task_name,
                    "params": json_safe(task.params),
                    "input_shape": list(task.input_shape),
                    "input_kind": task.input_kind,  # Signal(channels, length) vs (tokens, features)
                    "num_outputs": task.num_outputs,
                    # a Task object (from_tensors) is not rebuilt from its name: --retrain needs it again
                    "given": space.given_task is not None,
                    "standardize": task.standardize,
                },
                "train": space.config.train.model_dump(mode="json"),
                "objectives": [{"name": n, "direction": d} for n, d in space.objectives()],
                # where every reader finds weights and curve records, from the storage URL alone
                "artifacts": store or artifacts.choose(storage, None),
                "plugins": plugins.loaded(),  # export and report import them again
            },
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([n for n, _ in space.objectives()])
    enter_search(study, storage, name)  # one lock folder per machine for all processes of this search
    return study
