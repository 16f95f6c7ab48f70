"""End to end: a real `optnas search` (two objectives), then `optnas export` of its best and cheapest trials."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from optnas.cli import main
from optnas.export import export_trial, load

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_export_what_a_real_search_stored(tmp_path: Path) -> None:
    space = (ROOT / "search_spaces" / "rings.yaml").read_text(encoding="utf-8")
    space = space.replace("epochs: 15", "epochs: 1").replace("trials: 12", "trials: 4")
    space = space.replace("n_samples: 3000", "n_samples: 300")
    space = space.replace("objectives: [{metric: val_metric}]",
                          "objectives: [{metric: val_metric}, {metric: params, direction: minimize}]")
    (tmp_path / "space.yaml").write_text(space, encoding="utf-8")
    journal = str(tmp_path / "runs" / "journal.log")
    assert main(["search", str(tmp_path / "space.yaml"), "--storage", journal, "--study", "s", "--device", "cpu"]) == 0

    best = export_trial(journal, "s", out=tmp_path / "best", formats="pt2")
    cheap = export_trial(journal, "s", out=tmp_path / "cheap", objective="params")
    assert best.info["source"]["values"]["val_metric"] >= cheap.info["source"]["values"]["val_metric"]
    assert best.info["source"]["values"]["params"] >= cheap.info["source"]["values"]["params"]
    for folder in (tmp_path / "best", tmp_path / "cheap"):
        assert load(folder)(torch.randn(3, 2)).shape == (3, 3)
