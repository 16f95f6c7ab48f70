"""docs/cluster.md's recipes, run: the Slurm script submitted to a one-node Slurm (slurmctld and slurmd on this
machine), the KubeRay manifest parsed and its job command run against a loopback Ray cluster of two nodes."""

import argparse
import contextlib
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from optnas.cli.search_cmd import add_arguments
from optnas.search import open_storage

sys.path.insert(0, str(Path(__file__).parent))  # loopback.py, beside this file
from loopback import free_port, ray_nodes

DOC = Path(__file__).resolve().parents[2] / "docs" / "cluster.md"


def recipe(name: str) -> str:
    """The fenced block that follows ``<!-- recipe: NAME -->`` in docs/cluster.md."""
    match = re.search(rf"<!-- recipe: {name} -->\n```\w+\n(.*?)```", DOC.read_text(), re.S)
    assert match, f"no '{name}' recipe in {DOC}"
    return match.group(1)


def job_command() -> str:
    """The optnas command of the KubeRay job (inside ``sh -c '...'``)."""
    (line,) = [x for x in recipe("kuberay-job").splitlines() if "optnas search" in x]
    return re.search(r"sh -c '(.*)'", line).group(1)


def _has_artifacts_flag() -> bool:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return any("--artifacts" in a.option_strings for a in parser._actions)


# what the recipes' shell variables hold, to parse their optnas lines as the shell would pass them
SAMPLE = {"SPACE": "space.yaml", "head_ip": "10.0.0.1", "port": "6379", "TRIALS": "1000", "GPUS_PER_TRIAL": "0.25",
          "OPTNAS_STORAGE": "postgresql://u:p@db:5432/optnas", "OPTNAS_ARTIFACTS": "s3://bucket/optnas"}


def _search_argv(command: str) -> list[str]:
    text = re.sub(r"\$(\w+)", lambda m: SAMPLE[m.group(1)], command.replace("\\\n", " "))
    argv = shlex.split(text)
    return argv[argv.index("search") + 1 :]


def test_recipes_parse_and_name_real_flags():
    script = recipe("slurm")
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
    manifest = yaml.safe_load(recipe("kuberay"))
    assert (manifest["apiVersion"], manifest["kind"]) == ("ray.io/v1", "RayCluster")
    (workers,) = manifest["spec"]["workerGroupSpecs"]
    (container,) = workers["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1" and workers["minReplicas"] == 0
    env = {e["name"] for e in container["env"]}
    command = job_command()
    for name in ("OPTNAS_STORAGE", "OPTNAS_ARTIFACTS"):
        assert name in env and f'"${name}"' in command and f'"${name}"' in script
    slurm_line = script[script.index("optnas search") :]
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    for argv in (_search_argv(command), _search_argv(slurm_line)):
        if not _has_artifacts_flag():  # the flag of the artifact stores, built beside this work
            i = argv.index("--artifacts")
            del argv[i : i + 2]
        args = parser.parse_args(argv)
        assert args.backend == "ray" and args.ray_address and args.storage


def _space(tmp_path: Path, name: str, texts) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(texts.FAST.replace("trials: 4", "trials: 2"))
    return path


def _artifacts(text: str, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """The text with ``--artifacts`` kept (a folder store) where this checkout has the flag, else dropped."""
    if _has_artifacts_flag():
        return text, {"OPTNAS_ARTIFACTS": str(tmp_path / "artifacts")}
    return text.replace('--artifacts "$OPTNAS_ARTIFACTS"', ""), {"OPTNAS_ARTIFACTS": str(tmp_path / "artifacts")}


def _complete(url: str, study: str) -> list:
    trials = optuna.load_study(study_name=study, storage=open_storage(url)).trials
    return [t for t in trials if t.state == TrialState.COMPLETE]


@pytest.mark.slow
def test_kuberay_job_command_on_two_loopback_nodes(tmp_path, postgres_url, texts):
    command, env = _artifacts(job_command(), tmp_path)
    space = _space(tmp_path, "kuberay", texts)
    command = command.replace("/spaces/space.yaml", str(space)) + " --trials 2 --gpus-per-trial 0"
    with ray_nodes(head_gpus=2) as cluster:
        cluster.add_node(gpus=1)
        env = {**os.environ, **cluster.env, **env, "OPTNAS_STORAGE": postgres_url, "RAY_ADDRESS": cluster.address,
               "OPTNAS_RAY_STORAGE": str(tmp_path / "ray")}
        done = subprocess.run(["sh", "-c", command], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(_complete(postgres_url, "kuberay")) == 2


# -- a one-node Slurm on this machine -------------------------------------------------------------------

SLURM_BINS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "scontrol")


def _slurm_unavailable() -> str | None:
    missing = [b for b in SLURM_BINS if shutil.which(b) is None and not Path("/usr/sbin", b).exists()]
    if missing:
        return f"no {', '.join(missing)} (apt-get install slurm-wlm)"
    if os.geteuid() != 0:
        return "slurmd runs jobs as their user only when started as root"
    return None


def _bin(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


@pytest.fixture
def slurm() -> Iterator[dict[str, str]]:
    """munged, slurmctld and slurmd with a private config, state and ports; the environment for sbatch."""
    why = _slurm_unavailable()
    if why:
        pytest.skip(why)
    base = Path(tempfile.mkdtemp(prefix="optnas-slurm-", dir="/tmp"))
    (base / "munge").mkdir(mode=0o700)
    for sub in ("state", "spool", "log"):
        (base / sub).mkdir()
    host = socket.gethostname()
    subprocess.run([_bin("mungekey"), "-c", "-k", str(base / "munge/key"), "-f"], check=True, capture_output=True)
    munge = ["--socket", str(base / "munge/sock"), "--key-file", str(base / "munge/key"),
             "--pid-file", str(base / "munge/pid"), "--log-file", str(base / "munge/log"),
             "--seed-file", str(base / "munge/seed")]
    subprocess.run([_bin("munged"), "--force", *munge], check=True, capture_output=True)
    conf = base / "slurm.conf"
    conf.write_text(f"""ClusterName=optnas
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
AuthInfo=socket={base}/munge/sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool
SlurmctldPidFile={base}/slurmctld.pid
SlurmdPidFile={base}/slurmd.pid
SlurmctldLogFile={base}/log/slurmctld.log
SlurmdLogFile={base}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} State=UNKNOWN
PartitionName=batch Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    try:
        subprocess.run([_bin("slurmctld"), "-f", str(conf)], check=True, env=env)
        subprocess.run([_bin("slurmd"), "-f", str(conf)], check=True, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True).stdout
            if state.strip() == "idle":
                break
            time.sleep(1)
        yield env
    finally:
        for pid_file in (base / "slurmd.pid", base / "slurmctld.pid", base / "munge/pid"):
            with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
        time.sleep(1)
        shutil.rmtree(base, ignore_errors=True)


def _job_state(job: str, env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run(["scontrol", "show", "job", "-o", job], env=env, capture_output=True, text=True).stdout
    return dict(kv.split("=", 1) for kv in out.split() if "=" in kv)


@pytest.mark.slow
def test_slurm_script_submitted_to_a_one_node_slurm(tmp_path, postgres_url, texts, slurm):
    script, extra = _artifacts(recipe("slurm"), tmp_path)
    script = "\n".join(x for x in script.splitlines() if not x.startswith("#SBATCH --gpus-per-task"))
    path = tmp_path / "optnas.sbatch"
    path.write_text(script)
    ray_temp = tempfile.mkdtemp(prefix="optnas-sr-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    env = {
        **slurm, **extra, "OPTNAS_STORAGE": postgres_url, "OPTNAS_RAY_STORAGE": str(tmp_path / "ray"),
        "SPACE": str(_space(tmp_path, "slurm", texts)), "TRIALS": "2", "GPUS_PER_TRIAL": "0",
        "RAY_HEAD_IP": "127.0.0.1", "RAY_PORT": str(free_port()), "RAY_TEMP": ray_temp,
        "RAY_START_ARGS": f"--dashboard-agent-listen-port={free_port()} --metrics-export-port={free_port()} "
        "--object-store-memory=100000000",
        "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16),
    }
    out = tmp_path / "job.out"
    submitted = subprocess.run(
        ["sbatch", "--parsable", "--nodes=1", f"--cpus-per-task={os.cpu_count()}", f"--output={out}", str(path)],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True,
    )
    job = submitted.stdout.strip().split(";")[0]
    try:
        deadline = time.time() + 600
        state: dict[str, str] = {}
        while time.time() < deadline:
            state = _job_state(job, env)
            if state.get("JobState") in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"):
                break
            time.sleep(2)
        log = out.read_text() if out.exists() else ""
        assert state.get("JobState") == "COMPLETED" and state.get("ExitCode") == "0:0", (state, log[-3000:])
        assert len(_complete(postgres_url, "slurm")) == 2
    finally:
        subprocess.run(["scancel", job], env=env, capture_output=True)
        _stop_ray_under(ray_temp)


def _stop_ray_under(temp: str) -> None:
    """Kill what this job's Ray left (processes whose command line names its temp folder), then remove it."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if temp in cmd:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)
    shutil.rmtree(temp, ignore_errors=True)
