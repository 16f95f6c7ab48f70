"""A URL or a path: `optnas.storage.urls.url_scheme` decides, and every place that reads ``--storage``,
``--artifacts`` or ``OPTNAS_RAY_STORAGE`` follows it (opening, locks, Ray's experiment folder and its trust
check, the dashboard's shown URL, the artifact store), on real files."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from optnas.dashboard.source import StudySource
from optnas.errors import UsageError
from optnas.search.locks import study_key
from optnas.storage import DEFAULT_DIR, artifacts, hide_password, open_readonly, open_storage
from optnas.storage.urls import url_scheme

URLS = {
    "sqlite:///runs/optuna.db": "sqlite",
    "postgresql+psycopg://me:secret@127.0.0.1:1/optnas": "postgresql+psycopg",
    "s3://bucket/prefix": "s3",
}
# file paths, however much they look like URLs: a Windows drive, a folder whose name holds "://"
PATHS = ["runs/journal.log", r"C:\runs\journal.log", "C://runs/journal.log", "runs/a://b/journal.log"]


@pytest.mark.parametrize(("text", "scheme"), [*URLS.items(), *((p, None) for p in PATHS)])
def test_url_scheme(text, scheme):
    assert url_scheme(text) == scheme


@pytest.mark.parametrize("path", PATHS)
def test_a_path_is_a_journal_file_everywhere(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPTNAS_RAY_STORAGE", raising=False)
    absolute = os.path.abspath(path)
    assert type(open_storage(path)).__name__ == "JournalStorage" and Path(absolute).is_file()
    assert type(open_readonly(path)).__name__ == "JournalStorage"
    assert study_key(path, "s") == study_key(absolute, "s")  # the same journal from any folder: one lock
    assert hide_password(path) == path
    assert StudySource(path).display_url == absolute
    assert artifacts.normalize(path) == absolute
    pytest.importorskip("ray")
    from optnas.search.ray.cluster import experiment_root
    from optnas.search.ray.trust import check_experiment

    assert experiment_root(path) == str(Path(absolute).parent / "ray")
    monkeypatch.setenv("OPTNAS_RAY_STORAGE", path)
    assert experiment_root(path) == absolute
    experiment = Path(absolute).parent / "ray" / "exp"
    experiment.mkdir(parents=True)
    experiment.chmod(0o777)  # a folder others may write: a local experiment is checked, and refused
    with pytest.raises(UsageError, match="writable by others"):
        check_experiment(str(experiment))


@pytest.mark.parametrize("url", list(URLS))
def test_a_url_is_never_a_local_path(url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPTNAS_RAY_STORAGE", raising=False)
    assert study_key(url, "s") != study_key(os.path.abspath(url), "s")
    assert "secret" not in hide_password(url)
    if url.startswith("s3://"):
        assert artifacts.normalize(url + "/") == url
        with pytest.raises(UsageError, match="unknown scheme 's3'"):
            open_storage(url)
    else:
        with pytest.raises(UsageError, match=re.escape(f"unknown scheme '{url_scheme(url)}'; use a folder or s3://")):
            artifacts.normalize(url)
    pytest.importorskip("ray")
    from optnas.search.ray.cluster import experiment_root
    from optnas.search.ray.trust import check_experiment

    assert experiment_root(url) == str((DEFAULT_DIR / "ray").resolve())
    monkeypatch.setenv("OPTNAS_RAY_STORAGE", url)
    assert experiment_root(url) == url
    check_experiment(f"{url}/exp")  # nothing local to check
    assert not any(tmp_path.iterdir())  # and nothing made on the way
