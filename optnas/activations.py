"""Activation registry: each entry is a module factory plus the facts the certificate needs.

The universality theorem needs σ continuous, locally Lipschitz and *not a polynomial* (THEORY.md §1).
Built-in entries declare these facts; a user entry may declare them or let optnas probe them numerically.

Example:
    >>> import optnas
    >>> optnas.activations.get("mrepu", p=2)
    MRePU(p=2)
    >>> optnas.activations.info("repu", p=2).polynomial
    False
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ._registry import Interval, Range, Registry
from ._validate import is_number
from .nn.activations import Elementwise, MRePU, RePU

__all__ = [
    "ActivationInfo", "MRePU", "RePU", "describe", "get", "info", "names", "probe_info", "ranges", "register",
    "version",
]


@dataclass(frozen=True)
class ActivationInfo:
    """What the certificate and the theory need to know about σ.

    smoothness is k for σ ∈ C^k (``math.inf`` for C^∞); lipschitz is a global Lipschitz constant,
    or None when σ is not globally Lipschitz (RePU with p >= 2) or its bound is not known to hold for
    every parameter value; probed says facts were measured numerically rather than declared only.
    ``lipschitz_over_training`` ("parametrized" or "init") says, for σ with trainable parameters, whether
    the bound holds for every parameter value (its forward bounds it) or only at initialisation.
    ``declared`` is False when a user activation does not declare that it is not a polynomial (no numeric
    probe can exclude every degree); ``notes`` are what the probes found, for the certificate's detail.
    """

    polynomial: bool
    continuous: bool = True
    locally_lipschitz: bool = True
    smoothness: float = 0
    lipschitz: float | None = None
    probed: bool = False
    lipschitz_over_training: str | None = None
    declared: bool = True
    notes: tuple[str, ...] = ()


InfoSource = ActivationInfo | Callable[..., ActivationInfo] | None


OVER_TRAINING = ("parametrized", "init")


@dataclass(frozen=True)
class _Declaration:
    lipschitz: float | None
    polynomial: bool | None
    over_training: str | None


class _ActivationRegistry(Registry[Any]):
    def __init__(self) -> None:
        super().__init__("activation")
        self._info: dict[str, InfoSource] = {}
        self._declared: dict[str, _Declaration] = {}  # user (plugin) activations only
        self._facts: dict[tuple[Any, ...], ActivationInfo] = {}  # probes of user activations, per parameters

    def register(
        self, name: str, *, info: InfoSource = None, lipschitz: float | None = None, polynomial: bool | None = None,
        lipschitz_over_training: str | None = None, description: str | None = None,
        params: Mapping[str, Range] | None = None, overwrite: bool = False,
    ) -> Callable[[Any], Any]:
        """Register an ``nn.Module`` class or a plain tensor function under ``name``.

        ``info`` is an ActivationInfo, or a function of the activation's parameters returning one; leave it
        out to declare facts one by one: ``polynomial=False`` declares σ is not a polynomial (the theorem
        needs it; a probe cross-checks polynomials up to degree 16 and the certificate refuses an
        undeclared σ), ``lipschitz`` the global Lipschitz constant sup|σ'| implicit algorithms need
        (checked against the slopes measured on [-10, 10]). σ with trainable parameters says how that bound
        holds over training: ``lipschitz_over_training="parametrized"`` (its forward bounds it for every
        parameter value, e.g. a clamped slope; checked at seeded extreme parameter values) or ``"init"``
        (only at initialisation: implicit networks refuse it). Continuity, local Lipschitz continuity and
        polynomiality are probed numerically as well. ``description`` and ``params`` (ranges) are the
        registry's metadata (`Registry.register`).

        Example:
            >>> import torch
            >>> _ = register("sine", lipschitz=1.0, polynomial=False)(torch.sin)
            >>> info("sine").lipschitz, info("sine").probed, info("sine").declared
            (1.0, True, True)
            >>> unregister("sine")
        """
        declared = (lipschitz, polynomial, lipschitz_over_training)
        if info is not None and any(v is not None for v in declared):
            raise ValueError(f"activation {name!r}: give lipschitz, polynomial and lipschitz_over_training "
                             "inside info=ActivationInfo(...), not both")
        if lipschitz is not None and (isinstance(lipschitz, bool) or not isinstance(lipschitz, int | float) or not (
            0 < lipschitz < math.inf
        )):
            raise ValueError(f"activation {name!r}: lipschitz={lipschitz!r} is invalid: it must be a number > 0")
        if polynomial is not None and not isinstance(polynomial, bool):
            raise ValueError(f"activation {name!r}: polynomial={polynomial!r} is invalid: it must be True or False")
        if lipschitz_over_training is not None and lipschitz_over_training not in OVER_TRAINING:
            raise ValueError(f"activation {name!r}: lipschitz_over_training={lipschitz_over_training!r} is invalid; "
                             f"valid: {', '.join(OVER_TRAINING)}")
        base = super().register(name, description=description, params=params, overwrite=overwrite)

        def decorate(obj: Any) -> Any:
            if isinstance(obj, type) and issubclass(obj, nn.Module):
                base(obj)
            else:  # a plain function of a tensor (and keyword parameters)
                base(_wrap(obj, name))
            self._info[name] = info
            self._declared[name] = _Declaration(
                None if lipschitz is None else float(lipschitz), polynomial, lipschitz_over_training)
            return obj

        return decorate

    def builtin(
        self, name: str, info: InfoSource, description: str, params: Mapping[str, Range] | None = None
    ) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
        """Decorator registering a built-in: a factory returning a torch module (so exported code needs only
        torch), with its facts (`ActivationInfo`, or a function of its parameters returning one)."""
        base = super().register(name, description=description, params=params)

        def decorate(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
            base(factory)
            self._info[name] = info
            return factory

        return decorate

    def unregister(self, name: str) -> None:
        super().unregister(name)
        self._info.pop(name, None)
        self._declared.pop(name, None)

    def info(self, name: str, **params: Any) -> ActivationInfo:
        """The certificate facts of ``name`` with ``params`` (validates the parameters too)."""
        module = self.get(name, **params)
        if name not in self._declared:  # built-in: declared facts, tested against closed forms
            source = self._info.get(name)
            assert source is not None
            return source if isinstance(source, ActivationInfo) else source(**params)
        key = (name, self.version(name), repr(sorted(params.items())))  # a new registration is probed anew
        if key not in self._facts:
            with torch.random.fork_rng(devices=[]):  # a module drawing its initial parameters: the same each time
                torch.manual_seed(0)
                module = self.get(name, **params)
            self._facts[key] = self._user_info(name, module, params)
        return self._facts[key]

    def _user_info(self, name: str, module: nn.Module, params: dict[str, Any]) -> ActivationInfo:
        source = self._info.get(name)
        given = None if source is None else source if isinstance(source, ActivationInfo) else source(**params)
        decl = self._declared[name]
        polynomial = decl.polynomial if given is None else given.polynomial
        lipschitz = decl.lipschitz if given is None else given.lipschitz
        over = decl.over_training if given is None else given.lipschitz_over_training
        if given is None and lipschitz is not None:
            measured = max_slope(module)
            if measured > lipschitz * (1 + 1e-6):
                raise ValueError(
                    f"activation {name!r}: declared lipschitz={lipschitz:g} but its slope reaches {measured:.6g} on "
                    "[-10, 10]; declare sup|σ'| (at least the measured slope)"
                )
        facts = probe_info(module)
        notes = list(facts.notes)
        if polynomial and not facts.polynomial:
            notes.append("declared a polynomial")
        lip, lip_note = _bound_over_training(name, module, lipschitz, over)
        if lip_note:
            notes.append(lip_note)
        return ActivationInfo(
            polynomial=bool(polynomial) or facts.polynomial,
            continuous=facts.continuous and (given is None or given.continuous),
            locally_lipschitz=facts.locally_lipschitz and (given is None or given.locally_lipschitz),
            smoothness=0 if given is None else given.smoothness,
            lipschitz=lip, probed=True, lipschitz_over_training=over, declared=polynomial is not None,
            notes=tuple(notes),
        )


def trainable(module: nn.Module) -> list[str]:
    """Names of ``module``'s trainable parameters (σ with a learnable slope, ...)."""
    return [n for n, p in module.named_parameters() if p.requires_grad]


def _bound_over_training(
    name: str, module: nn.Module, lipschitz: float | None, over: str | None
) -> tuple[float | None, str]:
    """(the Lipschitz bound that holds for every parameter value, or None; what was found)."""
    names = trainable(module) if isinstance(module, nn.Module) else []
    if lipschitz is None or not names:
        return lipschitz, ""
    what = f"trainable parameter(s) {', '.join(names)}"
    if over != "parametrized":
        return None, (f"Lip(σ) <= {lipschitz:g} holds at initialisation only ({what}; declare "
                      "lipschitz_over_training='parametrized' with a forward that bounds it for every value)")
    worst, at = parameter_probe(module)
    if worst > lipschitz * (1 + 1e-6):
        return None, (f"declared Lip(σ) <= {lipschitz:g} for every value of its {what}, but with them at {at} "
                      f"its slope reaches {worst:.4g}")
    return lipschitz, (f"Lip(σ) <= {lipschitz:g} for every parameter value (parametrized; slope <= {worst:.4g} "
                       "with its parameters at seeded values up to ±1e3)")


PARAMETER_SCALES = (1.0, 10.0, 1e3)


def parameter_probe(module: nn.Module, draws: int = 4) -> tuple[float, str]:
    """The largest slope of σ with its trainable parameters set to seeded values of scale 1, 10 and 1e3
    (both signs); its parameters are restored. Returns (slope, the values where it was largest)."""
    g = torch.Generator().manual_seed(27)
    params = [p for p in module.parameters() if p.requires_grad]
    saved = [p.detach().clone() for p in params]
    worst, at = 0.0, ""
    try:
        for scale in PARAMETER_SCALES:
            for _ in range(draws):
                with torch.no_grad():
                    for p in params:
                        p.copy_(scale * (2 * torch.rand(p.shape, generator=g, dtype=torch.float64) - 1).to(p.dtype))
                slope = max_slope(module)
                if not slope <= worst:
                    worst = slope
                    at = ", ".join(f"{v:.3g}" for p in params for v in p.detach().flatten()[:3].tolist())
    finally:
        with torch.no_grad():
            for p, v in zip(params, saved, strict=True):
                p.copy_(v)
    return worst, at or "their initial values"


def _wrap(fn: Callable[..., torch.Tensor], name: str) -> Callable[..., nn.Module]:
    """A module factory around a plain tensor function, keeping its docstring and keyword parameters."""

    def factory(**params: Any) -> nn.Module:
        return Elementwise(fn, name, params)  # export imports fn by name

    factory.__doc__ = fn.__doc__
    try:  # its keyword parameters, so unknown ones are refused and `describe` lists them
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: any keywords go to the call
        return factory
    factory.__signature__ = sig.replace(parameters=list(sig.parameters.values())[1:])  # type: ignore[attr-defined]
    return factory


def _device(module: Callable[[torch.Tensor], torch.Tensor]) -> torch.device:
    params = list(module.parameters()) if isinstance(module, nn.Module) else []
    return params[0].device if params else torch.device("cpu")


def _on(module: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    """σ(z) as a float64 CPU tensor, z moved to the device of σ's parameters (a trained σ may be on a GPU)."""
    with torch.no_grad():
        return module(z.to(_device(module))).double().cpu()


MAX_DEGREE = 16  # polynomials up to this degree are found by the probe; above it the declaration decides
# two grids: a fine one where activations bend, a coarse wide one (a step of 7.3 makes the 17th difference
# of sin about 0.6, far above rounding); a polynomial's (d+1)th differences vanish on both
_GRIDS = (np.linspace(-6.0, 6.0, 33), np.arange(-17, 18) * 7.3)


def polynomial_degree(module: Callable[[torch.Tensor], torch.Tensor]) -> tuple[int | None, str]:
    """(d, what was found): σ agrees with a polynomial of degree d <= 16 on two float64 grids, else d is None.

    The test is exact up to rounding: a degree-d polynomial's (d+1)th finite differences vanish; a window
    counts as vanishing when below 2^(d+1)·8·eps·max|σ| over it. Where the 17th differences are nonzero but
    within 1000× that bound, or the differences vanish gradually rather than at one order (z + 1e-9·sin z),
    the probe says it cannot decide.

    Example:
        >>> polynomial_degree(lambda z: z + 1e-9 * z**9)[0], polynomial_degree(torch.tanh)[0]
        (9, None)
    """
    ratios: list[float] = []
    for d in range(MAX_DEGREE + 1):
        worst = 0.0
        for grid in _GRIDS:
            with torch.no_grad():
                raw = module(torch.as_tensor(grid, dtype=torch.float64).to(_device(module)))
            y = np.asarray(raw.double().cpu().numpy(), dtype=float)
            if not np.all(np.isfinite(y)):
                return None, "not finite on the probe grid"
            eps = float(np.finfo(np.float32).eps if raw.dtype != torch.float64 else np.finfo(float).eps)
            diff = np.diff(y, n=d + 1)
            window = np.lib.stride_tricks.sliding_window_view(np.abs(y), d + 2).max(axis=1)
            bound = 2 ** (d + 1) * 8 * eps * np.maximum(window, 1e-300)
            worst = max(worst, float(np.max(np.abs(diff) / bound)))
        if worst <= 1.0:
            if d and ratios[-1] <= 1e3:  # the differences fade gradually, not at once as a polynomial's do
                return None, (f"the probe cannot decide: σ agrees with a polynomial of degree {d} only to within "
                              f"rounding (its {d}th differences are {ratios[-1]:.3g}× the rounding bound)")
            return d, f"a polynomial of degree {d} on the probe grids (its differences of order {d + 1} vanish)"
        ratios.append(worst)
    if ratios[-1] <= 1e3:
        return None, (f"the probe cannot decide: its {MAX_DEGREE + 1}th differences are only {ratios[-1]:.3g}× "
                      "the rounding bound")
    return None, f"not a polynomial of degree <= {MAX_DEGREE} (probed)"


def jump(module: Callable[[torch.Tensor], torch.Tensor]) -> float | None:
    """A point where σ jumps, or None: the steepest steps of the [-10, 10] grid are bisected 40 times; a
    Lipschitz σ's rise shrinks with the interval, a jump's stays."""
    z = torch.linspace(-10.0, 10.0, 20001, dtype=torch.float64)
    with torch.no_grad():
        y = _on(module, z)
        rise = (y[1:] - y[:-1]).abs()
        if not bool(torch.isfinite(rise).all()):
            return float(z[int(torch.nonzero(~torch.isfinite(rise))[0])])
        top = torch.topk(rise, 8).indices
        lo, hi = z[top].clone(), z[top + 1].clone()
        ylo, yhi = y[top].clone(), y[top + 1].clone()
        first = (yhi - ylo).abs()
        for _ in range(40):
            mid = (lo + hi) / 2
            ym = _on(module, mid)
            left = (ym - ylo).abs() >= (yhi - ym).abs()
            hi, yhi = torch.where(left, mid, hi), torch.where(left, ym, yhi)
            lo, ylo = torch.where(left, lo, mid), torch.where(left, ylo, ym)
        last = (yhi - ylo).abs()
        scale = max(1.0, float(y.abs().max()))
        found = (last >= 0.25 * first) & (last > 1e-9 * scale)
    return float(lo[found][0]) if bool(found.any()) else None


def probe_info(module: Callable[[torch.Tensor], torch.Tensor]) -> ActivationInfo:
    """Measure the certificate facts of an activation on float64 grids.

    Polynomial: `polynomial_degree` (finite differences, degrees up to 16). Continuity: no `jump`; local
    Lipschitz continuity: no jump and finite-difference slopes on [-10, 10] finite and below 1e6.
    """
    degree, found = polynomial_degree(module)
    notes = [found]
    at = jump(module)
    slope = max_slope(module)
    bounded = at is None and math.isfinite(slope) and slope < 1e6
    if at is not None:
        notes.append(f"jumps near z = {at:.6g} (bisected to 1e-9)")
    return ActivationInfo(
        polynomial=degree is not None, continuous=at is None, locally_lipschitz=bounded, smoothness=0, probed=True,
        notes=tuple(notes),
    )


def max_slope(module: Callable[[torch.Tensor], torch.Tensor]) -> float:
    """The largest finite-difference slope of σ on a float64 grid of [-10, 10] (step 1e-3); inf if not finite."""
    z = torch.linspace(-10.0, 10.0, 20001, dtype=torch.float64)
    y = _on(module, z)
    slopes = (y[1:] - y[:-1]).abs() / (z[1] - z[0])
    return float(slopes.max()) if bool(torch.isfinite(slopes).all()) else math.inf


_REGISTRY = _ActivationRegistry()
names = _REGISTRY.names
get = _REGISTRY.get
info = _REGISTRY.info
describe = _REGISTRY.describe
ranges = _REGISTRY.ranges
register = _REGISTRY.register
unregister = _REGISTRY.unregister
entry = _REGISTRY.entry
version = _REGISTRY.version  # changes at each (re)registration: what caches of an entry key on

_SMOOTH = ActivationInfo(polynomial=False, smoothness=math.inf, lipschitz=None)


def _power(p: Any) -> int:
    if not (is_number(p) and p == int(p) and p >= 1):  # 2.0 is accepted as 2 (YAML and JSON floats)
        raise ValueError(f"activation power p={p!r} is invalid: p must be an integer >= 1")
    return int(p)


_builtin = _REGISTRY.builtin
_SLOPE = Interval(0, 1)


@_builtin(
    "relu", ActivationInfo(polynomial=False, smoothness=0, lipschitz=1.0),
    "ReLU: max(0, z); globally 1-Lipschitz",
)
def _relu() -> nn.Module:
    return nn.ReLU()


def _leaky_info(negative_slope: float = 0.01) -> ActivationInfo:
    # slope 1 makes it the identity: a polynomial, which the certificate must reject
    linear = negative_slope == 1.0
    return ActivationInfo(polynomial=linear, smoothness=math.inf if linear else 0, lipschitz=1.0)


@_builtin(
    "leaky_relu", _leaky_info,
    "leaky ReLU: max(z, a·z); slope 1 is the identity, a polynomial, and is rejected", {"negative_slope": _SLOPE},
)
def _leaky_relu(negative_slope: float = 0.01) -> nn.Module:
    return nn.LeakyReLU(_SLOPE.check("leaky_relu negative_slope", negative_slope))


# Global Lipschitz constants: sup |σ'| (GELU ≈ 1.129, SiLU ≈ 1.0998), used by the contraction check.
@_builtin(
    "gelu", ActivationInfo(polynomial=False, smoothness=math.inf, lipschitz=1.13),
    "GELU: z·Φ(z); smooth, Lipschitz constant ≈ 1.13",
)
def _gelu() -> nn.Module:
    return nn.GELU()


@_builtin(
    "silu", ActivationInfo(polynomial=False, smoothness=math.inf, lipschitz=1.1),
    "SiLU (swish): z·sigmoid(z); smooth, Lipschitz constant ≈ 1.10",
)
def _silu() -> nn.Module:
    return nn.SiLU()


@_builtin(
    "sigmoid", ActivationInfo(polynomial=False, smoothness=math.inf, lipschitz=0.25),
    "logistic sigmoid 1/(1 + e^-z); smooth, Lipschitz constant 1/4",
)
def _sigmoid() -> nn.Module:
    return nn.Sigmoid()


@_builtin(
    "tanh", ActivationInfo(polynomial=False, smoothness=math.inf, lipschitz=1.0),
    "tanh: smooth, 1-Lipschitz, the K* = 0 universality class",
)
def _tanh() -> nn.Module:
    return nn.Tanh()


@_builtin(
    "softplus", ActivationInfo(polynomial=False, smoothness=math.inf, lipschitz=1.0),
    "softplus: log(1 + e^z); smooth, 1-Lipschitz",
)
def _softplus() -> nn.Module:
    return nn.Softplus()


def _repu_info(p: int = 2) -> ActivationInfo:
    return ActivationInfo(polynomial=False, smoothness=p - 1, lipschitz=1.0 if p == 1 else None)


@_builtin(
    "repu", _repu_info,
    "RePU: max(0, z)^p (p = 1 is ReLU); C^(p-1), not globally Lipschitz for p >= 2", {"p": "integers >= 1"},
)
def _repu(p: int = 2) -> nn.Module:
    return RePU(_power(p))


def _mrepu_info(p: int = 2) -> ActivationInfo:
    return ActivationInfo(polynomial=False, smoothness=p - 1, lipschitz=None)


@_builtin(
    "mrepu", _mrepu_info,
    "MRePU: z·max(0, z + 1)^p (Kim & Kang 2024); C^(p-1), MRePU'(0) = 1, not globally Lipschitz",
    {"p": "integers >= 1"},
)
def _mrepu(p: int = 2) -> nn.Module:
    return MRePU(_power(p))
