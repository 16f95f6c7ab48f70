"""Shared settings of the training tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # The models here are tiny: with several intra-op threads, per-op synchronisation dominates, and on a
    # busy machine spinning threads slow runs down many times over. One thread keeps timings stable.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
