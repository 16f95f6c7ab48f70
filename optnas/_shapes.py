"""Input shapes (batch excluded) and the input kind each one is.

``(features,)`` vectors, ``(channels, height, width)`` images, ``(tokens, features)`` token sequences, and
``Signal(channels, length)`` 1-D signals. A signal and a token sequence are both two numbers, so the kind
cannot come from the rank alone: a signal shape is a `Signal` (a tuple subclass; tasks with signal inputs
declare it as their ``input_shape``), and a plain 2-tuple means tokens. Records written as JSON keep the
kind beside the shape (``"input_kind": "signal"``), and `as_shape` restores it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ._validate import is_integer

KIND_BY_RANK = {1: "vector", 2: "token", 3: "image"}
KINDS = ("vector", "token", "image", "signal")
# spatial dims the conv blocks run along, per kind (0: no conv form)
SPATIAL_DIMS = {"vector": 0, "token": 0, "image": 2, "signal": 1}


class Signal(tuple):
    """The shape ``(channels, length)`` of one 1-D signal (audio, sensors, MNIST-1D), batch excluded.

    It is a tuple (``torch.randn(8, *Signal(1, 40))`` works) that tells `optnas.build` and the certificate
    that the two numbers are channels and length, not tokens and features.

    Example:
        >>> s = Signal(1, 40)
        >>> s, s.channels, s.length, tuple(s), input_kind(s), input_kind((1, 40))
        (Signal(1, 40), 1, 40, (1, 40), 'signal', 'token')
    """

    def __new__(cls, channels: int, length: int) -> Signal:
        for name, d in (("channels", channels), ("length", length)):
            if not is_integer(d) or d < 1:
                raise ValueError(f"Signal {name}={d!r} is invalid: it must be an integer >= 1")
        return super().__new__(cls, (int(channels), int(length)))

    def __getnewargs__(self) -> tuple[int, int]:  # pickling (Ray, multiprocessing) keeps the type
        return (self[0], self[1])

    @property
    def channels(self) -> int:
        return int(self[0])

    @property
    def length(self) -> int:
        return int(self[1])

    def __repr__(self) -> str:
        return f"Signal({self[0]}, {self[1]})"


def check_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    """``input_shape`` as a tuple of positive integers (a `Signal` stays a `Signal`), or a ValueError."""
    if isinstance(input_shape, Signal):
        return input_shape
    shape = tuple(input_shape) if isinstance(input_shape, Sequence) and not isinstance(input_shape, str) else None
    if not shape or len(shape) not in KIND_BY_RANK or not all(
        is_integer(d) and d >= 1 for d in shape
    ):
        raise ValueError(
            f"input_shape={input_shape!r} is invalid: use (features,), (tokens, features), "
            "(channels, height, width) or Signal(channels, length) with positive integers"
        )
    return tuple(int(d) for d in shape)


def input_kind(input_shape: Sequence[int]) -> str:
    """"vector", "token", "image" or "signal"."""
    shape = check_shape(input_shape)
    return "signal" if isinstance(shape, Signal) else KIND_BY_RANK[len(shape)]


def as_shape(shape: Sequence[Any], kind: str | None = None) -> tuple[int, ...]:
    """A shape read back from JSON (a list) with its recorded ``kind``: ``kind="signal"`` gives a `Signal`.

    Example:
        >>> as_shape([1, 40], "signal"), as_shape([1, 40]), as_shape([1, 40], "token")
        (Signal(1, 40), (1, 40), (1, 40))
    """
    if kind == "signal":
        values = list(shape)
        if len(values) != 2:
            raise ValueError(f"input_shape={values!r} is invalid for signal inputs: use (channels, length)")
        return Signal(values[0], values[1])
    if kind is not None and kind not in KINDS:
        raise ValueError(f"input_kind={kind!r} is unknown; valid kinds: {', '.join(KINDS)}")
    return check_shape(tuple(shape))


def spatial_size(input_shape: Sequence[int]) -> tuple[int, ...] | None:
    """The size conv layers see: (H, W) of images, (L,) of signals, None for vectors and tokens."""
    shape = check_shape(input_shape)
    kind = input_kind(shape)
    return tuple(shape[1:]) if kind in ("image", "signal") else None


def state_features(input_shape: Sequence[int]) -> int:
    """The per-position input dimension the state must lift above: features, or channels for images/signals."""
    shape = check_shape(input_shape)
    return shape[0] if input_kind(shape) in ("image", "signal") else shape[-1]


def positions(input_shape: Sequence[int] | None) -> int:
    """How many positions carry a state vector: 1 (vectors), tokens, H·W (images), L (signals)."""
    if input_shape is None:
        return 1
    shape = check_shape(input_shape)
    kind = input_kind(shape)
    if kind == "vector":
        return 1
    return shape[0] if kind == "token" else math.prod(shape[1:])
