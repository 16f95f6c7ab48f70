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
        return id(m) in self.leaves or super().is_leaf_module(m, module_qualified_name)


def verify(module: nn.Module, activation: nn.Module, *, hidden: int, kind: str) -> tuple[bool, str]:
    """(holds, detail): does ``module`` compute W2·σ(W1·z) as its ``two_layer()`` declares?

    ``activation`` is the spec's activation module, ``hidden`` the block's hidden width at this state
    width, ``kind`` the input kind ("vector", "image", "token", "signal"; used only when forward cannot be traced).
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
    label = {k: names.get(id(m), "?") for k, m in (("W1", first), ("σ", act), ("W2", second))}
    try:
        if "forward" in vars(module):  # fx traces the class's forward, while calls run this one
            raise TypeError("forward is replaced on the instance")
        graph = _Tracer((first, act, second)).trace(module)
    except Exception as exc:  # any tracing failure (user code) means: check on the data path instead
        ok, why = _on_data_path(module, first, act, second, kind)
        return ok, f"checked on a forward pass (forward is not traceable: {exc}): {why}"
    ok, why = _in_graph(graph, module, first, act, second, label)
    return ok, f"traced forward: {why}"


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


def _probe_input(module: nn.Module, first: nn.Module, kind: str) -> torch.Tensor:
    width = _width(first, "in") or 1
    shape = {"vector": (2, width), "image": (2, width, 5, 5), "token": (2, 3, width), "signal": (2, width, 5)}[kind]
    return torch.randn(*shape)


def _on_data_path(
    module: nn.Module, first: nn.Module, act: nn.Module, second: nn.Module, kind: str
) -> tuple[bool, str]:
    seen: dict[str, tuple[Any, Any]] = {}

    def record(key: str) -> Callable[..., None]:
        def hook(_module: nn.Module, args: tuple[Any, ...], out: Any) -> None:  # None: the output is kept
            seen.setdefault(key, (args[0] if args else None, out))

        return hook

    hooks = [m.register_forward_hook(record(key)) for key, m in (("W1", first), ("σ", act), ("W2", second))]
    try:
        with torch.enable_grad():
            out = module(_probe_input(module, first, kind))
    finally:
        for h in hooks:
            h.remove()
    for role in ("W1", "σ", "W2"):
        if role not in seen:
            return False, f"forward never applies the declared {role}"
    (_, w1_out), (act_in, act_out), (w2_in, w2_out) = seen["W1"], seen["σ"], seen["W2"]
    if w2_in is not act_out:
        return False, "W2's input is not σ's output"
    if not _depends(act_in, w1_out):
        return False, "σ's input does not depend on W1's output"
    if not isinstance(out, torch.Tensor) or not _depends(out, w2_out):
        return False, "T's output does not depend on W2's output"
    return True, "W1 → σ → W2 on the path from T's input to its output"


def _depends(y: torch.Tensor, x: torch.Tensor) -> bool:
    if not (y.requires_grad and x.requires_grad):
        return y is x
    grad = torch.autograd.grad(y.sum(), x, retain_graph=True, allow_unused=True)[0]
    return grad is not None


# A state width the probe module is built at: the spec's own, unless it is too large to build cheaply.
PROBE_MAX_WIDTH = 256
_CACHE: dict[tuple[Any, ...], tuple[bool, str]] = {}


def check_block(spec: Any, block: Any, input_shape: tuple[int, ...] | None) -> Condition:
    """The certificate's ``two_layer_structure`` condition: build T for ``spec`` and `verify` it."""
    from .. import activations, blocks
    from .._shapes import input_kind

    kinds = sorted(block.inputs)
    kind = input_kind(input_shape) if input_shape is not None else kinds[0]
    kind = kind if kind in block.inputs else kinds[0]  # build rejects the mismatch with its own message
    widths = [spec.width] if spec.width <= PROBE_MAX_WIDTH else [PROBE_MAX_WIDTH, 64, 16, spec.width]
    key = (
        spec.block, id(blocks.entry(spec.block)), repr(sorted(spec.block_params.items())),
        spec.activation, id(activations.entry(spec.activation)), repr(sorted(spec.activation_params.items())),
        kind, widths[0],
    )
    if key not in _CACHE:
        # the probe builds T and draws an input: on its own RNG, so a certify (inside every build) never moves
        # the caller's stream, cached or not, and a seeded training is the same in a fresh process
        with torch.random.fork_rng(devices=[]):
            _CACHE[key] = _check(spec, block, kind, widths)
    ok, detail = _CACHE[key]
    return Condition("two_layer_structure", ok, detail)


def _check(spec: Any, block: Any, kind: str, widths: list[int]) -> tuple[bool, str]:
    from .. import activations

    error: Exception | None = None
    for width in widths:
        act = activations.get(spec.activation, **spec.activation_params)
        try:
            module = block.build(width, act, kind)
        except (ValueError, TypeError, NotImplementedError) as exc:
            error = exc
            continue
        hidden = block.hidden_width(width)
        ok, why = verify(module, activations.get(spec.activation, **spec.activation_params), hidden=hidden, kind=kind)
        fixed = f"hidden width {block.hidden}" if block.hidden else f"hidden width {block.hidden_multiple}× state width"
        if not ok:
            return False, f"block {spec.block!r} ({kind}, width {width}): {why}"
        declared = f"{block.structure}; " if block.structure else ""
        return True, f"{declared}{why}; {fixed}, fixed for every depth"
    return False, f"block {spec.block!r} could not be built to verify its structure: {error}"
