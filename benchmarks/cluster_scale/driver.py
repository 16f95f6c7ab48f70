"""(a) The Ray driver alone, under a simulated Tune control loop: 1,000 running trials, 10,000 in the study.

No Ray runs: this script plays Tune's control loop against optnas's own driver objects (the searcher's
`next_config`, the `StudyWriter` callback, the `Session`), as Tune calls them:

- the study is prefilled (untimed, once per storage kind, then copied for each run) with 9,000 finished
  trials (20 intermediate values, a record like a real trial's) and 1,000 RUNNING ones at staggered epochs
  (0-19 reported), all drawn from the space's real sampler and certified draws;
- the run starts as a resumed search does (`on_step_begin` with the 1,000 live trials: the driver takes them
  over), then each cycle reports one epoch of 20 running trials (`on_trial_result`), completes the trial that
  reached epoch 20 (`on_trial_complete`, a COMPLETE outcome as a worker sends it) and asks for a new one
  (`next_config`): 1,000 running trials throughout, each reporting 20 epochs;
- timed: each suggestion, each completion's and each report's time on the control loop, and each trial's
  record (`writer.finish`, wherever it runs: on the control loop before, on the writer thread after).

The same script runs the code before and after (PYTHONPATH picks it): only names both share are used.

    python benchmarks/cluster_scale/driver.py --storage postgres|journal --cycles 300 --out FILE.json
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState, create_trial

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "faults"))

SPACE = """
task: {name: rings, params: {n_samples: 300}}
train: {epochs: 20, batch_size: 64, lr: {low: 0.001, high: 0.1, log: true}}
space:
  algorithm: {gd: {}, heavy_ball: {beta: {low: 0.0, high: 0.9}}, nesterov: {beta: {low: 0.0, high: 0.9}}}
  block: {mlp2: {hidden: [8, 16, 32]}}
  activation: [relu, tanh]
  depth: {low: 2, high: 6}
  width: [4, 8, 16]
pruner: {name: none}
trials: 20000
"""
FINISHED, RUNNING, EPOCHS = 9000, 1000, 20
PG_BASE = 200  # trials written through Optuna on PostgreSQL, then copied (`prefill`)
if os.environ.get("SCALE_SMOKE"):  # a quick check of the script itself
    FINISHED, RUNNING, PG_BASE = 90, 10, 20
PSQL = "/usr/lib/postgresql/15/bin/psql"


@dataclass
class FakeTrial:
    """What optnas's driver reads of a Tune `Trial`."""

    trial_id: str
    config: dict[str, Any]
    last_result: dict[str, Any] = field(default_factory=dict)
    checkpoint: Any = None
    epoch: int = 0

    def is_finished(self) -> bool:
        return False

    def get_error(self) -> None:
        return None


def _curves(k: int, epochs: int) -> dict[str, list[float]]:
    val = [0.5 + 0.4 * (1 - 0.8**e) + 0.001 * (k % 17) for e in range(epochs)]
    return {"val_metric": val, "val_loss": [1 - v for v in val], "train_loss": [1.1 - v for v in val]}


def _draws(space: Any, n: int) -> list[tuple[dict, dict, dict]]:
    """``n`` certified draws of the space (params, distributions, the draw's user attributes)."""
    from optnas.search.space import UncertifiedDraw

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    out = []
    while len(out) < n:
        trial = study.ask()
        try:
            space.suggest(trial)
            options = space.suggest_train(trial)
        except UncertifiedDraw:
            continue
        trial.set_user_attr("train", {**options, "epochs": EPOCHS, "seed": 0})
        frozen = study.get_trials(deepcopy=False)[-1]  # the in-memory draw's record
        out.append((dict(frozen.params), dict(frozen.distributions), dict(frozen.user_attrs)))
    return out


def _template(k: int, draws: list[tuple[dict, dict, dict]]) -> optuna.trial.FrozenTrial:
    """Trial ``k`` of the prefilled study: every tenth RUNNING (at epoch (k // 10) % 20), the rest COMPLETE."""
    params, dists, attrs = draws[k % len(draws)]
    running = k % 10 == 9
    epochs = (k // 10) % EPOCHS if running else EPOCHS
    curves = _curves(k, epochs)
    record = {**attrs, "ray": {"trial_id": f"t{k}", "experiment": "bench"}}
    if not running:
        record.update(status="ok", reason="", metrics={"val_metric": curves["val_metric"][-1], "epochs": EPOCHS},
                      curves=curves, device="cpu", weights=None)
    return create_trial(
        state=TrialState.RUNNING if running else TrialState.COMPLETE,
        value=None if running else curves["val_metric"][-1],
        params=params, distributions=dists, user_attrs=record,
        intermediate_values=dict(enumerate(curves["val_metric"])),
    )


def prefill(url: str, space: Any, name: str) -> None:
    """The study of the benchmark: 9,000 COMPLETE trials and 1,000 RUNNING ones (untimed).

    A journal gets all 10,000 through Optuna. PostgreSQL gets the first 200 through Optuna, then 49 copies of
    them by SQL on Optuna's tables (trial numbers shifted by 200 each): Optuna writes ~2 trials a second on
    this loaded machine, and the copies are the same rows a slower prefill would write."""
    from optnas.search.study import create_or_resume
    open_storage = _open_storage()

    storage = open_storage(url)
    store = tempfile.mkdtemp(prefix="optnas-scale-artifacts-")
    study = create_or_resume(space, url, name, resume=False, backend=storage, store=store)
    draws = _draws(space, 200)
    base = PG_BASE if "://" in url else FINISHED + RUNNING
    for start in range(0, base, 500):
        study.add_trials([_template(k, draws) for k in range(start, min(base, start + 500))])
    if base < FINISHED + RUNNING:
        _copy_rows(url, name, base, (FINISHED + RUNNING) // base)


def _copy_rows(url: str, name: str, base: int, copies: int) -> None:
    """Trials 0..base-1 copied ``copies - 1`` times, with their params, values, intermediate values and
    attributes (the benchmark's prefill only: Optuna's own schema, read from its tables)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url.split("?", 1)[0])
    children = ["trial_params", "trial_values", "trial_intermediate_values", "trial_user_attributes",
                "trial_system_attributes"]
    with engine.begin() as db:
        sid = db.execute(sa.text("SELECT study_id FROM studies WHERE study_name = :n"), {"n": name}).scalar_one()
        db.execute(sa.text(
            "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) "
            "SELECT t.number + g * :b, t.study_id, t.state, t.datetime_start, t.datetime_complete "
            "FROM trials t, generate_series(1, :k) g WHERE t.study_id = :s AND t.number < :b ORDER BY g, t.number"),
            {"b": base, "k": copies - 1, "s": sid})
        db.execute(sa.text(
            "CREATE TEMP TABLE m AS SELECT o.trial_id AS old, n.trial_id AS new FROM trials o JOIN trials n "
            "ON n.study_id = o.study_id AND n.number % :b = o.number AND n.number >= :b "
            "WHERE o.study_id = :s AND o.number < :b"), {"b": base, "s": sid})
        for table in children:
            cols = [c["name"] for c in sa.inspect(db).get_columns(table)]
            keep = [c for c in cols if c != "trial_id" and not c.endswith("_id")]
            names = ", ".join(keep)
            db.execute(sa.text(
                f"INSERT INTO {table} (trial_id, {names}) SELECT m.new, {', '.join('c.' + c for c in keep)} "
                f"FROM {table} c JOIN m ON c.trial_id = m.old"))


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def summary(xs: list[float]) -> dict[str, Any]:
    ms = [x * 1000 for x in xs]
    return {"n": len(ms), "p50_ms": round(_pct(ms, 0.5), 2), "p99_ms": round(_pct(ms, 0.99), 2),
            "max_ms": round(max(ms), 2), "mean_ms": round(statistics.fmean(ms), 2)} if ms else {"n": 0}


def _artifacts(session_class: Any, store: str) -> dict[str, Any]:
    """The artifact store as the code's `Session` takes it: ``artifacts`` (a URL) or ``artifact_dir`` (older)."""
    names = {f.name for f in dataclasses.fields(session_class)}
    return {"artifacts": store} if "artifacts" in names else {"artifact_dir": Path(store)}


def _next_config() -> Any:
    # the Ray searcher's module was optnas.search.ray.searcher before it was renamed bridge (it hid the function
    # optnas.search.ray.searcher once imported)
    try:
        from optnas.search.ray.bridge import next_config
    except ModuleNotFoundError:
        from optnas.search.ray.searcher import next_config  # type: ignore[no-redef]
    return next_config


def _open_storage() -> Any:
    # the code before (49027b9) kept open_storage in optnas.search.storage; optnas.storage since issue 29
    try:
        from optnas.storage import open_storage
    except ModuleNotFoundError:
        from optnas.search.storage import open_storage  # type: ignore[no-redef]
    return open_storage


def run(url: str, space: Any, name: str, cycles: int, sampler: str) -> dict[str, Any]:
    """Play Tune's control loop for ``cycles`` completions; the latencies."""
    from optnas.search.ray import writer
    from optnas.search.ray.cluster import Resources
    next_config = _next_config()
    from optnas.search.ray.session import Session, bind
    from optnas.search.study import create_or_resume
    open_storage = _open_storage()

    storage = open_storage(url)
    store = tempfile.mkdtemp(prefix="optnas-scale-artifacts-")
    # the code before and after may differ in these two signatures: pass the artifact store as each takes it
    takes_store = "store" in inspect.signature(create_or_resume).parameters
    given = {"store": store} if takes_store else {}
    study = create_or_resume(space, url, name, resume=True, backend=storage, **given)
    if sampler == "random":  # the driver's own cost, without the sampler's (TPE's grows with the study)
        study.sampler = optuna.samplers.RandomSampler(seed=0)
    live = [
        FakeTrial(f"t{t.number}", {"optnas": {"number": t.number}}, epoch=len(t.intermediate_values))
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    ]
    # the seed became an explicit argument with issue 29 (the code before read it from the space)
    seeded = {"seed": space.config.seed} if "seed" in inspect.signature(Session).parameters else {}
    session = Session(space=space, **seeded, study=study, storage=storage, url=url, target=20_000,
                      deadline=None, experiment="bench", device="cpu", resources=Resources(cpu=1, gpu=0), milestones=[],
                      scheduler_name="none", **_artifacts(Session, store))
    records: list[float] = []
    original = writer.finish

    def timed_finish(*args: Any, **kw: Any) -> None:
        start = time.perf_counter()
        original(*args, **kw)
        records.append(time.perf_counter() - start)

    writer.finish = timed_finish  # type: ignore[assignment]  # the benchmark's stopwatch around the record
    cb = writer.StudyWriter()
    lat: dict[str, list[float]] = {"suggest": [], "complete": [], "report": []}
    start_run = time.perf_counter()
    with bind(session):
        t0 = time.perf_counter()
        cb.on_step_begin(0, live)
        start_s = time.perf_counter() - t0
        # round robin over the running trials, 20 reports a cycle: each trial reports 20 epochs, then
        # completes and a new trial takes its place, 1,000 running. In number order the prefilled trials'
        # epochs run 0, 1, ..., 19, 0, 1, ... (`_template`): each cycle's 20 reports hold one trial at its
        # last epoch, so every cycle completes one trial and asks for one (``--cycles`` = suggestions); in
        # order of epoch, the 50 trials at epoch 19 would all end in the first 3 cycles, then none for 47.
        queue = deque(sorted(live, key=lambda t: int(t.config["optnas"]["number"])))
        n = 0
        for cycle in range(cycles):
            for _ in range(EPOCHS):
                trial = queue.popleft()
                trial.epoch += 1
                curves = _curves(n, trial.epoch)
                result: dict[str, Any] = {"epoch": trial.epoch, "val_metric": curves["val_metric"][-1],
                                          "optnas_curves": curves}
                if trial.epoch == 1:
                    result["optnas_start"] = {"host": "h", "pid": 1, "node": "n", "node_ip": "127.0.0.1",
                                              "gpu": None, "gpu_ids": []}
                if trial.epoch < EPOCHS:
                    t0 = time.perf_counter()
                    cb.on_trial_result(0, list(queue), trial, result)
                    lat["report"].append(time.perf_counter() - t0)
                    queue.append(trial)
                    continue
                final = {"state": "COMPLETE", "values": [curves["val_metric"][-1]],
                         "attrs": {"status": "ok", "reason": "", "curves": curves, "device": "cpu",
                                   "metrics": {"val_metric": curves["val_metric"][-1], "epochs": EPOCHS}},
                         "worker_stats": {"checkpoints": 2}}
                trial.last_result = {**result, "optnas_final": final}
                t0 = time.perf_counter()
                cb.on_trial_result(0, list(queue), trial, trial.last_result)
                cb.on_trial_complete(0, list(queue), trial)
                lat["complete"].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                plan = next_config(session, f"new{n}")
                lat["suggest"].append(time.perf_counter() - t0)
                n += 1
                assert isinstance(plan, dict), plan
                queue.append(FakeTrial(f"new{n}", plan))
            if cycle % 20 == 0:
                print(f"  cycle {cycle}: {len(queue)} running, {n} suggested", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        session.close()
        close_s = time.perf_counter() - t0
    writer.finish = original  # type: ignore[assignment]
    states = [t.state for t in study.get_trials(deepcopy=False)]
    return {
        "suggest": summary(lat["suggest"]),
        "complete_on_control_loop": summary(lat["complete"]),
        "report_on_control_loop": summary(lat["report"]),
        "record": summary(records),
        "start_s": round(start_s, 2),
        "drain_at_close_s": round(close_s, 2),
        "wall_s": round(time.perf_counter() - start_run, 1),
        "study_after": {"trials": len(states), "running": states.count(TrialState.RUNNING),
                        "complete": states.count(TrialState.COMPLETE)},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--storage", choices=("postgres", "journal"), required=True)
    ap.add_argument("--cycles", type=int, default=300)
    ap.add_argument("--template", required=True, help="prefilled study: a journal file, or a PostgreSQL URL")
    ap.add_argument("--prefill", action="store_true", help="write the template (untimed) and exit")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--sampler", choices=("random", "space"), default="random",
                    help="random: the driver's own cost; space: the space's TPE, whose cost grows with the study")
    args = ap.parse_args()
    from optnas.search import SearchSpace

    work = Path(tempfile.mkdtemp(prefix="optnas-scale-"))
    (work / "space.yaml").write_text(SPACE)
    space = SearchSpace.from_yaml(work / "space.yaml")
    if args.prefill:
        t0 = time.perf_counter()
        prefill(args.template, space, "scale")
        print(f"prefilled {args.template} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        return
    if args.storage == "journal":
        url = str(work / "journal.log")
        shutil.copy(args.template, url)
    else:  # a fresh copy of the template database for each run
        base, _, _ = args.template.rpartition("/")
        db = f"run_{os.getpid()}"
        template = args.template.rsplit("/", 1)[1]
        subprocess.run([PSQL, f"{base}/postgres", "-qc", f"CREATE DATABASE {db} TEMPLATE {template}"], check=True)
        url = f"{base}/{db}"
    load_before = os.getloadavg()
    result = run(url, space, "scale", args.cycles, args.sampler)
    result.update(storage=args.storage, sampler=args.sampler, code=os.environ.get("PYTHONPATH", ""), cycles=args.cycles,
                  load_before=load_before, load_after=os.getloadavg())
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
