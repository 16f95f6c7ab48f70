"""Write benchmarks/optnas_bench/README.md from the analyses' JSON (proxies, search, papers, speed).

    python benchmarks/optnas_bench/proxies.py && python benchmarks/optnas_bench/papers.py
    python benchmarks/optnas_bench/search.py --tables mnist1d & python benchmarks/optnas_bench/search.py --tables digits
    python benchmarks/optnas_bench/search.py --select && python benchmarks/optnas_bench/report.py
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
           "Per architecture (mean over seeds, diverged = 0 accuracy) against final test accuracy; `kept@s` is "
           "the share of the true top 5% kept after screening out the lowest share s by the proxy.", ""]
    for t in TABLES:
        out += [f"**{t}** ({_counts(r[t]['counts'])})", "",
                "| proxy | Spearman ρ | p | Kendall τ | kept@25% | kept@50% | kept@75% | kept@90% |",
                "|---|---|---|---|---|---|---|---|"]
        for c in PROXY_COLUMNS:
            s = r[t]["single"][c]
            k = s["top5_kept"]
            out.append(f"| {c} | {_f(s['spearman'])} | {_f(s['spearman_p'], 2)} | {_f(s['kendall'])} | "
                       f"{_f(k['0.25'], 2)} | {_f(k['0.5'], 2)} | {_f(k['0.75'], 2)} | {_f(k['0.9'], 2)} |")
        out.append("")
    sel = r["selection"]
    single = sel["best_single_spearman"]
    out += [f"Chosen on MNIST-1D: best single proxy `{sel['best_single']}` (ρ {_f(single['mnist1d'])}"
            f", digits {_f(sel['best_single_spearman']['digits'])}); best rank combination "
            f"`{sel['best_combination']}` (ρ {_f(sel['best_combination_spearman']['mnist1d'])}, digits "
            f"{_f(sel['best_combination_spearman']['digits'])}); beats every single proxy on both tables: "
            f"{sel['combination_beats_every_single_on_both']}.", ""]
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
        out += [f"**{t}** ({_counts(x['counts'])}; {x['trials']} trials × {x['repeats']} repeats, random "
                f"{x['runs'].get('random', {}).get('trials', '–')} trials; seeds {x['seed']}–"
                f"{x['seed'] + x['repeats'] - 1}, paired across strategies). Best mean {100 * tg['best']:.2f}%, "
                f"noise unit (se) {100 * tg['noise_unit']:.2f} points; targets: {tol}. "
                f"Command: `{x['command']}`.", "",
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
        out += ["Not run here: " + "; ".join(f"{t}: {', '.join(v)}" for t, v in missing.items()) + " (GP's asks "
                "cost ~0.3–1 s, ~100× TPE's: at this machine's load, 35–40 on 2 cores, 10 repeats did not finish in "
                "30 minutes; `search.py --tables T --only gp` adds it; the screened variants: `--screen --only "
                "NAME+screen`).", ""]
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
    out = ["## The papers revisited (item 5)", ""]
    for t in TABLES:
        x = r[t]
        out += [f"**{t}** ({_counts(x['counts'])}): each family − gd in test accuracy, paired at the same schedule, "
                "activation, depth, width and seed; Wilcoxon, Holm over families.", "",
                "| family | pairs | mean diff (diverged = 0) | Holm p | wins/losses | pairs both trained | mean diff "
                "| Holm p | diverged (family/gd) |", "|---|---|---|---|---|---|---|---|---|"]
        for f in x["families"]:
            out.append(f"| {f['family']} | {f['pairs']} | {_f(f['mean_diff_all'])} | {_f(f['p_all_holm'], 2)} | "
                       f"{f['wins']}/{f['losses']} | {f['pairs_both_complete']} | {_f(f['mean_diff_complete'])} | "
                       f"{_f(f['p_complete_holm'], 2)} | {f['diverged']}/{f['diverged_gd']} |")
        out += ["", "Activations against depth: mean test accuracy of trained runs (diverged share).", "",
                "| activation | " + " | ".join(f"depth {d}" for d in (2, 4, 8)) + " |", "|---|---|---|---|"]
        cells = {(c["activation"], c["depth"]): c for c in x["activations"]["by_activation_depth"]}
        for act in sorted({a for a, _ in cells}):
            row = [f"{_f(cells[(act, d)]['mean_test_trained'])} ({cells[(act, d)]['diverged_share']:.0%})"
                   if (act, d) in cells else "–" for d in (2, 4, 8)]
            out.append(f"| {act} | " + " | ".join(row) + " |")
        paired = x["activations"]["mrepu_vs_repu"]
        if paired:
            out += ["", "MRePU − RePU, paired: " + "; ".join(
                f"depth {p['depth']}: {_f(p['mean_diff_mrepu_minus_repu'])} "
                f"(n {p['pairs']}, Holm p {_f(p['p_holm'], 2)})"
                for p in paired)]
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
    names = ("proxies", "search", "papers", "simulate_speed")
    load = {n: json.loads((HERE / f"{n}.json").read_text()) for n in names}
    lines = [INTRO.rstrip(), "", f"# Results (generated {stamp} by report.py)", "",
             *proxies(load["proxies"]), *search(load["search"]), *papers(load["papers"]),
             *speed(load["simulate_speed"])]
    return "\n".join(lines) + "\n"


def main() -> None:
    write_atomic(HERE / "README.md", render(datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")))


if __name__ == "__main__":
    main()
