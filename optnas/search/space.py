"""`SearchSpace`: a validated search-space file and its define-by-run `suggest`.

Only certified specs come out of `suggest`. Two mechanisms keep it so (docs: README, "Search spaces"):
1. At load, ranges are constrained to certified sets where the set is known to be an interval: widths below
   the input dimension + 1 are dropped, and a numeric algorithm parameter whose end fails the certificate
   (heavy_ball beta = 1, ladmm rho too large) is shrunk by bisection to the certified part, with a warning.
2. What cannot be constrained that way (an implicit algorithm drawn with an activation that is not globally
   Lipschitz, say) is certified at draw time: `suggest` raises `UncertifiedDraw`, and the runner records
   the trial as failed with the failing conditions.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
import yaml
from pydantic import ValidationError

from .. import activations, algorithms, blocks, plugins, schedules
from .. import tasks as task_registry
from .._shapes import state_features
from .._validate import ECHO_MAX, LINE_MAX, shown
from ..build import INITS
from ..certify import Certificate, certify
from ..errors import UsageError
from ..spec import STEMS, ArchSpec
from ..storage import artifacts
from . import values
from ._yaml import load_space_file
from .checks import check_memory, check_values, format_validation
from .config import Range, Scalar, SpaceFile, Value


class UncertifiedDraw(ValueError):
    """A drawn spec failed its certificate; the trial carries ``certificate`` and ``reason`` user attrs."""

    def __init__(self, certificate: Certificate) -> None:
        self.certificate = certificate
        super().__init__("; ".join(f"{c.name}: {c.detail}" for c in certificate.failing()))


def suggest_value(trial: optuna.Trial, name: str, value: Value | Sequence[Scalar]) -> Any:
    """Fixed values pass through; a list is a categorical; a Range an int or float parameter."""
    if isinstance(value, Range):
        if value.integer:
            return trial.suggest_int(name, int(value.low), int(value.high), step=int(value.step or 1))
        return trial.suggest_float(name, float(value.low), float(value.high), log=value.log, step=value.step)
    if isinstance(value, list):
        return trial.suggest_categorical(name, value)
    return value


class SearchSpace:
    """A search space over `ArchSpec` plus the task, training budget and objectives of a search.

    ``task`` (an `optnas.tasks.Task`, e.g. ``optnas.tasks.from_tensors(x, y)``) replaces the file's
    ``task:`` section, which may then be left out; without it the file must name a registered task.

    Example:
        >>> space = SearchSpace.from_yaml("search_spaces/rings.yaml")       # doctest: +SKIP
        >>> def objective(trial):                                            # doctest: +SKIP
        ...     spec = space.suggest(trial)                                  # a certified ArchSpec
        ...     return optnas.train(spec, space.task(), epochs=5).metrics["val_metric"]
        >>> mine = SearchSpace.from_yaml("search_spaces/rings.yaml",         # doctest: +SKIP
        ...                              task=optnas.tasks.from_tensors(x, y))
    """

    def __init__(self, config: SpaceFile, path: Path | None = None, task: task_registry.Task | None = None) -> None:
        where = path or Path("<search space>")
        if task is not None and not isinstance(task, task_registry.Task):
            raise UsageError(
                f"{where}: task={type(task).__name__} is invalid: pass an optnas.tasks.Task "
                "(e.g. optnas.tasks.from_tensors(x, y)) or leave it out to use the file's task"
            )
        if task is None and config.task is None:
            raise UsageError(
                f"{where}: task: missing; name a registered task (task: {{name: rings}}) or pass "
                "task=optnas.tasks.from_tensors(...) to SearchSpace"
            )
        self._config = config
        self._path = path
        self._given_task = task
        self._task: Any = task

    # read-only: a loaded space is never changed (`optnas.search.run_search` passes its seed on instead)
    @property
    def config(self) -> SpaceFile:
        """The validated file (frozen pydantic models)."""
        return self._config

    @property
    def path(self) -> Path | None:
        return self._path

    def __getstate__(self) -> dict[str, Any]:
        # a registered task is made again where the space is unpickled (a `--jobs` worker); a given one travels
        return {**self.__dict__, "_task": self._given_task}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        # a spawned worker needs the names the file's plugins register; the file was validated already
        plugins.load(self._config.plugins, where=f"{self._path or '<search space>'}: plugins:",
                     folder=self._path.parent if self._path else None)

    def __repr__(self) -> str:
        return f"SearchSpace({self.name!r}, task={self.task_name!r})"

    @property
    def task_name(self) -> str:
        """The task's name: the given Task's, else the file's."""
        if self._given_task is not None:
            return str(self._given_task.name)
        assert self.config.task is not None  # checked in __init__
        return self.config.task.name

    @property
    def given_task(self) -> task_registry.Task | None:
        """The Task object passed in (None when the file names a registered task)."""
        return self._given_task

    @classmethod
    def from_yaml(cls, path: str | Path, *, task: task_registry.Task | None = None) -> SearchSpace:
        """Load and validate a search-space file; ``task`` (a Task object) replaces its ``task:`` section."""
        path = Path(path)
        if not path.is_file():
            raise UsageError(f"{path}: no such search-space file")
        try:
            data = load_space_file(path)  # bounded: size, aliases, duplicate keys, text only
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = str(getattr(exc, "problem", None) or exc).splitlines()[0][:ECHO_MAX]
            raise UsageError(f"{path}: malformed YAML{where}: {problem}") from None
        return cls.from_dict(data, path, task=task)

    @classmethod
    def from_dict(
        cls, data: Any, path: Path | None = None, *, task: task_registry.Task | None = None
    ) -> SearchSpace:
        where = path or Path("<search space>")
        if not isinstance(data, dict):
            raise UsageError(f"{where}: a search space must be a mapping with task, space, ... keys")
        try:
            config = SpaceFile.model_validate(data)
        except ValidationError as exc:
            raise UsageError(format_validation(where, exc)) from None
        # before the names they register are checked; the modules may sit beside the file (looked for there
        # when not importable otherwise)
        plugins.load(config.plugins, where=f"{where}: plugins:", folder=path.parent if path else None)
        check_values(config, where)  # sizes and rates first: nothing is made from a bad value
        space = cls(config, path, task)
        space._check_names(where)
        check_memory(config, where, space.task().input_shape)
        space._constrain(where)
        space.artifacts  # noqa: B018  (a bad store URL is an error of the file, before anything runs)
        return space

    # -- validation --------------------------------------------------------------------------------------
    def _check_names(self, where: Path) -> None:
        s = self.config.space
        for key, registry in (
            ("algorithm", algorithms),
            ("schedule", schedules),
            ("block", blocks),
            ("activation", activations),
        ):
            for name in getattr(s, key):
                if name not in registry.names():
                    raise UsageError(
                        f"{where}: space.{key}: unknown name {shown(name)}; "
                        f"valid: {', '.join(registry.names())}"
                    )
        bad_sched = [n for n in s.schedule if n not in schedules.step_names()]
        if bad_sched:
            raise UsageError(
                f"{where}: space.schedule: {shown(bad_sched[0])} is not a step schedule; "
                f"valid: {', '.join(schedules.step_names())}"
            )
        for init in [s.init] if isinstance(s.init, str) else s.init:
            if init not in INITS:
                raise UsageError(
                    f"{where}: space.init: unknown init {shown(init)}; valid: {', '.join(sorted(INITS))}")
        if s.stem not in STEMS:
            raise UsageError(f"{where}: space.stem: {shown(s.stem)} is invalid; valid: {', '.join(STEMS)}")
        if self._given_task is None and self.task_name not in task_registry.names():
            raise UsageError(
                f"{where}: task.name: unknown task {shown(self.task_name)}; "
                f"valid: {', '.join(task_registry.names())}"
            )
        # every parameter corner must at least be a valid parameter value (names and domains)
        for key, registry in (
            ("algorithm", algorithms),
            ("schedule", schedules),
            ("block", blocks),
            ("activation", activations),
        ):
            for name, params in getattr(s, key).items():
                for corner in values.corners(params):
                    try:
                        registry.get(name, **corner)
                    except (ValueError, TypeError) as exc:
                        raise UsageError(f"{where}: space.{key}.{name}: {exc}") from None

    def _constrain(self, where: Path) -> None:
        """Shrink ranges to certified sets (width lift, algorithm parameters); warn about each change.

        The last step of loading: the constrained file replaces the parsed one, which nothing changes after."""
        s = self.config.space
        d = state_features(self.task().input_shape)
        width = s.width
        if s.stem == "lift":
            width = self._at_least(s.width, d + 1, f"{where}: space.width", "the width lift needs >= input dim + 1")
        depth_min = int(min(values.ends(s.depth)))
        algorithm: dict[str, dict[str, Value]] = {}
        for alg, given in s.algorithm.items():
            params = algorithm[alg] = dict(given)
            for pname, value in given.items():
                if isinstance(value, Range):
                    params[pname] = self._certified_range(alg, params, pname, value, depth_min, where)
        space = s.model_copy(update={"width": width, "algorithm": algorithm})
        self._config = self.config.model_copy(update={"space": space})

    @staticmethod
    def _at_least(value: Value, low: int, label: str, why: str) -> Value:
        if isinstance(value, Range):
            if value.high < low:
                raise UsageError(f"{label}: every width is below {low}: {why}")
            if value.low < low:
                warnings.warn(f"{label}: low raised from {value.low} to {low} ({why})", stacklevel=3)
                return Range(low=low, high=value.high, log=value.log, step=value.step)
            return value
        values = value if isinstance(value, list) else [value]
        kept: list[Scalar] = [v for v in values if isinstance(v, int) and v >= low]
        if not kept:
            raise UsageError(f"{label}: every width in {values} is below {low}: {why}")
        if len(kept) < len(values):
            warnings.warn(f"{label}: dropped {sorted(set(values) - set(kept))} ({why})", stacklevel=3)
        return kept if isinstance(value, list) else kept[0]

    def _certified_range(
        self, alg: str, params: dict[str, Value], pname: str, value: Range, depth: int, where: Path
    ) -> Range:
        def ok(x: float) -> bool:
            fixed = {k: values.first(v) for k, v in params.items() if k != pname}
            try:
                spec = ArchSpec(algorithm=alg, algorithm_params={**fixed, pname: x}, depth=depth)
                cert = certify(spec)
            except ValueError:
                return False
            return all(c.holds for c in cert.conditions if c.name in ("consistency", "zero_stability"))

        lo, hi = float(value.low), float(value.high)
        ok_lo, ok_hi = ok(lo), ok(hi)
        if ok_lo and ok_hi:
            return value
        if not ok_lo and not ok_hi:
            warnings.warn(
                f"{where}: space.algorithm.{alg}.{pname}: neither end of [{lo}, {hi}] is certified; "
                "draws will be recorded as failed trials",
                stacklevel=3,
            )
            return value
        good, bad = (lo, hi) if ok_lo else (hi, lo)
        failing_end = bad
        for _ in range(40):  # bisection to the boundary of the certified interval
            mid = (good + bad) / 2
            good, bad = (mid, bad) if ok(mid) else (good, mid)
        new = Range(low=lo if ok_lo else good, high=good if ok_lo else hi, log=value.log)
        warnings.warn(
            f"{where}: space.algorithm.{alg}.{pname}: range [{lo}, {hi}] constrained to its certified "
            f"part [{new.low:.6g}, {new.high:.6g}] ({pname}={failing_end:g} fails the certificate)",
            stacklevel=3,
        )
        return new

    # -- use ------------------------------------------------------------------------------------------
    def task(self) -> Any:
        """The task of this search (an `optnas.tasks.Task`), made once: tasks generate or load data."""
        if self._task is None:
            assert self.config.task is not None  # a space without a file task was given a Task object
            try:
                self._task = task_registry.get(self.config.task.name, **self.config.task.params)
            except (ValueError, TypeError, FileNotFoundError) as exc:
                where, name, text = self.path or "<search space>", self.config.task.name, str(exc)[:LINE_MAX]
                # the task's own checks say "rings task: n_samples=..."; in a file, name its key path
                prefix = f"{name} task: "
                text = (f"task.params.{text[len(prefix):]}" if text.startswith(prefix)
                        else f"task {shown(name)}: {text}")
                raise UsageError(f"{where}: {text}") from None
        return self._task

    def suggest(self, trial: optuna.Trial) -> ArchSpec:
        """Draw a certified `ArchSpec` with define-by-run suggestions; raise `UncertifiedDraw` otherwise."""
        return self.draw(trial)[0]

    def draw(self, trial: optuna.Trial) -> tuple[ArchSpec, Certificate]:
        """`suggest` with the draw's certificate (`optnas.build(..., certificate=)` takes it: computed once)."""
        s = self.config.space
        picked: dict[str, Any] = {}
        for key in ("algorithm", "schedule", "block", "activation"):
            family: dict[str, dict[str, Value]] = getattr(s, key)
            name = suggest_value(trial, key, list(family))
            params = {p: suggest_value(trial, f"{name}.{p}", v) for p, v in family[name].items()}
            picked[key], picked[f"{key}_params"] = name, params
        inits = [s.init] if isinstance(s.init, str) else s.init
        spec = ArchSpec(
            **picked,
            depth=int(suggest_value(trial, "depth", s.depth)),
            width=int(suggest_value(trial, "width", s.width)),
            stages=int(suggest_value(trial, "stages", s.stages)),
            init=suggest_value(trial, "init", inits),
            stem=s.stem,
        )
        cert = certify(spec, input_shape=self.task().input_shape)
        trial.set_user_attr("spec", spec.to_dict())
        trial.set_user_attr("certificate", cert.record())
        if not cert.ok:
            error = UncertifiedDraw(cert)
            trial.set_user_attr("status", "uncertified")
            trial.set_user_attr("reason", str(error))
            raise error
        return spec, cert

    def suggest_train(self, trial: optuna.Trial) -> dict[str, Any]:
        """Training options of this trial (lr and weight_decay may be searched)."""
        t = self.config.train
        options = t.model_dump(exclude={"epochs"})
        options["lr"] = float(suggest_value(trial, "lr", t.lr))
        options["weight_decay"] = float(suggest_value(trial, "weight_decay", t.weight_decay))
        return {k: v for k, v in options.items() if v is not None or k == "clip"}

    def objectives(self) -> list[tuple[str, str]]:
        """(metric, direction) pairs; task metrics take the task's direction unless the file says otherwise."""
        task_direction = self.task().direction
        return [
            (o.metric, o.direction or (task_direction if o.metric.endswith("_metric") else "minimize"))
            for o in self.config.objectives
        ]

    def to_dict(self) -> dict[str, Any]:
        # no `artifacts: null` in files that never named a store: their recorded space stays as it was
        return self.config.model_dump(mode="json", exclude=set() if self.config.artifacts else {"artifacts"})

    @property
    def artifacts(self) -> str | None:
        """The file's ``artifacts:`` store URL (a relative folder is relative to the file's folder), or None."""
        if self.config.artifacts is None:
            return None
        where = f"{self.path or '<search space>'}: artifacts:"
        return artifacts.normalize(self.config.artifacts, flag=where, base=self.path.parent if self.path else None)

    @property
    def name(self) -> str:
        return self.path.stem if self.path else "optnas"
