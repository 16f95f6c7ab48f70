"""Activations against closed forms: values, autograd derivatives, MRePU's minimum, certificate facts."""

import math

import pytest
import torch

import optnas
from optnas import activations

Z = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.5], dtype=torch.float64)


def _value_and_grad(name, z, **params):
    z = z.clone().requires_grad_(True)
    y = activations.get(name, **params)(z)
    (g,) = torch.autograd.grad(y.sum(), z)
    return y.detach(), g


@pytest.mark.parametrize("p", [1, 2, 3, 4])
def test_repu_closed_form(p):
    y, g = _value_and_grad("repu", Z, p=p)
    expected = torch.clamp(Z, min=0) ** p
    slope = p * torch.clamp(Z, min=0) ** (p - 1) * (Z > 0)
    torch.testing.assert_close(y, expected)
    torch.testing.assert_close(g, slope)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_mrepu_closed_form(p):
    y, g = _value_and_grad("mrepu", Z, p=p)
    inside = Z >= -1
    expected = torch.where(inside, Z * (Z + 1) ** p, torch.zeros_like(Z))
    derivative = torch.where(inside, (Z + 1) ** (p - 1) * ((p + 1) * Z + 1), torch.zeros_like(Z))
    torch.testing.assert_close(y, expected)
    torch.testing.assert_close(g, derivative)


@pytest.mark.parametrize("p", [1, 2, 3, 5])
def test_mrepu_minimum(p):
    z_min = -1.0 / (p + 1)
    value, grad = _value_and_grad("mrepu", torch.tensor([z_min], dtype=torch.float64), p=p)
    assert value.item() == pytest.approx(-(1 / (p + 1)) * (p / (p + 1)) ** p, rel=1e-12)
    assert grad.item() == pytest.approx(0.0, abs=1e-12)
    grid = torch.linspace(-3, 3, 60001, dtype=torch.float64)
    assert activations.get("mrepu", p=p)(grid).min().item() >= value.item() - 1e-12


def test_mrepu_at_zero():
    value, grad = _value_and_grad("mrepu", torch.zeros(1, dtype=torch.float64), p=2)
    assert value.item() == 0.0 and grad.item() == 1.0


@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("relu", torch.relu),
        ("gelu", torch.nn.functional.gelu),
        ("silu", lambda z: z * torch.sigmoid(z)),
        ("sigmoid", torch.sigmoid),
        ("tanh", torch.tanh),
        ("softplus", lambda z: torch.log1p(torch.exp(z))),
    ],
)
def test_standard_activations(name, fn):
    torch.testing.assert_close(activations.get(name)(Z), fn(Z))


def test_leaky_relu_slope():
    torch.testing.assert_close(activations.get("leaky_relu", negative_slope=0.2)(Z), torch.where(Z > 0, Z, 0.2 * Z))


@pytest.mark.parametrize("name", activations.names())
def test_declared_facts_agree_with_probe(name):
    declared = activations.info(name)
    probed = activations.probe_info(activations.get(name))
    assert declared.polynomial == probed.polynomial is False
    assert probed.locally_lipschitz


def test_smoothness_orders():
    assert activations.info("repu", p=3).smoothness == 2
    assert activations.info("mrepu", p=2).smoothness == 1
    assert math.isinf(activations.info("gelu").smoothness)
    assert activations.info("repu", p=2).lipschitz is None  # not globally Lipschitz


@pytest.mark.parametrize("p", [0, -1, 1.5, "2", True])
def test_invalid_power(p):
    with pytest.raises(ValueError, match=r"p=.* must be an integer >= 1"):
        activations.get("repu", p=p)


def test_unknown_name_lists_valid():
    with pytest.raises(ValueError, match="valid names: .*mrepu.*relu"):
        activations.get("swish2")


def test_public_classes():
    assert isinstance(optnas.activations.RePU(2), torch.nn.Module)
    assert optnas.activations.MRePU(3)(torch.tensor([1.0])).item() == 8.0


def test_user_polynomial_probed():
    @activations.register("cube_test")
    def cube(z):
        return z**3 - z

    try:
        assert activations.info("cube_test").polynomial is True
        assert activations.info("cube_test").probed is True
    finally:
        activations.unregister("cube_test")


class _Slope2(torch.nn.Module):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return 2 * torch.tanh(z)  # sup|σ'| = 2, at 0


def test_a_new_declaration_is_probed_again():
    """Re-registering a name answers with the new declaration's facts, never the old probe's (the probes were
    keyed by the entry's id(), which a re-registered class keeps and a freed wrapper passes on)."""
    activations.register("slope2", lipschitz=2.0, polynomial=False)(_Slope2)
    try:
        assert activations.info("slope2").lipschitz == 2.0
        activations.register("slope2", lipschitz=1.0, polynomial=False, overwrite=True)(_Slope2)
        with pytest.raises(ValueError, match=r"declared lipschitz=1 but its slope reaches 2"):
            activations.info("slope2")
        activations.register("slope2", lipschitz=3.0, polynomial=False, overwrite=True)(_Slope2)
        assert activations.info("slope2").lipschitz == 3.0
    finally:
        activations.unregister("slope2")
