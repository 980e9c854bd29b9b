"""The SQL store: units of work, repositories and the outbox over SQLAlchemy Core.

Semantics follow :mod:`aftersales.adapters.memory` exactly: reads return private working
copies, a commit writes every request, repair order, outsourced repair and stock location that
was added or has pending events with an optimistic version check
(``UPDATE ... WHERE version = :expected``), appends only the new R9 record rows, writes the
new catalogue entries, the outbox rows and idempotency keys, all in one transaction, and only
then updates the in-memory objects and hands out the events.

Performance notes: a unit of work uses one connection; statements are built once and reused
with bind parameters (SQLAlchemy caches their compiled form); loading an aggregate is one
statement (its document carries its R9 record; two correlated subqueries on the record
table's primary key return the row count and newest time the document is checked against);
``find`` reads the rows it returns in the same statement that filters them; documents are
decoded without cattrs' detailed validation (a failing one is decoded again with it, for the
message). Documents written before schema revision 0003 (no ``record`` key) are still read,
their record from the record rows.
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

import attrs
import cattrs
import sqlalchemy as sa
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
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

#: Parsed UUIDs by their text (actor ids and subject ids repeat across documents and loads);
#: bounded, cleared when full.
_UUIDS: dict[str, UUID] = {}
_UUID_CACHE_SIZE = 65_536


def _structure_uuid(value: Any, _: Any) -> UUID:
    if isinstance(value, UUID):
        return value
    found = _UUIDS.get(value)
    if found is None:
        found = UUID(value)
        if len(_UUIDS) >= _UUID_CACHE_SIZE:
            _UUIDS.clear()
        _UUIDS[value] = found
    return found


_ENTRY_FIELDS = frozenset(field.name for field in attrs.fields(RecordEntry))


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} in stored data")
    return value


def _structure_record(value: Any, _: Any) -> list[RecordEntry]:
    """An R9 record from its document form, as cattrs would read it without detailed
    validation but without its per-field dispatch (records are most of a document)."""
    record = []
    uuids = _UUIDS
    for entry in value:
        if not entry.keys() <= _ENTRY_FIELDS:
            raise cattrs.ForbiddenExtraKeysError(
                "", RecordEntry, set(entry.keys() - _ENTRY_FIELDS)
            )
        at = entry["at"]
        actor_id = entry["actor_id"]
        subject_id = entry["subject_id"]
        from_state = entry["from_state"]
        record.append(RecordEntry(
            int(entry["sequence"]),
            at if isinstance(at, datetime) else _aware(datetime.fromisoformat(at)),
            uuids.get(actor_id) or _structure_uuid(actor_id, UUID),
            str(entry["workflow"]),
            uuids.get(subject_id) or _structure_uuid(subject_id, UUID),
            str(entry["action"]),
            None if from_state is None else str(from_state),
            str(entry["to_state"]),
            str(entry.get("note", "")),
        ))
    return record


class _Codec:
    """The store's private cattrs converters and the document rules.

    Documents are read with a converter built once without cattrs' detailed validation (and
    with cached UUID parsing); only a document that fails to read is read again with the
    detailed converter, for a precise error message. Aggregates are written with unstructure
    functions generated once per class that leave out the version (a column) and the R9
    record (written from the entries already encoded plus the new ones).
    """

    def __init__(self) -> None:
        self.converter = make_converter()  # detailed validation: error messages, events
        fast = make_converter()
        fast.detailed_validation = False
        fast.register_structure_hook(UUID, _structure_uuid)
        fast.register_structure_hook_func(
            lambda cls: cls == list[RecordEntry], _structure_record
        )
        fast.register_structure_hook(
            ServiceRequest,
            make_dict_structure_fn(
                ServiceRequest, fast, pending_events=override(omit=True),
                _cattrs_forbid_extra_keys=True, _cattrs_detailed_validation=False,
            ),
        )
        self._fast = fast
        self._dumpers: dict[type[Any], typing.Callable[[Any], dict[str, Any]]] = {}
        self.entry_to_dict: typing.Callable[[RecordEntry], dict[str, Any]] = (
            self.converter.get_unstructure_hook(RecordEntry)
        )

    def _dumper(self, cls: type[Any]) -> typing.Callable[[Any], dict[str, Any]]:
        dumper = self._dumpers.get(cls)
        if dumper is None:
            names = attrs.fields_dict(cls)
            omit: dict[str, Any] = {
                name: override(omit=True)
                for name in ("version", "record", "pending_events") if name in names
            }
            dumper = make_dict_unstructure_fn(cls, self.converter, **omit)
            self._dumpers[cls] = dumper
        return dumper

    def dump(self, item: Any, *omit: str) -> dict[str, Any]:
        data: dict[str, Any] = self.converter.unstructure(item)
        for key in omit:
            data.pop(key, None)
        return data

    def dump_aggregate(
        self, item: Any, record: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        """The document of an attrs aggregate: every field but its version, with ``record``
        (the encoded R9 entries) if the aggregate has one."""
        data = self._dumper(type(item))(item)
        if record is not None:
            data["record"] = record
        return data

    def load(self, cls: type[T], doc: Any, entity: str, key: Any, **fields: Any) -> T:
        if not isinstance(doc, Mapping):
            raise StorageError(
                f"{entity} {key}: stored document is not a JSON object ({type(doc).__name__})"
            )
        data = {**doc, **fields}
        try:
            return self._fast.structure(data, cls)
        except Exception as error:
            fast_error = error
        try:  # read again with detailed validation, for the message
            self.converter.structure(data, cls)
        except StorageError as error:
            raise StorageError(f"{entity} {key}: malformed stored document: {error}") from error
        except cattrs.BaseValidationError as error:
            problems = "; ".join(cattrs.transform_error(error))
            raise StorageError(f"{entity} {key}: malformed stored document: {problems}") from error
        except Exception as error:
            fast_error = error
        raise StorageError(
            f"{entity} {key}: malformed stored document: "
            f"{type(fast_error).__name__}: {fast_error}"
        ) from fast_error


def _check_record(
    entity: str, key: Any, record: Sequence[RecordEntry], stored_rows: Any, last_at: Any
) -> None:
    """R9: the record in the document runs 1..n without gaps, and the append-only record
    table holds as many rows for the aggregate, the newest at the same time."""
    for expected, entry in enumerate(record, start=1):
        if entry.sequence != expected:
            raise StorageError(f"{entity} {key}: R9 record has a gap at entry {expected}")
    if stored_rows != len(record):
        raise StorageError(
            f"{entity} {key}: R9 record has a gap: the record table holds {stored_rows} "
            f"entries, the document {len(record)}"
        )
    if record and last_at != max(entry.at for entry in record):
        raise StorageError(
            f"{entity} {key}: R9 record rows disagree with the document (newest entry at "
            f"{last_at}, the document says {max(entry.at for entry in record)})"
        )


def _record_digest(record: sa.Table, owner: sa.ColumnElement[Any]) -> list[sa.Label[Any]]:
    """Two correlated scalar subqueries (index range scans on the record's primary key):
    how many record rows the aggregate ``owner`` has and when the newest was written."""
    owner_column = record.c[record.primary_key.columns.keys()[0]]
    return [
        sa.select(sa.func.count()).where(owner_column == owner)
        .scalar_subquery().label("record_rows"),
        sa.select(sa.func.max(record.c.at)).where(owner_column == owner)
        .scalar_subquery().label("record_last_at"),
    ]


def _rows_record(
    uow: SqlUnitOfWork, record: sa.Table, entity: str, key: UUID
) -> list[RecordEntry]:
    """The R9 record of ``key`` read from its rows: for documents written before revision
    0003 (or by older code), which do not carry their record. A gap raises StorageError."""
    owner = record.c[record.primary_key.columns.keys()[0]]
    query = _statement(
        record, "of_owner",
        lambda: sa.select(record).where(owner == sa.bindparam("owner"))
        .order_by(record.c.sequence),
    )
    entries: list[RecordEntry] = []
    for expected, row in enumerate(uow.query(query, {"owner": key}), start=1):
        if row.sequence != expected:
            raise StorageError(f"{entity} {key}: R9 record has a gap at entry {expected}")
        entries.append(RecordEntry(
            sequence=row.sequence, at=row.at, actor_id=row.actor_id, workflow=row.workflow,
            subject_id=row.subject_id, action=row.action, from_state=row.from_state,
            to_state=row.to_state, note=row.note,
        ))
    return entries


def _chunks(ids: Sequence[UUID], size: int = 1000) -> Iterator[Sequence[UUID]]:
    """``ids`` in slices small enough for any engine's bind parameter limit."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


# --- record repositories ---------------------------------------------------------------------


#: Statements built once and reused with bind parameters (SQLAlchemy caches their
#: compiled form per engine), by (table, purpose).
_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(table: sa.Table, purpose: str, build: typing.Callable[[], T]) -> T:
    key = (table.name, purpose)
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = build()
    return found


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
        table = self.table
        query = _statement(
            table, "exists",
            lambda: sa.select(table.c.id).where(table.c.id == sa.bindparam("id")),
        )
        return bool(self._uow.query(query, {"id": item_id}))

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
        table = self.table
        query = _statement(
            table, "get", lambda: self._select().where(table.c.id == sa.bindparam("id"))
        )
        rows = self._uow.query(query, {"id": item_id})
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
            table = self.table
            query = _statement(
                table, "of_owner",
                lambda: self._select()
                .where(table.c[self.owner_column] == sa.bindparam("owner"))
                .order_by(table.c.id),
            )
            for row in self._uow.query(query, {"owner": owner_id}):
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
        if not self.staged:
            return
        codec = self._uow.codec
        omit = ("version",) if self._versioned else ()
        table = self.table
        for item_id in sorted(self.staged, key=str):
            item: Any = self.staged[item_id]
            values = {**self.columns(item), "doc": codec.dump(item, *omit)}
            if item_id in self.new:
                if self._versioned:
                    values["version"] = item.version
                self._run(
                    conn, _statement(table, "insert", table.insert), {"id": item_id, **values},
                    item_id,
                )
                continue
            if self._versioned:
                values["version"] = item.version + 1
                expected = self.loaded_versions.get(item_id, item.version)
                names = tuple(values)
                update = _statement(
                    table, f"update:{','.join(names)}",
                    lambda names=names: table.update()  # type: ignore[misc]
                    .where(table.c.id == sa.bindparam("b_id"),
                           table.c.version == sa.bindparam("b_version"))
                    .values({name: sa.bindparam(f"v_{name}") for name in names}),
                )
                params = {f"v_{k}": v for k, v in values.items()}
                params.update(b_id=item_id, b_version=expected)
            else:
                names = tuple(values)
                update = _statement(
                    table, f"update:{','.join(names)}",
                    lambda names=names: table.update()  # type: ignore[misc]
                    .where(table.c.id == sa.bindparam("b_id"))
                    .values({name: sa.bindparam(f"v_{name}") for name in names}),
                )
                params = {f"v_{k}": v for k, v in values.items()}
                params["b_id"] = item_id
            if self._run(conn, update, params, item_id) != 1:
                raise ConcurrencyConflict(self.entity, item_id, item.version)

    def _run(
        self, conn: sa.Connection, statement: sa.Executable, params: dict[str, Any],
        item_id: UUID,
    ) -> int:
        try:
            return conn.execute(statement, params).rowcount
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


_KEYS = schema.idempotency_keys
_KEY_GET = sa.select(_KEYS.c.aggregate_id).where(_KEYS.c.key == sa.bindparam("key"))
_KEY_INSERT = _KEYS.insert()
_OUTBOX_INSERT = schema.outbox.insert()


class _Keys:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.staged: dict[str, UUID] = {}

    def get(self, key: str) -> UUID | None:
        if key in self.staged:
            return self.staged[key]
        rows = self._uow.query(_KEY_GET, {"key": key})
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
                    _KEY_INSERT, {"key": key, "aggregate_id": aggregate_id, "created_at": now}
                )
            except sa_exc.IntegrityError as error:
                raise ConcurrencyConflict("IdempotencyKey", key, 0) from error


# --- service requests ------------------------------------------------------------------------

_REQUESTS = schema.service_requests
#: What loading a request reads, in one statement: the row, its document (the aggregate
#: with its R9 record) and the digest of its rows in ``request_record``.
_REQUEST_COLUMNS = (
    _REQUESTS.c.id,
    _REQUESTS.c.number,
    _REQUESTS.c.state,
    _REQUESTS.c.version,
    _REQUESTS.c.registered_at,
    _REQUESTS.c.doc,
    *_record_digest(schema.request_record, _REQUESTS.c.id),
)
_REQUEST_BY_ID = sa.select(*_REQUEST_COLUMNS).where(_REQUESTS.c.id == sa.bindparam("id"))
_REQUESTS_BY_IDS = sa.select(*_REQUEST_COLUMNS).where(
    _REQUESTS.c.id.in_(sa.bindparam("ids", expanding=True))
)
_REQUEST_BY_NUMBER = sa.select(*_REQUEST_COLUMNS).where(
    _REQUESTS.c.number == sa.bindparam("number")
)
_REQUEST_TAKEN = sa.select(_REQUESTS.c.id, _REQUESTS.c.number).where(
    sa.or_(_REQUESTS.c.id == sa.bindparam("id"), _REQUESTS.c.number == sa.bindparam("number"))
)
_REQUEST_INSERT = _REQUESTS.insert()
_REQUEST_VALUES = (
    "number", "customer_id", "equipment_id", "state", "priority", "engineer_id",
    "registered_at", "updated_at", "version", "doc",
)
_REQUEST_UPDATE = (
    _REQUESTS.update()
    .where(_REQUESTS.c.id == sa.bindparam("b_id"),
           _REQUESTS.c.version == sa.bindparam("b_version"))
    .values({name: sa.bindparam(f"v_{name}") for name in _REQUEST_VALUES})
)
_REQUEST_RECORD_INSERT = schema.request_record.insert()
#: find(): which filters are given -> its statement (built once per combination)
_REQUEST_FINDS: dict[tuple[bool, ...], tuple[sa.Select[Any], sa.Select[Any]]] = {}


def _request_find(filters: tuple[bool, ...]) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The find statement for the given filters (customer, equipment, engineer, states,
    priority): unlimited (no ORDER BY; sorted in Python) and limited (ORDER BY
    registered_at LIMIT :limit; the (state, priority, registered_at, number) and
    (customer_id, state) indexes serve it); the ties query adds ``registered_at = :at``."""
    found = _REQUEST_FINDS.get(filters)
    if found is not None:
        return found
    table = _REQUESTS
    customer, equipment, engineer, states, priority = filters
    query = sa.select(*_REQUEST_COLUMNS)
    if customer:
        query = query.where(table.c.customer_id == sa.bindparam("customer_id"))
    if equipment:
        query = query.where(table.c.equipment_id == sa.bindparam("equipment_id"))
    if engineer:
        query = query.where(table.c.engineer_id == sa.bindparam("engineer_id"))
    if states:
        query = query.where(table.c.state.in_(sa.bindparam("states", expanding=True)))
    if priority:
        query = query.where(table.c.priority == sa.bindparam("priority"))
    limited = query.order_by(table.c.registered_at).limit(sa.bindparam("limit"))
    found = _REQUEST_FINDS[filters] = (query, limited)
    return found


#: the ties query of each (cached, never freed) find statement, by its id()
_TIES: dict[int, sa.Select[Any]] = {}


def _first_rows(
    uow: SqlUnitOfWork, query: sa.Select[Any], limited: sa.Select[Any], column: sa.Column[Any],
    params: dict[str, Any], count: int,
) -> list[sa.Row[Any]]:
    """The first ``count`` rows of ``limited`` (ordered by ``column`` only) plus every row
    tied with the last of them on ``column`` (ordered in Python, code points in any
    collation). One statement unless a tie straddles the cut."""
    rows = list(uow.query(limited, {**params, "limit": count + 1}))
    if len(rows) <= count:
        return rows
    cut = rows[count - 1]._mapping[column.key]
    if rows[count]._mapping[column.key] != cut:
        return rows[:count]
    ties = _TIES.get(id(query))
    if ties is None:
        ties = _TIES[id(query)] = query.where(column == sa.bindparam("tie"))
    by_key = {row[0]: row for row in rows[:count]}
    by_key.update((row[0], row) for row in uow.query(ties, {**params, "tie": cut}))
    return list(by_key.values())


def _keep_record(
    old: tuple[RecordEntry, ...], record: Sequence[RecordEntry]
) -> bool:
    """True if ``record`` starts with ``old`` (R9: the record is append-only)."""
    if len(record) < len(old):
        return False
    return all(a is b or a == b for a, b in zip(old, record, strict=False))


class _Requests:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.seen: dict[UUID, ServiceRequest] = {}
        self.new: set[UUID] = set()
        # R9: the record each loaded request had (entries past it are new) and its entries
        # as stored in the document (rewritten as they are).
        self.loaded_records: dict[UUID, tuple[RecordEntry, ...]] = {}
        self.loaded_docs: dict[UUID, list[dict[str, Any]]] = {}

    def add(self, request: ServiceRequest) -> None:
        if request.id in self.seen:
            raise ValidationError("ServiceRequest", "id", f"{request.id} already exists")
        number = request.number
        taken: Sequence[sa.Row[Any]] = ()
        if isinstance(request.id, UUID) or isinstance(number, str):
            taken = self._uow.query(_REQUEST_TAKEN, {
                "id": request.id if isinstance(request.id, UUID) else None,
                "number": number if isinstance(number, str) else None,
            })
        if any(row.id == request.id for row in taken):
            raise ValidationError("ServiceRequest", "id", f"{request.id} already exists")
        if taken or any(r.number == number for r in self.seen.values()):
            raise ValidationError("ServiceRequest", "number", f"{number} already exists")
        self.seen[request.id] = request
        self.new.add(request.id)

    def get(self, request_id: UUID) -> ServiceRequest:
        request = self.seen.get(request_id)
        if request is not None:
            return request
        if not isinstance(request_id, UUID):
            raise NotFound("ServiceRequest", request_id)
        rows = self._uow.query(_REQUEST_BY_ID, {"id": request_id})
        if not rows:
            raise NotFound("ServiceRequest", request_id)
        return self._track(rows[0])

    def get_by_number(self, number: str) -> ServiceRequest:
        for r in self.seen.values():
            if r.number == number:
                return r
        if isinstance(number, str):
            rows = self._uow.query(_REQUEST_BY_NUMBER, {"number": number})
            if rows:
                return self.seen.get(rows[0].id) or self._track(rows[0])
        raise NotFound("ServiceRequest", number)

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

        if limit is not None and limit <= 0:
            return []
        query, limited = _request_find((
            customer_id is not None, equipment_id is not None, engineer_id is not None,
            wanted is not None, priority is not None,
        ))
        params: dict[str, Any] = {
            "customer_id": customer_id, "equipment_id": equipment_id,
            "engineer_id": engineer_id, "priority": None if priority is None else int(priority),
        }
        if wanted is not None:
            params["states"] = sorted(str(s) for s in wanted)
        if limit is None:
            rows = list(self._uow.query(query, params))
        elif (
            wanted is not None and len(wanted) > 1
            and self._uow.store.engine.dialect.name == "sqlite"
        ):
            # SQLite cannot merge the index-ordered runs of several states (it would rather
            # scan the registered_at index): one statement per state, merged below
            rows = []
            for state in params["states"]:
                rows += _first_rows(
                    self._uow, query, limited, _REQUESTS.c.registered_at,
                    {**params, "states": [state]}, limit + len(self.seen),
                )
        else:
            # requests already in this unit of work are judged on their working copy
            rows = _first_rows(
                self._uow, query, limited, _REQUESTS.c.registered_at, params,
                limit + len(self.seen),
            )
        seen = self.seen
        candidates: list[tuple[datetime, str, UUID, sa.Row[Any] | None]] = [
            (row.registered_at, row.number, row.id, row) for row in rows if row.id not in seen
        ]
        candidates.extend(
            (r.registered_at, r.number, r.id, None) for r in seen.values() if matches(r)
        )
        candidates.sort(key=lambda c: (c[0], c[1]))
        if limit is not None:
            candidates = candidates[:limit]
        return [seen[c[2]] if c[3] is None else self._track(c[3]) for c in candidates]

    def _load(self, ids: Sequence[UUID]) -> list[ServiceRequest]:
        """Load ``ids`` (one statement per thousand), track them, return them in order."""
        rows: dict[UUID, sa.Row[Any]] = {}
        for chunk in _chunks(ids):
            rows.update((row.id, row) for row in self._uow.query(
                _REQUESTS_BY_IDS, {"ids": list(chunk)}
            ))
        return [self._track(rows[i]) for i in ids if i in rows and i not in self.seen]

    def _track(self, row: sa.Row[Any]) -> ServiceRequest:
        request = self._assemble(row)
        self.seen[row.id] = request
        self.loaded_records[row.id] = tuple(request.record)
        stored = row.doc.get("record")
        self.loaded_docs[row.id] = (
            list(stored) if stored is not None
            else [self._uow.codec.entry_to_dict(e) for e in request.record]
        )
        return request

    def _assemble(self, row: sa.Row[Any]) -> ServiceRequest:
        key = row.id
        request = self._uow.codec.load(
            ServiceRequest, row.doc, "ServiceRequest", key, version=row.version
        )
        if request.id != row.id or request.number != row.number or request.state != row.state:
            raise StorageError(
                f"ServiceRequest {key}: stored document disagrees with its row "
                "(id, number or state)"
            )
        if "record" in row.doc:
            _check_record("ServiceRequest", key, request.record, row.record_rows,
                          row.record_last_at)
        else:  # written before revision 0003
            request.record = _rows_record(
                self._uow, schema.request_record, "ServiceRequest", key
            )
        return request

    def _write(self, conn: sa.Connection, request: ServiceRequest) -> None:
        codec = self._uow.codec
        moments = [e.occurred_at for e in request.pending_events]
        request_id = request.id
        record = request.record
        if request_id in self.new:
            old: tuple[RecordEntry, ...] = ()
            encoded: list[dict[str, Any]] = []
        else:
            old = self.loaded_records.get(request_id, ())
            if not _keep_record(old, record):
                raise ValidationError(
                    "ServiceRequest", "record", "R9: the record is append-only"
                )
            encoded = self.loaded_docs.get(request_id, [])
        fresh = record[len(old):]
        entry_to_dict = codec.entry_to_dict
        doc_record = [*encoded, *(entry_to_dict(e) for e in fresh)]
        values: dict[str, Any] = {
            "v_number": request.number,
            "v_customer_id": request.customer_id,
            "v_equipment_id": request.equipment_id,
            "v_state": str(request.state),
            "v_priority": int(request.priority),
            "v_engineer_id": request.engineer_id,
            "v_registered_at": request.registered_at,
            "v_updated_at": max(moments) if moments else request.registered_at,
            "v_version": request.version + 1,
            "v_doc": codec.dump_aggregate(request, doc_record),
        }
        if request_id in self.new:
            try:
                conn.execute(
                    _REQUEST_INSERT, {"id": request_id, **{k[2:]: v for k, v in values.items()}}
                )
            except sa_exc.IntegrityError as error:
                if _transient_reason(error) is not None:
                    raise
                raise ValidationError(
                    "ServiceRequest", "number", f"{request.number} already exists"
                ) from error
        else:
            values["b_id"] = request_id
            values["b_version"] = request.version
            if conn.execute(_REQUEST_UPDATE, values).rowcount != 1:
                raise ConcurrencyConflict("ServiceRequest", request_id, request.version)
        if fresh:
            conn.execute(_REQUEST_RECORD_INSERT, _record_rows("request_id", request_id, fresh))
        if request.pending_events:
            conn.execute(_OUTBOX_INSERT, [
                {
                    "event_id": e.event_id, "aggregate_id": e.request_id,
                    "sequence": e.sequence, "name": e.name, "occurred_at": e.occurred_at,
                    "payload": event_to_dict(e, codec.converter), "published_at": None,
                }
                for e in request.pending_events
            ])


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


class _Tracked:
    """Shared logic of the event-carrying aggregates besides requests (repair orders,
    outsourced repairs, stock), like the in-memory ``_Tracked``: working copies tracked per
    unit of work, unique numbers, version-checked writes, the R9 record in the document and
    in append-only record rows."""

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
        # R9: the record each loaded aggregate had (entries past it are new) and its
        # entries as stored in the document.
        self.loaded_records: dict[UUID, tuple[RecordEntry, ...]] = {}
        self.loaded_docs: dict[UUID, list[dict[str, Any]]] = {}

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

    def _select(self) -> sa.Select[Any]:
        """Everything loading reads, in one statement: key, version, document, the checked
        and ordering columns and the digest of the record rows."""
        table = self.table
        names = dict.fromkeys((*self.checked, *self.order_columns))
        cols: list[Any] = [self._id, table.c.version, table.c.doc, *(table.c[c] for c in names)]
        if self.record is not None:
            cols.extend(_record_digest(self.record, self._id))
        return sa.select(*cols)

    def _add(self, item: Any) -> None:
        item_id = item.id
        table = self.table
        if item_id in self.seen or (
            isinstance(item_id, UUID)
            and self._uow.query(_statement(
                table, "exists", lambda: sa.select(self._id).where(self._id == sa.bindparam("id"))
            ), {"id": item_id})
        ):
            raise ValidationError(self.entity, "id", f"{item_id} already exists")
        if self.numbered:
            number = item.number
            if any(other.number == number for other in self.seen.values()) or (
                isinstance(number, str)
                and self._uow.query(_statement(
                    table, "number",
                    lambda: sa.select(self._id).where(table.c.number == sa.bindparam("number")),
                ), {"number": number})
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
        query = _statement(
            self.table, "get", lambda: self._select().where(self._id == sa.bindparam("id"))
        )
        rows = self._uow.query(query, {"id": item_id})
        if not rows:
            raise NotFound(self.entity, item_id)
        return self._track(rows[0])

    def _all(self) -> list[Any]:
        """Every stored aggregate (tracked ones as their working copy), unordered."""
        for row in self._uow.query(_statement(self.table, "all", self._select)):
            if row[0] not in self.seen:
                self._track(row)
        return list(self.seen.values())

    def _track(self, row: sa.Row[Any]) -> Any:
        item = self._assemble(row)
        self.seen[row[0]] = item
        if self.record is not None:
            self.loaded_records[row[0]] = tuple(item.record)
            stored = row.doc.get("record")
            self.loaded_docs[row[0]] = (
                list(stored) if stored is not None
                else [self._uow.codec.entry_to_dict(e) for e in item.record]
            )
        return item

    def _assemble(self, row: sa.Row[Any]) -> Any:
        key = row[0]
        item = self._uow.codec.load(self.cls, row.doc, self.entity, key, version=row.version)
        if item.id != key or any(
            str(getattr(item, column)) != row._mapping[column] for column in self.checked
        ):
            raise StorageError(
                f"{self.entity} {key}: stored document disagrees with its row "
                f"({', '.join(('id', *self.checked))})"
            )
        if self.record is None:
            return item
        if "record" in row.doc:
            _check_record(self.entity, key, item.record, row.record_rows, row.record_last_at)
        else:  # written before revision 0003
            item.record = _rows_record(self._uow, self.record, self.entity, key)
        return item

    def _find(
        self,
        where: Sequence[tuple[str, Any]],
        keep: typing.Callable[[Any], bool],
        limit: int | None,
    ) -> list[Any]:
        """Rows matching ``where`` (``(column, value)`` pairs judged in SQL; a set value
        means ``IN``) and tracked items matching ``keep`` (judged on their working copy),
        sorted by :meth:`order`, at most ``limit``."""
        if limit is not None and limit <= 0:
            return []
        table = self.table
        shape = ",".join(f"{c}{'[]' if isinstance(v, set) else ''}" for c, v in where)

        def build() -> tuple[sa.Select[Any], sa.Select[Any]]:
            query = self._select()
            for column, value in where:
                if isinstance(value, set):
                    query = query.where(table.c[column].in_(sa.bindparam(column, expanding=True)))
                else:
                    query = query.where(table.c[column] == sa.bindparam(column))
            first = table.c[self.order_column]
            return query, query.order_by(first).limit(sa.bindparam("limit"))

        query, limited = _statement(table, f"find:{shape}", build)
        params = {c: sorted(v) if isinstance(v, set) else v for c, v in where}
        if limit is None:
            rows = list(self._uow.query(query, params))
        else:
            # tracked items are judged on their working copy, so fetch that many more
            rows = _first_rows(
                self._uow, query, limited, table.c[self.order_column], params,
                limit + len(self.seen),
            )
        candidates: list[tuple[tuple[Any, ...], UUID, sa.Row[Any] | None]] = [
            (self.row_order(row), row[0], row) for row in rows if row[0] not in self.seen
        ]
        candidates.extend((self.order(i), i.id, None) for i in self.seen.values() if keep(i))
        candidates.sort(key=lambda c: c[0])
        if limit is not None:
            candidates = candidates[:limit]
        return [self.seen[c[1]] if c[2] is None else self._track(c[2]) for c in candidates]

    def changed(self) -> list[Any]:
        """Tracked aggregates to write: new ones and those with pending events."""
        return [i for i in self.seen.values() if i.pending_events or i.id in self.new]

    def _write(self, conn: sa.Connection, item: Any) -> None:
        codec = self._uow.codec
        table = self.table
        old: tuple[RecordEntry, ...] = ()
        doc_record: list[dict[str, Any]] | None = None
        fresh: Sequence[RecordEntry] = ()
        if self.record is not None:
            encoded: list[dict[str, Any]] = []
            if item.id not in self.new:
                old = self.loaded_records.get(item.id, ())
                if not _keep_record(old, item.record):
                    raise ValidationError(self.entity, "record", "R9: the record is append-only")
                encoded = self.loaded_docs.get(item.id, [])
            fresh = item.record[len(old):]
            doc_record = [*encoded, *(codec.entry_to_dict(e) for e in fresh)]
        values: dict[str, Any] = {
            **self.columns(item), "version": item.version + 1,
            "doc": codec.dump_aggregate(item, doc_record),
        }
        if "updated_at" in table.c:
            moments = [e.occurred_at for e in item.pending_events]
            values["updated_at"] = max(moments) if moments else self.created_at(item)
        if item.id in self.new:
            try:
                conn.execute(
                    _statement(table, "insert", table.insert), {self.key: item.id, **values}
                )
            except sa_exc.IntegrityError as error:
                if _transient_reason(error) is not None:
                    raise
                field = "number" if self.numbered else "id"
                value = item.number if self.numbered else item.id
                raise ValidationError(self.entity, field, f"{value} already exists") from error
        else:
            statement = _statement(
                table, "update",
                lambda: table.update()
                .where(self._id == sa.bindparam("b_id"),
                       table.c.version == sa.bindparam("b_version"))
                .values({name: sa.bindparam(f"v_{name}") for name in values}),
            )
            params = {f"v_{name}": value for name, value in values.items()}
            params.update(b_id=item.id, b_version=item.version)
            if conn.execute(statement, params).rowcount != 1:
                raise ConcurrencyConflict(self.entity, item.id, item.version)
        if self.record is not None and fresh:
            conn.execute(
                _statement(self.record, "insert", self.record.insert),
                _record_rows(self.record_owner, item.id, fresh),
            )
        if item.pending_events:
            conn.execute(_OUTBOX_INSERT, _outbox_rows(item.pending_events, codec))


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
        where: list[tuple[str, Any]] = []
        if request_id is not None:
            where.append(("request_id", request_id))
        if equipment_id is not None:
            where.append(("equipment_id", equipment_id))
        if customer_id is not None:
            where.append(("customer_id", customer_id))
        if wanted is not None:
            where.append(("state", {str(s) for s in wanted}))

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
        where: list[tuple[str, Any]] = []
        if order_id is not None:
            where.append(("order_id", order_id))
        if equipment_id is not None:
            where.append(("equipment_id", equipment_id))
        if wanted is not None:
            where.append(("state", {str(s) for s in wanted}))

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
        return sorted(self._all(), key=self.order)


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


_R = TypeVar("_R")


class SqlUnitOfWork:
    """A unit of work over a :class:`SqlStore`: one database transaction on one connection.

    The transaction begins with the first read and ends with :meth:`commit` or
    :meth:`rollback` (or leaving the ``with`` block). Serialization failures and deadlocks
    surface as :class:`~aftersales.errors.ConcurrencyConflict`, so the service desk retries.
    Repositories are made on first use.
    """

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.codec = store.codec
        self._conn: sa.Connection | None = None
        self._committed_events: list[Event] = []
        self._repos: dict[str, Any] = {}

    def _begin(self) -> None:
        if self._repos:
            self._repos = {}

    def _repo(self, name: str, factory: typing.Callable[[SqlUnitOfWork], _R]) -> _R:
        repo = self._repos.get(name)
        if repo is None:
            repo = self._repos[name] = factory(self)
        return repo

    @property
    def customers(self) -> _Customers:
        return self._repo("customers", _Customers)

    @property
    def equipment(self) -> _Equipment:
        return self._repo("equipment", _Equipment)

    @property
    def plans(self) -> _Plans:
        return self._repo("plans", _Plans)

    @property
    def actors(self) -> _Actors:
        return self._repo("actors", _Actors)

    @property
    def requests(self) -> _Requests:
        return self._repo("requests", _Requests)

    @property
    def repairs(self) -> _RepairOrders:
        return self._repo("repairs", _RepairOrders)

    @property
    def outsourced(self) -> _Outsourced:
        return self._repo("outsourced", _Outsourced)

    @property
    def stock(self) -> _Stock:
        return self._repo("stock", _Stock)

    @property
    def vendors(self) -> _Vendors:
        return self._repo("vendors", _Vendors)

    @property
    def parts(self) -> _Parts:
        return self._repo("parts", _Parts)

    @property
    def idempotency(self) -> _Keys:
        return self._repo("idempotency", _Keys)

    def _connection(self) -> sa.Connection:
        if self._conn is None:
            self._conn = self.store.engine.connect()
        return self._conn

    def query(
        self, statement: sa.Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[sa.Row[Any]]:
        """Every row of ``statement`` (with bind ``params``), read in this unit of work's
        transaction."""
        conn = self._conn
        if conn is None:
            conn = self._conn = self.store.engine.connect()
        try:
            return conn.execute(statement, params).all()
        except sa_exc.DBAPIError as error:
            self._discard()
            reason = _transient_reason(error)
            if reason is None:
                raise
            raise _aborted(reason) from error
        except ValueError as error:  # a stored JSON text or typed value that does not parse
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
        repos = self._repos
        requests: _Requests | None = repos.get("requests")
        changed = [] if requests is None else [
            r for r in requests.seen.values() if r.pending_events or r.id in requests.new
        ]
        tracked = [
            (repo, repo.changed())
            for repo in (repos.get("repairs"), repos.get("outsourced"), repos.get("stock"))
            if repo is not None
        ]
        records: list[_Records[Any]] = [
            repo for name in ("customers", "equipment", "plans", "actors", "vendors")
            if (repo := repos.get(name)) is not None
        ]
        parts: _Parts | None = repos.get("parts")
        keys: _Keys | None = repos.get("idempotency")
        if not (changed or any(items for _, items in tracked) or records or parts or keys):
            self._discard()  # nothing to write: end the transaction
            self._begin()
            return
        conn = self._connection()
        try:
            with _database_errors():
                for repo in records:
                    repo._write(conn)
                if parts is not None:
                    parts._write(conn)
                if requests is not None:
                    for request in sorted(changed, key=lambda r: str(r.id)):
                        requests._write(conn, request)
                for aggregates, items in tracked:
                    for item in sorted(items, key=lambda i: str(i.id)):
                        aggregates._write(conn, item)
                if keys is not None and keys.staged:
                    keys._write(conn, self.store.clock.now())
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

_OUTBOX = schema.outbox
_OUTBOX_PENDING = (
    sa.select(_OUTBOX)
    .where(_OUTBOX.c.published_at.is_(None))
    .order_by(_OUTBOX.c.occurred_at, _OUTBOX.c.aggregate_id, _OUTBOX.c.sequence)
    .limit(sa.bindparam("limit"))
)
_OUTBOX_PUBLISH = (
    _OUTBOX.update()
    .where(_OUTBOX.c.event_id.in_(sa.bindparam("ids", expanding=True)))
    .where(_OUTBOX.c.published_at.is_(None))
    .values(published_at=sa.bindparam("now"))
)


class SqlOutbox:
    """:class:`~aftersales.ports.Outbox` over the ``outbox`` table.

    ``pending`` orders by ``occurred_at``, ``aggregate_id``, ``sequence``; one relay at a time
    should drain it (``mark_published`` is idempotent).
    """

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        """Unpublished messages, oldest first; per aggregate in ``sequence`` order.

        A payload that is not a JSON object (or not JSON at all) raises
        :class:`~aftersales.errors.StorageError`."""
        try:
            with _database_errors(), self.store.engine.connect() as conn:
                rows = conn.execute(_OUTBOX_PENDING, {"limit": max(limit, 0)}).all()
        except ValueError as error:  # a stored JSON text that does not parse (SQLite)
            raise StorageError(f"outbox: malformed stored payload: {error}") from error
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
        now = self.store.clock.now()
        with _database_errors(), self.store.engine.begin() as conn:
            for chunk in _chunks(ids, 500):
                conn.execute(_OUTBOX_PUBLISH, {"ids": list(chunk), "now": now})


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
