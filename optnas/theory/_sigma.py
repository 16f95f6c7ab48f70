"""An activation seen as a real function: values and derivatives in float64, through torch.

Derivatives come from autograd where the activation is written in torch; a user activation that autograd
cannot follow (e.g. one computed through numpy) falls back to central finite differences.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .. import activations

_FD_STEP = 1e-6  # relative central-difference step: truncation ~1e-12, rounding ~1e-10


@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one intra-op thread: the theory's vectors hold ~10³ numbers, too few to split, and a
    busy machine makes the thread pool's hand-offs cost milliseconds per call (tanh: 8 ms instead of 20 µs)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _key(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


@dataclass(frozen=True, eq=False)
class Sigma:
    """σ with its parameters; ``fn`` maps a float64 tensor to a float64 tensor."""

    name: str
    params: dict[str, Any]
    fn: Callable[[torch.Tensor], torch.Tensor] = field(repr=False, compare=False)

    @property
    def label(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
        return f"{self.name}({args})" if args else self.name

    @property
    def cache_key(self) -> tuple[Any, ...]:
        # the registered factory is part of the key: re-registering a user activation invalidates caches
        return (self.name, _key(self.params), activations.entry(self.name))

    def values(self, z: np.ndarray) -> np.ndarray:
        with torch.no_grad(), single_thread():
            out = self.fn(torch.tensor(z, dtype=torch.float64))
        return np.asarray(out.detach().to(torch.float64).numpy(), dtype=np.float64)

    def values_and_slopes(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """σ(z) and σ'(z)."""
        zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
        try:
            with single_thread():
                y = self.fn(zt)
                if y.requires_grad:
                    (dy,) = torch.autograd.grad(y.sum(), zt)
                    return y.detach().numpy().astype(np.float64), dy.numpy().astype(np.float64)
        except RuntimeError:  # not traceable by autograd (numpy inside, in-place ops...)
            pass
        step = _FD_STEP * np.maximum(1.0, np.abs(z))
        slope = (self.values(z + step) - self.values(z - step)) / (2.0 * step)
        return self.values(z), slope

    def taylor_at_zero(self) -> tuple[float, float | None, float | None, float | None]:
        """σ(0), σ'(0), σ''(0), σ'''(0); derivatives are None where σ has a kink at 0."""
        s0 = float(self.values(np.zeros(1))[0])
        h = _FD_STEP
        right = (float(self.values(np.array([h]))[0]) - s0) / h
        left = (s0 - float(self.values(np.array([-h]))[0])) / h
        if abs(right - left) > 1e-4 * max(1.0, abs(right), abs(left)):
            return s0, None, None, None
        derivs = _autograd_derivatives(self.fn, 3)
        if derivs is None:
            derivs = _finite_difference_derivatives(self.values)
        return s0, derivs[0], derivs[1], derivs[2]


def _autograd_derivatives(fn: Callable[[torch.Tensor], torch.Tensor], order: int) -> list[float] | None:
    z = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    out: list[float] = []
    try:
        y = fn(z)
        if not y.requires_grad:  # computed outside autograd's sight (numpy, detach)
            return None
        for _ in range(order):
            if not y.requires_grad:  # piecewise-constant derivative: every higher one is 0 here
                out.append(0.0)
                y = torch.zeros_like(z)
                continue
            (y,) = torch.autograd.grad(y.sum(), z, create_graph=True)
            out.append(float(y.detach()[0]))
    except RuntimeError:
        return None
    return out


def _finite_difference_derivatives(values: Callable[[np.ndarray], np.ndarray]) -> list[float]:
    h = 1e-3
    f = values(np.array([-2 * h, -h, 0.0, h, 2 * h]))
    d1 = (f[0] - 8 * f[1] + 8 * f[3] - f[4]) / (12 * h)
    d2 = (-f[0] + 16 * f[1] - 30 * f[2] + 16 * f[3] - f[4]) / (12 * h * h)
    d3 = (-f[0] + 2 * f[1] - 2 * f[3] + f[4]) / (2 * h**3)
    return [float(d1), float(d2), float(d3)]


def resolve(activation: str, params: dict[str, Any]) -> Sigma:
    """Look up a registered activation; a bad name or parameter is a ValueError naming it."""
    if not isinstance(activation, str):
        raise ValueError(f"activation {activation!r} is invalid: give a registered activation name")
    try:
        module = activations.get(activation, **params)
    except TypeError as exc:  # an unexpected keyword: name the parameter the user got wrong
        raise ValueError(f"activation {activation!r} does not take parameters {params}: {exc}") from None
    probe = module(torch.linspace(-1.0, 1.0, 5, dtype=torch.float64))
    if probe.dtype != torch.float64 or probe.shape != (5,):
        raise ValueError(f"activation {activation!r} must map a float64 tensor elementwise to float64")
    if not torch.isfinite(probe).all() or not math.isfinite(float(probe.sum())):
        raise ValueError(f"activation {activation!r} is not finite on [-1, 1]")
    return Sigma(activation, dict(params), module)
