"""Which store a search uses (`optnas.storage.artifacts.choose`), and where its Ray checkpoints go: the rules of
docs/storage.md, without a server."""

from pathlib import Path

import pytest

from optnas.errors import UsageError
from optnas.search.ray.cluster import experiment_root
from optnas.storage import artifacts
from tests._support.cli import run_cli


def test_defaults_beside_a_file_storage_and_a_database_needs_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert artifacts.choose(str(tmp_path / "runs" / "j.log"), None) == str(tmp_path / "runs" / "artifacts")
    assert artifacts.choose(f"sqlite:///{tmp_path / 'db' / 'r.db'}", None) == str(tmp_path / "db" / "artifacts")
    with pytest.raises(UsageError, match=r"'postgresql://u:\*\*\*@h/db' is a database .* --artifacts local if every"):
        artifacts.choose("postgresql://u:secret@h/db", None)
    assert artifacts.choose("postgresql://h/db", "local") == str(tmp_path / "optnas-runs" / "artifacts")
    assert artifacts.choose("postgresql://h/db", "shared/a/") == str(tmp_path / "shared" / "a")
    assert artifacts.choose("postgresql://h/db", "s3://bkt/p/q/") == "s3://bkt/p/q"


@pytest.mark.parametrize(("url", "needle"), [
    ("gs://bkt/p", "unknown scheme 'gs'; use a folder or s3://BUCKET/PREFIX"),
    ("s3:///p", "names no bucket"),
    ("  ", "is empty"),
])
def test_bad_store_urls_are_one_line_naming_the_flag(url, needle):
    with pytest.raises(UsageError, match=needle) as info:
        artifacts.choose("j.log", url)
    assert str(info.value).startswith("--artifacts") and "\n" not in str(info.value)


def test_a_database_url_given_as_the_store_is_refused_without_its_password(tmp_path):
    """A PostgreSQL URL pasted into --artifacts (a plausible slip) is named in the refusal, its password hidden."""
    space = Path(__file__).parents[2] / "search_spaces" / "rings.yaml"
    result = run_cli("search", str(space), "--storage", str(tmp_path / "j.log"),
                     "--artifacts", "postgresql+psycopg://me:s3cr3t@db.example/runs", "--no-progress")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "--artifacts" in result.stderr and "me:***@db.example" in result.stderr
    assert "s3cr3t" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "j.log").exists()


def test_a_resumed_study_keeps_its_store():
    assert artifacts.choose("postgresql://h/db", None, recorded="s3://bkt/p") == "s3://bkt/p"
    assert artifacts.choose("postgresql://h/db", "s3://bkt/p/", recorded="s3://bkt/p") == "s3://bkt/p"
    with pytest.raises(UsageError, match="keeps its artifacts in 's3://bkt/p'"):
        artifacts.choose("postgresql://h/db", "/x", recorded="s3://bkt/p")
    assert artifacts.recorded({"artifact_dir": "/old/artifacts"}) == "/old/artifacts"  # older studies


def test_ray_checkpoints_go_inside_a_named_folder_store_else_where_they_went(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPTNAS_RAY_STORAGE", raising=False)
    journal = str(tmp_path / "runs" / "j.log")
    assert experiment_root(journal, artifacts.choose(journal, None)) == str(tmp_path / "runs" / "ray")
    assert experiment_root("postgresql://h/db", artifacts.choose("postgresql://h/db", "local")) == str(
        Path(tmp_path / "optnas-runs" / "ray"))
    assert experiment_root(journal, str(tmp_path / "nfs" / "a")) == str(tmp_path / "nfs" / "a" / "ray")
    assert experiment_root(journal, "s3://bkt/p") == str(tmp_path / "runs" / "ray")  # OPTNAS_RAY_STORAGE for S3
    monkeypatch.setenv("OPTNAS_RAY_STORAGE", "s3://bkt/ray")
    assert experiment_root(journal, str(tmp_path / "nfs" / "a")) == "s3://bkt/ray"


def test_a_read_only_folder_cannot_be_a_store(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        import os

        if os.access(folder, os.W_OK):  # root writes anyway: nothing to check here
            pytest.skip("running as root: a read-only mode does not stop writes")
        with pytest.raises(UsageError, match="cannot be written: .*Permission denied"):
            artifacts.open_store(str(folder)).probe()
    finally:
        folder.chmod(0o700)
