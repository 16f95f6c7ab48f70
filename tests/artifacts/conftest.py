"""A real S3 API server on loopback (moto's server mode, on a free port) for the artifact-store tests.

`s3` gives each test its own bucket and points this process and its children at the server through the
environment, as boto3 reads it (``AWS_ENDPOINT_URL``, keys, region; no profile or config file of the machine).
"""

import textwrap
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests._support.fixtures import _lock_dir  # noqa: F401 (every test its own lock folder)
from tests._support.processes import free_port
from tests._support.spaces import fast_space

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

FAST = fast_space(epochs=3, trials=3)


@pytest.fixture(scope="session")
def s3_endpoint():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def aws_env(monkeypatch: pytest.MonkeyPatch, endpoint: str, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "optnas-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "optnas-test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def s3(s3_endpoint, monkeypatch, tmp_path):
    """A fresh bucket on the session's server; ``client`` reads it behind optnas's back."""
    aws_env(monkeypatch, s3_endpoint, tmp_path)
    bucket = f"optnas-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3")
    client.create_bucket(Bucket=bucket)
    return SimpleNamespace(endpoint=s3_endpoint, bucket=bucket, client=client, url=f"s3://{bucket}/runs/a")


@pytest.fixture
def aws():
    """The helpers a test that starts its own server needs: ``free_port()``, ``env(monkeypatch, endpoint, tmp)``."""
    return SimpleNamespace(free_port=free_port, env=aws_env)


@pytest.fixture
def write_space(tmp_path: Path):  # the shared one's, with this folder's FAST (3 epochs, 3 trials)
    def write(text: str = FAST, name: str = "fast.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write
