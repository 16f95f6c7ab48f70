"""Small, fast search spaces for tests (real tasks, real storages, 1-2 epochs)."""

from tests._support.fixtures import _lock_dir, write_space  # noqa: F401 (fixtures this folder uses)


