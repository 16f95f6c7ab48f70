"""`optnas search SPACE.yaml ...`: run a stored, resumable search (Optuna backend, or Ray)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from optnas.errors import SearchIncomplete

BACKENDS = ("optuna", "ray")
DEVICES = ("auto", "cpu", "cuda")


def positive_int(text: str) -> int:
    """argparse type for an integer >= 1 (also `optnas certify --limit`)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is invalid: it must be >= 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value} is invalid: it must be > 0")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value <= 2**32 - 1:
        raise argparse.ArgumentTypeError(f"{value} is invalid: it must be in [0, 2**32 - 1]")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("space", type=Path, help="search-space YAML file (see search_spaces/)")
    parser.add_argument(
        "--trials", type=positive_int, help="finished trials the study should hold (default: the file's)"
    )
    parser.add_argument("--timeout", type=_positive_float, help="stop starting new trials after S seconds")
    parser.add_argument("--study", help="study name (default: the file name)")
    parser.add_argument("--storage", help="journal file path or RDB URL (default: ./optnas-runs/journal.log)")
    parser.add_argument(
        "--artifacts",
        help="where weights and curve records go: a folder every process mounts, s3://BUCKET/PREFIX, or 'local' "
        "(./optnas-runs/artifacts: every process on this machine); default: beside a journal or SQLite file "
        "(required with a PostgreSQL/MySQL URL)",
    )
    parser.add_argument("--backend", choices=BACKENDS, default="optuna")
    parser.add_argument("--jobs", type=positive_int, default=1, help="worker processes on this machine")
    parser.add_argument("--seed", type=_seed, help="seed of the sampler and of every trial's initialization")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--resume", action="store_true", help="continue an existing study to its trial count")
    parser.add_argument("--ray-address", help="Ray cluster address (ray backend; default: start a local Ray)")
    parser.add_argument(
        "--gpus-per-trial", type=float, default=None, help="ray backend: GPUs per trial (fractional ok)"
    )
    parser.add_argument("--cpus-per-trial", type=float, default=None, help="ray backend: CPUs per trial")
    parser.add_argument(
        "--workers-per-trial", type=positive_int, default=None,
        help="ray backend: data-parallel (DDP) workers per trial, each with the CPUs and GPUs of a trial",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Search, then print the leaderboard; exit 1 (after the leaderboard) when workers died short of the count."""
    try:
        study = _search(args)
    except SearchIncomplete as exc:
        _summary(args, exc.study, exc.command)
        print(f"optnas search: {exc}", file=sys.stderr)
        return 1
    _summary(args, study)
    return 0


def _summary(args: argparse.Namespace, study: Any, resume: str | None = None) -> None:
    # lazy: loaded when this command runs (the parser imports every command's module)
    from optnas.search.leaderboard import render_summary
    from optnas.storage import DEFAULT_STORAGE

    render_summary(study, storage=args.storage or DEFAULT_STORAGE, resume=resume)


def _search(args: argparse.Namespace) -> Any:
    # lazy: loaded when this command runs (the parser imports every command's module)
    from optnas.cli._space import load_space

    space = load_space(args.space, "search")
    common = dict(trials=args.trials, timeout=args.timeout, study=args.study, storage=args.storage, seed=args.seed,
                  device=args.device, resume=args.resume, artifacts=args.artifacts)
    if args.backend == "ray":
        # lazy: loaded when this command runs (the parser imports every command's module)
        from optnas.search.ray_backend import run_ray_search

        study = run_ray_search(space, address=args.ray_address, gpus_per_trial=args.gpus_per_trial,
                               cpus_per_trial=args.cpus_per_trial, workers_per_trial=args.workers_per_trial,
                               **common)
    else:
        if args.ray_address or args.gpus_per_trial is not None or args.cpus_per_trial is not None:
            raise ValueError("--ray-address, --gpus-per-trial and --cpus-per-trial need --backend ray")
        if args.workers_per_trial is not None and args.workers_per_trial > 1:
            raise ValueError(
                f"--workers-per-trial {args.workers_per_trial} needs --backend ray: the optuna backend trains each "
                "trial in one process"
            )
        # lazy: loaded when this command runs (the parser imports every command's module)
        from optnas.search import run_search

        study = run_search(space, jobs=args.jobs, progress=not args.no_progress, **common)
    return study
