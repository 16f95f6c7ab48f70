"""`optnas list` and `optnas certify`: output and exit codes (0 ok, 1 failing certificate, 2 bad input)."""

import json
import subprocess
import sys

import pytest

from optnas.cli import main
from tests._support.cli import run_cli


def run(*argv):
    """`optnas` in its own process: the smoke tests of `list` and `certify` (the other cases run `main` here)."""
    return subprocess.run([sys.executable, "-m", "optnas", *argv], capture_output=True, text=True, timeout=120)


def test_list_all_families(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("heavy_ball", "mrepu", "convnext", "learnable", "apg_theta"):
        assert name in out


def test_list_one_family(capsys):
    assert main(["list", "algorithms"]) == 0
    out = capsys.readouterr().out
    assert "bdf2" in out and "[implicit]" in out and "relu" not in out


@pytest.mark.parametrize(("beta", "code"), [(0.9, 0), (1.0, 1)])
def test_certify_exit_codes(tmp_path, capsys, beta, code):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"algorithm": "heavy_ball", "algorithm_params": {"beta": beta}}))
    assert main(["certify", str(path)]) == code
    out = capsys.readouterr().out
    assert ("NOT certified" in out) is (code == 1)


def test_certify_json_and_input_shape(tmp_path, capsys):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"width": 2}))
    assert main(["certify", str(path), "--json", "--input-shape", "2"]) == 1
    (cert,) = json.loads(capsys.readouterr().out)
    assert not next(c for c in cert["conditions"] if c["name"] == "width_lift")["holds"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"algorithm": "heavy_ball", "algorithm_params": {"beta": 2}}', "beta=2 is invalid"),
        ('{"algorithm": "nope"}', "unknown algorithm 'nope'; valid names:"),
        ("{not json", "not valid JSON"),
        ('{"depht": 3}', "unknown ArchSpec key"),
    ],
)
def test_certify_bad_input_one_line_exit_2(tmp_path, content, needle):
    path = tmp_path / "spec.json"
    path.write_text(content)
    proc = run_cli("certify", str(path))
    assert proc.returncode == 2
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_bad_flags_and_missing_file_exit_2(tmp_path):
    for argv in (["list", "bogus"], ["certify", str(tmp_path / "missing.json")], ["frobnicate"]):
        proc = run_cli(*argv)
        assert proc.returncode == 2, argv
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("argv", [["list", "bogus"], ["certify", "{tmp}/spec.json"]])
def test_the_optnas_process_answers_bad_input_in_one_line(tmp_path, argv):
    """Smoke tests of the entry point: `python -m optnas list|certify` with bad input, one line and exit 2."""
    (tmp_path / "spec.json").write_text('{"algorithm": "nope"}')
    proc = run(*[a.format(tmp=tmp_path) for a in argv])
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_every_registry_describes_every_entry_in_one_idiom(capsys):
    """Description and parameter ranges come from `Registry.describe` for all five families, never cut."""
    import importlib

    from optnas.cli.list_cmd import FAMILIES

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for family in FAMILIES:
        registry = importlib.import_module(f"optnas.{family}")
        for name in registry.names():
            info = registry.describe(name)
            assert info.description, f"{family} {name} has no description"
            assert f"  {name}" in out and info.description in out  # printed whole
            for param in info.params:
                assert param.range, f"{family} {name}: parameter {param.name} has no range"
                assert str(param) in out


def test_user_entries_get_metadata_from_the_same_register():
    import torch

    from optnas import activations

    @activations.register("scaled_tanh_test", params={"a": "finite numbers > 0"})
    def scaled_tanh(z: torch.Tensor, a: float = 2.0) -> torch.Tensor:
        """a·tanh(z / a): a softer tanh."""
        return a * torch.tanh(z / a)

    try:
        info = activations.describe("scaled_tanh_test")
        assert info.description == "a·tanh(z / a): a softer tanh."
        assert [str(p) for p in info.params] == ["a=2.0: finite numbers > 0"]
        with pytest.raises(ValueError, match="valid parameters"):
            activations.get("scaled_tanh_test", b=1.0)
    finally:
        activations.unregister("scaled_tanh_test")
