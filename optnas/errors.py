"""Exceptions at optnas's public boundary."""

from __future__ import annotations

from typing import Any


class OptnasError(Exception):
    """Base class of optnas's own errors."""


class UsageError(OptnasError, ValueError):
    """Bad input from a user (file, flag, name, value): the CLI prints it on one line and exits 2."""


class StorageWriteError(OptnasError):
    """A write to a study's storage (journal, artifact folder, database) failed: a full disk, a lost mount.

    The CLI prints its one line (the path and the OS error) and exits 2; the study stays readable and
    ``--resume`` continues it once the cause is fixed.

    Example:
        >>> str(StorageWriteError("runs/journal.log", OSError(28, "No space left on device")))
        'cannot write to runs/journal.log: [Errno 28] No space left on device (fix it, then continue with --resume)'
    """

    def __init__(self, path: str, error: BaseException) -> None:
        self.path, self.error = path, error
        if isinstance(error, OSError) and error.strerror:
            reason = f"[Errno {error.errno}] {error.strerror}"
        else:  # a database's error: its first line
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        super().__init__(f"cannot write to {path}: {reason} (fix it, then continue with --resume)")

    def __reduce__(self) -> tuple[type, tuple[str, BaseException]]:  # raised again by the parent of a worker
        return (StorageWriteError, (self.path, self.error))


class OutputWriteError(OptnasError):
    """A file or folder a command writes (``export --out``, ``report -o``, ``theory --plot``) could not be
    written: a read-only folder, a full disk, a dangling symbolic link. Nothing half-written is left.

    The CLI prints its one line (the flag, the path and the OS error) and exits 2.

    Example:
        >>> str(OutputWriteError("--out", "best", OSError(28, "No space left on device")))
        "--out 'best': cannot write it: [Errno 28] No space left on device (nothing was written)"
    """

    def __init__(self, flag: str, path: object, error: BaseException | str) -> None:
        self.flag, self.path, self.error = flag, str(path), error
        if isinstance(error, OSError) and error.strerror:
            reason = f"[Errno {error.errno}] {error.strerror}"
        else:
            reason = str(error)
        super().__init__(f"{flag} {str(path)!r}: cannot write it: {reason} (nothing was written)")

    def __reduce__(self) -> tuple[type, tuple[str, str, BaseException | str]]:
        return (OutputWriteError, (self.flag, self.path, self.error))


class OptnasWarning(UserWarning):
    """Base class of optnas's warnings; the CLI prints each as one line on stderr."""


class CutJournalWarning(OptnasWarning):
    """A journal file read whose last record is cut (a crash or a full disk mid-write): trials may be
    missing from what is read, until ``optnas search --resume`` repairs the file."""


class SearchIncomplete(OptnasError):
    """A search that ended short of its trial count (its workers died): the message says how to resume.

    ``study`` is the Optuna study as it stands, ``lost`` the numbers of the trials lost with dead workers,
    ``command`` the command line that continues it. The CLI prints the summary, then this one line, and exits 1.
    """

    def __init__(
        self, message: str, study: Any = None, lost: list[int] | None = None, command: str | None = None
    ) -> None:
        super().__init__(message)
        self.study, self.lost, self.command = study, list(lost or []), command


class TrialFailed(OptnasError):
    """Raise it in your own Optuna objective for a run that did not complete (``result.status`` diverged).

    Pass it in ``study.optimize(..., catch=(optnas.search.TrialFailed,))``: Optuna records the trial as FAIL
    with this message as its reason and the study goes on (a ``None`` return would be a cast error instead).
    """
