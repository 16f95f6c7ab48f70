"""`optnas certify --input-shape signal:C,L`: the width lift counts a signal's channels, not its length."""

import json

import pytest

from optnas.cli import main


@pytest.mark.parametrize(("shape", "code"), [("signal:3,40", 0), ("3,40", 1), ("signal:4,40", 1)])
def test_certify_signal_shape(tmp_path, capsys, shape, code):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"block": "preact_conv", "width": 4, "depth": 2}))
    # Signal(3, 40): 3 channels, 4 >= 3 + 1; tokens (3, 40): 40 features; Signal(4, 40): 4 < 4 + 1
    assert main(["certify", str(path), "--json", "--input-shape", shape]) == code
    (cert,) = json.loads(capsys.readouterr().out)
    assert next(c for c in cert["conditions"] if c["name"] == "width_lift")["holds"] is (code == 0)


@pytest.mark.parametrize("shape", ["audio:1,40", "signal:1,40,3", "signal:0,40"])
def test_bad_signal_shape_is_one_line(tmp_path, capsys, shape):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"block": "preact_conv"}))
    assert main(["certify", str(path), "--input-shape", shape]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--input-shape" in err and shape in err
