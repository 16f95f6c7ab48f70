"""Write benchmarks/optnas_bench/README.md from the analyses' JSON (proxies, search, papers, speed).

    python benchmarks/optnas_bench/analyses.py   # proxies.py, screen.py, papers.py (every table with data), report.py
    python benchmarks/optnas_bench/search.py && python benchmarks/optnas_bench/report.py   # every strategy, table
Every number below is read from those files; the text marks a partial table as such.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import HERE, PROXY_COLUMNS, TABLES, write_atomic

INTRO = (HERE / "README.intro.md").read_text()


def _f(v: Any, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "∞" if v == float("inf") else ("nan" if v != v else f"{v:.{digits}g}")
    return str(v)


def _counts(c: dict[str, Any]) -> str:
    state = "complete" if c["complete"] else "**PARTIAL**"
    return (f"{state}: {c['architectures']}/{c['grid_architectures']} architectures, {c['rows']} rows, "
            f"{c['diverged_rows']} diverged")


def proxies(r: dict[str, Any]) -> list[str]:
    out = ["## Zero-cost proxies (item 3)", "",
           "Ranking trained networks: per architecture, its quality (mean test accuracy over the seeds that "
           "trained; an architecture whose every seed diverged has none and is left out) against the mean of "
           "each proxy over its seeds; `n` architectures scored, `nan` trained ones the proxy could not score "
           "(left out, never ranked); ρ never-diverged: the same on architectures with no diverged seed; "
           "`kept@s`: the share of the true top 5% kept after screening out the lowest share s of the scored "
           "architectures (unscored ones are kept). Predicting divergence, apart: per run, the AUC of a low "
           "score for the runs that diverged (0.5 chance, below 0.5: diverged runs score *higher*), on the "
           "runs the proxy scored (`nan div.`: diverged runs it could not score). synflow is its log "
           "(`proxy_version` 3); the committed tables' raw values are logged at load, and where their float64 "
           "forward overflowed (repu/mrepu at depth 8) the value was lost: NaN.", ""]
    for t in r["tables"]:
        q = r[t]["quality"]
        out += [f"**{t}** ({_counts(r[t]['counts'])}; {q['trained_architectures']} architectures trained on at "
                f"least one seed, {q['never_diverged_architectures']} on every seed; median standard error of "
                f"an architecture's quality {_f(q['median_test_sem'], 2)})", "",
                "| proxy | n | nan | Spearman ρ | p | Kendall τ | ρ never-diverged | kept@25% | kept@50% | kept@75% "
                "| kept@90% | divergence AUC | nan div. |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for c in PROXY_COLUMNS:
            s = r[t]["single"][c]
            k, d = s["top5_kept"], s["divergence"]
            out.append(f"| {c} | {s['n']} | {s['nan']} | {_f(s['spearman'])} | {_f(s['spearman_p'], 2)} | "
                       f"{_f(s['kendall'])} | {_f(s['spearman_never_diverged'])} | {_f(k['0.25'], 2)} | "
                       f"{_f(k['0.5'], 2)} | {_f(k['0.75'], 2)} | {_f(k['0.9'], 2)} | {_f(d['auc'], 2)} | "
                       f"{d['nan_diverged']} |")
        out.append("")
    sel = r["selection"]
    single, combo = sel["best_single_spearman"], sel["best_combination_spearman"]
    held = "; ".join(f"{t} {_f(single[t])}" for t in sel["held_out"])
    held_combo = "; ".join(f"{t} {_f(combo[t])}" for t in sel["held_out"])
    out += [f"Chosen on MNIST-1D: best single proxy `{sel['best_single']}` (ρ {_f(single['mnist1d'])}; held out: "
            f"{held}); best rank combination `{sel['best_combination']}` (ρ {_f(combo['mnist1d'])}; held out: "
            f"{held_combo}); beats every single proxy on every table: "
            f"{sel['combination_beats_every_single_everywhere']}.", ""]
    return out


def screen(r: dict[str, Any]) -> list[str]:
    out = ["## The theory's divergence prediction as a screen (`screen.py`)", "",
           f"A rule rejects an architecture from its spec before training (`screen.py` states each). It passes "
           f"on a table when it avoids at least {r['avoid']:.0%} of the diverged runs while keeping at least "
           f"{r['keep']:.0%} of the top {r['top']:.0%} of architectures by quality; one passing on every table "
           "would become optnas's default screen.", "",
           "| table | rule | architectures rejected | diverged runs avoided | top 5% kept | passes | top 5% lost "
           "(activation/depth: count) |", "|---|---|---|---|---|---|---|"]
    for t in r["tables"]:
        x = r[t]
        for rule in ("superlinear", "a1_positive", "trainability"):
            v = x[rule]
            lost = ", ".join(f"{k}: {n}" for k, n in v["top5_lost_by_activation_depth"].items()) or "–"
            out.append(f"| {t} | `{rule}` | {v['rejected_architectures']} | {v['avoided_diverged']:.1%} "
                       f"({x['diverged_runs']} runs) | {v['top5_kept']:.1%} (of {x['top']}) | "
                       f"{'yes' if v['passes'] else 'no'} | {lost} |")
    if r["default"]:
        out += ["", f"`{r['default']}` passes on every table: it is optnas's default screen.", ""]
    else:
        out += ["", "No rule passes on every table, so optnas's default stays as it is (no screen; "
                "`trainability: {skip_untrainable: true}` remains an opt-in). The last column names the top "
                "architectures a rule removes with the divergence.", ""]
    return out


def _ci(x: dict[str, Any], digits: int = 3) -> str:
    """median [low, high]"""
    return f"{_f(x['median'], digits)} [{_f(x['low'], digits)}, {_f(x['high'], digits)}]"


def _vs(row: dict[str, Any], ref: str, unit: str, ratio: bool = True) -> str:
    t = row.get(f"vs_{ref}", {}).get(unit)
    if t is None:
        return "–"
    r = f"{_f(t['ratio'], 2)} [{_f(t['low'], 2)}, {_f(t['high'], 2)}]; " if ratio else ""
    return f"{r}p {_f(t['p_holm'], 2)}, {t['wins']}/{t['ties']}/{t['losses']}"


def _budget(x: dict[str, Any]) -> str:
    """The table's budget: trials as a share of its architectures, random's and GP's own."""
    runs, n = x["runs"], x["counts"]["architectures"]
    out = f"{x['trials']} trials × {x['repeats']} repeats ({x['trials'] / n:.0%} of its {n} architectures"
    out += f"; {x['budget_capped']})" if x.get("budget_capped") else ")"
    out += f", random {runs['random']['trials']} trials" if "random" in runs else ""
    gp = [k for k in runs if k.startswith("gp")]
    if gp:
        out += f", GP its first {runs[gp[0]]['trials']} trials × {runs[gp[0]]['repeats']} repeats"
    return out


def _added(x: dict[str, Any]) -> str:
    """The commands that added strategies to the table's first run (``--only``), where they differ."""
    more = sorted({r["command"] for r in x["runs"].values() if r.get("command", x["command"]) != x["command"]})
    return "; added by " + ", ".join(f"`{c}`" for c in more) if more else ""


def _cost(x: dict[str, Any]) -> str:
    """What the runs cost in wall time, and at what load (the machine was shared)."""
    runs = x["runs"].values()
    wall = sum(r["wall_s"] for r in runs)
    gp = sum(r["wall_s"] for k, r in x["runs"].items() if k.startswith("gp"))
    loads = [r["load_1min"] for r in runs if "load_1min" in r]
    at = f", 1-minute load {min(loads):.0f}–{max(loads):.0f} on 2 cores where recorded" if loads else ""
    cpu = {k: r["cpu_s"] for k, r in x["runs"].items() if "cpu_s" in r}
    gp_cpu = [f"`{k}` {v / 60:.1f} min ({v / x['runs'][k]['repeats']:.0f} s a repeat)" for k, v in cpu.items()
              if k.startswith("gp")]
    cpus = f"; CPU where recorded: GP {', '.join(gp_cpu)}" if gp_cpu else ""
    return f"Cost: {wall / 60:.0f} min wall with 2 worker processes (GP {gp / 60:.0f} min){at}{cpus}."


def search(r: dict[str, Any]) -> list[str]:
    tables = r.get("tables", list(TABLES))
    sel = r["selection"]
    main = sel["target"]
    out = ["## Search strategies (item 4)", "",
           "A strategy reaches a target when the incumbent (the trial with the best single-seed validation "
           "accuracy, as a real search picks it) is an architecture whose mean validation accuracy over its "
           "trained seeds lies within the target of the table's best. Targets are in noise units: *se* is the "
           "median standard error of an architecture's mean (over architectures with at least two trained seeds); "
           "*top q* is the q share of architectures by mean. Medians over repeats with bootstrap 95% intervals "
           "[low, high] (∞: the median is not reached within the budget); ÷ random is the ratio of medians with "
           "a paired bootstrap interval; *p* is a Wilcoxon signed-rank test paired by repeat seed (each repeat "
           "censored at the shorter budget), Holm-adjusted over the strategies, with wins/ties/losses. Simulated "
           "seconds are the tables' `train_s` (a pruned trial costs its share of epochs).", ""]
    for t in tables:
        x = r[t]
        tg = x["targets"]
        comp = x["comparison"]
        tol = ", ".join(f"{k} = {100 * v:.2f} pt" for k, v in tg["tolerances"].items())
        out += [f"**{t}** ({_counts(x['counts'])}; {_budget(x)}; seeds {x['seed']}–"
                f"{x['seed'] + x['repeats'] - 1}, paired across strategies). Best mean {100 * tg['best']:.2f}%, "
                f"noise unit (se) {100 * tg['noise_unit']:.2f} points; targets: {tol}. "
                f"Command: `{x['command']}`{_added(x)}. {_cost(x)}", "",
                f"Target {main} (within one noise unit of the best):", "",
                "| strategy | trials to target | ÷ random; p, W/T/L vs random | simulated s to target | "
                f"÷ {sel['current_default']}; p, W/T/L (seconds) | p, W/T/L vs {sel['current_default']} (trials) | "
                "reached |", "|---|---|---|---|---|---|---|"]
        for label, row in comp[main].items():
            rc = row["reached"]
            out.append(f"| {label} | {_ci(row['trials'])} | {_vs(row, 'random', 'trials')} | "
                       f"{_ci(row['seconds'], 4)} | {_vs(row, sel['current_default'], 'seconds')} | "
                       f"{_vs(row, sel['current_default'], 'trials', ratio=False)} | "
                       f"{rc['share']:.0%} [{rc['low']:.0%}, {rc['high']:.0%}] |")
        names = list(comp)
        out += ["", "Every target: median trials to it [95% interval] (share of repeats reaching it).", "",
                "| strategy | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for label in x["runs"]:
            cells = [f"{_ci(comp[n][label]['trials'])} ({comp[n][label]['reached']['share']:.0%})" for n in names]
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        out.append("")
    held = []
    for t, h in sel["held_out"].items():
        if not h["ran"]:
            held.append(f"{t}: not run")
            continue
        verdict = "passes" if h["passes"] else "FAILS"
        why = (f"significantly faster there: {', '.join(h['significantly_faster']) or 'none'}"
               if "significantly_faster" in h else
               f"p {_f(h['p_holm'], 2)} vs the default, reached {h['reached']:.0%} vs {h['reached_default']:.0%}")
        held.append(f"{t}: {verdict} (`{sel['candidate']}` ranks {h['rank']} of {h['of']} by median seconds, "
                    f"fastest `{h['fastest']}`; reached {h['reached']:.0%}; {why})")
    out += [f"**Default.** Rule: {sel['rule']}. Fastest on {sel['chosen_on']}: `{sel['best']}`; significantly "
            f"faster than `{sel['current_default']}` there: {sel['better_than_default_on_chosen_table']}. "
            f"Held out: {'; '.join(held) or 'no other table'}. optnas's default: **`{sel['default']}`**"
            + ("" if sel["held_out_passes"] else " (the held-out check fails: the safer default is kept)") + ".", ""]
    missing = {t: v for t, v in sel.get("not_run", {}).items() if v}
    if missing:
        out += ["Not run here: " + "; ".join(f"{t}: {', '.join(v)}" for t, v in missing.items()) + " "
                "(`search.py --tables T --only NAME ...` adds them to the table's results).", ""]
    return out + gp_probe()


def gp_probe() -> list[str]:
    """What one GP search costs next to TPE and random (`gp_probe.py`), where it was measured."""
    found = {t: json.loads((HERE / f"gp_probe_{t}.json").read_text()) for t in TABLES
             if (HERE / f"gp_probe_{t}.json").exists()}
    if not found:
        return []
    out = ["### GP probe (`gp_probe.py`)", "",
           "| table | sampler | trials × repeats | asks per repeat | ms per ask | wall s per repeat |",
           "|---|---|---|---|---|---|"]
    for t, x in found.items():
        for label, r in x["samplers"].items():
            asks = ", ".join(str(int(d)) for d in r["draws_per_repeat"])
            out.append(f"| {t} | {label} | {x['trials']} × {x['repeats']} | {asks} | {r['ms_per_ask']:.1f} | "
                       f"{r['wall_s_per_repeat']:.2f} |")
    return [*out, ""]


def papers(r: dict[str, Any]) -> list[str]:
    out = ["## The papers revisited (item 5)", "",
           "Unit: the matched setting (every field of the spec but the one compared), seeds averaged. "
           "Quality: each side's mean test accuracy over its trained seeds, compared where both trained "
           "(Wilcoxon, Holm over families); divergence apart: the paired difference of the divergence rates "
           "over every setting. "
           f"Decisions at Holm p < {r['alpha']}; the last column names the earlier per-seed analysis's decision "
           "where it differs (`all`: a diverged seed counted 0; `complete`: pairs of seeds that both trained).",
           ""]
    for t in r["tables"]:
        x = r[t]
        out += [f"**{t}** ({_counts(x['counts'])}): each family − gd.", "",
                "| family | settings both trained | mean diff | Holm p | decision | wins/losses | divergence rate "
                "diff | Holm p | decision | per-seed decision differs |", "|---|---|---|---|---|---|---|---|---|---|"]
        for f in x["families"]:
            flip = ", ".join(f"{k}: {v}" for k, v in f["flipped"].items()) or "–"
            out.append(f"| {f['family']} | {f['settings_both_trained']}/{f['settings']} | {_f(f['mean_diff'])} | "
                       f"{_f(f['p_holm'], 2)} | {f['decision']} | {f['wins']}/{f['losses']} | "
                       f"{_f(f['divergence_diff'])} | {_f(f['p_divergence_holm'], 2)} | "
                       f"{f['decision_divergence']} | {flip} |")
        cells = {(c["activation"], c["depth"]): c for c in x["activations"]["by_activation_depth"]}
        depths = sorted({d for _, d in cells})
        out += ["", "Activations against depth: mean quality of the architectures that trained (share of runs "
                "diverged).", "",
                "| activation | " + " | ".join(f"depth {d}" for d in depths) + " |", "|---" * (len(depths) + 1) + "|"]
        for act in sorted({a for a, _ in cells}):
            row = [f"{_f(cells[(act, d)]['mean_test_trained'])} ({cells[(act, d)]['diverged_share']:.0%})"
                   if (act, d) in cells else "–" for d in depths]
            out.append(f"| {act} | " + " | ".join(row) + " |")
        paired = x["activations"]["mrepu_vs_repu"]
        if paired:
            out += ["", "MRePU − RePU per matched setting: " + "; ".join(
                f"depth {p['depth']}: quality {_f(p['mean_diff'])} (n {p['settings_both_trained']}, Holm p "
                f"{_f(p['p_holm'], 2)}, {p['decision']}), divergence rate {_f(p['divergence_diff'])} "
                f"({p['decision_divergence']})"
                for p in paired) + "."]
        out.append("")
    return out


def speed(r: dict[str, Any]) -> list[str]:
    out = ["## Simulation speed", "", f"Synthetic full-size table ({r['rows']} rows), 50 repeats × 100 trials, "
           f"2 worker processes, load average {r['load_1min']:.1f} on {r['cpus']} cores while measured.", "",
           "| search | wall s (loaded) | worker CPU s | quiet 2-core estimate s |", "|---|---|---|---|"]
    for x in r["runs"]:
        out.append(f"| {x['search']} | {x['seconds']} | {x.get('worker_cpu_s', '–')} | "
                   f"{x.get('quiet_2core_estimate_s', '–')} |")
    return [*out, ""]


def render(stamp: str) -> str:
    """The README's text from the committed JSON (``stamp``: when it was generated)."""
    names = ("proxies", "screen", "search", "papers", "simulate_speed")
    load = {n: json.loads((HERE / f"{n}.json").read_text()) for n in names}
    lines = [INTRO.rstrip(), "", f"# Results (generated {stamp} by report.py)", "",
             *proxies(load["proxies"]), *screen(load["screen"]), *search(load["search"]), *papers(load["papers"]),
             *speed(load["simulate_speed"])]
    return "\n".join(lines) + "\n"


def main() -> None:
    write_atomic(HERE / "README.md", render(datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")))


if __name__ == "__main__":
    main()
