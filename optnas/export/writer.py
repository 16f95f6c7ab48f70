"""`export_model`: write a network as a folder that needs only torch (model.py + weights.safetensors)."""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import save_model
from torch import nn

from .. import _validate
from .._shapes import check_shape, input_kind
from .._version import __version__
from ..build import build
from ..certify import Certificate, certify, certify_model
from ..nn.io import Standardize
from ..spec import ArchSpec
from ..training.result import json_safe
from . import _folder, _formats
from ._codegen import NotExportable
from ._modelfile import model_source
from ._readme import readme, title
from ._record import recording
from .loader import import_model_file, load

MAX_ABS_DIFF = 1e-6  # exported vs original outputs, in eval mode


@dataclass
class Exported:
    """What an export wrote: the folder, its files, the checked output difference, and skipped formats."""

    out: Path
    files: list[str]
    max_abs_diff: float
    skipped: dict[str, str] = field(default_factory=dict)  # format -> why it was not written
    info: dict[str, Any] = field(default_factory=dict)  # the content of export.json


def export_model(
    spec: ArchSpec | dict[str, Any],
    out: str | os.PathLike[str],
    *,
    input_shape: Sequence[int],
    num_outputs: int,
    model: nn.Module | None = None,
    certificate: Certificate | dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    formats: str | Iterable[str] | None = (),
    force: bool = False,
    source: dict[str, Any] | None = None,
    standardize: dict[str, Any] | None = None,
) -> Exported:
    """Write ``model`` (a network built from ``spec``, e.g. ``RunResult.model``) to the folder ``out``.

    Files: model.py (one class, ``ExportedModel``, constructible with no arguments, importing only torch),
    weights.safetensors, spec.json, certificate.json, metrics.json, export.json (provenance) and README.md;
    with ``formats`` also model.pt2 (torch.export) and/or model.onnx where the network can be traced. Without
    ``model`` the freshly built (initialised) network of ``spec`` is written. The export is checked: the
    written folder, loaded back, must reproduce ``model``'s outputs within 1e-6. ``certificate`` defaults to
    `optnas.certify.certify_model` of ``model`` (its current parameters; without ``model``, of the fresh
    network); ``source`` (e.g. study and trial) is recorded in export.json.
    ``standardize`` (``{"mean": ..., "std": ...}``, a task's ``standardize``, which `export_trial` reads from
    the study) puts that input scaling in front of the network: the exported model takes raw inputs.

    Example:
        >>> import optnas, optnas.export                                                  # doctest: +SKIP
        >>> spec = optnas.ArchSpec(algorithm="heavy_ball", depth=4, width=16)             # doctest: +SKIP
        >>> result = optnas.train(spec, "rings", epochs=3)                                # doctest: +SKIP
        >>> optnas.export.export_model(spec, "out/", input_shape=(2,), num_outputs=3,    # doctest: +SKIP
        ...                            model=result.model, metrics=result.metrics)
    """
    spec = spec if isinstance(spec, ArchSpec) else ArchSpec.from_dict(spec)
    shape = check_shape(input_shape)
    _validate.integer("num_outputs", num_outputs, 1)
    extra = _formats.parse(formats)
    target = _folder.check_out(out, force)
    if model is not None and not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module built from the spec, got {type(model).__name__}")

    with torch.random.fork_rng(devices=[]), recording():  # the caller's RNG stream is left untouched
        torch.manual_seed(0)
        fresh = build(spec, shape, num_outputs)
        scaling = _scaling(standardize, shape)
    if model is not None:
        model = getattr(model, "_orig_mod", model)  # torch.compile's wrapper holds the network
    reference = copy.deepcopy(model).cpu() if model is not None else fresh
    expected = reference if scaling is None else nn.Sequential(scaling, reference)
    state = _float32_state(reference)
    # the network as it is (a trained σ's slope, the solver budget), not as the spec drew it
    built = reference if hasattr(reference, "certificate") else None
    cert = certificate if certificate is not None else (
        certify_model(built, spec, shape) if built is not None else certify(spec, input_shape=shape))
    info = {
        "optnas_version": __version__,
        "torch_version": torch.__version__,
        "input_shape": list(shape),
        "input_kind": input_kind(shape),  # a signal's (channels, length) and tokens' (tokens, features) look alike
        "num_outputs": num_outputs,
        "source": json_safe(source or {}),
        "standardize": standardize is not None,
    }
    heading = title(spec, source or {})

    with _folder.staging(target) as staging:  # beside the target: published by renames only when complete
        source_text, requires = model_source(fresh, spec.to_dict(), shape, num_outputs, heading, scaling)
        info["requires"] = requires  # user modules model.py imports (plugins); [] means torch alone
        (staging / "model.py").write_text(source_text, encoding="utf-8")  # it holds Σ, ·, → from optnas/nn
        _save_weights(staging, state)
        exported = load(staging)
        example = torch.randn(4, *shape, generator=torch.Generator().manual_seed(0))
        diff, finite = _max_abs_diff(exported, expected.eval(), example)
        if not diff <= MAX_ABS_DIFF:
            raise NotExportable(
                f"the exported model's outputs differ from the original's by {diff:.3g} (> {MAX_ABS_DIFF:g}); "
                "this is a bug in optnas.export"
            )
        info["max_abs_diff"] = diff
        info["check_outputs_finite"] = finite  # False: the network itself gives inf/nan on the check batch
        skipped, written = {}, []
        for name in extra:
            try:
                written.append(_formats.WRITERS[name](exported, example, staging))
            except _formats.Skipped as exc:
                skipped[name] = str(exc)
        info["formats"] = {name: skipped.get(name, "written") for name in extra}
        _write_json(staging / "spec.json", spec.to_dict())
        _write_json(staging / "certificate.json", json_safe(cert.to_dict() if isinstance(cert, Certificate) else cert))
        _write_json(staging / "metrics.json", json_safe(metrics or {}))
        _write_json(staging / "export.json", info)
        (staging / "README.md").write_text(readme(spec, shape, num_outputs, heading, info, written), encoding="utf-8")
        files = sorted(p.name for p in staging.iterdir())
        _folder.publish(staging, target, force)
    return Exported(target, files, diff, skipped, info)


def _scaling(standardize: dict[str, Any] | None, shape: tuple[int, ...]) -> Standardize | None:
    """The `Standardize` module of ``{"mean", "std"}`` (shaped like one sample), or None."""
    if standardize is None:
        return None
    if not isinstance(standardize, dict) or set(standardize) != {"mean", "std"}:
        raise ValueError(f"standardize={standardize!r} is invalid: give {{'mean': ..., 'std': ...}} or None")
    module = Standardize(standardize["mean"], standardize["std"])
    for key in ("mean", "std"):
        if tuple(getattr(module, key).shape) != shape:
            raise ValueError(
                f"standardize[{key!r}] has shape {tuple(getattr(module, key).shape)}; it must be one sample's {shape}"
            )
    if not bool((module.std > 0).all()):
        raise ValueError("standardize['std'] must be > 0 everywhere")
    return module


def _float32_state(model: nn.Module) -> dict[str, torch.Tensor]:
    state = model.state_dict()
    odd = sorted({str(t.dtype) for t in state.values() if t.is_floating_point() and t.dtype != torch.float32})
    if odd:
        raise ValueError(f"the model holds {', '.join(odd)} weights; export float32 models (call model.float())")
    return state


def _save_weights(staging: Path, state: dict[str, torch.Tensor]) -> None:
    module = import_model_file(staging / "model.py").ExportedModel()
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise NotExportable(f"the model does not match its spec: {_first_line(exc)}") from None
    try:
        save_model(module, str(staging / "weights.safetensors"), metadata={"format": "pt", "producer": "optnas.export"})
    except SafetensorError as exc:  # its I/O errors (a full disk) are not OSErrors: `staging` makes them one line
        code = re.search(r"os error (\d+)", str(exc))
        raise (OSError(int(code[1]), os.strerror(int(code[1]))) if code else OSError(str(exc))) from None


def _max_abs_diff(a: nn.Module, b: nn.Module, x: torch.Tensor) -> tuple[float, bool]:
    """Largest |a(x) − b(x)| counting equal non-finite values (nan and nan, inf and inf) as equal; finite?"""
    with torch.no_grad():
        ya, yb = a(x), b(x)
    same = (ya == yb) | (ya.isnan() & yb.isnan())
    return float((ya - yb).abs().masked_fill(same, 0.0).max()), bool(torch.isfinite(yb).all())


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[:3]) if text else type(exc).__name__
