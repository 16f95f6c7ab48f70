"""Suite-wide options: ``--device`` runs the tests that take the ``device`` fixture on that device.

    python -m pytest tests/training/test_device_paths.py --device cuda     # on a GPU machine

The default is ``cpu``, so the default run needs no GPU; benchmarks/gpu/run.py passes ``--device cuda``.
"""

from __future__ import annotations

import pytest
import torch


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--device", default="cpu", choices=("cpu", "cuda"),
                     help="device of the tests that take the `device` fixture (default cpu)")


@pytest.fixture
def device(request: pytest.FixtureRequest) -> torch.device:
    name = request.config.getoption("--device")
    if name == "cuda" and not torch.cuda.is_available():
        pytest.fail("--device cuda: torch sees no CUDA device here")
    return torch.device(name)
