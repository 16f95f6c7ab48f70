"""Connecting to Ray: a local Ray that optnas starts, or a running cluster at ``--ray-address``.

Everything here is checked before the study is touched, so bad flags and unreachable clusters leave nothing
half-written (exit 2 through `UsageError`).
"""

from __future__ import annotations

import logging
import math
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from ... import _validate, plugins
from ...errors import UsageError
from ...storage import DEFAULT_DIR, artifacts
from ...storage.urls import url_scheme

log = logging.getLogger("optnas.search")

CONNECT_TIMEOUT_S = 5.0
# Ray's object store holds only results and small configs here: keep the local Ray light.
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2
# Ray waits a fixed 30 s for a new raylet to register (ray-project/ray#47087); a busy machine can miss that, and
# Ray then raises a bare Exception saying so. A local start is tried this many times before giving up.
LOCAL_START_TRIES = 3
_STARTUP_TIMEOUT = "timed out during startup"


RELAY_CPU = 0.01  # what the Tune actor of a data-parallel trial asks for: it only relays its workers' reports


@dataclass(frozen=True)
class Resources:
    """What one trial asks Ray for (``tune.with_resources``); ``threads`` is torch's intra-op thread count."""

    cpu: float
    gpu: float
    workers: int = 1  # data-parallel workers, each with ``cpu`` and ``gpu`` (Ray Train actors of their own)

    @property
    def threads(self) -> int:
        return max(1, math.floor(self.cpu))

    def as_dict(self) -> dict[str, float]:
        if self.workers > 1:  # the trial's actor only relays its Ray Train workers' reports
            return {"cpu": RELAY_CPU, "gpu": 0.0}
        return {"cpu": self.cpu, "gpu": self.gpu}


def checkpoint_interval(default: float) -> float:
    """Seconds between a worker's checkpoints: ``OPTNAS_RAY_CHECKPOINT_S`` (>= 0, 0 = every epoch) or ``default``."""
    read = _validate.env_number("OPTNAS_RAY_CHECKPOINT_S")
    if read is None:
        return default
    raw, value = read
    if not 0 <= value < math.inf:
        raise UsageError(f"OPTNAS_RAY_CHECKPOINT_S={raw!r} is invalid: it must be a number of seconds >= 0")
    return value


def check_flags(gpus_per_trial: float | None, cpus_per_trial: float | None, device: str) -> None:
    """Reject bad resource flags before anything starts."""
    for flag, value, low_ok in (
        ("--gpus-per-trial", gpus_per_trial, True),
        ("--cpus-per-trial", cpus_per_trial, False),
    ):
        if value is None:
            continue
        if not math.isfinite(value) or value < 0 or (value == 0 and not low_ok):
            rule = ">= 0" if low_ok else "> 0"
            raise UsageError(f"{flag} {value:g} is invalid: it must be a finite number {rule}")
    if gpus_per_trial is not None and gpus_per_trial > 1 and gpus_per_trial != int(gpus_per_trial):
        raise UsageError(
            f"--gpus-per-trial {gpus_per_trial:g} is invalid: Ray shares one GPU between trials (a fraction "
            "<= 1) or gives whole GPUs (an integer)"
        )
    if device == "cuda" and gpus_per_trial == 0:
        raise UsageError("--device cuda with --gpus-per-trial 0: a trial needs a GPU share to run on CUDA")
    if device == "cpu" and gpus_per_trial:
        raise UsageError(f"--device cpu with --gpus-per-trial {gpus_per_trial:g}: drop one of them")


def check_address(address: str | None) -> None:
    """``None`` (start a local Ray), ``auto`` (the cluster on this machine) or a reachable ``HOST:PORT``."""
    if address is None or address == "auto":
        return
    target = address.split("://", 1)[1] if address.startswith("ray://") else address
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise UsageError(f"--ray-address {address!r} is invalid: use auto, HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise UsageError(
            f"--ray-address {address!r} is unreachable ({exc.strerror or exc}); start a cluster with "
            "'ray start --head' or leave --ray-address out for a local Ray"
        ) from None


def connect(address: str | None, num_cpus: int | None = None) -> bool:
    """Initialise Ray for this process; returns True when optnas started it (and must shut it down).

    A local Ray gets ``num_cpus`` (default: all of this machine's) and no dashboard."""
    import ray

    if ray.is_initialized():  # a notebook or a test that already holds a Ray: use it as it is
        return False
    # every Ray worker imports this process's plugins: the variable naming them, and the files of those
    # that are not installed packages (Ray uploads them to each node)
    runtime_env = plugins.ray_runtime_env() or None
    if address is None:
        _start_local(num_cpus or os.cpu_count() or 1, runtime_env)
        return True
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR, runtime_env=runtime_env)
    except (ConnectionError, RuntimeError, TimeoutError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"--ray-address {address!r}: cannot join the Ray cluster: {first}") from None
    return True


def _start_local(num_cpus: int, runtime_env: dict | None) -> None:
    """A local Ray (no dashboard, a light object store), started again when its raylet registered too late."""
    import ray

    for attempt in range(1, LOCAL_START_TRIES + 1):
        try:
            # "local", not None: None would join whatever cluster RAY_ADDRESS or /tmp/ray points at
            ray.init(
                address="local",
                num_cpus=num_cpus,
                include_dashboard=False,
                object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                log_to_driver=False,
                logging_level=logging.ERROR,
                runtime_env=runtime_env,
            )
            return
        except Exception as exc:  # Ray raises a bare Exception when the raylet does not register in time
            if _STARTUP_TIMEOUT not in str(exc) or attempt == LOCAL_START_TRIES:
                raise
            log.warning("the local Ray did not start within Ray's 30 s (try %d of %d); starting it again",
                        attempt, LOCAL_START_TRIES)
            ray.shutdown()


def resources(
    gpus_per_trial: float | None, cpus_per_trial: float | None, device: str, started: bool, workers: int = 1
) -> Resources:
    # started: a local Ray this process started (not a cluster it joined)
    """Per-trial resources (per worker of a data-parallel trial); by default 1 CPU, and 1 GPU when the cluster
    has GPUs or ``device`` is cuda.

    A Ray optnas started cannot grow: a trial that never fits is refused. A cluster optnas joins may (an
    autoscaler adds GPU nodes when work asks for them): trials that do not fit now wait, said in one line."""
    import ray

    cluster = ray.cluster_resources()
    gpus_total = float(cluster.get("GPU", 0.0))
    wants_gpu = device == "cuda" or (bool(gpus_total) and device != "cpu")
    gpu = gpus_per_trial if gpus_per_trial is not None else (1.0 if wants_gpu else 0.0)
    cpu = cpus_per_trial if cpus_per_trial is not None else 1.0
    cpus_total = float(cluster.get("CPU", 0.0))
    each = f" x --workers-per-trial {workers}" if workers > 1 else ""
    cpus_needed = cpu * workers + (RELAY_CPU if workers > 1 else 0)
    if started:
        if device == "cuda" and gpus_total == 0:
            raise UsageError("--device cuda: this machine's Ray has no GPU; use --device auto or cpu, or join a "
                             "cluster with GPU nodes (--ray-address)")
        if gpu * workers > gpus_total:
            raise UsageError(f"--gpus-per-trial {gpu:g}{each}: this machine's Ray has {gpus_total:g} GPU(s)")
        if cpus_needed > cpus_total:
            raise UsageError(f"--cpus-per-trial {cpu:g}{each}: this machine's Ray has {cpus_total:g} CPU(s)")
    elif gpu * workers > gpus_total or cpus_needed > cpus_total:
        log.warning(
            "the Ray cluster has %g GPU(s) and %g CPU(s) now; each trial asks for %g GPU(s) and %g CPU(s): "
            "trials will wait for nodes that fit (an autoscaler adds them on demand)",
            gpus_total, cpus_total, gpu * workers, cpus_needed,
        )
    return Resources(cpu=cpu, gpu=gpu, workers=workers)


PENDING_ENV = "TUNE_MAX_PENDING_TRIALS_PG"


def pending_trials(resources: Resources) -> int:
    """How many trials Tune may hold ready to start: one for each trial the cluster runs at once now (>= 1).

    Tune keeps a single pending trial for any searcher but its own random/grid one, so each trial that ends
    waits for the next suggestion and its placement group: with second-long trials the cluster idles between
    trials (benchmarks/cluster_scale). One pending trial a slot keeps every slot fed, and each suggestion is
    drawn at most one wave of trials ahead of its start. ``TUNE_MAX_PENDING_TRIALS_PG`` set by the user wins.

    Example:
        >>> pending_trials(Resources(cpu=1, gpu=0))      # doctest: +SKIP
        16
    """
    import ray

    total = ray.cluster_resources()
    need = {"CPU": resources.cpu * resources.workers, "GPU": resources.gpu * resources.workers}
    fits = [int(float(total.get(kind, 0.0)) // each) for kind, each in need.items() if each > 0]
    return max(1, min(fits) if fits else 1)


def experiment_root(storage: str, store: str | None = None) -> str:
    """Where Ray keeps its experiments (trial checkpoints, state for ``--resume``): ``OPTNAS_RAY_STORAGE`` (a
    shared folder or a cloud URI such as ``s3://bucket/optnas``: needed when trials run on several machines),
    else ``ray/`` inside the artifact folder ``store`` named with ``--artifacts``, else ``ray/`` beside a
    journal file, else ``./optnas-runs/ray``."""
    override = os.environ.get("OPTNAS_RAY_STORAGE")
    if override:
        return override if url_scheme(override) else str(Path(override).resolve())
    inside = artifacts.checkpoint_root(store, storage) if store else None
    if inside is not None:
        return inside
    base = DEFAULT_DIR if url_scheme(storage) else Path(storage).parent
    return str((base / "ray").resolve())
