"""`export_trial`: export a trial of a stored search (its spec, weights, certificate and metrics)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

from optuna.trial import FrozenTrial
from safetensors import SafetensorError
from safetensors.torch import load_model
from torch import nn

from .. import plugins, tasks
from .._shapes import as_shape
from ..build import build
from ..spec import ArchSpec
from ..storage import DEFAULT_STORAGE, artifacts, load_readonly
from ..training import TrainOptions, train
from . import _folder, _formats, _select
from .writer import Exported, export_model


def export_trial(
    storage: str | None,
    study: str,
    trial: str | int = "best",
    *,
    out: str | os.PathLike[str],
    objective: str | None = None,
    force: bool = False,
    retrain: bool = False,
    formats: str | Iterable[str] | None = (),
    device: str = "auto",
    trust_plugins: bool = False,
) -> Exported:
    """Export ``trial`` ("best" or a number) of ``study`` in ``storage`` to the folder ``out``.

    ``storage`` is a journal-file path or an RDB URL (None: ``./optnas-runs/journal.log``). "best" is the
    best value of ``objective`` (default: the study's first objective), ties broken by the other objectives
    in order, then the lower trial number: always a Pareto-optimal trial. The weights are the trial's stored
    artifact; a trial stored without weights is an error unless ``retrain``, which trains its spec again
    with the study's task, epochs, seed and training options (on ``device``) and exports that. The plugins
    the study was made with must be imported already (a UsageError names them) unless ``trust_plugins``,
    which imports the study's list: a storage names modules, it never runs them by itself.

    Example:
        >>> import optnas.export                                                          # doctest: +SKIP
        >>> optnas.export.export_trial("optnas-runs/journal.log", "rings", out="best/")   # doctest: +SKIP
    """
    extra = _formats.parse(formats)
    target = _folder.check_out(out, force)
    handle = load_readonly(storage, study)
    meta = handle.user_attrs.get("optnas")
    if not isinstance(meta, dict):
        raise ValueError(f"study {study!r} has no 'optnas' user attribute: it was not written by optnas search")
    # the user components the search registered (its plugins) are needed again to rebuild the network; the
    # study only names them: they are imported by the user (--plugin, entry points) or on trust_plugins
    plugins.require(plugins.recorded(meta), study, trust=trust_plugins, command="optnas export")
    chosen = _select.pick(handle, meta, trial, objective)
    spec_dict = chosen.user_attrs.get("spec")
    if not isinstance(spec_dict, dict):
        raise ValueError(f"trial {chosen.number} of study {study!r} has no 'spec' user attribute")
    spec = ArchSpec.from_dict(spec_dict)
    objs = _select.objectives(handle, meta)
    source: dict[str, Any] = {
        "storage": storage or "optnas-runs/journal.log",
        "study": study,
        "trial": chosen.number,
        "state": chosen.state.name,
        "values": dict(zip([o.name for o in objs], chosen.values or [], strict=False)),
        "selected_by": f"best {objective or objs[0].name}" if str(trial).strip().lower() == "best" else "number",
    }
    artifact = chosen.user_attrs.get("weights")
    if retrain or not artifact:
        if not retrain:
            raise ValueError(
                f"trial {chosen.number} of study {study!r} was stored without weights; pass --retrain "
                f"(retrain=True) to train its spec again with the study's task and budget and export that"
            )
        model, metrics, shape, outputs, record = _retrain(spec, meta, chosen, device)
        source["weights"] = "retrained"
        source["retrain"] = record
    else:
        shape, outputs, _ = _task(meta, need_task=False)
        model = _stored_weights(spec, shape, outputs, meta, storage, str(artifact), chosen.number)
        metrics = chosen.user_attrs.get("metrics") or {}
        source["weights"] = f"artifact {artifact}"
    scaling = meta["task"].get("standardize")  # fitted on the training split by from_tensors
    return export_model(
        spec, target, input_shape=shape, num_outputs=outputs, model=model, metrics=metrics,
        formats=extra, force=force, source=source, standardize=scaling,
    )


def _task(meta: dict[str, Any], need_task: bool) -> tuple[tuple[int, ...], int, Any]:
    """(input_shape, num_outputs, task or None): recorded shapes spare loading a data set just for them."""
    task = meta.get("task")
    if not isinstance(task, dict) or not isinstance(task.get("name"), str):
        raise ValueError("the study's 'optnas' attribute names no task ({'task': {'name': ..., 'params': ...}})")
    if not need_task and "input_shape" in task and "num_outputs" in task:
        # a study recorded before signals existed has no input_kind: its 2-D shapes are tokens
        return as_shape(task["input_shape"], task.get("input_kind")), int(task["num_outputs"]), None
    if task.get("given"):
        raise ValueError(
            f"the study's task {task['name']!r} was a Task object given in Python (e.g. from_tensors), which "
            "the study cannot rebuild: retrain with optnas.train(spec, task, ...) and optnas.export.export_model"
        )
    made = tasks.get(task["name"], **(task.get("params") or {}))
    return made.input_shape, int(made.num_outputs), made


def _stored_weights(
    spec: ArchSpec, shape: tuple[int, ...], outputs: int, meta: dict[str, Any], storage: str | None,
    artifact: str, number: int,
) -> nn.Module:
    net = build(spec, shape, outputs)
    hint = "pass --retrain (retrain=True) to train the spec again and export that"
    store = artifacts.of_study(meta, storage or DEFAULT_STORAGE)
    data = store.read(artifact) if store is not None else None  # an unreachable store: its one-line error
    if data is None:
        looked = store.url if store is not None else "no artifact store recorded"
        raise ValueError(
            f"the weights of trial {number} (artifact {artifact}) are missing (looked in {looked}); {hint}"
        )
    with tempfile.TemporaryDirectory(prefix="optnas-weights-") as tmp:
        path = Path(tmp) / "weights.safetensors"
        path.write_bytes(data)
        try:
            load_model(net, str(path), strict=True)
        except (RuntimeError, SafetensorError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ValueError(
                f"the weights of trial {number} (artifact {artifact}) do not fit its spec: {first}"
            ) from None
    return net


def _retrain(
    spec: ArchSpec, meta: dict[str, Any], trial: FrozenTrial, device: str
) -> tuple[nn.Module, dict[str, Any], tuple[int, ...], int, dict[str, Any]]:
    # the trial's own options (searched lr, weight decay, epochs, seed) when recorded, else the study's
    recorded = trial.user_attrs.get("train")
    options = dict(recorded if isinstance(recorded, dict) and recorded else meta.get("train") or {})
    epochs = options.pop("epochs", None)
    if epochs is None:
        raise ValueError("cannot retrain: neither the study nor the trial records the number of epochs")
    seed = int(options.pop("seed", 0))
    valid = {f.name for f in fields(TrainOptions)}
    used = {k: v for k, v in options.items() if k in valid}
    shape, outputs, task = _task(meta, need_task=True)
    result = train(spec, task, epochs=int(epochs), seed=seed, device=device, **used)
    if result.status != "complete" or result.model is None:
        raise ValueError(f"retraining trial {trial.number} ended {result.status}: {result.reason}")
    record = {"epochs": int(epochs), "seed": seed, "options": used, "not_train_options": sorted(set(options) - valid)}
    return result.model, result.metrics, shape, outputs, record
