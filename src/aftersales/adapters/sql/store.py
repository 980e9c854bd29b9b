"""The SQL store: one generic unit of work and the outbox over SQLAlchemy Core.

Semantics follow :mod:`aftersales.adapters.memory` exactly (both run the contract suite of
:mod:`aftersales.testing.contracts`). A unit of work is one transaction on one connection:

- loading an aggregate reads its row and its R9 record rows; the record must be intact (every
  row chained to the one before by its digest, the newest one the row's ``record_head``) and
  the document must agree with the row's query columns, else StorageError naming the row;
- a commit checks the read set (``SELECT ... FOR SHARE`` of what was read and not written),
  inserts new aggregates, updates changed ones with an optimistic version check (``UPDATE ...
  WHERE version = :expected``), appends only the new record rows, writes the outbox rows and
  idempotency keys, and commits; a lost race (a version, a unique key, a serialization failure
  or a deadlock) surfaces as :class:`~aftersales.errors.ConcurrencyConflict`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from aftersales.adapters.sql.codec import Codec
from aftersales.adapters.sql.driver import DriverStatement
from aftersales.adapters.sql.schema import HEAD_REVISION, REVISIONS, SqlSchema, build_schema
from aftersales.adapters.system import SystemClock
from aftersales.adapters.tracking import CommitSet, Criteria, TrackingUnitOfWork
from aftersales.domain import KINDS
from aftersales.domain.kernel import (
    Aggregate,
    AggregateEvent,
    AggregateKind,
    Kinds,
    RecordEntry,
    verify_chain,
)
from aftersales.errors import ConcurrencyConflict, StorageError
from aftersales.ports import Clock, IdempotencyRecord, OutboxMessage

__all__ = ["SqlOutbox", "SqlStore", "SqlUnitOfWork"]

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

_MYSQL_TRANSIENT = {1213: "deadlock", 1205: "lock wait timeout", 1020: "record changed"}
_MYSQL_UNIQUE = 1062
_SQLSTATE_TRANSIENT = {"40001": "serialization failure", "40P01": "deadlock"}
_SQLSTATE_UNIQUE = "23505"


# --- errors --------------------------------------------------------------------------------


def _transient_reason(error: sa_exc.DBAPIError) -> str | None:
    """Why the database refused, if running the command again may succeed; None otherwise."""
    orig = error.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(code, str) and code in _SQLSTATE_TRANSIENT:
        return f"SQLSTATE {code} ({_SQLSTATE_TRANSIENT[code]})"
    if code == _SQLSTATE_UNIQUE:
        return "a unique key was taken by a concurrent writer"
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        if args[0] in _MYSQL_TRANSIENT:
            return f"MySQL error {args[0]} ({_MYSQL_TRANSIENT[args[0]]})"
        if args[0] == _MYSQL_UNIQUE:
            return "a unique key was taken by a concurrent writer"
    text = str(orig).lower()
    if "database is locked" in text or "database table is locked" in text:
        return "SQLite: database is locked"
    if "unique constraint failed" in text:
        return "a unique key was taken by a concurrent writer"
    return None


def _aborted(reason: str) -> ConcurrencyConflict:
    conflict = ConcurrencyConflict("transaction", None, 0, why=reason)
    conflict.args = (f"the database aborted the transaction ({reason}); retry the command",)
    return conflict


@contextmanager
def _database_errors(action: str) -> Iterator[None]:
    """Races become ConcurrencyConflict; any other database error a StorageError (never a
    driver exception)."""
    try:
        yield
    except sa_exc.DBAPIError as error:
        reason = _transient_reason(error)
        if reason is not None:
            raise _aborted(reason) from error
        raise StorageError(f"{action}: the database refused: {error.orig}") from error
    except sa_exc.SQLAlchemyError as error:
        raise StorageError(f"{action}: {error}") from error


def _chunks(ids: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


# --- the unit of work ------------------------------------------------------------------------


class SqlUnitOfWork(TrackingUnitOfWork):
    """A unit of work over a :class:`SqlStore`: one database transaction on one connection,
    begun at the first read and ended by :meth:`commit` or :meth:`rollback`."""

    def __init__(self, store: SqlStore) -> None:
        super().__init__(store.kinds)
        self.store = store
        self.schema = store.schema
        self.codec = store.codec
        self._conn: sa.Connection | None = None

    def _connection(self) -> sa.Connection:
        if self._conn is None:
            self._conn = self.store.engine.connect()
        return self._conn

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.rollback()
            finally:
                conn.close()

    @contextmanager
    def _reading(self, action: str) -> Iterator[None]:
        """Database errors mapped; a stored value that does not read back a StorageError;
        on any failure the transaction is discarded."""
        try:
            with _database_errors(action):
                yield
        except (ValueError, TypeError, OverflowError) as error:  # a column's result processor
            self._discard()
            raise StorageError(f"{action}: a stored value does not read back "
                               f"({type(error).__name__}: {error})") from error
        except BaseException:
            self._discard()
            raise

    def _rows(self, statement: sa.Executable, params: Mapping[str, Any] | None = None,
              action: str = "read") -> Sequence[sa.Row[Any]]:
        with self._reading(action):
            return self._connection().execute(statement, params).all()

    def _run(self, key: tuple[Any, ...], build: Callable[[], sa.ClauseElement],
             params: Mapping[str, Any], action: str = "read") -> list[Any]:
        """The rows of the fixed statement ``key`` (built by ``build``), run at driver level."""
        statement = self.store.driver(key, build)
        with self._reading(action):
            return statement.run(self._connection(), params).rows

    # --- reading ---------------------------------------------------------------------------

    def _records(self, kind: AggregateKind[Any], ids: Sequence[UUID]
                 ) -> dict[UUID, list[RecordEntry]]:
        record = self.schema.record(kind)
        entries: dict[UUID, list[RecordEntry]] = {item_id: [] for item_id in ids}
        batches: list[tuple[tuple[Any, ...], Callable[[], sa.ClauseElement], dict[str, Any]]]
        if len(entries) == 1:  # the usual load
            batches = [((kind.table, "record_one"), lambda: sa.select(record).where(
                record.c.owner_id == sa.bindparam("id")).order_by(record.c.sequence),
                {"id": next(iter(entries))})]
        else:  # one statement per chunk size, compiled once, each id its own parameter
            batches = []
            for chunk in _chunks(list(entries)):
                size = len(chunk)
                batches.append(((kind.table, "record", size), lambda size=size: (  # type: ignore[misc]
                    sa.select(record)
                    .where(record.c.owner_id.in_(
                        [sa.bindparam(f"i{n}", type_=record.c.owner_id.type) for n in range(size)]
                    ))
                    .order_by(record.c.owner_id, record.c.sequence)
                ), {f"i{n}": item_id for n, item_id in enumerate(chunk)}))
        for key, build, params in batches:
            for r in self._run(key, build, params):
                entries[r.owner_id].append(RecordEntry(
                    r.sequence, r.at, r.actor_id, r.workflow, r.subject_id, r.action,
                    r.from_state, r.to_state, r.note, r.digest,
                ))
        return entries

    def _assemble(self, kind: AggregateKind[A], rows: Sequence[Any]) -> list[A]:
        """Aggregates from their rows, each with its verified record.

        At READ COMMITTED the record rows are read in a later snapshot than the aggregate
        rows: a commit in between leaves a record that runs past the row's ``record_head``.
        Those rows are read again (with their records) while they keep changing; a record
        that runs past an unchanged row is reported by :meth:`_decode` (rows were added).
        """
        if not rows:
            return []
        current = {row.id: row for row in rows}
        entries = self._records(kind, list(current))
        table = self.schema.table(kind)
        for _ in range(_CONSISTENT_READS):
            behind = [i for i, row in current.items() if _grew(entries[i], row.record_head)]
            if not behind:
                break
            fresh = {
                r.id: r for r in self._rows(self._select(kind).where(table.c.id.in_(behind)))
            }
            moved = [i for i in behind if i in fresh and fresh[i].version != current[i].version]
            if not moved:
                break
            for item_id in moved:
                current[item_id] = fresh[item_id]
            entries.update(self._records(kind, moved))
        else:
            raise _aborted(f"{table.name} kept changing while it was read")
        return [self._decode(kind, current[row.id], entries[row.id]) for row in rows]

    def _decode(self, kind: AggregateKind[A], row: Any, record: list[RecordEntry]) -> A:
        where = f"{self.schema.table(kind).name} {row.id}"
        problems = verify_chain(record)
        if problems:
            raise StorageError(f"{where}: R9 record rows ({self.schema.record(kind).name}) are "
                               "not intact: " + "; ".join(problems))
        head = record[-1].digest if record else ""
        if head != row.record_head:
            raise StorageError(
                f"{where}: R9 record rows end at entry {len(record)} ({head[:12] or 'none'}), "
                f"the aggregate expects {row.record_head[:12] or 'none'}: rows were deleted "
                "or added"
            )
        item: A = self.codec.load(kind, row.doc, where, version=row.version, record=record)
        self._agrees(kind, row, item, where)
        return item

    @staticmethod
    def _agrees(kind: AggregateKind[Any], row: Any, item: Aggregate, where: str) -> None:
        """StorageError unless the document holds the row's id and query column values."""
        if item.id != row.id:
            raise StorageError(f"{where}: the document holds another id ({item.id})")
        values = kind.row(item)
        for field in kind.fields:
            stored = getattr(row, field.name)
            if not _same(stored, values[field.name]):
                raise StorageError(f"{where}: the document disagrees with column "
                                   f"{field.name} ({values[field.name]!r} vs {stored!r})")

    def _select(self, kind: AggregateKind[Any]) -> sa.Select[Any]:
        return sa.select(self.schema.table(kind))

    def _by_id(self, kind: AggregateKind[Any], item_id: UUID) -> list[Any]:
        table = self.schema.table(kind)
        return self._run(
            (kind.table, "get"), lambda: self._select(kind).where(table.c.id == sa.bindparam("id")),
            {"id": item_id},
        )

    def _load(self, kind: AggregateKind[A], item_id: UUID) -> A | None:
        found = self._assemble(kind, self._by_id(kind, item_id))
        return found[0] if found else None

    def _peek(self, kind: AggregateKind[A], item_id: UUID) -> A | None:
        """The row alone, without its record (a read-only look: see ``peek``); the document
        must still agree with the row's columns."""
        rows = self._by_id(kind, item_id)
        if not rows:
            return None
        row = rows[0]
        where = f"{self.schema.table(kind).name} {row.id}"
        item: A = self.codec.load(kind, row.doc, where, version=row.version, record=[])
        self._agrees(kind, row, item, where)
        return item

    def _load_by(self, kind: AggregateKind[A], field: str, value: Any) -> A | None:
        table = self.schema.table(kind)
        rows = self._run(
            (kind.table, "get_by", field),
            lambda: self._select(kind).where(table.c[field] == sa.bindparam("value")),
            {"value": value},
        )
        found = self._assemble(kind, rows)
        return found[0] if found else None

    @staticmethod
    def _shape(criteria: Criteria) -> tuple[tuple[str, str], ...]:
        """What the WHERE clause of ``criteria`` looks like (its values aside)."""
        shape = []
        for name, wanted in sorted(criteria.items()):
            if isinstance(wanted, frozenset):
                form = ("in" if wanted - {None} else "") + ("+null" if None in wanted else "")
                shape.append((name, form or "nothing"))
            else:
                shape.append((name, "null" if wanted is None else "eq"))
        return tuple(shape)

    def _where(self, kind: AggregateKind[Any], shape: tuple[tuple[str, str], ...]) -> list[Any]:
        table = self.schema.table(kind)
        clauses: list[Any] = []
        for name, form in shape:
            column = table.c[name]
            if form == "eq":
                clauses.append(column == sa.bindparam(f"c_{name}"))
            elif form == "null":
                clauses.append(column.is_(None))
            elif form == "nothing":
                clauses.append(sa.false())
            else:
                parts = []
                if form.startswith("in"):
                    parts.append(column.in_(sa.bindparam(f"c_{name}", expanding=True)))
                if form.endswith("+null"):
                    parts.append(column.is_(None))
                clauses.append(sa.or_(*parts))
        return clauses

    def _query(self, kind: AggregateKind[A], criteria: Criteria, limit: int | None) -> list[A]:
        shape = self._shape(criteria)
        query = self.store.statement(
            (kind.table, "find", shape, limit is None), lambda: self._find(kind, shape, limit)
        )
        params: dict[str, Any] = {}
        for name, wanted in criteria.items():
            if isinstance(wanted, frozenset):
                values = [v for v in wanted if v is not None]
                if values:
                    params[f"c_{name}"] = values
            elif wanted is not None:
                params[f"c_{name}"] = wanted
        if limit is not None:
            params["limit"] = limit
        return self._assemble(kind, self._rows(query, params))

    def _find(
        self, kind: AggregateKind[Any], shape: tuple[tuple[str, str], ...], limit: int | None
    ) -> sa.Select[Any]:
        table = self.schema.table(kind)
        query = self._select(kind).where(*self._where(kind, shape))
        # the kernel's order (Kind.sort_key), which the unit of work sorts by after a LIMIT:
        # None first (PostgreSQL puts NULLs last), ids by their text (MariaDB's uuid type
        # sorts by its own byte layout)
        dialect = self.store.engine.dialect
        fields: list[Any] = [table.c[n] for n in kind.order_by]
        if dialect.name == "postgresql":
            fields = [column.asc().nulls_first() for column in fields]
        ids: Any = table.c.id
        if getattr(dialect, "is_mariadb", False):
            ids = sa.cast(ids, sa.String(36))
        query = query.order_by(*fields, ids)
        if limit is not None:
            query = query.limit(sa.bindparam("limit", type_=sa.Integer()))
        return query

    def _unique_holder(
        self, kind: AggregateKind[Any], fields: tuple[str, ...], values: tuple[Any, ...]
    ) -> UUID | None:
        table = self.schema.table(kind)
        rows = self._run(
            (kind.table, "holder", fields),
            lambda: sa.select(table.c.id).where(
                *(table.c[f] == sa.bindparam(f"v{n}") for n, f in enumerate(fields))
            ),
            {f"v{n}": v for n, v in enumerate(values)},
        )
        return rows[0].id if rows else None

    def _key(self, scope: str) -> IdempotencyRecord | None:
        keys = self.schema.keys
        rows = self._run(
            ("keys", "get"), lambda: sa.select(keys).where(keys.c.scope == sa.bindparam("scope")),
            {"scope": scope},
        )
        if not rows:
            return None
        r = rows[0]
        return IdempotencyRecord(r.scope, r.fingerprint, r.command, r.kind, r.aggregate_id,
                                 r.created_at)

    # --- writing ---------------------------------------------------------------------------

    def _check_reads(self, conn: sa.Connection, commit: CommitSet) -> None:
        by_kind: dict[str, list[Any]] = {}
        for read in commit.reads:
            by_kind.setdefault(read.kind.table, []).append(read)
        for table_name, reads in sorted(by_kind.items()):
            kind = self.kinds.by_table(table_name)
            table = self.schema.table(kind)
            expected = {r.item_id: r.version for r in reads}
            batches: list[tuple[list[UUID], DriverStatement, dict[str, Any]]] = []
            for chunk in _chunks(sorted(expected, key=str)):
                size = len(chunk)
                statement = self.store.driver(
                    (table_name, "read_check", size),
                    lambda table=table, size=size: sa.select(  # type: ignore[misc]
                        table.c.id, table.c.version
                    ).where(table.c.id.in_(
                        [sa.bindparam(f"i{n}", type_=table.c.id.type) for n in range(size)]
                    ))
                    .with_for_update(read=True),
                )
                batches.append((list(chunk), statement,
                                {f"i{n}": item_id for n, item_id in enumerate(chunk)}))
            for chunk, statement, params in batches:
                found = {row.id: row.version for row in statement.run(conn, params).rows}
                for item_id in chunk:
                    if found.get(item_id) != expected[item_id]:
                        raise ConcurrencyConflict(
                            kind.entity, item_id, expected[item_id], found.get(item_id),
                            why="it was read for a decision and changed meanwhile",
                        )

    def _write(self, commit: CommitSet) -> None:
        if not (commit.changes or commit.keys):
            return
        conn = self._connection()
        now = self.store.clock.now()
        with _database_errors("commit"):
            self._check_reads(conn, commit)
            for change in sorted(commit.changes, key=lambda c: (c.kind.table, str(c.item.id))):
                kind, item = change.kind, change.item
                table = self.schema.table(kind)
                values = {
                    **kind.row(item), "version": change.new_version,
                    "record_head": item.record_head, "doc": self.codec.dump(kind, item),
                }
                if change.new:
                    self.store.driver((kind.table, "insert"), table.insert).run(
                        conn, {"id": item.id, **values}
                    )
                else:
                    update = self.store.driver(
                        (kind.table, "update"),
                        lambda table=table, names=tuple(values):  # type: ignore[misc]
                        table.update()
                        .where(table.c.id == sa.bindparam("b_id"),
                               table.c.version == sa.bindparam("b_version"))
                        .values({name: sa.bindparam(f"v_{name}") for name in names}),
                    )
                    params = {f"v_{name}": value for name, value in values.items()}
                    params["b_id"] = item.id
                    params["b_version"] = change.expected_version
                    if update.run(conn, params).rowcount != 1:
                        raise ConcurrencyConflict(kind.entity, item.id, change.expected_version)
                entries = change.new_entries
                if entries:
                    self.store.driver(
                        (kind.table, "record_insert"), self.schema.record(kind).insert
                    ).run_many(conn, [
                        {"owner_id": item.id, "sequence": e.sequence, "at": e.at,
                         "actor_id": e.actor_id, "workflow": e.workflow,
                         "subject_id": e.subject_id, "action": e.action,
                         "from_state": e.from_state, "to_state": e.to_state, "note": e.note,
                         "digest": e.digest}
                        for e in entries
                    ])
            if commit.events:
                self.store.driver(("outbox", "insert"), self.schema.outbox.insert).run_many(
                    conn, [self._outbox_row(event, now) for event in commit.events]
                )
            if commit.keys:
                self.store.driver(("keys", "insert"), self.schema.keys.insert).run_many(conn, [
                    {"scope": k.scope, "fingerprint": k.fingerprint, "command": k.command,
                     "kind": k.kind, "aggregate_id": k.aggregate_id, "created_at": k.created_at}
                    for k in commit.keys
                ])
            conn.commit()

    def _outbox_row(self, event: AggregateEvent, now: datetime) -> dict[str, Any]:
        return {
            "event_id": event.event_id, "aggregate_type": event.aggregate_type,
            "aggregate_id": event.aggregate_id, "sequence": event.sequence, "name": event.name,
            "occurred_at": event.occurred_at, "recorded_at": now,
            "payload": self.codec.dump_event(event), "published_at": None, "failed_at": None,
            "error": None,
        }


#: How often a load re-reads rows whose record grew meanwhile (READ COMMITTED) before it
#: gives up with a retryable ConcurrencyConflict.
_CONSISTENT_READS = 5


def _grew(record: Sequence[RecordEntry], head: str) -> bool:
    """True when ``record`` runs past the entry ``head`` (appended after the row was read)."""
    if not head or not record or record[-1].digest == head:
        return False
    return any(e.digest == head for e in record)


def _same(stored: Any, value: Any) -> bool:
    if isinstance(value, datetime) and isinstance(stored, datetime):
        # as instants: a zone's repeated hour (PEP 495) never equals another zone's datetime
        return stored.astimezone(UTC) == value.astimezone(UTC)
    return bool(stored == value)


# --- outbox ----------------------------------------------------------------------------------


class SqlOutbox:
    """:class:`~aftersales.ports.Outbox` over the ``outbox`` table.

    ``pending`` orders by aggregate, then sequence. A row whose payload does not decode is set
    aside (``failed_at`` and ``error`` set): its aggregate's later events wait behind it (so
    a consumer never sees an aggregate's events out of order) and every other aggregate keeps
    flowing; :meth:`failed` lists the rows set aside.
    """

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.table = store.schema.outbox

    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        """Unpublished messages by aggregate, then sequence: up to ``limit`` of them, fewer only
        when no more can be delivered (a row set aside while reading does not shorten the
        batch)."""
        while True:
            messages, poisoned = self._read_pending(limit)
            if not poisoned:
                return messages
            self._set_aside(poisoned)  # then read again: each round sets at least one row aside

    def _read_pending(
        self, limit: int
    ) -> tuple[list[OutboxMessage], list[tuple[UUID, str]]]:
        table = self.table
        stuck = table.alias("stuck")
        query = (
            sa.select(table)
            .where(
                table.c.published_at.is_(None), table.c.failed_at.is_(None),
                # the later events of an aggregate wait behind one set aside (order is kept)
                ~sa.exists().where(
                    stuck.c.aggregate_id == table.c.aggregate_id,
                    stuck.c.sequence < table.c.sequence,
                    stuck.c.failed_at.is_not(None), stuck.c.published_at.is_(None),
                ),
            )
            .order_by(table.c.aggregate_id, table.c.sequence)
            .limit(max(int(limit), 0))
        )
        with _database_errors("read the outbox"), self.store.engine.connect() as conn:
            try:
                rows = conn.execute(query).all()
            except (ValueError, TypeError, OverflowError) as error:  # a typed column (SQLite)
                raise StorageError(f"read the outbox: a stored value does not read back "
                                   f"({type(error).__name__}: {error})") from error
        messages: list[OutboxMessage] = []
        poisoned: list[tuple[UUID, str]] = []
        held: set[UUID] = set()
        for row in rows:
            if row.aggregate_id in held:
                continue
            try:
                payload = json.loads(row.payload)
                if not isinstance(payload, dict):
                    raise ValueError(f"a payload is a JSON object, not {type(payload).__name__}")
            except (ValueError, TypeError, RecursionError) as error:
                poisoned.append((row.event_id, f"{type(error).__name__}: {error}"[:2000]))
                held.add(row.aggregate_id)
                continue
            messages.append(OutboxMessage(
                row.event_id, row.aggregate_type, row.aggregate_id, row.sequence, row.name,
                row.occurred_at, payload,
            ))
        return messages, poisoned

    def _set_aside(self, poisoned: list[tuple[UUID, str]]) -> None:
        table = self.table
        now = self.store.clock.now()
        with _database_errors("set aside outbox rows"), self.store.engine.begin() as conn:
            for event_id, problem in poisoned:
                conn.execute(
                    table.update().where(table.c.event_id == event_id)
                    .values(failed_at=now, error=problem)
                )

    def mark_published(self, event_ids: Iterable[UUID]) -> None:
        """Never return these events from :meth:`pending` again (idempotent)."""
        ids = list(dict.fromkeys(e for e in event_ids if isinstance(e, UUID)))
        if not ids:
            return
        table = self.table
        now = self.store.clock.now()
        with _database_errors("mark published"), self.store.engine.begin() as conn:
            for chunk in _chunks(ids):
                conn.execute(
                    table.update()
                    .where(table.c.event_id.in_(list(chunk)), table.c.published_at.is_(None))
                    .values(published_at=now)
                )

    def failed(self) -> list[tuple[UUID, str]]:
        """The rows set aside: (event id, error)."""
        table = self.table
        query = sa.select(table.c.event_id, table.c.error).where(
            table.c.failed_at.is_not(None)
        ).order_by(table.c.event_id)
        with _database_errors("read the outbox"), self.store.engine.connect() as conn:
            return [(row.event_id, row.error or "") for row in conn.execute(query)]


# --- store -----------------------------------------------------------------------------------


class SqlStore:
    """The SQL adapter's entry point: units of work and the outbox over ``engine``.

    ::

        engine = create_engine("postgresql+psycopg://...")
        upgrade(engine)  # or store.create_all() in tests
        store = SqlStore(engine, clock=clock)
        desk = ServiceDesk(store.unit_of_work, clock=clock, ids=..., kinds=store.kinds)

    ``kinds`` are the aggregate kinds it holds (default: every shipped kind; yours need their
    tables, e.g. from :meth:`create_all`). ``clock`` stamps outbox rows (pass the desk's). On
    first use the store checks that the database is at the schema revision this code needs
    and raises :class:`~aftersales.errors.StorageError` otherwise. Nothing connects before.
    """

    def __init__(
        self, engine: sa.Engine, *, clock: Clock | None = None, check_schema: bool = True,
        kinds: Kinds | Iterable[AggregateKind[Any]] | None = None,
    ) -> None:
        self.engine = engine
        self.clock: Clock = clock or SystemClock()
        self.kinds = kinds if isinstance(kinds, Kinds) else Kinds(KINDS if kinds is None
                                                                  else kinds)
        self.schema: SqlSchema = build_schema(self.kinds)
        self.codec = Codec(self.kinds)
        self._statements: dict[tuple[Any, ...], Any] = {}
        self._driver: dict[tuple[Any, ...], DriverStatement] = {}
        self._schema_checked = not check_schema
        self._lock = threading.Lock()

    def statement(self, key: tuple[Any, ...], build: Callable[[], T]) -> T:
        """The statement ``key`` of this store, built once by ``build`` and reused with bind
        parameters (SQLAlchemy then reuses its compiled form)."""
        found = self._statements.get(key)
        if found is None:
            found = self._statements[key] = build()
        return found

    def driver(self, key: tuple[Any, ...], build: Callable[[], sa.ClauseElement]
               ) -> DriverStatement:
        """The statement ``key`` compiled once for this engine's dialect and run at driver
        level (see :mod:`aftersales.adapters.sql.driver`)."""
        found = self._driver.get(key)
        if found is None:
            found = self._driver[key] = DriverStatement(build(), self.engine.dialect)
        return found

    def unit_of_work(self) -> SqlUnitOfWork:
        """A new unit of work (pass ``store.unit_of_work`` as the desk's factory)."""
        self.check_schema()
        return SqlUnitOfWork(self)

    def outbox(self) -> SqlOutbox:
        """The outbox relay API over this store."""
        self.check_schema()
        return SqlOutbox(self)

    def check_schema(self) -> None:
        """StorageError unless the database is at :data:`HEAD_REVISION` (checked once)."""
        if self._schema_checked:
            return
        with self._lock:
            if self._schema_checked:
                return
            from aftersales.adapters.sql.migrate import current_revision

            _judge_revision(current_revision(self.engine))
            self._schema_checked = True

    def create_all(self) -> None:
        """Create every table of this store's kinds (yours included) and stamp the schema at
        the head revision (for tests and for kinds of your own)."""
        from aftersales.adapters.sql.migrate import stamp

        with _database_errors("create tables"):
            self.schema.metadata.create_all(self.engine)
        stamp(self.engine, HEAD_REVISION)

    def drop_all(self) -> None:
        """Drop every table of this store's kinds, the revision stamp included."""
        from aftersales.adapters.sql.migrate import VERSION_TABLE

        with _database_errors("drop tables"):
            self.schema.metadata.drop_all(self.engine)
            with self.engine.begin() as conn:
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
        self._schema_checked = False


def _judge_revision(revision: str | None) -> None:
    head = HEAD_REVISION
    if revision is None:
        raise StorageError(
            "the database has no aftersales schema (no revision recorded); "
            "run `aftersales db upgrade URL` (or SqlStore.create_all() in tests)"
        )
    if revision == head:
        return
    if revision in REVISIONS:
        raise StorageError(
            f"the database schema is outdated (revision {revision}, this code needs {head}); "
            "run `aftersales db upgrade URL`"
        )
    raise StorageError(
        f"the database schema revision {revision!r} is unknown to this code (needs {head}); "
        "was it migrated by a newer or an older version of aftersales?"
    )
