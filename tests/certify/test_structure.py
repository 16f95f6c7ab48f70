"""The two-layer structure of T is verified from the module's forward, not taken from its declaration."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import torch
from torch import nn

import optnas
from optnas import activations, blocks
from optnas.certify.structure import verify

SHAPES = {"vector": (3,), "image": (3, 8, 8), "token": (5, 4), "signal": optnas.Signal(3, 12)}


def _structure(spec: optnas.ArchSpec, shape: tuple[int, ...] | None = None) -> optnas.Condition:
    return next(c for c in optnas.certify(spec, input_shape=shape).conditions if c.name == "two_layer_structure")


@pytest.mark.parametrize("block", blocks.names())
@pytest.mark.parametrize("activation", ["relu", "gelu", "mrepu", "tanh"])
def test_every_builtin_block_passes_on_every_input_kind(block: str, activation: str) -> None:
    for kind in sorted(blocks.get(block).inputs):
        cond = _structure(optnas.ArchSpec(block=block, activation=activation, width=8), SHAPES[kind])
        assert cond.holds, cond.detail
        assert "traced forward" in cond.detail and "→" in cond.detail and "checked by function" in cond.detail


class _Declared(nn.Module):
    """Declares W2·σ(W1·z) with the right widths; subclasses choose what forward computes."""

    def __init__(self, width: int, hidden: int, act: nn.Module) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(width, hidden), act, nn.Linear(hidden, width)

    def two_layer(self) -> tuple[nn.Module, nn.Module, nn.Module]:
        return self.fc1, self.act, self.fc2

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(z)))


class _NoActivation(_Declared):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.fc1(z))


class _Half(_Declared):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return 0.5 * z


class _Untraceable(_Declared):
    """Data-dependent control flow (never taken on ordinary inputs): rejected, whichever branch runs."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if float(z.sum()) > 1e9:
            return z
        return self.fc2(self.act(self.fc1(z)))


class _ShapeBranch(_Declared):
    """Branches on the input's rank, not its values: torch.fx cannot trace it, the functional check passes it."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 3:
            return self.fc2(self.act(self.fc1(z))).mean(1, keepdim=True).expand_as(z)
        return self.fc2(self.act(self.fc1(z)))


class _UntraceableFake(_Declared):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if float(z.sum()) > 1e9:
            return z
        return self.fc2(self.fc1(z)) + 0 * self.act(z)


@pytest.fixture
def user_block() -> Iterator[Callable[[type[nn.Module]], str]]:
    made: list[str] = []

    def register(module: type[nn.Module]) -> str:
        name = f"user_{module.__name__.lower().strip('_')}"

        @blocks.register(name, overwrite=True)
        class UserBlock(blocks.Block):
            inputs = frozenset({"vector"})
            structure = "T(z) = W2·σ(W1·z + b1) + b2  (declared)"

            def make(self, width: int, act: nn.Module, kind: str) -> nn.Module:
                return module(width, self.hidden_width(width), act)

        made.append(name)
        return name

    yield register
    for name in made:
        blocks.unregister(name)


@pytest.mark.parametrize(
    ("module", "needle"),
    [
        (_NoActivation, "never applies the declared σ (act)"),
        (_Half, "never applies the declared W1 (fc1)"),
        (_UntraceableFake, "reads the data into Python (Tensor.__float__): data-dependent control flow"),
        (_Untraceable, "reads the data into Python (Tensor.__float__): data-dependent control flow"),
    ],
)
def test_fakes_that_declare_the_structure_are_rejected(user_block, module, needle) -> None:
    cert = optnas.certify(optnas.ArchSpec(block=user_block(module), width=6), input_shape=(2,))
    cond = next(c for c in cert.conditions if c.name == "two_layer_structure")
    assert not cert.ok and not cond.holds
    assert needle in cond.detail, cond.detail


def test_untraceable_forward_without_data_dependence_is_checked_by_function(user_block) -> None:
    cond = _structure(optnas.ArchSpec(block=user_block(_ShapeBranch), width=6), (2,))
    assert cond.holds, cond.detail
    assert "checked by function" in cond.detail and "forward not traceable" in cond.detail


def test_instance_forward_replaced_runs_the_data_path_check() -> None:
    module = _Declared(4, 8, nn.ReLU())
    module.forward = lambda z: 0.5 * z  # type: ignore[method-assign]
    ok, detail = verify(module, nn.ReLU(), hidden=8, kind="vector")
    assert not ok and "never applies the declared W1" in detail


def test_widths_activation_and_layer_types_are_checked() -> None:
    relu = nn.ReLU()
    assert verify(_Declared(4, 8, relu), relu, hidden=8, kind="vector")[0]
    ok, detail = verify(_Declared(4, 8, relu), relu, hidden=16, kind="vector")
    assert not ok and "hidden widths disagree" in detail
    ok, detail = verify(_Declared(4, 8, nn.Tanh()), relu, hidden=8, kind="vector")
    assert not ok and "is not the spec's activation" in detail
    bad = _Declared(4, 8, relu)
    bad.fc1 = nn.Sequential(nn.Linear(4, 8))  # type: ignore[assignment]
    ok, detail = verify(bad, relu, hidden=8, kind="vector")
    assert not ok and "W1 = Sequential is not a linear or convolution layer" in detail


def test_a_norm_between_w1_and_sigma_folds_into_w1_but_not_between_sigma_and_w2() -> None:
    class NormAfter(_Declared):
        def __init__(self, width: int, hidden: int, act: nn.Module) -> None:
            super().__init__(width, hidden, act)
            self.norm = nn.LayerNorm(hidden)

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return self.fc2(self.norm(self.act(self.fc1(z))))

    ok, detail = verify(NormAfter(4, 8, nn.ReLU()), nn.ReLU(), hidden=8, kind="vector")
    assert not ok and "W2's input is not σ's output" in detail


def test_user_activation_passes_with_its_own_module(user_block) -> None:
    @activations.register("softsign_test", polynomial=False, overwrite=True)
    def softsign(z: torch.Tensor) -> torch.Tensor:
        return z / (1 + z.abs())

    try:
        cond = _structure(optnas.ArchSpec(block=user_block(_Declared), activation="softsign_test", width=6), (2,))
        assert cond.holds, cond.detail
    finally:
        activations.unregister("softsign_test")


def test_certify_leaves_the_global_rng_alone():
    """build certifies; its structure probe must not move torch's RNG, cached or not (seeded runs reproduce)."""
    import torch

    import optnas
    from optnas.certify import structure

    spec = optnas.ArchSpec(algorithm="gd", block="mlp2", activation="gelu", depth=2, width=9)
    structure._CACHE.clear()
    for _ in range(2):  # the first call runs the probe, the second hits the cache
        torch.manual_seed(0)
        optnas.certify(spec, input_shape=(4,))
        assert torch.equal(torch.rand(3), torch.manual_seed(0) and torch.rand(3))


def test_polynomial_activation_with_a_large_output_keeps_its_w2_dependence() -> None:
    """MRePU's squares make T's output ~1e5 on the probe inputs of a second stage (16 channels, 20 samples):
    d(out)/d(W2 out) is ~1 there, which out's scale alone (1e-5 x 1e5) once called 'no dependence'."""
    spec = optnas.ArchSpec(algorithm="gd", block="preact_conv", block_params={"hidden": 16, "kernel": 3},
                           activation="mrepu", activation_params={"p": 2}, depth=2, width=16, stages=2)
    cert = optnas.certify(spec, input_shape=optnas.Signal(1, 40))
    assert cert.ok, [c.detail for c in cert.conditions if not c.holds]
