"""optnas's version: the one place it is written (pyproject.toml reads it from here; studies record it)."""

__version__ = "0.1.0"
