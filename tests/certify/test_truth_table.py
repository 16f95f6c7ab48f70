"""The certificate's verdicts on the cases THEORY.md fixes, and on user extensions."""

import pytest
import torch

import optnas
from optnas import ArchSpec, algorithms, certify
from optnas.algorithms import LinearMultistep


def cond(cert, name):
    return next(c for c in cert.conditions if c.name == name)


@pytest.mark.parametrize(
    ("algorithm", "params", "ok"),
    [
        ("heavy_ball", {"beta": 0.9}, True),
        ("heavy_ball", {"beta": 1.0}, False),
        ("heavy_ball", {"beta": -1.0}, True),
        ("lm_resnet", {"k": 1.0}, True),
        ("lm_resnet", {"k": -1.0}, False),
        ("lm_resnet", {"k": -0.99}, True),
        ("nesterov", {"beta": 0.9}, True),
        ("nesterov", {"beta": 1.0}, False),
        ("ladmm", {"rho": 1.0}, True),
        ("ladmm", {"rho": 40.0}, False),
    ],
)
def test_truth_table(algorithm, params, ok):
    cert = certify(ArchSpec(algorithm=algorithm, algorithm_params=params, depth=8))
    assert cert.ok is ok
    assert cond(cert, "zero_stability").holds is ok


@pytest.mark.parametrize("name", algorithms.names())
def test_every_builtin_default_is_certified(name):
    cert = certify(ArchSpec(algorithm=name, depth=12))
    assert cert.ok, cert.format()


def test_heavy_ball_beta_one_reason():
    cert = certify(ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 1.0}))
    assert "repeated" in cond(cert, "zero_stability").detail
    with pytest.raises(optnas.UncertifiedArchitecture, match="zero_stability"):
        optnas.build(ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 1.0}, width=8), (2,), 2)
    assert isinstance(optnas.UncertifiedArchitecture.__mro__[1](), ValueError)


def test_uncertified_build_allowed_on_request():
    spec = ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 1.0}, width=8, depth=3)
    net = optnas.build(spec, (2,), 2, allow_uncertified=True)
    assert not net.certificate.ok
    assert net(torch.randn(4, 2)).shape == (4, 2)


def test_user_algorithm_with_root_outside_unit_disc_rejected():
    @algorithms.register("unstable_test")
    class Unstable(LinearMultistep):
        """x+ = 2.5x − 1.5x− + h·T(x): rho has the root 1.5."""

        a = (2.5, -1.5)

    try:
        cert = certify(ArchSpec(algorithm="unstable_test", depth=6))
        assert not cert.ok
        zs = cond(cert, "zero_stability")
        assert not zs.holds and "1.5" in zs.detail and "outside the unit disc" in zs.detail
    finally:
        algorithms.unregister("unstable_test")


def test_user_zero_stable_algorithm_accepted():
    @algorithms.register("ab_like_test")
    class Stable(LinearMultistep):
        a = (0.5, 0.5)  # rho = (ζ − 1)(ζ + 1/2)
        b = (1.0,)

    try:
        assert certify(ArchSpec(algorithm="ab_like_test", depth=6)).ok
    finally:
        algorithms.unregister("ab_like_test")


def test_user_polynomial_activation_rejected():
    @optnas.activations.register("square_test")
    def square(z):
        return z * z

    try:
        cert = certify(ArchSpec(activation="square_test"))
        act = cond(cert, "activation")
        assert not act.holds and "polynomial" in act.detail and "probed" in act.detail
    finally:
        optnas.activations.unregister("square_test")


def test_declared_polynomial_rejected():
    cert = certify(ArchSpec(activation="leaky_relu", activation_params={"negative_slope": 1.0}))
    assert not cond(cert, "activation").holds


@pytest.mark.parametrize("seed", range(5))
def test_dense_certified_for_any_learnable_weights(seed):
    spec = ArchSpec(algorithm="dense", depth=6, width=8)
    assert certify(spec).ok
    net = optnas.build(spec, (3,), 2)
    g = torch.Generator().manual_seed(seed)
    stage = net.stages[0]
    for p in stage.mix_logits:
        p.data = 10 * torch.randn(p.shape, generator=g)
    # the product of the actual (learned) companion matrices stays bounded: row-stochastic
    import numpy as np

    m = 7
    prod = np.eye(m)
    for k, logits in enumerate(stage.mix_logits):
        a = np.zeros((m, m))
        a[0, : k + 1] = torch.softmax(logits, 0).detach().numpy()
        a[1:, :-1] = np.eye(m - 1)
        assert np.allclose(a.sum(1), 1.0, atol=1e-6)
        prod = a @ prod
        assert np.abs(prod).sum(1).max() <= 1 + 1e-6  # float32 softmax


def test_width_lift():
    assert cond(certify(ArchSpec(width=3), input_shape=(2,)), "width_lift").holds
    assert not cond(certify(ArchSpec(width=2), input_shape=(2,)), "width_lift").holds
    assert not cond(certify(ArchSpec(stem="none")), "width_lift").holds


def test_implicit_contraction():
    ok = certify(ArchSpec(algorithm="proximal_point", depth=8))
    assert cond(ok, "contraction").holds and "spectrally" in cond(ok, "contraction").detail
    big = certify(ArchSpec(algorithm="proximal_point", depth=1, schedule_params={"horizon": 3.0}))
    assert not cond(big, "contraction").holds


def test_time_varying_is_labelled_numerical():
    z = cond(certify(ArchSpec(algorithm="nesterov", depth=10)), "zero_stability")
    assert z.numerical and "depth" in z.detail
    assert cond(certify(ArchSpec(algorithm="apg2", depth=10)), "zero_stability").detail.find("bounded") >= 0


def test_learnable_schedule():
    cert = certify(ArchSpec(algorithm="adams_bashforth2", schedule="learnable", depth=8))
    assert cert.ok and "by construction" in cond(cert, "step_sizes").detail


def test_user_block_without_two_layer_structure_rejected():
    from optnas import blocks

    @blocks.register("linear_test")
    class LinearOnly(blocks.Block):
        def make(self, width, act, kind):
            return torch.nn.Linear(width, width)

    try:
        assert not cond(certify(ArchSpec(block="linear_test")), "two_layer_structure").holds
    finally:
        blocks.unregister("linear_test")


def test_certificate_json_round_trip():
    cert = certify(ArchSpec(algorithm="apg2"))
    again = optnas.Certificate.from_dict(cert.to_dict())
    assert again.ok == cert.ok and again.conditions == cert.conditions


@pytest.mark.parametrize(
    ("algorithm", "params", "expected"),
    [
        # effective step of a consistent multistep scheme: h·σ(1)/ρ'(1) (textbook)
        ("gd", {}, 1.0),
        ("heavy_ball", {"beta": 0.9}, 1 / (1 - 0.9)),
        ("heavy_ball", {"beta": -0.5}, 1 / (1 + 0.5)),
        ("lm_resnet", {"k": 0.5}, 1 / (1 + 0.5)),
        ("adams_bashforth2", {}, 1.0),  # σ(1) = 3/2 − 1/2 = 1, ρ'(1) = 1
        ("bdf2", {}, 1.0),  # σ(1) = 2/3, ρ'(1) = 2 − 4/3 = 2/3
    ],
)
def test_effective_step_matches_closed_form(algorithm, params, expected):
    from optnas.certify.stability import drift

    alg = algorithms.get(algorithm, **params)
    h, depth = 0.1, 6
    layer = alg.layer(depth - 1, depth)  # past the start-up layers
    a, b, c = algorithms.linear_part(layer, h)
    assert drift(a, b, c, alg.equilibrium(depth)).step == pytest.approx(h * expected, rel=1e-12)


def test_apg2_bounded_products_and_nesterov_linear_growth():
    """APG2 keeps ||A_k···A_j|| <= sqrt(2); Nesterov's (x, x−) form grows linearly (about j/2) [ours]."""
    from optnas.certify.stability import max_product_norm

    def norms(name, depth):
        alg = algorithms.get(name)
        return max_product_norm([algorithms.linear_part(layer, 0.1).a for layer in alg.layers(depth)])

    assert norms("apg2", 64) == pytest.approx(2**0.5, rel=1e-9)
    n32, n128 = norms("nesterov", 32), norms("nesterov", 128)
    assert 3.0 < n128 / n32 < 4.5  # linear, not exponential, growth


def test_ladmm_linear_part_claims():
    """docs/certificate.md: rho·h = 1 puts a double eigenvalue at 0; rho = 2, h = 1 a Jordan block at 1."""
    import numpy as np

    from optnas.certify.stability import power_bounded

    a = algorithms.linear_part(algorithms.get("ladmm", rho=1.0).layer(0, 4), 1.0).a
    assert sorted(np.round(np.abs(np.linalg.eigvals(a)), 9)) == [0.0, 0.0, 1.0]
    assert power_bounded(a)[0]
    a = algorithms.linear_part(algorithms.get("ladmm", rho=2.0).layer(0, 4), 1.0).a
    ok, detail = power_bounded(a)
    assert not ok and "repeated" in detail
    assert np.linalg.norm(np.linalg.matrix_power(a, 200)) > 1e3
