"""export_model and load: the folder contract, safety (no pickle, no overwrite), formats, clear refusals."""

from __future__ import annotations

import copy
import json
import pickle
import struct
from pathlib import Path

import pytest
import torch
from torch import nn

import optnas
from optnas.export import NotExportable, export_model, load
from optnas.export._folder import MARKER
from optnas.training import train

from .conftest import built

FILES = {"model.py", "weights.safetensors", "spec.json", "certificate.json", "metrics.json", "export.json", "README.md"}


def _spec(**kw) -> optnas.ArchSpec:
    return optnas.ArchSpec(**{"algorithm": "heavy_ball", "depth": 3, "width": 8, **kw})


def test_trained_model_round_trip(tmp_path: Path) -> None:
    spec = _spec(activation="mrepu", activation_params={"p": 2})
    result = train(spec, "rings", epochs=1, device="cpu", latency_repeats=1)
    assert result.status == "complete" and result.model is not None
    done = export_model(spec, tmp_path / "out", input_shape=(2,), num_outputs=3, model=result.model,
                        metrics=result.metrics)
    assert set(done.files) == FILES and {p.name for p in (tmp_path / "out").iterdir()} == FILES | {MARKER}
    x = torch.randn(64, 2)
    net = load(tmp_path / "out")
    with torch.no_grad():
        assert float((net(x) - result.model.eval()(x)).abs().max()) <= 1e-6
    assert optnas.ArchSpec.from_dict(json.loads((tmp_path / "out/spec.json").read_text())) == spec
    assert json.loads((tmp_path / "out/certificate.json").read_text())["ok"] is True
    assert json.loads((tmp_path / "out/metrics.json").read_text())["val_metric"] == result.metrics["val_metric"]
    assert net.input_shape == (2,) and net.num_outputs == 3 and net.spec == spec.to_dict()


def test_weights_are_safetensors_and_loading_never_unpickles(tmp_path: Path, monkeypatch) -> None:
    spec = _spec()
    net = built(spec, (2,))
    export_model(spec, tmp_path, input_shape=(2,), num_outputs=3, model=net)
    raw = (tmp_path / "weights.safetensors").read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    assert set(header) - {"__metadata__"} == set(net.state_dict())

    def refuse(*args, **kwargs):
        raise AssertionError("export.load must not unpickle")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    x = torch.randn(8, 2)
    with torch.no_grad():
        assert torch.equal(load(tmp_path)(x), net(x))


def test_refuses_a_non_empty_folder_without_force(tmp_path: Path) -> None:
    spec = _spec()
    export_model(spec, tmp_path, input_shape=(2,), num_outputs=3)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"is not empty \(.optnas-export, README.md, .*\); pass --force"):
        export_model(spec, tmp_path, input_shape=(2,), num_outputs=3)
    done = export_model(spec, tmp_path, input_shape=(2,), num_outputs=3, force=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"  # force replaces an export, not the user's files
    assert set(done.files) <= {p.name for p in tmp_path.iterdir()}


def test_force_refuses_a_folder_no_export_wrote(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("my project")
    (tmp_path / "model.py").write_text("my model")
    with pytest.raises(ValueError, match=r"no optnas export wrote \(README.md, model.py\): --force only"):
        export_model(_spec(), tmp_path, input_shape=(2,), num_outputs=3, force=True)
    assert (tmp_path / "README.md").read_text() == "my project" and (tmp_path / "model.py").read_text() == "my model"
    assert {p.name for p in tmp_path.iterdir()} == {"README.md", "model.py"}


def test_force_removes_stale_files_of_an_earlier_export(tmp_path: Path) -> None:
    export_model(_spec(), tmp_path, input_shape=(2,), num_outputs=3, formats="pt2")
    assert (tmp_path / "model.pt2").is_file()
    export_model(_spec(algorithm="proximal_point"), tmp_path, input_shape=(2,), num_outputs=3, force=True)
    assert not (tmp_path / "model.pt2").exists()
    assert "model.pt2" not in json.loads((tmp_path / MARKER).read_text())["files"]


def test_out_must_be_a_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is not a directory"):
        export_model(_spec(), tmp_path / "file", input_shape=(2,), num_outputs=3)


def test_a_model_that_does_not_match_its_spec_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    other = optnas.build(_spec(width=16), (2,), 3)
    with pytest.raises(ValueError, match="does not match its spec"):
        export_model(_spec(), tmp_path / "out", input_shape=(2,), num_outputs=3, model=other)
    assert not (tmp_path / "out").exists()


def test_non_float32_weights_are_refused(tmp_path: Path) -> None:
    net = optnas.build(_spec(), (2,), 3).double()
    with pytest.raises(ValueError, match="torch.float64 weights"):
        export_model(_spec(), tmp_path, input_shape=(2,), num_outputs=3, model=net)


def test_a_lambda_activation_is_not_exportable(tmp_path: Path) -> None:
    # a named function of an importable module exports (tests/export/test_user_components.py); a lambda cannot
    optnas.activations.register("test_export_softsign", polynomial=False)(lambda z: z / (1 + z.abs()))
    try:
        spec = _spec(activation="test_export_softsign")
        with pytest.raises(NotExportable, match=r"<lambda>.* model.py cannot import back; define it at the top"):
            export_model(spec, tmp_path / "out", input_shape=(2,), num_outputs=3)
    finally:
        optnas.activations.unregister("test_export_softsign")
    assert not (tmp_path / "out").exists()


def test_user_activation_from_torch_nn_exports(tmp_path: Path) -> None:
    info = optnas.activations.ActivationInfo(polynomial=False, lipschitz=1.0)
    optnas.activations.register("test_export_hardswish", info=info)(nn.Hardswish)
    try:
        spec = _spec(activation="test_export_hardswish")
        net = built(spec, (2,))
        export_model(spec, tmp_path, input_shape=(2,), num_outputs=3, model=net)
    finally:
        optnas.activations.unregister("test_export_hardswish")
    assert "nn.Hardswish()" in (tmp_path / "model.py").read_text(encoding="utf-8")
    x = torch.randn(6, 2)
    with torch.no_grad():
        assert float((load(tmp_path)(x) - net(x)).abs().max()) <= 1e-6


class UserT(nn.Module):
    """A user's block module: not part of optnas.nn, so model.py imports it from this module."""

    def __init__(self, width: int, hidden: int, act: nn.Module) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(width, hidden), act, nn.Linear(hidden, width)

    def two_layer(self):
        return self.fc1, self.act, self.fc2

    def forward(self, z):
        return self.fc2(self.act(self.fc1(z)))


def test_user_block_class_exports_importing_its_module(tmp_path: Path) -> None:
    @optnas.blocks.register("test_export_user")
    class UserBlock(optnas.blocks.Block):
        structure = "T(z) = W2·σ(W1·z + b1) + b2"

        def make(self, width, act, kind):
            return UserT(self.hidden_width(width), self.hidden_width(width), act)

    try:
        spec = _spec(block="test_export_user")
        net = built(spec, (2,))
        done = export_model(spec, tmp_path, input_shape=(2,), num_outputs=3, model=net)
    finally:
        optnas.blocks.unregister("test_export_user")
    assert done.info["requires"] == [UserT.__module__] and done.max_abs_diff == 0.0
    assert f"from {UserT.__module__} import UserT" in (tmp_path / "model.py").read_text(encoding="utf-8")


def test_pt2_for_an_explicit_network(tmp_path: Path) -> None:
    spec = _spec(algorithm="nesterov")
    net = built(spec, (2,))
    done = export_model(spec, tmp_path, input_shape=(2,), num_outputs=3, model=net, formats="pt2")
    assert done.skipped == {} and "model.pt2" in done.files
    program = torch.export.load(str(tmp_path / "model.pt2"))
    x = torch.randn(11, 2)  # another batch size than the traced one
    with torch.no_grad():
        assert float((program.module()(x) - net(x)).abs().max()) <= 1e-6
    assert "model.pt2" in (tmp_path / "README.md").read_text()


def test_implicit_network_skips_pt2_with_a_reason_and_still_exports(tmp_path: Path) -> None:
    done = export_model(_spec(algorithm="bdf2"), tmp_path, input_shape=(2,), num_outputs=3, formats=["pt2"])
    assert "model.pt2" not in done.files and not (tmp_path / "model.pt2").exists()
    assert "implicit layers" in done.skipped["pt2"]
    assert json.loads((tmp_path / "export.json").read_text())["formats"]["pt2"] == done.skipped["pt2"]


def test_onnx(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    done = export_model(_spec(), tmp_path, input_shape=(2,), num_outputs=3, formats="onnx")
    assert done.skipped == {} and (tmp_path / "model.onnx").stat().st_size > 0


def test_unknown_format_is_refused_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown export format\(s\) \['tflite'\]; valid formats: pt2, onnx"):
        export_model(_spec(), tmp_path / "out", input_shape=(2,), num_outputs=3, formats="pt2,tflite")
    assert not (tmp_path / "out").exists()


def test_recording_leaves_torch_constructors_unpatched() -> None:
    from optnas.export._record import recorded_call, recording

    before = nn.Linear.__init__
    with recording():
        inside = nn.Linear(2, 3)
    assert nn.Linear.__init__ is before
    assert recorded_call(inside) is not None and recorded_call(nn.Linear(2, 3)) is None


def test_study_names_cannot_inject_code_into_model_py(tmp_path: Path) -> None:
    evil = 'x"""\nraise SystemExit("injected")\n"""\\'
    export_model(_spec(), tmp_path, input_shape=(2,), num_outputs=3, source={"study": evil, "trial": 0})
    net = load(tmp_path)  # would raise SystemExit if the name had escaped the docstring
    assert repr(evil) in type(net).__doc__


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # importing torch.compile's stack warns about torch.jit
def test_a_compiled_model_exports_its_network(tmp_path: Path) -> None:
    spec = _spec()
    net = built(spec, (2,))
    export_model(spec, tmp_path, input_shape=(2,), num_outputs=3, model=torch.compile(net))
    x = torch.randn(5, 2)
    with torch.no_grad():
        assert torch.equal(load(tmp_path)(x), net(x))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_cuda_trained_model_exports_to_cpu(tmp_path: Path) -> None:
    spec = _spec(block="mlp2")
    result = train(spec, "rings", epochs=1, device="cuda", latency_repeats=1)
    assert result.model is not None and next(result.model.parameters()).is_cuda
    export_model(spec, tmp_path, input_shape=(2,), num_outputs=3, model=result.model)
    cpu = copy.deepcopy(result.model).cpu().eval()
    x = torch.randn(16, 2)
    with torch.no_grad():
        assert float((load(tmp_path)(x) - cpu(x)).abs().max()) <= 1e-6
