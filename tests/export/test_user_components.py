"""User components export: a coefficient-table algorithm is data; user nn.Modules and functions are imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import optnas
import optnas.export
from optnas.export import NotExportable

CHECK = """
import importlib.util, json, sys, torch
x = torch.load(sys.argv[1])
out = []
for i, folder in enumerate(sys.argv[2:]):
    spec = importlib.util.spec_from_file_location(f"model_{i}", folder + "/model.py")
    model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model)
    torch.save(model.load()(x).detach(), folder + "/y.pt")
    out.append(sorted(m for m in sys.modules if m.split(".")[0] in ("optnas", "mylab_nn", "mylab_plugin")))
print(json.dumps(out))
"""


def _load_elsewhere(folders: list[Path], x: torch.Tensor, tmp: Path, pythonpath: str) -> list[list[str]]:
    """Run the exported model.py files, in order, in one fresh interpreter that has only torch and ``pythonpath``;
    each output lands in its folder's y.pt. Returns the user's and optnas's modules loaded after each one."""
    torch.save(x, tmp / "x.pt")
    env = {**os.environ, "PYTHONPATH": pythonpath}
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(tmp / "x.pt"), *map(str, folders)],
        capture_output=True, text=True, env=env, cwd=tmp, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


CASES = [  # (algorithm, block, activation, what model.py imports besides torch)
    ("halfstep", "mlp2", "relu", []),  # a coefficient table: plain data, model.py needs torch alone
    ("heavy_ball", "mlp2", "snake", ["mylab_nn"]),
    ("heavy_ball", "gated_mlp", "relu", ["mylab_nn"]),
    ("halfstep", "gated_mlp", "wave", ["mylab_nn"]),
    ("proximal_point", "mlp2", "snake", ["mylab_nn"]),  # implicit: Lipschitz declared at registration
]


def test_user_components_export_and_load_where_optnas_is_absent(user_plugin: Path, tmp_path: Path) -> None:
    """Each case exported here, then all loaded by one fresh interpreter: starting one per case would only
    repeat the torch import (the table-only case goes first, so it is seen to need torch alone)."""
    import mylab_plugin  # noqa: F401  (registers the user's components)

    nets, folders = [], []
    for i, (algorithm, block, activation, imports) in enumerate(CASES):
        case = (algorithm, block, activation)
        spec = optnas.ArchSpec(algorithm=algorithm, block=block, activation=activation, depth=3, width=8)
        assert optnas.certify(spec, input_shape=(2,)).ok, case
        net = optnas.build(spec, (2,), 3).eval()
        out = tmp_path / f"out{i}"
        done = optnas.export.export_model(spec, out, input_shape=(2,), num_outputs=3, model=net)
        assert done.max_abs_diff == 0.0 and done.info["requires"] == imports, case
        text = (out / "model.py").read_text()
        assert ("from mylab_nn import" in text) == bool(imports) and "mylab_plugin" not in text, case
        assert json.loads((out / "export.json").read_text())["requires"] == imports, case
        nets.append(net)
        folders.append(out)
    x = torch.randn(5, 2)
    # only the torch-only module of the user is on the path: model.py does not need optnas or the plugin
    (tmp_path / "only_nn").mkdir()
    (tmp_path / "only_nn" / "mylab_nn.py").write_text((user_plugin / "mylab_nn.py").read_text())
    loaded = _load_elsewhere(folders, x, tmp_path, str(tmp_path / "only_nn"))
    needed: set[str] = set()
    for (algorithm, *_, imports), net, out, after in zip(CASES, nets, folders, loaded, strict=True):
        needed |= set(imports)
        assert after == sorted(needed), (algorithm, after)  # what the models so far imported, nothing of optnas
        y = torch.load(out / "y.pt")
        with torch.no_grad():  # implicit layers stop their fixed-point solve at relative tolerance 1e-4, and
            # another process's thread count changes the float order in which it gets there
            assert float((y - net(x)).abs().max()) <= (1e-4 if algorithm == "proximal_point" else 0.0), algorithm


def test_a_declared_lipschitz_constant_lets_implicit_schemes_use_a_probed_activation(user_plugin: Path) -> None:
    import mylab_plugin  # noqa: F401

    assert optnas.activations.info("snake").lipschitz == 2.0 and optnas.activations.info("snake").probed
    optnas.activations.register("sine", polynomial=False)(torch.sin)  # no lipschitz: rejected by the contraction check
    try:
        cert = optnas.certify(optnas.ArchSpec(algorithm="proximal_point", activation="sine", depth=2, width=8))
        assert not cert.ok and "not globally Lipschitz" in next(c.detail for c in cert.failing())
        optnas.activations.register("sine", lipschitz=1.0, polynomial=False, overwrite=True)(torch.sin)
        assert optnas.certify(optnas.ArchSpec(algorithm="proximal_point", activation="sine", depth=2, width=8)).ok
        # below sup|sin'| = 1
        optnas.activations.register("sine", lipschitz=0.5, polynomial=False, overwrite=True)(torch.sin)
        with pytest.raises(ValueError, match=r"declared lipschitz=0.5 but its slope reaches 1"):
            optnas.activations.info("sine")
        with pytest.raises(ValueError, match=r"lipschitz=-1 is invalid"):
            optnas.activations.register("bad", lipschitz=-1)
    finally:
        optnas.activations.unregister("sine")


def test_a_class_defined_in_main_is_refused_with_where_to_move_it(tmp_path: Path) -> None:
    class Local(torch.nn.Module):
        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return torch.sin(z) + z

    optnas.activations.register("local_act", polynomial=False)(Local)
    try:
        spec = optnas.ArchSpec(algorithm="gd", activation="local_act", depth=2, width=8)
        with pytest.raises(NotExportable, match=r"model.py cannot import back; define it at the top level"):
            optnas.export.export_model(spec, tmp_path / "out", input_shape=(2,), num_outputs=3)
        assert not (tmp_path / "out").exists()
    finally:
        optnas.activations.unregister("local_act")
