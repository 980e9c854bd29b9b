"""Ports: the interfaces the service layer needs and adapters implement.

Everything here is a :class:`typing.Protocol` (or a plain value type); implement them in
your own adapters and prove them with the contract suite in
:mod:`aftersales.testing.contracts`. Storage is generic: one :class:`Repository` protocol
serves every declared :class:`~aftersales.domain.kernel.AggregateKind`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar
from uuid import UUID

import attrs

from aftersales.domain.kernel import Aggregate, AggregateEvent, AggregateKind
from aftersales.domain.parts import Part, Stock
from aftersales.domain.records import Actor, Customer, Equipment, ServicePlan
from aftersales.domain.repair import OutsourcedRepair, RepairOrder, Vendor
from aftersales.domain.request import ServiceRequest

__all__ = [
    "AuthorizationPolicy",
    "Clock",
    "EventPublisher",
    "IdGenerator",
    "IdempotencyRecord",
    "IdempotencyStore",
    "Outbox",
    "OutboxMessage",
    "Repository",
    "UnitOfWork",
]

A = TypeVar("A", bound=Aggregate)


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

    def number(self, prefix: str, at: datetime) -> str:
        """R7: a fresh human-readable number such as ``SR-20261123-0001`` for an aggregate of
        a numbered kind (``prefix`` from its declaration) created at ``at``."""
        ...


class EventPublisher(Protocol):
    """Receives the domain events of each committed unit of work, in order."""

    def publish(self, events: Sequence[AggregateEvent]) -> None:
        """Deliver ``events`` (already committed) to whoever listens."""
        ...


class AuthorizationPolicy(Protocol):
    """R30: decides whether ``actor`` may perform ``action`` on ``target``.

    ``actor`` is the directory's actor (never an object the caller passed); ``target`` is the
    aggregate acted on as loaded from the store (None for actions that create one) and
    ``kind`` its declaration (which names its owner and assignee fields). Raise
    :class:`aftersales.errors.NotAuthorized` to refuse.
    """

    def authorize(
        self, actor: Actor, action: str, target: Aggregate | None,
        kind: AggregateKind[Any] | None,
    ) -> None:
        """Return if allowed; raise NotAuthorized otherwise."""
        ...


class Repository(Protocol[A]):
    """The aggregates of one kind in a unit of work.

    Everything read is a working copy tracked by the unit of work: on commit it writes back
    every aggregate that was added or carries pending events, and checks that the others it
    read are unchanged (their versions), so a guard that read another aggregate cannot be
    fooled by a concurrent writer.
    """

    @property
    def kind(self) -> AggregateKind[A]:
        """The declaration of the kind."""
        ...

    def add(self, item: A) -> None:
        """Stage a new aggregate (written on commit); ValidationError for a duplicate id or a
        duplicate unique value."""
        ...

    def get(self, item_id: UUID) -> A:
        """The aggregate with ``item_id``, or NotFound."""
        ...

    def get_by(self, field: str, value: Any) -> A:
        """The aggregate whose unique query field ``field`` is ``value``, or NotFound."""
        ...

    def find(self, *, limit: int | None = None, **criteria: Any) -> list[A]:
        """Aggregates whose query fields match every criterion (a value, or a collection of
        values: any of them; None matches an absent value), in the kind's order."""
        ...


@attrs.frozen
class IdempotencyRecord:
    """What an idempotent command left behind: under ``scope`` (a digest of actor, command
    and key), the ``fingerprint`` of the command's arguments and the aggregate it produced
    or changed (``kind`` is its table name)."""

    scope: str
    fingerprint: str
    command: str
    kind: str
    aggregate_id: UUID
    created_at: datetime


class IdempotencyStore(Protocol):
    """The idempotency records of a unit of work (written with its commit)."""

    def get(self, scope: str) -> IdempotencyRecord | None:
        """The record of ``scope``, or None if the key is new."""
        ...

    def put(self, record: IdempotencyRecord) -> None:
        """Record a key (committed with the unit of work); a scope recorded already raises
        ConcurrencyConflict."""
        ...


@attrs.frozen
class OutboxMessage:
    """A committed domain event waiting to be shipped to a message broker."""

    event_id: UUID
    aggregate_type: str
    aggregate_id: UUID
    sequence: int
    name: str
    occurred_at: datetime
    payload: dict[str, Any]  # JSON-ready, from aftersales.serialization.event_to_dict


class Outbox(Protocol):
    """The transactional outbox: events are written with the state change that caused them.

    A relay loop ships them at least once, in (aggregate, sequence) order, de-duplicated
    downstream by ``event_id``::

        for message in outbox.pending(limit=100):
            broker.send(message.payload)
            outbox.mark_published([message.event_id])

    A row whose payload cannot be read is set aside (:meth:`failed`) with its error; the
    later events of its aggregate wait behind it (an aggregate's events are never delivered
    out of order) while every other aggregate keeps flowing.
    """

    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        """Unpublished messages ordered by aggregate, then sequence."""
        ...

    def mark_published(self, event_ids: Iterable[UUID]) -> None:
        """Never return these again from :meth:`pending` (idempotent)."""
        ...

    def failed(self) -> list[tuple[UUID, str]]:
        """The rows set aside: (event id, error)."""
        ...


class UnitOfWork(Protocol):
    """A transaction over every repository.

    Use as a context manager; it rolls back unless :meth:`commit` was called. After a commit,
    :meth:`collect_new_events` returns the domain events of everything it touched, in order.
    """

    def repository(self, kind: AggregateKind[A]) -> Repository[A]:
        """The repository of ``kind`` (any kind the store holds, yours included)."""
        ...

    def peek(self, kind: AggregateKind[A], item_id: UUID) -> A:
        """A read-only look at one committed aggregate (it joins the read set; never change
        it): how the runner reads the acting actor from the directory."""
        ...

    @property
    def actors(self) -> Repository[Actor]:
        """R30 the directory."""
        ...

    @property
    def customers(self) -> Repository[Customer]:
        """R1 customer files."""
        ...

    @property
    def equipment(self) -> Repository[Equipment]:
        """R2 equipment files."""
        ...

    @property
    def plans(self) -> Repository[ServicePlan]:
        """R4 service plans."""
        ...

    @property
    def requests(self) -> Repository[ServiceRequest]:
        """Service requests."""
        ...

    @property
    def repairs(self) -> Repository[RepairOrder]:
        """R13 depot repair orders."""
        ...

    @property
    def outsourced(self) -> Repository[OutsourcedRepair]:
        """R14 outsourced repairs."""
        ...

    @property
    def vendors(self) -> Repository[Vendor]:
        """R14 vendor registry."""
        ...

    @property
    def parts(self) -> Repository[Part]:
        """R28 parts catalogue."""
        ...

    @property
    def stock(self) -> Repository[Stock]:
        """R28 stock per location."""
        ...

    @property
    def idempotency(self) -> IdempotencyStore:
        """Idempotency records of commands."""
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

    def collect_new_events(self) -> list[AggregateEvent]:
        """The events committed by this unit of work (each returned once)."""
        ...
