"""The network of model.py: ``ExportedModel`` (stem, stages, transitions, head) and its stage classes.

Modules are written as the constructor calls that made them (recorded by `._record`, written by
`._codegen`); each stage is a class whose forward is its algorithm's recurrence (`._stage`). The module
tree and its names are those of ``optnas.build``'s network, so the same weights load strictly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from .. import algorithms
from ._codegen import NotExportable, Writer, spectral_norm_lines
from ._literal import WIDTH
from ._stage import StageCode, write_stage


@dataclass
class NetworkSource:
    """What `write_network` produced and what the rest of model.py must provide for it."""

    classes: list[str]  # stage classes, then ExportedModel
    constants: dict[str, str]  # NAME -> literal (the algorithm's tables, the step sizes)
    writer_constants: list[str]  # long constructor literals (module-level assignments)
    runtime: set[str] = field(default_factory=set)  # optnas/nn definitions to copy
    user_imports: dict[str, tuple[str, str]] = field(default_factory=dict)
    uses_spectral_norm: bool = False
    solver: bool = False


def _call(name: str, args: list[str], indent: int, lead: int) -> str:
    one = f"{name}({', '.join(args)})"
    if "\n" not in one and indent + lead + len(one) + 1 <= WIDTH:
        return one
    pad = " " * (indent + 4)
    return f"{name}(\n" + "".join(f"{pad}{a},\n" for a in args) + " " * indent + ")"


def _module_list(items: list[str], indent: int, lead: int) -> str:
    one = f"nn.ModuleList([{', '.join(items)}])"
    if "\n" not in one and indent + lead + len(one) <= WIDTH:
        return one
    pad = " " * (indent + 4)
    return "nn.ModuleList([\n" + "".join(f"{pad}{item},\n" for item in items) + " " * indent + "])"


def write_network(
    net: nn.Module, spec: dict[str, Any], header: list[str], docstring: str, standardize: nn.Module | None = None
) -> NetworkSource:
    """The classes of ``net`` (an `optnas.build` network built inside `recording`), ``ExportedModel`` last."""
    writer = Writer()
    algorithm = algorithms.get(spec["algorithm"], **spec["algorithm_params"])
    stages = list(net.stages)  # type: ignore[arg-type]
    codes: list[StageCode] = []
    classes: dict[str, str] = {}  # stage class text -> its name
    constants: dict[str, str] = {}
    calls = []
    for i, stage in enumerate(stages):
        code = write_stage(stage, algorithm, spec["algorithm"], i, len(stages))
        for name, value in code.constants.items():
            if constants.setdefault(name, value) != value:
                raise NotExportable(f"stage {i}: {name} differs between stages ({constants[name]} and {value})")
        if code.text not in classes:
            taken = code.name in classes.values()
            classes[code.text] = f"{code.name}{len(classes)}" if taken else code.name
        code.name = classes[code.text]
        codes.append(code)
        blocks = writer.value(list(stage.blocks), 16, f"stages[{i}].blocks", type(stage), "blocks")
        calls.append(_call(code.name, [blocks, *code.arguments], 12, 0))
    # the class line carries the algorithm's name; a second, different stage class gets a number
    stage_texts = [f"class {name}(nn.Module):\n" + text.split("\n", 1)[1] for text, name in classes.items()]

    init = [
        f"self.stem = {writer.module(net.stem, 8, 'stem', len('self.stem = '))}",  # type: ignore[arg-type]
        f"self.stages = {_module_list(calls, 8, len('self.stages = '))}",
    ]
    if len(net.transitions):  # type: ignore[arg-type]
        items = [writer.module(t, 12, f"transitions[{i}]") for i, t in enumerate(net.transitions)]  # type: ignore[arg-type]
        init.append(f"self.transitions = {_module_list(items, 8, len('self.transitions = '))}")
    init.append(f"self.head = {writer.module(net.head, 8, 'head', len('self.head = '))}")  # type: ignore[arg-type]
    norms = spectral_norm_lines(net)
    forward = []
    if standardize is not None:
        code_text = writer.module(standardize, 8, "standardize", len("self.standardize = "))
        init += ["# the inputs' scaling fitted on the training split: this model takes raw inputs",
                 f"self.standardize = {code_text}"]
        forward.append("x = self.standardize(x)")
    forward.append("x = self.stem(x)")
    for i in range(len(stages)):
        if i:
            forward.append(f"x = self.transitions[{i - 1}](x)")
        forward.append(f"x = self.stages[{i}](x)")
    forward.append("return self.head(x)")
    lines = [
        "class ExportedModel(nn.Module):",
        f'    """{docstring}"""',
        "",
        *[f"    {line}" for line in header],
        "",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *[f"        {line}" for line in init],
    ]
    if norms:
        lines.append("        # as optnas.build does for implicit layers: T's weight layers spectrally normalised")
        lines += norms
    lines += ["", "    def forward(self, x: torch.Tensor) -> torch.Tensor:", *[f"        {line}" for line in forward]]
    runtime = set(writer.runtime_classes).union(*(c.needs - {"fixed_point"} for c in codes))
    return NetworkSource(
        [*stage_texts, "\n".join(lines) + "\n"], constants, writer.constants, runtime, writer.user_imports,
        bool(norms), any(c.implicit for c in codes),
    )
