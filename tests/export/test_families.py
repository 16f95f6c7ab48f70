"""Every algorithm family and every block exports to a model.py that runs with torch alone and reproduces
the original (perturbed, not default-initialised) network's outputs within 1e-6 in eval mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import optnas
from optnas.export import export_model, load

from .conftest import built

VECTOR, IMAGE, TOKEN, SIGNAL = (5,), (3, 8, 8), (6, 7), optnas.Signal(2, 12)
BLOCK_INPUTS = {"mlp2": VECTOR, "preact_conv": IMAGE, "convnext": IMAGE, "transformer": TOKEN}

# Each algorithm with a different activation/schedule, so every runtime path is exercised somewhere.
VARIANTS = {
    "gd": {"activation": "repu", "activation_params": {"p": 2}},
    "heavy_ball": {"algorithm_params": {"beta": 0.5}, "schedule": "learnable"},
    "nesterov": {"activation": "mrepu", "activation_params": {"p": 2}},
    "fista": {"activation": "gelu", "schedule": "cosine"},
    "apg2": {"activation": "silu", "schedule": "harmonic"},
    "ladmm": {"algorithm_params": {"rho": 0.5}, "activation": "tanh"},
    "lm_resnet": {"algorithm_params": {"k": 0.3}, "activation": "leaky_relu",
                  "activation_params": {"negative_slope": 0.1}},
    "adams_bashforth2": {"activation": "softplus"},
    "dense": {"schedule": "learnable"},
    "proximal_point": {},
    "bdf2": {"activation": "sigmoid"},
    "accel_proximal": {"algorithm_params": {"beta": 0.3}, "activation": "tanh"},
}
BLOCK_VARIANTS = {
    "mlp2": {"algorithm": "gd", "block_params": {"norm": True}},
    "preact_conv": {"algorithm": "heavy_ball", "stages": 2, "depth": 4},
    "convnext": {"algorithm": "nesterov", "activation": "gelu", "block_params": {"hidden": 16}},
    "transformer": {"algorithm": "gd", "activation": "gelu", "block_params": {"heads": 2}},
}

ISOLATED = textwrap.dedent("""
    import importlib.util, json, sys
    for blocked in ("optnas", "safetensors"):
        try:
            __import__(blocked)
        except ImportError:
            pass
        else:
            raise SystemExit(f"{blocked} is importable: the isolation is broken")
    import torch
    diffs = {}
    for name in sys.argv[1:]:
        spec = importlib.util.spec_from_file_location(f"exported_{name}", f"{name}/model.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        net = module.load()                     # its own torch-only safetensors reader
        ref = module.load_safetensors(f"{name}.reference.safetensors")
        assert type(net).__name__ == "ExportedModel" and not net.training
        with torch.no_grad():
            out = net(ref["x"])
        diffs[name] = float((out - ref["y"]).abs().max())
    print(json.dumps({"diffs": diffs, "optnas_loaded": any(m.startswith("optnas") for m in sys.modules)}))
""")


def _cases() -> dict[str, tuple[optnas.ArchSpec, tuple[int, ...]]]:
    cases = {}
    for algorithm in optnas.algorithms.names():
        kw = dict(VARIANTS.get(algorithm, {}))
        cases[f"algo_{algorithm}"] = (optnas.ArchSpec(algorithm=algorithm, depth=3, width=8, **kw), VECTOR)
    for block in optnas.blocks.names():
        kw = {"depth": 2, "width": 8, **BLOCK_VARIANTS.get(block, {})}
        cases[f"block_{block}"] = (optnas.ArchSpec(block=block, **kw), BLOCK_INPUTS[block])
    # implicit conv network: operator-normalized convs and capped BatchNorm gains (the contraction's bound)
    cases["implicit_preact_conv"] = (
        optnas.ArchSpec(algorithm="proximal_point", block="preact_conv", depth=4, width=8, stages=2), IMAGE
    )
    # every block with a signal form, on (N, C, L) signals; the implicit one with Conv1d operator norms
    for block in optnas.blocks.names():
        if "signal" in optnas.blocks.entry(block).inputs:
            kw = {"depth": 2, "width": 8, **BLOCK_VARIANTS.get(block, {})}
            cases[f"signal_{block}"] = (optnas.ArchSpec(block=block, **kw), SIGNAL)
    cases["signal_implicit_preact_conv"] = (
        optnas.ArchSpec(algorithm="proximal_point", block="preact_conv", depth=4, width=8, stages=2), SIGNAL
    )
    return cases


def test_every_family_and_block_runs_with_torch_alone(tmp_path: Path) -> None:
    cases = _cases()
    assert {n[5:] for n in cases if n.startswith("algo_")} == set(optnas.algorithms.names())
    assert {n[6:] for n in cases if n.startswith("block_")} == set(optnas.blocks.names())
    for i, (name, (spec, shape)) in enumerate(cases.items()):
        net = built(spec, shape, seed=i)
        x = torch.randn(4, *shape, generator=torch.Generator().manual_seed(i))
        with torch.no_grad():
            y = net(x)
        assert torch.isfinite(y).all()
        done = export_model(spec, tmp_path / name, input_shape=shape, num_outputs=3, model=net)
        assert done.max_abs_diff <= 1e-6
        with torch.no_grad():  # in-process, through optnas.export.load (the safetensors library)
            assert float((load(tmp_path / name)(x) - y).abs().max()) <= 1e-6
        save_file({"x": x, "y": y}, str(tmp_path / f"{name}.reference.safetensors"))

    stub = tmp_path / "stub"
    for blocked in ("optnas", "safetensors"):
        (stub / blocked).mkdir(parents=True)
        (stub / blocked / "__init__.py").write_text(f"raise ImportError('{blocked} is blocked in this test')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(stub)
    proc = subprocess.run(
        [sys.executable, "-c", ISOLATED, *cases], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["optnas_loaded"] is False
    assert set(report["diffs"]) == set(cases)
    bad = {k: v for k, v in report["diffs"].items() if not v <= 1e-6}
    assert not bad, bad


@pytest.mark.parametrize("name", ["algo_proximal_point", "algo_dense", "block_preact_conv", "signal_preact_conv"])
def test_generated_source_is_readable_python(tmp_path: Path, name: str) -> None:
    spec, shape = _cases()[name]
    export_model(spec, tmp_path, input_shape=shape, num_outputs=3, model=built(spec, shape))
    source = (tmp_path / "model.py").read_text(encoding="utf-8")
    compile(source, "model.py", "exec")
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    stdlib = {"__future__", "collections", "contextlib", "typing", "copy", "json", "os", "struct", "sys"}
    assert all(line.split()[1].split(".")[0] in stdlib | {"torch"} for line in imports), imports
    assert "class ExportedModel(nn.Module):" in source and "LAYERS" not in source
    assert max(len(line) for line in source.splitlines()) <= 120
    if spec.algorithm == "proximal_point":  # implicit: T's weights are spectrally normalised after construction
        assert "spectral_norm(t.fc1)" in source and "spectral_norm(t.fc2)" in source
        assert "def fixed_point(" in source and "x = fixed_point(T[k], x, h[k])" in source
    if spec.stages > 1 and shape == SIGNAL:
        assert "self.transitions = nn.ModuleList(" in source
        assert "nn.Sequential(nn.BatchNorm1d(8), nn.Conv1d(8, 16, 3" in source
        assert "input_shape = (2, 12)  # one sample, batch excluded: (channels, length) of a 1-D signal" in source
    elif spec.stages > 1:
        assert "self.transitions = nn.ModuleList(" in source
        assert "nn.Sequential(nn.BatchNorm2d(8), nn.Conv2d(8, 16, 3" in source


# every algorithm on every input kind: (block, input shape, stages); images and signals run two stages
KINDS = {
    "vector": ("mlp2", VECTOR, 1), "image": ("preact_conv", IMAGE, 2), "token": ("transformer", TOKEN, 1),
    "signal": ("preact_conv", SIGNAL, 2),
}
# implicit conv stages normalise each conv by a power-iteration estimate that converges again when the loaded
# model is put in eval mode: their outputs agree to float rounding, as before the recurrence was written out
ROUNDING = 1e-6


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bit-identical, NaN included (a network that overflows on random inputs overflows identically)."""
    return bool(((a == b) | (a.isnan() & b.isnan())).all())


def _kind_cases() -> list:
    cases = []
    for i, algorithm in enumerate(optnas.algorithms.names()):
        for j, kind in enumerate(KINDS):
            # by default each algorithm with one kind, every kind several times; all pairs under -m slow
            marks = [] if j == i % len(KINDS) else [pytest.mark.slow]
            cases.append(pytest.param(algorithm, kind, marks=marks, id=f"{algorithm}-{kind}"))
    return cases


@pytest.mark.parametrize(("algorithm", "kind"), _kind_cases())
def test_every_algorithm_and_input_kind_reproduces_the_network_bit_for_bit(
    tmp_path: Path, algorithm: str, kind: str
) -> None:
    block, shape, stages = KINDS[kind]
    specs = [optnas.ArchSpec(algorithm=algorithm, block=block, depth=d, width=8, stages=stages,
                             **VARIANTS.get(algorithm, {})) for d in (3, 4, 6)]
    spec = next((s for s in specs if optnas.certify(s, input_shape=shape).ok), None)
    if spec is None:
        assert optnas.algorithms.get(algorithm).implicit and block == "transformer"
        pytest.skip("implicit schemes certify only contractive blocks (not attention)")
    net = built(spec, shape)
    export_model(spec, tmp_path, input_shape=shape, num_outputs=3, model=net)
    source = (tmp_path / "model.py").read_text(encoding="utf-8")
    algo = optnas.algorithms.get(algorithm, **spec.algorithm_params)
    assert algo.formula in source and "LAYERS" not in source and "Unrolled" not in source
    x = torch.randn(6, *shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, theirs = load(tmp_path)(x), net(x)
    if algo.implicit and kind in ("image", "signal"):
        assert float((ours - theirs).abs().max()) <= ROUNDING
    else:
        assert _same(ours, theirs)


def test_a_depth3_heavy_ball_mlp_reads_as_its_recurrence(tmp_path: Path) -> None:
    spec = optnas.ArchSpec(algorithm="heavy_ball", depth=3, width=8)
    net = built(spec, (2,))
    export_model(spec, tmp_path, input_shape=(2,), num_outputs=3, model=net)
    source = (tmp_path / "model.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) < 150
    assert "BETA = 0.9\n" in source and "H = [0.3333333333333333, 0.3333333333333333, 0.3333333333333333]" in source
    assert "class HeavyBall(nn.Module):" in source and "x+ = x + β(x − x−) + h·T(x)" in source
    # layer 0 is the start-up (Euler) step, then the momentum recurrence as one loop over the blocks T[k]
    assert "        x, x_prev = x.add(T[0](x), alpha=h[0]), x" in source
    assert "        for k in range(1, len(T)):\n            x, x_prev = " in source
    assert ".add(T[k](x), alpha=h[k]), x\n" in source
    assert "HeavyBall([MLP2(8, 8, nn.ReLU()) for _ in range(3)], h=H)" in source
    x = torch.randn(7, 2)
    with torch.no_grad():
        assert torch.equal(load(tmp_path)(x), net(x))
