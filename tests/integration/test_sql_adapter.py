"""The SQL adapter on SQLite, PostgreSQL and MariaDB: lifecycles through the service desk,
optimistic concurrency, atomic commits, migrations, schema checks, idempotency, the outbox."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import exc as sa_exc

from aftersales import (
    Actor,
    Channel,
    Customer,
    ManualClock,
    Money,
    RandomIds,
    RequestState,
    Role,
    SequentialIds,
    ServiceDesk,
    verify_record,
)
from aftersales.adapters.sql import (
    HEAD_REVISION,
    SqlStore,
    create_engine,
    current_revision,
    downgrade,
    head_revision,
    metadata,
    stamp,
    upgrade,
)
from aftersales.adapters.sql import schema as sql_schema
from aftersales.adapters.sql.store import _transient_reason
from aftersales.domain.request import ServiceRequest
from aftersales.errors import ConcurrencyConflict, NotFound, StorageError, ValidationError
from aftersales.ports import UnitOfWork
from aftersales.serialization import make_converter
from aftersales.workflows import steps

BEIJING = timezone(timedelta(hours=8))
START = datetime(2024, 5, 1, 8, 30, 0, 123456, tzinfo=BEIJING)
SUPERVISOR = Actor(UUID(int=10_000), "主管 supervisor", frozenset({Role.SUPERVISOR, Role.CLERK}))

EngineFactory = Callable[..., sa.Engine]


class Desk:
    """A service desk on a store, with a clerk, an engineer and a customer on file."""

    def __init__(self, store: SqlStore, **kw: Any) -> None:
        self.store = store
        with store.unit_of_work() as uow:
            try:
                uow.actors.get(SUPERVISOR.id)
            except NotFound:
                uow.actors.add(SUPERVISOR)
                uow.commit()
        self.clock = ManualClock(START, step=timedelta(minutes=7))
        self.desk = ServiceDesk(store.unit_of_work, clock=self.clock, ids=RandomIds(), **kw)
        self.engineer = self.desk.register_actor(
            SUPERVISOR, name="王工程师", roles=[Role.ENGINEER]
        )
        self.customer = self.desk.register_customer(SUPERVISOR, name="北京某某科技有限公司")

    def register(self, summary: str = "打印机卡纸", **kw: Any) -> ServiceRequest:
        return self.desk.register_request(
            SUPERVISOR, customer_id=self.customer.id, summary=summary, **kw
        )


def count(store: SqlStore, table: sa.Table, *where: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))
                   .scalar_one())


def stored(store: SqlStore, request_id: UUID) -> ServiceRequest:
    with store.unit_of_work() as uow:
        return uow.requests.get(request_id)


# --- lifecycles through the service desk -------------------------------------------------


def test_a_remote_request_lives_its_whole_lifecycle_through_the_desk(store: SqlStore) -> None:
    """R7-R11: register, route, assign, remote work, resolve, confirm, close; every step is in
    the R9 record, every event in the outbox, and the request reads back exactly."""
    d = Desk(store)
    request = d.register(equipment_id=None)
    desk, engineer = d.desk, d.engineer
    desk.route(SUPERVISOR, request.id, department="售后服务部")
    desk.assign(SUPERVISOR, request.id, engineer_id=engineer.id)
    desk.start_remote(engineer, request.id)
    desk.record_contact(engineer, request.id, channel=Channel.PHONE, summary="远程指导 " * 50)
    desk.resolve(engineer, request.id, resolution="已更换硒鼓，测试打印正常")
    desk.confirm(SUPERVISOR, request.id, note="客户确认")
    closed = desk.close(SUPERVISOR, request.id)

    loaded = stored(store, request.id)
    assert loaded.state is RequestState.CLOSED
    assert loaded.version == closed.version == 8
    assert loaded.record == closed.record
    assert [e.sequence for e in loaded.record] == list(range(1, len(closed.record) + 1))
    assert verify_record(loaded) == []
    assert loaded.registered_at == START and loaded.registered_at.utcoffset() == timedelta(hours=8)
    assert all(e.at.tzinfo is not None for e in loaded.record)
    assert loaded.jobs[0].contacts == closed.jobs[0].contacts

    messages = store.outbox().pending(limit=1000)
    ours = [m for m in messages if m.aggregate_id == request.id]
    assert [m.sequence for m in ours] == list(range(1, 9))
    assert ours[0].name == "RequestRegistered" and ours[-1].name == "RequestClosed"
    assert ours[0].payload["number"] == request.number
    with store.unit_of_work() as uow:
        assert uow.requests.get_by_number(request.number).id == request.id
        assert [r.id for r in uow.requests.find(customer_id=d.customer.id)] == [request.id]
        assert uow.requests.find(states=[RequestState.CLOSED], engineer_id=engineer.id)
        assert uow.requests.find(states=[RequestState.REGISTERED]) == []


def test_an_onsite_request_with_an_emergency_dispatch_round_trips(store: SqlStore) -> None:
    """R12: on-site job, emergency dispatch and retro approval, arrival, signed report with a
    fee: jobs, money and datetimes survive storage."""
    d = Desk(store)
    desk, engineer = d.desk, d.engineer
    request = d.register(summary="服务器宕机，核心系统无法访问")
    desk.assign(SUPERVISOR, request.id, engineer_id=engineer.id)
    desk.start_onsite(engineer, request.id, promised_at=START + timedelta(hours=4))
    desk.confirm_need(engineer, request.id, note="客户确认需要上门")
    desk.dispatch_emergency(engineer, request.id, reason="核心系统宕机")
    desk.record_arrival(engineer, request.id)
    desk.record_work(engineer, request.id, description="更换电源模块")
    fee = Money(Decimal("1234.5600"), "CNY")
    desk.sign_off(
        engineer, request.id, found="电源故障", result="已修复", signed_by="李小姐",
        rating=5, parts_replaced=("电源模块",), fee=fee,
    )
    desk.resolve(engineer, request.id, resolution="已修复")
    desk.retro_approve(SUPERVISOR, request.id)
    desk.confirm(SUPERVISOR, request.id)
    closed = desk.close(SUPERVISOR, request.id)
    loaded = stored(store, request.id)
    assert loaded.state is RequestState.CLOSED
    job = loaded.jobs[0]
    assert job.kind == "onsite"
    assert job.report is not None and job.report.fee == fee
    assert job.arrivals == closed.jobs[0].arrivals  # type: ignore[union-attr]
    assert loaded.record == closed.record
    assert verify_record(loaded) == []


# --- optimistic concurrency ----------------------------------------------------------------


def test_the_second_of_two_units_of_work_changing_a_request_conflicts(store: SqlStore) -> None:
    """Both read version 1; the first commit wins, the second raises ConcurrencyConflict and
    writes nothing (no state, record rows or outbox rows)."""
    d = Desk(store)
    request = d.register()
    with store.unit_of_work() as first, store.unit_of_work() as second:
        a = first.requests.get(request.id)
        b = second.requests.get(request.id)
        steps.route(a, department="甲", actor=SUPERVISOR, at=START)
        steps.reject(b, reason="不是我们的设备", actor=SUPERVISOR, at=START)
        first.commit()
        with pytest.raises(ConcurrencyConflict):
            second.commit()
        assert second.collect_new_events() == []
        assert b.version == 1 and b.pending_events  # the loser's objects are untouched
    loaded = stored(store, request.id)
    assert (loaded.state, loaded.version, len(loaded.record)) == (RequestState.ROUTED, 2, 2)
    assert count(store, sql_schema.outbox, sql_schema.outbox.c.aggregate_id == request.id) == 2


def test_the_desk_retries_a_command_that_lost_a_race(store: SqlStore) -> None:
    """A ConcurrencyConflict on the first attempt is retried with fresh data."""
    d = Desk(store)
    request = d.register()
    raced = threading.Event()

    def racing_factory() -> UnitOfWork:
        uow = store.unit_of_work()
        if not raced.is_set():
            raced.set()
            with store.unit_of_work() as other:  # someone else routes it in between
                steps.route(other.requests.get(request.id), department="乙",
                            actor=SUPERVISOR, at=START)
                uow.requests.get(request.id)  # our read happens before their commit
                other.commit()
        return uow

    desk = ServiceDesk(racing_factory, clock=d.clock, ids=SequentialIds(start=500))
    assigned = desk.assign(SUPERVISOR, request.id, engineer_id=d.engineer.id)
    assert assigned.state is RequestState.ASSIGNED
    assert [e.action for e in stored(store, request.id).record] == ["register", "route", "assign"]


def test_concurrent_customer_changes_conflict(store: SqlStore) -> None:
    """R1 files have versions too: the second save raises ConcurrencyConflict."""
    customer = Customer(uuid4(), "客户")
    with store.unit_of_work() as uow:
        uow.customers.add(customer)
        uow.commit()
    with store.unit_of_work() as first, store.unit_of_work() as second:
        a, b = first.customers.get(customer.id), second.customers.get(customer.id)
        a.name, b.name = "甲", "乙"
        first.customers.save(a)
        second.customers.save(b)
        first.commit()
        with pytest.raises(ConcurrencyConflict):
            second.commit()
    with store.unit_of_work() as uow:
        again = uow.customers.get(customer.id)
    assert (again.name, again.version) == ("甲", 1)


# --- atomic commits --------------------------------------------------------------------------


def test_a_failure_after_the_state_write_leaves_nothing_partial(store: SqlStore) -> None:
    """The request UPDATE, its record rows and outbox rows are written, then the idempotency
    key insert fails (another writer took the key): everything is rolled back."""
    d = Desk(store)
    request = d.register()
    before = stored(store, request.id)
    key = f"ERP-{uuid4()}"
    with store.unit_of_work() as uow:
        assert uow.idempotency.get(key) is None
        loaded = uow.requests.get(request.id)
        steps.route(loaded, department="售后服务部", actor=SUPERVISOR, at=START)
        uow.idempotency.put(key, request.id)
        with store.unit_of_work() as other:  # the key is taken meanwhile
            other.idempotency.put(key, uuid4())
            other.commit()
        with pytest.raises(ConcurrencyConflict):
            uow.commit()
    after = stored(store, request.id)
    assert (after.state, after.version, after.record) == (
        before.state, before.version, before.record
    )
    record = sql_schema.request_record
    assert count(store, record, record.c.request_id == request.id) == 1
    assert count(store, sql_schema.outbox, sql_schema.outbox.c.aggregate_id == request.id) == 1


def test_a_conflict_on_the_second_request_rolls_back_the_first(store: SqlStore) -> None:
    """Two requests in one unit of work; the one written second lost a race: neither is
    changed."""
    d = Desk(store)
    one, two = d.register("一"), d.register("二")
    first_written, second_written = sorted([one, two], key=lambda r: str(r.id))
    with store.unit_of_work() as uow:
        a = uow.requests.get(first_written.id)
        b = uow.requests.get(second_written.id)
        d.desk.route(SUPERVISOR, second_written.id, department="抢先")  # a racing command
        steps.route(a, department="甲", actor=SUPERVISOR, at=START)
        steps.route(b, department="乙", actor=SUPERVISOR, at=START)
        with pytest.raises(ConcurrencyConflict):
            uow.commit()
    assert stored(store, first_written.id).state is RequestState.REGISTERED
    assert stored(store, second_written.id).department == "抢先"


def test_an_exception_before_commit_stores_nothing(store: SqlStore) -> None:
    """Leaving the block with an exception rolls back every staged change."""
    d = Desk(store)
    request = d.register()
    customer = Customer(uuid4(), "未提交")
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.customers.add(customer)
        steps.route(uow.requests.get(request.id), department="x", actor=SUPERVISOR, at=START)
        raise RuntimeError("boom")
    with store.unit_of_work() as uow, pytest.raises(NotFound):
        uow.customers.get(customer.id)
    assert stored(store, request.id).state is RequestState.REGISTERED


def test_a_duplicate_service_number_is_a_validation_error(store: SqlStore) -> None:
    """R7: a service number committed by another unit of work meanwhile is refused."""
    d = Desk(store)
    request = d.register()
    with store.unit_of_work() as uow:
        copy = steps.register(
            request_id=uuid4(), number=request.number, customer_id=request.customer_id,
            category=request.category, channel=request.channel, impact=request.impact,
            urgency=request.urgency, summary="重复", actor=SUPERVISOR, at=START,
            matrix=d.desk.priority_matrix,
        )
        with pytest.raises(ValidationError):
            uow.requests.add(copy)


# --- schema and migrations -------------------------------------------------------------------


def test_the_migrated_schema_equals_the_declared_schema(engine: sa.Engine) -> None:
    """Alembic's autogenerate finds no difference between the migrations and the tables."""
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert current_revision(engine) == HEAD_REVISION == head_revision()
    assert sql_schema.REVISIONS[-1] == HEAD_REVISION


def test_create_all_and_upgrade_give_the_same_schema(make_engine: EngineFactory) -> None:
    """The test helper ``create_all`` stamps the head revision and matches the migrations."""
    engine = make_engine()
    store = SqlStore(engine)
    store.create_all()
    assert current_revision(engine) == HEAD_REVISION
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    Desk(store).register()
    store.drop_all()
    assert current_revision(engine) is None


def test_a_database_without_the_schema_is_refused(engine: sa.Engine) -> None:
    """No revision recorded: StorageError naming the upgrade command."""
    with pytest.raises(StorageError, match="db upgrade"):
        SqlStore(engine).unit_of_work()


def test_a_downgraded_database_is_refused(engine: sa.Engine) -> None:
    """Migrated down to base after use: the next store refuses it."""
    upgrade(engine)
    SqlStore(engine).unit_of_work()
    downgrade(engine, "base")
    with pytest.raises(StorageError, match="no aftersales schema"):
        SqlStore(engine).outbox()


def test_an_outdated_schema_is_refused(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Code that needs a newer revision than the database has raises StorageError."""
    upgrade(engine)
    monkeypatch.setattr(sql_schema, "REVISIONS", (*sql_schema.REVISIONS, "9999"))
    monkeypatch.setattr(sql_schema, "HEAD_REVISION", "9999")
    with pytest.raises(StorageError, match="outdated"):
        SqlStore(engine).unit_of_work()


def test_an_unknown_revision_is_refused(engine: sa.Engine) -> None:
    """A revision this code does not know (a newer release migrated it) raises StorageError."""
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff'"))
    with pytest.raises(StorageError, match="unknown"):
        SqlStore(engine).unit_of_work()
    stamp(engine, HEAD_REVISION, purge=True)
    SqlStore(engine).unit_of_work()


# --- malformed stored data -------------------------------------------------------------------


def _corrupt(store: SqlStore, table: sa.Table, item_id: UUID, **values: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == item_id).values(**values))


def test_a_malformed_request_document_raises_storage_error(store: SqlStore) -> None:
    """A document with a wrong type or an unknown key is never half-read."""
    d = Desk(store)
    request = d.register()
    table = sql_schema.service_requests
    with store.engine.connect() as conn:
        doc = dict(conn.execute(sa.select(table.c.doc).where(table.c.id == request.id))
                   .scalar_one())
    _corrupt(store, table, request.id, doc={**doc, "priority": "urgent!"})
    with store.unit_of_work() as uow, pytest.raises(StorageError, match=str(request.id)):
        uow.requests.get(request.id)
    _corrupt(store, table, request.id, doc={**doc, "surprise": 1})
    with store.unit_of_work() as uow, pytest.raises(StorageError, match="malformed"):
        uow.requests.find(customer_id=d.customer.id)
    _corrupt(store, table, request.id, doc=[1, 2])
    with store.unit_of_work() as uow, pytest.raises(StorageError, match="not a JSON object"):
        uow.requests.get_by_number(request.number)
    _corrupt(store, table, request.id, doc={**doc, "state": "closed"})
    with store.unit_of_work() as uow, pytest.raises(StorageError, match="disagrees"):
        uow.requests.get(request.id)


def test_a_gap_in_the_record_raises_storage_error(store: SqlStore) -> None:
    """R9: a missing record row is detected, not silently skipped."""
    d = Desk(store)
    request = d.register()
    d.desk.route(SUPERVISOR, request.id, department="x")
    d.desk.assign(SUPERVISOR, request.id, engineer_id=d.engineer.id)
    record = sql_schema.request_record
    with store.engine.begin() as conn:
        conn.execute(record.delete().where(record.c.request_id == request.id,
                                           record.c.sequence == 2))
    with store.unit_of_work() as uow, pytest.raises(StorageError, match="gap"):
        uow.requests.get(request.id)


def test_the_document_carries_the_record_and_the_rows_must_agree(store: SqlStore) -> None:
    """R9 since revision 0003: one read loads a request with its record (kept in the
    document); the append-only rows stay the audit trail and a load checks them against the
    document: a row missing at the end, or rows of another time, are reported too."""
    d = Desk(store)
    request = d.register()
    d.desk.route(SUPERVISOR, request.id, department="x")
    d.desk.assign(SUPERVISOR, request.id, engineer_id=d.engineer.id)
    table, record = sql_schema.service_requests, sql_schema.request_record
    with store.engine.connect() as conn:
        doc = conn.execute(sa.select(table.c.doc).where(table.c.id == request.id)).scalar_one()
    assert [e["action"] for e in doc["record"]] == ["register", "route", "assign"]
    assert "version" not in doc
    with store.engine.begin() as conn:
        conn.execute(record.update().where(record.c.request_id == request.id,
                                           record.c.sequence == 3)
                     .values(at=START - timedelta(days=1)))
    with store.unit_of_work() as uow, pytest.raises(StorageError, match="disagree"):
        uow.requests.get(request.id)
    with store.engine.begin() as conn:
        conn.execute(record.delete().where(record.c.request_id == request.id,
                                           record.c.sequence == 3))
    with store.unit_of_work() as uow, pytest.raises(StorageError, match="gap"):
        uow.requests.find(customer_id=d.customer.id)


def test_upgrading_0002_to_0003_moves_the_record_into_the_document(engine: sa.Engine) -> None:
    """Requests stored at revision 0002 (record only in its rows) are readable before the
    upgrade, and after it carry their record in the document; the schema then equals the
    declared one, commands go on, and a downgrade takes the record out again."""
    upgrade(engine, "0002")
    store = SqlStore(engine, check_schema=False)
    d = Desk(store)
    request = d.register()
    d.desk.route(SUPERVISOR, request.id, department="x")
    d.desk.assign(SUPERVISOR, request.id, engineer_id=d.engineer.id)
    table = sql_schema.service_requests

    def docs() -> dict[UUID, Any]:
        with engine.connect() as conn:
            return {row.id: row.doc for row in conn.execute(sa.select(table.c.id, table.c.doc))}

    with engine.begin() as conn:  # the 0002 layout: documents without their record
        for request_id, doc in docs().items():
            doc.pop("record")
            conn.execute(table.update().where(table.c.id == request_id).values(doc=doc))
    dump = make_converter().unstructure  # jobs compare by identity: compare documents
    expected = stored(store, request.id)  # read from the record rows
    assert [e.action for e in expected.record] == ["register", "route", "assign"]
    upgrade(engine)
    assert current_revision(engine) == HEAD_REVISION == "0003"
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert [e["action"] for e in docs()[request.id]["record"]] == ["register", "route", "assign"]
    store = SqlStore(engine)
    assert dump(stored(store, request.id)) == dump(expected)
    Desk(store).desk.start_remote(d.engineer, request.id)
    with store.unit_of_work() as uow:
        loaded = uow.requests.get(request.id)
    assert loaded.record[:3] == expected.record and len(loaded.record) > 3
    downgrade(engine, "0002")
    assert "record" not in docs()[request.id]
    assert stored(SqlStore(engine, check_schema=False), request.id).record == loaded.record
    upgrade(engine)
    again = stored(SqlStore(engine), request.id)  # record times copied back in UTC
    assert (again.record, again.state, again.version) == (
        loaded.record, loaded.state, loaded.version
    )


def test_find_returns_more_requests_than_a_statement_may_bind(store: SqlStore) -> None:
    """More matches than PostgreSQL's 65,535 bind parameters: find() still loads them all."""
    d = Desk(store)
    template = d.register()
    table = sql_schema.service_requests
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == template.id)).one()._asdict()
    copies = 65_600
    with store.engine.begin() as conn:
        rows = []
        for i in range(copies):
            request_id = uuid4()
            number = f"BULK-{i:06d}"
            rows.append({
                **row, "id": request_id, "number": number,
                "doc": {**row["doc"], "id": str(request_id), "number": number, "record": []},
            })
            if len(rows) == 5000 or i == copies - 1:
                conn.execute(table.insert(), rows)
                rows = []
    with store.unit_of_work() as uow:
        found = uow.requests.find(customer_id=d.customer.id)
    assert len(found) == copies + 1
    assert len({r.id for r in found}) == copies + 1


def test_a_malformed_record_document_raises_storage_error(store: SqlStore) -> None:
    """A customer file whose document lost a required field raises StorageError."""
    d = Desk(store)
    _corrupt(store, sql_schema.customers, d.customer.id, doc={"id": str(d.customer.id)})
    with store.unit_of_work() as uow, pytest.raises(StorageError, match="Customer"):
        uow.customers.get(d.customer.id)


# --- idempotency -----------------------------------------------------------------------------


def test_a_repeated_idempotency_key_writes_nothing_twice(store: SqlStore) -> None:
    """An ERP retrying ``register_request`` with the same key gets the first request back;
    one request row, one record row, one outbox row, one key row."""
    d = Desk(store)
    first = d.register(idempotency_key="ERP-4711")
    again = d.register(summary="重复提交", idempotency_key="ERP-4711")
    assert again.id == first.id and again.summary == "打印机卡纸"
    routed = d.desk.route(SUPERVISOR, first.id, department="x", idempotency_key="route-1")
    repeat = d.desk.route(SUPERVISOR, first.id, department="x", idempotency_key="route-1")
    assert repeat.version == routed.version == 2
    requests, record = sql_schema.service_requests, sql_schema.request_record
    assert count(store, requests, requests.c.customer_id == d.customer.id) == 1
    assert count(store, record, record.c.request_id == first.id) == 2
    assert count(store, sql_schema.outbox, sql_schema.outbox.c.aggregate_id == first.id) == 2
    assert count(store, sql_schema.idempotency_keys) == 2


# --- outbox ----------------------------------------------------------------------------------


def test_the_outbox_ships_each_event_once_in_order_per_aggregate(store: SqlStore) -> None:
    """Interleaved commits of two requests: a relay draining in small batches ships every
    event exactly once, each aggregate's events in sequence order."""
    d = Desk(store)
    one, two = d.register("一"), d.register("二")
    for request in (one, two, one, two):
        current = stored(store, request.id)
        if current.state is RequestState.REGISTERED:
            d.desk.route(SUPERVISOR, request.id, department="x")
        else:
            d.desk.assign(SUPERVISOR, request.id, engineer_id=d.engineer.id)
    outbox = store.outbox()
    shipped: list[tuple[UUID, int]] = []
    while batch := outbox.pending(limit=3):
        shipped += [(m.aggregate_id, m.sequence) for m in batch]
        outbox.mark_published([m.event_id for m in batch])
        outbox.mark_published([m.event_id for m in batch])  # idempotent
    assert sorted(shipped) == sorted({(r.id, s) for r in (one, two) for s in (1, 2, 3)})
    for request in (one, two):
        assert [s for a, s in shipped if a == request.id] == [1, 2, 3]
    assert outbox.pending() == []
    outbox.mark_published([uuid4()])
    published = sql_schema.outbox.c.published_at
    assert count(store, sql_schema.outbox, published.is_(None)) == 0


# --- engines ---------------------------------------------------------------------------------


@pytest.fixture
def serializable_store(
    engine_kind: str, make_engine: EngineFactory
) -> Iterator[SqlStore]:
    """PostgreSQL at SERIALIZABLE isolation."""
    if engine_kind != "postgres":
        pytest.skip("SERIALIZABLE isolation is exercised on PostgreSQL")
    engine = make_engine(isolation_level="SERIALIZABLE")
    upgrade(engine)
    yield SqlStore(engine)


def test_postgres_at_serializable_runs_the_lifecycle(serializable_store: SqlStore) -> None:
    """The whole remote lifecycle works at SERIALIZABLE."""
    test_a_remote_request_lives_its_whole_lifecycle_through_the_desk(serializable_store)


def test_postgres_serialization_failures_become_conflicts(
    serializable_store: SqlStore,
) -> None:
    """At SERIALIZABLE, PostgreSQL's own serialization failure (SQLSTATE 40001) surfaces as
    ConcurrencyConflict, and the desk's retry gets the command through."""
    store = serializable_store
    d = Desk(store)
    request = d.register()
    with store.unit_of_work() as first, store.unit_of_work() as second:
        steps.route(first.requests.get(request.id), department="甲", actor=SUPERVISOR, at=START)
        steps.route(second.requests.get(request.id), department="乙", actor=SUPERVISOR,
                    at=START)
        first.commit()
        with pytest.raises(ConcurrencyConflict) as caught:
            second.commit()
    assert "40001" in str(caught.value) or caught.value.entity == "ServiceRequest"
    test_the_desk_retries_a_command_that_lost_a_race(store)


def test_sqlite_lock_timeouts_become_conflicts(
    engine_kind: str, make_engine: EngineFactory
) -> None:
    """SQLite: a writer that cannot get the lock within the busy timeout ("database is
    locked") gets ConcurrencyConflict, not a raw OperationalError."""
    if engine_kind != "sqlite":
        pytest.skip("SQLite only")
    engine = make_engine(sqlite_busy_timeout_ms=50)
    store = SqlStore(engine)
    store.create_all()
    d = Desk(store)
    with store.engine.connect() as blocker:
        blocker.execute(sa.text("UPDATE customers SET version = version"))  # holds the lock
        with pytest.raises(ConcurrencyConflict, match="locked"):
            d.register()
        blocker.rollback()
    d.register()


@pytest.mark.parametrize(
    ("orig", "transient"),
    [
        (type("E", (Exception,), {"sqlstate": "40001"})(), True),
        (type("E", (Exception,), {"sqlstate": "40P01"})(), True),
        (type("E", (Exception,), {"pgcode": "40001"})(), True),
        (type("E", (Exception,), {"sqlstate": "23505"})(), False),
        (Exception(1213, "Deadlock found when trying to get lock"), True),
        (Exception(1205, "Lock wait timeout exceeded"), True),
        (Exception(1062, "Duplicate entry"), False),
        (Exception("database is locked"), True),
        (Exception("no such table: x"), False),
    ],
)
def test_transient_database_errors_are_recognised(orig: Exception, transient: bool) -> None:
    """PostgreSQL/CockroachDB 40001/40P01, MariaDB 1213/1205 and SQLite locks are retryable;
    everything else is not."""
    error = sa_exc.OperationalError("stmt", {}, orig)
    assert (_transient_reason(error) is not None) is transient


def test_create_engine_takes_a_plain_sqlite_path(tmp_path: Any) -> None:
    """A file path becomes a SQLite URL with WAL, foreign keys and a busy timeout; nothing
    connects until used."""
    engine = create_engine(tmp_path / "aftersales.db")
    assert engine.url.get_backend_name() == "sqlite"
    assert not (tmp_path / "aftersales.db").exists()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    engine.dispose()


def test_an_in_memory_sqlite_store_works() -> None:
    """``sqlite://`` shares one connection, so units of work see each other's commits."""
    engine = create_engine("sqlite://")
    store = SqlStore(engine)
    store.create_all()
    d = Desk(store)
    request = d.register()
    assert stored(store, request.id).number == request.number


def test_datetimes_are_stored_in_utc(store: SqlStore) -> None:
    """Query columns hold the instant in UTC (MariaDB and SQLite keep no zone); documents keep
    the original offset."""
    d = Desk(store)
    request = d.register()
    table = sql_schema.service_requests
    with store.engine.connect() as conn:
        registered = conn.execute(
            sa.select(table.c.registered_at).where(table.c.id == request.id)
        ).scalar_one()
    assert registered == START.astimezone(UTC) and registered.tzinfo is not None
    assert registered.utcoffset() == timedelta(0)
    assert stored(store, request.id).registered_at.utcoffset() == timedelta(hours=8)
