"""The fast RDB reader is the one place optnas reads Optuna's internals, and only for the versions it was
checked against: a new Optuna fails here (re-check ``optnas/storage/_rdb.py``, then widen its range)."""

from __future__ import annotations

import ast
from pathlib import Path

import optuna
import sqlalchemy
from optuna.storages import RDBStorage
from packaging.version import Version

from optnas.storage import _rdb
from optnas.storage._rdb import SUPPORTED as RDB_OPTUNA

PACKAGE = Path(__file__).resolve().parents[2] / "optnas"
# the RDB schema (Optuna's alembic head) whose tables, columns and value encoding `_rdb` reads
CHECKED_SCHEMA = "v3.2.0.a"


def test_installed_optuna_is_a_checked_version():
    assert Version(optuna.__version__) in RDB_OPTUNA, (
        f"Optuna {optuna.__version__} is outside the range optnas/storage/_rdb.py was checked against "
        f"({RDB_OPTUNA}): compare its reads with optuna.storages._rdb.models, then widen SUPPORTED")
    assert _rdb.AVAILABLE  # the fast reader is in use, not the fallback


def test_the_schema_read_is_the_one_checked(tmp_path):
    storage = RDBStorage(f"sqlite:///{tmp_path / 'schema.db'}")
    assert storage.get_current_version() == storage.get_head_version() == CHECKED_SCHEMA


def _private_optuna_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "optuna" and any(p.startswith("_") for p in parts[1:]):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {name}")
    return found


def test_optuna_internals_are_read_in_one_place():
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in _private_optuna_imports(path)]
    assert found and all(hit.startswith("optnas/storage/_rdb.py:") for hit in found), found


def test_the_whole_trial_writer_is_in_use_on_a_checked_version(tmp_path):
    """The Ray driver's writes (`optnas.storage.BatchWriter`) go through `_rdb.TrialWriter` on SQLite and
    PostgreSQL; the columns it writes are the schema's (a renamed column would fail here, not in a search)."""
    storage = RDBStorage(f"sqlite:///{tmp_path / 'writer.db'}")
    assert _rdb.TrialWriter.usable(storage)
    written = {
        "trials": {"number", "study_id", "state", "datetime_start", "datetime_complete"},
        "trial_params": {"trial_id", "param_name", "param_value", "distribution_json"},
        "trial_user_attributes": {"trial_id", "key", "value_json"},
        "trial_system_attributes": {"trial_id", "key", "value_json"},
        "trial_values": {"trial_id", "objective", "value", "value_type"},
        "trial_intermediate_values": {"trial_id", "step", "intermediate_value", "intermediate_value_type"},
    }
    tables = sqlalchemy.inspect(storage.engine)
    for table, columns in written.items():
        assert columns <= {c["name"] for c in tables.get_columns(table)}, table
