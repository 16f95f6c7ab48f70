"""Exceptions at optnas's public boundary."""

from __future__ import annotations


class OptnasError(Exception):
    """Base class of optnas's own errors."""


class UsageError(OptnasError, ValueError):
    """Bad input from a user (file, flag, name, value): the CLI prints it on one line and exits 2."""
