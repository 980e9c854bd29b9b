"""The SQL adapter under stress and faults: concurrent worker processes, killed connections,
exceptions between the state write and the commit, unreadable stored data.

Concurrency: worker processes (``spawn``) hammer the same few requests with random commands
through :class:`ServiceDesk`; afterwards every record replays (R9), no update was lost (each
successful command left exactly one version, one event and its record entries) and every
event is in the outbox exactly once. Faults: a failure anywhere between the request UPDATE and
the COMMIT leaves nothing behind and the next command works.

Malformed documents (wrong types, unknown keys, non-objects, a document disagreeing with its
row, record gaps, malformed customer files) and outdated, unknown or missing schema revisions
are covered by ``test_sql_adapter.py``; here only the cases it leaves out (unparseable JSON
text, malformed record and outbox rows). Servers come from the environment as described in
``conftest.py`` (skipped when unset, failing under ``CI=true``).
"""

from __future__ import annotations

import concurrent.futures
import itertools
import multiprocessing
import random
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
    Actor,
    Channel,
    ManualClock,
    RandomIds,
    RequestState,
    Role,
    ServiceDesk,
    SystemClock,
    verify_record,
)
from aftersales.adapters.sql import SqlStore, create_engine, upgrade
from aftersales.adapters.sql import schema as sql_schema
from aftersales.adapters.sql import store as sql_store
from aftersales.domain.request import ServiceRequest
from aftersales.errors import (
    ConcurrencyConflict,
    InvalidTransition,
    StorageError,
)

EngineFactory = Callable[..., sa.Engine]

BOSS = Actor(UUID(int=70_001), "主管", frozenset({Role.SUPERVISOR, Role.CLERK}))
ENGINEER = Actor(UUID(int=70_002), "工程师", frozenset({Role.ENGINEER}))

WORKERS = 4
COMMANDS_PER_WORKER = 60
REQUESTS = 3
#: Record entries ``start_remote`` appends from ASSIGNED (the request's and the new job's).
START_REMOTE_ENTRIES = 2

Command = Callable[[ServiceDesk, UUID], ServiceRequest]

#: The commands the workers pick from: every non-final step of the remote and on-site flows,
#: with ``reopen`` to cycle (no close/cancel/reject, so requests stay alive; the requests are
#: assigned to the one engineer at setup, so nobody is unauthorised).
COMMANDS: dict[str, Command] = {
    "assign": lambda d, r: d.assign(BOSS, r, engineer_id=ENGINEER.id),
    "start_remote": lambda d, r: d.start_remote(ENGINEER, r),
    "record_contact": lambda d, r: d.record_contact(
        ENGINEER, r, channel=Channel.PHONE, summary="电话"
    ),
    "escalate_onsite": lambda d, r: d.escalate_onsite(ENGINEER, r, reason="远程无法解决"),
    "start_onsite": lambda d, r: d.start_onsite(ENGINEER, r),
    "confirm_need": lambda d, r: d.confirm_need(ENGINEER, r),
    "approve_dispatch": lambda d, r: d.approve_dispatch(BOSS, r),
    "prepare": lambda d, r: d.prepare(ENGINEER, r),
    "depart": lambda d, r: d.depart(ENGINEER, r),
    "record_arrival": lambda d, r: d.record_arrival(ENGINEER, r),
    "record_work": lambda d, r: d.record_work(ENGINEER, r, description="更换部件"),
    "sign_off": lambda d, r: d.sign_off(ENGINEER, r, found="f", result="r", signed_by="客户"),
    "resolve": lambda d, r: d.resolve(ENGINEER, r, resolution="已解决"),
    "reopen": lambda d, r: d.reopen(BOSS, r, reason="客户不满意"),
    "confirm": lambda d, r: d.confirm(BOSS, r),
}

#: What usually makes sense next, by request state and by the state of its current job; a
#: worker reads the request, picks one of these and sends it (others race it meanwhile).
NEXT_BY_STATE = {
    "assigned": ["start_remote", "start_onsite", "assign"],
    "resolved": ["reopen", "reopen", "reopen", "confirm"],
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
    request = desk.get_request(BOSS, request_id)
    job = request.current_job
    if str(request.state) == "in_progress" and job is not None:
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


def _setup_requests(store: SqlStore, count: int) -> list[ServiceRequest]:
    with store.unit_of_work() as uow:
        uow.actors.add(BOSS)
        uow.actors.add(ENGINEER)
        uow.commit()
    desk = ServiceDesk(store.unit_of_work, clock=SystemClock(), ids=RandomIds())
    customer = desk.register_customer(BOSS, name="北京某某科技有限公司")
    requests = []
    for i in range(count):
        request = desk.register_request(BOSS, customer_id=customer.id, summary=f"卡纸 {i}")
        requests.append(desk.assign(BOSS, request.id, engineer_id=ENGINEER.id))
    return requests


def _count(engine: sa.Engine, table: sa.Table, *where: Any) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(table).where(*where)
        return int(conn.execute(query).scalar_one())


def _outbox_sequences(engine: sa.Engine, request_id: UUID) -> list[int]:
    outbox = sql_schema.outbox
    with engine.connect() as conn:
        query = sa.select(outbox.c.sequence).where(outbox.c.aggregate_id == request_id)
        return sorted(conn.execute(query).scalars())


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
    url: str, options: dict[str, Any], request_ids: list[str], seed: int, commands: int
) -> WorkerReport:
    """One worker process: ``commands`` random commands on the shared requests."""
    engine = create_engine(url, **options)
    report = WorkerReport()
    try:
        store = SqlStore(engine)
        desk = ServiceDesk(store.unit_of_work, clock=SystemClock(), ids=RandomIds(),
                           max_attempts=5)
        rng = random.Random(seed)
        if _barrier is not None:
            _barrier.wait(timeout=60)  # start together: the point is to collide
        for _ in range(commands):
            request_id = UUID(rng.choice(request_ids))
            action = "(reading the request)"
            try:
                action = _pick(rng, desk, request_id)
                request = COMMANDS[action](desk, request_id)
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


def test_concurrent_workers_lose_no_update_and_ship_every_event_once(target: Target) -> None:
    """N processes race on the same requests: per request, the successful commands reported
    by the workers are exactly the versions, events and record entries that were stored."""
    store = SqlStore(target.engine)
    setup = _setup_requests(store, REQUESTS)
    ids = [str(r.id) for r in setup]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    with concurrent.futures.ProcessPoolExecutor(
        WORKERS, mp_context=ctx, initializer=_init_worker, initargs=(barrier,)
    ) as pool:
        futures = [
            pool.submit(run_worker, target.url, target.options, ids, seed, COMMANDS_PER_WORKER)
            for seed in range(WORKERS)
        ]
        reports = [f.result(timeout=120) for f in futures]
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
    record = sql_schema.request_record
    with store.unit_of_work() as uow:
        stored = {r.id: uow.requests.get(r.id) for r in setup}
    for before in setup:
        after = stored[before.id]
        mine = sorted(by_request[str(before.id)], key=lambda s: s[2])
        # R9: the record replays to the stored state, whatever the interleaving
        assert verify_record(after) == []
        # no lost update: one version and one event per successful command, none twice,
        # none missing
        assert [s[2] for s in mine] == list(range(before.version + 1, after.version + 1))
        assert [s[3] for s in mine] == list(
            range(before.event_sequence + 1, after.event_sequence + 1)
        )
        # the record each success saw after its commit is a prefix of the stored record, and
        # each success appended at least one entry: no entry was lost or rewritten
        final = _entries(after)
        seen = [_entries(before)] + [s[4] for s in mine]
        for earlier, later in itertools.pairwise(seen):
            assert len(later) > len(earlier)
            assert later[: len(earlier)] == earlier
        assert all(final[: len(r)] == r for r in seen)
        assert len(final) == len(seen[-1])
        assert _count(target.engine, record, record.c.request_id == before.id) == len(final)
        # the outbox holds every event exactly once, sequences 1..n without gaps
        assert _outbox_sequences(target.engine, before.id) == list(
            range(1, after.event_sequence + 1)
        )
    pending = store.outbox().pending(limit=10_000)
    assert len({m.event_id for m in pending}) == len(pending) == sum(
        r.event_sequence for r in stored.values()
    )


# --- fault injection -----------------------------------------------------------------------


@dataclass
class Snapshot:
    """Everything a command may touch for one request, as stored."""

    state: RequestState
    version: int
    record: list[Any]
    record_rows: int
    outbox: list[int]
    keys: int

    @classmethod
    def of(cls, store: SqlStore, request_id: UUID) -> Snapshot:
        with store.unit_of_work() as uow:
            request = uow.requests.get(request_id)
        record, keys = sql_schema.request_record, sql_schema.idempotency_keys
        return cls(
            request.state, request.version, list(request.record),
            _count(store.engine, record, record.c.request_id == request_id),
            _outbox_sequences(store.engine, request_id),
            _count(store.engine, keys),
        )


def _kill(target: Target, dbapi_connection: Any) -> None:
    """Kill ``dbapi_connection`` the way a crash, failover or DBA would."""
    if target.kind == "sqlite":
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
                _kill(target, cursor.connection)

        event.listen(target.engine, "after_cursor_execute", after)
        installed.append(("after_cursor_execute", after))
        return fired

    yield arm
    for name, fn in installed:
        event.remove(target.engine, name, fn)


class Boom(Exception):
    """The injected failure."""


def _fail_outbox_payload(monkeypatch: pytest.MonkeyPatch) -> None:
    # the outbox rows are built after the request UPDATE and its record INSERT
    def boom(*_: Any, **__: Any) -> Any:
        raise Boom("outbox payload")

    monkeypatch.setattr(sql_store, "event_to_dict", boom)


def _fail_idempotency_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # the keys are written after every request row, record row and outbox row
    def boom(*_: Any, **__: Any) -> None:
        raise Boom("idempotency keys")

    monkeypatch.setattr(sql_store._Keys, "_write", boom)


def _fail_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    # the DBAPI commit itself fails (every statement has run)
    original = sa.Connection.commit

    def commit(self: sa.Connection) -> None:
        if not fired:
            fired.append(True)
            raise Boom("commit")
        original(self)

    fired: list[bool] = []
    monkeypatch.setattr(sa.Connection, "commit", commit)


FAULTS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "outbox-insert-raises": _fail_outbox_payload,
    "idempotency-insert-raises": _fail_idempotency_keys,
    "commit-raises": _fail_commit,
}


def _fault_desk(store: SqlStore) -> tuple[ServiceDesk, ServiceRequest]:
    request = _setup_requests(store, 1)[0]
    clock = ManualClock(request.registered_at + timedelta(minutes=1), step=timedelta(minutes=1))
    return ServiceDesk(store.unit_of_work, clock=clock, ids=RandomIds()), request


def _the_next_command_works(
    store: SqlStore, desk: ServiceDesk, request_id: UUID, before: Snapshot, key: str
) -> None:
    """The failed command, repeated with the same idempotency key, goes through once."""
    done = desk.start_remote(ENGINEER, request_id, idempotency_key=key)
    again = desk.start_remote(ENGINEER, request_id, idempotency_key=key)
    assert done.state is again.state is RequestState.IN_PROGRESS
    after = Snapshot.of(store, request_id)
    assert after.version == before.version + 1
    assert after.record_rows == before.record_rows + START_REMOTE_ENTRIES
    assert after.outbox == list(range(1, len(before.outbox) + 2))
    assert after.keys == before.keys + 1
    desk.record_contact(ENGINEER, request_id, channel=Channel.EMAIL, summary="邮件")
    with store.unit_of_work() as uow:
        assert verify_record(uow.requests.get(request_id)) == []


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_failure_between_the_state_write_and_the_commit_leaves_nothing(
    target: Target, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception after the request UPDATE (building the outbox rows, writing the
    idempotency key, or the COMMIT itself): state, version, record, outbox and keys are as
    before, and the next command works."""
    if target.options:
        pytest.skip("isolation level does not matter here")
    store = SqlStore(target.engine)
    desk, request = _fault_desk(store)
    before = Snapshot.of(store, request.id)
    key = f"ERP-{uuid4()}"
    executed: list[str] = []

    def log(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        executed.append(statement.lstrip())

    event.listen(target.engine, "after_cursor_execute", log)
    try:
        with monkeypatch.context() as patch:
            FAULTS[fault](patch)
            with pytest.raises(Boom):
                desk.start_remote(ENGINEER, request.id, idempotency_key=key)
    finally:
        event.remove(target.engine, "after_cursor_execute", log)
    assert any(s.startswith("UPDATE service_requests") for s in executed)  # the state write ran
    assert Snapshot.of(store, request.id) == before
    _the_next_command_works(store, desk, request.id, before, key)


@pytest.mark.parametrize("moment", ["UPDATE service_requests", "INSERT INTO outbox", "COMMIT"])
def test_a_connection_killed_mid_transaction_leaves_nothing(
    target: Target, moment: str, kill_after: Callable[[str], list[str]]
) -> None:
    """The database connection dies after the request UPDATE, after the outbox INSERT or at
    the COMMIT (PostgreSQL: pg_terminate_backend; MariaDB: KILL; SQLite: the DB-API connection
    is closed): the command fails, nothing partial is stored, the next command works."""
    if target.options:
        pytest.skip("isolation level does not matter here")
    store = SqlStore(target.engine)
    desk, request = _fault_desk(store)
    before = Snapshot.of(store, request.id)
    key = f"ERP-{uuid4()}"
    fired = kill_after(moment)
    with pytest.raises(Exception) as caught:  # the driver's error, whatever it is
        desk.start_remote(ENGINEER, request.id, idempotency_key=key)
    assert fired, f"the fault was not injected (no {moment})"
    assert not isinstance(caught.value, AssertionError), caught.value
    assert Snapshot.of(store, request.id) == before
    _the_next_command_works(store, desk, request.id, before, key)


# --- unreadable stored data (beyond test_sql_adapter.py) ----------------------------------


@pytest.fixture
def stored_request(target: Target) -> tuple[SqlStore, ServiceRequest]:
    if target.options:
        pytest.skip("isolation level does not matter here")
    store = SqlStore(target.engine)
    _, request = _fault_desk(store)
    return store, request


def _raw(engine: sa.Engine, sql: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def _uuid_param(target: Target, value: UUID) -> Any:
    return value.hex if target.kind == "sqlite" else str(value)


def test_a_document_that_is_not_json_raises_storage_error(
    target: Target, stored_request: tuple[SqlStore, ServiceRequest]
) -> None:
    """SQLite keeps JSON as text, so a broken write can leave text that does not parse."""
    if target.kind != "sqlite":
        pytest.skip("PostgreSQL and MariaDB refuse invalid JSON on write")
    store, request = stored_request
    _raw(store.engine, "UPDATE service_requests SET doc = :doc WHERE id = :id",
         doc='{"id": "truncated', id=_uuid_param(target, request.id))
    with store.unit_of_work() as uow, pytest.raises(StorageError):
        uow.requests.get(request.id)
    with store.unit_of_work() as uow, pytest.raises(StorageError):
        uow.requests.find(states=[RequestState.ASSIGNED])


def test_a_malformed_record_row_raises_storage_error(
    target: Target, stored_request: tuple[SqlStore, ServiceRequest]
) -> None:
    """An R9 row whose typed columns do not read back (a time that is not a time) is never
    half-read."""
    if target.kind != "sqlite":
        pytest.skip("typed columns on PostgreSQL and MariaDB refuse the bad value on write")
    store, request = stored_request
    _raw(store.engine, "UPDATE request_record SET at = 'yesterday' WHERE request_id = :id "
         "AND sequence = 2", id=_uuid_param(target, request.id))
    with store.unit_of_work() as uow, pytest.raises(StorageError):
        uow.requests.get(request.id)


def test_an_outbox_payload_that_is_not_an_object_raises_storage_error(
    stored_request: tuple[SqlStore, ServiceRequest],
) -> None:
    """The relay gets StorageError for a payload that is JSON but not an object."""
    store, request = stored_request
    outbox = sql_schema.outbox
    with store.engine.begin() as conn:
        conn.execute(outbox.update().where(outbox.c.aggregate_id == request.id,
                                           outbox.c.sequence == 1).values(payload=[1, 2]))
    with pytest.raises(StorageError, match="not a JSON object"):
        store.outbox().pending()


def test_an_outbox_payload_that_is_not_json_raises_storage_error(
    target: Target, stored_request: tuple[SqlStore, ServiceRequest]
) -> None:
    """SQLite keeps the payload as text; text that does not parse is a StorageError."""
    if target.kind != "sqlite":
        pytest.skip("PostgreSQL and MariaDB refuse invalid JSON on write")
    store, request = stored_request
    _raw(store.engine, "UPDATE outbox SET payload = '{oops' WHERE aggregate_id = :id",
         id=_uuid_param(target, request.id))
    with pytest.raises(StorageError):
        store.outbox().pending()
