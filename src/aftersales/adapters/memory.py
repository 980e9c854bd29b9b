"""The in-memory adapter: every repository and the unit of work, with no database.

Reads return private working copies; a commit checks each changed aggregate's version
(optimistic concurrency, like the SQL adapter) and swaps the copies in atomically, so an
uncommitted or failed unit of work leaves the store exactly as it was.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID

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
from aftersales.domain.request import RequestState, ServiceRequest
from aftersales.domain.values import Actor, Priority
from aftersales.errors import ConcurrencyConflict, NotFound, ValidationError
from aftersales.ports import OutboxMessage
from aftersales.serialization import event_to_dict

__all__ = ["InMemoryOutbox", "InMemoryStore", "InMemoryUnitOfWork"]


class InMemoryStore:
    """The committed state shared by every :class:`InMemoryUnitOfWork` made from it."""

    def __init__(self) -> None:
        self.customers: dict[UUID, Customer] = {}
        self.equipment: dict[UUID, Equipment] = {}
        self.serials: dict[tuple[str, str], UUID] = {}  # (model, serial) -> equipment id
        self.plans: dict[UUID, ServicePlan] = {}
        self.actors: dict[UUID, Actor] = {}
        self.requests: dict[UUID, ServiceRequest] = {}
        self.numbers: dict[str, UUID] = {}
        self.repairs: dict[UUID, RepairOrder] = {}
        self.repair_numbers: dict[str, UUID] = {}
        self.outsourced: dict[UUID, OutsourcedRepair] = {}
        self.stock: dict[UUID, Stock] = {}
        self.vendors: dict[UUID, Vendor] = {}
        self.parts: dict[str, Part] = {}
        self.events: list[Event] = []
        self.published: set[UUID] = set()
        self.idempotency_keys: dict[str, UUID] = {}
        self.lock = threading.RLock()

    def unit_of_work(self) -> InMemoryUnitOfWork:
        """A new unit of work over this store (pass ``store.unit_of_work`` as a factory)."""
        return InMemoryUnitOfWork(self)

    def outbox(self) -> InMemoryOutbox:
        """The outbox relay API over this store's committed events."""
        return InMemoryOutbox(self)


class InMemoryOutbox:
    """:class:`~aftersales.ports.Outbox` over an :class:`InMemoryStore`."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        """Unpublished events in commit order (so in sequence order per aggregate)."""
        with self.store.lock:
            events = [e for e in self.store.events if e.event_id not in self.store.published]
        return [
            OutboxMessage(e.event_id, e.aggregate_id, e.sequence, e.name, e.occurred_at,
                          event_to_dict(e))
            for e in events[:limit]
        ]

    def mark_published(self, event_ids: Iterable[UUID]) -> None:
        """Mark events as shipped."""
        with self.store.lock:
            self.store.published.update(event_ids)


class _Keys:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.staged: dict[str, UUID] = {}

    def get(self, key: str) -> UUID | None:
        return self.staged.get(key) or self._store.idempotency_keys.get(key)

    def put(self, key: str, aggregate_id: UUID) -> None:
        if self.get(key) is not None:
            raise ValidationError("IdempotencyKey", "key", f"{key!r} already used")
        self.staged[key] = aggregate_id


class _Records:
    """Shared logic of the simple record repositories (customers, equipment, plans)."""

    entity = "record"

    def __init__(self, committed: dict[UUID, Any]) -> None:
        self._committed = committed
        self.staged: dict[UUID, Any] = {}
        self.loaded_versions: dict[UUID, int] = {}
        self.new: set[UUID] = set()

    def reset(self) -> None:
        if self.staged:
            self.staged = {}
            self.loaded_versions = {}
            self.new = set()

    def _add(self, item: Any) -> None:
        if item.id in self._committed or item.id in self.staged:
            raise ValidationError(self.entity, "id", f"{item.id} already exists")
        self.staged[item.id] = item
        self.new.add(item.id)

    def _get(self, item_id: UUID) -> Any:
        if item_id in self.staged:
            return self.staged[item_id]
        try:
            stored = self._committed[item_id]
        except (KeyError, TypeError):
            raise NotFound(self.entity, item_id) from None
        return copy.copy(stored)

    def _save(self, item: Any) -> None:
        if item.id not in self.new:
            stored = self._committed.get(item.id)
            if stored is None:
                raise NotFound(self.entity, item.id)
            self.loaded_versions.setdefault(item.id, item.version)
        self.staged[item.id] = item


class _Customers(_Records):
    entity = "Customer"

    def add(self, customer: Customer) -> None:
        self._add(customer)

    def get(self, customer_id: UUID) -> Customer:
        result: Customer = self._get(customer_id)
        return result

    def save(self, customer: Customer) -> None:
        self._save(customer)


class _Equipment(_Records):
    entity = "Equipment"

    def __init__(self, committed: dict[UUID, Any], serials: dict[tuple[str, str], UUID]) -> None:
        super().__init__(committed)
        self.serials = serials

    def add(self, equipment: Equipment) -> None:
        key = (equipment.model, equipment.serial)
        if key in self.serials or any(
            (e.model, e.serial) == key for e in self.staged.values()
        ):
            raise ValidationError(
                "Equipment", "serial", f"{equipment.model} {equipment.serial} already exists"
            )
        self._add(equipment)

    def get(self, equipment_id: UUID) -> Equipment:
        result: Equipment = self._get(equipment_id)
        return result

    def save(self, equipment: Equipment) -> None:
        self._save(equipment)

    def of_customer(self, customer_id: UUID) -> list[Equipment]:
        merged = {**self._committed, **self.staged}
        return [copy.copy(e) for e in merged.values() if e.owner_id == customer_id]


class _Plans(_Records):
    entity = "ServicePlan"

    def add(self, plan: ServicePlan) -> None:
        self._add(plan)

    def get(self, plan_id: UUID) -> ServicePlan:
        result: ServicePlan = self._get(plan_id)
        return result

    def of_customer(self, customer_id: UUID) -> list[ServicePlan]:
        merged = {**self._committed, **self.staged}
        return [copy.copy(p) for p in merged.values() if p.customer_id == customer_id]


class _Actors(_Records):
    entity = "Actor"

    def add(self, actor: Actor) -> None:
        self._add(actor)

    def get(self, actor_id: UUID) -> Actor:
        result: Actor = self._get(actor_id)
        return result


class _Tracked:
    """Shared logic of the aggregates that carry events (requests, repair orders,
    outsourced repairs, stock): working copies, numbers unique, version-checked commits."""

    entity = "aggregate"

    def __init__(self, committed: dict[UUID, Any], numbers: dict[str, UUID] | None) -> None:
        self._committed = committed
        self._numbers = numbers
        self.seen: dict[UUID, Any] = {}
        self.new: set[UUID] = set()

    def reset(self) -> None:
        if self.seen:
            self.seen = {}
            self.new = set()

    def _add(self, item: Any) -> None:
        if item.id in self._committed or item.id in self.seen:
            raise ValidationError(self.entity, "id", f"{item.id} already exists")
        if self._numbers is not None and (
            item.number in self._numbers
            or any(other.number == item.number for other in self.seen.values())
        ):
            raise ValidationError(self.entity, "number", f"{item.number} already exists")
        self.seen[item.id] = item
        self.new.add(item.id)

    def _get(self, item_id: UUID) -> Any:
        item = self.seen.get(item_id)
        if item is not None:
            return item
        try:
            stored = self._committed[item_id]
        except (KeyError, TypeError):
            raise NotFound(self.entity, item_id) from None
        item = stored.clone()
        self.seen[item_id] = item
        return item

    def _matching(
        self, keep: Callable[[Any], bool], order: Callable[[Any], Any], limit: int | None
    ) -> list[Any]:
        found: list[Any] = []
        merged = {**self._committed, **self.seen}
        for item in sorted(merged.values(), key=order):
            if not keep(item):
                continue
            if limit is not None and len(found) >= limit:
                break
            found.append(self._get(item.id))
        return found

    def changed(self) -> list[Any]:
        return [i for i in self.seen.values() if i.pending_events or i.id in self.new]

    def check(self, changed: list[Any]) -> None:
        for item in changed:
            if item.id in self.new:
                if item.id in self._committed or (
                    self._numbers is not None and item.number in self._numbers
                ):
                    raise ValidationError(self.entity, "number", f"{item.number} already exists")
                continue
            if self._committed[item.id].version != item.version:
                raise ConcurrencyConflict(self.entity, item.id, item.version)

    def apply(self, changed: list[Any], events: list[Event]) -> None:
        for item in changed:
            item.version += 1
            events.extend(item.pending_events)
            item.pending_events.clear()
            self._committed[item.id] = item.clone()
            if self._numbers is not None:
                self._numbers[item.number] = item.id


class _Requests(_Tracked):
    entity = "ServiceRequest"

    def add(self, request: ServiceRequest) -> None:
        self._add(request)

    def get(self, request_id: UUID) -> ServiceRequest:
        result: ServiceRequest = self._get(request_id)
        return result

    def get_by_number(self, number: str) -> ServiceRequest:
        assert self._numbers is not None
        request_id = self._numbers.get(number)
        if request_id is None:
            for r in self.seen.values():
                if r.number == number:
                    return r  # type: ignore[no-any-return]
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

        def keep(r: ServiceRequest) -> bool:
            return (
                (customer_id is None or r.customer_id == customer_id)
                and (equipment_id is None or r.equipment_id == equipment_id)
                and (engineer_id is None or r.engineer_id == engineer_id)
                and (wanted is None or r.state in wanted)
                and (priority is None or r.priority is priority)
            )

        return self._matching(keep, lambda r: (r.registered_at, r.number), limit)


class _RepairOrders(_Tracked):
    entity = "RepairOrder"

    def add(self, order: RepairOrder) -> None:
        self._add(order)

    def get(self, order_id: UUID) -> RepairOrder:
        result: RepairOrder = self._get(order_id)
        return result

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

        def keep(o: RepairOrder) -> bool:
            return (
                (request_id is None or o.request_id == request_id)
                and (equipment_id is None or o.equipment_id == equipment_id)
                and (customer_id is None or o.customer_id == customer_id)
                and (wanted is None or o.state in wanted)
            )

        return self._matching(keep, lambda o: (o.received_at, o.number), limit)


class _Outsourced(_Tracked):
    entity = "OutsourcedRepair"

    def add(self, repair: OutsourcedRepair) -> None:
        self._add(repair)

    def get(self, repair_id: UUID) -> OutsourcedRepair:
        result: OutsourcedRepair = self._get(repair_id)
        return result

    def find(
        self,
        *,
        order_id: UUID | None = None,
        equipment_id: UUID | None = None,
        states: Iterable[OutsourcedState] | None = None,
        limit: int | None = None,
    ) -> list[OutsourcedRepair]:
        wanted = set(states) if states is not None else None

        def keep(o: OutsourcedRepair) -> bool:
            return (
                (order_id is None or o.order_id == order_id)
                and (equipment_id is None or o.equipment_id == equipment_id)
                and (wanted is None or o.state in wanted)
            )

        return self._matching(keep, lambda o: (o.opened_at, str(o.id)), limit)


class _Stock(_Tracked):
    entity = "Stock"

    def add(self, stock: Stock) -> None:
        self._add(stock)

    def get(self, location_id: UUID) -> Stock:
        result: Stock = self._get(location_id)
        return result

    def all(self) -> list[Stock]:
        return self._matching(lambda _: True, lambda s: (s.location.name, str(s.id)), None)


class _Vendors(_Records):
    entity = "Vendor"

    def add(self, vendor: Vendor) -> None:
        self._add(vendor)

    def get(self, vendor_id: UUID) -> Vendor:
        result: Vendor = self._get(vendor_id)
        return result

    def save(self, vendor: Vendor) -> None:
        self._save(vendor)

    def all(self) -> list[Vendor]:
        merged = {**self._committed, **self.staged}
        return sorted((copy.copy(v) for v in merged.values()), key=lambda v: (v.name, str(v.id)))


class _Parts:
    def __init__(self, committed: dict[str, Part]) -> None:
        self._committed = committed
        self.staged: dict[str, Part] = {}

    def reset(self) -> None:
        if self.staged:
            self.staged = {}

    def add(self, part: Part) -> None:
        if not isinstance(part, Part):
            raise ValidationError("Part", "part", "must be a Part")
        if part.sku in self._committed or part.sku in self.staged:
            raise ValidationError("Part", "sku", f"{part.sku} already exists")
        self.staged[part.sku] = part

    def get(self, sku: str) -> Part:
        part = self.staged.get(sku) or self._committed.get(sku)
        if part is None:
            raise NotFound("Part", sku)
        return part

    def all(self) -> list[Part]:
        return sorted({**self._committed, **self.staged}.values(), key=lambda p: p.sku)


_R = TypeVar("_R", bound=_Records)
_T = TypeVar("_T", bound=_Tracked)


class InMemoryUnitOfWork:
    """A unit of work over an :class:`InMemoryStore`."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self._committed_events: list[Event] = []
        # Repositories are made on first use: most commands touch one or two of them.
        self._records: list[_Records] = []
        self._tracked: list[_Tracked] = []

    @functools.cached_property
    def customers(self) -> _Customers:
        """R1 customer files."""
        return self._record(_Customers(self.store.customers))

    @functools.cached_property
    def equipment(self) -> _Equipment:
        """R2 equipment files."""
        return self._record(_Equipment(self.store.equipment, self.store.serials))

    @functools.cached_property
    def plans(self) -> _Plans:
        """R4 service plans."""
        return self._record(_Plans(self.store.plans))

    @functools.cached_property
    def actors(self) -> _Actors:
        """R30 the directory."""
        return self._record(_Actors(self.store.actors))

    @functools.cached_property
    def vendors(self) -> _Vendors:
        """R14 vendors."""
        return self._record(_Vendors(self.store.vendors))

    @functools.cached_property
    def requests(self) -> _Requests:
        """Service requests."""
        return self._track(_Requests(self.store.requests, self.store.numbers))

    @functools.cached_property
    def repairs(self) -> _RepairOrders:
        """R13 repair orders."""
        return self._track(_RepairOrders(self.store.repairs, self.store.repair_numbers))

    @functools.cached_property
    def outsourced(self) -> _Outsourced:
        """R14 outsourced repairs."""
        return self._track(_Outsourced(self.store.outsourced, None))

    @functools.cached_property
    def stock(self) -> _Stock:
        """R28 stock per location."""
        return self._track(_Stock(self.store.stock, None))

    @functools.cached_property
    def parts(self) -> _Parts:
        """R28 parts catalogue."""
        return _Parts(self.store.parts)

    @functools.cached_property
    def idempotency(self) -> _Keys:
        """Idempotency keys."""
        return _Keys(self.store)

    def _record(self, repo: _R) -> _R:
        self._records.append(repo)
        return repo

    def _track(self, repo: _T) -> _T:
        self._tracked.append(repo)
        return repo

    def _begin(self) -> None:
        for repo in self._records:
            repo.reset()
        for tracked in self._tracked:
            tracked.reset()
        cache = self.__dict__
        if "parts" in cache:
            self.parts.reset()
        if "idempotency" in cache and self.idempotency.staged:
            self.idempotency.staged = {}

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
        """Check versions, then apply every staged change and its events atomically."""
        store = self.store
        changes = [(repo, repo.changed()) for repo in self._tracked]
        records = [repo for repo in self._records if repo.staged]
        with store.lock:
            for tracked, changed in changes:
                tracked.check(changed)
            for repo in records:
                for item_id, item in repo.staged.items():
                    if item_id in repo.new:
                        if item_id in repo._committed:
                            raise ValidationError(repo.entity, "id", f"{item_id} already exists")
                        if isinstance(item, Equipment) and (item.model, item.serial) in (
                            store.serials
                        ):
                            raise ValidationError("Equipment", "serial", f"{item.serial} exists")
                        continue
                    if repo._committed[item_id].version != repo.loaded_versions.get(
                        item_id, item.version
                    ):
                        raise ConcurrencyConflict(repo.entity, item_id, item.version)
            parts = self.parts.staged if "parts" in self.__dict__ else {}
            keys = self.idempotency.staged if "idempotency" in self.__dict__ else {}
            for sku in parts:
                if sku in store.parts:
                    raise ValidationError("Part", "sku", f"{sku} already exists")
            for key in keys:
                if key in store.idempotency_keys:
                    raise ConcurrencyConflict("IdempotencyKey", key, 0)
            events: list[Event] = []
            store.idempotency_keys.update(keys)
            store.parts.update(parts)
            for tracked, changed in changes:
                tracked.apply(changed, events)
            for repo in records:
                for item_id, item in repo.staged.items():
                    if hasattr(item, "version") and item_id not in repo.new:
                        item.version += 1
                    repo._committed[item_id] = copy.copy(item)
                    if isinstance(item, Equipment):
                        store.serials[(item.model, item.serial)] = item_id
            store.events.extend(events)
        self._committed_events.extend(events)
        self._begin()

    def rollback(self) -> None:
        """Forget everything staged since the last commit."""
        self._begin()

    def collect_new_events(self) -> list[Event]:
        """Events committed by this unit of work since the last call."""
        events, self._committed_events = self._committed_events, []
        return events
