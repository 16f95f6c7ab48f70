"""Blocks registry: the learnable modules T, with the facts the certificate checks.

``get(name, **params)`` returns a `Block` (validated configuration); ``block.build(width, act, kind)``
makes the module for a state of ``width`` features/channels of input kind "vector", "image", "token" or
"signal" (conv blocks run their 1-D form on signals).

Example:
    >>> from optnas import blocks
    >>> sorted(blocks.get("mlp2", hidden=32).inputs)
    ['image', 'signal', 'token', 'vector']
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from . import _validate
from ._registry import Registry
from ._shapes import SPATIAL_DIMS
from .nn.blocks import MLP2, ConvNeXt, PreActConv, Transformer

__all__ = ["Block", "describe", "entry", "get", "names", "ranges", "register", "version"]

KINDS = ("vector", "image", "token", "signal")


def _positive_int(block: str, name: str, value: Any) -> int:
    return _validate.integer(f"block {block} {name}", value, 1)


class Block:
    """A validated block configuration. Subclasses set `inputs`, `structure` and implement `make`.

    ``hidden`` is T's hidden width (fixed, independent of the depth: THEORY.md §1). ``None`` means the
    block's default multiple of the state width.
    """

    inputs: ClassVar[frozenset[str]] = frozenset(KINDS)
    structure: ClassVar[str] = ""  # where W2·σ(W1·z + b) sits inside T
    hidden_multiple: ClassVar[int] = 1
    contraction_note: ClassVar[str] = ""  # how `contractive` enforces the `lipschitz` bound (certificate detail)

    def __init__(self, hidden: int | None = None, **params: Any) -> None:
        self.name = type(self).__name__
        self.hidden = None if hidden is None else _positive_int(self.name, "hidden", hidden)
        self.params = {"hidden": hidden, **params} if hidden is not None else dict(params)

    def hidden_width(self, width: int) -> int:
        return self.hidden if self.hidden is not None else self.hidden_multiple * width

    def build(self, width: int, act: nn.Module, kind: str) -> nn.Module:
        if kind not in self.inputs:
            raise ValueError(
                f"block {self.name} does not apply to {kind} inputs; it takes: {', '.join(sorted(self.inputs))}"
            )
        return self.make(width, act, kind)

    def make(self, width: int, act: nn.Module, kind: str) -> nn.Module:
        raise NotImplementedError

    def lipschitz(self, lip_sigma: float) -> float | str:
        """A bound on Lip(T) that `contractive` guarantees for every parameter value, or why none exists.

        Implicit networks need it (x+ = u + c·T(x+) is solved by fixed-point iteration, which converges
        when c·Lip(T) < 1). A user block that can be implicit overrides this and `contractive`.
        """
        return (f"block {self.name} declares no Lipschitz bound for T (override Block.lipschitz and "
                "Block.contractive to make it usable in implicit networks)")

    def contractive(self, width: int, act: nn.Module, kind: str, spatial: tuple[int, ...] | None) -> nn.Module:
        """T built so that its Lipschitz constant stays below `lipschitz` (``spatial``: H×W of images, (L,) of
        signals)."""
        raise NotImplementedError(f"block {self.name} has no contractive construction")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"


_REGISTRY: Registry[type[Block]] = Registry("block")
names, get, entry, register, unregister = _REGISTRY.public()
version = _REGISTRY.version  # changes at each (re)registration: what caches of an entry key on
describe = _REGISTRY.describe
ranges = _REGISTRY.ranges
_HIDDEN = "integers >= 1 (None: the block's multiple of the state width)"


@register("mlp2", params={"hidden": _HIDDEN, "norm": "true or false"})
class MLP2Block(Block):
    """W2·σ(W1·z + b1) + b2 with an optional norm first; on images and signals it acts on every position's
    channels."""

    structure = "T(z) = W2·σ(W1·norm(z) + b1) + b2"
    contraction_note = "W1, W2 spectrally normalized: Lip(T) <= Lip(σ)"

    def __init__(self, hidden: int | None = None, norm: bool = False) -> None:
        _validate.boolean("block mlp2 norm", norm)
        super().__init__(hidden, norm=norm)
        self.norm = norm

    def make(self, width: int, act: nn.Module, kind: str) -> nn.Module:
        return MLP2(width, self.hidden_width(width), act, norm=self.norm, dims=SPATIAL_DIMS[kind])

    def lipschitz(self, lip_sigma: float) -> float | str:
        if self.norm:
            return _PER_SAMPLE_NORM.format(norm="LayerNorm/GroupNorm", block="mlp2 norm=true")
        return lip_sigma  # ‖W2‖ = ‖W1‖ = 1

    def contractive(self, width: int, act: nn.Module, kind: str, spatial: tuple[int, ...] | None) -> nn.Module:
        t = self.build(width, act, kind)
        # W1, W2 are Linear maps or 1×1 convs (the same matrix at every pixel): the spectral norm of the
        # weight matrix is the operator norm, exactly
        first, _, second = t.two_layer()  # type: ignore[operator]
        spectral_norm(first)
        spectral_norm(second)
        return t


@register("preact_conv", params={"hidden": _HIDDEN, "kernel": "odd integers >= 1"})
class PreActConvBlock(Block):
    """BN-σ-Conv-BN-σ-Conv (pre-activation ResNet block); Conv1d on signals."""

    inputs = frozenset({"image", "signal"})
    structure = "T(z) = Conv2(σ(BN2(Conv1(σ(BN1(z))))))  [W1 = BN2∘Conv1, W2 = Conv2]"
    contraction_note = (
        "convs divided by their operator norm at the stage's H×W (L for signals), BatchNorm gains capped at 1 "
        "(eval mode: running statistics): Lip(T) <= Lip(σ)²"
    )

    def __init__(self, hidden: int | None = None, kernel: int = 3) -> None:
        super().__init__(hidden, kernel=kernel)
        self.kernel = _positive_int("preact_conv", "kernel", kernel)
        if kernel % 2 == 0:
            raise ValueError(f"block preact_conv kernel={kernel} is invalid: it must be odd")

    def make(self, width: int, act: nn.Module, kind: str) -> nn.Module:
        return PreActConv(width, self.hidden_width(width), act, self.kernel, dims=SPATIAL_DIMS[kind])

    def lipschitz(self, lip_sigma: float) -> float | str:
        return lip_sigma**2  # two activations; convs at operator norm 1, BatchNorm gains <= 1 (eval mode)

    def contractive(self, width: int, act: nn.Module, kind: str, spatial: tuple[int, ...] | None) -> nn.Module:
        if spatial is None:
            raise ValueError("block preact_conv needs the image size (signal length) to normalize its convolutions")
        return PreActConv(width, self.hidden_width(width), act, self.kernel, spatial=spatial, dims=len(spatial))


@register("convnext", params={"hidden": _HIDDEN, "kernel": "odd integers >= 1", "layer_scale": ">= 0"})
class ConvNeXtBlock(Block):
    """Depthwise conv, LayerNorm, inverted MLP (4× hidden by default), layer scale; Conv1d on signals."""

    inputs = frozenset({"image", "signal"})
    structure = "T(z) = γ·PW2(σ(PW1(LN(DWConv(z)))))  [W1 = PW1∘LN∘DWConv, W2 = γ·PW2]"
    hidden_multiple = 4

    def __init__(self, hidden: int | None = None, kernel: int = 7, layer_scale: float = 1e-6) -> None:
        super().__init__(hidden, kernel=kernel, layer_scale=layer_scale)
        self.kernel = _positive_int("convnext", "kernel", kernel)
        if kernel % 2 == 0:
            raise ValueError(f"block convnext kernel={kernel} is invalid: it must be odd")
        self.layer_scale = _validate.number("block convnext layer_scale", layer_scale, 0)

    def make(self, width: int, act: nn.Module, kind: str) -> nn.Module:
        return ConvNeXt(width, self.hidden_width(width), act, self.kernel, self.layer_scale, dims=SPATIAL_DIMS[kind])

    def lipschitz(self, lip_sigma: float) -> float | str:
        return _PER_SAMPLE_NORM.format(norm="LayerNorm", block="convnext")


@register("transformer", params={"hidden": _HIDDEN, "heads": "integers >= 1 dividing the width"})
class TransformerBlock(Block):
    """Attention, then an MLP on z + Attn(z) (pre-norm)."""

    inputs = frozenset({"token"})
    structure = "T(z) = a + W2·σ(W1·LN(z + a) + b1) + b2,  a = Attn(LN(z))"
    hidden_multiple = 4

    def __init__(self, hidden: int | None = None, heads: int = 4) -> None:
        super().__init__(hidden, heads=heads)
        self.heads = _positive_int("transformer", "heads", heads)

    def make(self, width: int, act: nn.Module, kind: str) -> nn.Module:
        if width % self.heads:
            raise ValueError(f"block transformer heads={self.heads} is invalid: it must divide width={width}")
        return Transformer(width, self.hidden_width(width), act, self.heads)

    def lipschitz(self, lip_sigma: float) -> float | str:
        return ("block transformer: softmax attention is not globally Lipschitz (Kim, Papamakarios & Mnih, "
                "ICML 2021), so no step size makes x -> u + c·T(x) a contraction")


# Per-sample normalization divides by the sample's own standard deviation: near a constant input its
# Lipschitz constant is max|γ|/√eps, and γ is learnable, so no bound holds for every parameter value.
_PER_SAMPLE_NORM = (
    "block {block}: its {norm} normalizes each sample by its own statistics (Lipschitz constant "
    "max|γ|/√eps, unbounded as γ learns), so no bound on Lip(T) makes x -> u + c·T(x) a contraction"
)
