"""`optnas ARGV...` run in this process: `optnas.cli.main(argv)` with its stdout, stderr and exit code.

A subprocess per case pays Python's and torch's import (6-9 s each on a loaded 2-core machine); the command's
behaviour (its exit code, its one-line errors, the files it makes) is the same in-process. Each command keeps
one subprocess smoke test (``python -m optnas ...``) for what only a real process shows: the entry point,
nothing printed at import or exit.

    >>> result = run_cli("list", "algorithms")
    >>> result.returncode, "heavy_ball" in result.stdout
    (0, True)
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from optnas.cli import main


@dataclass(frozen=True)
class CliResult:
    """What a finished `optnas` command left, named as `subprocess.CompletedProcess` names it."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*argv: str, cwd: Path | str | None = None, env: Mapping[str, str] | None = None) -> CliResult:
    """Run ``optnas *argv`` in-process, in ``cwd`` with ``env`` added to the environment, both restored after.

    argparse's usage errors leave through ``SystemExit``: its code is the result's return code, as a process's.
    optnas's log records reach ``stderr`` as in a process (where, with no handler set, Python's last-resort
    handler prints warnings and above, bare); pytest's own handlers would otherwise take them.
    """
    out, err = io.StringIO(), io.StringIO()
    with _environment(env or {}), contextlib.chdir(cwd or os.getcwd()), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _last_resort_logging(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliResult(int(code), out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _last_resort_logging(stream: io.StringIO) -> Iterator[None]:
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


@contextlib.contextmanager
def _environment(extra: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
