"""PostgreSQL: the dashboard's sessions are read-only transactions, and its fast reader matches Optuna's API.

A real server: the session's `postgres_url` fixture (tests/conftest.py).
"""

from __future__ import annotations

import uuid

import optuna
import pytest

from optnas.dashboard import StudySource
from optnas.storage._rdb import FastRDBStudy


def test_postgres_is_read_only_and_read_fast(postgres_url, edge_study_maker):
    name = f"dash_{uuid.uuid4().hex[:8]}"
    edge_study_maker(postgres_url, name)
    try:
        source = StudySource(postgres_url)
        assert name in source.names()
        study = source.study(name)
        assert isinstance(study, FastRDBStudy)
        truth = optuna.load_study(study_name=name, storage=postgres_url).get_trials(deepcopy=False)
        got = study.get_trials(deepcopy=False)
        assert [(t.number, t.state, t.values, t.user_attrs, t.datetime_start) for t in got] == [
            (t.number, t.state, t.values, t.user_attrs, t.datetime_start) for t in truth
        ]
        assert len(source.frame(name)) == 6
        with pytest.raises(optuna.exceptions.StorageInternalError) as refused:
            optuna.load_study(study_name=name, storage=source.storage).set_user_attr("x", 1)
        assert "read-only transaction" in str(refused.value.__cause__)
        with pytest.raises(optuna.exceptions.StorageInternalError) as refused:
            optuna.create_study(study_name=f"{name}_new", storage=source.storage)
        assert "read-only transaction" in str(refused.value.__cause__)
        assert f"{name}_new" not in optuna.get_all_study_names(postgres_url)
    finally:
        optuna.delete_study(study_name=name, storage=postgres_url)
