"""The two-layer structure checked by function: T run on seeded inputs, perturbed, differentiated.

`functional` takes T as built (at the network's real width), re-draws its parameters from a local seeded
generator (never torch's global RNG: the same block gives the same verdict in every process) and checks,
in eval mode and float64 where the module allows it:

1. on T's data path nothing reads the data into Python (data-dependent control flow) and no op is
   discontinuous (round, floor, sign, comparisons, integer casts ...): `optnas.certify.dataflow`;
2. W1, σ and W2 are applied; W2's input is σ's output; σ's input depends on W1's output, W1's on T's input
   (autograd), and T's output on W2's output;
3. T keeps the state's shape, is finite, and gives the same output twice on the same input;
4. T's output is not constant over the probe inputs and its Jacobian in z is not zero;
5. perturbing W2's weight, then W1's, changes T's output, and by an amount that differs between probe inputs
   (the W2·σ(W1·z) path carries the input, not a constant beside it).

Returns (holds, detail); the detail names what was found.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from .dataflow import DataFlow, trusted_modules

SEED = 27
BATCH = 4
REL = {torch.float64: 1e-10, torch.float32: 1e-5}  # "changed" / "not zero", relative to the output's scale


def _reinit(module: nn.Module, keep: nn.Module, g: torch.Generator) -> None:
    """Every parameter of T except σ's, from ``g``: weights ~ N(0, 1/fan_in), vectors ~ 1 + N(0, 0.25) for
    gains and N(0, 0.01) for biases (no exact zeros that could hide a dependence)."""
    skip = {id(p) for p in keep.parameters()}
    with torch.no_grad():
        for name, p in sorted(module.named_parameters(), key=lambda kv: kv[0]):
            if id(p) in skip:
                continue
            noise = torch.randn(p.shape, generator=g, dtype=torch.float64).to(p.dtype)
            if p.dim() >= 2:
                p.copy_(noise / math.sqrt(max(1, p[0].numel())))
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(1.0 + 0.5 * noise)


def _grad(y: torch.Tensor, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor | None:
    if not (y.requires_grad and x.requires_grad):
        return None
    return torch.autograd.grad(y, x, v, retain_graph=True, allow_unused=True)[0]


def _nonzero(t: torch.Tensor | None, scale: float, rel: float) -> bool:
    return t is not None and float(t.abs().max()) > rel * scale


def functional(
    module: nn.Module, first: nn.Module, act: nn.Module, second: nn.Module, shape: tuple[int, ...],
    label: dict[str, str] | None = None,
) -> tuple[bool, str]:
    """Run the checks of the module docstring on ``module`` (inputs of ``shape``, batch excluded);
    ``label`` names W1, σ, W2 in the detail (their attribute names)."""
    label = label or {}
    errors = []
    # float64 first (finite changes are then unambiguous), except for convolutions: torch's CPU float64 conv
    # kernels (depthwise ones above all) are ~100× slower, and the certificate runs on every draw
    convs = any(isinstance(m, nn.modules.conv._ConvNd) for m in module.modules())
    for dtype in (torch.float32,) if convs else (torch.float64, torch.float32):
        t = copy.deepcopy(module).to(dtype).eval()
        roles = _roles(module, t, first, act, second)
        try:
            first_t, act_t, second_t = roles
            return _run(t, first_t, act_t, second_t, shape, dtype, label)
        except (RuntimeError, TypeError) as exc:  # e.g. a user forward fixed to float32
            errors.append(f"{dtype}: {str(exc).splitlines()[0][:160]}")
    return False, f"forward raised on the probe inputs ({'; '.join(errors)})"


def _roles(original: nn.Module, copied: nn.Module, *parts: nn.Module) -> tuple[nn.Module, ...]:
    """The copies of W1, σ, W2 inside ``copied`` (found by their names in ``original``)."""
    names = {id(m): n for n, m in original.named_modules()}
    found = dict(copied.named_modules())
    return tuple(found[names[id(p)]] for p in parts)


def _run(
    t: nn.Module, first: nn.Module, act: nn.Module, second: nn.Module, shape: tuple[int, ...], dtype: torch.dtype,
    label: dict[str, str],
) -> tuple[bool, str]:
    g = torch.Generator().manual_seed(SEED)
    _reinit(t, act, g)
    rel = REL[dtype]
    x = torch.randn(BATCH, *shape, generator=g, dtype=torch.float64).to(dtype).requires_grad_()
    seen: dict[str, list[tuple[Any, Any]]] = {"W1": [], "σ": [], "W2": []}

    def record(key: str) -> Any:
        def hook(_m: nn.Module, args: tuple[Any, ...], out: Any) -> None:
            seen[key].append((args[0] if args else None, out))

        return hook

    hooks = [m.register_forward_hook(record(k)) for k, m in (("W1", first), ("σ", act), ("W2", second))]
    try:
        with torch.enable_grad(), warnings.catch_warnings(), DataFlow([x], trusted_modules(t, [act])) as flow:
            warnings.simplefilter("ignore")  # torch warns when a forward reads a tensor that requires grad
            out = t(x)
    finally:
        for h in hooks:
            h.remove()
    found = []
    if flow.reads:
        found.append(f"reads the data into Python ({', '.join(sorted(flow.reads))}): data-dependent control flow")
    if flow.jumps:
        found.append(f"applies discontinuous ops to the data ({', '.join(sorted(flow.jumps))})")
    if found:
        return False, "on T's data path, forward " + " and ".join(found)
    for role in ("W1", "σ", "W2"):
        if not seen[role]:
            name = f" ({label[role]})" if role in label else ""
            return False, f"forward never applies the declared {role}{name} on the probe inputs"
    if not isinstance(out, torch.Tensor):
        return False, f"T returns {type(out).__name__}, not a tensor"
    if tuple(out.shape) != tuple(x.shape):
        return False, (f"T maps inputs of shape {tuple(x.shape[1:])} to {tuple(out.shape[1:])}: it must keep the "
                       "state's shape")
    if not bool(torch.isfinite(out).all()):
        return False, "T's output is not finite on the probe inputs"
    scale = max(1.0, float(out.detach().abs().max()))
    with torch.enable_grad():  # as the first call (torch's attention takes another kernel without grad)
        again = t(x).detach()
    if not torch.equal(again, out.detach()):
        return False, "T is not deterministic: two calls on the same input differ (randomness on the data path)"
    chain = _chain(seen)
    if isinstance(chain, str):
        return False, chain
    w1_out, _, w2_out = chain
    spread = float((out - out[:1]).detach().abs().max())
    if spread <= rel * scale:
        return False, f"T's output is constant: the same for {BATCH} different seeded inputs (the network is affine)"
    v = torch.randn(out.shape, generator=g, dtype=torch.float64).to(dtype)
    jac = _grad(out, x, v)
    if not _nonzero(jac, scale, rel):
        return False, ("T's output changes with its input but its Jacobian is zero: a piecewise-constant op or a "
                       "detach on the data path")
    if not _nonzero(_grad(w1_out, x, torch.ones_like(w1_out)), 1.0, rel):
        return False, "W1's output does not depend on T's input"
    # d(out)/d(W2's output) is a ratio of the two outputs' scales (1 for out = z + W2·σ(...)), not out's scale:
    # a polynomial σ (RePU, MRePU) makes both large, and out's scale alone then hides a real dependence
    w2_scale = max(1.0, float(w2_out.detach().abs().max()))
    if not _nonzero(_grad(out, w2_out, v), scale / w2_scale, rel):
        return False, "T's output does not depend on W2's output"
    for role, layer in (("W2", second), ("W1", first)):
        why = _perturbed(t, x.detach(), out.detach(), layer, g, scale, rel)
        if why:
            return False, f"perturbing {role}'s weight: {why}"
    return True, f"checked by function on {BATCH} seeded inputs of shape {tuple(shape)} ({str(dtype)[6:]})"


def _chain(seen: dict[str, list[tuple[Any, Any]]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | str:
    """(W1's output, σ's input, W2's output) of a call chain W1 → σ → W2, or why there is none: W2's input
    is σ's output (a pass-through such as eval-mode Dropout may sit between) and σ's input depends on W1's."""
    why = "W2's input is not σ's output"
    for w2_in, w2_out in seen["W2"]:
        for act_in, act_out in seen["σ"]:
            same = isinstance(w2_in, torch.Tensor) and isinstance(act_out, torch.Tensor) and (
                w2_in.shape == act_out.shape and torch.equal(w2_in, act_out))
            if not same:
                continue
            why = "σ's input (the one W2 reads) does not depend on W1's output"
            for _, w1_out in seen["W1"]:
                fed = isinstance(w1_out, torch.Tensor) and _grad(act_in, w1_out, torch.ones_like(act_in))
                if isinstance(fed, torch.Tensor) and _nonzero(fed, 1.0, 0.0):
                    return w1_out, act_in, w2_out
    return why


def _perturbed(
    t: nn.Module, x: torch.Tensor, out: torch.Tensor, layer: nn.Module, g: torch.Generator, scale: float, rel: float
) -> str:
    weight: torch.Tensor = layer.weight  # type: ignore[assignment]
    if parametrize.is_parametrized(layer, "weight"):  # e.g. spectral_norm: perturb the raw weight
        weight = layer.parametrizations.weight.original  # type: ignore[union-attr,assignment]
    with torch.no_grad():
        saved = weight.detach().clone()
        step = 1e-3 * (float(saved.abs().max()) + 1e-3)
        weight.add_(step * torch.randn(weight.shape, generator=g, dtype=torch.float64).to(weight.dtype))
    with torch.enable_grad():
        moved = t(x.requires_grad_()).detach()
    with torch.no_grad():
        weight.copy_(saved)
    delta = moved - out
    size = float(delta.abs().max())
    if size <= rel * scale:
        return "T's output does not change (it does not depend on this layer)"
    if float((delta - delta[:1]).abs().max()) <= rel * size:
        return ("T's output moves by the same amount for every input (the layer's path does not carry the input "
                "to the output)")
    return ""
