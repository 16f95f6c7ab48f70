from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from optnas.cli import theory_cmd


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="optnas theory")
    theory_cmd.add_arguments(parser)
    return theory_cmd.run(parser.parse_args(argv))


def test_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["mrepu", "--param", "p=3"]) == 0
    out = capsys.readouterr().out
    assert "universality      K*=0" in out and "a1=45" in out and "mrepu(p=3)" in out


def test_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["repu", "--param", "p=2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["c_w"] is None and data["init"]["source"] == "fallback" and data["params"] == {"p": 2}


def test_plot_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tanh.html"
    assert _run(["tanh", "--plot", str(out), "--depth", "20"]) == 0
    html = out.read_text(encoding="utf-8")
    assert "plotly" in html.lower() and "χ∥" in html
    assert str(out) in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["tanh.html"]  # no temporary file left behind


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["swish"], "unknown activation 'swish'"),
        (["repu", "--param", "p"], "KEY=VALUE"),
        (["repu", "--param", "p=0"], "p=0"),
        (["relu", "--param", "q=1"], "'q'"),
        (["relu", "--plot", "/no/such/dir/x.html"], "does not exist"),
    ],
)
def test_bad_input_is_one_value_error(argv: list[str], match: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=match) as info:
        _run(argv)
    assert "\n" not in str(info.value)


def test_param_values_are_json_or_strings() -> None:
    assert theory_cmd.parse_params(["p=3", "negative_slope=0.2", "name=abc"]) == {
        "p": 3,
        "negative_slope": 0.2,
        "name": "abc",
    }
