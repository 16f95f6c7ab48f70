"""Whether a process of this host still exists: one check for the pid files and worker records that need it.

Example:
    >>> import os
    >>> alive(os.getpid()), alive(-1)
    (True, False)
"""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True when process ``pid`` exists here (signal 0 sends nothing; another user's process counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
