"""The one-line title of an export and the short usage note (README.md) written beside it."""

from __future__ import annotations

from typing import Any

from ..spec import ArchSpec


def title(spec: ArchSpec, source: dict[str, Any]) -> str:
    """E.g. "heavy_ball(beta=0.9) constant mlp2 relu depth=8 width=32; study 'rings', trial 7" (`ArchSpec.describe`)."""
    text = spec.describe()
    if "study" in source:
        text += f"; study {source['study']!r}"
    if "trial" in source:
        text += f", trial {source['trial']}"
    return text


def readme(
    spec: ArchSpec, shape: tuple[int, ...], num_outputs: int, heading: str, info: dict[str, Any], written: list[str]
) -> str:
    shape_text = ", ".join(str(d) for d in shape)
    lines = [
        "# Exported optnas network",
        "",
        heading + ".",
        "",
        "| file | what |",
        "|---|---|",
        "| `model.py` | the network as one readable PyTorch file (class `ExportedModel`); imports "
        + (f"torch and {', '.join(f'`{m}`' for m in info['requires'])} |" if info.get("requires") else "only torch |"),
        "| `weights.safetensors` | the trained weights (`state_dict`), safetensors: loading never unpickles |",
        "| `spec.json` | the `optnas.ArchSpec` (`optnas.ArchSpec.from_dict(json.load(...))`) |",
        "| `certificate.json` | the universal-approximation certificate checked before training |",
        "| `metrics.json` | the metrics measured for these weights |",
        "| `export.json` | provenance: source study/trial, versions, the checked output difference |",
    ]
    if "model.pt2" in written:
        lines.append("| `model.pt2` | a `torch.export` program (dynamic batch): `torch.export.load(path).module()` |")
    if "model.onnx" in written:
        lines.append("| `model.onnx` | ONNX with a dynamic batch size (passes `onnx.checker`) |")
    lines += [
        "",
        "## Use it with torch alone",
        "",
        "```python",
        "import torch",
        "import model                    # model.py from this folder (on sys.path, or copied beside your code)",
        "",
        "net = model.load()              # ExportedModel with weights.safetensors, in eval mode",
        f"x = torch.randn(8, {shape_text})",
        f"y = net(x)                      # shape (8, {num_outputs})",
        "```",
        "",
        "`python model.py` runs a random batch through it. With optnas installed, `optnas.export.load(folder)`",
        "returns the same module (weights read by the safetensors library).",
        "",
        f"Input: a batch of shape (batch, {shape_text}); output: (batch, {num_outputs}). The export was checked: "
        f"loaded back, it reproduced the original network's outputs within {info['max_abs_diff']:.2g} (eval mode).",
    ]
    if info.get("standardize"):
        lines += [
            "",
            "The inputs are raw: `ExportedModel.standardize` rescales each feature with the mean and standard",
            "deviation fitted on the training split (`optnas.tasks.from_tensors(..., standardize=True)`).",
        ]
    if info.get("requires"):
        lines += [
            "",
            f"model.py imports your own module(s) {', '.join(f'`{m}`' for m in info['requires'])} (the blocks and",
            "activations you registered): make them importable where you load it (installed, or on `PYTHONPATH`).",
        ]
    skipped = {k: v for k, v in info.get("formats", {}).items() if v != "written"}
    for name, reason in skipped.items():
        lines += ["", f"Format `{name}` was not written: {reason}"]
    return "\n".join(lines) + "\n"
