"""R9 tamper evidence of the SQL store on SQLite, PostgreSQL and MariaDB.

Someone with write access to the database edits it behind the library's back: a record row is
UPDATEd (who, when, what, from, to, the note, the digest), DELETEd (in the middle or at the
end) or INSERTed (forged with a correct chain, or with a junk digest); a document is made to
disagree with its query columns, is not JSON, or is nested 5,000 deep. Every way of loading
the aggregate (by id, by its number, by a query) raises StorageError naming the table and the
row, and the record entry where there is one; nothing is half-read.

The outbox: a poison payload (not JSON, not an object, nested too deep) is set aside with its
error (``failed()`` lists it, stamped by the store's clock) while every other row flows, in
(aggregate, sequence) order even when ``occurred_at`` values tie or run backwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa

from aftersales import ManualClock, RandomIds, Role, ServiceDesk, enroll_first_supervisor
from aftersales.adapters.sql import SqlStore
from aftersales.domain.kernel import entry_digest
from aftersales.domain.request import REQUESTS, ServiceRequest
from aftersales.errors import StorageError
from aftersales.ports import UnitOfWork

SUPERVISOR_ID = UUID(int=20_000)
TABLE = "service_requests"
DEEP = 5_000

Load = Callable[[UnitOfWork, ServiceRequest], object]

#: Every way of loading a request from the store.
LOADS: dict[str, Load] = {
    "get": lambda uow, r: uow.requests.get(r.id),
    "get_by number": lambda uow, r: uow.requests.get_by("number", r.number),
    "find": lambda uow, r: uow.requests.find(customer_id=r.customer_id),
}


def desk_on(store: SqlStore, clock: ManualClock) -> tuple[ServiceDesk, UUID, UUID]:
    """A desk on ``store`` with a supervisor, an engineer and a customer: (desk, engineer
    id, customer id)."""
    enroll_first_supervisor(store.unit_of_work, actor_id=SUPERVISOR_ID, name="主管",
                            at=clock.now(), roles=frozenset({Role.SUPERVISOR, Role.CLERK}))
    desk = ServiceDesk(store.unit_of_work, clock=clock, ids=RandomIds(), kinds=store.kinds)
    engineer = desk.register_actor(SUPERVISOR_ID, name="王工程师", roles=[Role.ENGINEER])
    customer = desk.register_customer(SUPERVISOR_ID, name="北京某某科技有限公司")
    return desk, engineer.id, customer.id


@pytest.fixture
def request_(store: SqlStore, clock: ManualClock) -> ServiceRequest:
    """A stored request with three record entries: register, route (note "售后服务部"),
    assign."""
    desk, engineer_id, customer_id = desk_on(store, clock)
    request = desk.register_request(SUPERVISOR_ID, customer_id=customer_id, summary="打印机卡纸")
    desk.route(SUPERVISOR_ID, request.id, department="售后服务部")
    assigned = desk.assign(SUPERVISOR_ID, request.id, engineer_id=engineer_id)
    assert [e.action for e in assigned.record] == ["register", "route", "assign"]
    return assigned


def refused_everywhere(store: SqlStore, request: ServiceRequest, *fragments: str) -> None:
    """Every load of ``request`` raises StorageError naming its table and row (and each of
    ``fragments``)."""
    for how, load in LOADS.items():
        with store.unit_of_work() as uow, pytest.raises(StorageError) as caught:
            load(uow, request)
        message = str(caught.value)
        assert f"{TABLE} {request.id}" in message, (how, message)
        for fragment in fragments:
            assert fragment in message, (how, fragment, message)


def execute(store: SqlStore, statement: sa.Executable) -> None:
    with store.engine.begin() as conn:
        conn.execute(statement)


def untouched_loads(store: SqlStore, request: ServiceRequest) -> None:
    """The untampered request loads (so each refusal below is the tampering's doing)."""
    for load in LOADS.values():
        with store.unit_of_work() as uow:
            load(uow, request)


# --- the record rows -------------------------------------------------------------------------


def _other_value(column: str, row: sa.Row[Any]) -> Any:
    """Another value for ``column`` of the record ``row`` (the digest: one chained to
    nothing, as a forger without the previous digest would compute it)."""
    if column == "at":
        return row.at - timedelta(days=1)
    if column in ("actor_id", "subject_id"):
        return uuid4()
    if column == "note":
        return row.note + "（已改）"
    if column == "digest":
        return entry_digest("", 2, row.at, row.actor_id, row.workflow, row.subject_id,
                            row.action, row.from_state, row.to_state, row.note)
    return {"workflow": "remote", "action": "reject", "from_state": "assigned",
            "to_state": "rejected"}[column]


@pytest.mark.parametrize(
    "column",
    ["actor_id", "at", "action", "note", "workflow", "subject_id", "from_state", "to_state",
     "digest"],
)
def test_r9_an_updated_record_row_is_found_on_every_load(
    store: SqlStore, request_: ServiceRequest, column: str
) -> None:
    """R9: who, when, what, from, to, the note (or the digest itself) of the second entry
    rewritten in place: StorageError naming the row, the record table and entry 2."""
    untouched_loads(store, request_)
    record = store.schema.record(REQUESTS)
    where = (record.c.owner_id == request_.id, record.c.sequence == 2)
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(record).where(*where)).one()
    execute(store, record.update().where(*where).values({column: _other_value(column, row)}))
    refused_everywhere(store, request_, "service_requests_record", "entry 2 (")


@pytest.mark.parametrize(("sequence", "fragment"), [(2, "entry 2 has sequence 3"),
                                                    (3, "end at entry 2")])
def test_r9_a_deleted_record_row_is_found_on_every_load(
    store: SqlStore, request_: ServiceRequest, sequence: int, fragment: str
) -> None:
    """R9: deleting an entry in the middle breaks the chain; deleting the newest one leaves
    a chain that no longer ends at the row's ``record_head``."""
    untouched_loads(store, request_)
    record = store.schema.record(REQUESTS)
    execute(store, record.delete().where(record.c.owner_id == request_.id,
                                         record.c.sequence == sequence))
    refused_everywhere(store, request_, fragment)


@pytest.mark.parametrize("forged", [True, False], ids=["chained", "junk-digest"])
def test_r9_an_inserted_record_row_is_found_on_every_load(
    store: SqlStore, request_: ServiceRequest, forged: bool
) -> None:
    """R9: a fourth entry appended behind the library's back, even one whose digest chains
    correctly onto the third, is refused: the row's ``record_head`` names the third."""
    untouched_loads(store, request_)
    last = request_.record[-1]
    at = last.at + timedelta(minutes=1)
    values: dict[str, Any] = {
        "owner_id": request_.id, "sequence": 4, "at": at,
        "actor_id": last.actor_id, "workflow": "request", "subject_id": request_.id,
        "action": "route", "from_state": "assigned", "to_state": "assigned",
        "note": "悄悄加的",
    }
    digest = entry_digest(last.digest, 4, at, last.actor_id, "request",
                          request_.id, "route", "assigned", "assigned", "悄悄加的")
    values["digest"] = digest if forged else "0" * 64
    execute(store, store.schema.record(REQUESTS).insert().values(values))
    refused_everywhere(store, request_, "end at entry 4" if forged else "entry 4 (route)")


# --- the documents ---------------------------------------------------------------------------


def _set_doc(store: SqlStore, request: ServiceRequest, text: str) -> None:
    table = store.schema.table(REQUESTS)
    execute(store, table.update().where(table.c.id == request.id).values(doc=text))


def _doc(store: SqlStore, request: ServiceRequest) -> dict[str, Any]:
    table = store.schema.table(REQUESTS)
    with store.engine.connect() as conn:
        text = conn.execute(sa.select(table.c.doc).where(table.c.id == request.id)).scalar_one()
    doc: dict[str, Any] = json.loads(text)
    return doc


def test_r9_a_document_whose_state_disagrees_with_its_column_is_found_on_every_load(
    store: SqlStore, request_: ServiceRequest
) -> None:
    """R9: the document UPDATEd to another state than the ``state`` column (which queries
    use) is refused, naming the column."""
    untouched_loads(store, request_)
    _set_doc(store, request_, json.dumps({**_doc(store, request_), "state": "closed"}))
    refused_everywhere(store, request_, "disagrees with column state")


def test_a_document_that_is_not_json_is_found_on_every_load(
    store: SqlStore, request_: ServiceRequest
) -> None:
    """A truncated document (the doc column is text on every engine) is a StorageError."""
    untouched_loads(store, request_)
    _set_doc(store, request_, json.dumps(_doc(store, request_))[:40])
    refused_everywhere(store, request_, "not JSON")


def test_a_document_nested_5000_deep_is_a_storage_error_not_a_recursion_error(
    store: SqlStore, request_: ServiceRequest
) -> None:
    """A document nested 5,000 deep (in a field the document does have) exhausts the
    decoder's recursion: StorageError, never RecursionError."""
    untouched_loads(store, request_)
    doc = {k: v for k, v in _doc(store, request_).items() if k != "summary"}
    deep = json.dumps(doc)[:-1] + ', "summary": ' + "[" * DEEP + "]" * DEEP + "}"
    _set_doc(store, request_, deep)
    refused_everywhere(store, request_, "not JSON")


# --- the outbox ------------------------------------------------------------------------------

POISONS = {
    "not-json": "{oops",
    "not-an-object": "[1, 2]",
    "nested-too-deep": "[" * DEEP + "]" * DEEP,
}


@pytest.mark.parametrize("poison", sorted(POISONS))
def test_a_poison_outbox_payload_is_set_aside_and_the_rest_flows_in_order(
    store: SqlStore, clock: ManualClock, poison: str
) -> None:
    """One payload that does not decode is set aside (``failed()`` lists it with its error,
    ``failed_at`` from the store's clock) and never returned again; its aggregate's later
    events wait behind it; every other row is shipped once, each aggregate's events together
    and in sequence order, although their ``occurred_at`` values were made to tie and to run
    backwards."""
    desk, engineer_id, customer_id = desk_on(store, clock)
    requests = []
    for summary in ("一", "二", "三"):
        request = desk.register_request(SUPERVISOR_ID, customer_id=customer_id, summary=summary)
        desk.route(SUPERVISOR_ID, request.id, department="x")
        requests.append(desk.assign(SUPERVISOR_ID, request.id, engineer_id=engineer_id))
    outbox = store.schema.outbox
    base = requests[0].registered_at
    with store.engine.begin() as conn:
        for request in requests:  # sequence 1 latest, 2 and 3 tied and earlier
            for sequence, shift in ((1, 10), (2, -10), (3, -10)):
                conn.execute(outbox.update().where(
                    outbox.c.aggregate_id == request.id, outbox.c.sequence == sequence,
                ).values(occurred_at=base + timedelta(hours=shift)))
        victim = requests[1]
        conn.execute(outbox.update().where(outbox.c.aggregate_id == victim.id,
                                           outbox.c.sequence == 2)
                     .values(payload=POISONS[poison]))
        poisoned = conn.execute(sa.select(outbox.c.event_id).where(
            outbox.c.aggregate_id == victim.id, outbox.c.sequence == 2)).scalar_one()
    clock.step = timedelta(0)
    now = clock.now()
    relay = store.outbox()
    shipped: list[tuple[UUID, int]] = []
    while batch := relay.pending(limit=2):
        shipped += [(m.aggregate_id, m.sequence) for m in batch]
        assert all(isinstance(m.payload, dict) for m in batch)
        relay.mark_published([m.event_id for m in batch])
    ours = [s for s in shipped if s[0] in {r.id for r in requests}]
    # the victim's sequence 3 waits behind its poisoned sequence 2 (never out of order)
    expected = {(r.id, s) for r in requests for s in (1, 2, 3)} - {(victim.id, 2), (victim.id, 3)}
    assert sorted(ours) == sorted(expected) and len(ours) == len(expected)
    for request in requests:
        mine = [i for i, s in enumerate(ours) if s[0] == request.id]
        assert mine == list(range(mine[0], mine[-1] + 1))  # one aggregate's rows together
        assert [ours[i][1] for i in mine] == sorted(ours[i][1] for i in mine)
    failed = relay.failed()
    assert [event_id for event_id, _ in failed] == [poisoned]
    assert failed[0][1]  # the error is kept
    with store.engine.connect() as conn:
        failed_at = conn.execute(sa.select(outbox.c.failed_at)
                                 .where(outbox.c.event_id == poisoned)).scalar_one()
    assert failed_at == now
    assert relay.pending() == []
    with store.engine.connect() as conn:  # held back, not set aside and not lost
        waiting = conn.execute(sa.select(outbox.c.published_at, outbox.c.failed_at).where(
            outbox.c.aggregate_id == victim.id, outbox.c.sequence == 3)).one()
    assert tuple(waiting) == (None, None)
