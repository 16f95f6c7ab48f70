"""What plain Optuna reads from a storage (its own backend and `optuna.load_study`, no optnas code), and the
accounting of one round: trials lost, duplicated, left RUNNING, and status/state disagreements."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

from optnas.outcome import status as optnas_status


@dataclass
class Snapshot:
    """One reading of a study: per trial number, its Optuna state and recorded optnas status."""

    trials: dict[int, tuple[str, Any]]
    ray_ids: list[str]
    error: str | None = None

    def numbers(self, state: str) -> set[int]:
        return {n for n, (s, _) in self.trials.items() if s == state}

    def counted(self) -> int:
        """Finished trials that count toward the target (the rule of optnas.search.runner.counted)."""
        return sum(1 for s, rec in self.trials.values() if s in ("COMPLETE", "PRUNED") or (s == "FAIL" and rec))


def plain_storage(url: str) -> optuna.storages.BaseStorage:
    if "://" in url:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return RDBStorage(url, skip_table_creation=True)
    return JournalStorage(JournalFileBackend(url))


def snapshot(url: str, study: str) -> Snapshot:
    """The study as plain Optuna reads it; ``error`` holds the first line of why it could not be read."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        loaded = optuna.load_study(study_name=study, storage=plain_storage(url))
        trials = loaded.get_trials(deepcopy=False)
    except KeyError:  # no such study yet: the fault came before it was created
        return Snapshot({}, [])
    except Exception as exc:
        return Snapshot({}, [], error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    rows = {t.number: (t.state.name, t.user_attrs.get("status")) for t in trials}
    ray_ids = [str((t.user_attrs.get("ray") or {}).get("trial_id")) for t in trials if t.user_attrs.get("ray")]
    return Snapshot(rows, ray_ids)


def account(before: Snapshot, after: Snapshot, target: int) -> dict[str, int]:
    """Lost: COMPLETE right after the fault but not after resume, plus trials short of the target; duplicated:
    finished trials beyond the target plus Ray trials recorded twice; RUNNING: left after resume; disagree:
    trials whose recorded status is not what optnas.outcome makes of their Optuna state."""
    gone = len(before.numbers("COMPLETE") - after.numbers("COMPLETE"))
    counted = after.counted()
    ray_twice = len(after.ray_ids) - len(set(after.ray_ids))
    disagree = sum(
        1 for s, rec in after.trials.values() if isinstance(rec, str) and optnas_status(s, rec) != rec
    )
    return {
        "lost": gone + max(0, target - counted),
        "duplicated": max(0, counted - target) + ray_twice,
        "running": len(after.numbers("RUNNING")),
        "status_disagrees": disagree,
        "complete": len(after.numbers("COMPLETE")),
        "counted": counted,
    }
