"""Named moments of a trial's lifecycle where a fault test can stop a worker; inert unless asked for.

A fault test that kills a worker "between the record and the tell" cannot hit that moment by polling: the
two writes are microseconds apart. With ``OPTNAS_FAILPOINT=NAME`` and ``OPTNAS_FAILPOINT_DIR=DIR`` in its
environment, the first process of a search to reach point ``NAME`` creates ``DIR/NAME`` (exclusively, so only
one process stops), writes its pid there and sleeps until the test kills it (a real SIGKILL from outside);
every other process, and every other point, goes on. Nothing happens when the variables are unset.

Points: ``after_ask`` (a trial was just asked for, nothing else written), ``epoch`` (the end of a trial's
first epoch, heartbeat running), ``before_tell`` (the trial's record is written, ``tell`` is next).

Example (in a test):
    >>> import os; os.environ.pop("OPTNAS_FAILPOINT", None) and None
    >>> reach("before_tell")          # not armed: returns at once
"""

from __future__ import annotations

import os
import time
from pathlib import Path

POINTS = ("after_ask", "epoch", "before_tell")


def reach(name: str) -> None:
    """Stop here (sleep until killed) when this point is armed and no other process has stopped at it yet."""
    if os.environ.get("OPTNAS_FAILPOINT") != name:
        return
    marker = Path(os.environ.get("OPTNAS_FAILPOINT_DIR", ".")) / name
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return  # another process stopped here already: this one runs on
    with os.fdopen(fd, "w") as fh:
        fh.write(str(os.getpid()))
    while True:  # the test SIGKILLs this process; nothing after this point runs
        time.sleep(3600)
