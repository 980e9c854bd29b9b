"""Domain events: one per change of a service request.

Every event carries the aggregate id, a per-aggregate ``sequence`` (ordered, gap-free), when
it happened and who did it. Its :attr:`DomainEvent.event_id` is derived from the aggregate id
and the sequence, so it is stable across retries and never random.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Protocol, runtime_checkable
from uuid import UUID, uuid5

import attrs

from aftersales.domain.values import Category, Channel, Priority

__all__ = [
    "EVENT_TYPES",
    "ConsultationCalled",
    "ContactRecorded",
    "CustomerConfirmed",
    "DispatchApproved",
    "DispatchRetroApproved",
    "DomainEvent",
    "EmergencyDispatched",
    "EngineerArrived",
    "EngineerAssigned",
    "EscalatedToOnSite",
    "Event",
    "HandedToDepot",
    "NeedConfirmed",
    "OnSiteVisitPlanned",
    "PreparationStarted",
    "RemoteWorkStarted",
    "RequestCancelled",
    "RequestClosed",
    "RequestRegistered",
    "RequestRejected",
    "RequestReopened",
    "RequestResolved",
    "RequestRouted",
    "RevisitPlanned",
    "ServiceReportSigned",
    "TravelStarted",
    "VisitRescheduled",
    "WorkRecorded",
    "event_id_for",
]


def event_id_for(aggregate_id: UUID, sequence: int) -> UUID:
    """The stable id of an aggregate's ``sequence``-th event (outbox de-duplication)."""
    return uuid5(aggregate_id, str(sequence))


@runtime_checkable
class Event(Protocol):
    """What every domain event of every aggregate offers (request, repair, parts events)."""

    @property
    def aggregate_id(self) -> UUID:
        """The id of the aggregate the event belongs to."""
        ...

    @property
    def sequence(self) -> int:
        """Position in the aggregate's event stream (1, 2, 3 ...)."""
        ...

    @property
    def occurred_at(self) -> datetime:
        """When it happened (timezone-aware)."""
        ...

    @property
    def actor_id(self) -> UUID:
        """Who did it."""
        ...

    @property
    def event_id(self) -> UUID:
        """A stable id derived from the aggregate id and the sequence."""
        ...

    @property
    def name(self) -> str:
        """The event's type name."""
        ...


@attrs.frozen(kw_only=True)
class DomainEvent:
    """Base of every domain event."""

    aggregate: ClassVar[str] = "ServiceRequest"
    request_id: UUID
    sequence: int
    occurred_at: datetime
    actor_id: UUID

    @property
    def aggregate_id(self) -> UUID:
        """The id of the aggregate the event belongs to (the request)."""
        return self.request_id

    @property
    def event_id(self) -> UUID:
        """Stable id: the same change always has the same id (outbox de-duplication)."""
        return event_id_for(self.request_id, self.sequence)

    @property
    def name(self) -> str:
        """The event's type name, e.g. ``"EngineerAssigned"``."""
        return type(self).__name__


@attrs.frozen(kw_only=True)
class RequestRegistered(DomainEvent):
    """R7: a request was registered with its service number."""

    number: str
    customer_id: UUID
    equipment_id: UUID | None
    category: Category
    channel: Channel
    priority: Priority


@attrs.frozen(kw_only=True)
class RequestRouted(DomainEvent):
    """R7: routed to a department."""

    department: str


@attrs.frozen(kw_only=True)
class EngineerAssigned(DomainEvent):
    """R11/R12: an engineer got the task sheet (技术服务任务单)."""

    engineer_id: UUID


@attrs.frozen(kw_only=True)
class RemoteWorkStarted(DomainEvent):
    """R11: remote work began."""

    job_id: UUID


@attrs.frozen(kw_only=True)
class ContactRecorded(DomainEvent):
    """R11: a remote contact with the customer."""

    job_id: UUID
    channel: Channel
    summary: str


@attrs.frozen(kw_only=True)
class EscalatedToOnSite(DomainEvent):
    """R11: remote work could not solve it; an on-site job was opened."""

    from_job_id: UUID
    job_id: UUID
    reason: str


@attrs.frozen(kw_only=True)
class HandedToDepot(DomainEvent):
    """R11/R12: the unit goes to depot repair (R13)."""

    job_id: UUID
    reason: str


@attrs.frozen(kw_only=True)
class OnSiteVisitPlanned(DomainEvent):
    """R12: an on-site job was opened."""

    job_id: UUID
    promised_at: datetime | None


@attrs.frozen(kw_only=True)
class NeedConfirmed(DomainEvent):
    """R12: the engineer confirmed the need for a visit with the customer."""

    job_id: UUID


@attrs.frozen(kw_only=True)
class DispatchApproved(DomainEvent):
    """R12: a supervisor approved the dispatch before it happened."""

    job_id: UUID


@attrs.frozen(kw_only=True)
class EmergencyDispatched(DomainEvent):
    """R12: the engineer went first in an emergency; approval to be recorded afterwards."""

    job_id: UUID
    reason: str


@attrs.frozen(kw_only=True)
class DispatchRetroApproved(DomainEvent):
    """R12: a supervisor recorded the approval after an emergency dispatch (补办手续)."""

    job_id: UUID


@attrs.frozen(kw_only=True)
class PreparationStarted(DomainEvent):
    """R12: parts and tools are being prepared."""

    job_id: UUID


@attrs.frozen(kw_only=True)
class TravelStarted(DomainEvent):
    """R12: the engineer is on the way."""

    job_id: UUID


@attrs.frozen(kw_only=True)
class EngineerArrived(DomainEvent):
    """R12: arrival time recorded."""

    job_id: UUID
    arrived_at: datetime


@attrs.frozen(kw_only=True)
class WorkRecorded(DomainEvent):
    """R12: on-site work recorded."""

    job_id: UUID
    description: str


@attrs.frozen(kw_only=True)
class ServiceReportSigned(DomainEvent):
    """R12/R3: the customer signed the service report."""

    job_id: UUID
    signed_by: str
    rating: int | None


@attrs.frozen(kw_only=True)
class ConsultationCalled(DomainEvent):
    """R12: not solved on site; consultation (会诊) called."""

    job_id: UUID
    reason: str


@attrs.frozen(kw_only=True)
class RevisitPlanned(DomainEvent):
    """R12: a consultation produced a plan and a new visit."""

    job_id: UUID
    plan: str
    promised_at: datetime


@attrs.frozen(kw_only=True)
class VisitRescheduled(DomainEvent):
    """R12: a promised visit could not be kept; new time and reason recorded."""

    job_id: UUID
    new_time: datetime
    reason: str


@attrs.frozen(kw_only=True)
class RequestResolved(DomainEvent):
    """R10: the problem is solved, awaiting the customer's confirmation."""

    resolution: str


@attrs.frozen(kw_only=True)
class CustomerConfirmed(DomainEvent):
    """R10: the customer confirmed completion."""


@attrs.frozen(kw_only=True)
class RequestReopened(DomainEvent):
    """R10: the customer did not accept the resolution."""

    reason: str


@attrs.frozen(kw_only=True)
class RequestClosed(DomainEvent):
    """R10: closed after the customer's confirmation."""


@attrs.frozen(kw_only=True)
class RequestCancelled(DomainEvent):
    """The request was cancelled; its record is kept."""

    reason: str


@attrs.frozen(kw_only=True)
class RequestRejected(DomainEvent):
    """The request was rejected at registration/routing (e.g. not ours); record kept."""

    reason: str


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.__name__: cls
    for cls in (
        RequestRegistered, RequestRouted, EngineerAssigned, RemoteWorkStarted, ContactRecorded,
        EscalatedToOnSite, HandedToDepot, OnSiteVisitPlanned, NeedConfirmed, DispatchApproved,
        EmergencyDispatched, DispatchRetroApproved, PreparationStarted, TravelStarted,
        EngineerArrived, WorkRecorded, ServiceReportSigned, ConsultationCalled, RevisitPlanned,
        VisitRescheduled, RequestResolved, CustomerConfirmed, RequestReopened, RequestClosed,
        RequestCancelled, RequestRejected,
    )
}
