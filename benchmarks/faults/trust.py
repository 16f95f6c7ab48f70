"""Trust cases of the fault soak (issue 30): hostile journals, space-file bombs, write errors on export and
report, cut-tail reads and mismatched lock folders, each through the real `optnas` console script.

    nice python benchmarks/faults/trust.py --out benchmarks/faults/results-trust.json     # ~1-2 min, 2 cores

Every case counts: code run (a file the hostile plugin creates, the Zen of Python printed), tracebacks on
stderr, half-written outputs (anything left where a failed command was to write), and whether the command
answered as it should (exit code and one line). Needs root for the tmpfs mounts (else those cases are
skipped, saying why).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.artifacts import FileSystemArtifactStore, upload_artifact
from safetensors.torch import save_model

OPTNAS = str(Path(sys.executable).parent / "optnas")
ROOT = str(Path(__file__).resolve().parents[2])
EVIL = "import pathlib\npathlib.Path('PWNED').write_text('code ran')\n"
GOOD = """\
task: {name: rings, params: {n_samples: 300}}
train: {epochs: 1, batch_size: 32}
space:
  algorithm: {gd: {}}
  block: {mlp2: {hidden: [8]}}
  depth: 2
  width: [8]
trials: 1
"""
LAUGHS = "\n".join(["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
                   + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)])
SLOW = GOOD.replace("epochs: 1", "epochs: 400").replace("n_samples: 300", "n_samples: 3000").replace(
    "batch_size: 32", "batch_size: 16").replace("trials: 1", "trials: 2")


def _env(folder: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OPTNAS_PLUGINS")}
    return {**env, "PYTHONPATH": ROOT, "OPTNAS_LOCK_DIR": str(folder / "locks"), "OPTNAS_TORCH_THREADS": "1",
            **extra}


def _cli(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OPTNAS, *args], cwd=folder, env=_env(folder, **env), capture_output=True, text=True,
                          timeout=600, check=False)


def _study(folder: Path, plugins: list[str] | None = None) -> Path:
    import optnas

    journal = folder / "runs" / "journal.log"
    artifacts = folder / "runs" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    study = optuna.create_study(study_name="s", storage=storage, directions=["maximize"])
    meta: dict[str, Any] = {"task": {"name": "rings", "params": {}, "input_shape": [2], "num_outputs": 3},
                            "objectives": [{"name": "val_metric", "direction": "maximize"}],
                            "artifact_dir": str(artifacts.resolve())}
    if plugins is not None:
        meta["plugins"] = plugins
    study.set_user_attr("optnas", meta)
    spec = optnas.ArchSpec(algorithm="gd", depth=2, width=4)
    trial = study.ask()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.safetensors"
        save_model(optnas.build(spec, (2,), 3), str(path))
        weights = upload_artifact(artifact_store=FileSystemArtifactStore(str(artifacts)), file_path=str(path),
                                  study_or_trial=trial)
    for key, value in {"spec": spec.to_dict(), "status": "complete", "weights": weights,
                       "metrics": {"val_metric": 0.5}}.items():
        trial.set_user_attr(key, value)
    study.tell(trial, [0.5])
    return journal


def _case(name: str, done: subprocess.CompletedProcess[str], *, want: int, one_line: bool, code_ran: bool = False,
          left: list[str] | None = None, said: str = "") -> dict[str, Any]:
    lines = done.stderr.strip().splitlines()
    ok = done.returncode == want and (not one_line or len(lines) == 1) and (said in done.stderr)
    return {"case": name, "exit": done.returncode, "ok": ok, "code_run": int(code_ran),
            "tracebacks": int("Traceback" in done.stderr), "half_written": len(left or []),
            "stderr": lines[-1][:300] if lines else ""}


def hostile(work: Path) -> list[dict[str, Any]]:
    rows = []
    for command in ("export", "report", "dashboard"):
        folder = work / f"hostile-{command}"
        folder.mkdir()
        (folder / "evilplug.py").write_text(EVIL)
        _study(folder, ["evilplug", "this"])
        args = {"export": ["--study", "s", "--out", "out"], "report": ["--study", "s", "-o", "r.html"],
                "dashboard": ["--port", "18123"]}[command]
        done = _cli(folder, command, "--storage", "runs/journal.log", *args)
        ran = (folder / "PWNED").exists() or "Beautiful is better" in done.stdout + done.stderr
        left = [p for p in ("out", "r.html") if (folder / p).exists()]
        rows.append(_case(f"hostile journal: {command}", done, want=2, one_line=True, code_ran=ran, left=left,
                          said="--trust-plugins"))
    folder = work / "hostile-load"
    folder.mkdir()
    (folder / "evilplug.py").write_text(EVIL)
    _study(folder, ["evilplug", "this"])
    code = ("import sys, optnas.results\nfrom optnas.dashboard.app import create_app\n"
            "df = optnas.results.load('runs/journal.log', 's'); create_app('runs/journal.log')\n"
            "print(len(df), 'evilplug' in sys.modules, 'this' in sys.modules)")
    done = subprocess.run([sys.executable, "-P", "-c", code], cwd=folder, env=_env(folder), capture_output=True,
                          text=True, timeout=600, check=False)
    ran = (folder / "PWNED").exists() or "True" in done.stdout or "Beautiful" in done.stdout
    rows.append(_case("hostile journal: results.load + create_app", done, want=0, one_line=False, code_ran=ran))
    return rows


def bombs(work: Path) -> list[dict[str, Any]]:
    rows = []
    cases = {
        "billion laughs at task:": LAUGHS + "\ntask: *a9\n" + GOOD.split("\n", 1)[1],
        "12.5M-item width list (aliases)": "c: &c [" + ", ".join(["8"] * 50) + "]\nd: &d [" + ", ".join(["*c"] * 50)
        + "]\n" + GOOD.replace("width: [8]", "width: [" + ", ".join(["*d"] * 5000) + "]"),
        "duplicate key in space": GOOD.replace("  depth: 2\n", "  depth: 2\n  depth: 3\n"),
        "epochs 10^23": GOOD.replace("epochs: 1", "epochs: 99999999999999999999999"),
        "NUL byte": GOOD + "\0\n",
    }
    for name, text in cases.items():
        folder = work / f"bomb-{len(rows)}"
        folder.mkdir()
        (folder / "s.yaml").write_bytes(text.encode())
        start = time.perf_counter()
        done = _cli(folder, "search", "s.yaml")
        row = _case(f"space file: {name}", done, want=2, one_line=True,
                    left=["optnas-runs"] if (folder / "optnas-runs").exists() else [])
        row["wall_s"] = round(time.perf_counter() - start, 2)  # includes the interpreter and torch import
        row["stderr_bytes"] = len(done.stderr)
        rows.append(row)
    return rows


def _mount(size: str, read_only: bool = False) -> Path | str:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return "mounting a tmpfs needs root and mount(8)"
    where = Path(tempfile.mkdtemp(prefix="optnas-trust-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True,
                          check=False)
    if done.returncode != 0:
        where.rmdir()
        return done.stderr.decode().strip()
    if read_only:
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
    return where


def _umount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], check=False)
    where.rmdir()


def write_errors(work: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    folder = work / "writes"
    folder.mkdir()
    journal = _study(folder)
    for label, size, ro, leave in (("full disk", "256k", False, 12_000), ("read-only mount", "64k", True, 0)):
        disk = _mount(size, ro)
        if isinstance(disk, str):
            rows.append({"case": f"export/report on a {label}", "skipped": disk})
            continue
        try:
            if leave:
                (disk / "filler").write_bytes(b"\0" * max(0, shutil.disk_usage(disk).free - leave))
            for command, args in (("export", ["--study", "s", "--out", str(disk / "best")]),
                                  ("report", ["--study", "s", "-o", str(disk / "r.html")])):
                done = _cli(folder, command, "--storage", str(journal), *args)
                left = [p.name for p in disk.iterdir() if p.name != "filler"]
                rows.append(_case(f"{command} on a {label}", done, want=2, one_line=True, left=left,
                                  said="nothing was written"))
        finally:
            _umount(disk)
    for command, args, target in (("export", ["--study", "s", "--out"], "best-link"),
                                  ("report", ["--study", "s", "-o"], "r-link.html")):
        (folder / target).symlink_to(folder / "gone" / target)
        done = _cli(folder, command, "--storage", str(journal), *args, target)
        rows.append(_case(f"{command} onto a dangling symlink", done, want=2, one_line=True,
                          left=["gone"] if (folder / "gone").exists() else [], said="dangling symbolic link"))
    return rows


def cut_tail(work: Path) -> list[dict[str, Any]]:
    rows = []
    folder = work / "cut"
    folder.mkdir()
    journal = _study(folder)
    data = journal.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    journal.write_bytes(data[: start + 20])
    for command, args in (("report", ["--study", "s", "-o", "r.html"]), ("export", ["--study", "s", "--out", "o"])):
        done = _cli(folder, command, "--storage", str(journal), *args)
        said = [line for line in done.stderr.splitlines() if "record cut mid-write" in line]
        row = _case(f"cut tail: {command}", done, want=done.returncode, one_line=False)
        row["ok"] = len(said) == 1 and "--resume" in said[0]
        rows.append(row)
    code = "import optnas.results\noptnas.results.load('runs/journal.log', 's')"
    done = subprocess.run([sys.executable, "-c", code], cwd=folder, env=_env(folder), capture_output=True,
                          text=True, timeout=600, check=False)
    row = _case("cut tail: results.load", done, want=0, one_line=False, said="CutJournalWarning")
    rows.append(row)
    return rows


def lock_folders(work: Path) -> list[dict[str, Any]]:
    folder = work / "locks"
    folder.mkdir()
    (folder / "s.yaml").write_text(SLOW)
    run = ["search", "s.yaml", "--storage", "runs/j.log", "--no-progress"]
    first = subprocess.Popen([OPTNAS, *run], cwd=folder, env=_env(folder, OPTNAS_LOCK_DIR=str(folder / "a")),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            journal = folder / "runs" / "j.log"
            if journal.exists() and b'"op_code":4' in journal.read_bytes():  # a trial was created
                break
            time.sleep(0.5)
        done = _cli(folder, *run, "--resume", OPTNAS_LOCK_DIR=str(folder / "b"))
        row = _case("resume with another OPTNAS_LOCK_DIR while the search runs", done, want=2, one_line=True,
                    said="would fail each other's trials")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        _, err = first.communicate(timeout=60)
    row["tracebacks"] += int("Traceback" in err)
    return [row]


CASES = {"hostile": hostile, "bombs": bombs, "writes": write_errors, "cut_tail": cut_tail, "locks": lock_folders}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--only", default=",".join(CASES), help=f"comma-separated subset of {', '.join(CASES)}")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows: list[dict[str, Any]] = []
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="optnas-trust-") as tmp:
        for name in args.only.split(","):
            rows += CASES[name](Path(tmp))
    run = [r for r in rows if "skipped" not in r]
    totals = {k: sum(r[k] for r in run) for k in ("code_run", "tracebacks", "half_written")}
    totals["not_ok"] = sum(not r["ok"] for r in run)
    print(f"{'case':60} exit ok code tb half")
    for r in rows:
        if "skipped" in r:
            print(f"{r['case']:60} skipped: {r['skipped']}")
        else:
            print(f"{r['case']:60} {r['exit']:4} {int(r['ok']):2} {r['code_run']:4} {r['tracebacks']:2} "
                  f"{r['half_written']:4}")
    print("totals:", totals)
    if args.out:
        Path(args.out).write_text(json.dumps({
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start)), "wall_s": round(time.time() - start),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
            "totals": totals, "cases": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
