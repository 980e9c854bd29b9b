"""The service request aggregate (R5-R12) and its jobs.

A :class:`ServiceRequest` is registered with a service number (R7), carries a priority derived
from impact × urgency (R8), and keeps an append-only record of every step (R9). The work on a
request happens in jobs: a :class:`RemoteJob` (R11) or an :class:`OnSiteJob` (R12); escalation
adds a new job and keeps the old one.

This module holds data and invariants only. The state changes are driven by the workflow
machines in :mod:`aftersales.workflows`, which append to the record and emit events here.
"""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import attrs

from aftersales.domain.kernel import (
    Aggregate,
    AggregateKind,
    QueryField,
    RecordEntry,
    clone_attrs,
)
from aftersales.domain.values import Category, Channel, Impact, Money, Priority, Urgency

__all__ = [
    "REQUESTS",
    "ContactLog",
    "DispatchApproval",
    "Job",
    "OnSiteJob",
    "OnSiteState",
    "RecordEntry",
    "RemoteJob",
    "RemoteState",
    "RequestState",
    "Reschedule",
    "ServiceReport",
    "ServiceRequest",
    "WorkEntry",
]


class RequestState(enum.StrEnum):
    """R10: the request lifecycle."""

    REGISTERED = "registered"
    ROUTED = "routed"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CONFIRMED = "confirmed"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    HANDED_TO_DEPOT = "handed_to_depot"  # the unit is to go to depot repair (R13)
    AT_DEPOT = "at_depot"  # received at the depot under a repair order (R13)


class RemoteState(enum.StrEnum):
    """R11: remote service by phone, e-mail or remote login."""

    WORKING = "working"
    RESOLVED = "resolved"
    ESCALATED_ONSITE = "escalated_onsite"
    HANDED_TO_DEPOT = "handed_to_depot"
    CANCELLED = "cancelled"


class OnSiteState(enum.StrEnum):
    """R12: on-site service."""

    PLANNED = "planned"  # engineer to confirm the need with the customer
    AWAITING_APPROVAL = "awaiting_approval"  # supervisor approves the dispatch
    APPROVED = "approved"
    PREPARING = "preparing"  # parts and tools
    TRAVELLING = "travelling"
    ON_SITE = "on_site"
    CONSULTATION = "consultation"  # 会诊: not solved on site, a plan is being made
    REVISIT_PLANNED = "revisit_planned"
    SIGNED_OFF = "signed_off"  # customer signed the service report
    HANDED_TO_DEPOT = "handed_to_depot"
    CANCELLED = "cancelled"


class DispatchApproval(enum.StrEnum):
    """R12: the supervisor's approval of an on-site dispatch; never skipped."""

    MISSING = "missing"
    APPROVED = "approved"  # before dispatch
    EMERGENCY_PENDING = "emergency_pending"  # engineer went first; approval still to record
    RETRO_APPROVED = "retro_approved"  # 补办手续: recorded afterwards

    @property
    def recorded(self) -> bool:
        """True once a supervisor's approval is on file."""
        return self in (DispatchApproval.APPROVED, DispatchApproval.RETRO_APPROVED)


@attrs.frozen
class ContactLog:
    """R11: one remote contact with the customer."""

    at: datetime
    channel: Channel
    summary: str


@attrs.frozen
class WorkEntry:
    """R12: work done on site."""

    at: datetime
    description: str


@attrs.frozen
class Reschedule:
    """R12: a promised visit that could not be kept, with the reason."""

    at: datetime
    previous: datetime | None
    new: datetime
    reason: str


@attrs.frozen
class ServiceReport:
    """R3/R12: the technical service report the customer signs on site."""

    found: str
    result: str
    signed_by: str
    signed_at: datetime
    parts_replaced: tuple[str, ...] = ()
    fee: Money | None = None
    open_issues: str = ""
    measurements: tuple[tuple[str, str], ...] = ()
    rating: int | None = None
    remarks: str = ""


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class RemoteJob:
    """R11: a remote service job; every contact is recorded."""

    id: UUID
    engineer_id: UUID
    started_at: datetime
    state: str = attrs.field(default=RemoteState.WORKING, converter=str)
    contacts: list[ContactLog] = attrs.field(factory=list)
    kind: str = "remote"

    def clone(self) -> RemoteJob:
        """A copy whose lists can change without touching this one."""
        copy: RemoteJob = clone_attrs(self)
        return copy

    @property
    def finished(self) -> bool:
        """True in a final state."""
        return self.state != RemoteState.WORKING

    @property
    def succeeded(self) -> bool:
        """True if the job solved the problem."""
        return self.state == RemoteState.RESOLVED


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class OnSiteJob:
    """R12: an on-site visit (and its revisits after a consultation)."""

    id: UUID
    engineer_id: UUID
    planned_at: datetime
    promised_at: datetime | None = None
    state: str = attrs.field(default=OnSiteState.PLANNED, converter=str)
    approval: DispatchApproval = DispatchApproval.MISSING
    approved_by: UUID | None = None
    need_confirmed_at: datetime | None = None
    arrivals: list[datetime] = attrs.field(factory=list)
    work: list[WorkEntry] = attrs.field(factory=list)
    reschedules: list[Reschedule] = attrs.field(factory=list)
    consultation_plans: list[str] = attrs.field(factory=list)
    report: ServiceReport | None = None
    kind: str = "onsite"

    def clone(self) -> OnSiteJob:
        """A copy whose lists can change without touching this one."""
        copy: OnSiteJob = clone_attrs(self)
        return copy

    @property
    def finished(self) -> bool:
        """True in a final state."""
        return self.state in (
            OnSiteState.SIGNED_OFF, OnSiteState.HANDED_TO_DEPOT, OnSiteState.CANCELLED
        )

    @property
    def succeeded(self) -> bool:
        """True once the customer signed the service report."""
        return self.state == OnSiteState.SIGNED_OFF


Job = RemoteJob | OnSiteJob


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class ServiceRequest(Aggregate):
    """A customer's request (客户问题): the aggregate root of the request flows.

    ``state`` is a state of the ``request`` workflow (the shipped ones are the values of
    :class:`RequestState`; an extended workflow may add its own). ``repair_order_id`` names
    the depot repair order while the unit is at the depot (R13).
    """

    number: str  # R7: unique, human-readable service number
    customer_id: UUID
    category: Category
    channel: Channel
    impact: Impact
    urgency: Urgency
    priority: Priority
    summary: str
    registered_at: datetime
    equipment_id: UUID | None = None
    state: str = attrs.field(default=RequestState.REGISTERED, converter=str)
    department: str | None = None
    engineer_id: UUID | None = None
    jobs: list[Job] = attrs.field(factory=list)
    customer_confirmed_at: datetime | None = None
    repair_order_id: UUID | None = None

    @property
    def current_job(self) -> Job | None:
        """The newest job, if any."""
        return self.jobs[-1] if self.jobs else None

    @property
    def active_job(self) -> Job | None:
        """The newest job if it is still running."""
        job = self.current_job
        return job if job is not None and not job.finished else None

    def job(self, job_id: UUID) -> Job | None:
        """The job with ``job_id``, if this request has it."""
        return next((j for j in self.jobs if j.id == job_id), None)

    @property
    def onsite_approvals_recorded(self) -> bool:
        """R12: no on-site job went out on the emergency path without its approval recorded."""
        return not any(
            isinstance(j, OnSiteJob) and j.approval == DispatchApproval.EMERGENCY_PENDING
            for j in self.jobs
        )

    @property
    def current_job_succeeded(self) -> bool:
        """True when the newest job solved the problem (remote resolved or report signed)."""
        job = self.current_job
        return job is not None and job.succeeded

    @property
    def emergency_approval_pending(self) -> bool:
        """R12: an emergency dispatch is still waiting for its approval to be recorded."""
        return not self.onsite_approvals_recorded


REQUESTS: AggregateKind[ServiceRequest] = AggregateKind(
    cls=ServiceRequest,
    entity="ServiceRequest",
    table="service_requests",
    fields=[
        QueryField("number", str, unique=True, max_length=64),
        QueryField("customer_id", UUID),
        QueryField("equipment_id", UUID),
        QueryField("engineer_id", UUID),
        QueryField("state", str, max_length=64),
        QueryField("priority", int),
        QueryField("registered_at", datetime),
    ],
    order_by=["registered_at", "number"],
    indexes=[
        ("state", "priority", "registered_at", "number"),
        ("customer_id", "state"),
        ("engineer_id", "state"),
    ],
    number_prefix="SR",
    owner_field="customer_id",
    assignee_field="engineer_id",
    workflows=["request", "remote", "onsite"],
    description="service requests (R5-R12)",
)
