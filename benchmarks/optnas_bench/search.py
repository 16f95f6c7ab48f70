"""Search strategies replayed on the optnas-bench tables (issues 17 and 26, item 4).

Strategies: random, TPE (Optuna's default; multivariate + group), NSGA-II, QMC, optnas's regularized
evolution and local search (`optnas.search.samplers`), GP, each without and with each screen (``+proxy``:
proxies.json's best single zero-cost proxy drops its lowest half; ``+theory``: screen.py's ``a1_positive``
rule, the theory's divergence prediction, drops superlinear activations with a1 > 0, MRePU, before
training); random, TPE, evolution and local search with median, Hyperband and successive-halving pruning.
Targets are stated in noise units (`optnas.bench.stats`): the incumbent architecture's mean validation
accuracy (over trained seeds) within 0.5, 1 and 2 noise units (the median standard error of an
architecture's mean) of the table's best, or in its top 1% / 5%. Per strategy, table and target: trials
and simulated seconds (``train_s``) to the target per repeat, the median with a bootstrap 95% interval,
the ratio to random search's median with a paired bootstrap interval, and Wilcoxon signed-rank tests
paired by repeat seed against random search and against optnas's default (Holm over strategies). The
default sampler and pruner are chosen on MNIST-1D; every other table is a held-out check. Run from the
repository root; with no arguments, every strategy on every table optnas.bench ships, then the selection:
    python benchmarks/optnas_bench/search.py
    python benchmarks/optnas_bench/search.py --tables mnist1d_signal     # one table (processes can run side by side)
    python benchmarks/optnas_bench/search.py --tables digits --only gp gp+proxy gp+theory --gp-repeats 10
    python benchmarks/optnas_bench/search.py --select     # search.json, search.html from every search_TABLE.json
The budget (`budget`): every strategy but random gets ``--trials`` (default: TRIALS of the table), at most
half of the table's built architectures: past half the grid a search that only lists it in random order
without repeats draws any given architecture in more than half of its repeats, so a finite median would
no longer say that a strategy searched. Random search gets ``--random-trials`` (its median is measured, not
censored); GP the first ``--gp-trials`` on ``--gp-repeats`` repeats (the first seeds: paired with the
others'). On a partial table a draw of an unbuilt cell gets its nearest built neighbour
(``missing="nearest"``). The JSON records what ran: the budget and why, the command, the repeat seeds,
each run's wall seconds and the load it ran under.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import HERE, counts, data_tables, load, write_figure, write_json
from screen import RULES as THEORY_RULES

import optnas.bench
from optnas.bench import stats
from optnas.search.samplers import EvolutionSampler, LocalSearchSampler

# one torch thread, set before this process runs any torch op: the theory screen runs torch here, and a
# replay worker forked after that with an OpenMP pool running hangs in GP's first torch call (seen: GP
# repeats forked after the theory screen slept on a futex at 0 CPU seconds for 18 minutes)
torch.set_num_threads(1)
GP_PENALTY = 0.0  # what GP is told for a draw that trains nothing: the accuracy a diverged seed counts
MAIN_TARGET = "1se"  # the target the default is chosen by: within one noise unit of the best mean
CHOSEN_ON = "mnist1d"
DEFAULT = "tpe+hyperband"  # optnas's default today: sampler auto (TPE for one objective), pruner hyperband
# what optnas's space files can name (optnas/search/study.py): the candidates for its default
OFFERED_SAMPLERS = {"tpe", "random", "nsga2", "evolution", "local"}
OFFERED_PRUNERS = {None, "median", "hyperband"}
SEED = 0  # repeat r runs with seed SEED + r for every strategy: the pairing of the paired tests
MAX_GRID_SHARE = 0.5  # the budget's cap: this share of the table's built architectures (see `budget`)
PROXY_SHARE = 0.5  # the proxy screen drops this lowest share of architectures by the proxy
THEORY_RULE = "a1_positive"  # screen.py's rule nearest to passing: it rejects MRePU-like activations only


def _tpe_mv(seed: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)


def _gp(seed: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.GPSampler(seed=seed)


SAMPLERS: dict[str, Any] = {
    "random": optuna.samplers.RandomSampler,
    "tpe": optuna.samplers.TPESampler,
    "tpe_mv_group": _tpe_mv,
    "nsga2": optuna.samplers.NSGAIISampler,
    "qmc": optuna.samplers.QMCSampler,
    "evolution": EvolutionSampler,  # optnas's defaults: population 20, sample size 5 (Real et al.'s P, S scaled)
    "local": LocalSearchSampler,  # 10 random trials, then best-first local search
    "gp": _gp,
}
PRUNERS: dict[str, Any] = {
    "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
    "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=10, reduction_factor=3),
    "sha": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
}


# the order strategies run in: those a default could be chosen from first, so a run cut short (a loaded
# machine) loses only the rest; GP last, its asks cost ~100x the others'
ORDER = ("random", "tpe", "evolution", "local", "tpe+hyperband", "evolution+hyperband", "local+hyperband",
         "tpe+median", "evolution+median", "local+median", "nsga2", "random+hyperband", "random+median",
         "tpe_mv_group", "qmc", "tpe+sha", "evolution+sha", "local+sha", "random+sha")
SCREENS = ("proxy", "theory")  # the screened variants' suffixes (`screen_for`)


def configs(screens: tuple[str, ...] = SCREENS) -> list[tuple[str, Any, Any, str | None]]:
    """Every strategy in `ORDER`, each sampler with each of ``screens`` (unpruned), then GP and its
    screened variants: (label, sampler, pruner, screen name)."""
    out: list[tuple[str, Any, Any, str | None]] = []
    for label in ORDER:
        base, _, pname = label.partition("+")
        out.append((label, SAMPLERS[base], PRUNERS[pname] if pname else None, None))
    for screen in screens:
        out += [(f"{name}+{screen}", sampler, None, screen) for name, sampler in SAMPLERS.items() if name != "gp"]
    out.append(("gp", SAMPLERS["gp"], None, None))
    out += [(f"gp+{screen}", SAMPLERS["gp"], None, screen) for screen in screens]
    return out


def theory_screen(df: Any) -> Callable[[dict[str, Any]], bool]:
    """`THEORY_RULE` as `simulate`'s screen on table ``df``: keeps the architectures the rule does not reject."""
    task = df["train"].iloc[0]["task"]
    shape = tuple(optnas.tasks.get(task["name"], **task["params"]).input_shape)
    rejects = THEORY_RULES[THEORY_RULE]
    return lambda spec: not rejects(optnas.ArchSpec.from_dict(spec), shape)


def screen_for(name: str | None, df: Any) -> Any:
    """`simulate`'s ``screen`` for a screened variant's suffix (None: no screen), and how the JSON names it."""
    if name is None:
        return None, None
    if name == "proxy":  # chosen on mnist1d (proxies.json)
        proxy = json.loads((HERE / "proxies.json").read_text())["selection"]["best_single"]
        return (proxy, PROXY_SHARE), [proxy, PROXY_SHARE]
    if name == "theory":
        return theory_screen(df), f"screen.py's {THEORY_RULE} rule"
    raise ValueError(f"screen {name!r} is unknown; valid: {', '.join(SCREENS)}")


def budget(c: dict[str, Any], requested: int) -> tuple[int, str | None]:
    """Trials per search on a table with counts ``c``: ``requested``, capped at `MAX_GRID_SHARE` of its built
    architectures; the second value says why where the cap applied.

    Example:
        >>> budget({"architectures": 331}, 300)
        (165, '300 trials asked, 165 run: at most half of the 331 built architectures')
        >>> budget({"architectures": 1278}, 500)
        (500, None)
    """
    cap = max(5, int(c["architectures"] * MAX_GRID_SHARE))
    if requested <= cap:
        return requested, None
    return cap, f"{requested} trials asked, {cap} run: at most half of the {c['architectures']} built architectures"


def _finite(x: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), 3) for v in x]


def summarize(sim: optnas.bench.Simulation, tolerances: dict[str, float]) -> dict[str, Any]:
    """Per target, each repeat's trials and simulated seconds to it (None: not reached); the regret curve."""
    regret = sim.regret()
    return {
        "to_target": {name: {"trials": _finite(sim.trials_to(tol)), "seconds": _finite(sim.seconds_to(tol))}
                      for name, tol in tolerances.items()},
        "regret_median": np.nanmedian(regret, axis=0).round(6).tolist(),
        "regret_q25": np.nanpercentile(regret, 25, axis=0).round(6).tolist(),
        "regret_q75": np.nanpercentile(regret, 75, axis=0).round(6).tolist(),
        "final_regret": _finite(regret[:, -1]),
        "final_test": _finite(sim.test[:, -1]),
        "elapsed_s": _finite(sim.elapsed[:, -1]),
        "draws": [int(d) for d in sim.draws],
    }


def _cpu_s() -> float:
    """CPU seconds of this process and its ended workers: a run's cost apart from the machine's load."""
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def run_table(name: str, repeats: int, trials: int, screens: tuple[str, ...], gp_repeats: int,
              gp_trials: int, random_trials: int, out_path: Path | None = None,
              only: list[str] | None = None, command: str = "", gp: bool = True) -> dict[str, Any]:
    """Every strategy on table ``name`` (``only``: just these, added to ``out_path``'s earlier results;
    ``gp=False``: all but GP), ``trials`` each as `budget` allows;
    ``out_path`` gets the results so far after each (a run stopped early keeps what it measured)."""
    df = load(name)
    c = counts(df)
    requested = trials
    trials, capped = budget(c, requested)
    if capped:
        print(f"{name}: {capped}", file=sys.stderr, flush=True)
    tg = stats.targets(df)
    out: dict[str, Any] = {"counts": c, "trials": trials, "trials_requested": requested, "budget_capped": capped,
                           "repeats": repeats, "screens": {}, "targets": tg, "seed": SEED,
                           "command": command, "runs": {}}
    if only and out_path is not None and out_path.exists():
        out = json.loads(out_path.read_text())
        if out["trials"] != trials:  # the paired tests censor at a shared budget: one budget per table
            print(f"{out_path}: its runs have {out['trials']} trials, this run {trials}: rerun every strategy "
                  "(without --only) or ask for the same --trials", file=sys.stderr)
            raise SystemExit(2)
        out.setdefault("trials_requested", requested)  # files from before the budget was recorded
        out.setdefault("budget_capped", capped)
    for label, sampler, pruner, screen_name in configs(screens):
        if (only and label not in only) or (not gp and label.startswith("gp")):
            continue
        scr, recorded = screen_for(screen_name, df)
        if screen_name is not None:
            out.setdefault("screens", {})[screen_name] = recorded
        is_gp = label.startswith("gp")
        reps, n = (gp_repeats, min(gp_trials, trials)) if is_gp else (repeats, trials)
        if label == "random":
            n = max(n, random_trials)  # the baseline's own median must be measured, not censored
        start, load_1min, cpu = time.perf_counter(), os.getloadavg()[0], _cpu_s()
        # GP models COMPLETE trials only: told as FAIL (uncertified) or PRUNED (screened out), a draw that
        # trains nothing is proposed again and again (gp_probe.py); GP is told it as accuracy 0 instead
        sim = optnas.bench.simulate(df, sampler, trials=n, repeats=reps, seed=SEED, pruner=pruner, screen=scr,
                                    missing="fail" if c["complete"] else "nearest", jobs=2,
                                    penalty=GP_PENALTY if is_gp else None)
        summary = summarize(sim, tg["tolerances"])
        summary.update(repeats=reps, trials=n, seeds=[SEED, SEED + reps - 1],
                       wall_s=round(time.perf_counter() - start, 2),
                       load_1min=round((load_1min + os.getloadavg()[0]) / 2, 1), cpu_s=round(_cpu_s() - cpu, 1))
        if only:  # added to an earlier run's file: the command that ran this one
            summary["command"] = command
        out["runs"][label] = summary
        if out_path is not None:
            write_json(out_path, out)
        hit = np.array([np.inf if v is None else v for v in summary["to_target"][MAIN_TARGET]["trials"]])
        print(f"{name} {label:22s} trials to {MAIN_TARGET} median {np.median(hit):>6} reached "
              f"{np.isfinite(hit).mean():.0%} ({summary['wall_s']} s)", flush=True)
    return out


def _arr(values: list[float | None]) -> np.ndarray:
    return np.array([np.inf if v is None else v for v in values], dtype=float)


def compare(x: dict[str, Any]) -> dict[str, Any]:
    """Per target and strategy: medians with bootstrap intervals, ratios to random, paired tests (Holm)."""
    runs = x["runs"]
    out: dict[str, Any] = {}
    for target in x["targets"]["tolerances"]:
        rows: dict[str, Any] = {}
        for label, r in runs.items():
            row: dict[str, Any] = {}
            for unit in ("trials", "seconds"):
                v = _arr(r["to_target"][target][unit])
                lo, hi = stats.bootstrap(v)
                row[unit] = {"median": float(np.median(v)), "low": lo, "high": hi}
            v = _arr(r["to_target"][target]["trials"])
            lo, hi = stats.bootstrap(np.isfinite(v).astype(float), lambda a: a.mean(axis=-1))
            row["reached"] = {"share": float(np.isfinite(v).mean()), "low": lo, "high": hi}
            rows[label] = row
        for ref in ("random", DEFAULT):
            if ref not in runs:
                continue
            others = [k for k in runs if k != ref]
            for unit in ("trials", "seconds"):
                tests = {}
                for k in others:
                    a, b = _arr(runs[k]["to_target"][target][unit]), _arr(runs[ref]["to_target"][target][unit])
                    # censored at what both could spend: the shorter budget (trials, or its simulated seconds)
                    budget = (min(runs[k]["trials"], runs[ref]["trials"]) if unit == "trials" else
                              min(max(_arr(runs[k]["elapsed_s"])), max(_arr(runs[ref]["elapsed_s"]))))
                    tests[k] = {**stats.paired(a, b, budget), **stats.ratio(a, b)}
                for k, p in zip(others, stats.holm([t["p"] for t in tests.values()]), strict=True):
                    tests[k]["p_holm"] = p
                    rows[k].setdefault(f"vs_{ref}", {})[unit] = tests[k]
        out[target] = rows
    return out


def _key(row: dict[str, Any]) -> tuple[float, float]:
    return (row["seconds"]["median"], row["trials"]["median"])


def offered(label: str) -> bool:
    """A strategy optnas's space files can name (sampler and pruner), without a screen (item 3's)."""
    base, _, pruner = label.partition("+")
    return base in OFFERED_SAMPLERS and (pruner or None) in OFFERED_PRUNERS


def _faster_than(comp: dict[str, Any], ref: str) -> list[str]:
    """Offered strategies significantly faster than ``ref`` (= DEFAULT) in simulated seconds (Holm p < 0.05)."""
    out = []
    for k, row in comp.items():
        t = row.get(f"vs_{ref}", {}).get("seconds")
        if offered(k) and t is not None and t["p_holm"] < 0.05 and t["wins"] > t["losses"]:
            out.append(k)
    return out


def select(results: dict[str, Any], tables: list[str]) -> dict[str, Any]:
    """The default: on MNIST-1D, the offered strategy with the fewest median simulated seconds to the main
    target (then trials). It replaces the current default only if faster than it there by a paired test
    (Holm p < 0.05) and no worse on every held-out table (not significantly slower, reaching the target at
    least as often). Held out, the kept default passes where no offered strategy is significantly faster."""
    comp = results[CHOSEN_ON]["comparison"][MAIN_TARGET]
    ranked = sorted((k for k in comp if offered(k)), key=lambda k: _key(comp[k]))
    best = ranked[0]
    vs = comp.get(best, {}).get(f"vs_{DEFAULT}", {}).get("seconds") if best != DEFAULT else None
    better_on_chosen = bool(vs and vs["p_holm"] < 0.05 and vs["wins"] > vs["losses"])
    candidate = best if better_on_chosen else DEFAULT
    held_out: dict[str, Any] = {}
    for t in tables:
        if t == CHOSEN_ON:
            continue
        c = results[t]["comparison"][MAIN_TARGET]
        if candidate not in c or DEFAULT not in c:
            held_out[t] = {"ran": False, "passes": False}
            continue
        order = sorted((k for k in c if offered(k)), key=lambda k: _key(c[k]))
        h: dict[str, Any] = {"ran": True, "rank": order.index(candidate) + 1, "of": len(order),
                             "fastest": order[0], "reached": c[candidate]["reached"]["share"],
                             "seconds_median": c[candidate]["seconds"]["median"]}
        if candidate == DEFAULT:
            h["significantly_faster"] = _faster_than(c, DEFAULT)
            h["passes"] = not h["significantly_faster"]
        else:
            test = c[candidate][f"vs_{DEFAULT}"]["seconds"]
            slower = test["p_holm"] < 0.05 and test["losses"] > test["wins"]
            h.update(significantly_slower=bool(slower), reached_default=c[DEFAULT]["reached"]["share"],
                     seconds_median_default=c[DEFAULT]["seconds"]["median"], p_holm=test["p_holm"],
                     wins=test["wins"], losses=test["losses"])
            h["passes"] = bool(not slower and h["reached"] >= h["reached_default"])
        held_out[t] = h
    passes = all(h["passes"] for h in held_out.values())
    return {
        "chosen_on": CHOSEN_ON, "target": MAIN_TARGET, "current_default": DEFAULT, "best": best,
        "ranking": ranked, "better_than_default_on_chosen_table": better_on_chosen, "candidate": candidate,
        "held_out": held_out, "held_out_passes": passes,
        "not_run": {t: [k for k, *_ in configs() if k not in results[t]["runs"]] for t in tables},
        "default": candidate if passes else DEFAULT,
        "rule": "fewest median simulated seconds to the 1-noise-unit target on MNIST-1D among the strategies a "
                "space file can name (no screen); it replaces the default only if faster than it there (paired "
                "Wilcoxon on seconds, Holm p < 0.05) and no worse on every held-out table (not significantly "
                "slower, reaching the target at least as often); else the default stays. Held out, the default "
                "passes where no such strategy is significantly faster than it",
    }


def figure(results: dict[str, Any], tables: list[str]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    titles = []
    for t in tables:
        c = results[t]["counts"]
        part = "" if c["complete"] else f" ({c['architectures']}/{c['grid_architectures']} archs, PARTIAL)"
        titles += [f"{t}: regret vs trials{part}", f"{t}: trials to within 1 noise unit (median, 95% CI)"]
    fig = make_subplots(rows=len(tables), cols=2, subplot_titles=titles)
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
               "#17becf"]
    for row, t in enumerate(tables, start=1):
        comp = results[t]["comparison"][MAIN_TARGET]
        for k, (label, r) in enumerate(results[t]["runs"].items()):
            color = palette[k % len(palette)]
            if "+" not in label or label in (DEFAULT, "evolution+hyperband", "local+hyperband"):
                x = list(range(1, len(r["regret_median"]) + 1))
                fig.add_trace(go.Scatter(x=x, y=r["regret_median"], name=label, legendgroup=label,
                                         line={"color": color}, showlegend=row == 1), row=row, col=1)
            m = comp[label]["trials"]
            if np.isfinite(m["median"]):
                hi = m["high"] if np.isfinite(m["high"]) else r["trials"]
                fig.add_trace(go.Scatter(x=[m["median"]], y=[label], mode="markers", marker={"color": color},
                                         error_x={"type": "data", "symmetric": False, "array": [hi - m["median"]],
                                                  "arrayminus": [m["median"] - m["low"]]},
                                         showlegend=False, legendgroup=label), row=row, col=2)
        fig.update_yaxes(title_text="regret (median over repeats)", row=row, col=1)
        fig.update_xaxes(title_text="trials", row=row, col=1)
        fig.update_xaxes(title_text="trials to target", row=row, col=2)
    fig.update_layout(title="optnas-bench: search strategies", height=450 * len(tables))
    return fig


# trials per strategy, set at the earlier 0.5-point target to 1.5-2x random search's median need (320.5 on
# MNIST-1D, 139 on digits) so that a strategy beating random had room to show it; the signal table's 560
# architectures get half of them (`budget`'s cap), which a table without its own entry gets too
TRIALS = {"mnist1d": 500, "digits": 300, "mnist1d_signal": 280}
DEFAULT_TRIALS = 10**9  # a table without its own entry: `budget` caps it at half its architectures


def tables_run() -> list[str]:
    """The tables with a search_TABLE.json, the table the default is chosen on first."""
    found = sorted(p.stem.removeprefix("search_") for p in HERE.glob("search_*.json"))
    return sorted(found, key=lambda t: (t != CHOSEN_ON, t))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tables", nargs="+", default=list(data_tables()), choices=optnas.bench.names(),
                   help="default: every table; one process per table can run side by side")
    # 20 repeats: the machine these were run on was shared (2 cores, load 15-20); the intervals say what
    # that costs
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--gp-repeats", type=int, default=20, help="GP asks are ~100x slower: fewer repeats to save time")
    p.add_argument("--trials", type=int, default=None, help="trials per strategy (default: TRIALS of the table)")
    # random gets more (its asks are cheap) so that its own median is measured, not censored; GP's asks grow
    # cubically, so it gets the first --gp-trials
    p.add_argument("--random-trials", type=int, default=2000)
    p.add_argument("--gp-trials", type=int, default=100)
    p.add_argument("--no-screen", action="store_true", help="leave the screened variants (+proxy, +theory) out")
    p.add_argument("--no-gp", action="store_true", help="leave GP out (its asks cost ~100x TPE's)")
    p.add_argument("--select", action="store_true",
                   help="only compare and choose from the search_TABLE.json (a run does this after its tables)")
    p.add_argument("--only", nargs="+", default=None, help="run just these strategies, added to search_TABLE.json")
    args = p.parse_args()
    valid = {k for k, *_ in configs()}
    bad = [k for k in args.only or () if k not in valid]
    if bad:
        print(f"--only {bad[0][:60]!r} is not a strategy; valid: {', '.join(sorted(valid))}", file=sys.stderr)
        raise SystemExit(2)
    screens = () if args.no_screen else SCREENS
    command = "python benchmarks/optnas_bench/search.py " + " ".join(sys.argv[1:])
    for t in args.tables if not args.select else ():
        run_table(t, args.repeats, args.trials or TRIALS.get(t, DEFAULT_TRIALS), screens, args.gp_repeats,
                  args.gp_trials, args.random_trials, out_path=HERE / f"search_{t}.json", only=args.only,
                  command=command.strip(), gp=not args.no_gp)
    tables = tables_run()
    if CHOSEN_ON not in tables:
        return  # nothing to choose from yet
    results: dict[str, Any] = {t: json.loads((HERE / f"search_{t}.json").read_text()) for t in tables}
    for t in tables:
        results[t]["comparison"] = compare(results[t])
    results["selection"] = select(results, tables)
    results["tables"] = tables
    write_json(HERE / "search.json", results)
    write_figure(HERE / "search.html", figure(results, tables))
    print({k: v for k, v in results["selection"].items() if k != "ranking"})


if __name__ == "__main__":
    main()
