"""The families study's figure and README, from results.json's data."""

from __future__ import annotations

import json
from typing import Any

from _common import reproduce_lines
from analysis import PROTOCOLS, mean
from runs import ALPHA

# -- figure -------------------------------------------------------------------------------------------
FIGURE_PROTOCOLS = ("own_lr", "lr_mean")


def figure_data(data: dict[str, Any]) -> dict[str, Any]:
    """Per protocol (own lr, lr-grid mean) and task: families, per-seed test metric, mean ± std, gd's mean."""
    settings, panels = data["settings"], {}
    for protocol in FIGURE_PROTOCOLS:
        for task, fams in data["summary"]["protocols"][protocol]["table"].items():
            panels[(protocol, task)] = {
                "families": list(fams),
                "seeds": [fams[f]["test"] for f in fams],
                "mean": [fams[f]["test_mean"] for f in fams],
                "std": [fams[f]["test_std"] or 0.0 for f in fams],
                "gd_mean": fams["gd"]["test_mean"],
            }
    return {"tasks": list(settings["tasks"]), "metric_names": settings["metric_names"],
            "log_y": {t: d == "minimize" for t, d in settings["directions"].items()}, "panels": panels}


def make_figure(fd: dict[str, Any]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    titles = [f"{task} test {fd['metric_names'][task]}: {'own best lr' if protocol == 'own_lr' else 'lr-grid mean'}"
              for protocol in FIGURE_PROTOCOLS for task in fd["tasks"]]
    fig = make_subplots(rows=len(FIGURE_PROTOCOLS), cols=len(fd["tasks"]), subplot_titles=titles)
    for row, protocol in enumerate(FIGURE_PROTOCOLS, start=1):
        for col, task in enumerate(fd["tasks"], start=1):
            p, first = fd["panels"][(protocol, task)], row == 1 and col == 1
            for fam, seeds in zip(p["families"], p["seeds"], strict=True):
                pts = [v for v in seeds if v is not None]
                fig.add_trace(
                    go.Scatter(x=[fam] * len(pts), y=pts, mode="markers", marker={"color": "lightgray", "size": 6},
                               name="one seed", showlegend=first and fam == "gd", legendgroup="seed"),
                    row=row, col=col,
                )
            colors = ["crimson" if f == "gd" else "royalblue" for f in p["families"]]
            fig.add_trace(
                go.Scatter(x=p["families"], y=p["mean"], mode="markers", error_y={"type": "data", "array": p["std"]},
                           marker={"color": colors, "size": 9}, name="mean ± std over seeds", showlegend=first,
                           legendgroup="mean"),
                row=row, col=col,
            )
            if p["gd_mean"] is not None:
                fig.add_hline(y=p["gd_mean"], line_dash="dot", line_color="crimson", row=row, col=col)
            if fd["log_y"][task]:
                fig.update_yaxes(type="log", row=row, col=col)
    fig.update_layout(title="OptDNN families vs ResNet (gd, red; dotted line = gd's mean) at matched parameters, "
                            "depth 8", height=420 * len(FIGURE_PROTOCOLS), width=360 * len(fd["tasks"]))
    return fig


# -- README -------------------------------------------------------------------------------------------
def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.1f}%" if metric == "accuracy" else f"{value:.4f}"


def readme(data: dict[str, Any]) -> str:
    s, summary = data["settings"], data["summary"]
    lines = [
        "# OptDNN families against ResNet on the papers' CPU tasks",
        "",
        *reproduce_lines(data),
        "",
        "Claim (Wu, Xiao, Fang & Lin, TPAMI 2024): OptDNNs approximate nested rings, parity and Telgarsky's "
        "sawtooth better than ResNet. The paper's numbers and settings were not obtained; this is our own "
        "small CPU version, with matched architectures.",
        "",
        "## Settings",
        "",
        f"Every family: block mlp2, depth {s['depth']}, constant steps h = 1/{s['depth']} (horizon 1), "
        f"default initialization, AdamW with the library's warmup + cosine schedule, options {json.dumps(s['train'])}. "
        f"Learning-rate grid {s['lrs']}; seeds 0..{s['seeds'] - 1}. Algorithm parameters: "
        + ", ".join(f"{f} {json.dumps(p) if p else '(defaults)'}" for f, p in s["families"].items()) + ".",
        "",
        "| task | data | width | hidden | activation | epochs | batch |",
        "|---|---|---|---|---|---|---|",
    ]
    for task, t in s["tasks"].items():
        lines.append(f"| {task} | {t['note']} | {t['width']} | {t['hidden']} | {t['activation']} | {t['epochs']} | "
                     f"{t['batch_size']} |")
    for protocol, title in PROTOCOLS.items():
        p = summary["protocols"][protocol]
        lines += ["", f"## Test metric, {title}", ""]
        if protocol == next(iter(PROTOCOLS)):
            lines += [
            f"Mean ± std over {s['seeds']} seeds; Δ = mean paired difference with gd, positive when the family is "
            f"better; W/L = seeds won/lost against gd; p = paired t-test, Holm-adjusted over the {p['comparisons']} "
            f"comparisons of this table; verdict at Holm p < {ALPHA}. Train = final-epoch training metric "
            "(mean over the last epoch's batches: approximation, the papers' question). Div. = diverged runs.",
            ]
        else:
            lines.append(f"As above; Holm over the {p['comparisons']} comparisons of this table.")
        if protocol == "lr_mean":
            lines += ["", "Here a seed's value is its test metric averaged over the lr grid; a seed with a diverged "
                          "run has no value and is left out of the pairing."]
        for task, fams in p["table"].items():
            metric = s["metric_names"][task]
            lines += ["", f"**{task}** ({metric})", "",
                      "| family | params | lr | test mean ± std | train mean | div. | Δ vs gd | W/L | p (Holm) "
                      "| verdict |",
                      "|---|---|---|---|---|---|---|---|---|---|"]
            for fam, e in fams.items():
                delta = "—" if "diff_mean" not in e else (
                    f"{100 * e['diff_mean']:+.1f} pt" if metric == "accuracy" else f"{e['diff_mean']:+.2g}")
                wl = "—" if "wins" not in e else f"{e['wins']}/{e['losses']} of {e['paired_seeds']}"
                ph = "—" if e.get("p_holm") is None else f"{e['p_holm']:.2g}"
                std = "" if e["test_std"] is None else f" ± {_fmt(e['test_std'], metric)}"
                lines.append(
                    f"| {fam} | {e['params'] if e['params'] is not None else '—'} | {e['lr']} | "
                    f"{_fmt(e['test_mean'], metric)}{std} | {_fmt(e['train_mean'], metric)} | {e['diverged']} | "
                    f"{delta} | {wl} | {ph} | {e.get('verdict', 'baseline')} |"
                )
    lines += ["", "## Test metric at every lr of the grid", "",
              "Mean over seeds (diverged runs in brackets, left out of the mean).", ""]
    for task in s["tasks"]:
        metric = s["metric_names"][task]
        lines += [f"**{task}** ({metric})", "", "| family | " + " | ".join(f"lr {lr}" for lr in s["lrs"]) + " |",
                  "|---" * (len(s["lrs"]) + 1) + "|"]
        for fam in s["families"]:
            cells = []
            for lr in s["lrs"]:
                runs = [r for r in data["runs"] if r["task"] == task and r["family"] == fam and r["lr"] == lr]
                div = sum(r["status"] == "diverged" for r in runs)
                cells.append(_fmt(mean([r["test_metric"] for r in runs]), metric) + (f" [{div}]" if div else ""))
            lines.append(f"| {fam} | " + " | ".join(cells) + " |")
        lines.append("")
    if data.get("confirmation"):
        seeds = data["confirm_seeds"]
        lines += [
            f"## Confirmation on fresh seeds ({seeds[0]}..{seeds[-1]})", "",
            f"The main study's {s['seeds']} seeds can hardly make a difference significant after Holm over "
            f"{summary['protocols']['own_lr']['comparisons']} comparisons. So the "
            "differences it suggested (a family better or worse than gd on every seed at its best lr; on rings, "
            "heavy ball at an lr where gd has not converged) were fixed after the main study and retrained, with "
            f"gd at the same lr, on {len(seeds)} new seeds; the paired t-test is Holm-adjusted over these "
            f"{len(data['confirmation'])} hypotheses only. Command: `{data['confirm_command']}`.", "",
            "| task | family | lr | main study: Δ vs gd (W/L) | fresh seeds: Δ mean ± std | W/L | p (raw) | p (Holm) "
            "| verdict |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for h in data["confirmation"]:
            metric = s["metric_names"][h["task"]]

            def d(x: float | None, metric: str = metric) -> str:
                if x is None:
                    return "—"
                return f"{100 * x:+.1f} pt" if metric == "accuracy" else f"{x:+.2g}"

            std = "" if h["diff_std"] is None else f" ± {d(h['diff_std'])[1:]}"
            ph = "—" if h.get("p_holm") is None else f"{h['p_holm']:.2g}"
            pr = "—" if h.get("p") is None else f"{h['p']:.2g}"
            lines.append(
                f"| {h['task']} | {h['family']} | {h['lr']} | {d(h['main_diff_mean'])} ({h['main_wins']}/"
                f"{h['main_losses']}) | {d(h['diff_mean'])}{std} | {h['wins']}/{h['losses']} of {h['paired_seeds']} | "
                f"{pr} | {ph} | {h['verdict']} |"
            )
        lines.append("")
    lines += ["## Reading", ""]
    for protocol, title in PROTOCOLS.items():
        table = summary["protocols"][protocol]["table"]
        better = [f"{f} on {t}" for t, fams in table.items() for f, e in fams.items() if e.get("verdict") == "better"]
        worse = [f"{f} on {t}" for t, fams in table.items() for f, e in fams.items() if e.get("verdict") == "worse"]
        unclear = [(f, t, e) for t, fams in table.items() for f, e in fams.items()
                   if e.get("verdict") == "no clear difference" and e.get("paired_seeds")]
        up = [f"{f} on {t}" for f, t, e in unclear if e["wins"] == e["paired_seeds"]]
        down = [f"{f} on {t}" for f, t, e in unclear if e["losses"] == e["paired_seeds"]]
        ties = [f"{f} on {t}" for t, fams in table.items() for f, e in fams.items() if e.get("verdict") == "tie"]
        lines.append(
            f"- {title[0].upper() + title[1:]}: significantly better than gd: {', '.join(better) or 'none'}; "
            "significantly worse: "
            f"{', '.join(worse) or 'none'}. Better on every paired seed but not significant after Holm: "
            f"{', '.join(up) or 'none'}; worse on every paired seed but not significant: {', '.join(down) or 'none'}; "
            f"identical to gd on every seed: {', '.join(ties) or 'none'}."
        )
    if data.get("confirmation"):
        for verdict in ("better", "worse"):
            hits = [f"{h['family']} on {h['task']} (lr {h['lr']})" for h in data["confirmation"]
                    if h["verdict"] == verdict]
            lines.append(f"- Confirmed on fresh seeds, {verdict} than gd: {', '.join(hits) or 'none'}.")
    lines += [
        "- Everything else is within the seed spread: not a win for either side.",
        "",
        f"Caveats: {s['seeds']} seeds, small networks, short budgets, and task settings piloted on gd; the lr "
        f"grid has {len(s['lrs'])} points. A family that is 'no clear difference' here may differ with more seeds "
        "or longer training.",
        "",
        "Files: `results.csv` (one row per run of the main study), `results.json` (settings, machine, every run "
        "including the confirmation's, summaries), "
        "`figure.html` (test metric per family and task: own-lr protocol on top, lr-grid mean below; offline).",
        "",
    ]
    return "\n".join(lines)
