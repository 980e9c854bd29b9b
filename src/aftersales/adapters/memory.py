"""The in-memory adapter: every declared kind, the outbox and idempotency, with no database.

Reads return private working copies; a commit checks, under one lock, the version of every
aggregate written and every aggregate read (the read set), the unique keys and the
idempotency records, then swaps the copies in atomically, so an uncommitted or failed unit of
work leaves the store exactly as it was. The R9 record of each aggregate is kept apart from
the aggregate as an append-only tuple: a unit of work can only add entries to it.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Iterable
from typing import Any, TypeVar
from uuid import UUID

from aftersales.adapters.tracking import (
    Change,
    CommitSet,
    Criteria,
    TrackingUnitOfWork,
    matches,
)
from aftersales.domain import (
    ACTORS,
    CUSTOMERS,
    EQUIPMENT,
    KINDS,
    OUTSOURCED_REPAIRS,
    PARTS,
    REPAIR_ORDERS,
    REQUESTS,
    SERVICE_PLANS,
    STOCK,
    VENDORS,
    Actor,
    Customer,
    Equipment,
    OutsourcedRepair,
    Part,
    RepairOrder,
    ServicePlan,
    ServiceRequest,
    Stock,
    Vendor,
)
from aftersales.domain.kernel import (
    Aggregate,
    AggregateEvent,
    AggregateKind,
    Kinds,
    RecordEntry,
    verify_chain,
)
from aftersales.errors import ConcurrencyConflict, StorageError
from aftersales.ports import IdempotencyRecord, OutboxMessage
from aftersales.serialization import event_to_dict

__all__ = ["InMemoryOutbox", "InMemoryStore", "InMemoryUnitOfWork"]

A = TypeVar("A", bound=Aggregate)


_Keys = dict[tuple[str, ...], tuple[Any, ...]]


class _Table:
    """The committed aggregates of one kind, their records and unique keys."""

    def __init__(self, kind: AggregateKind[Any]) -> None:
        self.kind = kind
        self.items: dict[UUID, Aggregate] = {}
        self.records: dict[UUID, tuple[RecordEntry, ...]] = {}
        self.keys: dict[UUID, _Keys] = {}  # the unique values each aggregate holds
        groups = [(f.name,) for f in kind.unique_fields] + list(kind.unique_together)
        self.unique: dict[tuple[str, ...], dict[tuple[Any, ...], UUID]] = {g: {} for g in groups}

    def copy_of(self, item_id: UUID) -> Aggregate | None:
        stored = self.items.get(item_id)
        if stored is None:
            return None
        record = self.records[item_id]
        if len(record) != len(stored.record) or not all(
            map(operator.is_, record, stored.record)
        ):  # R9: the append-only record was altered behind the store's back
            problems = verify_chain(record) or [
                f"{len(record)} entries, {len(stored.record)} committed"
            ]
            raise StorageError(f"{self.kind.entity} {item_id}: R9 the stored record was "
                               "altered: " + "; ".join(problems))
        copy = stored.clone()
        copy.record = list(record)
        return copy

    def keys_of(self, item: Aggregate) -> dict[tuple[str, ...], tuple[Any, ...]]:
        kind = self.kind
        found = {}
        for group in self.unique:
            values = tuple(kind.field(n).read(item) for n in group)
            if not any(v is None for v in values):
                found[group] = values
        return found


class InMemoryStore:
    """The committed state shared by every :class:`InMemoryUnitOfWork` made from it.

    ``kinds`` are the aggregate kinds it holds (default: every shipped kind; add yours with
    ``Kinds(KINDS).plus(MY_KIND)``). ``events`` lists every committed event in commit order.
    """

    def __init__(self, kinds: Kinds | Iterable[AggregateKind[Any]] | None = None) -> None:
        self.kinds = kinds if isinstance(kinds, Kinds) else Kinds(KINDS if kinds is None
                                                                  else kinds)
        self.tables: dict[str, _Table] = {k.table: _Table(k) for k in self.kinds}
        self.events: list[AggregateEvent] = []
        self.published: set[UUID] = set()
        self.failed: dict[UUID, str] = {}
        self.idempotency_keys: dict[str, IdempotencyRecord] = {}
        self.lock = threading.RLock()

    def unit_of_work(self) -> InMemoryUnitOfWork:
        """A new unit of work over this store (pass ``store.unit_of_work`` as a factory)."""
        return InMemoryUnitOfWork(self)

    def outbox(self) -> InMemoryOutbox:
        """The outbox relay API over this store's committed events."""
        return InMemoryOutbox(self)

    # views of the committed aggregates of the shipped kinds (read-only: change them
    # through a unit of work)

    @property
    def actors(self) -> dict[UUID, Actor]:
        """The committed directory."""
        return self.committed(ACTORS)

    @property
    def customers(self) -> dict[UUID, Customer]:
        """The committed customer files."""
        return self.committed(CUSTOMERS)

    @property
    def equipment(self) -> dict[UUID, Equipment]:
        """The committed equipment files."""
        return self.committed(EQUIPMENT)

    @property
    def plans(self) -> dict[UUID, ServicePlan]:
        """The committed service plans."""
        return self.committed(SERVICE_PLANS)

    @property
    def requests(self) -> dict[UUID, ServiceRequest]:
        """The committed service requests."""
        return self.committed(REQUESTS)

    @property
    def repairs(self) -> dict[UUID, RepairOrder]:
        """The committed repair orders."""
        return self.committed(REPAIR_ORDERS)

    @property
    def outsourced(self) -> dict[UUID, OutsourcedRepair]:
        """The committed outsourced repairs."""
        return self.committed(OUTSOURCED_REPAIRS)

    @property
    def vendors(self) -> dict[UUID, Vendor]:
        """The committed vendor registry."""
        return self.committed(VENDORS)

    @property
    def parts(self) -> dict[UUID, Part]:
        """The committed parts catalogue (by id; ``get_by("sku", ...)`` in a unit of work)."""
        return self.committed(PARTS)

    @property
    def stock(self) -> dict[UUID, Stock]:
        """The committed stock locations."""
        return self.committed(STOCK)

    def committed(self, kind: AggregateKind[A]) -> dict[UUID, A]:
        """The committed aggregates of ``kind`` by id (read-only views: change them through a
        unit of work)."""
        table = self.tables[kind.table]
        return table.items  # type: ignore[return-value]

    def record_of(self, kind: AggregateKind[Any], item_id: UUID) -> tuple[RecordEntry, ...]:
        """The committed R9 record of one aggregate."""
        return self.tables[kind.table].records.get(item_id, ())


class InMemoryOutbox:
    """:class:`~aftersales.ports.Outbox` over an :class:`InMemoryStore`."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        """Unpublished events, by aggregate then sequence."""
        store = self.store
        with store.lock:
            waiting = [
                e for e in store.events
                if e.event_id not in store.published and e.event_id not in store.failed
            ]
            # an aggregate's events after one set aside wait behind it (order is kept)
            stuck: dict[UUID, int] = {}
            for e in store.events:
                if e.event_id in store.failed and e.event_id not in store.published:
                    stuck[e.aggregate_id] = min(e.sequence, stuck.get(e.aggregate_id, e.sequence))

        def held(event: AggregateEvent) -> bool:
            return event.aggregate_id in stuck and event.sequence > stuck[event.aggregate_id]

        waiting = [e for e in waiting if not held(e)]
        waiting.sort(key=lambda e: (str(e.aggregate_id), e.sequence))
        messages: list[OutboxMessage] = []
        for event in waiting:
            if len(messages) >= limit:
                break
            if held(event):
                continue
            try:
                payload = event_to_dict(event)
            except Exception as error:  # a poison event: set it aside; its aggregate waits
                with store.lock:
                    store.failed[event.event_id] = f"{type(error).__name__}: {error}"
                stuck[event.aggregate_id] = event.sequence
                continue
            messages.append(OutboxMessage(
                event.event_id, event.aggregate_type, event.aggregate_id, event.sequence,
                event.name, event.occurred_at, payload,
            ))
        return messages

    def mark_published(self, event_ids: Iterable[UUID]) -> None:
        """Mark events as shipped."""
        with self.store.lock:
            self.store.published.update(event_ids)

    def failed(self) -> list[tuple[UUID, str]]:
        """Events set aside because they could not be encoded, with the error."""
        with self.store.lock:
            return sorted(self.store.failed.items(), key=lambda pair: str(pair[0]))


class InMemoryUnitOfWork(TrackingUnitOfWork):
    """A unit of work over an :class:`InMemoryStore`."""

    def __init__(self, store: InMemoryStore) -> None:
        super().__init__(store.kinds)
        self.store = store

    def _table(self, kind: AggregateKind[Any]) -> _Table:
        return self.store.tables[kind.table]

    def _load(self, kind: AggregateKind[A], item_id: UUID) -> A | None:
        with self.store.lock:
            found = self._table(kind).copy_of(item_id)
        return found  # type: ignore[return-value]

    def _peek(self, kind: AggregateKind[A], item_id: UUID) -> A | None:
        with self.store.lock:
            found = self._table(kind).items.get(item_id)  # shared, read-only: not copied
        return found  # type: ignore[return-value]

    def _load_by(self, kind: AggregateKind[A], field: str, value: Any) -> A | None:
        table = self._table(kind)
        with self.store.lock:
            item_id = table.unique[(field,)].get((value,))
            found = table.copy_of(item_id) if item_id is not None else None
        return found  # type: ignore[return-value]

    def _query(self, kind: AggregateKind[A], criteria: Criteria, limit: int | None) -> list[A]:
        table = self._table(kind)
        with self.store.lock:
            hits: list[Any] = [i for i in table.items.values() if matches(kind, i, criteria)]
            hits.sort(key=kind.sort_key)
            if limit is not None:
                hits = hits[:limit]
            copies = [table.copy_of(i.id) for i in hits]
        return [c for c in copies if c is not None]  # type: ignore[misc]

    def _unique_holder(
        self, kind: AggregateKind[Any], fields: tuple[str, ...], values: tuple[Any, ...]
    ) -> UUID | None:
        with self.store.lock:
            return self._table(kind).unique[fields].get(values)

    def _key(self, scope: str) -> IdempotencyRecord | None:
        with self.store.lock:
            return self.store.idempotency_keys.get(scope)

    def _write(self, commit: CommitSet) -> None:
        store = self.store
        with store.lock:
            for change in commit.changes:  # optimistic concurrency: no lost update
                held = self._table(change.kind).items.get(change.item.id)
                if (held is not None) if change.new else (
                    held is None or held.version != change.expected_version
                ):
                    raise ConcurrencyConflict(
                        change.kind.entity, change.item.id, change.expected_version,
                        held.version if held is not None else None,
                    )
            for read in commit.reads:
                stored = self._table(read.kind).items.get(read.item_id)
                if stored is None or stored.version != read.version:
                    raise ConcurrencyConflict(
                        read.kind.entity, read.item_id, read.version,
                        stored.version if stored is not None else None,
                        why="it was read for a decision and changed meanwhile",
                    )
            plans = [self._plan(change) for change in commit.changes]
            self._check_unique(plans)
            for record in commit.keys:
                if record.scope in store.idempotency_keys:
                    raise ConcurrencyConflict("IdempotencyKey", record.command, 0,
                                              why="the key was recorded meanwhile")
            # every check passed: apply
            for change, table, old_keys, new_keys in plans:
                item = change.item
                for group, values in old_keys.items():
                    if new_keys.get(group) != values and table.unique[group].get(values) == (
                        item.id
                    ):
                        del table.unique[group][values]
                stored = item.clone()
                stored.version = change.new_version
                table.items[item.id] = stored
                table.records[item.id] = tuple(item.record)
                for group, values in new_keys.items():
                    table.unique[group][values] = item.id
                if table.unique:
                    table.keys[item.id] = new_keys
            for record in commit.keys:
                store.idempotency_keys[record.scope] = record
            store.events.extend(commit.events)

    def _plan(self, change: Change) -> tuple[Change, _Table, _Keys, _Keys]:
        """The change, its table, and the unique values it held and will hold."""
        table = self._table(change.kind)
        if not table.unique:
            return change, table, {}, {}
        return change, table, table.keys.get(change.item.id, {}), table.keys_of(change.item)

    def _check_unique(self, plans: list[tuple[Change, _Table, _Keys, _Keys]]) -> None:
        """No unique value written is held by another aggregate (or claimed twice)."""
        released = {
            (change.kind.table, group, values)
            for change, _, old_keys, _ in plans for group, values in old_keys.items()
        }
        claimed: dict[tuple[str, tuple[str, ...], tuple[Any, ...]], UUID] = {}
        for change, table, old_keys, new_keys in plans:
            for group, values in new_keys.items():
                key = (change.kind.table, group, values)
                if old_keys.get(group) == values and key not in claimed:
                    claimed[key] = change.item.id  # unchanged: still its own
                    continue
                holder = table.unique[group].get(values)
                taken = holder is not None and holder != change.item.id and key not in released
                if taken or claimed.get(key, change.item.id) != change.item.id:
                    raise ConcurrencyConflict(
                        change.kind.entity, change.item.id, change.expected_version,
                        why=f"{'/'.join(group)} {'/'.join(map(str, values))} is taken",
                    )
                claimed[key] = change.item.id
