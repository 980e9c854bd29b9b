"""The SQL store: units of work, repositories and the outbox over SQLAlchemy Core.

Semantics follow :mod:`aftersales.adapters.memory` exactly: reads return private working
copies, a commit writes every request, repair order, outsourced repair and stock location that
was added or has pending events with an optimistic version check
(``UPDATE ... WHERE version = :expected``), appends only the new R9 record rows, writes the
new catalogue entries, the outbox rows and idempotency keys, all in one transaction, and only
then updates the in-memory objects and hands out the events.
"""

from __future__ import annotations

import threading
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from uuid import UUID

import cattrs
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from aftersales.adapters.sql import schema
from aftersales.adapters.system import SystemClock
from aftersales.domain.events import Event
from aftersales.domain.parts import Part, Stock
from aftersales.domain.records import Customer, Equipment, ServicePlan
from aftersales.domain.repair import (
    DepotState,
    OutsourcedRepair,
    OutsourcedState,
    RepairOrder,
    Vendor,
)
from aftersales.domain.request import RecordEntry, RequestState, ServiceRequest
from aftersales.domain.values import Actor, Priority
from aftersales.errors import ConcurrencyConflict, NotFound, StorageError, ValidationError
from aftersales.ports import Clock, OutboxMessage
from aftersales.serialization import event_to_dict, make_converter

__all__ = ["SqlOutbox", "SqlStore", "SqlUnitOfWork"]

T = TypeVar("T")

_MYSQL_TRANSIENT = {1213: "deadlock", 1205: "lock wait timeout", 1020: "record changed"}
_SQLSTATE_TRANSIENT = {"40001": "serialization failure", "40P01": "deadlock"}


# --- errors --------------------------------------------------------------------------------


def _transient_reason(error: sa_exc.DBAPIError) -> str | None:
    """Why the database aborted the transaction, if a retry may succeed; None otherwise."""
    orig = error.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(code, str) and code in _SQLSTATE_TRANSIENT:
        return f"SQLSTATE {code} ({_SQLSTATE_TRANSIENT[code]})"
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_TRANSIENT:
        return f"MySQL error {args[0]} ({_MYSQL_TRANSIENT[args[0]]})"
    text = str(orig).lower()
    if "database is locked" in text or "database table is locked" in text:
        return "SQLite: database is locked"
    return None


def _aborted(reason: str) -> ConcurrencyConflict:
    conflict = ConcurrencyConflict("transaction", None, 0)
    conflict.args = (f"the database aborted the transaction ({reason}); retry the command",)
    return conflict


@contextmanager
def _database_errors() -> Iterator[None]:
    """Map serialization failures and deadlocks to ConcurrencyConflict (the desk retries)."""
    try:
        yield
    except sa_exc.DBAPIError as error:
        reason = _transient_reason(error)
        if reason is None:
            raise
        raise _aborted(reason) from error


# --- documents -----------------------------------------------------------------------------


class _Codec:
    """The store's private cattrs converter and the document rules."""

    def __init__(self) -> None:
        self.converter = make_converter()

    def dump(self, item: Any, *omit: str) -> dict[str, Any]:
        data: dict[str, Any] = self.converter.unstructure(item)
        for key in omit:
            data.pop(key, None)
        return data

    def load(self, cls: type[T], doc: Any, entity: str, key: Any, **fields: Any) -> T:
        if not isinstance(doc, Mapping):
            raise StorageError(
                f"{entity} {key}: stored document is not a JSON object ({type(doc).__name__})"
            )
        data = {**doc, **fields}
        try:
            return self.converter.structure(data, cls)
        except StorageError as error:
            raise StorageError(f"{entity} {key}: malformed stored document: {error}") from error
        except cattrs.BaseValidationError as error:
            problems = "; ".join(cattrs.transform_error(error))
            raise StorageError(f"{entity} {key}: malformed stored document: {problems}") from error
        except Exception as error:
            raise StorageError(
                f"{entity} {key}: malformed stored document: {type(error).__name__}: {error}"
            ) from error


# --- record repositories ---------------------------------------------------------------------


class _Records(Generic[T]):
    """Shared logic of customers, equipment, plans and actors (like the in-memory one)."""

    entity = "record"
    cls: type[Any]
    table: sa.Table
    owner_column = "customer_id"

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[UUID, T] = {}
        self.loaded_versions: dict[UUID, int] = {}
        self.new: set[UUID] = set()

    @property
    def _versioned(self) -> bool:
        return "version" in self.table.c

    def columns(self, item: T) -> dict[str, Any]:
        raise NotImplementedError

    def _row_to_item(self, row: sa.Row[Any]) -> T:
        fields = {"version": row.version} if self._versioned else {}
        item: T = self._uow.codec.load(self.cls, row.doc, self.entity, row.id, **fields)
        if getattr(item, "id", None) != row.id:
            raise StorageError(f"{self.entity} {row.id}: stored document has another id")
        return item

    def _select(self) -> sa.Select[Any]:
        cols = [self.table.c.id, self.table.c.doc]
        if self._versioned:
            cols.append(self.table.c.version)
        return sa.select(*cols)

    def _exists(self, item_id: UUID) -> bool:
        query = sa.select(self.table.c.id).where(self.table.c.id == item_id)
        return bool(self._uow.query(query))

    def _add(self, item: Any) -> None:
        item_id = item.id
        if item_id in self.staged or (isinstance(item_id, UUID) and self._exists(item_id)):
            raise ValidationError(self.entity, "id", f"{item_id} already exists")
        self.staged[item_id] = item
        self.new.add(item_id)

    def _get(self, item_id: UUID) -> T:
        if item_id in self.staged:
            return self.staged[item_id]
        if not isinstance(item_id, UUID):
            raise NotFound(self.entity, item_id)
        rows = self._uow.query(self._select().where(self.table.c.id == item_id))
        if not rows:
            raise NotFound(self.entity, item_id)
        return self._row_to_item(rows[0])

    def _save(self, item: Any) -> None:
        if item.id not in self.new:
            if not isinstance(item.id, UUID) or not self._exists(item.id):
                raise NotFound(self.entity, item.id)
            self.loaded_versions.setdefault(item.id, item.version)
        self.staged[item.id] = item

    def _of_owner(self, owner_id: UUID) -> list[T]:
        found: list[T] = []
        if isinstance(owner_id, UUID):
            query = (
                self._select()
                .where(self.table.c[self.owner_column] == owner_id)
                .order_by(self.table.c.id)
            )
            for row in self._uow.query(query):
                staged = self.staged.get(row.id)
                if staged is None:
                    found.append(self._row_to_item(row))
                elif self.columns(staged)[self.owner_column] == owner_id:
                    found.append(staged)
        seen = {getattr(item, "id", None) for item in found}
        found.extend(
            item for item_id, item in self.staged.items()
            if item_id not in seen and self.columns(item)[self.owner_column] == owner_id
        )
        return found

    def _write(self, conn: sa.Connection) -> None:
        codec = self._uow.codec
        omit = ("version",) if self._versioned else ()
        for item_id in sorted(self.staged, key=str):
            item: Any = self.staged[item_id]
            values = {**self.columns(item), "doc": codec.dump(item, *omit)}
            if item_id in self.new:
                if self._versioned:
                    values["version"] = item.version
                self._run(conn, self.table.insert().values(id=item_id, **values), item_id)
                continue
            update = self.table.update().where(self.table.c.id == item_id)
            if self._versioned:
                expected = self.loaded_versions.get(item_id, item.version)
                update = update.where(self.table.c.version == expected)
                values["version"] = item.version + 1
            if self._run(conn, update.values(**values), item_id) != 1:
                raise ConcurrencyConflict(self.entity, item_id, item.version)

    def _run(self, conn: sa.Connection, statement: sa.Executable, item_id: UUID) -> int:
        try:
            return conn.execute(statement).rowcount
        except sa_exc.IntegrityError as error:
            if _transient_reason(error) is not None:
                raise
            raise ValidationError(
                self.entity, "id", f"{item_id} (or a unique key of it) already exists"
            ) from error

    def _committed(self) -> None:
        for item_id, item in self.staged.items():
            if self._versioned and item_id not in self.new:
                item.version += 1  # type: ignore[attr-defined]


class _Customers(_Records[Customer]):
    entity = "Customer"
    cls = Customer
    table = schema.customers

    def columns(self, item: Customer) -> dict[str, Any]:
        return {}

    def add(self, customer: Customer) -> None:
        self._add(customer)

    def get(self, customer_id: UUID) -> Customer:
        return self._get(customer_id)

    def save(self, customer: Customer) -> None:
        self._save(customer)


class _Equipment(_Records[Equipment]):
    entity = "Equipment"
    cls = Equipment
    table = schema.equipment

    def columns(self, item: Equipment) -> dict[str, Any]:
        return {"customer_id": item.owner_id, "serial": item.serial, "model": item.model}

    def add(self, equipment: Equipment) -> None:
        self._add(equipment)

    def get(self, equipment_id: UUID) -> Equipment:
        return self._get(equipment_id)

    def save(self, equipment: Equipment) -> None:
        self._save(equipment)

    def of_customer(self, customer_id: UUID) -> list[Equipment]:
        return self._of_owner(customer_id)


class _Plans(_Records[ServicePlan]):
    entity = "ServicePlan"
    cls = ServicePlan
    table = schema.service_plans

    def columns(self, item: ServicePlan) -> dict[str, Any]:
        return {"customer_id": item.customer_id}

    def add(self, plan: ServicePlan) -> None:
        self._add(plan)

    def get(self, plan_id: UUID) -> ServicePlan:
        return self._get(plan_id)

    def of_customer(self, customer_id: UUID) -> list[ServicePlan]:
        return self._of_owner(customer_id)


class _Actors(_Records[Actor]):
    entity = "Actor"
    cls = Actor
    table = schema.actors

    def columns(self, item: Actor) -> dict[str, Any]:
        return {"customer_id": item.customer_id}

    def add(self, actor: Actor) -> None:
        self._add(actor)

    def get(self, actor_id: UUID) -> Actor:
        return self._get(actor_id)


# --- idempotency keys ------------------------------------------------------------------------


class _Keys:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[str, UUID] = {}

    def get(self, key: str) -> UUID | None:
        if key in self.staged:
            return self.staged[key]
        table = schema.idempotency_keys
        query = sa.select(table.c.aggregate_id).where(table.c.key == key)
        rows = self._uow.query(query)
        found: UUID | None = rows[0].aggregate_id if rows else None
        return found

    def put(self, key: str, aggregate_id: UUID) -> None:
        if self.get(key) is not None:
            raise ValidationError("IdempotencyKey", "key", f"{key!r} already used")
        self.staged[key] = aggregate_id

    def _write(self, conn: sa.Connection, now: datetime) -> None:
        for key, aggregate_id in self.staged.items():
            try:
                conn.execute(
                    schema.idempotency_keys.insert().values(
                        key=key, aggregate_id=aggregate_id, created_at=now
                    )
                )
            except sa_exc.IntegrityError as error:
                raise ConcurrencyConflict("IdempotencyKey", key, 0) from error


# --- service requests ------------------------------------------------------------------------

_REQUEST_COLUMNS = (
    schema.service_requests.c.id,
    schema.service_requests.c.number,
    schema.service_requests.c.state,
    schema.service_requests.c.version,
    schema.service_requests.c.doc,
)


class _Requests:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.seen: dict[UUID, ServiceRequest] = {}
        self.new: set[UUID] = set()
        # R9: how many record entries each loaded request had (the rest are new).
        self.loaded_records: dict[UUID, tuple[RecordEntry, ...]] = {}

    def add(self, request: ServiceRequest) -> None:
        table = schema.service_requests
        if request.id in self.seen or (
            isinstance(request.id, UUID)
            and self._uow.query(sa.select(table.c.id).where(table.c.id == request.id))
        ):
            raise ValidationError("ServiceRequest", "id", f"{request.id} already exists")
        if any(r.number == request.number for r in self.seen.values()) or (
            isinstance(request.number, str)
            and self._uow.query(sa.select(table.c.id).where(table.c.number == request.number))
        ):
            raise ValidationError("ServiceRequest", "number", f"{request.number} already exists")
        self.seen[request.id] = request
        self.new.add(request.id)

    def get(self, request_id: UUID) -> ServiceRequest:
        request = self.seen.get(request_id)
        if request is not None:
            return request
        if not isinstance(request_id, UUID):
            raise NotFound("ServiceRequest", request_id)
        loaded = self._load([request_id])
        if not loaded:
            raise NotFound("ServiceRequest", request_id)
        return loaded[0]

    def get_by_number(self, number: str) -> ServiceRequest:
        table = schema.service_requests
        request_id = None
        if isinstance(number, str):
            query = sa.select(table.c.id).where(table.c.number == number)
            rows = self._uow.query(query)
            request_id = rows[0].id if rows else None
        if request_id is None:
            for r in self.seen.values():
                if r.number == number:
                    return r
            raise NotFound("ServiceRequest", number)
        return self.get(request_id)

    def find(
        self,
        *,
        customer_id: UUID | None = None,
        equipment_id: UUID | None = None,
        engineer_id: UUID | None = None,
        states: Iterable[RequestState] | None = None,
        priority: Priority | None = None,
        limit: int | None = None,
    ) -> list[ServiceRequest]:
        wanted = set(states) if states is not None else None

        def matches(request: ServiceRequest) -> bool:
            return not (
                (customer_id is not None and request.customer_id != customer_id)
                or (equipment_id is not None and request.equipment_id != equipment_id)
                or (engineer_id is not None and request.engineer_id != engineer_id)
                or (wanted is not None and request.state not in wanted)
                or (priority is not None and request.priority is not priority)
            )

        table = schema.service_requests
        query = sa.select(table.c.id, table.c.registered_at, table.c.number)
        if customer_id is not None:
            query = query.where(table.c.customer_id == customer_id)
        if equipment_id is not None:
            query = query.where(table.c.equipment_id == equipment_id)
        if engineer_id is not None:
            query = query.where(table.c.engineer_id == engineer_id)
        if wanted is not None:
            query = query.where(table.c.state.in_([str(s) for s in wanted]))
        if priority is not None:
            query = query.where(table.c.priority == int(priority))
        rows = list(self._uow.query(
            query.order_by(table.c.registered_at, table.c.number)
            if limit is None
            # requests already in this unit of work are judged on their working copy
            else query.order_by(table.c.registered_at).limit(max(limit, 0) + len(self.seen))
        ))
        if limit is not None and rows:
            # ties at the cut are ordered by number in Python (code points, any collation)
            rows += self._uow.query(query.where(table.c.registered_at == rows[-1].registered_at))
        candidates: list[tuple[datetime, str, UUID]] = [
            (row.registered_at, row.number, row.id)
            for row in {row.id: row for row in rows}.values()
            if row.id not in self.seen
        ]
        candidates.extend(
            (r.registered_at, r.number, r.id) for r in self.seen.values() if matches(r)
        )
        candidates.sort(key=lambda c: (c[0], c[1]))
        if limit is not None:
            candidates = candidates[: max(limit, 0)]
        self._load([c[2] for c in candidates if c[2] not in self.seen])
        return [self.seen[c[2]] for c in candidates if c[2] in self.seen]

    def _load(self, ids: Sequence[UUID]) -> list[ServiceRequest]:
        """Load ``ids`` (two queries), track them and return them in the order found."""
        if not ids:
            return []
        table, record = schema.service_requests, schema.request_record
        rows = {
            row.id: row
            for row in self._uow.query(sa.select(*_REQUEST_COLUMNS).where(table.c.id.in_(ids)))
        }
        entries: dict[UUID, list[sa.Row[Any]]] = {request_id: [] for request_id in rows}
        if rows:
            query = (
                sa.select(record)
                .where(record.c.request_id.in_(list(rows)))
                .order_by(record.c.request_id, record.c.sequence)
            )
            for entry in self._uow.query(query):
                entries[entry.request_id].append(entry)
        loaded = []
        for request_id in ids:
            row = rows.get(request_id)
            if row is None:
                continue
            request = self._assemble(row, entries[request_id])
            self.seen[request_id] = request
            self.loaded_records[request_id] = tuple(request.record)
            loaded.append(request)
        return loaded

    def _assemble(self, row: sa.Row[Any], entry_rows: list[sa.Row[Any]]) -> ServiceRequest:
        codec = self._uow.codec
        key = row.id
        request = codec.load(ServiceRequest, row.doc, "ServiceRequest", key, version=row.version)
        if request.id != row.id or request.number != row.number or request.state != row.state:
            raise StorageError(
                f"ServiceRequest {key}: stored document disagrees with its row "
                "(id, number or state)"
            )
        record: list[RecordEntry] = []
        for expected, entry in enumerate(entry_rows, start=1):
            if entry.sequence != expected:
                raise StorageError(
                    f"ServiceRequest {key}: R9 record has a gap at entry {expected}"
                )
            try:
                record.append(
                    RecordEntry(
                        sequence=entry.sequence, at=entry.at, actor_id=entry.actor_id,
                        workflow=entry.workflow, subject_id=entry.subject_id,
                        action=entry.action, from_state=entry.from_state,
                        to_state=entry.to_state, note=entry.note,
                    )
                )
            except Exception as error:  # pragma: no cover - columns are typed
                raise StorageError(
                    f"ServiceRequest {key}: malformed R9 record entry {expected}: {error}"
                ) from error
        request.record = record
        return request

    def _write(self, conn: sa.Connection, request: ServiceRequest) -> None:
        codec = self._uow.codec
        table = schema.service_requests
        moments = [e.occurred_at for e in request.pending_events]
        values: dict[str, Any] = {
            "number": request.number,
            "customer_id": request.customer_id,
            "equipment_id": request.equipment_id,
            "state": str(request.state),
            "priority": int(request.priority),
            "engineer_id": request.engineer_id,
            "registered_at": request.registered_at,
            "updated_at": max(moments) if moments else request.registered_at,
            "version": request.version + 1,
            "doc": codec.dump(request, "record", "version"),
        }
        if request.id in self.new:
            old: tuple[RecordEntry, ...] = ()
            try:
                conn.execute(table.insert().values(id=request.id, **values))
            except sa_exc.IntegrityError as error:
                raise ValidationError(
                    "ServiceRequest", "number", f"{request.number} already exists"
                ) from error
        else:
            old = self.loaded_records.get(request.id, ())
            if tuple(request.record[: len(old)]) != old:
                raise ValidationError(
                    "ServiceRequest", "record", "R9: the record is append-only"
                )
            statement = (
                table.update()
                .where(table.c.id == request.id, table.c.version == request.version)
                .values(**values)
            )
            if conn.execute(statement).rowcount != 1:
                raise ConcurrencyConflict("ServiceRequest", request.id, request.version)
        fresh = request.record[len(old):]
        if fresh:
            conn.execute(
                schema.request_record.insert(),
                [
                    {
                        "request_id": request.id, "sequence": e.sequence, "at": e.at,
                        "actor_id": e.actor_id, "workflow": e.workflow,
                        "subject_id": e.subject_id, "action": e.action,
                        "from_state": e.from_state, "to_state": e.to_state, "note": e.note,
                    }
                    for e in fresh
                ],
            )
        if request.pending_events:
            conn.execute(
                schema.outbox.insert(),
                [
                    {
                        "event_id": e.event_id, "aggregate_id": e.request_id,
                        "sequence": e.sequence, "name": e.name, "occurred_at": e.occurred_at,
                        "payload": event_to_dict(e, codec.converter), "published_at": None,
                    }
                    for e in request.pending_events
                ],
            )


# --- repair orders, outsourced repairs, stock (tracked like requests) -------------------------


def _outbox_rows(events: Sequence[Any], codec: _Codec) -> list[dict[str, Any]]:
    return [
        {
            "event_id": e.event_id, "aggregate_id": e.aggregate_id, "sequence": e.sequence,
            "name": e.name, "occurred_at": e.occurred_at,
            "payload": event_to_dict(e, codec.converter), "published_at": None,
        }
        for e in events
    ]


def _record_rows(
    owner: str, owner_id: UUID, entries: Sequence[RecordEntry]
) -> list[dict[str, Any]]:
    return [
        {
            owner: owner_id, "sequence": e.sequence, "at": e.at, "actor_id": e.actor_id,
            "workflow": e.workflow, "subject_id": e.subject_id, "action": e.action,
            "from_state": e.from_state, "to_state": e.to_state, "note": e.note,
        }
        for e in entries
    ]


def _record_entries(entity: str, key: UUID, rows: Sequence[sa.Row[Any]]) -> list[RecordEntry]:
    record: list[RecordEntry] = []
    for expected, entry in enumerate(rows, start=1):
        if entry.sequence != expected:
            raise StorageError(f"{entity} {key}: R9 record has a gap at entry {expected}")
        record.append(
            RecordEntry(
                sequence=entry.sequence, at=entry.at, actor_id=entry.actor_id,
                workflow=entry.workflow, subject_id=entry.subject_id, action=entry.action,
                from_state=entry.from_state, to_state=entry.to_state, note=entry.note,
            )
        )
    return record


class _Tracked:
    """Shared logic of the event-carrying aggregates besides requests (repair orders,
    outsourced repairs, stock), like the in-memory ``_Tracked``: working copies tracked per
    unit of work, unique numbers, version-checked writes, append-only R9 record rows."""

    entity = "aggregate"
    cls: type[Any]
    table: sa.Table
    #: the primary key column (the aggregate's ``id``)
    key = "id"
    #: the R9 record table and its owner column, if the aggregate has a record
    record: sa.Table | None = None
    record_owner = ""
    #: True if the aggregate has a unique ``number``
    numbered = False
    #: row columns that must agree with the stored document
    checked: tuple[str, ...] = ()
    #: the (datetime) column the SQL query orders by; ties are ordered by :meth:`order`
    order_column = ""
    #: the columns :meth:`row_order` reads
    order_columns: tuple[str, ...] = ()

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.seen: dict[UUID, Any] = {}
        self.new: set[UUID] = set()
        # R9: the record each loaded aggregate had (entries past it are new).
        self.loaded_records: dict[UUID, tuple[RecordEntry, ...]] = {}

    # -- to implement --

    def columns(self, item: Any) -> dict[str, Any]:
        """The query columns of ``item`` (not its key, version or document)."""
        return {}

    def created_at(self, item: Any) -> datetime | None:
        """When the aggregate began (``updated_at`` of a row without events)."""
        return None

    def order(self, item: Any) -> tuple[Any, ...]:
        """The sort key of ``find`` (as the in-memory adapter)."""
        raise NotImplementedError

    def row_order(self, row: sa.Row[Any]) -> tuple[Any, ...]:
        """:meth:`order` from a row of the ``order_columns``."""
        raise NotImplementedError

    # -- shared --

    @property
    def _id(self) -> sa.Column[Any]:
        return self.table.c[self.key]

    def _add(self, item: Any) -> None:
        item_id = item.id
        if item_id in self.seen or (
            isinstance(item_id, UUID)
            and self._uow.query(sa.select(self._id).where(self._id == item_id))
        ):
            raise ValidationError(self.entity, "id", f"{item_id} already exists")
        if self.numbered:
            number = item.number
            if any(other.number == number for other in self.seen.values()) or (
                isinstance(number, str)
                and self._uow.query(sa.select(self._id).where(self.table.c.number == number))
            ):
                raise ValidationError(self.entity, "number", f"{number} already exists")
        self.seen[item_id] = item
        self.new.add(item_id)

    def _get(self, item_id: UUID) -> Any:
        item = self.seen.get(item_id)
        if item is not None:
            return item
        if not isinstance(item_id, UUID):
            raise NotFound(self.entity, item_id)
        loaded = self._load([item_id])
        if not loaded:
            raise NotFound(self.entity, item_id)
        return loaded[0]

    def _load(self, ids: Sequence[UUID]) -> list[Any]:
        """Load ``ids`` (two queries), track them and return them in the order given."""
        if not ids:
            return []
        table = self.table
        cols = [self._id, table.c.version, table.c.doc, *(table.c[c] for c in self.checked)]
        rows: dict[UUID, sa.Row[Any]] = {}
        for start in range(0, len(ids), 500):
            query = sa.select(*cols).where(self._id.in_(ids[start:start + 500]))
            rows.update((row[0], row) for row in self._uow.query(query))
        entries: dict[UUID, list[sa.Row[Any]]] = {item_id: [] for item_id in rows}
        record = self.record
        if record is not None and rows:
            owner = record.c[self.record_owner]
            found = list(rows)
            for start in range(0, len(found), 500):
                query = (
                    sa.select(record)
                    .where(owner.in_(found[start:start + 500]))
                    .order_by(owner, record.c.sequence)
                )
                for entry in self._uow.query(query):
                    entries[entry[0]].append(entry)
        loaded = []
        for item_id in ids:
            row = rows.get(item_id)
            if row is None or item_id in self.seen:
                continue
            item = self._assemble(row, entries[item_id])
            self.seen[item_id] = item
            if record is not None:
                self.loaded_records[item_id] = tuple(item.record)
            loaded.append(item)
        return loaded

    def _assemble(self, row: sa.Row[Any], entry_rows: list[sa.Row[Any]]) -> Any:
        key = row[0]
        item = self._uow.codec.load(self.cls, row.doc, self.entity, key, version=row.version)
        if item.id != key or any(
            str(getattr(item, column)) != row._mapping[column] for column in self.checked
        ):
            raise StorageError(
                f"{self.entity} {key}: stored document disagrees with its row "
                f"({', '.join(('id', *self.checked))})"
            )
        if self.record is not None:
            item.record = _record_entries(self.entity, key, entry_rows)
        return item

    def _find(
        self,
        where: Sequence[sa.ColumnElement[bool]],
        keep: typing.Callable[[Any], bool],
        limit: int | None,
    ) -> list[Any]:
        """Rows matching ``where`` (judged in SQL) and tracked items matching ``keep`` (judged
        on their working copy), sorted by :meth:`order`, at most ``limit``."""
        table = self.table
        query = sa.select(self._id, *(table.c[c] for c in self.order_columns)).where(*where)
        if limit is None:
            rows = list(self._uow.query(query))
        else:
            first = table.c[self.order_column]
            # tracked items are judged on their working copy, so fetch that many more
            rows = list(self._uow.query(
                query.order_by(first).limit(max(limit, 0) + len(self.seen))
            ))
            if rows:
                # ties at the cut are ordered in Python (code points, any collation)
                last = rows[-1]._mapping[self.order_column]
                rows += self._uow.query(query.where(first == last))
        candidates: list[tuple[tuple[Any, ...], UUID]] = [
            (self.row_order(row), row[0])
            for row in {row[0]: row for row in rows}.values()
            if row[0] not in self.seen
        ]
        candidates.extend((self.order(i), i.id) for i in self.seen.values() if keep(i))
        candidates.sort(key=lambda c: c[0])
        if limit is not None:
            candidates = candidates[: max(limit, 0)]
        self._load([c[1] for c in candidates if c[1] not in self.seen])
        return [self.seen[c[1]] for c in candidates if c[1] in self.seen]

    def changed(self) -> list[Any]:
        """Tracked aggregates to write: new ones and those with pending events."""
        return [i for i in self.seen.values() if i.pending_events or i.id in self.new]

    def _write(self, conn: sa.Connection, item: Any) -> None:
        codec = self._uow.codec
        table = self.table
        omit = ("record", "version") if self.record is not None else ("version",)
        values: dict[str, Any] = {
            **self.columns(item), "version": item.version + 1, "doc": codec.dump(item, *omit)
        }
        if "updated_at" in table.c:
            moments = [e.occurred_at for e in item.pending_events]
            values["updated_at"] = max(moments) if moments else self.created_at(item)
        old: tuple[RecordEntry, ...] = ()
        if item.id in self.new:
            try:
                conn.execute(table.insert().values({self.key: item.id, **values}))
            except sa_exc.IntegrityError as error:
                if _transient_reason(error) is not None:
                    raise
                field = "number" if self.numbered else "id"
                value = item.number if self.numbered else item.id
                raise ValidationError(self.entity, field, f"{value} already exists") from error
        else:
            if self.record is not None:
                old = self.loaded_records.get(item.id, ())
                if tuple(item.record[: len(old)]) != old:
                    raise ValidationError(self.entity, "record", "R9: the record is append-only")
            statement = (
                table.update()
                .where(self._id == item.id, table.c.version == item.version)
                .values(**values)
            )
            if conn.execute(statement).rowcount != 1:
                raise ConcurrencyConflict(self.entity, item.id, item.version)
        if self.record is not None:
            fresh = item.record[len(old):]
            if fresh:
                conn.execute(self.record.insert(), _record_rows(self.record_owner, item.id, fresh))
        if item.pending_events:
            conn.execute(schema.outbox.insert(), _outbox_rows(item.pending_events, codec))


class _RepairOrders(_Tracked):
    entity = "RepairOrder"
    cls = RepairOrder
    table = schema.repair_orders
    record = schema.repair_record
    record_owner = "order_id"
    numbered = True
    checked = ("number", "state")
    order_column = "received_at"
    order_columns = ("received_at", "number")

    def columns(self, item: RepairOrder) -> dict[str, Any]:
        return {
            "number": item.number, "request_id": item.request_id,
            "equipment_id": item.equipment_id, "customer_id": item.customer_id,
            "state": str(item.state), "received_at": item.received_at,
            "promised_at": item.promised_at,
        }

    def created_at(self, item: RepairOrder) -> datetime:
        return item.received_at

    def order(self, item: RepairOrder) -> tuple[Any, ...]:
        return (item.received_at, item.number)

    def row_order(self, row: sa.Row[Any]) -> tuple[Any, ...]:
        return (row.received_at, row.number)

    def add(self, order: RepairOrder) -> None:
        self._add(order)

    def get(self, order_id: UUID) -> RepairOrder:
        order: RepairOrder = self._get(order_id)
        return order

    def find(
        self,
        *,
        request_id: UUID | None = None,
        equipment_id: UUID | None = None,
        customer_id: UUID | None = None,
        states: Iterable[DepotState] | None = None,
        limit: int | None = None,
    ) -> list[RepairOrder]:
        wanted = set(states) if states is not None else None
        table = self.table
        where: list[sa.ColumnElement[bool]] = []
        if request_id is not None:
            where.append(table.c.request_id == request_id)
        if equipment_id is not None:
            where.append(table.c.equipment_id == equipment_id)
        if customer_id is not None:
            where.append(table.c.customer_id == customer_id)
        if wanted is not None:
            where.append(table.c.state.in_([str(s) for s in wanted]))

        def keep(o: RepairOrder) -> bool:
            return (
                (request_id is None or o.request_id == request_id)
                and (equipment_id is None or o.equipment_id == equipment_id)
                and (customer_id is None or o.customer_id == customer_id)
                and (wanted is None or o.state in wanted)
            )

        found: list[RepairOrder] = self._find(where, keep, limit)
        return found


class _Outsourced(_Tracked):
    entity = "OutsourcedRepair"
    cls = OutsourcedRepair
    table = schema.outsourced_repairs
    record = schema.outsourced_record
    record_owner = "outsourced_id"
    checked = ("state",)
    order_column = "opened_at"
    order_columns = ("opened_at",)

    def columns(self, item: OutsourcedRepair) -> dict[str, Any]:
        return {
            "order_id": item.order_id, "equipment_id": item.equipment_id,
            "state": str(item.state), "opened_at": item.opened_at,
        }

    def created_at(self, item: OutsourcedRepair) -> datetime:
        return item.opened_at

    def order(self, item: OutsourcedRepair) -> tuple[Any, ...]:
        return (item.opened_at, str(item.id))

    def row_order(self, row: sa.Row[Any]) -> tuple[Any, ...]:
        return (row.opened_at, str(row.id))

    def add(self, repair: OutsourcedRepair) -> None:
        self._add(repair)

    def get(self, repair_id: UUID) -> OutsourcedRepair:
        repair: OutsourcedRepair = self._get(repair_id)
        return repair

    def find(
        self,
        *,
        order_id: UUID | None = None,
        equipment_id: UUID | None = None,
        states: Iterable[OutsourcedState] | None = None,
        limit: int | None = None,
    ) -> list[OutsourcedRepair]:
        wanted = set(states) if states is not None else None
        table = self.table
        where: list[sa.ColumnElement[bool]] = []
        if order_id is not None:
            where.append(table.c.order_id == order_id)
        if equipment_id is not None:
            where.append(table.c.equipment_id == equipment_id)
        if wanted is not None:
            where.append(table.c.state.in_([str(s) for s in wanted]))

        def keep(o: OutsourcedRepair) -> bool:
            return (
                (order_id is None or o.order_id == order_id)
                and (equipment_id is None or o.equipment_id == equipment_id)
                and (wanted is None or o.state in wanted)
            )

        found: list[OutsourcedRepair] = self._find(where, keep, limit)
        return found


class _Stock(_Tracked):
    entity = "Stock"
    cls = Stock
    table = schema.stock
    key = "location_id"

    def order(self, item: Stock) -> tuple[Any, ...]:
        return (item.location.name, str(item.id))

    def add(self, stock: Stock) -> None:
        self._add(stock)

    def get(self, location_id: UUID) -> Stock:
        stock: Stock = self._get(location_id)
        return stock

    def all(self) -> list[Stock]:
        ids = [row[0] for row in self._uow.query(sa.select(self._id))]
        self._load([i for i in ids if i not in self.seen])
        return sorted(self.seen.values(), key=self.order)


# --- vendors and parts -----------------------------------------------------------------------


class _Vendors(_Records[Vendor]):
    entity = "Vendor"
    cls = Vendor
    table = schema.vendors

    def columns(self, item: Vendor) -> dict[str, Any]:
        return {}

    def add(self, vendor: Vendor) -> None:
        self._add(vendor)

    def get(self, vendor_id: UUID) -> Vendor:
        return self._get(vendor_id)

    def save(self, vendor: Vendor) -> None:
        self._save(vendor)

    def all(self) -> list[Vendor]:
        found = {row.id: self._row_to_item(row) for row in self._uow.query(self._select())}
        found.update(self.staged)
        return sorted(found.values(), key=lambda v: (v.name, str(v.id)))


class _Parts:
    """R28 the catalogue: insert-only, keyed by SKU."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[str, Part] = {}

    def _row_to_part(self, row: sa.Row[Any]) -> Part:
        part = self._uow.codec.load(Part, row.doc, "Part", row.sku)
        if part.sku != row.sku:
            raise StorageError(f"Part {row.sku}: stored document has another sku")
        return part

    def add(self, part: Part) -> None:
        if not isinstance(part, Part):
            raise ValidationError("Part", "part", "must be a Part")
        table = schema.parts
        if part.sku in self.staged or self._uow.query(
            sa.select(table.c.sku).where(table.c.sku == part.sku)
        ):
            raise ValidationError("Part", "sku", f"{part.sku} already exists")
        self.staged[part.sku] = part

    def get(self, sku: str) -> Part:
        part = self.staged.get(sku) if isinstance(sku, str) else None
        if part is not None:
            return part
        if isinstance(sku, str):
            table = schema.parts
            rows = self._uow.query(sa.select(table.c.sku, table.c.doc).where(table.c.sku == sku))
            if rows:
                return self._row_to_part(rows[0])
        raise NotFound("Part", sku)

    def all(self) -> list[Part]:
        table = schema.parts
        found = {
            row.sku: self._row_to_part(row)
            for row in self._uow.query(sa.select(table.c.sku, table.c.doc))
        }
        found.update(self.staged)
        return sorted(found.values(), key=lambda p: p.sku)

    def _write(self, conn: sa.Connection) -> None:
        codec = self._uow.codec
        for sku in sorted(self.staged):
            try:
                doc = codec.dump(self.staged[sku])
                conn.execute(schema.parts.insert().values(sku=sku, doc=doc))
            except sa_exc.IntegrityError as error:
                if _transient_reason(error) is not None:
                    raise
                raise ValidationError("Part", "sku", f"{sku} already exists") from error


# --- unit of work ----------------------------------------------------------------------------


class SqlUnitOfWork:
    """A unit of work over a :class:`SqlStore`: one database transaction.

    The transaction begins with the first read and ends with :meth:`commit` or
    :meth:`rollback` (or leaving the ``with`` block). Serialization failures and deadlocks
    surface as :class:`~aftersales.errors.ConcurrencyConflict`, so the service desk retries.
    """

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.codec = store.codec
        self._conn: sa.Connection | None = None
        self._committed_events: list[Event] = []
        self._begin()

    def _begin(self) -> None:
        self.customers = _Customers(self)
        self.equipment = _Equipment(self)
        self.plans = _Plans(self)
        self.actors = _Actors(self)
        self.requests = _Requests(self)
        self.repairs = _RepairOrders(self)
        self.outsourced = _Outsourced(self)
        self.stock = _Stock(self)
        self.vendors = _Vendors(self)
        self.parts = _Parts(self)
        self.idempotency = _Keys(self)

    def _connection(self) -> sa.Connection:
        if self._conn is None:
            self._conn = self.store.engine.connect()
        return self._conn

    def query(self, statement: sa.Executable) -> Sequence[sa.Row[Any]]:
        """Every row of ``statement``, read in this unit of work's transaction."""
        conn = self._connection()
        try:
            with _database_errors():
                return conn.execute(statement).all()
        except ValueError as error:  # a stored JSON text that does not parse
            self._discard()
            raise StorageError(f"malformed stored document: {error}") from error
        except BaseException:
            self._discard()
            raise

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.rollback()
            finally:
                conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def commit(self) -> None:
        """Write every staged change, its record rows, outbox rows and keys atomically."""
        requests = self.requests
        changed = [r for r in requests.seen.values() if r.pending_events or r.id in requests.new]
        tracked = [(repo, repo.changed()) for repo in (self.repairs, self.outsourced, self.stock)]
        records: tuple[_Records[Any], ...] = (
            self.customers, self.equipment, self.plans, self.actors, self.vendors
        )
        conn = self._connection()
        try:
            with _database_errors():
                for repo in records:
                    repo._write(conn)
                self.parts._write(conn)
                for request in sorted(changed, key=lambda r: str(r.id)):
                    requests._write(conn, request)
                for aggregates, items in tracked:
                    for item in sorted(items, key=lambda i: str(i.id)):
                        aggregates._write(conn, item)
                self.idempotency._write(conn, self.store.clock.now())
                conn.commit()
        except BaseException:
            self._discard()
            self._begin()
            raise
        self._conn = None
        conn.close()
        events: list[Event] = []
        for aggregate in [*changed, *(item for _, items in tracked for item in items)]:
            aggregate.version += 1
            events.extend(aggregate.pending_events)
            aggregate.pending_events.clear()
        for repo in records:
            repo._committed()
        self._committed_events.extend(events)
        self._begin()

    def rollback(self) -> None:
        """Discard every staged change and end the transaction."""
        self._discard()
        self._begin()

    def collect_new_events(self) -> list[Event]:
        """Events committed by this unit of work since the last call."""
        events, self._committed_events = self._committed_events, []
        return events


# --- outbox ----------------------------------------------------------------------------------


class SqlOutbox:
    """:class:`~aftersales.ports.Outbox` over the ``outbox`` table.

    ``pending`` orders by ``occurred_at``, ``aggregate_id``, ``sequence``; one relay at a time
    should drain it (``mark_published`` is idempotent).
    """

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        """Unpublished messages, oldest first; per aggregate in ``sequence`` order."""
        table = schema.outbox
        query = (
            sa.select(table)
            .where(table.c.published_at.is_(None))
            .order_by(table.c.occurred_at, table.c.aggregate_id, table.c.sequence)
            .limit(max(limit, 0))
        )
        with _database_errors(), self.store.engine.connect() as conn:
            rows = conn.execute(query).all()
        messages = []
        for row in rows:
            if not isinstance(row.payload, dict):
                raise StorageError(f"outbox event {row.event_id}: payload is not a JSON object")
            messages.append(
                OutboxMessage(
                    row.event_id, row.aggregate_id, row.sequence, row.name, row.occurred_at,
                    row.payload,
                )
            )
        return messages

    def mark_published(self, event_ids: Iterable[UUID]) -> None:
        """Never return these events from :meth:`pending` again (idempotent)."""
        ids = list(dict.fromkeys(event_ids))
        if not ids:
            return
        table = schema.outbox
        now = self.store.clock.now()
        with _database_errors(), self.store.engine.begin() as conn:
            for start in range(0, len(ids), 500):
                conn.execute(
                    table.update()
                    .where(table.c.event_id.in_(ids[start:start + 500]))
                    .where(table.c.published_at.is_(None))
                    .values(published_at=now)
                )


# --- store -----------------------------------------------------------------------------------


class SqlStore:
    """The SQL adapter's entry point: units of work and the outbox over ``engine``.

    ::

        engine = create_engine("postgresql+psycopg://...")
        upgrade(engine)  # or store.create_all() in tests
        store = SqlStore(engine)
        desk = ServiceDesk(store.unit_of_work, clock=..., ids=...)

    On first use the store checks that the database is at the schema revision this code
    needs (:data:`~aftersales.adapters.sql.schema.HEAD_REVISION`) and raises
    :class:`~aftersales.errors.StorageError` otherwise. Nothing connects before that.
    """

    def __init__(
        self, engine: sa.Engine, *, clock: Clock | None = None, check_schema: bool = True
    ) -> None:
        self.engine = engine
        self.clock: Clock = clock or SystemClock()
        self.codec = _Codec()
        self._schema_checked = not check_schema
        self._lock = threading.Lock()

    def unit_of_work(self) -> SqlUnitOfWork:
        """A new unit of work (pass ``store.unit_of_work`` as the desk's factory)."""
        self.check_schema()
        return SqlUnitOfWork(self)

    def outbox(self) -> SqlOutbox:
        """The outbox relay API over this store."""
        self.check_schema()
        return SqlOutbox(self)

    def check_schema(self) -> None:
        """StorageError unless the database is at :data:`schema.HEAD_REVISION` (checked once)."""
        if self._schema_checked:
            return
        with self._lock:
            if self._schema_checked:
                return
            from aftersales.adapters.sql.migrate import current_revision

            revision = current_revision(self.engine)
            _judge_revision(revision)
            self._schema_checked = True

    def create_all(self) -> None:
        """Create every table from the declared schema and stamp it at the head revision."""
        from aftersales.adapters.sql.migrate import stamp

        schema.metadata.create_all(self.engine)
        stamp(self.engine, schema.HEAD_REVISION)

    def drop_all(self) -> None:
        """Drop every table, the revision stamp included."""
        schema.metadata.drop_all(self.engine)
        with self.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        self._schema_checked = False


def _judge_revision(revision: str | None) -> None:
    head = schema.HEAD_REVISION
    if revision is None:
        raise StorageError(
            "the database has no aftersales schema (no alembic revision recorded); "
            "run `aftersales db upgrade URL` (or SqlStore.create_all() in tests)"
        )
    if revision == head:
        return
    if revision in schema.REVISIONS:
        raise StorageError(
            f"the database schema is outdated (revision {revision}, this code needs {head}); "
            "run `aftersales db upgrade URL`"
        )
    raise StorageError(
        f"the database schema revision {revision!r} is unknown to this code (needs {head}); "
        "was it migrated by a newer version of aftersales?"
    )



if typing.TYPE_CHECKING:  # the SQL classes satisfy the ports (checked by mypy only)
    from aftersales.ports import Outbox, UnitOfWork

    def _satisfies_ports(store: SqlStore) -> tuple[UnitOfWork, Outbox]:
        return store.unit_of_work(), store.outbox()
