"""Optional extra formats: a torch.export program (model.pt2) and ONNX (model.onnx).

Both trace the forward pass. Networks whose forward has data-dependent control flow (implicit layers stop
their fixed-point solve when a residual is small) cannot be traced; such a format is skipped with the
reason, never half-written, and the export itself still succeeds.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import torch
from torch import nn

MAX_ABS_DIFF = 1e-6


class Skipped(Exception):
    """This format cannot be written for this network; the message says why."""


def parse(formats: str | Iterable[str] | None) -> tuple[str, ...]:
    """Validate extra formats given as "pt2,onnx" or a list; unknown names list the valid ones.

    Example:
        >>> parse("pt2, onnx")
        ('pt2', 'onnx')
    """
    if formats is None:
        return ()
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    names = [str(f).strip().lower() for f in items if str(f).strip()]
    unknown = [n for n in names if n not in WRITERS]
    if unknown:
        raise ValueError(f"unknown export format(s) {unknown}; valid formats: {', '.join(WRITERS)}")
    return tuple(dict.fromkeys(names))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Keep the tracers' progress lines, warnings and graph dumps off the user's terminal.

    A failed trace prints its partial graph on stderr and logs warnings; the reason we report says enough.
    """
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(
            io.StringIO()
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def _why(tool: str, exc: BaseException, model: nn.Module) -> str:
    root = exc
    while root.__cause__ is not None:  # the ONNX exporter wraps torch.export's error
        root = root.__cause__
    first = re.sub(r"\x1b\[[0-9;]*m", "", (str(root).strip().splitlines() or [""])[0])[:240]
    detail = f"{tool} raised {type(root).__name__}" + (f": {first}" if first else "")
    if any(getattr(m, "implicit", False) is True for m in model.modules()):
        return (
            "this network has implicit layers, whose fixed-point solve stops on a data-dependent test that "
            f"tracing cannot capture; model.py runs it ({detail})"
        )
    return detail


def _check(name: str, run: Callable[[torch.Tensor], torch.Tensor], model: nn.Module, x: torch.Tensor) -> None:
    for batch in (x, torch.cat([x, x[:1]])):  # the traced batch size and another one
        with torch.no_grad():
            diff = float((run(batch) - model(batch)).abs().max())
        if not diff <= MAX_ABS_DIFF:
            raise Skipped(f"the {name} program's outputs differ from model.py's by {diff:.3g} (> {MAX_ABS_DIFF:g})")


def _dynamic_batch() -> tuple[dict[int, object]]:
    return ({0: torch.export.Dim("batch")},)


def write_pt2(model: nn.Module, example: torch.Tensor, out: Path) -> str:
    """model.pt2: ``torch.export.export`` with a dynamic batch dimension; load with ``torch.export.load``."""
    with _quiet():
        try:
            program = torch.export.export(model, (example,), dynamic_shapes=_dynamic_batch())
        except Exception as exc:  # torch.export raises many types (UserError, data-dependent guards, ...)
            raise Skipped(_why("torch.export", exc, model)) from None
        _check("torch.export", program.module(), model, example)
        torch.export.save(program, str(out / "model.pt2"))
    return "model.pt2"


def write_onnx(model: nn.Module, example: torch.Tensor, out: Path) -> str:
    """model.onnx: ``torch.onnx.export(dynamo=True)`` with a dynamic batch dimension (needs onnx, onnxscript).

    The file passes ``onnx.checker``; its outputs are not compared here (that needs onnxruntime).
    """
    missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    if missing:
        raise Skipped(f"ONNX export needs {' and '.join(missing)}: pip install onnx onnxscript")
    with _quiet():
        try:
            program = torch.onnx.export(
                model, (example,), dynamo=True, dynamic_shapes=_dynamic_batch(), verbose=False
            )
        except Exception as exc:  # the ONNX exporter wraps tracing and translation errors in many types
            raise Skipped(_why("torch.onnx.export", exc, model)) from None
        if program is None:
            raise Skipped("torch.onnx.export returned no program")
        program.save(str(out / "model.onnx"))
    import onnx

    try:
        onnx.checker.check_model(str(out / "model.onnx"))
    except onnx.checker.ValidationError as exc:
        (out / "model.onnx").unlink()
        raise Skipped(f"the ONNX model fails onnx.checker: {str(exc).splitlines()[0]}") from None
    return "model.onnx"


WRITERS: dict[str, Callable[[nn.Module, torch.Tensor, Path], str]] = {"pt2": write_pt2, "onnx": write_onnx}
