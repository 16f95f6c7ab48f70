"""Assemble model.py: header, blocks copied from optnas/nn, the tables, stage classes, ExportedModel, loader."""

from __future__ import annotations

from typing import Any

from torch import nn

from .._shapes import Signal
from . import _solver
from ._literal import docstring_safe, packed
from ._network import write_network
from ._source import runtime_source

# Reads weights.safetensors with torch alone, so the exported folder needs no other package.
_LOADER = '''
# ---- weights ----

SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}


def load_safetensors(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a .safetensors file: an 8-byte little-endian header size, a JSON header, then raw tensor bytes."""
    if sys.byteorder != "little":
        raise RuntimeError("load_safetensors reads little-endian data; use safetensors.torch.load_file here")
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = SAFETENSORS_DTYPES[info["dtype"]]
        raw = bytearray(data[start:end])
        flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"]).clone()
    return tensors


def load(weights: str | os.PathLike[str] | None = None) -> ExportedModel:
    """ExportedModel with its trained weights (weights.safetensors beside this file), in eval mode."""
    if weights is None:
        weights = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights.safetensors")
    model = ExportedModel()
    model.load_state_dict(load_safetensors(weights), strict=True)
    return model.eval()


if __name__ == "__main__":
    model = load()
    x = torch.randn(2, *ExportedModel.input_shape)
    with torch.no_grad():
        print(f"ExportedModel: input {tuple(x.shape)} -> output {tuple(model(x).shape)}")
'''

_LOADER_IMPORTS = ["import json", "import os", "import struct", "import sys", "import torch", "from torch import nn"]


def _kind_note(input_shape: tuple[int, ...]) -> str:
    return ": (channels, length) of a 1-D signal" if isinstance(input_shape, Signal) else ""


def model_source(
    net: nn.Module,
    spec: dict[str, Any],
    input_shape: tuple[int, ...],
    num_outputs: int,
    title: str,
    standardize: nn.Module | None = None,
) -> tuple[str, list[str]]:
    """(the text of model.py for ``net``, built inside `recording()` from ``spec``; the user modules it imports)."""
    header = [
        # a plain tuple (a Signal's repr names an optnas class); the kind is said in a comment
        f"input_shape = {tuple(input_shape)!r}  # one sample, batch excluded{_kind_note(input_shape)}",
        f"num_outputs = {num_outputs}",
        f"spec = {packed(spec, 4, 7)}  # the optnas.ArchSpec",
    ]
    title = docstring_safe(title)
    network = write_network(net, spec, header, f"{title}.", standardize)
    needs = network.runtime | (set(_solver.NEEDS) if network.solver else set())
    imports, sections = runtime_source(needs)
    imports = imports + _LOADER_IMPORTS
    if network.uses_spectral_norm:
        imports.append("from torch.nn.utils.parametrizations import spectral_norm")
    user = [
        f"from {m} import {n}" + (f" as {bound}" if bound != n else "")
        for bound, (m, n) in network.user_imports.items()
    ]
    requires = sorted({m for m, _ in network.user_imports.values()})
    head = _docstring(title, requires)
    block = head + "\nfrom __future__ import annotations\n\n" + _import_block(imports)
    if user:  # the user's blocks and activations (plugins): model.py needs their modules where it is loaded
        block += "\n" + "\n".join(sorted(user)) + "\n"
    blocks = [block]
    for module, _doc, texts in sections:
        body = f"# ---- copied from optnas/nn/{module}.py ----"
        for prev, text in zip([None, *texts], texts, strict=False):
            if prev is None:
                body += "\n\n" + text  # after the section's comment
            else:
                body += ("\n" if _small(prev) and _small(text) else "\n\n\n") + text
        blocks.append(body)
    if network.solver:
        blocks.append(_solver.SOURCE)
    tables = [f"{name} = {value}" for name, value in network.constants.items()] + network.writer_constants
    blocks.append("\n\n".join(["# ---- the network: the algorithm's tables, its recurrence, the model ----",
                                 *(["\n".join(tables)] if tables else [])]))
    blocks += [c.rstrip("\n") for c in network.classes] + [_LOADER.strip("\n")]
    first, *rest = (b.rstrip("\n") for b in blocks)
    return first + "\n\n" + "\n\n\n".join(rest) + "\n", requires


def _docstring(title: str, requires: list[str]) -> str:
    needs = (
        "one stand-alone file that needs only torch"
        if not requires
        else f"one file that needs torch and {', '.join(requires)}"
    )
    return (
        f'"""{title}.\n\n'
        f"Generated by `optnas export`: {needs}.\n\n"
        "    import model                 # this file\n"
        "    net = model.load()           # ExportedModel with weights.safetensors, in eval mode\n"
        "    y = net(torch.randn(8, *model.ExportedModel.input_shape))\n\n"
        "Blocks are copied from optnas/nn/; each stage's forward is its algorithm's recurrence, written with\n"
        "the kernels optnas runs (outputs match optnas bit for bit); weights load strictly by the same names.\n"
        '"""\n'
    )


def _import_block(imports: list[str]) -> str:
    unique = list(dict.fromkeys(imports))
    third_party = sorted(i for i in unique if i.split()[1].split(".")[0] == "torch")
    stdlib = sorted((i for i in unique if i not in third_party), key=lambda i: (i.startswith("from"), i))
    return "\n".join(stdlib) + "\n\n" + "\n".join(sorted(third_party, key=lambda i: (i.startswith("from"), i))) + "\n"


def _small(text: str) -> bool:
    """A one-line module-level assignment (a type alias): consecutive ones are not spaced apart."""
    return "\n" not in text and not text.startswith(("def ", "class ", "@"))
