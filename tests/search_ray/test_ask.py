"""The Ray driver's ask (`optnas.search.ray.ask`) on a real PostgreSQL and a real journal, through the
searcher's `next_config` and the study writer's `finish` as Tune calls them (no Ray: the driver alone), and
through the searcher of a user's own Tune job (`user_searcher`)."""

import secrets

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState, create_trial

from optnas.search import SearchSpace, open_storage
from optnas.search.ray import writer
from optnas.search.ray.bridge import next_config
from optnas.search.ray.cluster import Resources
from optnas.search.ray.session import Session, bind
from optnas.search.ray.tally import reconcile
from optnas.search.ray.user_searcher import searcher
from optnas.search.study import create_or_resume

from .conftest import FAST

# plain Optuna's asks below run outside Study.optimize on a storage opened with heartbeats: expected
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage")

# a constrained space: the sampler (TPE with constraints_func) reads the constraints of finished trials
CONSTRAINED = FAST.replace("trials: 4", "trials: 40") + (
    "constraints: {max_params: 120}\nsampler: {name: tpe, params: {n_startup_trials: 3}}\n")


@pytest.fixture(params=["postgres", "journal"])
def url(request, tmp_path):
    if request.param == "journal":
        return str(tmp_path / "journal.log")
    return request.getfixturevalue("postgres_url")


def _session(url, space, name, artifacts):
    storage = open_storage(url)
    study = create_or_resume(space, url, name, resume=False, backend=storage, store=str(artifacts))
    return Session(space=space, seed=space.config.seed, study=study, storage=storage, url=url, target=10_000,
                   deadline=None,
                   experiment="exp", artifacts=str(artifacts), device="cpu", resources=Resources(cpu=1, gpu=0),
                   milestones=[], scheduler_name="none")


def _complete(session, number, params):
    """What a worker sends back for a trial that trained: a COMPLETE outcome with its record."""
    value = 0.5 + 0.01 * (number % 7)
    final = {"state": "COMPLETE", "values": [value], "attrs": {
        "status": "ok", "reason": "", "constraints": [params - 120.0], "device": "cpu",
        "metrics": {"val_metric": value, "epochs": 2, "params": params},
        "curves": {"val_metric": [value - 0.1, value]}}}
    writer.finish(session, writer.Ended(number, {"optnas_final": final, "epoch": 2}, None, None))


def _plain(url, name):
    """The study as plain Optuna reads it, from a storage opened afresh."""
    return optuna.load_study(study_name=name, storage=open_storage(url, create=False)).get_trials(deepcopy=False)


def test_driver_asks_record_unique_trials_that_plain_optuna_reads(url, tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(CONSTRAINED)
    space, name = SearchSpace.from_yaml(path), f"ask-{secrets.token_hex(4)}"
    session = _session(url, space, name, tmp_path / "artifacts")
    other = optuna.load_study(study_name=name, storage=open_storage(url))  # another process on the study
    plans, others = {}, set()
    with bind(session):
        writer.reconcile(session, [])
        for i in range(8):
            if i in (2, 5):  # trials another process asked meanwhile: the driver's list has a gap to fill
                trial = other.ask()
                trial.suggest_float("elsewhere", 0.0, 1.0)
                others.add(trial.number)
            plan = next_config(session, f"ray{i}")
            assert isinstance(plan, dict)
            number = plan["optnas"]["number"]
            plans[number] = plan["optnas"]
            if i < 6:  # 6 finished: TPE (3 startup trials) samples from the driver's list from the 4th ask on
                _complete(session, number, params=float(80 + 5 * (number % 11)))
        session.close()
    trials = {t.number: t for t in _plain(url, name)}
    numbers = sorted(plans)
    assert len(numbers) == len(set(numbers)) == 8
    assert sorted(trials) == list(range(10))  # the driver's 8 and the other process's 2, no number twice
    for number, plan in plans.items():
        t = trials[number]
        assert t.params and t.params == session.known.trials()[number].params  # recorded, as the sampler saw them
        assert t.user_attrs["spec"] == plan["spec"]  # the draw the worker got is the one recorded
        assert t.user_attrs["ray"]["trial_id"].startswith("ray")
    finished = [t for t in trials.values() if t.state == TrialState.COMPLETE]
    assert len(finished) == 6
    # what the sampler read is the stored study: states, values, records and TPE's constraint attributes
    seen = {t.number: t for t in session.known.trials()}
    for t in finished:
        assert (seen[t.number].state, seen[t.number].values) == (t.state, t.values)
        assert seen[t.number].system_attrs == t.system_attrs
        assert seen[t.number].user_attrs == t.user_attrs
        assert any("constraints" in key for key in t.system_attrs)  # the sampler honours the space's limit
    assert {t.number for t in trials.values() if t.state == TrialState.RUNNING} == others | set(numbers[6:])
    assert seen[max(others)].params == trials[max(others)].params  # the gap was filled from the storage


def _rows_read(engine, fn):
    """Rows the storage's SELECTs returned while ``fn`` ran (PostgreSQL: psycopg's rowcount)."""
    rows = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            rows.append(max(cursor.rowcount, 0))

    sqlalchemy.event.listen(engine, "after_cursor_execute", count)
    try:
        fn()
    finally:
        sqlalchemy.event.remove(engine, "after_cursor_execute", count)
    return sum(rows)


def test_an_ask_reads_the_same_rows_whatever_the_running_trials(postgres_url, tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(FAST)
    space, name = SearchSpace.from_yaml(path), f"rows-{secrets.token_hex(4)}"
    session = _session(postgres_url, space, name, tmp_path / "artifacts")
    session.study.sampler = optuna.samplers.RandomSampler(seed=0)
    engine = session.storage.engine
    running = [create_trial(state=TrialState.RUNNING, params={"x": 0.5},
                            distributions={"x": optuna.distributions.FloatDistribution(0, 1)},
                            intermediate_values={e: 0.1 * e for e in range(5)}) for _ in range(30)]
    driver, plain = [], []
    with bind(session):
        writer.reconcile(session, [])
        next_config(session, "first")  # Optuna checks a new parameter against the study's first one (LIMIT 1)
        for count in (5, 30):  # other processes' RUNNING trials, each with 5 reported epochs
            session.study.add_trials(running[: count - (0 if count == 5 else 5)])
            reconcile(session.tally, session.study, session.locks, session.known)  # as the periodic one does
            session.asking().study.sampler = optuna.samplers.RandomSampler(seed=0)  # the same draw, the same writes
            driver.append(_rows_read(engine, lambda: next_config(session, "r")))
            plain.append(_rows_read(engine, lambda: session.study.ask()))
        session.close()
    assert driver[0] == driver[1], driver  # the driver's ask: no row of the running trials
    assert plain[1] >= plain[0] + 25 * 5, plain  # plain Optuna's ask reads each running trial and its epochs


def test_the_user_searcher_asks_the_same_way(postgres_url, tmp_path):
    # optnas's searcher in a user's own Tune job (`user_searcher`): the same ask, the same rows read
    path = tmp_path / "space.yaml"
    path.write_text(FAST)
    name = f"user-{secrets.token_hex(4)}"
    alg = searcher(SearchSpace.from_yaml(path), storage=postgres_url, study=name, artifacts=str(tmp_path / "a"))
    engine = alg.backend.engine
    running = [create_trial(state=TrialState.RUNNING, params={"x": 0.5},
                            distributions={"x": optuna.distributions.FloatDistribution(0, 1)},
                            intermediate_values={e: 0.1 * e for e in range(5)}) for _ in range(30)]
    alg.suggest("first")
    reads, numbers = [], []
    for count in (5, 30):
        alg.study.add_trials(running[: count - (0 if count == 5 else 5)])
        alg.reload()  # as the periodic whole read does
        alg.asker.study.sampler = optuna.samplers.RandomSampler(seed=0)  # the same draw, the same writes
        tune_id = f"r{count}"
        reads.append(_rows_read(engine, lambda: numbers.append(alg.suggest(tune_id)["optnas"]["trial"])))  # noqa: B023
    assert reads[0] == reads[1], reads  # no row of the running trials
    trials = _plain(postgres_url, name)
    assert numbers == [6, 32] and all(trials[n].user_attrs["spec"] and trials[n].params for n in numbers)
    assert trials[numbers[1]].user_attrs["ray"] == {"trial_id": "r30"}


def test_records_set_together_are_written_all_or_none(url, tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(FAST)
    space, name = SearchSpace.from_yaml(path), f"batch-{secrets.token_hex(4)}"
    session = _session(url, space, name, tmp_path / "artifacts")
    with bind(session):
        writer.reconcile(session, [])
        number = next_config(session, "ray0")["optnas"]["number"]
        st = session.trial(number)
        with pytest.raises(RuntimeError, match="mid-record"), st.batched():
            st.set_user_attr("half", 1)
            raise RuntimeError("mid-record")
        with st.batched():
            st.set_user_attr("a", {"x": [1, 2]})
            st.set_user_attr("status", "ok")
            assert "a" not in st.frozen().user_attrs  # held until the block ends
        session.close()
    attrs = {t.number: t for t in _plain(url, name)}[number].user_attrs
    assert attrs["a"] == {"x": [1, 2]} and attrs["status"] == "ok" and "half" not in attrs
