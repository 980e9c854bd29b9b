"""The in-memory adapter: every repository and the unit of work, with no database.

Reads return private working copies; a commit checks each changed aggregate's version
(optimistic concurrency, like the SQL adapter) and swaps the copies in atomically, so an
uncommitted or failed unit of work leaves the store exactly as it was.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from aftersales.domain.events import DomainEvent
from aftersales.domain.records import Customer, Equipment, ServicePlan
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
        self.events: list[DomainEvent] = []
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
            OutboxMessage(e.event_id, e.request_id, e.sequence, e.name, e.occurred_at,
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


class _Requests:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.seen: dict[UUID, ServiceRequest] = {}
        self.new: set[UUID] = set()

    def reset(self) -> None:
        if self.seen:
            self.seen = {}
            self.new = set()

    def add(self, request: ServiceRequest) -> None:
        if request.id in self._store.requests or request.id in self.seen:
            raise ValidationError("ServiceRequest", "id", f"{request.id} already exists")
        if request.number in self._store.numbers or any(
            r.number == request.number for r in self.seen.values()
        ):
            raise ValidationError("ServiceRequest", "number", f"{request.number} already exists")
        self.seen[request.id] = request
        self.new.add(request.id)

    def get(self, request_id: UUID) -> ServiceRequest:
        request = self.seen.get(request_id)
        if request is not None:
            return request
        try:
            stored = self._store.requests[request_id]
        except (KeyError, TypeError):
            raise NotFound("ServiceRequest", request_id) from None
        request = stored.clone()
        self.seen[request_id] = request
        return request

    def get_by_number(self, number: str) -> ServiceRequest:
        request_id = self._store.numbers.get(number)
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
        found: list[ServiceRequest] = []
        merged = {**self._store.requests, **self.seen}
        for request in sorted(merged.values(), key=lambda r: (r.registered_at, r.number)):
            if customer_id is not None and request.customer_id != customer_id:
                continue
            if equipment_id is not None and request.equipment_id != equipment_id:
                continue
            if engineer_id is not None and request.engineer_id != engineer_id:
                continue
            if wanted is not None and request.state not in wanted:
                continue
            if priority is not None and request.priority is not priority:
                continue
            if limit is not None and len(found) >= limit:
                break
            found.append(self.get(request.id))
        return found


class InMemoryUnitOfWork:
    """A unit of work over an :class:`InMemoryStore`."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self._committed_events: list[DomainEvent] = []
        self.customers = _Customers(store.customers)
        self.equipment = _Equipment(store.equipment, store.serials)
        self.plans = _Plans(store.plans)
        self.actors = _Actors(store.actors)
        self.requests = _Requests(store)
        self.idempotency = _Keys(store)
        self._records = (self.customers, self.equipment, self.plans, self.actors)

    def _begin(self) -> None:
        for repo in self._records:
            repo.reset()
        self.requests.reset()
        if self.idempotency.staged:
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
        changed = [
            r for r in self.requests.seen.values()
            if r.pending_events or r.id in self.requests.new
        ]
        records = [repo for repo in self._records if repo.staged]
        with store.lock:
            for request in changed:
                if request.id in self.requests.new:
                    if request.id in store.requests or request.number in store.numbers:
                        raise ValidationError(
                            "ServiceRequest", "number", f"{request.number} already exists"
                        )
                    continue
                current = store.requests[request.id]
                if current.version != request.version:
                    raise ConcurrencyConflict("ServiceRequest", request.id, request.version)
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
            for key in self.idempotency.staged:
                if key in store.idempotency_keys:
                    raise ConcurrencyConflict("IdempotencyKey", key, 0)
            events: list[DomainEvent] = []
            store.idempotency_keys.update(self.idempotency.staged)
            for request in changed:
                request.version += 1
                events.extend(request.pending_events)
                request.pending_events.clear()
                store.requests[request.id] = request.clone()
                store.numbers[request.number] = request.id
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

    def collect_new_events(self) -> list[DomainEvent]:
        """Events committed by this unit of work since the last call."""
        events, self._committed_events = self._committed_events, []
        return events
