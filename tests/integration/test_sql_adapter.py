"""The SQL adapter on SQLite, PostgreSQL and MariaDB: lifecycles through the service desk,
optimistic concurrency and retries, atomic commits, schema revision checks, malformed stored
documents, idempotency, the outbox and its clock, engine specifics.

The shipped migration's equality with the declarations is ``test_migrations.py``; tampered
records, documents and outbox payloads are ``test_sql_tamper.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import attrs
import pytest
import sqlalchemy as sa
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
    ServiceDesk,
    enroll_first_supervisor,
    sql_desk,
    verify_record,
)
from aftersales.adapters.sql import (
    HEAD_REVISION,
    VERSION_TABLE,
    SqlStore,
    create_engine,
    current_revision,
    downgrade,
    stamp,
    upgrade,
)
from aftersales.adapters.sql import schema as sql_schema
from aftersales.adapters.sql import store as sql_store
from aftersales.adapters.sql.store import _transient_reason
from aftersales.domain.records import ACTORS, CUSTOMERS
from aftersales.domain.request import REQUESTS, OnSiteJob, RemoteJob, ServiceRequest
from aftersales.errors import (
    ConcurrencyConflict,
    IdempotencyConflict,
    NotAuthorized,
    NotFound,
    StorageError,
    ValidationError,
)
from aftersales.ports import IdempotencyRecord, UnitOfWork
from aftersales.workflows import records as directory
from aftersales.workflows import steps

SUPERVISOR_ID = UUID(int=10_000)
ROLES = frozenset({Role.SUPERVISOR, Role.CLERK})

EngineFactory = Callable[..., sa.Engine]


class Desk:
    """A service desk on a store and its clock, with a supervisor (also a clerk), an engineer
    and a customer on file."""

    def __init__(self, store: SqlStore, clock: ManualClock, **kw: Any) -> None:
        self.store = store
        self.clock = clock
        with store.unit_of_work() as uow:
            empty = not uow.actors.find(limit=1)
        if empty:
            enroll_first_supervisor(store.unit_of_work, actor_id=SUPERVISOR_ID,
                                    name="主管 supervisor", at=clock.now(), roles=ROLES)
        with store.unit_of_work() as uow:
            self.supervisor: Actor = uow.actors.get(SUPERVISOR_ID)
        self.desk = ServiceDesk(store.unit_of_work, clock=clock, ids=RandomIds(),
                                kinds=store.kinds, **kw)
        self.engineer = self.desk.register_actor(
            SUPERVISOR_ID, name="王工程师", roles=[Role.ENGINEER]
        )
        self.customer = self.desk.register_customer(SUPERVISOR_ID, name="北京某某科技有限公司")

    def register(self, summary: str = "打印机卡纸", **kw: Any) -> ServiceRequest:
        return self.desk.register_request(
            SUPERVISOR_ID, customer_id=self.customer.id, summary=summary, **kw
        )

    def in_progress(self) -> ServiceRequest:
        """A remote request its engineer is working on."""
        request = self.register()
        self.desk.assign(SUPERVISOR_ID, request.id, engineer_id=self.engineer.id)
        return self.desk.start_remote(self.engineer, request.id)


def count(store: SqlStore, table: sa.Table, *where: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))
                   .scalar_one())


def stored(store: SqlStore, request_id: UUID) -> ServiceRequest:
    with store.unit_of_work() as uow:
        return uow.requests.get(request_id)


def outbox_rows(store: SqlStore, aggregate_id: UUID) -> int:
    outbox = store.schema.outbox
    return count(store, outbox, outbox.c.aggregate_id == aggregate_id)


def record_rows(store: SqlStore, request_id: UUID) -> int:
    record = store.schema.record(REQUESTS)
    return count(store, record, record.c.owner_id == request_id)


# --- lifecycles through the service desk -------------------------------------------------


def remote_lifecycle(store: SqlStore, clock: ManualClock) -> None:
    d = Desk(store, clock)
    start = clock.now()
    request = d.register(equipment_id=None)
    desk, engineer = d.desk, d.engineer
    desk.route(SUPERVISOR_ID, request.id, department="售后服务部")
    desk.assign(SUPERVISOR_ID, request.id, engineer_id=engineer.id)
    desk.start_remote(engineer, request.id)
    desk.record_contact(engineer, request.id, channel=Channel.PHONE, summary="远程指导 " * 50)
    desk.resolve(engineer, request.id, resolution="已更换硒鼓，测试打印正常")
    desk.confirm(SUPERVISOR_ID, request.id)
    closed = desk.close(SUPERVISOR_ID, request.id)

    loaded = stored(store, request.id)
    assert loaded.state == RequestState.CLOSED
    assert loaded.version == closed.version == 8
    assert loaded.record == closed.record
    assert [e.sequence for e in loaded.record] == list(range(1, len(closed.record) + 1))
    assert verify_record(loaded) == []
    assert start < loaded.registered_at < clock.now()
    assert loaded.registered_at.utcoffset() == timedelta(hours=8)  # the desk's zone is kept
    assert all(e.at.tzinfo is not None for e in loaded.record)
    job, done = loaded.jobs[0], closed.jobs[0]
    assert isinstance(job, RemoteJob) and isinstance(done, RemoteJob)
    assert job.contacts == done.contacts and len(job.contacts) == 1

    messages = store.outbox().pending(limit=1000)
    ours = [m for m in messages if m.aggregate_id == request.id]
    assert [m.sequence for m in ours] == list(range(1, closed.event_sequence + 1))
    assert ours[0].name == "RequestRegistered" and ours[-1].name == "RequestClosed"
    assert ours[0].payload["number"] == request.number
    assert {m.aggregate_type for m in ours} == {"ServiceRequest"}
    with store.unit_of_work() as uow:
        assert uow.requests.get_by("number", request.number).id == request.id
        assert [r.id for r in uow.requests.find(customer_id=d.customer.id)] == [request.id]
        assert uow.requests.find(state=[RequestState.CLOSED], engineer_id=engineer.id)
        assert uow.requests.find(state=[RequestState.REGISTERED]) == []


def test_r7_to_r11_a_remote_request_lives_its_whole_lifecycle_through_the_desk(
    store: SqlStore, clock: ManualClock
) -> None:
    """R7-R11: register, route, assign, remote work, resolve, confirm, close; every step is in
    the R9 record, every event in the outbox, and the request reads back exactly."""
    remote_lifecycle(store, clock)


def test_r12_an_onsite_request_with_an_emergency_dispatch_round_trips(
    store: SqlStore, clock: ManualClock
) -> None:
    """R12: on-site job, emergency dispatch and retro approval, arrival, signed report with a
    fee: jobs, money and datetimes survive storage."""
    d = Desk(store, clock)
    desk, engineer = d.desk, d.engineer
    request = d.register(summary="服务器宕机，核心系统无法访问")
    desk.assign(SUPERVISOR_ID, request.id, engineer_id=engineer.id)
    desk.start_onsite(engineer, request.id, promised_at=clock.now() + timedelta(hours=4))
    desk.confirm_need(engineer, request.id, note="客户确认需要上门")
    desk.dispatch_emergency(engineer, request.id, reason="核心系统宕机")
    desk.record_arrival(engineer, request.id)
    desk.record_work(engineer, request.id, description="更换电源模块")
    fee = Money(Decimal("1234.56"), "CNY")
    desk.sign_off(
        engineer, request.id, found="电源故障", result="已修复", signed_by="李小姐",
        rating=5, parts_replaced=("电源模块",), fee=fee,
    )
    desk.resolve(engineer, request.id, resolution="已修复")
    desk.retro_approve(SUPERVISOR_ID, request.id)
    desk.confirm(SUPERVISOR_ID, request.id)
    closed = desk.close(SUPERVISOR_ID, request.id)
    loaded = stored(store, request.id)
    assert loaded.state == RequestState.CLOSED
    job, done = loaded.jobs[0], closed.jobs[0]
    assert isinstance(job, OnSiteJob) and isinstance(done, OnSiteJob)
    assert job.kind == "onsite"
    assert job.report is not None and job.report.fee == fee
    assert job.arrivals == done.arrivals and job.arrivals
    assert loaded.record == closed.record
    assert verify_record(loaded) == []


# --- optimistic concurrency ----------------------------------------------------------------


def test_the_second_of_two_units_of_work_changing_a_request_conflicts(
    store: SqlStore, clock: ManualClock
) -> None:
    """Both read version 1; the first commit wins, the second raises ConcurrencyConflict and
    writes nothing (no state, record rows or outbox rows)."""
    d = Desk(store, clock)
    request = d.register()
    at = clock.now()
    with store.unit_of_work() as first, store.unit_of_work() as second:
        a = first.requests.get(request.id)
        b = second.requests.get(request.id)
        steps.route(a, department="甲", actor=d.supervisor, at=at)
        steps.reject(b, reason="不是我们的设备", actor=d.supervisor, at=at)
        first.commit()
        with pytest.raises(ConcurrencyConflict) as caught:
            second.commit()
        assert caught.value.retryable
        assert second.collect_new_events() == []
        assert b.version == 1 and b.pending_events  # the loser's objects are untouched
    loaded = stored(store, request.id)
    assert (loaded.state, loaded.version, len(loaded.record)) == (RequestState.ROUTED, 2, 2)
    assert record_rows(store, request.id) == 2
    assert outbox_rows(store, request.id) == 2


def racing(store: SqlStore, request_id: UUID, change: Callable[[ServiceRequest], None]
           ) -> Callable[[], UnitOfWork]:
    """A unit-of-work factory whose first unit of work reads the request, then another
    writer commits ``change`` to it: that first attempt loses the race."""
    raced = threading.Event()

    def factory() -> UnitOfWork:
        uow = store.unit_of_work()
        if not raced.is_set():
            raced.set()
            with store.unit_of_work() as other:
                change(other.requests.get(request_id))
                uow.requests.get(request_id)  # our read happens before their commit
                other.commit()
        return uow

    return factory


def test_the_desk_retries_a_command_that_lost_a_race_to_a_change_of_no_consequence(
    store: SqlStore, clock: ManualClock
) -> None:
    """A ConcurrencyConflict on the first attempt is retried with fresh data when the target
    is still in the state the command saw: both contacts are on the record, once each."""
    d = Desk(store, clock)
    request = d.in_progress()
    engineer = d.engineer

    def contact(other: ServiceRequest) -> None:
        steps.record_contact(other, channel=Channel.EMAIL, summary="他们的邮件",
                             actor=engineer, at=clock.now())

    desk = ServiceDesk(racing(store, request.id, contact), clock=clock, ids=RandomIds(),
                       kinds=store.kinds)
    done = desk.record_contact(engineer, request.id, channel=Channel.PHONE, summary="我们的电话")
    job = done.jobs[0]
    assert isinstance(job, RemoteJob)
    assert [c.summary for c in job.contacts] == ["他们的邮件", "我们的电话"]
    actions = [e.action for e in stored(store, request.id).record]
    assert actions.count("record_contact") == 2
    assert verify_record(stored(store, request.id)) == []


def test_r11_two_clerks_assigning_at_once_never_both_succeed(
    store: SqlStore, clock: ManualClock
) -> None:
    """R11: the loser of an assignment race is not re-run as a reassignment: its retry sees
    the request moved from routed to assigned and surfaces ConcurrencyConflict (not
    retryable); the record holds exactly one assignment, the winner's. (The old desk retried
    blindly and recorded two.)"""
    d = Desk(store, clock)
    request = d.register()
    d.desk.route(SUPERVISOR_ID, request.id, department="售后服务部")
    rival = d.desk.register_actor(SUPERVISOR_ID, name="李工程师", roles=[Role.ENGINEER])

    def assign_rival(other: ServiceRequest) -> None:
        steps.assign(other, engineer_id=rival.id, actor=d.supervisor, at=clock.now())

    desk = ServiceDesk(racing(store, request.id, assign_rival), clock=clock, ids=RandomIds(),
                       kinds=store.kinds)
    with pytest.raises(ConcurrencyConflict) as caught:
        desk.assign(SUPERVISOR_ID, request.id, engineer_id=d.engineer.id)
    assert not caught.value.retryable
    loaded = stored(store, request.id)
    assert loaded.engineer_id == rival.id
    assert [e.action for e in loaded.record] == ["register", "route", "assign"]
    assert outbox_rows(store, request.id) == 3


def test_r30_concurrent_changes_of_one_directory_entry_conflict(
    store: SqlStore, clock: ManualClock
) -> None:
    """R30: directory entries have versions too: changing an actor's roles and deactivating
    them at once, the second commit raises ConcurrencyConflict and writes nothing."""
    d = Desk(store, clock)
    at = clock.now()
    with store.unit_of_work() as first, store.unit_of_work() as second:
        a, b = first.actors.get(d.engineer.id), second.actors.get(d.engineer.id)
        directory.change_roles(a, roles={Role.ENGINEER, Role.CLERK}, by=d.supervisor, at=at)
        directory.deactivate(b, reason="离职", by=d.supervisor, at=at)
        first.commit()
        with pytest.raises(ConcurrencyConflict):
            second.commit()
    with store.unit_of_work() as uow:
        again = uow.actors.get(d.engineer.id)
    assert (again.roles, again.active, again.version) == (
        frozenset({Role.ENGINEER, Role.CLERK}), True, 2
    )
    record = store.schema.record(ACTORS)
    assert count(store, record, record.c.owner_id == d.engineer.id) == 2


def test_r30_an_actor_deactivated_meanwhile_cannot_act(
    store: SqlStore, clock: ManualClock
) -> None:
    """R30: the runner reads the actor from the directory in the command's own transaction:
    once deactivated (by another desk on the same database), their commands are refused."""
    d = Desk(store, clock)
    request = d.in_progress()
    other = Desk(store, clock)
    other.desk.deactivate_actor(SUPERVISOR_ID, d.engineer.id, reason="离职")
    with pytest.raises(NotAuthorized):
        d.desk.record_contact(d.engineer, request.id, channel=Channel.PHONE, summary="电话")
    assert stored(store, request.id).version == request.version


# --- atomic commits --------------------------------------------------------------------------


def key_record(command: str, aggregate_id: UUID, at: datetime) -> IdempotencyRecord:
    return IdempotencyRecord(uuid4().hex + uuid4().hex, "f" * 64, command, "service_requests",
                             aggregate_id, at)


def test_a_failure_after_the_state_write_leaves_nothing_partial(
    store: SqlStore, clock: ManualClock
) -> None:
    """The request UPDATE, its record rows and outbox rows are written, then the idempotency
    key insert fails (another writer took the key meanwhile): everything is rolled back and
    the loss is a ConcurrencyConflict, not a driver error."""
    d = Desk(store, clock)
    request = d.register()
    before = stored(store, request.id)
    at = clock.now()
    key = key_record("route", request.id, at)
    with store.unit_of_work() as uow:
        assert uow.idempotency.get(key.scope) is None
        loaded = uow.requests.get(request.id)
        steps.route(loaded, department="售后服务部", actor=d.supervisor, at=at)
        uow.idempotency.put(key)
        with store.unit_of_work() as other:  # the key is taken meanwhile
            other.idempotency.put(attrs.evolve(key, aggregate_id=uuid4()))
            other.commit()
        with pytest.raises(ConcurrencyConflict):
            uow.commit()
    after = stored(store, request.id)
    assert (after.state, after.version, after.record) == (
        before.state, before.version, before.record
    )
    assert record_rows(store, request.id) == 1
    assert outbox_rows(store, request.id) == 1
    assert count(store, store.schema.keys) == 1


def test_a_conflict_on_the_second_request_rolls_back_the_first(
    store: SqlStore, clock: ManualClock
) -> None:
    """Two requests in one unit of work; the one written second lost a race: neither is
    changed."""
    d = Desk(store, clock)
    one, two = d.register("一"), d.register("二")
    first_written, second_written = sorted([one, two], key=lambda r: str(r.id))
    at = clock.now()
    with store.unit_of_work() as uow:
        a = uow.requests.get(first_written.id)
        b = uow.requests.get(second_written.id)
        d.desk.route(SUPERVISOR_ID, second_written.id, department="抢先")  # a racing command
        steps.route(a, department="甲", actor=d.supervisor, at=at)
        steps.route(b, department="乙", actor=d.supervisor, at=at)
        with pytest.raises(ConcurrencyConflict):
            uow.commit()
    assert stored(store, first_written.id).state == RequestState.REGISTERED
    assert record_rows(store, first_written.id) == 1
    assert stored(store, second_written.id).department == "抢先"


def test_r9_a_guard_read_that_changed_meanwhile_fails_the_commit(
    store: SqlStore, clock: ManualClock
) -> None:
    """What a unit of work read and did not change is its read set: when another writer
    changed it before the commit, the commit raises ConcurrencyConflict and writes nothing
    (so a guard reading another aggregate holds under concurrency). SQLite's snapshot refuses
    the stale transaction's write itself ("database is locked")."""
    d = Desk(store, clock)
    read_only, changed = d.register("读"), d.register("写")
    at = clock.now()
    with store.unit_of_work() as uow:
        uow.requests.get(read_only.id)  # read for a decision
        steps.route(uow.requests.get(changed.id), department="甲", actor=d.supervisor, at=at)
        d.desk.route(SUPERVISOR_ID, read_only.id, department="乙")  # changes what we read
        with pytest.raises(ConcurrencyConflict,
                           match=r"read for a decision|SQLite: database is locked"):
            uow.commit()
    assert stored(store, changed.id).state == RequestState.REGISTERED


def test_an_exception_before_commit_stores_nothing(store: SqlStore, clock: ManualClock) -> None:
    """Leaving the block with an exception rolls back every staged change."""
    d = Desk(store, clock)
    request = d.register()
    customer = Customer(uuid4(), "未提交")
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.customers.add(customer)
        steps.route(uow.requests.get(request.id), department="x", actor=d.supervisor,
                    at=clock.now())
        raise RuntimeError("boom")
    with store.unit_of_work() as uow, pytest.raises(NotFound):
        uow.customers.get(customer.id)
    assert stored(store, request.id).state == RequestState.REGISTERED


def copy_of(d: Desk, request: ServiceRequest) -> ServiceRequest:
    return steps.register(
        request_id=uuid4(), number=request.number, customer_id=request.customer_id,
        category=request.category, channel=request.channel, impact=request.impact,
        urgency=request.urgency, summary="重复", actor=d.supervisor, at=d.clock.now(),
        matrix=d.desk.priority_matrix,
    )


def test_r7_a_duplicate_service_number_is_a_validation_error(
    store: SqlStore, clock: ManualClock
) -> None:
    """R7: a service number committed by another unit of work is refused when added."""
    d = Desk(store, clock)
    request = d.register()
    with store.unit_of_work() as uow, pytest.raises(ValidationError, match="already exists"):
        uow.requests.add(copy_of(d, request))


def test_r7_a_service_number_taken_by_a_concurrent_commit_is_a_conflict(
    store: SqlStore, clock: ManualClock
) -> None:
    """R7: two units of work add requests with one number; the database's unique key lets
    only the first commit: the second gets ConcurrencyConflict (the desk retries it with a
    new number) and nothing of it is stored."""
    d = Desk(store, clock)
    template = d.register()
    number = f"SR-20240501-{uuid4().hex[:8]}"
    with store.unit_of_work() as first, store.unit_of_work() as second:
        one, two = copy_of(d, template), copy_of(d, template)
        one.number = two.number = number
        first.requests.add(one)
        second.requests.add(two)
        first.commit()
        with pytest.raises(ConcurrencyConflict, match=r"unique key|SQLite: database is locked"):
            second.commit()
    with store.unit_of_work() as uow:
        assert uow.requests.get_by("number", number).id == one.id
        with pytest.raises(NotFound):
            uow.requests.get(two.id)
    assert record_rows(store, two.id) == 0 and outbox_rows(store, two.id) == 0


# --- schema revisions ------------------------------------------------------------------------


def test_create_all_stamps_the_head_and_drop_all_removes_everything(
    make_engine: EngineFactory, clock: ManualClock
) -> None:
    """The test helper ``create_all`` makes the declared tables and stamps the head revision
    (the store accepts it); ``drop_all`` removes the tables and the stamp."""
    engine = make_engine()
    store = SqlStore(engine, clock=clock)
    store.create_all()
    assert current_revision(engine) == HEAD_REVISION
    assert set(sa.inspect(engine).get_table_names()) == (
        set(store.schema.metadata.tables) | {VERSION_TABLE}
    )
    Desk(store, clock).register()
    store.drop_all()
    assert current_revision(engine) is None
    assert sa.inspect(engine).get_table_names() == []


def test_a_database_without_the_schema_is_refused(engine: sa.Engine) -> None:
    """No revision recorded: StorageError naming the upgrade command."""
    with pytest.raises(StorageError, match="db upgrade"):
        SqlStore(engine).unit_of_work()
    with pytest.raises(StorageError, match="no aftersales schema"):
        SqlStore(engine).outbox()


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
    """Code that needs a newer revision than the database has raises StorageError naming
    both revisions and the upgrade command."""
    upgrade(engine)
    monkeypatch.setattr(sql_store, "REVISIONS", (*sql_schema.REVISIONS, "aftersales_9999"))
    monkeypatch.setattr(sql_store, "HEAD_REVISION", "aftersales_9999")
    with pytest.raises(StorageError, match=f"outdated .*{HEAD_REVISION}.*aftersales_9999"):
        SqlStore(engine).unit_of_work()


def test_an_unknown_revision_is_refused_until_stamped(engine: sa.Engine) -> None:
    """A revision this code does not know (a newer release migrated it) raises StorageError;
    once stamped back to head the store accepts the database."""
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = 'ffff'"))
    with pytest.raises(StorageError, match="unknown"):
        SqlStore(engine).unit_of_work()
    stamp(engine, HEAD_REVISION, purge=True)
    with SqlStore(engine).unit_of_work() as uow:
        assert uow.requests.find() == []


def test_the_schema_is_checked_once_per_store(engine: sa.Engine) -> None:
    """The revision is read on first use only; ``check_schema=False`` skips it (for
    migrations in progress)."""
    upgrade(engine)
    store = SqlStore(engine)
    store.unit_of_work()
    downgrade(engine, "base")
    store.unit_of_work()  # checked already: no second look at the revision
    with SqlStore(engine, check_schema=False).unit_of_work() as uow, pytest.raises(StorageError):
        uow.requests.find()


# --- malformed stored documents --------------------------------------------------------------


def _doc(store: SqlStore, table: sa.Table, item_id: UUID) -> dict[str, Any]:
    with store.engine.connect() as conn:
        text = conn.execute(sa.select(table.c.doc).where(table.c.id == item_id)).scalar_one()
    doc: dict[str, Any] = json.loads(text)
    return doc


def _corrupt(store: SqlStore, table: sa.Table, item_id: UUID, **values: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == item_id).values(**values))


def test_a_malformed_request_document_raises_storage_error(
    store: SqlStore, clock: ManualClock
) -> None:
    """A document with a wrong type, an unknown key, a smuggled version or record, or that is
    not an object, is never half-read: StorageError naming the table and the row, through
    every way of loading."""
    d = Desk(store, clock)
    request = d.register()
    table = store.schema.table(REQUESTS)
    doc = _doc(store, table, request.id)
    where = f"service_requests {request.id}"
    cases: list[tuple[Any, str, Callable[[UnitOfWork], object]]] = [
        ({**doc, "priority": "urgent!"}, "malformed", lambda u: u.requests.get(request.id)),
        ({**doc, "surprise": 1}, "malformed",
         lambda u: u.requests.find(customer_id=d.customer.id)),
        ({**doc, "version": 7}, "version or a record", lambda u: u.requests.get(request.id)),
        ({**doc, "record": []}, "version or a record", lambda u: u.requests.get(request.id)),
        ([1, 2], "not a JSON object", lambda u: u.requests.get_by("number", request.number)),
        ({k: v for k, v in doc.items() if k != "summary"}, "malformed",
         lambda u: u.requests.get(request.id)),
    ]
    for bad, problem, load in cases:
        _corrupt(store, table, request.id, doc=json.dumps(bad))
        with store.unit_of_work() as uow, pytest.raises(StorageError) as caught:
            load(uow)
        assert where in str(caught.value) and problem in str(caught.value), bad
    _corrupt(store, table, request.id, doc=json.dumps(doc))
    assert stored(store, request.id).summary == request.summary


def test_a_malformed_customer_document_raises_storage_error(
    store: SqlStore, clock: ManualClock
) -> None:
    """R1: a customer file whose document lost a required field raises StorageError naming
    the customers row."""
    d = Desk(store, clock)
    _corrupt(store, store.schema.table(CUSTOMERS), d.customer.id,
             doc=json.dumps({"id": str(d.customer.id)}))
    with store.unit_of_work() as uow, pytest.raises(StorageError,
                                                    match=f"customers {d.customer.id}"):
        uow.customers.get(d.customer.id)


def test_a_document_holding_another_id_raises_storage_error(
    store: SqlStore, clock: ManualClock
) -> None:
    """A row whose document is another aggregate's (copied over) is refused."""
    d = Desk(store, clock)
    one, two = d.register("一"), d.register("二")
    table = store.schema.table(REQUESTS)
    _corrupt(store, table, one.id, doc=json.dumps(_doc(store, table, two.id)))
    with store.unit_of_work() as uow, pytest.raises(StorageError, match=str(one.id)):
        uow.requests.get(one.id)


def test_r9_the_document_carries_neither_version_nor_record(
    store: SqlStore, clock: ManualClock
) -> None:
    """R9: the record lives only in its append-only rows (one per entry, each chained by its
    digest, the newest one the row's ``record_head``); the version only in its column."""
    d = Desk(store, clock)
    request = d.register()
    done = d.desk.route(SUPERVISOR_ID, request.id, department="x")
    table, record = store.schema.table(REQUESTS), store.schema.record(REQUESTS)
    doc = _doc(store, table, request.id)
    assert not {"version", "record", "pending_events"} & set(doc)
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == request.id)).one()
        entries = conn.execute(sa.select(record).where(record.c.owner_id == request.id)
                               .order_by(record.c.sequence)).all()
    assert (row.version, row.state) == (2, "routed")
    assert [(e.sequence, e.action, e.digest) for e in entries] == [
        (e.sequence, e.action, e.digest) for e in done.record
    ]
    assert row.record_head == done.record[-1].digest


def test_find_returns_more_requests_than_a_statement_may_bind(
    store: SqlStore, clock: ManualClock
) -> None:
    """More matches than PostgreSQL's 65,535 bind parameters: find() still loads them all."""
    d = Desk(store, clock)
    template = d.register()
    table = store.schema.table(REQUESTS)
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == template.id)).one()._asdict()
    doc = json.loads(row["doc"])
    doc["event_sequence"] = 0
    copies = 65_600
    with store.engine.begin() as conn:
        rows = []
        for i in range(copies):
            request_id = uuid4()
            number = f"BULK-{i:06d}"
            rows.append({
                **row, "id": request_id, "number": number, "record_head": "",
                "doc": json.dumps({**doc, "id": str(request_id), "number": number}),
            })
            if len(rows) == 5000 or i == copies - 1:
                conn.execute(table.insert(), rows)
                rows = []
    with store.unit_of_work() as uow:
        found = uow.requests.find(customer_id=d.customer.id)
    assert len(found) == copies + 1
    assert len({r.id for r in found}) == copies + 1


# --- idempotency -----------------------------------------------------------------------------


def test_a_repeated_idempotency_key_writes_nothing_twice(
    store: SqlStore, clock: ManualClock
) -> None:
    """An ERP retrying ``register_request`` with the same key and arguments gets the first
    request back; one request row, one record row, one outbox row, one key row per command.
    Other arguments under a used key are an IdempotencyConflict (they used to be silently
    ignored)."""
    d = Desk(store, clock)
    first = d.register(idempotency_key="ERP-4711")
    again = d.register(idempotency_key="ERP-4711")
    assert again.id == first.id and again.version == 1
    with pytest.raises(IdempotencyConflict):
        d.register(summary="重复提交", idempotency_key="ERP-4711")
    routed = d.desk.route(SUPERVISOR_ID, first.id, department="x", idempotency_key="route-1")
    repeat = d.desk.route(SUPERVISOR_ID, first.id, department="x", idempotency_key="route-1")
    assert repeat.version == routed.version == 2
    requests = store.schema.table(REQUESTS)
    assert count(store, requests, requests.c.customer_id == d.customer.id) == 1
    assert record_rows(store, first.id) == 2
    assert outbox_rows(store, first.id) == 2
    assert count(store, store.schema.keys) == 2


# --- outbox ----------------------------------------------------------------------------------


def test_the_outbox_ships_each_event_once_in_order_per_aggregate(
    store: SqlStore, clock: ManualClock
) -> None:
    """Interleaved commits of two requests: a relay draining in small batches ships every
    event exactly once, each aggregate's events in sequence order."""
    d = Desk(store, clock)
    one, two = d.register("一"), d.register("二")
    for request in (one, two, one, two):
        current = stored(store, request.id)
        if current.state == RequestState.REGISTERED:
            d.desk.route(SUPERVISOR_ID, request.id, department="x")
        else:
            d.desk.assign(SUPERVISOR_ID, request.id, engineer_id=d.engineer.id)
    outbox = store.outbox()
    shipped: list[tuple[UUID, int]] = []
    while batch := outbox.pending(limit=3):
        shipped += [(m.aggregate_id, m.sequence) for m in batch]
        outbox.mark_published([m.event_id for m in batch])
        outbox.mark_published([m.event_id for m in batch])  # idempotent
    ours = [s for s in shipped if s[0] in (one.id, two.id)]
    assert sorted(ours) == sorted({(r.id, s) for r in (one, two) for s in (1, 2, 3)})
    assert len(shipped) == len(set(shipped))
    for request in (one, two):
        assert [s for a, s in shipped if a == request.id] == [1, 2, 3]
    assert outbox.pending() == []
    outbox.mark_published([uuid4()])
    published = store.schema.outbox.c.published_at
    assert count(store, store.schema.outbox, published.is_(None)) == 0


def test_the_store_stamps_its_rows_with_the_clock_it_was_given(
    store: SqlStore, clock: ManualClock
) -> None:
    """The store's own stamps come from the clock passed to ``SqlStore``, never the system
    clock: an outbox row's ``recorded_at`` is that clock's time at the commit,
    ``published_at`` its time when marked published. An idempotency key's ``created_at`` is
    the command's time, from the desk's clock (a different clock here, to tell them apart;
    both years from the wall clock)."""
    desk_clock = ManualClock(datetime(2035, 1, 1, tzinfo=UTC))
    d = Desk(store, desk_clock)
    outbox = store.schema.outbox
    clock.set(datetime(2031, 2, 3, 4, 5, 6, 789000, tzinfo=UTC))
    clock.step = timedelta(0)
    request = d.register(idempotency_key="ERP-clock")
    with store.engine.connect() as conn:
        recorded = conn.execute(sa.select(outbox.c.recorded_at)
                                .where(outbox.c.aggregate_id == request.id)).scalar_one()
        created = conn.execute(sa.select(store.schema.keys.c.created_at)).scalar_one()
    assert recorded == datetime(2031, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
    assert created == request.registered_at == datetime(2035, 1, 1, tzinfo=UTC)
    clock.set(datetime(2032, 7, 8, 9, 10, 11, tzinfo=UTC))
    relay = store.outbox()
    relay.mark_published([m.event_id for m in relay.pending(limit=1000)])
    with store.engine.connect() as conn:
        published = set(conn.execute(sa.select(outbox.c.published_at)).scalars())
    assert published == {datetime(2032, 7, 8, 9, 10, 11, tzinfo=UTC)}


def test_sql_desk_hands_its_clock_to_the_store(tmp_path: Path) -> None:
    """``aftersales.sql_desk(url, clock=...)`` wires the same clock into the store: the
    outbox rows of its commands are stamped with it."""
    at = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    boss = Actor(SUPERVISOR_ID, "主管", ROLES)
    desk, store = sql_desk(tmp_path / "desk.db", supervisor=boss, clock=ManualClock(at))
    desk.register_customer(boss, name="北京某某科技有限公司")
    with store.engine.connect() as conn:
        stamps = set(conn.execute(sa.select(store.schema.outbox.c.recorded_at)).scalars())
    assert stamps == {at}
    store.engine.dispose()


# --- engines ---------------------------------------------------------------------------------


@pytest.fixture
def serializable_store(
    engine_kind: str, make_engine: EngineFactory, clock: ManualClock
) -> Iterator[SqlStore]:
    """PostgreSQL at SERIALIZABLE isolation."""
    if engine_kind != "postgres":
        pytest.skip("SERIALIZABLE isolation is exercised on PostgreSQL")
    engine = make_engine(isolation_level="SERIALIZABLE")
    upgrade(engine)
    yield SqlStore(engine, clock=clock)


def test_postgres_at_serializable_runs_the_lifecycle(
    serializable_store: SqlStore, clock: ManualClock
) -> None:
    """The whole remote lifecycle works at SERIALIZABLE."""
    with serializable_store.engine.connect() as conn:
        level = conn.exec_driver_sql("SHOW transaction_isolation").scalar_one()
    assert level == "serializable"
    remote_lifecycle(serializable_store, clock)


def test_postgres_serialization_failures_become_conflicts_the_desk_retries(
    serializable_store: SqlStore, clock: ManualClock
) -> None:
    """At SERIALIZABLE, PostgreSQL's own serialization failure (SQLSTATE 40001) surfaces as
    a retryable ConcurrencyConflict, and the desk's retry gets a command through."""
    store = serializable_store
    d = Desk(store, clock)
    request = d.register()
    at = clock.now()
    with store.unit_of_work() as first, store.unit_of_work() as second:
        steps.route(first.requests.get(request.id), department="甲", actor=d.supervisor, at=at)
        steps.route(second.requests.get(request.id), department="乙", actor=d.supervisor,
                    at=at)
        first.commit()
        with pytest.raises(ConcurrencyConflict) as caught:
            second.commit()
    assert "40001" in str(caught.value) and caught.value.retryable
    assert stored(store, request.id).department == "甲"
    test_the_desk_retries_a_command_that_lost_a_race_to_a_change_of_no_consequence(
        store, clock
    )


def test_sqlite_lock_timeouts_become_conflicts(
    engine_kind: str, make_engine: EngineFactory, clock: ManualClock
) -> None:
    """SQLite: a writer that cannot get the lock within the busy timeout ("database is
    locked") gets ConcurrencyConflict (after the desk's retries), not a raw
    OperationalError; once the lock is gone the command goes through."""
    if engine_kind != "sqlite":
        pytest.skip("SQLite only")
    engine = make_engine(sqlite_busy_timeout_ms=50)
    store = SqlStore(engine, clock=clock)
    store.create_all()
    d = Desk(store, clock)
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
        (type("E", (Exception,), {"sqlstate": "23505"})(), True),
        (type("E", (Exception,), {"sqlstate": "22P02"})(), False),
        (Exception(1213, "Deadlock found when trying to get lock"), True),
        (Exception(1205, "Lock wait timeout exceeded"), True),
        (Exception(1020, "Record has changed since last read"), True),
        (Exception(1062, "Duplicate entry"), True),
        (Exception(1406, "Data too long for column"), False),
        (Exception("database is locked"), True),
        (Exception("UNIQUE constraint failed: outbox.event_id"), True),
        (Exception("no such table: x"), False),
    ],
)
def test_transient_database_errors_are_recognised(orig: Exception, transient: bool) -> None:
    """PostgreSQL/CockroachDB 40001/40P01, MariaDB 1213/1205/1020, SQLite locks and a unique
    key taken by a concurrent writer (the retry re-reads and decides again) are retryable;
    everything else is not."""
    error = sa_exc.OperationalError("stmt", {}, orig)
    assert (_transient_reason(error) is not None) is transient


def test_create_engine_takes_a_plain_sqlite_path(tmp_path: Path) -> None:
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


def test_an_in_memory_sqlite_store_works(clock: ManualClock) -> None:
    """``sqlite://`` shares one connection, so units of work see each other's commits."""
    engine = create_engine("sqlite://")
    store = SqlStore(engine, clock=clock)
    store.create_all()
    d = Desk(store, clock)
    request = d.register()
    assert stored(store, request.id).number == request.number
    engine.dispose()


def test_datetimes_are_stored_in_utc(store: SqlStore, clock: ManualClock) -> None:
    """Query columns and record rows hold the instant in UTC (MariaDB and SQLite keep no
    zone); documents keep the original offset."""
    d = Desk(store, clock)
    request = d.register()
    table, record = store.schema.table(REQUESTS), store.schema.record(REQUESTS)
    with store.engine.connect() as conn:
        registered = conn.execute(
            sa.select(table.c.registered_at).where(table.c.id == request.id)
        ).scalar_one()
        entry_at = conn.execute(
            sa.select(record.c.at).where(record.c.owner_id == request.id)
        ).scalar_one()
    assert request.registered_at.utcoffset() == timedelta(hours=8)
    assert registered == entry_at == request.registered_at
    assert registered.utcoffset() == entry_at.utcoffset() == timedelta(0)
    assert stored(store, request.id).registered_at.utcoffset() == timedelta(hours=8)
