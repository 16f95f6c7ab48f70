"""One tolerance policy for every eigenvalue test (optnas.certify.stability), against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from optnas import ArchSpec, algorithms, certify
from optnas.algorithms import LinearMultistep
from optnas.certify.stability import EIG_TOL, power_bounded, spectrum


def cond(cert, name):
    return next(c for c in cert.conditions if c.name == name)


CERTIFIED_BETAS = [-1.0, -0.5, 0.0, 0.5, 0.9, 0.99, 0.9999, 1 - 1e-5, 1 - 1e-6, 1 - 5e-7]


@pytest.mark.parametrize("beta", CERTIFIED_BETAS)
def test_heavy_ball_certified_up_to_what_double_precision_resolves(beta):
    spec = ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": beta}, depth=8)
    cert = certify(spec)
    assert cert.ok, cert.format()
    # rho(ζ) = (ζ − 1)(ζ − β): the spectrum of every layer is {1, β} (closed form)
    a = algorithms.linear_part(algorithms.get("heavy_ball", beta=beta).layer(3, 8), 1 / 8).a
    values = sorted(c.value.real for c in spectrum(a).clusters)
    assert values == pytest.approx(sorted([1.0, beta]), abs=1e-9)
    # effective step h·σ(1)/ρ'(1) = h/(1 − β) (textbook), printed by consistency
    detail = cond(cert, "consistency").detail
    assert f"{(1 / 8) / (1 - beta):.4g}" in detail


def test_heavy_ball_beta_one_rejected_by_both_conditions():
    cert = certify(ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 1.0}, depth=8))
    assert not cert.ok
    assert not cond(cert, "zero_stability").holds and "repeated" in cond(cert, "zero_stability").detail
    assert not cond(cert, "consistency").holds and "not simple" in cond(cert, "consistency").detail


@pytest.mark.parametrize("k", range(1, 17))
def test_consistency_and_zero_stability_never_contradict(k):
    """β = 1 − 10^−k: both say 'simple' or both say 'repeated' (heavy ball 0.9999 once got one of each)."""
    beta = 1 - 10.0**-k
    cert = certify(ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": beta}, depth=8))
    c, z = cond(cert, "consistency"), cond(cert, "zero_stability")
    assert c.holds == z.holds, (c.detail, z.detail)
    a = algorithms.linear_part(algorithms.get("heavy_ball", beta=beta).layer(3, 8), 1 / 8).a
    tol = EIG_TOL * max(1.0, float(np.linalg.norm(a, 2)))
    assert z.holds == (1 - beta > tol)  # the documented policy, and nothing else


def test_jordan_blocks_and_semisimple_repeated_roots():
    # (ζ − 1)³: a triple root, one eigenvector: rejected (LAPACK would split it by ~6e-6)
    class Triple(LinearMultistep):
        a = (3.0, -3.0, 1.0)

    assert not power_bounded(algorithms.linear_part(Triple().layer(5, 8), 0.1).a)[0]
    # a repeated unit eigenvalue with independent eigenvectors is power-bounded
    ok, detail = power_bounded(np.diag([1.0, 1.0, -1.0, 0.5]))
    assert ok and "1 (×2)" in detail
    # a root just outside the disc is outside, one on the circle is on it
    assert not power_bounded(np.array([[1.0 + 1e-6]]))[0]
    assert power_bounded(np.array([[-1.0]]))[0]


def test_multistep_roots_match_rho():
    """BDF2: ρ(ζ) = (ζ − 1)(ζ − 1/3); lm_resnet k: (ζ − 1)(ζ + k)."""
    a = algorithms.linear_part(algorithms.get("bdf2").layer(3, 6), 0.1).a
    assert sorted(c.value.real for c in spectrum(a).clusters) == pytest.approx([1 / 3, 1.0], abs=1e-12)
    a = algorithms.linear_part(algorithms.get("lm_resnet", k=0.7).layer(3, 6), 0.1).a
    assert sorted(c.value.real for c in spectrum(a).clusters) == pytest.approx([-0.7, 1.0], abs=1e-12)
