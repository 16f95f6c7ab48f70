"""PostgreSQL: the dashboard's sessions are read-only transactions, and its fast reader matches Optuna's API.

Runs against OPTNAS_TEST_POSTGRES_URL if set, else a throwaway cluster started from Debian's postgresql
binaries (`.ci/run` installs them). Skips, with the reason, only when neither is possible.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from optnas.dashboard import StudySource
from optnas.dashboard._rdb import FastRDBStudy


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if os.environ.get("OPTNAS_TEST_POSTGRES_URL"):
        yield os.environ["OPTNAS_TEST_POSTGRES_URL"]
        return
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install optnas[postgres])")
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql) and no OPTNAS_TEST_POSTGRES_URL")
    bindir = os.path.dirname(bins[-1])
    run_as = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    if run_as and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as an unprivileged user")
    base = Path(tempfile.mkdtemp(prefix="optnas-dash-pg-"))  # not pytest's tmp: the server runs as postgres
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if run_as:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run([*run_as, f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres"], check=True,
                   capture_output=True)
    subprocess.run([*run_as, f"{bindir}/pg_ctl", "-D", str(data), "-w", "-l", str(base / "log"), "-o",
                    f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


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
