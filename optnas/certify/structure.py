"""The two-layer structure of T, verified from the module itself rather than taken from its declaration.

The theorem needs T to contain W2·σ(W1·z + b) with a fixed hidden width (THEORY.md §1). A block names the
three pieces with ``two_layer() -> (W1, σ, W2)``; this module checks that its ``forward`` really computes
them in that order on the data path:

1. W1 and W2 are linear maps (``nn.Linear`` or a convolution) and W1's output width equals W2's input
   width, which is the block's hidden width (set by its configuration, never by the depth);
2. σ is the declared activation (same module type and parameters as the spec's activation);
3. in ``forward``'s traced graph (``torch.fx``, with W1, σ and W2 kept as leaves) W2 is applied to σ's
   output, σ to W1's output (an affine normalization may sit between, as BN2 in the pre-activation block:
   it folds into W1), W1 sees the input and W2's output reaches T's output.

When ``forward`` cannot be traced (data-dependent control flow), the same facts are checked on one real
forward pass with hooks: W2's input is σ's output, σ's input depends on W1's output (autograd), and T's
output depends on W2's output. The detail says which check ran.

Example:
    >>> from torch import nn
    >>> from optnas.certify.structure import verify
    >>> class Fake(nn.Module):  # declares W2·σ(W1·z) but computes W2·W1·z
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1, self.act, self.fc2 = nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4)
    ...     def two_layer(self):
    ...         return self.fc1, self.act, self.fc2
    ...     def forward(self, z):
    ...         return self.fc2(self.fc1(z))
    >>> verify(Fake(), nn.ReLU(), hidden=8, kind="vector")[0]
    False
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import fx, nn

from .. import activations, blocks
from .._shapes import input_kind, state_features
from ..nn.io import downsampled
from . import probe
from .certificate import Condition

__all__ = ["check_block", "verify"]

LINEAR = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
# modules that may sit between W1 and σ: affine maps per feature/channel (at inference), so W1' = N∘W1
AFFINE_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)
PASS_THROUGH = (nn.Identity, nn.Dropout)


def _width(layer: nn.Module, side: str) -> int | None:
    if isinstance(layer, nn.Linear):
        return layer.in_features if side == "in" else layer.out_features
    if isinstance(layer, LINEAR[1:]):
        return layer.in_channels if side == "in" else layer.out_channels
    return None


class _Tracer(fx.Tracer):
    """torch.fx's tracer with the declared W1, σ, W2 kept as single calls (leaves)."""

    def __init__(self, leaves: tuple[nn.Module, ...]) -> None:
        super().__init__()
        self.leaves = {id(m) for m in leaves}

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        # norms and pass-throughs stay single calls too, subclasses included (GainCappedBatchNorm2d of an
        # implicit preact_conv), so the graph check can walk over them
        return (id(m) in self.leaves or isinstance(m, AFFINE_NORMS + PASS_THROUGH)
                or super().is_leaf_module(m, module_qualified_name))


def verify(
    module: nn.Module, activation: nn.Module, *, hidden: int, kind: str, shape: tuple[int, ...] | None = None
) -> tuple[bool, str]:
    """(holds, detail): does ``module`` compute W2·σ(W1·z) as its ``two_layer()`` declares?

    ``activation`` is the spec's activation module, ``hidden`` the block's hidden width at this state
    width, ``kind`` the input kind ("vector", "image", "token", "signal") and ``shape`` one input (batch
    excluded; default: the state width with 6×6 pixels, 3 tokens or 6 samples). The declaration is checked,
    then T by function (`optnas.certify.probe`), then, where ``forward`` can be traced, its graph.
    """
    declared = getattr(module, "two_layer", None)
    if not callable(declared):
        return False, f"{type(module).__name__} has no two_layer() method naming (W1, σ, W2)"
    try:
        first, act, second = declared()
    except (TypeError, ValueError) as exc:
        return False, f"two_layer() must return (W1, σ, W2): {exc}"
    for role, layer in (("W1", first), ("W2", second)):
        if not isinstance(layer, LINEAR):
            return False, f"{role} = {type(layer).__name__} is not a linear or convolution layer"
    w1_out, w2_in = _width(first, "out"), _width(second, "in")
    if not w1_out == w2_in == hidden:
        return False, f"hidden widths disagree: W1 gives {w1_out}, W2 takes {w2_in}, the block's is {hidden}"
    if type(act) is not type(activation) or repr(act) != repr(activation):
        return False, f"σ = {act!r} is not the spec's activation {activation!r}"
    names = {id(m): name for name, m in module.named_modules()}
    if any(id(m) not in names for m in (first, act, second)):
        return False, "two_layer() names modules that are not submodules of T"
    label = {k: names[id(m)] for k, m in (("W1", first), ("σ", act), ("W2", second))}
    width = _width(first, "in") or 1
    shape = shape or {"vector": (width,), "image": (width, 6, 6), "token": (3, width), "signal": (width, 6)}[kind]
    ok, by_function = probe.functional(module, first, act, second, tuple(shape), label)
    if not ok:
        return False, by_function
    try:
        if "forward" in vars(module):  # fx traces the class's forward, while calls run this one
            raise TypeError("forward is replaced on the instance")
        graph = _Tracer((first, act, second)).trace(module)
    except Exception as exc:  # any tracing failure (user code): the functional checks stand alone
        why = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return True, f"{label['W1']} → {label['σ']} → {label['W2']} {by_function} (forward not traceable: {why})"
    ok, why = _in_graph(graph, module, first, act, second, label)
    return ok, (f"traced forward: {why}; {by_function}" if ok else f"traced forward: {why}")


def _calls(graph: fx.Graph, root: nn.Module, target: nn.Module) -> list[fx.Node]:
    return [
        n for n in graph.nodes
        if n.op == "call_module" and root.get_submodule(str(n.target)) is target
    ]


def _source(node: Any, root: nn.Module, skip: tuple[type, ...]) -> Any:
    """The node feeding ``node``'s first input, walking back over modules of the ``skip`` types."""
    src = node.args[0] if node.args else None
    while (
        isinstance(src, fx.Node) and src.op == "call_module" and isinstance(root.get_submodule(str(src.target)), skip)
    ):
        src = src.args[0] if src.args else None
    return src


def _reaches(start: fx.Node, goal: Callable[[fx.Node], bool]) -> bool:
    seen, todo = set(), [start]
    while todo:
        n = todo.pop()
        if goal(n):
            return True
        if n not in seen:
            seen.add(n)
            todo.extend(n.users)
    return False


def _in_graph(
    graph: fx.Graph, root: nn.Module, first: nn.Module, act: nn.Module, second: nn.Module, label: dict[str, str]
) -> tuple[bool, str]:
    w1s, acts, w2s = (_calls(graph, root, m) for m in (first, act, second))
    for role, found in (("W1", w1s), ("σ", acts), ("W2", w2s)):
        if not found:
            return False, f"forward never applies the declared {role} ({label[role]})"
    for w2 in w2s:
        src = _source(w2, root, PASS_THROUGH)
        if src not in acts:
            continue
        pre = _source(src, root, PASS_THROUGH + AFFINE_NORMS)
        if pre not in w1s:
            continue
        inputs = [n for n in graph.nodes if n.op == "placeholder"]
        target: fx.Node = pre

        def is_w1(n: fx.Node, target: fx.Node = target) -> bool:
            return n is target

        if not any(_reaches(p, is_w1) for p in inputs):
            return False, f"W1 ({label['W1']}) does not see T's input"
        if not _reaches(w2, lambda n: n.op == "output"):
            return False, f"W2 ({label['W2']})'s output does not reach T's output"
        return True, f"{label['W1']} → {label['σ']} → {label['W2']} on the path from T's input to its output"
    fed = _source(w2s[0], root, PASS_THROUGH)
    what = fed.target if isinstance(fed, fx.Node) and fed.op == "call_module" else getattr(fed, "name", fed)
    return False, (
        f"W2 ({label['W2']}) is not applied to σ(W1·z): its input comes from {what}, "
        f"not from {label['σ']} applied to {label['W1']}"
    )


# T is probed at every stage's real width; wider specs are refused (the detail names the limit) rather than
# certified from a narrower copy of T, which a width-dependent block could fool.
PROBE_MAX_WIDTH = 4096
# explicit T is probed on at most 8×8 pixels / 8 tokens / 16 samples of a signal (the widths are real)
MAX_PIXELS, MAX_TOKENS, MAX_SAMPLES = 8, 8, 16
_CACHE: dict[tuple[Any, ...], tuple[bool, str]] = {}


def stage_shapes(
    spec: Any, kind: str, input_shape: tuple[int, ...] | None, implicit: bool
) -> list[tuple[int, ...]]:
    """The input shape of T (batch excluded) in each stage, at the state widths `optnas.build` uses."""
    width = spec.width if spec.stem == "lift" or input_shape is None else state_features(input_shape)
    # a shape of another kind than the block's (build refuses it with its own message): default sizes
    given = input_shape if input_shape is not None and input_kind(input_shape) == kind else None
    spatial: tuple[int, ...] = (6, 6) if kind == "image" else (6,)
    if given is not None and kind in ("image", "signal"):
        spatial = tuple(given[1:])
    tokens = min(given[0], MAX_TOKENS) if given is not None and kind == "token" else 3
    shapes: list[tuple[int, ...]] = []
    for i in range(spec.stages):
        if i:
            width, spatial = 2 * width, downsampled(spatial)
        if kind == "image":
            h, w = min(spatial[0], MAX_PIXELS), min(spatial[1], MAX_PIXELS)
            shapes.append((width, h, w))
        elif kind == "signal":
            shapes.append((width, min(spatial[0], MAX_SAMPLES)))
        else:
            shapes.append((width,) if kind == "vector" else (tokens, width))
    return shapes


def check_block(
    spec: Any, block: Any, input_shape: tuple[int, ...] | None, implicit: bool = False
) -> Condition:
    """The certificate's ``two_layer_structure`` condition: build T as `optnas.build` does (every stage's
    width; the contractive construction for implicit algorithms) and `verify` it."""
    first = next(k for k in ("vector", "token", "signal", "image") if k in block.inputs)  # the cheapest probe
    kind = input_kind(input_shape) if input_shape is not None else first
    kind = kind if kind in block.inputs else first  # build rejects the mismatch with its own message
    shapes = stage_shapes(spec, kind, input_shape, implicit)
    too_wide = [s[0 if kind != "token" else 1] for s in shapes if s[0 if kind != "token" else 1] > PROBE_MAX_WIDTH]
    if too_wide:
        return Condition("two_layer_structure", False, (
            f"state width {too_wide[0]} is above the widths the structure is checked at (<= {PROBE_MAX_WIDTH}): "
            "T is verified by function at the network's own width, and not certified beyond it"))
    key = (
        spec.block, blocks.version(spec.block), repr(sorted(spec.block_params.items())),
        spec.activation, activations.version(spec.activation), repr(sorted(spec.activation_params.items())),
        kind, tuple(shapes), implicit,
    )
    if key not in _CACHE:
        # T is built under a forked, seeded RNG (its default init) and probed with a local generator: the
        # caller's stream never moves, cached or not, and every process reaches the same verdict
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            _CACHE[key] = _check(spec, block, kind, shapes, implicit)
    ok, detail = _CACHE[key]
    return Condition("two_layer_structure", ok, detail)


def _build(block: Any, width: int, act: nn.Module, kind: str, shape: tuple[int, ...], implicit: bool) -> nn.Module:
    # the block's plain construction, also for implicit algorithms: the contractive one adds normalizations
    # to the same layers, and its eval mode iterates conv norms to convergence (minutes at 32×32 pixels)
    return block.build(width, act, kind)


def _check(spec: Any, block: Any, kind: str, shapes: list[tuple[int, ...]], implicit: bool) -> tuple[bool, str]:
    why = ""
    for shape in shapes:
        width = shape[1] if kind == "token" else shape[0]
        act = activations.get(spec.activation, **spec.activation_params)
        try:
            module = _build(block, width, act, kind, shape, implicit)
        except (ValueError, TypeError, NotImplementedError) as exc:
            return False, f"block {spec.block!r} could not be built at width {width} to verify its structure: {exc}"
        hidden = block.hidden_width(width)
        ok, why = verify(module, activations.get(spec.activation, **spec.activation_params), hidden=hidden,
                         kind=kind, shape=shape)
        if not ok:
            return False, f"block {spec.block!r} ({kind}, width {width}): {why}"
    fixed = f"hidden width {block.hidden}" if block.hidden else f"hidden width {block.hidden_multiple}× state width"
    declared = f"{block.structure}; " if block.structure else ""
    widths = ", ".join(str(s[1] if kind == "token" else s[0]) for s in shapes)
    plural = "s" if len(shapes) > 1 else ""
    return True, f"{declared}{why}; at state width{plural} {widths}; {fixed}, fixed for every depth"
