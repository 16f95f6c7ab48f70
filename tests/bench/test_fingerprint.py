"""Build trials are valid by the fingerprint of the training code they record; older ones by their date. The
arithmetic fingerprint names the machine's float32 kernels."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import optuna
import torch

import optnas
import optnas.bench
from optnas.bench import arithmetic, grid
from optnas.bench import build as bench_build
from optnas.bench import fingerprint as fp

TINY = grid.Table("tiny-fingerprint", {"name": "digits", "params": {}}, 1,
                  {"lr": 1e-2, "batch_size": 128, "precision": "fp32", "latency_repeats": 1},
                  seeds=(0,), specs=(optnas.ArchSpec(algorithm="gd", block_params={"hidden": 16}, depth=2, width=72),))


def _trial(started: datetime.datetime, **attrs: object) -> optuna.trial.FrozenTrial:
    return optuna.trial.FrozenTrial(
        number=-1, trial_id=-1, state=optuna.trial.TrialState.COMPLETE, value=0.5, datetime_start=started,
        datetime_complete=started, params={}, distributions={}, user_attrs={"spec": {}, **attrs},
        system_attrs={}, intermediate_values={})


def test_validity_is_the_recorded_fingerprint_else_the_date() -> None:
    now, old = datetime.datetime.now(), bench_build.VALID_FROM - datetime.timedelta(hours=1)
    assert bench_build.valid(_trial(now)) and not bench_build.valid(_trial(old))  # the committed tables' rule
    assert bench_build.valid(_trial(old, code=fp.fingerprint()))  # this code trained it, whenever that was
    assert not bench_build.valid(_trial(now, code="0" * 16))  # other code, however recent


def test_documentation_changes_no_fingerprint_and_code_does(tmp_path: Path) -> None:
    one, two, three = (tmp_path / f"{n}.py" for n in ("one", "two", "three"))
    one.write_text('"""A module."""\n\ndef f(x):\n    """Twice x."""\n    return 2 * x  # doubled\n')
    two.write_text('"""The same module, reworded."""\n\n\ndef f(x):\n    return 2 * x\n')
    three.write_text('"""A module."""\n\ndef f(x):\n    """Twice x."""\n    return 3 * x\n')
    assert fp._code(one) == fp._code(two) != fp._code(three)


def test_a_build_records_the_fingerprint(tmp_path: Path) -> None:
    grid.register(TINY)
    threads = torch.get_num_threads()
    try:
        assert bench_build.build(str(tmp_path / "j.log"), [TINY.name], pid_file=tmp_path / "p", max_cells=1,
                                 log=lambda s: None) == {TINY.name: 1}
    finally:
        torch.set_num_threads(threads)
    storage = optnas.storage.open_storage(str(tmp_path / "j.log"))
    (trial,) = optuna.load_study(study_name=bench_build.study_name(TINY.name), storage=storage).trials
    assert trial.user_attrs[bench_build.CODE_KEY] == fp.fingerprint() and bench_build.valid(trial)


def _arithmetic_in(env: dict[str, str]) -> str:
    code = "from optnas.bench.arithmetic import arithmetic; print(arithmetic())"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


def test_arithmetic_is_the_machines_and_sees_other_kernels() -> None:
    """The same machine gives the same hash in every process (whatever torch's thread count); oneMKL's
    portable kernels (MKL_CBWR=COMPATIBLE: other rounding in the same products) give another."""
    here = arithmetic.arithmetic()
    assert _arithmetic_in({"OMP_NUM_THREADS": "2"}) == here
    assert _arithmetic_in({"MKL_CBWR": "COMPATIBLE"}) != here
    assert set(arithmetic.SHIPPED) == set(optnas.bench.names())  # every shipped table says where it was built
