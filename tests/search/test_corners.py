"""`optnas certify SPACE.yaml` checks every corner of a space, or says how many of how many and why."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import optnas
from optnas.cli import main
from optnas.search import SearchSpace
from optnas.search.corners import CornerReport, check_corners, corner_count, corners
from optnas.spec import FAMILIES, describe_fields
from tests._support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]

SPACE = {
    "task": {"name": "rings", "params": {"n_samples": 300}},
    "space": {
        "algorithm": {"gd": {}, "heavy_ball": {"beta": {"low": 0.0, "high": 1.0}}, "fista": {}, "dense": {}},
        "schedule": ["constant", "learnable"],
        "block": {"mlp2": {"hidden": [8, 16], "norm": [False, True]}},
        "activation": {"relu": {}, "mrepu": {"p": [2, 3]}},
        "depth": {"low": 2, "high": 6},
        "width": [4, 8],
    },
}


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    with pytest.warns(UserWarning, match="constrained to its certified part"):
        return SearchSpace.from_dict(SPACE)


def test_every_corner_is_counted_and_checked(space: SearchSpace) -> None:
    # algorithms gd, heavy_ball (2 ends), fista, dense = 5; schedules 2; blocks 2·2; activations 3; depth 2; width 2
    expected = 5 * 2 * 4 * 3 * 2 * 2
    assert corner_count(space) == expected == sum(1 for _ in corners(space))
    report = check_corners(space)
    assert report.total == report.checked == expected
    assert "every corner checked (480)" in report.summary("s.yaml")


def test_ranges_are_checked_at_their_certified_ends(space: SearchSpace) -> None:
    betas = {c.algorithm_params["beta"] for c in corners(space) if isinstance(c, optnas.ArchSpec)
             and c.algorithm == "heavy_ball"}
    assert min(betas) == 0.0 and 0.99 < max(betas) < 1.0  # bisected below the double root at 1
    for name in ("fista", "dense"):
        assert any(isinstance(c, optnas.ArchSpec) and c.algorithm == name for c in corners(space))


def test_shared_linear_part_gives_the_same_certificates_as_certify(space: SearchSpace) -> None:
    report = check_corners(space)
    shape = space.task().input_shape
    for cert in report.certificates[::37]:
        again = optnas.certify(optnas.ArchSpec.from_dict(cert.spec), input_shape=shape)
        assert again.to_dict() == cert.to_dict()


def test_lines_name_block_and_activation_parameters_and_merge_repeats(space: SearchSpace) -> None:
    report = check_corners(space, limit=6)
    assert report.checked == 6 and report.total == corner_count(space)
    assert f"checked 6 of its {report.total} corners" in report.summary("s.yaml")
    assert "--limit" in report.summary("s.yaml")
    # the first 6 corners: relu at depth 2, 6 and width 4, 8, then mrepu(p=2) at depth 2
    assert report.lines() == [
        "ok    gd constant mlp2(hidden=8,norm=False) relu depth=2|6 width=4|8  (x4)",
        "ok    gd constant mlp2(hidden=8,norm=False) mrepu(p=2) depth=2 width=4|8  (x2)",
    ]
    doubled = CornerReport(total=2, certificates=report.certificates[:1] * 2)
    assert doubled.lines() == ["ok    gd constant mlp2(hidden=8,norm=False) relu depth=2 width=4  (x2)"]


def test_merged_lines_are_exact_products_and_keep_verdicts_apart(space: SearchSpace) -> None:
    """Every merged line stands for exactly the product of its fields' values, all with its verdict."""
    report = check_corners(space)
    seen: dict[tuple[str, ...], str] = {}
    for cert in report.certificates:
        t = describe_fields(cert.spec)
        seen[tuple(t[k] for k in (*FAMILIES, "depth", "width", "stages"))] = "ok" if cert.ok else "FAIL"
    covered = 0
    for line in report.lines():
        verdict, text = line[:4].strip(), line[6:].split(":")[0].split("  (x")[0]
        *families, depth, width = text.split(" ")
        count = int(line.rsplit("(x", 1)[1][:-1]) if line.endswith(")") and "(x" in line else 1
        product = list(itertools.product(*(f.split("|") for f in families), depth[6:].split("|"),
                                         width[6:].split("|"), ["1"]))
        assert len(product) == count
        assert all(seen[corner] == verdict for corner in product)
        covered += count
    assert covered == report.checked == len(seen)
    assert len(report.lines()) < report.checked / 3


def test_cli_merges_corners_of_a_small_space(tmp_path, capsys) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(
        "task: {name: rings, params: {n_samples: 300}}\n"
        "space: {algorithm: {gd: {}, heavy_ball: {beta: [0.5, 0.95]}}, block: {mlp2: {hidden: [8]}},\n"
        "        activation: [relu, gelu], depth: [2, 4], width: [2, 8]}\n"
    )
    assert main(["certify", str(path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    n = 3 * 2 * 2 * 1  # width 2 dropped at load (below input dim + 1)
    assert out[-1].startswith(f"{n} of {n} corners") and f"every corner checked ({n})" in out[-1]
    assert out[0].startswith("optnas certify: note:") and "dropped [2]" in out[0]
    assert out[1:-1] == [
        f"ok    {alg} constant mlp2(hidden=8) relu|gelu depth=2|4 width=8  (x4)"
        for alg in ("gd", "heavy_ball(beta=0.5)", "heavy_ball(beta=0.95)")
    ]


def test_cli_certify_digits_space_is_short(tmp_path) -> None:
    """The README's `optnas certify search_spaces/digits.yaml`: 1,944 corners in ~100 lines, not 1,945."""
    proc = run_cli("certify", str(ROOT / "search_spaces" / "digits.yaml"))
    assert proc.returncode in (0, 1), proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert "every corner checked (1944)" in lines[-1]
    counts = [int(line.rsplit("(x", 1)[1][:-1]) if line.endswith(")") and "  (x" in line else 1
              for line in lines[:-1]]
    assert sum(counts) == 1944 and len(lines) < 200
