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

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from . import _validate
from ._registry import Registry
from ._validate import is_number
from .nn.activations import Elementwise, MRePU, RePU

__all__ = ["ActivationInfo", "MRePU", "RePU", "describe", "get", "info", "names", "probe_info", "register"]


@dataclass(frozen=True)
class ActivationInfo:
    """What the certificate and the theory need to know about σ.

    smoothness is k for σ ∈ C^k (``math.inf`` for C^∞); lipschitz is a global Lipschitz constant,
    or None when σ is not globally Lipschitz (RePU with p >= 2); probed says the facts were measured
    numerically rather than declared.
    """

    polynomial: bool
    continuous: bool = True
    locally_lipschitz: bool = True
    smoothness: float = 0
    lipschitz: float | None = None
    probed: bool = False


InfoSource = ActivationInfo | Callable[..., ActivationInfo] | None


class _ActivationRegistry(Registry[Any]):
    def __init__(self) -> None:
        super().__init__("activation")
        self._info: dict[str, InfoSource] = {}
        self._lipschitz: dict[str, float | None] = {}  # declared for probed (user) activations

    def register(
        self, name: str, *, info: InfoSource = None, lipschitz: float | None = None,
        description: str | None = None, params: Mapping[str, str] | None = None, overwrite: bool = False,
    ) -> Callable[[Any], Any]:
        """Register an ``nn.Module`` class or a plain tensor function under ``name``.

        ``info`` is an ActivationInfo, or a function of the activation's parameters returning one;
        leave it out to have the facts probed numerically (see `probe_info`). ``lipschitz`` declares the
        global Lipschitz constant sup|σ'| of a probed activation, which implicit algorithms need (their
        contraction check); it is checked against the slopes measured on [-10, 10] when first used.
        ``description`` and ``params`` (ranges) are the registry's metadata (`Registry.register`).

        Example:
            >>> import torch
            >>> _ = register("sine", lipschitz=1.0)(torch.sin)
            >>> info("sine").lipschitz, info("sine").probed
            (1.0, True)
            >>> unregister("sine")
        """
        if lipschitz is not None:
            if info is not None:
                raise ValueError(f"activation {name!r}: give lipschitz inside info=ActivationInfo(...), not both")
            if isinstance(lipschitz, bool) or not isinstance(lipschitz, int | float) or not (
                0 < lipschitz < math.inf
            ):
                raise ValueError(f"activation {name!r}: lipschitz={lipschitz!r} is invalid: it must be a number > 0")
        base = super().register(name, description=description, params=params, overwrite=overwrite)

        def decorate(obj: Any) -> Any:
            if isinstance(obj, type) and issubclass(obj, nn.Module):
                base(obj)
            else:  # a plain function of a tensor (and keyword parameters)
                base(_wrap(obj, name))
            self._info[name] = info
            self._lipschitz[name] = None if lipschitz is None else float(lipschitz)
            return obj

        return decorate

    def unregister(self, name: str) -> None:
        super().unregister(name)
        self._info.pop(name, None)
        self._lipschitz.pop(name, None)

    def info(self, name: str, **params: Any) -> ActivationInfo:
        """The certificate facts of ``name`` with ``params`` (validates the parameters too)."""
        module = self.get(name, **params)
        source = self._info.get(name)
        if source is None:
            probed = probe_info(module)
            declared = self._lipschitz.get(name)
            if declared is None:
                return probed
            measured = max_slope(module)
            if measured > declared * (1 + 1e-6):
                raise ValueError(
                    f"activation {name!r}: declared lipschitz={declared:g} but its slope reaches {measured:.6g} on "
                    "[-10, 10]; declare sup|σ'| (at least the measured slope)"
                )
            return dataclasses.replace(probed, lipschitz=declared)
        if isinstance(source, ActivationInfo):
            return source
        return source(**params)


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


def probe_info(module: Callable[[torch.Tensor], torch.Tensor]) -> ActivationInfo:
    """Measure the certificate facts of an undeclared activation on a float64 grid.

    Polynomial: a least-squares fit of degree <= 8 on [-4, 4] reproduces σ to 1e-9 relative error.
    Continuity and local Lipschitz: finite-difference slopes on [-10, 10] stay finite and below 1e6.
    """
    z = torch.linspace(-4.0, 4.0, 801, dtype=torch.float64)
    with torch.no_grad():
        y = module(z).double().numpy()
    x = z.numpy()
    scale = max(1.0, float(np.abs(y).max()))
    polynomial = any(
        float(np.abs(np.polyval(np.polyfit(x, y, d), x) - y).max()) < 1e-9 * scale for d in range(9)
    )
    slope = max_slope(module)
    bounded = math.isfinite(slope) and slope < 1e6
    return ActivationInfo(
        polynomial=polynomial, continuous=bounded, locally_lipschitz=bounded, smoothness=0, probed=True
    )


def max_slope(module: Callable[[torch.Tensor], torch.Tensor]) -> float:
    """The largest finite-difference slope of σ on a float64 grid of [-10, 10] (step 1e-3); inf if not finite."""
    z = torch.linspace(-10.0, 10.0, 20001, dtype=torch.float64)
    with torch.no_grad():
        y = module(z).double()
    slopes = (y[1:] - y[:-1]).abs() / (z[1] - z[0])
    return float(slopes.max()) if bool(torch.isfinite(slopes).all()) else math.inf


_REGISTRY = _ActivationRegistry()
names = _REGISTRY.names
get = _REGISTRY.get
info = _REGISTRY.info
describe = _REGISTRY.describe
register = _REGISTRY.register
unregister = _REGISTRY.unregister
entry = _REGISTRY.entry

_SMOOTH = ActivationInfo(polynomial=False, smoothness=math.inf, lipschitz=None)


def _power(p: Any) -> int:
    if not (is_number(p) and p == int(p) and p >= 1):  # 2.0 is accepted as 2 (YAML and JSON floats)
        raise ValueError(f"activation power p={p!r} is invalid: p must be an integer >= 1")
    return int(p)


def _builtin(
    name: str, info: InfoSource, description: str, params: Mapping[str, str] | None = None
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register a factory that returns a torch module (so exported code needs only torch)."""

    def decorate(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        Registry.register(_REGISTRY, name, description=description, params=params)(factory)
        _REGISTRY._info[name] = info
        return factory

    return decorate


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
    "leaky ReLU: max(z, a·z); slope 1 is the identity, a polynomial, and is rejected", {"negative_slope": "[0, 1]"},
)
def _leaky_relu(negative_slope: float = 0.01) -> nn.Module:
    return nn.LeakyReLU(_validate.number("leaky_relu negative_slope", negative_slope, 0, 1))


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
