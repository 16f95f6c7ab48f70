"""Artifact stores on a real S3 API server (moto, loopback): searches write there, any folder reads it back.

The readers run in another working directory, beside no artifact folder: they find the store from the study's
record alone (`optnas.storage.artifacts`), and what they read is what the trial stored, byte for byte.
"""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest
from safetensors.torch import load_file

import optnas
from optnas import results
from optnas.dashboard import StudySource
from optnas.export import load
from optnas.search import SearchSpace, run_search
from optnas.search.lifecycle import TrialEnd, record, tell, uploader
from optnas.storage import artifacts
from tests._support.cli import run_cli
from tests._support.spaces import fast_space


def _cli(*argv: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """`optnas` in its own process (the slow end-to-end runs); refusals run in-process (`run_cli`)."""
    return subprocess.run([sys.executable, "-m", "optnas", *argv], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(Path(optnas.__file__).parents[1])})


def _object(s3, key: str) -> bytes:
    return s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()


def _check_reads_back(s3, url: str, study_name: str, elsewhere: Path) -> None:
    """export, report, results and the dashboard's data, from ``elsewhere``, reproduce what the trials stored."""
    study = optuna.load_study(study_name=study_name, storage=url)
    assert study.user_attrs["optnas"]["artifacts"] == s3.url
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete and all(isinstance(t.user_attrs.get("weights"), str) for t in complete)
    keys = {o["Key"] for o in s3.client.list_objects_v2(Bucket=s3.bucket)["Contents"]}
    for t in complete:  # the weights and the curve record live under the store's prefix, nowhere else
        assert {f"runs/a/{t.user_attrs['weights']}", f"runs/a/{t.user_attrs['record']}"} <= keys
    cwd_before = set(elsewhere.iterdir())

    df = results.load(url, study_name)
    frame = StudySource(url).frame(study_name)  # the dashboard's data
    for t in complete:
        stored = json.loads(_object(s3, f"runs/a/{t.user_attrs['record']}"))["curves"]
        row = df[df["number"] == t.number].iloc[0]
        assert row["curves"] == stored == frame[frame["number"] == t.number].iloc[0]["curves"]
        # the curves are the trial's own: its reported intermediate values are the per-epoch val_metric
        assert [t.intermediate_values[e] for e in sorted(t.intermediate_values)] == stored["val_metric"]
        assert len(stored["val_metric"]) == 3

    best = study.best_trial
    out = elsewhere / "exported"
    proc = _cli("export", "--storage", url, "--study", study_name, "--out", str(out), cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    exported = load_file(str(out / "weights.safetensors"))
    original = _object(s3, f"runs/a/{best.user_attrs['weights']}")
    (elsewhere / "original.safetensors").write_bytes(original)
    stored_weights = load_file(str(elsewhere / "original.safetensors"))
    assert exported.keys() == stored_weights.keys()
    assert all(bool((exported[k] == stored_weights[k]).all()) for k in exported)
    model = load(out)  # the exported module scores the trial's recorded validation accuracy
    x, y = optnas.tasks.get("rings", n_samples=300).tensors("val")
    acc = (model.eval()(x).argmax(1) == y).float().mean().item()
    assert acc == pytest.approx(best.value, abs=1e-6)

    report = elsewhere / "report.html"
    proc = _cli("report", "--storage", url, "--study", study_name, "-o", str(report), cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert "Learning curves" in report.read_text()
    assert not (elsewhere / "optnas-runs").exists()  # nothing was looked for, or made, in a local folder
    assert set(elsewhere.iterdir()) - cwd_before == {out, elsewhere / "original.safetensors", report}


@pytest.mark.slow  # four CLI processes of their own (search with two workers, export, report)
def test_jobs_2_on_sqlite_write_to_s3_and_read_back_from_elsewhere(s3, write_space, tmp_path):
    here, elsewhere = tmp_path / "machine-a", tmp_path / "machine-b"
    here.mkdir(), elsewhere.mkdir()
    url = f"sqlite:///{tmp_path / 'db' / 'runs.db'}"
    (tmp_path / "db").mkdir()
    proc = _cli("search", str(write_space()), "--storage", url, "--artifacts", s3.url + "/", "--jobs", "2",
                "--no-progress", cwd=here)
    assert proc.returncode == 0, proc.stderr
    # nothing on either machine's disk: not beside the database, not in the working directory
    assert not (tmp_path / "db" / "artifacts").exists() and not (here / "optnas-runs").exists()
    _check_reads_back(s3, url, "fast", elsewhere)
    workers = {t.user_attrs["worker"]["pid"] for t in optuna.load_study(study_name="fast", storage=url).trials}
    assert len(workers) == 2  # both worker processes wrote to the store


@pytest.mark.slow  # a local Ray of its own, then export and report as CLI processes
def test_the_ray_backend_writes_to_s3_and_any_folder_reads_it_back(s3, write_space, tmp_path, monkeypatch):
    pytest.importorskip("ray.tune")
    monkeypatch.delenv("OPTNAS_RAY_STORAGE", raising=False)
    here, elsewhere = tmp_path / "driver", tmp_path / "laptop"
    here.mkdir(), elsewhere.mkdir()
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    proc = _cli("search", str(write_space()), "--backend", "ray", "--storage", url, "--artifacts", s3.url,
                "--no-progress", cwd=here)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "artifacts").exists() and not (here / "optnas-runs" / "artifacts").exists()
    _check_reads_back(s3, url, "fast", elsewhere)


@pytest.mark.slow  # three CLI searches
def test_the_space_file_names_the_store_and_resume_keeps_it(s3, write_space, tmp_path):
    path = write_space(fast_space(epochs=3, trials=1) + f"artifacts: {s3.url}\n", "named.yaml")
    storage = str(tmp_path / "j.log")
    proc = _cli("search", str(path), "--storage", storage, "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "artifacts").exists()
    other = _cli("search", str(path), "--storage", storage, "--trials", "2", "--resume", "--artifacts",
                 str(tmp_path / "elsewhere"), "--no-progress", cwd=tmp_path)
    assert other.returncode == 2 and other.stderr.count("\n") == 1, other.stderr
    assert "keeps its artifacts in 's3://" in other.stderr
    resumed = _cli("search", str(path), "--storage", storage, "--trials", "2", "--resume", "--no-progress",
                   cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    trials = optuna.load_study(study_name="named", storage=optnas.search.open_storage(storage)).trials
    keys = {o["Key"] for o in s3.client.list_objects_v2(Bucket=s3.bucket)["Contents"]}
    assert len(trials) == 2 and all(f"runs/a/{t.user_attrs['weights']}" in keys for t in trials)


@pytest.mark.parametrize(
    "case",
    ["no bucket", "no credentials", "no server"],
)
def test_a_store_that_cannot_be_written_is_one_line_exit_2_before_any_trial(s3, write_space, tmp_path, case,
                                                                           monkeypatch, aws):
    store = s3.url
    if case == "no bucket":
        store, needle = "s3://optnas-no-such-bucket/x", "NoSuchBucket"
    elif case == "no credentials":
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        needle = "Unable to locate credentials"
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{aws.free_port()}")  # nobody listens
        needle = "Could not connect to the endpoint URL"
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    start = time.monotonic()
    proc = run_cli("search", str(write_space()), "--storage", url, "--artifacts", store, "--no-progress",
                   cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"--artifacts '{store}' cannot be written" in proc.stderr and needle in proc.stderr, proc.stderr
    assert optuna.get_all_study_names(url) == []  # no study, so no trial
    assert time.monotonic() - start < 120


def test_a_database_with_no_store_is_refused_saying_what_to_pass(write_space, tmp_path):
    url = "postgresql://optnas:secret@127.0.0.1:9/optnas"  # refused before anything connects to it
    proc = run_cli("search", str(write_space()), "--storage", url, "--no-progress", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "--artifacts s3://BUCKET/PREFIX" in proc.stderr and "--artifacts local" in proc.stderr
    assert "secret" not in proc.stderr and not (tmp_path / "optnas-runs").exists()


def test_a_write_that_fails_mid_search_fails_that_trial_and_the_search_goes_on(monkeypatch, write_space, tmp_path,
                                                                              aws):
    """A server of its own, stopped once the first trial is stored: the later trials fail with the reason."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=aws.free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    aws.env(monkeypatch, f"http://{host}:{port}", tmp_path)
    # each later trial's upload fails at once instead of after botocore's retries (seconds of backoff each);
    # the wait for an unreachable endpoint with the default retries is the "no server" case above
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    import boto3

    boto3.client("s3").create_bucket(Bucket="optnas-fails")
    storage = str(tmp_path / "j.log")
    stopped = threading.Event()

    def stop_after_first() -> None:
        reader = optnas.search.open_storage(storage, heartbeat=False)
        while not stopped.is_set():
            names = optuna.get_all_study_names(reader)
            if names and any(t.state.is_finished() for t in optuna.load_study(study_name=names[0],
                                                                                 storage=reader).trials):
                server.stop()
                stopped.set()
            time.sleep(0.05)

    watcher = threading.Thread(target=stop_after_first, daemon=True)
    watcher.start()
    try:
        space = SearchSpace.from_yaml(write_space(fast_space(epochs=3, trials=4)))
        study = run_search(space, storage=storage, artifacts="s3://optnas-fails/p", progress=False)
    finally:
        stopped.set()
        watcher.join()
    trials = study.trials
    assert len(trials) == 4 and trials[0].state == optuna.trial.TrialState.COMPLETE
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    assert failed, [t.state for t in trials]
    for t in failed:
        assert t.user_attrs["status"] == "error" and t.user_attrs["weights"] is None
        assert "could not be stored: artifact store s3://optnas-fails/p" in t.user_attrs["reason"]
        assert len(t.user_attrs["curves"]["val_metric"]) == 3  # kept inline: the trial's record is whole


def test_an_unreachable_store_is_said_by_every_reader(s3, write_space, tmp_path, monkeypatch):
    storage = str(tmp_path / "j.log")
    space = SearchSpace.from_yaml(write_space(fast_space(epochs=3, trials=1)))
    run_search(space, storage=storage, artifacts=s3.url, progress=False)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    artifacts.open_store.cache_clear()  # a new process's view: no credentials
    artifacts._read_cached.cache_clear()
    with pytest.raises(artifacts.ArtifactStoreError, match="cannot be read: NoCredentialsError"):
        results.load(storage, "fast")
    df = StudySource(storage).frame("fast")
    assert df["curves"][0] is None and "Unable to locate credentials" in df.attrs["artifacts_error"]
    for argv in (["report", "-o", str(tmp_path / "r.html")], ["export", "--out", str(tmp_path / "out")]):
        proc = run_cli(*argv, "--storage", storage, "--study", "fast", cwd=tmp_path)  # the caches cleared above
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert f"artifact store {s3.url} cannot be read" in proc.stderr
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "out").exists()


def test_an_upload_to_a_server_that_is_gone_fails_the_trial(s3, tmp_path, monkeypatch, aws):
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / "j.log")))
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{aws.free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's retries (seconds of backoff) are not the point here
    artifacts.open_store.cache_clear()
    outcome = TrialEnd("COMPLETE", [0.5], {"status": "complete", "reason": None, "curves": {"val_metric": [0.5]}})
    told = record(trial, outcome, upload=uploader(s3.url, trial, storage))
    tell(study, trial.number, told)
    artifacts.open_store.cache_clear()
    (stored,) = study.trials
    assert told.state == "FAIL" and stored.state == optuna.trial.TrialState.FAIL
    assert "Could not connect to the endpoint URL" in stored.user_attrs["reason"]
