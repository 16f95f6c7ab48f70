"""End to end: a real `optnas search` (two objectives), then `optnas export` of its best and cheapest trials."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import torch

from optnas.cli import main
from optnas.export import export_trial, load
from optnas.search import open_storage

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


def test_a_digits_export_takes_raw_pixels_as_scikit_learn_gives_them(tmp_path: Path) -> None:
    """The digits task trains on standardized pixels; its export must carry that scaling, not expect it."""
    from sklearn.datasets import load_digits

    from optnas.tasks.base import tensor_splits

    space = (ROOT / "search_spaces" / "digits.yaml").read_text(encoding="utf-8")
    space = space.replace("epochs: 15", "epochs: 2").replace("trials: 24", "trials: 1")
    (tmp_path / "space.yaml").write_text(space, encoding="utf-8")
    journal = str(tmp_path / "runs" / "journal.log")
    assert main(["search", str(tmp_path / "space.yaml"), "--storage", journal, "--study", "d", "--device", "cpu"]) == 0
    done = export_trial(journal, "d", out=tmp_path / "out")
    assert done.info["standardize"] is True
    data = load_digits()
    raw = torch.as_tensor(data.images, dtype=torch.float32).flatten(1)
    x, y = tensor_splits(raw, torch.as_tensor(data.target), 0.1, 0.2, 0)["test"]  # the task's default split
    assert float(x.max()) == 16.0  # raw pixels, 0..16
    with torch.no_grad():
        accuracy = float((load(done.out)(x).argmax(1) == y).float().mean())
    study = optuna.load_study(study_name="d", storage=open_storage(journal))
    trained = study.trials[done.info["source"]["trial"]].user_attrs["metrics"]["test_metric"]
    assert accuracy == pytest.approx(trained, abs=1e-6)
