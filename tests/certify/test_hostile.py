"""Issue 27: blocks and activations that declare the theorem's structure without computing it are refused,
with a detail naming what was found, and the same spec file gets the same verdict in every fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import optnas
from optnas import activations

PLUGIN_FILES = Path(__file__).resolve().parents[1] / "plugin_files"
ROOT = Path(__file__).resolve().parents[2]

# block -> what the certificate must name
HOSTILE_BLOCKS = {
    "h_zero_times": "T's output is constant",             # 0 * fc2(act(fc1(z)))
    "h_y_minus_y": "T's output is constant",              # y - y
    "h_zero_input": "T's output is constant",             # fc2(act(fc1(0 * z)))
    "h_round": "discontinuous ops to the data (torch.round)",
    "h_branch": "data-dependent control flow",            # if z.mean() > 0: ...
    "h_noise": "T is not deterministic",
}


@pytest.fixture(scope="module")
def hostile() -> Iterator[None]:
    sys.path.insert(0, str(PLUGIN_FILES))
    import hostile_blocks

    yield
    sys.path.remove(str(PLUGIN_FILES))
    sys.modules.pop("hostile_blocks", None)
    for family, names in hostile_blocks.NAMES.items():
        for name in names:
            getattr(optnas, family).unregister(name)


def _condition(spec: optnas.ArchSpec, name: str, shape: tuple[int, ...] | None = (2,)) -> optnas.Condition:
    return next(c for c in optnas.certify(spec, input_shape=shape).conditions if c.name == name)


@pytest.mark.parametrize(("block", "needle"), sorted(HOSTILE_BLOCKS.items()))
def test_hostile_blocks_are_rejected_naming_what_was_found(hostile, block: str, needle: str) -> None:
    cond = _condition(optnas.ArchSpec(block=block, width=8), "two_layer_structure")
    assert not cond.holds and needle in cond.detail, cond.detail


def test_the_honest_block_of_the_same_plugin_passes(hostile) -> None:
    cond = _condition(optnas.ArchSpec(block="h_good", width=8), "two_layer_structure")
    assert cond.holds and "checked by function" in cond.detail, cond.detail


def test_structure_is_probed_at_the_networks_own_width(hostile) -> None:
    """Two-layer up to width 256, linear above: certified at 256, refused at 512 (probed there, and said so)."""
    at_256 = _condition(optnas.ArchSpec(block="h_wide", width=256), "two_layer_structure")
    assert at_256.holds and "at state width 256" in at_256.detail, at_256.detail
    at_512 = _condition(optnas.ArchSpec(block="h_wide", width=512), "two_layer_structure")
    assert not at_512.holds and "width 512" in at_512.detail and "never applies the declared σ (act)" in at_512.detail


def test_every_stage_width_is_probed() -> None:
    cond = _condition(optnas.ArchSpec(block="preact_conv", width=4, stages=3, depth=3), "two_layer_structure",
                      (3, 8, 8))
    assert cond.holds and "at state widths 4, 8, 16" in cond.detail, cond.detail


def test_widths_above_the_probe_limit_are_refused_naming_the_limit(monkeypatch) -> None:
    from optnas.certify import structure

    monkeypatch.setattr(structure, "PROBE_MAX_WIDTH", 32)
    cond = _condition(optnas.ArchSpec(width=64), "two_layer_structure")
    assert not cond.holds and "state width 64" in cond.detail and "<= 32" in cond.detail


def test_nearly_linear_polynomial_of_degree_9_is_caught(hostile) -> None:
    cond = _condition(optnas.ArchSpec(activation="h_nearly_linear", width=8), "activation")
    assert not cond.holds and "polynomial of degree 9" in cond.detail, cond.detail


@pytest.mark.parametrize("degree", [2, 9, 16])
def test_polynomials_up_to_degree_16_are_found(degree: int) -> None:
    assert activations.polynomial_degree(lambda z: 0.3 * z + 1e-9 * z**degree)[0] == degree


def test_the_polynomial_probe_says_when_it_cannot_decide() -> None:
    degree, why = activations.polynomial_degree(lambda z: z + 1e-9 * torch.sin(z))
    assert degree is None and "cannot decide" in why


def test_a_jump_is_found_where_finite_differences_see_only_a_steep_slope(hostile) -> None:
    cond = _condition(optnas.ArchSpec(activation="h_round_act", width=8), "activation")
    assert not cond.holds and "is not continuous" in cond.detail and "jumps near" in cond.detail, cond.detail


def test_undeclared_user_activation_is_refused_even_when_the_probe_finds_no_polynomial() -> None:
    @activations.register("undeclared_softsign")
    def softsign(z: torch.Tensor) -> torch.Tensor:
        return z / (1 + z.abs())

    try:
        cond = _condition(optnas.ArchSpec(activation="undeclared_softsign", width=8), "activation")
        assert not cond.holds and "not declared non-polynomial" in cond.detail
        assert "not a polynomial of degree <= 16 (probed)" in cond.detail
    finally:
        activations.unregister("undeclared_softsign")


def test_learnable_activation_bounded_at_init_only_is_refused_by_implicit_networks(hostile) -> None:
    spec = optnas.ArchSpec(algorithm="proximal_point", activation="h_prelu_free", depth=8, width=8)
    cond = _condition(spec, "contraction")
    assert not cond.holds and "at initialisation only" in cond.detail, cond.detail
    assert _condition(spec.replace(algorithm="gd"), "activation").holds  # explicit networks need no global bound


def test_a_false_parametrization_claim_is_found_by_the_parameter_probe(hostile) -> None:
    spec = optnas.ArchSpec(algorithm="proximal_point", activation="h_prelu_init", depth=8, width=8)
    cond = _condition(spec, "contraction")
    assert not cond.holds and "its slope reaches" in cond.detail, cond.detail
    good = _condition(spec.replace(activation="h_prelu_clamped"), "contraction")
    assert good.holds, good.detail
    info = activations.info("h_prelu_clamped")
    assert info.lipschitz == 1.0 and any("for every parameter value" in n for n in info.notes)


def test_a_trained_model_is_certified_from_its_current_parameters(hostile) -> None:
    """A PReLU declared 1-Lipschitz at init, slope pushed to -3 by 'training': the spec's certificate holds
    (explicit network), the trained network's recomputed one reports the trained slope; a slope of 1 makes σ
    the identity, a polynomial, which the trained certificate refuses."""
    spec = optnas.ArchSpec(algorithm="gd", activation="h_prelu_free", depth=2, width=8)
    net = optnas.build(spec, (2,), 3)
    from optnas.certify import certify_model

    assert certify_model(net).ok
    for m in net.modules():
        if type(m).__name__ == "FreePReLU":
            m.slope.data.fill_(-3.0)
    detail = next(c for c in certify_model(net).conditions if c.name == "activation").detail
    assert "slope <= 3" in detail, detail
    for m in net.modules():
        if type(m).__name__ == "FreePReLU":
            m.slope.data.fill_(1.0)
    cert = certify_model(net)
    assert not cert.ok and "polynomial of degree 1 at its trained parameters" in cert.failing()[0].detail


def test_a_clamped_slope_keeps_the_implicit_certificate_after_training(hostile) -> None:
    spec = optnas.ArchSpec(algorithm="proximal_point", activation="h_prelu_clamped", depth=4, width=8)
    net = optnas.build(spec, (2,), 3)
    from optnas.certify import certify_model

    for m in net.modules():
        if type(m).__name__ == "ClampedPReLU":
            m.slope.data.fill_(-3.0)  # the clamp keeps the slope used at -1
    assert certify_model(net).ok


# -- the same file, the same verdict: fresh processes ------------------------------------------------------
REPEATS = 3


def _certify_in_fresh_processes(spec: dict | str, tmp_path: Path) -> list[tuple[int, str]]:
    """``optnas certify`` on a spec (dict: spec.json) or a space (str: space.yaml), in REPEATS fresh processes."""
    path = tmp_path / ("spec.json" if isinstance(spec, dict) else "space.yaml")
    path.write_text(json.dumps(spec) if isinstance(spec, dict) else spec)
    shape = ["--input-shape", "2"] if isinstance(spec, dict) else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGIN_FILES), str(ROOT)])}
    env.pop("OPTNAS_PLUGINS", None)
    runs = []
    for seed in range(REPEATS):  # a different global RNG state in each process must not matter
        code = f"import sys, torch; torch.manual_seed({seed}); from optnas.cli import main; sys.exit(main())"
        done = subprocess.run(
            [sys.executable, "-c", code, "certify", str(path), "--plugin", "hostile_blocks", *shape],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False,
        )
        assert done.returncode in (0, 1), done.stderr
        runs.append((done.returncode, done.stdout))
    return runs


SPACE = """
task: {name: rings}
train: {epochs: 1}
space:
  algorithm: {gd: {}}
  block: {h_zero_times: {}, h_y_minus_y: {}, h_zero_input: {}, h_round: {}, h_branch: {}, h_noise: {}, h_wide: {}}
  activation: {relu: {}}
  depth: 2
  width: [8, 512]
"""


def test_every_hostile_case_same_verdict_in_fresh_processes(tmp_path: Path) -> None:
    """Each case (and h_wide at 256-vs-512) certified in REPEATS fresh processes, each with its own global RNG
    state: every process refuses every corner but h_wide at width 8, with the same text."""
    runs = _certify_in_fresh_processes(SPACE, tmp_path)
    assert {code for code, _ in runs} == {1} and len({out for _, out in runs}) == 1, runs
    out = runs[0][1]
    for needle in HOSTILE_BLOCKS.values():
        assert needle in out
    assert "1 of 14 corners" in out and "ok    gd constant h_wide relu depth=2 width=8\n" in out, out


def test_data_dependent_branch_spec_file_same_verdict_in_fresh_processes(tmp_path: Path) -> None:
    """The issue's reproducer: the branching block's spec.json gave exit codes 0,0,1,1,1,1 from run to run."""
    runs = _certify_in_fresh_processes({"block": "h_branch", "width": 8}, tmp_path)
    assert {code for code, _ in runs} == {1} and len({out for _, out in runs}) == 1
    assert "data-dependent control flow" in runs[0][1]


@pytest.mark.slow
@pytest.mark.parametrize("block", ["h_branch", "h_round", "h_zero_times", "h_y_minus_y", "h_zero_input", "h_noise"])
def test_same_file_same_verdict_in_fresh_processes(tmp_path: Path, block: str) -> None:
    runs = _certify_in_fresh_processes({"block": block, "width": 8}, tmp_path)
    assert {code for code, _ in runs} == {1}
    assert len({out for _, out in runs}) == 1  # the same text, word for word
    assert HOSTILE_BLOCKS[block] in runs[0][1]


@pytest.mark.slow
def test_wide_block_same_verdict_in_fresh_processes(tmp_path: Path) -> None:
    runs = _certify_in_fresh_processes({"block": "h_wide", "width": 512}, tmp_path)
    assert {code for code, _ in runs} == {1} and len({out for _, out in runs}) == 1
