"""Input shapes (batch excluded): (features,) vectors, (channels, H, W) images, (tokens, features) tokens."""

from __future__ import annotations

from collections.abc import Sequence

from ._validate import is_integer

KIND_BY_RANK = {1: "vector", 2: "token", 3: "image"}


def check_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(input_shape) if isinstance(input_shape, Sequence) and not isinstance(input_shape, str) else None
    if not shape or len(shape) not in KIND_BY_RANK or not all(
        is_integer(d) and d >= 1 for d in shape
    ):
        raise ValueError(
            f"input_shape={input_shape!r} is invalid: use (features,), (tokens, features) or "
            "(channels, height, width) with positive integers"
        )
    return shape


def input_kind(input_shape: Sequence[int]) -> str:
    return KIND_BY_RANK[len(check_shape(input_shape))]


def state_features(input_shape: Sequence[int]) -> int:
    """The per-position input dimension the state must lift above: features, or channels for images."""
    shape = check_shape(input_shape)
    return shape[0] if len(shape) == 3 else shape[-1]
