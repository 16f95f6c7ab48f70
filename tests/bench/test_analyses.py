"""The optnas-bench analyses of issue 26: proxies rank trained architectures and predict divergence apart
(NaN never ranked), the theory's divergence screen is evaluated on every table and decides the default, and
the papers' comparisons pair matched settings with seeds averaged. Each recorded JSON is checked against a
recomputation (the fast parts here; the whole files in the slow tests)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from tests._support.bench_scripts import HERE, bench_script


def _close(a: object, b: object) -> bool:
    """Equal JSON-like values, floats to 1e-9 relative (NaN equals NaN; JSON writes -0.0, ints as floats)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9)
    return a == b


def _recorded(name: str) -> dict:
    return json.loads((HERE / f"{name}.json").read_text())


def test_a_proxy_that_could_not_score_is_neither_ranked_nor_screened(monkeypatch) -> None:
    proxies = bench_script("proxies", monkeypatch)
    rng = np.random.default_rng(0)
    quality = pd.Series(rng.permutation(100) / 100.0)
    score = quality.copy()
    best = quality.nlargest(5).index
    score[best] = np.nan  # the proxy failed exactly on the top 5%
    arch = pd.DataFrame({"test": quality, "diverged": 0.0})
    r = proxies.evaluate(arch, score)
    assert r["nan"] == 5 and r["n"] == 95
    assert r["spearman"] == pytest.approx(1.0)  # on what it scored; NaN as "worst" would drag it down
    assert r["top5_kept"]["0.9"] == 1.0  # never screened out as the worst


def test_divergence_auc_is_reported_apart_on_the_scored_runs(monkeypatch) -> None:
    proxies = bench_script("proxies", monkeypatch)
    diverged = pd.Series([True, True, False, False, False, True])
    low = pd.Series([0.1, 0.2, 0.5, 0.6, 0.7, np.nan])
    r = proxies.divergence_auc(low, diverged)
    assert r["auc"] == 1.0 and r["diverged"] == 2 and r["nan_diverged"] == 1
    assert proxies.divergence_auc(-low, diverged)["auc"] == 0.0  # diverged runs scoring higher


def test_recorded_proxies_are_on_trained_architectures(monkeypatch) -> None:
    proxies = bench_script("proxies", monkeypatch)
    recorded = _recorded("proxies")
    arch = proxies.per_arch("digits")
    again = proxies.evaluate(arch, arch["synflow"])
    stored = recorded["digits"]["single"]["synflow"]
    assert _close({k: stored[k] for k in again}, again)
    assert stored["n"] + stored["nan"] == recorded["digits"]["quality"]["trained_architectures"]
    assert recorded["tables"][0] == "mnist1d" and "digits" in recorded["tables"]


def test_the_theory_rules_read_the_activation_s_theory(monkeypatch) -> None:
    screen = bench_script("screen", monkeypatch)
    p2 = (("p", 2),)
    assert screen.superlinear("repu", p2) and screen.superlinear("mrepu", p2)
    assert not any(screen.superlinear(a, ()) for a in ("relu", "gelu", "tanh"))
    assert screen.a1_positive("mrepu", p2)  # a1 = 3p(2p − 1) = 18 > 0 and superlinear
    assert not screen.a1_positive("gelu", ()) and not screen.a1_positive("repu", p2)  # gelu: a1 > 0, linear


def test_the_default_screen_follows_the_recorded_evidence(monkeypatch) -> None:
    from optnas.search.config import Trainability

    screen = bench_script("screen", monkeypatch)
    recorded = _recorded("screen")
    for t in recorded["tables"]:
        for rule in screen.RULES:
            v = recorded[t][rule]
            assert v["passes"] == (v["avoided_diverged"] >= recorded["avoid"] and v["top5_kept"] >= recorded["keep"])
    passing = [r for r in screen.RULES if all(recorded[t][r]["passes"] for t in recorded["tables"])]
    assert recorded["passes_everywhere"] == passing
    # no rule passed on every table: the search's default screen stays off (it would be on otherwise)
    assert (recorded["default"] is None) == (Trainability().skip_untrainable is False)
    again = screen.evaluate("digits", rules=("superlinear", "a1_positive"))
    for rule in ("superlinear", "a1_positive"):
        assert _close(again[rule], recorded["digits"][rule])


def test_papers_pair_matched_settings_with_seeds_averaged(monkeypatch) -> None:
    papers = bench_script("papers", monkeypatch)
    df = papers.load("digits")
    fams = {f["family"]: f for f in papers.families("digits", df)}
    settings = df[df["algorithm"] == "gd"]["arch"].nunique()
    assert fams["heavy_ball"]["settings"] == settings  # one pair per setting, not one per seed
    assert fams["heavy_ball"]["seed_pairs"]["pairs"] == settings * 3
    recorded = {f["family"]: f for f in _recorded("papers")["digits"]["families"]}
    for name, f in fams.items():
        assert f["decision"] == recorded[name]["decision"]
        assert f["mean_diff"] == pytest.approx(recorded[name]["mean_diff"])
        assert (f["p_holm"] == pytest.approx(recorded[name]["p_holm"])) or math.isnan(f["p_holm"])


def test_holm_adjusts_and_decides(monkeypatch) -> None:
    papers = bench_script("papers", monkeypatch)
    assert papers.holm([0.01, 0.04, float("nan"), 0.03]) == pytest.approx([0.03, 0.06, float("nan"), 0.06],
                                                                         nan_ok=True)
    assert papers.decision(0.5, 0.01) == "better" and papers.decision(-0.5, 0.01) == "worse"
    assert papers.decision(0.5, 0.2) == "no difference" and papers.decision(None, 0.0) == "no difference"


@pytest.mark.slow
@pytest.mark.parametrize("script", ["proxies", "papers", "screen"])
def test_the_recorded_json_is_what_the_script_computes(script: str, monkeypatch, tmp_path) -> None:
    module = bench_script(script, monkeypatch)
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.main()
    assert _close(json.loads((tmp_path / f"{script}.json").read_text()), _recorded(script))
