"""The effective theory's divergence prediction as a screen, on every table (issue 26, item 3).

Each rule rejects an architecture from its spec alone, before training, by a statement of the theory
(THEORY.md §2, `optnas.theory`); none reads a table:
- ``superlinear``: σ's kernel map grows faster than linearly, E[σ²](K) ∝ K^p with p > 1 (RePU: "deep RePU
  networks explode or vanish whatever the initialization"; MRePU likewise), measured by quadrature as
  E[σ²](100)/E[σ²](1) > 2·100.
- ``a1_positive``: σ is in the K* = 0 class with a1 = σ3/σ1 + ¾(σ2/σ1)² > 0 (the kernel creeps up with depth:
  MRePU's a1 = 3p(2p − 1)) *and* superlinear (GELU's a1 > 0 too, but a linearly bounded σ cannot run away).
- ``trainability``: `optnas.theory.trainability_score` at tolerance 1e3 predicts the network untrainable
  (what a space file's ``trainability: {skip_untrainable: true}`` skips today).
A rule passes on a table when it avoids at least 90% of the diverged runs (the runs whose architecture it
rejects) while keeping at least 99% of the top 5% of architectures by quality (mean test accuracy over
trained seeds, `optnas.bench.quality`). If one rule passed on every table it would become optnas's default
screen; the result is written to screen.json and the benchmark README by report.py. Run from the repository
root:
    python benchmarks/optnas_bench/screen.py
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import HERE, counts, data_tables, load, per_arch, write_json

import optnas
from optnas.theory import criticality, trainability_score
from optnas.theory._sigma import resolve
from optnas.theory.kernel import sigma_moments

AVOID, KEEP, TOP = 0.90, 0.99, 0.05


@cache
def superlinear(activation: str, params: tuple[tuple[str, Any], ...]) -> bool:
    sig = resolve(activation, dict(params))
    return sigma_moments(sig, 100.0).sigma_sq / sigma_moments(sig, 1.0).sigma_sq > 2 * 100.0


@cache
def a1_positive(activation: str, params: tuple[tuple[str, Any], ...]) -> bool:
    a1 = criticality(activation, **dict(params)).evidence.get("a1")
    return a1 is not None and a1 > 0 and superlinear(activation, params)


def _activation_rule(test: Callable[[str, tuple[tuple[str, Any], ...]], bool]) -> Callable[..., bool]:
    def rejects(spec: optnas.ArchSpec, input_shape: tuple[int, ...]) -> bool:
        return test(spec.activation, tuple(sorted(spec.activation_params.items())))

    return rejects


def _untrainable(spec: optnas.ArchSpec, input_shape: tuple[int, ...]) -> bool:
    return not trainability_score(spec, input_shape=input_shape, tolerance=1e3).predicted_trainable


RULES: dict[str, Callable[[optnas.ArchSpec, tuple[int, ...]], bool]] = {
    "superlinear": _activation_rule(superlinear),
    "a1_positive": _activation_rule(a1_positive),
    "trainability": _untrainable,
}


def _by(rows: pd.DataFrame, columns: list[str]) -> dict[str, int]:
    return {"/".join(map(str, k if isinstance(k, tuple) else (k,))): int(v)
            for k, v in rows.groupby(columns).size().items()}


def evaluate(name: str, rules: tuple[str, ...] = tuple(RULES)) -> dict[str, Any]:
    df, arch = load(name), per_arch(name)
    task = df["train"].iloc[0]["task"]
    shape = tuple(optnas.tasks.get(task["name"], **task["params"]).input_shape)
    quality = arch.set_index("arch")["test"].dropna()
    top = set(quality.nlargest(max(1, round(TOP * len(quality)))).index)
    diverged = df[df["status"] != "complete"]["arch"]
    out: dict[str, Any] = {"counts": counts(df), "top": len(top), "diverged_runs": len(diverged)}
    for rule in rules:
        rejects = RULES[rule]
        rejected = {a for a, spec in zip(arch["arch"], arch["spec"], strict=True)
                    if rejects(optnas.ArchSpec.from_dict(spec), shape)}
        avoided = float(diverged.isin(rejected).mean()) if len(diverged) else 1.0
        kept = len(top - rejected) / len(top)
        lost = arch[arch["arch"].isin(top & rejected)]
        out[rule] = {"rejected_architectures": len(rejected), "avoided_diverged": avoided, "top5_kept": kept,
                     "passes": avoided >= AVOID and kept >= KEEP,
                     "rejected_by_activation": _by(arch[arch["arch"].isin(rejected)], ["activation"]),
                     "top5_lost_by_activation_depth": _by(lost, ["activation", "depth"])}
    return out


def main() -> None:
    tables = data_tables()
    results: dict[str, Any] = {"tables": list(tables), "avoid": AVOID, "keep": KEEP, "top": TOP}
    for t in tables:
        results[t] = evaluate(t)
    passing = [r for r in RULES if all(results[t][r]["passes"] for t in tables)]
    results["passes_everywhere"] = passing
    results["default"] = passing[0] if passing else None
    write_json(HERE / "screen.json", results)
    for t in tables:
        print(t, {r: {k: results[t][r][k] for k in ("rejected_architectures", "avoided_diverged", "top5_kept")}
                  for r in RULES})
    print("passes on every table:", passing or "none")


if __name__ == "__main__":
    main()
