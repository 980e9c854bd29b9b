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

from aftersales.domain.events import DomainEvent
from aftersales.domain.values import Category, Channel, Impact, Money, Priority, Urgency

__all__ = [
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
    HANDED_TO_DEPOT = "handed_to_depot"  # seam for depot repair (R13)


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
class RecordEntry:
    """R9: one step of the record: who, when, what, from-state, to-state and a note.

    ``workflow`` names the machine (``request``, ``remote``, ``onsite``) and ``subject_id`` the
    entity it moved (the request itself or one of its jobs).
    """

    sequence: int
    at: datetime
    actor_id: UUID
    workflow: str
    subject_id: UUID
    action: str
    from_state: str | None
    to_state: str
    note: str = ""


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


@attrs.define(eq=False)
class RemoteJob:
    """R11: a remote service job; every contact is recorded."""

    id: UUID
    engineer_id: UUID
    started_at: datetime
    state: RemoteState = RemoteState.WORKING
    contacts: list[ContactLog] = attrs.field(factory=list)
    kind: str = "remote"

    def clone(self) -> RemoteJob:
        """A copy whose lists can change without touching this one."""
        return RemoteJob(
            self.id, self.engineer_id, self.started_at, self.state, list(self.contacts)
        )

    @property
    def finished(self) -> bool:
        """True in a final state."""
        return self.state is not RemoteState.WORKING

    @property
    def succeeded(self) -> bool:
        """True if the job solved the problem."""
        return self.state is RemoteState.RESOLVED


@attrs.define(eq=False)
class OnSiteJob:
    """R12: an on-site visit (and its revisits after a consultation)."""

    id: UUID
    engineer_id: UUID
    planned_at: datetime
    promised_at: datetime | None = None
    state: OnSiteState = OnSiteState.PLANNED
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
        return OnSiteJob(
            self.id, self.engineer_id, self.planned_at, self.promised_at, self.state,
            self.approval, self.approved_by, self.need_confirmed_at, list(self.arrivals),
            list(self.work), list(self.reschedules), list(self.consultation_plans), self.report,
        )

    @property
    def finished(self) -> bool:
        """True in a final state."""
        return self.state in (
            OnSiteState.SIGNED_OFF, OnSiteState.HANDED_TO_DEPOT, OnSiteState.CANCELLED
        )

    @property
    def succeeded(self) -> bool:
        """True once the customer signed the service report."""
        return self.state is OnSiteState.SIGNED_OFF


Job = RemoteJob | OnSiteJob


@attrs.define(eq=False)
class ServiceRequest:
    """A customer's request (客户问题): the aggregate root of the request flows."""

    id: UUID
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
    state: RequestState = RequestState.REGISTERED
    department: str | None = None
    engineer_id: UUID | None = None
    jobs: list[Job] = attrs.field(factory=list)
    record: list[RecordEntry] = attrs.field(factory=list)
    customer_confirmed_at: datetime | None = None
    version: int = 0
    event_sequence: int = 0
    pending_events: list[DomainEvent] = attrs.field(
        factory=list, init=False, repr=False, alias="_pending_events"
    )

    def clone(self) -> ServiceRequest:
        """A working copy: same values, independent lists, no pending events."""
        return ServiceRequest(
            self.id, self.number, self.customer_id, self.category, self.channel, self.impact,
            self.urgency, self.priority, self.summary, self.registered_at, self.equipment_id,
            self.state, self.department, self.engineer_id, [j.clone() for j in self.jobs],
            list(self.record), self.customer_confirmed_at, self.version, self.event_sequence,
        )

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
            isinstance(j, OnSiteJob) and j.approval is DispatchApproval.EMERGENCY_PENDING
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

    def append_record(self, entry: RecordEntry) -> None:
        """R9: append one step; the record is never rewritten."""
        self.record.append(entry)

    def next_sequence(self) -> int:
        """The sequence number for the next event of this aggregate (ordered, no gaps)."""
        self.event_sequence += 1
        return self.event_sequence

    def emit(self, event: DomainEvent) -> None:
        """Queue a domain event for the unit of work to collect."""
        self.pending_events.append(event)
