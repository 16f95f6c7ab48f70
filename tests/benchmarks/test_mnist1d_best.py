"""benchmarks/mnist1d/best/, the exported best network of the recorded MNIST-1D search: its model.py loads in a
process where optnas and safetensors cannot be imported (torch alone, as its README says), scores the recorded
test accuracy (search.json) on the 1,000 reference test signals, and gives the outputs of optnas's own network
built from spec.json with the same weights."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import optnas

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "mnist1d"

# run with -I (no PYTHONPATH, no user site); optnas (installed) and safetensors are made unimportable
TORCH_ALONE = """
import importlib.util, json, sys
sys.modules["optnas"] = sys.modules["safetensors"] = None  # an import of either fails
import torch
folder, data, out = sys.argv[1:]
spec = importlib.util.spec_from_file_location("model", f"{folder}/model.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
net = module.load()
x, y = torch.load(data)
with torch.no_grad():
    logits = net(x)
torch.save(logits, out)
loaded = [m for m, v in sys.modules.items() if m.startswith("optnas") and v is not None]
print(json.dumps({"right": int((logits.argmax(-1) == y).sum()), "params": sum(p.numel() for p in net.parameters()),
                  "training": net.training, "optnas": loaded}))
"""


def test_the_exported_best_network_scores_its_recorded_test_accuracy_with_torch_alone(tmp_path):
    pytest.importorskip("mnist1d", reason="the reference data come from the mnist1d generator (optnas[mnist1d])")
    recorded = json.loads((BENCH / "search.json").read_text())
    x, y = optnas.tasks.get("mnist1d", as_signal=True, reference=True).tensors("test")
    torch.save((x, y), tmp_path / "test.pt")
    proc = subprocess.run(
        [sys.executable, "-I", "-c", TORCH_ALONE, str(BENCH / "best"), str(tmp_path / "test.pt"),
         str(tmp_path / "logits.pt")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen == {"right": round(recorded["exported_test_accuracy"] * len(y)), "params": recorded["params"],
                    "training": False, "optnas": []}
    # optnas's network of spec.json with these weights: the same outputs (export's own check bound)
    folder = BENCH / "best"
    info = json.loads((folder / "export.json").read_text())
    net = optnas.build(optnas.ArchSpec.from_dict(json.loads((folder / "spec.json").read_text())),
                       optnas.Signal(*info["input_shape"]), info["num_outputs"])
    from safetensors.torch import load_file

    net.load_state_dict(load_file(folder / "weights.safetensors"))
    with torch.no_grad():
        theirs = net.eval()(x)
    torch.testing.assert_close(torch.load(tmp_path / "logits.pt"), theirs, rtol=0, atol=1e-6)
