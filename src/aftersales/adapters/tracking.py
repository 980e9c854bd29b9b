"""The unit of work every storage adapter shares: working copies, the read set, one commit path.

:class:`TrackingUnitOfWork` implements the :class:`~aftersales.ports.UnitOfWork` port for any
set of declared kinds. An adapter subclasses it and supplies five primitives (load by id, load
by a unique field, query, look up an idempotency record, and write one :class:`CommitSet`
atomically); everything else is here, once:

- every aggregate read is a private working copy, tracked in the order it was first touched;
- a commit writes back exactly the aggregates that were added or carry pending events: a kind
  cannot be forgotten, because there is no list of kinds to forget;
- R9: the record only grows: an entry already stored must be the same object in the working
  copy, and every new entry must chain (digest) to the one before it;
- every aggregate read but not written joins the read set; the adapter checks at commit that
  none of them changed (so a guard that read another aggregate holds under concurrency);
- events carry the aggregate's id and consecutive sequence numbers.

Write your own adapter by subclassing :class:`TrackingUnitOfWork` and prove it with
:mod:`aftersales.testing.contracts`.
"""

from __future__ import annotations

import abc
import operator
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import Enum
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from uuid import UUID

import attrs

from aftersales.domain.kernel import (
    Aggregate,
    AggregateEvent,
    AggregateKind,
    Kinds,
    RecordEntry,
    chained_by_steps,
    verify_chain,
)
from aftersales.domain.parts import PARTS, STOCK, Part, Stock
from aftersales.domain.records import (
    ACTORS,
    CUSTOMERS,
    EQUIPMENT,
    SERVICE_PLANS,
    Actor,
    Customer,
    Equipment,
    ServicePlan,
)
from aftersales.domain.repair import (
    OUTSOURCED_REPAIRS,
    REPAIR_ORDERS,
    VENDORS,
    OutsourcedRepair,
    RepairOrder,
    Vendor,
)
from aftersales.domain.request import REQUESTS, ServiceRequest
from aftersales.errors import (
    ConcurrencyConflict,
    ConfigurationError,
    NotFound,
    StorageError,
    ValidationError,
)
from aftersales.ports import IdempotencyRecord

__all__ = [
    "Change",
    "CommitSet",
    "Criteria",
    "Read",
    "TrackedRepository",
    "TrackingUnitOfWork",
    "matches",
    "normalise_criteria",
]

A = TypeVar("A", bound=Aggregate)

#: Query criteria after normalisation: field name → a value, or a frozenset of values.
Criteria = dict[str, Any]


@attrs.frozen
class Change:
    """One aggregate to write: ``new`` (insert) or changed (update from ``expected_version``
    to ``expected_version + 1``); ``record_from`` is how many record entries are stored
    already (only the ones after it are new)."""

    kind: AggregateKind[Any]
    item: Aggregate
    new: bool
    expected_version: int
    record_from: int

    @property
    def new_version(self) -> int:
        """The version the aggregate has once written."""
        return self.expected_version + 1

    @property
    def new_entries(self) -> list[RecordEntry]:
        """The record entries to append."""
        return self.item.record[self.record_from:]


@attrs.frozen
class Read:
    """An aggregate the unit of work read and did not change: it must still be at
    ``version`` when the commit happens."""

    kind: AggregateKind[Any]
    item_id: UUID
    version: int


@attrs.frozen
class CommitSet:
    """Everything one commit writes, atomically."""

    changes: tuple[Change, ...]
    reads: tuple[Read, ...]
    keys: tuple[IdempotencyRecord, ...]
    events: tuple[AggregateEvent, ...]


def _normalise(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC)  # compared as instants (PEP 495's repeated hour)
    return value


def normalise_criteria(kind: AggregateKind[Any], criteria: dict[str, Any]) -> Criteria:
    """Check ``criteria`` against the kind's query fields; collections become frozensets and
    enumerations their values. ValidationError for an unknown field."""
    names = kind.field_names
    found: Criteria = {}
    for name, value in criteria.items():
        if name not in names:
            raise ValidationError(kind.entity, name, f"is not a query field of {kind.entity} "
                                  f"({', '.join(sorted(names))})")
        if isinstance(value, list | tuple | set | frozenset):
            found[name] = frozenset(_normalise(v) for v in value)
        else:
            found[name] = _normalise(value)
    return found


def matches(kind: AggregateKind[Any], item: Aggregate, criteria: Criteria) -> bool:
    """True if ``item``'s query fields satisfy every criterion."""
    for name, wanted in criteria.items():
        value = _normalise(kind.field(name).read(item))
        if isinstance(wanted, frozenset):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


class TrackedRepository(Generic[A]):
    """The :class:`~aftersales.ports.Repository` of one kind inside a
    :class:`TrackingUnitOfWork` (made by :meth:`TrackingUnitOfWork.repository`)."""

    def __init__(self, uow: TrackingUnitOfWork, kind: AggregateKind[A]) -> None:
        self._uow = uow
        self._kind = kind
        self.seen: dict[UUID, A] = {}
        self.loaded: dict[UUID, tuple[int, tuple[RecordEntry, ...], int]] = {}
        self.new: set[UUID] = set()

    @property
    def kind(self) -> AggregateKind[A]:
        """The declaration of the kind."""
        return self._kind

    def reset(self) -> None:
        """Forget every working copy."""
        self.seen = {}
        self.loaded = {}
        self.new = set()

    def _track(self, item: A) -> A:
        known = self.seen.get(item.id)
        if known is not None:
            return known
        self.seen[item.id] = item
        self.loaded[item.id] = (item.version, tuple(item.record), item.event_sequence)
        self._uow._touched.append((self, item.id))
        return item

    def add(self, item: A) -> None:
        """Stage a new aggregate."""
        kind = self._kind
        if not isinstance(item, kind.cls):
            raise ValidationError(kind.entity, "item", f"expected a {kind.cls.__name__}, got "
                                  f"{type(item).__name__}")
        if not isinstance(item.id, UUID):
            raise ValidationError(kind.entity, "id", "must be a UUID")
        if item.id in self.seen or self._uow._load(kind, item.id) is not None:
            raise ValidationError(kind.entity, "id", f"{item.id} already exists")
        if item.version != 0:
            raise ValidationError(kind.entity, "version", "a new aggregate has version 0")
        self._check_unique(item)
        self.seen[item.id] = item
        self.new.add(item.id)
        self._uow._touched.append((self, item.id))

    def _check_unique(self, item: A) -> None:
        kind = self._kind
        groups: list[tuple[str, ...]] = [(f.name,) for f in kind.unique_fields]
        groups.extend(kind.unique_together)
        for group in groups:
            values = tuple(kind.field(n).read(item) for n in group)
            if any(v is None for v in values):
                continue
            for other in self.seen.values():
                if other.id != item.id and tuple(
                    kind.field(n).read(other) for n in group
                ) == values:
                    raise ValidationError(kind.entity, "/".join(group),
                                          f"{'/'.join(map(str, values))} already exists")
            holder = self._uow._unique_holder(kind, group, values)
            if holder is not None and holder != item.id and holder not in self.seen:
                raise ValidationError(kind.entity, "/".join(group),
                                      f"{'/'.join(map(str, values))} already exists")

    def get(self, item_id: UUID) -> A:
        """The aggregate with ``item_id`` (NotFound otherwise)."""
        found = self.seen.get(item_id) if isinstance(item_id, UUID) else None
        if found is not None:
            return found
        if not isinstance(item_id, UUID):
            raise NotFound(self._kind.entity, item_id)
        loaded = self._uow._load(self._kind, item_id)
        if loaded is None:
            raise NotFound(self._kind.entity, item_id)
        return self._track(loaded)

    def get_by(self, field: str, value: Any) -> A:
        """The aggregate whose unique ``field`` is ``value`` (NotFound otherwise)."""
        kind = self._kind
        spec = kind.field(field) if field in kind.field_names else None
        if spec is None or not spec.unique:
            raise ValidationError(kind.entity, field, "is not a unique query field")
        value = _normalise(value)
        if not isinstance(value, spec.type) or isinstance(value, bool) != (spec.type is bool):
            raise NotFound(kind.entity, value)
        for item in self.seen.values():
            if spec.read(item) == value:
                return item
        loaded = self._uow._load_by(kind, field, value)
        if loaded is None:
            raise NotFound(kind.entity, value)
        return self._track(loaded)

    def find(self, *, limit: int | None = None, **criteria: Any) -> list[A]:
        """Aggregates matching every criterion, in the kind's order (working copies first)."""
        kind = self._kind
        wanted = normalise_criteria(kind, criteria)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 0):
            raise ValidationError(kind.entity, "limit", "must be a whole number >= 0")
        if limit == 0:
            return []
        fetch = None if limit is None else limit + len(self.seen)
        found: dict[UUID, A] = {}
        for item in self._uow._query(kind, wanted, fetch):
            found[item.id] = self.seen.get(item.id) or self._track(item)
        for item in self.seen.values():
            found.setdefault(item.id, item)
        result = sorted(
            (item for item in found.values() if matches(kind, item, wanted)), key=kind.sort_key
        )
        return result if limit is None else result[:limit]

    def _new_change(self, item: A) -> Change:
        problems = [] if chained_by_steps(item) else verify_chain(item.record)
        if problems:
            raise StorageError(f"{self._kind.entity} {item.id}: R9 record is not intact: "
                               + "; ".join(problems))
        return Change(self._kind, item, True, 0, 0)


class TrackingUnitOfWork(abc.ABC):
    """The shared :class:`~aftersales.ports.UnitOfWork` logic; adapters implement the
    abstract primitives."""

    def __init__(self, kinds: Kinds) -> None:
        self.kinds = kinds
        self._repositories: dict[str, TrackedRepository[Any]] = {}
        self._touched: list[tuple[TrackedRepository[Any], UUID]] = []
        self._keys: dict[str, IdempotencyRecord] = {}
        self._peeked: dict[tuple[str, UUID], tuple[AggregateKind[Any], int]] = {}
        self._committed_events: list[AggregateEvent] = []

    # --- primitives an adapter implements -----------------------------------------------

    @abc.abstractmethod
    def _load(self, kind: AggregateKind[A], item_id: UUID) -> A | None:
        """A fresh copy of the committed aggregate (record included), or None."""

    @abc.abstractmethod
    def _load_by(self, kind: AggregateKind[A], field: str, value: Any) -> A | None:
        """A fresh copy of the committed aggregate whose unique ``field`` is ``value``."""

    @abc.abstractmethod
    def _query(self, kind: AggregateKind[A], criteria: Criteria, limit: int | None) -> list[A]:
        """Fresh copies of committed aggregates matching ``criteria``, in the kind's order,
        at most ``limit`` of them."""

    @abc.abstractmethod
    def _unique_holder(
        self, kind: AggregateKind[Any], fields: tuple[str, ...], values: tuple[Any, ...]
    ) -> UUID | None:
        """The id of the committed aggregate holding these unique values, or None."""

    @abc.abstractmethod
    def _key(self, scope: str) -> IdempotencyRecord | None:
        """The committed idempotency record of ``scope``, or None."""

    @abc.abstractmethod
    def _write(self, commit: CommitSet) -> None:
        """Write ``commit`` atomically, or raise (ConcurrencyConflict when a version check,
        a read check, a unique value or a key lost a race) and write nothing."""

    def _discard(self) -> None:  # noqa: B027 - optional hook
        """Release whatever the adapter holds for the transaction (after commit/rollback)."""

    # --- the port -------------------------------------------------------------------------

    def repository(self, kind: AggregateKind[A]) -> TrackedRepository[A]:
        """The repository of ``kind`` (ConfigurationError if the store does not hold it)."""
        repo = self._repositories.get(kind.table)
        if repo is None:
            if kind not in self.kinds:
                raise ConfigurationError(f"this store holds no {kind.entity} (declare its kind)")
            repo = self._repositories[kind.table] = TrackedRepository(self, kind)
        return repo

    def peek(self, kind: AggregateKind[A], item_id: UUID) -> A:
        """A read-only look at one committed aggregate (NotFound when there is none): it
        joins the read set (its version is checked at commit) but is never written, and it
        may be shared with the store, so never change it. The runner reads the acting actor
        this way; load with ``repository(kind).get`` to change an aggregate."""
        repo = self.repository(kind)
        known = repo.seen.get(item_id) if isinstance(item_id, UUID) else None
        if known is not None:
            return known
        if not isinstance(item_id, UUID):
            raise NotFound(kind.entity, item_id)
        found = self._peek(kind, item_id)
        if found is None:
            raise NotFound(kind.entity, item_id)
        self._peeked.setdefault((kind.table, item_id), (kind, found.version))
        return found

    def _peek(self, kind: AggregateKind[A], item_id: UUID) -> A | None:
        """The committed aggregate for :meth:`peek` (default: a full load); an adapter may
        return a cheaper read-only view (without copying, or without its record)."""
        return self._load(kind, item_id)

    @property
    def actors(self) -> TrackedRepository[Actor]:
        """R30 the directory."""
        return self.repository(ACTORS)

    @property
    def customers(self) -> TrackedRepository[Customer]:
        """R1 customer files."""
        return self.repository(CUSTOMERS)

    @property
    def equipment(self) -> TrackedRepository[Equipment]:
        """R2 equipment files."""
        return self.repository(EQUIPMENT)

    @property
    def plans(self) -> TrackedRepository[ServicePlan]:
        """R4 service plans."""
        return self.repository(SERVICE_PLANS)

    @property
    def requests(self) -> TrackedRepository[ServiceRequest]:
        """Service requests."""
        return self.repository(REQUESTS)

    @property
    def repairs(self) -> TrackedRepository[RepairOrder]:
        """R13 depot repair orders."""
        return self.repository(REPAIR_ORDERS)

    @property
    def outsourced(self) -> TrackedRepository[OutsourcedRepair]:
        """R14 outsourced repairs."""
        return self.repository(OUTSOURCED_REPAIRS)

    @property
    def vendors(self) -> TrackedRepository[Vendor]:
        """R14 the vendor registry."""
        return self.repository(VENDORS)

    @property
    def parts(self) -> TrackedRepository[Part]:
        """R28 the parts catalogue."""
        return self.repository(PARTS)

    @property
    def stock(self) -> TrackedRepository[Stock]:
        """R28 stock per location."""
        return self.repository(STOCK)

    @property
    def idempotency(self) -> _Keys:
        """Idempotency records."""
        return _Keys(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def _reset(self) -> None:
        for repo in self._repositories.values():
            repo.reset()
        self._touched = []
        self._keys = {}
        self._peeked = {}

    def rollback(self) -> None:
        """Forget everything staged since the last commit."""
        try:
            self._reset()
        finally:
            self._discard()

    def _collect(self) -> CommitSet:
        changes: list[Change] = []
        reads: list[Read] = []
        events: list[AggregateEvent] = []
        done: set[tuple[str, UUID]] = set()
        for repo, item_id in self._touched:
            key = (repo.kind.table, item_id)
            if key in done:
                continue
            done.add(key)
            item = repo.seen[item_id]
            kind = repo.kind
            if item_id in repo.new:
                change = repo._new_change(item)
                sequence = 0
            elif item.pending_events:
                version, record, sequence = repo.loaded[item_id]
                change = Change(kind, item, False, version, len(record))
                _check_record(kind, item, record)
            else:
                reads.append(Read(kind, item_id, repo.loaded[item_id][0]))
                continue
            _check_events(kind, item, sequence)
            changes.append(change)
            events.extend(item.pending_events)
        for (table, item_id), (kind, version) in self._peeked.items():
            if (table, item_id) not in done:
                reads.append(Read(kind, item_id, version))
        return CommitSet(tuple(changes), tuple(reads), tuple(self._keys.values()), tuple(events))

    def commit(self) -> None:
        """Write every added or changed aggregate, the idempotency records and the events in
        one transaction, after checking versions and the read set."""
        try:
            commit = self._collect()
            self._write(commit)
            for change in commit.changes:
                change.item.version = change.new_version
                change.item.pending_events.clear()
            self._committed_events.extend(commit.events)
            self._reset()
        finally:
            self._discard()

    def collect_new_events(self) -> list[AggregateEvent]:
        """Events committed by this unit of work since the last call."""
        events, self._committed_events = self._committed_events, []
        return events


def _check_record(
    kind: AggregateKind[Any], item: Aggregate, stored: tuple[RecordEntry, ...]
) -> None:
    """R9: the stored entries are still there, untouched, and the new ones chain on."""
    record = item.record
    if len(record) < len(stored) or not all(map(operator.is_, record, stored)):
        raise StorageError(
            f"{kind.entity} {item.id}: R9 its record was rewritten (entries already stored "
            "were changed or removed); the record only grows"
        )
    if chained_by_steps(item, len(stored)):
        return  # every new entry was chained by the aggregate's own record_step
    previous = stored[-1].digest if stored else ""
    problems = verify_chain(record[len(stored):], previous, len(stored) + 1)
    if problems:
        raise StorageError(f"{kind.entity} {item.id}: R9 new record entries do not chain: "
                           + "; ".join(problems))


def _check_events(kind: AggregateKind[Any], item: Aggregate, sequence: int) -> None:
    for offset, event in enumerate(item.pending_events, start=1):
        if event.aggregate_id != item.id or event.sequence != sequence + offset:
            raise StorageError(
                f"{kind.entity} {item.id}: event {event.name} has aggregate "
                f"{event.aggregate_id} and sequence {event.sequence}; expected {item.id} "
                f"and {sequence + offset}"
            )


class _Keys:
    """The :class:`~aftersales.ports.IdempotencyStore` of a unit of work."""

    def __init__(self, uow: TrackingUnitOfWork) -> None:
        self._uow = uow

    def get(self, scope: str) -> IdempotencyRecord | None:
        staged = self._uow._keys.get(scope)
        return staged if staged is not None else self._uow._key(scope)

    def put(self, record: IdempotencyRecord) -> None:
        if self.get(record.scope) is not None:
            raise ConcurrencyConflict("IdempotencyKey", record.command, 0,
                                      why="the key was recorded meanwhile")
        self._uow._keys[record.scope] = record


def ids(items: Iterable[Aggregate]) -> list[UUID]:
    """The ids of ``items``."""
    return [i.id for i in items]
