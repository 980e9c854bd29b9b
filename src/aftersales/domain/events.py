"""Domain events: one per change of a service request.

Every event carries the aggregate id, a per-aggregate ``sequence`` (ordered, gap-free), when
it happened and who did it. Its :attr:`DomainEvent.event_id` is derived from the aggregate id
and the sequence, so it is stable across retries and never random.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from aftersales.domain.kernel import EVENT_TYPES, AggregateEvent, event_id_for
from aftersales.domain.values import Category, Channel, Priority

__all__ = [
    "EVENT_TYPES",
    "AtDepot",
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
    "RequestEvent",
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


#: The base of every domain event of every aggregate (an alias of the kernel's class).
DomainEvent = AggregateEvent

#: What every event offers; kept for type hints written against earlier releases.
Event = AggregateEvent


@attrs.frozen(kw_only=True)
class RequestEvent(AggregateEvent):
    """Base of the events of a :class:`~aftersales.domain.request.ServiceRequest`."""

    __abstract_event__ = True
    aggregate_type = "ServiceRequest"

    @property
    def request_id(self) -> UUID:
        """The request the event belongs to (its aggregate id)."""
        return self.aggregate_id


@attrs.frozen(kw_only=True)
class RequestRegistered(RequestEvent):
    """R7: a request was registered with its service number."""

    number: str
    customer_id: UUID
    equipment_id: UUID | None
    category: Category
    channel: Channel
    priority: Priority


@attrs.frozen(kw_only=True)
class RequestRouted(RequestEvent):
    """R7: routed to a department."""

    department: str


@attrs.frozen(kw_only=True)
class EngineerAssigned(RequestEvent):
    """R11/R12: an engineer got the task sheet (技术服务任务单)."""

    engineer_id: UUID


@attrs.frozen(kw_only=True)
class RemoteWorkStarted(RequestEvent):
    """R11: remote work began."""

    job_id: UUID


@attrs.frozen(kw_only=True)
class ContactRecorded(RequestEvent):
    """R11: a remote contact with the customer."""

    job_id: UUID
    channel: Channel
    summary: str


@attrs.frozen(kw_only=True)
class EscalatedToOnSite(RequestEvent):
    """R11: remote work could not solve it; an on-site job was opened."""

    from_job_id: UUID
    job_id: UUID
    reason: str


@attrs.frozen(kw_only=True)
class HandedToDepot(RequestEvent):
    """R11/R12: the unit goes to depot repair (R13)."""

    job_id: UUID
    reason: str


@attrs.frozen(kw_only=True)
class OnSiteVisitPlanned(RequestEvent):
    """R12: an on-site job was opened."""

    job_id: UUID
    promised_at: datetime | None


@attrs.frozen(kw_only=True)
class NeedConfirmed(RequestEvent):
    """R12: the engineer confirmed the need for a visit with the customer."""

    job_id: UUID


@attrs.frozen(kw_only=True)
class DispatchApproved(RequestEvent):
    """R12: a supervisor approved the dispatch before it happened."""

    job_id: UUID


@attrs.frozen(kw_only=True)
class EmergencyDispatched(RequestEvent):
    """R12: the engineer went first in an emergency; approval to be recorded afterwards."""

    job_id: UUID
    reason: str


@attrs.frozen(kw_only=True)
class DispatchRetroApproved(RequestEvent):
    """R12: a supervisor recorded the approval after an emergency dispatch (补办手续)."""

    job_id: UUID


@attrs.frozen(kw_only=True)
class PreparationStarted(RequestEvent):
    """R12: parts and tools are being prepared."""

    job_id: UUID


@attrs.frozen(kw_only=True)
class TravelStarted(RequestEvent):
    """R12: the engineer is on the way."""

    job_id: UUID


@attrs.frozen(kw_only=True)
class EngineerArrived(RequestEvent):
    """R12: arrival time recorded."""

    job_id: UUID
    arrived_at: datetime


@attrs.frozen(kw_only=True)
class WorkRecorded(RequestEvent):
    """R12: on-site work recorded."""

    job_id: UUID
    description: str


@attrs.frozen(kw_only=True)
class ServiceReportSigned(RequestEvent):
    """R12/R3: the customer signed the service report."""

    job_id: UUID
    signed_by: str
    rating: int | None


@attrs.frozen(kw_only=True)
class ConsultationCalled(RequestEvent):
    """R12: not solved on site; consultation (会诊) called."""

    job_id: UUID
    reason: str


@attrs.frozen(kw_only=True)
class RevisitPlanned(RequestEvent):
    """R12: a consultation produced a plan and a new visit."""

    job_id: UUID
    plan: str
    promised_at: datetime


@attrs.frozen(kw_only=True)
class VisitRescheduled(RequestEvent):
    """R12: a promised visit could not be kept; new time and reason recorded."""

    job_id: UUID
    previous_time: datetime | None
    new_time: datetime
    reason: str


@attrs.frozen(kw_only=True)
class RequestResolved(RequestEvent):
    """R10: the problem is solved, awaiting the customer's confirmation."""

    resolution: str


@attrs.frozen(kw_only=True)
class CustomerConfirmed(RequestEvent):
    """R10: the customer confirmed completion."""


@attrs.frozen(kw_only=True)
class RequestReopened(RequestEvent):
    """R10: the customer did not accept the resolution."""

    reason: str


@attrs.frozen(kw_only=True)
class RequestClosed(RequestEvent):
    """R10: closed after the customer's confirmation."""


@attrs.frozen(kw_only=True)
class RequestCancelled(RequestEvent):
    """The request was cancelled; its record is kept."""

    reason: str


@attrs.frozen(kw_only=True)
class RequestRejected(RequestEvent):
    """The request was rejected at registration/routing (e.g. not ours); record kept."""

    reason: str


@attrs.frozen(kw_only=True)
class AtDepot(RequestEvent):
    """R13: the unit of the request was received at the depot under a repair order; the
    request waits for the order to finish (it cannot be cancelled meanwhile)."""

    order_id: UUID
    order_number: str
