"""optnas search --backend ray --ray-address HOST:PORT on a real running Ray cluster (loopback)."""

import optuna
from optuna.trial import TrialState

from optnas.search import open_storage


def test_search_runs_on_a_running_cluster(ray_cluster, write_space, tmp_path, cli):
    storage = str(tmp_path / "j.log")
    proc = cli(
        "search",
        str(write_space()),
        "--backend",
        "ray",
        "--ray-address",
        ray_cluster.address,
        "--cpus-per-trial",
        "1",
        "--storage",
        storage,
        "--no-progress",
        env=ray_cluster.env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    study = optuna.load_study(study_name="fast", storage=open_storage(storage))
    assert len(study.trials) == 4 and all(t.state == TrialState.COMPLETE for t in study.trials)
    assert ray_cluster.node and {t.user_attrs["node"] for t in study.trials} == {ray_cluster.node}
    assert (tmp_path / "ray" / "fast").is_dir()  # Ray's experiment beside the journal, for --resume
