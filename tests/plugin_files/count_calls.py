"""A test plugin that counts, in every process importing it, the calls that cost a trial its work: the
certificate (`certify_plan`), the network (`build`) and the space's validation (`SearchSpace._constrain`).

One line ``NAME PID`` per call goes to the file beside this module (``<module>.calls``), so a test that copies
it under a fresh module name sees the calls of its own driver and Ray workers. Counting is by code object (every
import alias is seen) through a profile hook: this thread, and threads started after the import (a Ray Tune
trial runs in one). `stop` removes the hook.
"""

import os
import sys
import threading
from pathlib import Path

import optnas
from optnas.certify import certify_plan
from optnas.search import space

OUT = Path(__file__).with_suffix(".calls")
CODES = {certify_plan.__code__: "certify", optnas.build.__code__: "build",
         space.SearchSpace._constrain.__code__: "validate"}


def _count(frame, event, arg):
    if event == "call" and frame.f_code in CODES:
        try:
            with OUT.open("a") as f:
                f.write(f"{CODES[frame.f_code]} {os.getpid()}\n")
        except OSError:  # the test's folder is gone: nothing left to count for
            stop()


def stop() -> None:
    sys.setprofile(None)
    threading.setprofile(None)  # type: ignore[arg-type]


sys.setprofile(_count)
threading.setprofile(_count)
