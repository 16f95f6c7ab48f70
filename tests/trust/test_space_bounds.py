"""Space files cannot exhaust the machine: bounded size and alias expansion, no duplicate keys, text only.

Every refusal is one line naming the file (and the key path where there is one), comes in milliseconds, and
echoes no value longer than `optnas._validate.ECHO_MAX` characters.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from optnas.errors import UsageError
from optnas.search import SearchSpace, bounds

GOOD = """\
task: {name: rings, params: {n_samples: 300}}
train: {epochs: 1, batch_size: 32}
space:
  algorithm: {gd: {}}
  block: {mlp2: {hidden: [8]}}
  depth: 2
  width: [8]
trials: 1
"""

LAUGHS = "\n".join(
    ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
)


def _refused(tmp_path: Path, content: str | bytes, *needles: str) -> str:
    path = tmp_path / "space.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(UsageError) as info:
        SearchSpace.from_yaml(path)
    took = time.perf_counter() - start
    text = str(info.value)
    assert took < 1.0, took  # milliseconds in practice; a loaded 2-core machine gets headroom
    assert "\n" not in text and text.startswith(str(path)), text
    assert len(text) < 400, text
    for needle in needles:
        assert needle in text, text
    return text


def test_a_billion_laughs_is_refused_by_counting_not_expanding(tmp_path: Path) -> None:
    _refused(tmp_path, LAUGHS + "\ntask: *a9\n" + GOOD.split("\n", 1)[1], f"more than {bounds.MAX_NODES}")


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, "loop: &l [*l]\n" + GOOD, f"loop: nested deeper than {bounds.MAX_DEPTH} levels")


def test_a_list_of_millions_made_with_aliases_is_refused(tmp_path: Path) -> None:
    chunk = "c: &c [" + ", ".join(["8"] * 50) + "]\n"
    many = "d: &d [" + ", ".join(["*c"] * 50) + "]\n"
    _refused(tmp_path, chunk + many + GOOD.replace("width: [8]", "width: [" + ", ".join(["*d"] * 5000) + "]"),
             "YAML values")


def test_a_long_choice_list_is_refused_with_its_key(tmp_path: Path) -> None:
    width = "[" + ", ".join(str(8 + i) for i in range(bounds.MAX_CHOICES + 1)) + "]"
    _refused(tmp_path, GOOD.replace("width: [8]", f"width: {width}"), "space.width",
             f"at most {bounds.MAX_CHOICES}")


def test_a_file_past_the_byte_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    _refused(tmp_path, GOOD + "#" * bounds.MAX_FILE_BYTES, f"larger than {bounds.MAX_FILE_BYTES} bytes")


@pytest.mark.parametrize(("text", "key"), [
    (GOOD + "trials: 2\n", "trials: duplicate key at line 9 (first at line 8)"),
    (GOOD.replace("  depth: 2\n", "  depth: 2\n  depth: 3\n"), "space.depth: duplicate key at line 7"),
    (GOOD.replace("{gd: {}}", "{gd: {}, gd: {}}"), "space.algorithm.gd: duplicate key"),
], ids=["top", "space", "flow"])
def test_a_duplicate_key_is_refused_with_its_path(tmp_path: Path, text: str, key: str) -> None:
    _refused(tmp_path, text, key)


@pytest.mark.parametrize(("content", "needle"), [
    (GOOD.encode() + b"\x00\n", "holds a NUL byte at byte"),
    (GOOD.replace("rings", "r\u00e9ngs").encode("latin-1"), "is not UTF-8 text (byte 14 is 0xe9)"),
    (bytes(range(1, 256)) * 4, "is not UTF-8 text"),
], ids=["nul", "latin1", "binary"])
def test_a_binary_or_foreign_encoded_file_is_one_line_naming_it(tmp_path: Path, content: bytes, needle: str) -> None:
    _refused(tmp_path, content, needle)


@pytest.mark.parametrize(("old", "new", "needle"), [
    ("epochs: 1", "epochs: 99999999999999999999999", "train.epochs"),
    ("epochs: 1", f"epochs: {bounds.MAX_EPOCHS + 1}", f"less than or equal to {bounds.MAX_EPOCHS}"),
    ("trials: 1", f"trials: {bounds.MAX_TRIALS + 1}", f"less than or equal to {bounds.MAX_TRIALS}"),
    ("depth: 2", "depth: " + "9" * 5000, "space.depth: a number of 5000 characters"),
], ids=["epochs-huge", "epochs", "trials", "digits"])
def test_counts_have_upper_bounds(tmp_path: Path, old: str, new: str, needle: str) -> None:
    _refused(tmp_path, GOOD.replace(old, new), needle)


@pytest.mark.parametrize(("old", "new"), [
    ("name: rings", "name: " + "x" * 100_000),
    ("depth: 2", "depth: [" + "y" * 100_000 + "]"),
    ("gd: {}", "gd: {beta: " + "z" * 100_000 + "}"),
    ("batch_size: 32", "batch_size: " + "w" * 100_000),
], ids=["task", "choice", "param", "count"])
def test_an_echoed_value_is_cut(tmp_path: Path, old: str, new: str) -> None:
    _refused(tmp_path, GOOD.replace(old, new))


def test_the_cli_refuses_a_bomb_in_one_line_quickly(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(LAUGHS + "\ntask: *a9\n" + GOOD.split("\n", 1)[1])
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "optnas", "search", "bomb.yaml"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "OPTNAS_LOCK_DIR": str(tmp_path / "locks")},
                          check=False)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and len(done.stderr) < 400, done.stderr
    assert time.perf_counter() - start < 60
    assert not (tmp_path / "optnas-runs").exists()
