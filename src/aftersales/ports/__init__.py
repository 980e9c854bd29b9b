"""Ports: the interfaces the service layer needs and adapters implement.

Everything here is a :class:`typing.Protocol`; implement them in your own adapters and prove
them with the contract tests in :mod:`aftersales.testing.contracts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self
from uuid import UUID

import attrs

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

__all__ = [
    "ActorRepository",
    "AuthorizationPolicy",
    "Clock",
    "CustomerRepository",
    "EquipmentRepository",
    "EventPublisher",
    "IdGenerator",
    "IdempotencyKeys",
    "Outbox",
    "OutboxMessage",
    "OutsourcedRepairRepository",
    "PartRepository",
    "RepairOrderRepository",
    "ServicePlanRepository",
    "ServiceRequestRepository",
    "StockRepository",
    "UnitOfWork",
    "VendorRepository",
]


class Clock(Protocol):
    """Where the time comes from. The domain never reads the wall clock itself."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class IdGenerator(Protocol):
    """Where ids come from. The domain never generates ids itself."""

    def new_id(self) -> UUID:
        """A fresh, globally unique id."""
        ...

    def service_number(self, at: datetime) -> str:
        """R7: a fresh human-readable service number for a request registered at ``at``."""
        ...


class EventPublisher(Protocol):
    """Receives the domain events of each committed unit of work, in order."""

    def publish(self, events: Sequence[Event]) -> None:
        """Deliver ``events`` (already committed) to whoever listens."""
        ...


class AuthorizationPolicy(Protocol):
    """R30: decides whether ``actor`` may perform ``action``.

    ``request`` is the request acted on (None for actions that create one or concern the
    records only). Raise :class:`aftersales.errors.NotAuthorized` to refuse.
    """

    def authorize(self, actor: Actor, action: str, request: ServiceRequest | None) -> None:
        """Return if allowed; raise NotAuthorized otherwise."""
        ...


class CustomerRepository(Protocol):
    """R1 customer files."""

    def add(self, customer: Customer) -> None:
        """Stage a new customer (written on commit)."""
        ...

    def get(self, customer_id: UUID) -> Customer:
        """The customer, or NotFound."""
        ...

    def save(self, customer: Customer) -> None:
        """Stage changes to a customer read in this unit of work."""
        ...


class EquipmentRepository(Protocol):
    """R2 equipment files."""

    def add(self, equipment: Equipment) -> None:
        """Stage a new unit (written on commit); serials are unique per model."""
        ...

    def get(self, equipment_id: UUID) -> Equipment:
        """The unit, or NotFound."""
        ...

    def save(self, equipment: Equipment) -> None:
        """Stage changes to a unit read in this unit of work."""
        ...

    def of_customer(self, customer_id: UUID) -> list[Equipment]:
        """Every unit owned by ``customer_id``."""
        ...


class ServicePlanRepository(Protocol):
    """R4 service plans."""

    def add(self, plan: ServicePlan) -> None:
        """Stage a new plan."""
        ...

    def get(self, plan_id: UUID) -> ServicePlan:
        """The plan, or NotFound."""
        ...

    def of_customer(self, customer_id: UUID) -> list[ServicePlan]:
        """Every plan of ``customer_id``."""
        ...


class ActorRepository(Protocol):
    """R30 the directory of people who act on the system."""

    def add(self, actor: Actor) -> None:
        """Stage a new actor."""
        ...

    def get(self, actor_id: UUID) -> Actor:
        """The actor, or NotFound."""
        ...


class ServiceRequestRepository(Protocol):
    """Service requests. Requests read here are tracked: the unit of work writes back every
    request that changed (has pending events) when it commits."""

    def add(self, request: ServiceRequest) -> None:
        """Stage a new request; its service number must be unique."""
        ...

    def get(self, request_id: UUID) -> ServiceRequest:
        """The request, or NotFound."""
        ...

    def get_by_number(self, number: str) -> ServiceRequest:
        """The request with service number ``number``, or NotFound."""
        ...

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
        """Requests matching every given criterion, oldest registration first."""
        ...


class RepairOrderRepository(Protocol):
    """R13 depot repair orders. Orders read here are tracked like requests: the unit of work
    writes back every order that changed (has pending events) when it commits."""

    def add(self, order: RepairOrder) -> None:
        """Stage a new order; its number must be unique."""
        ...

    def get(self, order_id: UUID) -> RepairOrder:
        """The order, or NotFound."""
        ...

    def find(
        self,
        *,
        request_id: UUID | None = None,
        equipment_id: UUID | None = None,
        customer_id: UUID | None = None,
        states: Iterable[DepotState] | None = None,
        limit: int | None = None,
    ) -> list[RepairOrder]:
        """Orders matching every given criterion, oldest intake first (R21 history, R3)."""
        ...


class OutsourcedRepairRepository(Protocol):
    """R14 outsourced repairs (tracked like requests)."""

    def add(self, repair: OutsourcedRepair) -> None:
        """Stage a new outsourced repair."""
        ...

    def get(self, repair_id: UUID) -> OutsourcedRepair:
        """The outsourced repair, or NotFound."""
        ...

    def find(
        self,
        *,
        order_id: UUID | None = None,
        equipment_id: UUID | None = None,
        states: Iterable[OutsourcedState] | None = None,
        limit: int | None = None,
    ) -> list[OutsourcedRepair]:
        """Outsourced repairs matching every criterion, oldest first (the R14 return ledger
        asks for ``states=[OutsourcedState.AT_VENDOR]``)."""
        ...


class VendorRepository(Protocol):
    """R14 the vendor registry."""

    def add(self, vendor: Vendor) -> None:
        """Stage a new vendor."""
        ...

    def get(self, vendor_id: UUID) -> Vendor:
        """The vendor, or NotFound."""
        ...

    def save(self, vendor: Vendor) -> None:
        """Stage changes to a vendor read in this unit of work."""
        ...

    def all(self) -> list[Vendor]:
        """Every vendor, by name."""
        ...


class PartRepository(Protocol):
    """R28 the parts catalogue, keyed by SKU."""

    def add(self, part: Part) -> None:
        """Stage a new catalogue entry; SKUs are unique."""
        ...

    def get(self, sku: str) -> Part:
        """The part, or NotFound."""
        ...

    def all(self) -> list[Part]:
        """Every part, by SKU."""
        ...


class StockRepository(Protocol):
    """R28 stock per location (one :class:`Stock` aggregate per location, tracked)."""

    def add(self, stock: Stock) -> None:
        """Stage a new stock location."""
        ...

    def get(self, location_id: UUID) -> Stock:
        """The stock of a location, or NotFound."""
        ...

    def all(self) -> list[Stock]:
        """Every location's stock, by location name."""
        ...


class IdempotencyKeys(Protocol):
    """Remembers which aggregate a command with an idempotency key produced or changed.

    A repeated key returns the first result and writes nothing twice (an ERP retrying after a
    timeout must not open two requests). Keys are written in the same transaction as the
    change they guard.
    """

    def get(self, key: str) -> UUID | None:
        """The aggregate id recorded for ``key``, or None if the key is new."""
        ...

    def put(self, key: str, aggregate_id: UUID) -> None:
        """Record ``key`` (committed with the unit of work)."""
        ...


@attrs.frozen
class OutboxMessage:
    """A committed domain event waiting to be shipped to a message broker."""

    event_id: UUID
    aggregate_id: UUID
    sequence: int
    name: str
    occurred_at: datetime
    payload: dict[str, Any]  # JSON-ready, from aftersales.serialization.event_to_dict


class Outbox(Protocol):
    """The transactional outbox: events are written with the state change that caused them.

    A relay loop ships them exactly once per ``event_id``, in order per aggregate::

        for message in outbox.pending(limit=100):
            broker.send(message.payload)
            outbox.mark_published([message.event_id])
    """

    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        """Unpublished messages; within one aggregate in ``sequence`` order."""
        ...

    def mark_published(self, event_ids: Iterable[UUID]) -> None:
        """Never return these again from :meth:`pending` (idempotent)."""
        ...


class UnitOfWork(Protocol):
    """A transaction over every repository.

    Use as a context manager; it rolls back unless :meth:`commit` was called. After a commit,
    :meth:`collect_new_events` returns the domain events of everything it touched, in order.
    """

    @property
    def customers(self) -> CustomerRepository:
        """R1 customer files."""
        ...

    @property
    def equipment(self) -> EquipmentRepository:
        """R2 equipment files."""
        ...

    @property
    def plans(self) -> ServicePlanRepository:
        """R4 service plans."""
        ...

    @property
    def actors(self) -> ActorRepository:
        """R30 the directory."""
        ...

    @property
    def requests(self) -> ServiceRequestRepository:
        """Service requests."""
        ...

    @property
    def idempotency(self) -> IdempotencyKeys:
        """Idempotency keys of commands."""
        ...

    @property
    def repairs(self) -> RepairOrderRepository:
        """R13 depot repair orders."""
        ...

    @property
    def outsourced(self) -> OutsourcedRepairRepository:
        """R14 outsourced repairs."""
        ...

    @property
    def vendors(self) -> VendorRepository:
        """R14 vendor registry."""
        ...

    @property
    def parts(self) -> PartRepository:
        """R28 parts catalogue."""
        ...

    @property
    def stock(self) -> StockRepository:
        """R28 stock per location."""
        ...

    def __enter__(self) -> Self:
        """Begin."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    def commit(self) -> None:
        """Make every staged change durable, atomically; ConcurrencyConflict if one lost a race."""
        ...

    def rollback(self) -> None:
        """Discard every staged change."""
        ...

    def collect_new_events(self) -> list[Event]:
        """The events committed by this unit of work (each returned once)."""
        ...
