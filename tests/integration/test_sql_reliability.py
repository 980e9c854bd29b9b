"""The SQL adapter under stress and faults: concurrent worker processes, deadlocks and
serialization failures, killed connections, failures between the state write and the commit,
stored rows that do not read back.

Concurrency: worker processes (``spawn``) hammer the same few requests with random commands
through :class:`ServiceDesk`; afterwards every record replays (R9), no update was lost (each
successful command left exactly one version, its events and its record entries) and every
event is in the outbox exactly once. A write skew (each of two units of work reads what the
other writes) deadlocks on the servers: the loser gets a retryable ConcurrencyConflict and
its retry goes through. Faults: a failure anywhere between the request UPDATE and the COMMIT,
or the connection killed there, leaves nothing behind, surfaces as an
:mod:`aftersales.errors` exception, and the next command works.

Each variant runs on SQLite (a file), PostgreSQL at READ COMMITTED and at SERIALIZABLE, and
MariaDB. Tampered records, documents and outbox payloads are ``test_sql_tamper.py``; servers
come from the environment as described in ``conftest.py``.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import multiprocessing
import random
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from aftersales import (
    Channel,
    ManualClock,
    RandomIds,
    RequestState,
    Role,
    ServiceDesk,
    SystemClock,
    enroll_first_supervisor,
    verify_record,
)
from aftersales.adapters.sql import SqlStore, create_engine, upgrade
from aftersales.adapters.sql import codec as sql_codec
from aftersales.domain.request import REQUESTS, ServiceRequest
from aftersales.errors import (
    AftersalesError,
    ConcurrencyConflict,
    InvalidTransition,
    StorageError,
)
from aftersales.workflows import steps

EngineFactory = Callable[..., sa.Engine]

BOSS_ID = UUID(int=70_001)

WORKERS = 4
COMMANDS_PER_WORKER = 60
REQUESTS_RACED = 3
#: Record entries ``start_remote`` appends from ASSIGNED (the request's and the new job's).
START_REMOTE_ENTRIES = 2

Command = Callable[[ServiceDesk, UUID, UUID], ServiceRequest]

#: The commands the workers pick from (desk, request id, engineer id): every non-final step of
#: the remote and on-site flows, with ``reopen`` to cycle (no close/cancel/reject, so requests
#: stay alive; they are assigned to the one engineer at setup, so nobody is unauthorised).
COMMANDS: dict[str, Command] = {
    "assign": lambda d, r, e: d.assign(BOSS_ID, r, engineer_id=e),
    "start_remote": lambda d, r, e: d.start_remote(e, r),
    "record_contact": lambda d, r, e: d.record_contact(
        e, r, channel=Channel.PHONE, summary="电话"
    ),
    "escalate_onsite": lambda d, r, e: d.escalate_onsite(e, r, reason="远程无法解决"),
    "start_onsite": lambda d, r, e: d.start_onsite(e, r),
    "confirm_need": lambda d, r, e: d.confirm_need(e, r),
    "approve_dispatch": lambda d, r, e: d.approve_dispatch(BOSS_ID, r),
    "prepare": lambda d, r, e: d.prepare(e, r),
    "depart": lambda d, r, e: d.depart(e, r),
    "record_arrival": lambda d, r, e: d.record_arrival(e, r),
    "record_work": lambda d, r, e: d.record_work(e, r, description="更换部件"),
    "sign_off": lambda d, r, e: d.sign_off(e, r, found="f", result="r", signed_by="客户"),
    "resolve": lambda d, r, e: d.resolve(e, r, resolution="已解决"),
    "reopen": lambda d, r, e: d.reopen(BOSS_ID, r, reason="客户不满意"),
    "confirm": lambda d, r, e: d.confirm(BOSS_ID, r),
}

#: What usually makes sense next, by request state and by the state of its current job; a
#: worker reads the request, picks one of these and sends it (others race it meanwhile).
NEXT_BY_STATE = {
    "assigned": ["start_remote", "start_onsite", "assign"],
    "resolved": ["reopen"],  # confirm is a dead end here (no close): drawn only at random
}
NEXT_BY_JOB = {
    "working": ["record_contact", "resolve", "escalate_onsite"],
    "planned": ["confirm_need"],
    "awaiting_approval": ["approve_dispatch"],
    "approved": ["prepare"],
    "preparing": ["depart"],
    "travelling": ["record_arrival"],
    "on_site": ["record_work", "sign_off"],
    "signed_off": ["resolve"],
    "resolved": ["resolve"],
}


def _pick(rng: random.Random, desk: ServiceDesk, request_id: UUID) -> str:
    """Mostly a plausible next command for the request as just read; sometimes any."""
    if rng.random() < 0.15:
        return rng.choice(sorted(COMMANDS))
    request = desk.get_request(BOSS_ID, request_id)
    job = request.current_job
    if request.state == "in_progress" and job is not None:
        choices = NEXT_BY_JOB.get(str(job.state), sorted(COMMANDS))
    else:
        choices = NEXT_BY_STATE.get(str(request.state), sorted(COMMANDS))
    return rng.choice(choices)


# --- engines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A migrated, private database and how a worker process reaches it."""

    kind: str
    engine: sa.Engine
    url: str  # with the PostgreSQL search_path in it, password included
    options: dict[str, Any]  # create_engine keyword arguments (isolation level)


def _worker_url(kind: str, engine: sa.Engine) -> str:
    url = engine.url
    if kind == "postgres":
        with engine.connect() as conn:
            schema_name = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
        url = url.update_query_dict({"options": f"-csearch_path={schema_name}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(
    params=[
        pytest.param(("sqlite", None), id="sqlite"),
        pytest.param(("postgres", None), id="postgres"),
        pytest.param(("postgres", "SERIALIZABLE"), id="postgres-serializable"),
        pytest.param(("mariadb", None), id="mariadb"),
    ]
)
def variant(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """(engine kind, isolation level or None for the engine's default)."""
    value: tuple[str, str | None] = request.param
    return value


@pytest.fixture
def engine_kind(variant: tuple[str, str | None]) -> str:
    """Overrides conftest's ``engine_kind`` (which ``make_engine`` uses) with the variant's."""
    return variant[0]


@pytest.fixture
def target(
    variant: tuple[str, str | None], engine_kind: str, make_engine: EngineFactory
) -> Target:
    """A fresh migrated database of the variant's engine and isolation level."""
    options = {"isolation_level": variant[1]} if variant[1] else {}
    engine = make_engine(**options)
    upgrade(engine)
    return Target(engine_kind, engine, _worker_url(engine_kind, engine), options)


@pytest.fixture
def default_isolation(target: Target) -> Target:
    """The target, for tests where the isolation level does not matter (skipped on
    PostgreSQL SERIALIZABLE, which the other PostgreSQL variant covers)."""
    if target.options:
        pytest.skip("the isolation level does not matter here")
    return target


def _setup_requests(
    store: SqlStore, count: int, *, assigned: bool = True
) -> tuple[UUID, list[ServiceRequest]]:
    """The boss (supervisor and clerk), one engineer and ``count`` requests (assigned to
    them unless ``assigned=False``): (engineer id, requests)."""
    enroll_first_supervisor(store.unit_of_work, actor_id=BOSS_ID, name="主管",
                            at=store.clock.now(), roles=frozenset({Role.SUPERVISOR, Role.CLERK}))
    desk = ServiceDesk(store.unit_of_work, clock=store.clock, ids=RandomIds(),
                       kinds=store.kinds)
    engineer = desk.register_actor(BOSS_ID, name="工程师", roles=[Role.ENGINEER])
    customer = desk.register_customer(BOSS_ID, name="北京某某科技有限公司")
    requests = []
    for i in range(count):
        request = desk.register_request(BOSS_ID, customer_id=customer.id, summary=f"卡纸 {i}")
        if assigned:
            request = desk.assign(BOSS_ID, request.id, engineer_id=engineer.id)
        requests.append(request)
    return engineer.id, requests


def _count(engine: sa.Engine, table: sa.Table, *where: Any) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(table).where(*where)
        return int(conn.execute(query).scalar_one())


def _outbox_sequences(store: SqlStore, aggregate_id: UUID) -> list[int]:
    outbox = store.schema.outbox
    with store.engine.connect() as conn:
        query = sa.select(outbox.c.sequence).where(outbox.c.aggregate_id == aggregate_id)
        return sorted(conn.execute(query).scalars())


def _record_rows(store: SqlStore, request_id: UUID) -> int:
    record = store.schema.record(REQUESTS)
    return _count(store.engine, record, record.c.owner_id == request_id)


# --- concurrent workers --------------------------------------------------------------------


Entry = tuple[int, str, str, str]  # sequence, workflow, action, to_state
Success = tuple[str, str, int, int, tuple[Entry, ...]]


def _entries(request: ServiceRequest) -> tuple[Entry, ...]:
    return tuple((e.sequence, e.workflow, e.action, e.to_state) for e in request.record)


@dataclass
class WorkerReport:
    """What one worker did: successes as (request, action, version, event sequence, record)
    after the commit, expected refusals by kind, anything unexpected."""

    successes: list[Success] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)


_barrier: Any = None


def _init_worker(barrier: Any) -> None:
    global _barrier
    _barrier = barrier


def run_worker(
    url: str, options: dict[str, Any], request_ids: list[str], engineer_id: str, seed: int,
    commands: int,
) -> WorkerReport:
    """One worker process: ``commands`` random commands on the shared requests."""
    engine = create_engine(url, **options)
    report = WorkerReport()
    engineer = UUID(engineer_id)
    try:
        store = SqlStore(engine, clock=SystemClock())
        desk = ServiceDesk(store.unit_of_work, clock=store.clock, ids=RandomIds(),
                           kinds=store.kinds, max_attempts=5)
        rng = random.Random(seed)
        if _barrier is not None:
            _barrier.wait(timeout=60)  # start together: the point is to collide
        for _ in range(commands):
            request_id = UUID(rng.choice(request_ids))
            action = "(reading the request)"
            try:
                action = _pick(rng, desk, request_id)
                request = COMMANDS[action](desk, request_id, engineer)
            except ConcurrencyConflict:
                report.refused["conflict"] += 1
            except InvalidTransition as error:  # GuardFailed included
                report.refused[type(error).__name__] += 1
            except Exception as error:
                report.unexpected.append(f"{action}: {type(error).__name__}: {error}")
            else:
                report.successes.append((
                    str(request_id), action, request.version, request.event_sequence,
                    _entries(request),
                ))
    finally:
        engine.dispose()
    return report


def test_r9_concurrent_workers_lose_no_update_and_ship_every_event_once(
    target: Target,
) -> None:
    """R9: N processes race on the same requests: per request, the successful commands
    reported by the workers are exactly the versions, events and record entries that were
    stored, the record replays, and the outbox holds each event once."""
    store = SqlStore(target.engine, clock=SystemClock())
    engineer_id, setup = _setup_requests(store, REQUESTS_RACED)
    ids = [str(r.id) for r in setup]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    with concurrent.futures.ProcessPoolExecutor(
        WORKERS, mp_context=ctx, initializer=_init_worker, initargs=(barrier,)
    ) as pool:
        futures = [
            pool.submit(run_worker, target.url, target.options, ids, str(engineer_id), seed,
                        COMMANDS_PER_WORKER)
            for seed in range(WORKERS)
        ]
        reports = [f.result(timeout=300) for f in futures]
    unexpected = [line for r in reports for line in r.unexpected]
    assert not unexpected, unexpected
    successes = [s for r in reports for s in r.successes]
    refused = sum((r.refused for r in reports), Counter[str]())
    assert len(successes) + sum(refused.values()) == WORKERS * COMMANDS_PER_WORKER
    assert successes, f"no command succeeded: {refused}"
    print(f"{target.kind} {target.options}: {len(successes)} commands succeeded, refused: "
          f"{dict(refused)}")

    by_request: dict[str, list[Success]] = defaultdict(list)
    for success in successes:
        by_request[success[0]].append(success)
    with store.unit_of_work() as uow:
        stored = {r.id: uow.requests.get(r.id) for r in setup}
    for before in setup:
        after = stored[before.id]
        mine = sorted(by_request[str(before.id)], key=lambda s: s[2])
        # R9: the record replays to the stored state, whatever the interleaving
        assert verify_record(after) == []
        # no lost update: one version per successful command, none twice, none missing;
        # the event sequence only grows
        assert [s[2] for s in mine] == list(range(before.version + 1, after.version + 1))
        sequences = [before.event_sequence] + [s[3] for s in mine]
        assert all(a < b for a, b in itertools.pairwise(sequences))
        assert sequences[-1] == after.event_sequence
        # the record each success saw after its commit is a prefix of the stored record, and
        # each success appended at least one entry: no entry was lost or rewritten
        final = _entries(after)
        seen = [_entries(before)] + [s[4] for s in mine]
        for earlier, later in itertools.pairwise(seen):
            assert len(later) > len(earlier)
            assert later[: len(earlier)] == earlier
        assert all(final[: len(r)] == r for r in seen)
        assert len(final) == len(seen[-1])
        assert _record_rows(store, before.id) == len(final)
        # the outbox holds every event exactly once, sequences 1..n without gaps
        assert _outbox_sequences(store, before.id) == list(range(1, after.event_sequence + 1))
    pending = [m for m in store.outbox().pending(limit=10_000) if m.aggregate_id in stored]
    assert len({m.event_id for m in pending}) == len(pending) == sum(
        r.event_sequence for r in stored.values()
    )


# --- deadlocks and serialization failures --------------------------------------------------


def test_a_write_skew_deadlock_becomes_a_retryable_conflict_and_the_retry_succeeds(
    target: Target,
) -> None:
    """Each of two units of work reads one request (for a decision) and changes the other;
    both check their read set before either writes, so on the servers each waits for the
    other's lock (a deadlock, or at SERIALIZABLE a serialization failure; on SQLite the
    second writer is locked out). Exactly one commits; the other raises a retryable
    ConcurrencyConflict, wrote nothing, and the same work in a fresh unit of work commits."""
    store = SqlStore(target.engine, clock=SystemClock())
    _, (one, two) = _setup_requests(store, 2, assigned=False)
    with store.unit_of_work() as uow:
        boss = uow.actors.get(BOSS_ID)
    table = store.schema.table(REQUESTS)
    read_check = f"SELECT {table.name}.id, {table.name}.version"
    barrier = threading.Barrier(2, timeout=30)
    met: list[bool] = []

    def meet(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().startswith(read_check) and not met:
            try:
                barrier.wait()  # both read sets are checked (and locked) before any write
            except threading.BrokenBarrierError:
                met.append(False)

    outcomes: dict[str, BaseException | None] = {}

    def skew(name: str, read: ServiceRequest, write: ServiceRequest) -> None:
        try:
            with store.unit_of_work() as uow:
                uow.requests.get(read.id)
                steps.route(uow.requests.get(write.id), department=name, actor=boss,
                            at=store.clock.now())
                uow.commit()
            outcomes[name] = None
        except BaseException as error:  # reported below
            outcomes[name] = error

    event.listen(target.engine, "after_cursor_execute", meet)
    try:
        threads = [threading.Thread(target=skew, args=("甲", one, two)),
                   threading.Thread(target=skew, args=("乙", two, one))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        met.append(True)
        event.remove(target.engine, "after_cursor_execute", meet)
    assert set(outcomes) == {"甲", "乙"}
    losers = {name: error for name, error in outcomes.items() if error is not None}
    assert len(losers) == 1, outcomes
    (loser, error), = losers.items()
    assert isinstance(error, ConcurrencyConflict) and error.retryable, repr(error)
    if target.kind != "sqlite":
        assert any(word in str(error) for word in ("deadlock", "serializ", "40001",
                                                   "read for a decision")), str(error)
    winner = "乙" if loser == "甲" else "甲"
    written_by = {"甲": two, "乙": one}
    with store.unit_of_work() as uow:
        assert uow.requests.get(written_by[winner].id).department == winner
        lost = uow.requests.get(written_by[loser].id)
        assert lost.department is None and lost.version == written_by[loser].version
    with store.unit_of_work() as uow:  # the retry re-reads and goes through
        steps.route(uow.requests.get(written_by[loser].id), department=loser, actor=boss,
                    at=store.clock.now())
        uow.commit()
    with store.unit_of_work() as uow:
        assert {uow.requests.get(r.id).department for r in (one, two)} == {"甲", "乙"}


# --- fault injection -----------------------------------------------------------------------


@dataclass
class Snapshot:
    """Everything a command may touch for one request, as stored."""

    state: str
    version: int
    record: list[Any]
    record_rows: int
    outbox: list[int]
    keys: int

    @classmethod
    def of(cls, store: SqlStore, request_id: UUID) -> Snapshot:
        with store.unit_of_work() as uow:
            request = uow.requests.get(request_id)
        return cls(
            str(request.state), request.version, list(request.record),
            _record_rows(store, request_id), _outbox_sequences(store, request_id),
            _count(store.engine, store.schema.keys),
        )


def _kill(target: Target, dbapi_connection: Any, cursor: Any = None) -> None:
    """Kill ``dbapi_connection`` the way a crash, failover or DBA would (on SQLite: close
    it, its ``cursor`` first, as a dying process would; sqlite3 keeps a connection with an
    unfinished statement open, locks included)."""
    if target.kind == "sqlite":
        if cursor is not None:
            cursor.close()
        dbapi_connection.close()
        return
    admin = sa.create_engine(
        target.engine.url, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            if target.kind == "postgres":
                pid = dbapi_connection.info.backend_pid
                assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar()
            else:
                conn.exec_driver_sql(f"KILL {int(dbapi_connection.thread_id())}")
    finally:
        admin.dispose()


@pytest.fixture
def kill_after(target: Target) -> Iterator[Callable[[str], list[str]]]:
    """``kill_after("UPDATE service_requests")`` kills the connection right after the first
    statement starting with that text; ``kill_after("COMMIT")`` right before the commit."""
    installed: list[tuple[str, Callable[..., None]]] = []
    fired: list[str] = []

    def arm(prefix: str) -> list[str]:
        if prefix == "COMMIT":

            def on_commit(conn: sa.Connection) -> None:
                if not fired:
                    fired.append("COMMIT")
                    _kill(target, conn.connection.dbapi_connection)

            event.listen(target.engine, "commit", on_commit)
            installed.append(("commit", on_commit))
            return fired

        def after(_c: Any, cursor: Any, statement: str, *_: Any) -> None:
            if not fired and statement.lstrip().startswith(prefix):
                fired.append(statement)
                _kill(target, cursor.connection, cursor)

        event.listen(target.engine, "after_cursor_execute", after)
        installed.append(("after_cursor_execute", after))
        return fired

    yield arm
    for name, fn in installed:
        event.remove(target.engine, name, fn)


class Boom(Exception):
    """The injected failure."""


#: Installs a fault (monkeypatching with the given patcher) and returns how to remove it.
Fault = Callable[[pytest.MonkeyPatch, sa.Engine], Callable[[], None]]


def _fail_statement(prefix: str) -> Fault:
    """The first statement starting with ``prefix`` raises before it reaches the database."""

    def install(_patch: pytest.MonkeyPatch, engine: sa.Engine) -> Callable[[], None]:
        fired: list[bool] = []

        def before(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if not fired and statement.lstrip().startswith(prefix):
                fired.append(True)
                raise Boom(prefix)

        event.listen(engine, "before_cursor_execute", before)
        return lambda: event.remove(engine, "before_cursor_execute", before)

    return install


def _fail_outbox_payload(patch: pytest.MonkeyPatch, _engine: sa.Engine) -> Callable[[], None]:
    # the outbox payloads are encoded after the request UPDATE and its record INSERT
    def boom(*_: Any, **__: Any) -> Any:
        raise Boom("outbox payload")

    patch.setattr(sql_codec, "event_to_dict", boom)
    return lambda: None


def _fail_commit(patch: pytest.MonkeyPatch, _engine: sa.Engine) -> Callable[[], None]:
    # the DBAPI commit itself fails (every statement has run)
    original = sa.Connection.commit
    fired: list[bool] = []

    def commit(self: sa.Connection) -> None:
        if not fired:
            fired.append(True)
            raise Boom("commit")
        original(self)

    patch.setattr(sa.Connection, "commit", commit)
    return lambda: None


FAULTS: dict[str, Fault] = {
    "record-insert-raises": _fail_statement("INSERT INTO service_requests_record"),
    "outbox-payload-raises": _fail_outbox_payload,
    "outbox-insert-raises": _fail_statement("INSERT INTO outbox"),
    "idempotency-insert-raises": _fail_statement("INSERT INTO idempotency_keys"),
    "commit-raises": _fail_commit,
}


def _fault_desk(store: SqlStore) -> tuple[ServiceDesk, UUID, ServiceRequest]:
    engineer_id, (request,) = _setup_requests(store, 1)
    clock = ManualClock(request.registered_at + timedelta(minutes=1), step=timedelta(minutes=1))
    desk = ServiceDesk(store.unit_of_work, clock=clock, ids=RandomIds(), kinds=store.kinds)
    return desk, engineer_id, request


def _the_next_command_works(
    store: SqlStore, desk: ServiceDesk, engineer_id: UUID, request_id: UUID,
    before: Snapshot, key: str,
) -> None:
    """The failed command, repeated with the same idempotency key, goes through once."""
    done = desk.start_remote(engineer_id, request_id, idempotency_key=key)
    again = desk.start_remote(engineer_id, request_id, idempotency_key=key)
    assert done.state == again.state == RequestState.IN_PROGRESS
    assert again.version == done.version
    after = Snapshot.of(store, request_id)
    assert after.version == before.version + 1
    assert after.record_rows == before.record_rows + START_REMOTE_ENTRIES
    assert after.outbox == list(range(1, len(before.outbox) + 2))
    assert after.keys == before.keys + 1
    desk.record_contact(engineer_id, request_id, channel=Channel.EMAIL, summary="邮件")
    with store.unit_of_work() as uow:
        assert verify_record(uow.requests.get(request_id)) == []


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_failure_between_the_state_write_and_the_commit_leaves_nothing(
    default_isolation: Target, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception after the request UPDATE (inserting its record rows, encoding or
    inserting the outbox rows, inserting the idempotency key, or the COMMIT itself): state,
    version, record, outbox and keys are as before, and the next command works."""
    target = default_isolation
    store = SqlStore(target.engine, clock=SystemClock())
    desk, engineer_id, request = _fault_desk(store)
    before = Snapshot.of(store, request.id)
    key = f"ERP-{uuid4()}"
    executed: list[str] = []

    def log(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        executed.append(statement.lstrip())

    event.listen(target.engine, "after_cursor_execute", log)
    try:
        with monkeypatch.context() as patch:
            remove = FAULTS[fault](patch, target.engine)
            try:
                with pytest.raises(Boom):
                    desk.start_remote(engineer_id, request.id, idempotency_key=key)
            finally:
                remove()
    finally:
        event.remove(target.engine, "after_cursor_execute", log)
    assert any(s.startswith("UPDATE service_requests") for s in executed)  # the state write ran
    assert Snapshot.of(store, request.id) == before
    _the_next_command_works(store, desk, engineer_id, request.id, before, key)


@pytest.mark.parametrize("moment", ["UPDATE service_requests",
                                    "INSERT INTO service_requests_record",
                                    "INSERT INTO outbox", "COMMIT"])
def test_a_connection_killed_mid_transaction_leaves_nothing(
    default_isolation: Target, moment: str, kill_after: Callable[[str], list[str]]
) -> None:
    """The database connection dies after the request UPDATE, after its record INSERT, after
    the outbox INSERT or at the COMMIT (PostgreSQL: pg_terminate_backend; MariaDB: KILL;
    SQLite: the DB-API connection is closed): the command fails with an aftersales error
    (never a driver exception), nothing partial is stored, the next command works."""
    target = default_isolation
    store = SqlStore(target.engine, clock=SystemClock())
    desk, engineer_id, request = _fault_desk(store)
    before = Snapshot.of(store, request.id)
    key = f"ERP-{uuid4()}"
    fired = kill_after(moment)
    with pytest.raises(AftersalesError) as caught:
        desk.start_remote(engineer_id, request.id, idempotency_key=key)
    assert fired, f"the fault was not injected (no {moment})"
    assert isinstance(caught.value, StorageError | ConcurrencyConflict), repr(caught.value)
    assert Snapshot.of(store, request.id) == before
    _the_next_command_works(store, desk, engineer_id, request.id, before, key)


# --- stored rows that do not read back -----------------------------------------------------


@pytest.mark.parametrize(("column", "value"), [("at", "yesterday"), ("actor_id", "zzzz")])
def test_a_record_row_that_does_not_read_back_raises_storage_error(
    default_isolation: Target, column: str, value: str
) -> None:
    """An R9 row whose typed columns do not read back (a time that is not a time, an actor id
    that is not a UUID) is never half-read: StorageError, not the driver's ValueError.
    (SQLite only: the typed columns of PostgreSQL and MariaDB refuse such values on write.)"""
    target = default_isolation
    if target.kind != "sqlite":
        pytest.skip("typed columns on PostgreSQL and MariaDB refuse the bad value on write")
    store = SqlStore(target.engine, clock=SystemClock())
    _, _, request = _fault_desk(store)
    with store.engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE service_requests_record SET {column} = :value "
                             "WHERE owner_id = :id AND sequence = 2"),
                     {"value": value, "id": request.id.hex})
    with store.unit_of_work() as uow, pytest.raises(StorageError):
        uow.requests.get(request.id)
    with store.unit_of_work() as uow, pytest.raises(StorageError):
        uow.requests.find(state=[RequestState.ASSIGNED])
