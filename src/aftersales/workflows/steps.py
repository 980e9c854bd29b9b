"""The steps of the request flows: each validates its input, fires the shared machines on the
request and its jobs, appends to the record (R9) and emits one domain event.

A step either completes or raises an :mod:`aftersales.errors` exception before changing
anything: every check runs before the first mutation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from aftersales.domain import events as ev
from aftersales.domain.priority import PriorityMatrix
from aftersales.domain.records import Actor
from aftersales.domain.request import (
    ContactLog,
    DispatchApproval,
    Job,
    OnSiteJob,
    RemoteJob,
    RequestState,
    Reschedule,
    ServiceReport,
    ServiceRequest,
    WorkEntry,
)
from aftersales.domain.values import Category, Channel, Impact, Money, Urgency, check_text
from aftersales.domain.values import require_aware as _aware
from aftersales.errors import InvalidTransition, ValidationError
from aftersales.workflows.core import Workflow, active, replay_record
from aftersales.workflows.definitions import ONSITE, REMOTE, REQUEST

__all__ = [
    "ONSITE_FLOW",
    "REMOTE_FLOW",
    "REQUEST_FLOW",
    "REQUEST_WORKFLOWS",
    "verify_record",
]

REQUEST_FLOW = Workflow(REQUEST, "ServiceRequest")
REMOTE_FLOW = Workflow(REMOTE, "RemoteJob")
ONSITE_FLOW = Workflow(ONSITE, "OnSiteJob")

#: The request flows by name (the full registry is :data:`aftersales.workflows.WORKFLOWS`).
REQUEST_WORKFLOWS: dict[str, Workflow] = {
    w.name: w for w in (REQUEST_FLOW, REMOTE_FLOW, ONSITE_FLOW)
}

_E = TypeVar("_E", bound=ev.RequestEvent)
_ENTITY = "ServiceRequest"


def _text(field: str, value: object, *, required: bool = True) -> str:
    return check_text(_ENTITY, field, value, required=required)


def _uuid(field: str, value: object) -> UUID:
    if not isinstance(value, UUID):
        raise ValidationError(_ENTITY, field, f"expected a UUID, got {type(value).__name__}")
    return value


def _actor(actor: object) -> Actor:
    if not isinstance(actor, Actor):
        raise ValidationError(_ENTITY, "actor", "an Actor is required")
    return actor


def _record(
    request: ServiceRequest, flow: Workflow, subject_id: UUID, action: str,
    before: str | None, after: str, actor: Actor, at: datetime, note: str,
) -> None:
    request.record_step(
        at=at, actor_id=actor.id, workflow=flow.name, subject_id=subject_id, action=action,
        from_state=before, to_state=after, note=note,
    )


def _fire(
    request: ServiceRequest, flow: Workflow, subject: Any, trigger: str,
    actor: Actor, at: datetime, note: str = "",
) -> None:
    label = request.number if subject is request else f"{subject.id} of {request.number}"
    before, after = flow.fire(subject, trigger, label, request)
    _record(request, flow, subject.id, trigger, before, after, actor, at, note)


def _emit(request: ServiceRequest, cls: type[_E], actor: Actor, at: datetime, **kw: Any) -> _E:
    return request.emit(cls, actor_id=actor.id, at=at, **kw)


def _active(request: ServiceRequest, kind: type[Job], action: str) -> Any:
    job = request.active_job
    if not isinstance(job, kind):
        have = f"its active job is {job.kind}" if job is not None else "it has no active job"
        raise InvalidTransition(
            _ENTITY, request.number, f"{request.state} ({have})", action.replace("_", " ")
        )
    return job


# --- registration and routing (R5-R8) -------------------------------------------------------


def register(
    *, request_id: UUID, number: str, customer_id: UUID, category: Category, channel: Channel,
    impact: Impact, urgency: Urgency, summary: str, actor: Actor, at: datetime,
    matrix: PriorityMatrix, equipment_id: UUID | None = None,
) -> ServiceRequest:
    """R7: a new request with its service number; priority from the matrix (R8)."""
    _uuid("id", request_id)
    _text("number", number)
    _uuid("customer_id", customer_id)
    if equipment_id is not None:
        _uuid("equipment_id", equipment_id)
    if not isinstance(category, Category):
        raise ValidationError(_ENTITY, "category", f"unknown category {category!r}")
    if not isinstance(channel, Channel):
        raise ValidationError(_ENTITY, "channel", f"unknown channel {channel!r}")
    _text("summary", summary)
    _actor(actor)
    _aware(_ENTITY, "at", at)
    priority = matrix.priority(impact, urgency)
    request = ServiceRequest(
        id=request_id, number=number, customer_id=customer_id, category=category,
        channel=channel, impact=impact, urgency=urgency, priority=priority, summary=summary,
        registered_at=at, equipment_id=equipment_id,
    )
    _record(
        request, active(REQUEST_FLOW), request.id, "register", None, request.state, actor, at, ""
    )
    _emit(
        request, ev.RequestRegistered, actor, at, number=number, customer_id=customer_id,
        equipment_id=equipment_id, category=category, channel=channel, priority=priority,
    )
    return request


def route(request: ServiceRequest, *, department: str, actor: Actor, at: datetime) -> None:
    """R7: route the request to a department."""
    _text("department", department)
    _aware(_ENTITY, "at", at)
    active(REQUEST_FLOW).check(request, "route", request.number, request)
    _fire(request, active(REQUEST_FLOW), request, "route", actor, at, department)
    request.department = department
    _emit(request, ev.RequestRouted, actor, at, department=department)


def assign(request: ServiceRequest, *, engineer_id: UUID, actor: Actor, at: datetime) -> None:
    """R11/R12: hand the task sheet to an engineer (or reassign it)."""
    _uuid("engineer_id", engineer_id)
    _aware(_ENTITY, "at", at)
    active(REQUEST_FLOW).check(request, "assign", request.number, request)
    _fire(request, active(REQUEST_FLOW), request, "assign", actor, at, str(engineer_id))
    request.engineer_id = engineer_id
    _emit(request, ev.EngineerAssigned, actor, at, engineer_id=engineer_id)


def reject(request: ServiceRequest, *, reason: str, actor: Actor, at: datetime) -> None:
    """Reject a request that is not ours to handle; the record is kept."""
    _text("reason", reason)
    _aware(_ENTITY, "at", at)
    _fire(request, active(REQUEST_FLOW), request, "reject", actor, at, reason)
    _emit(request, ev.RequestRejected, actor, at, reason=reason)


def cancel(request: ServiceRequest, *, reason: str, actor: Actor, at: datetime) -> None:
    """Cancel the request (and its running job); the record is kept."""
    _text("reason", reason)
    _aware(_ENTITY, "at", at)
    active(REQUEST_FLOW).check(request, "cancel", request.number, request)
    job = request.active_job
    if job is not None:
        flow = active(REMOTE_FLOW) if isinstance(job, RemoteJob) else active(ONSITE_FLOW)
        _fire(request, flow, job, "cancel", actor, at, reason)
    _fire(request, active(REQUEST_FLOW), request, "cancel", actor, at, reason)
    _emit(request, ev.RequestCancelled, actor, at, reason=reason)


# --- remote service (R11) --------------------------------------------------------------------


def start_remote(request: ServiceRequest, *, job_id: UUID, actor: Actor, at: datetime) -> RemoteJob:
    """R11: the assigned engineer starts remote work."""
    _uuid("job_id", job_id)
    _aware(_ENTITY, "at", at)
    active(REQUEST_FLOW).check(request, "start", request.number, request)
    assert request.engineer_id is not None  # guaranteed by the assigned state
    _fire(request, active(REQUEST_FLOW), request, "start", actor, at, "remote")
    job = RemoteJob(id=job_id, engineer_id=request.engineer_id, started_at=at)
    request.jobs.append(job)
    _record(request, active(REMOTE_FLOW), job.id, "open", None, job.state, actor, at, "")
    _emit(request, ev.RemoteWorkStarted, actor, at, job_id=job_id)
    return job


def record_contact(
    request: ServiceRequest, *, channel: Channel, summary: str, actor: Actor, at: datetime
) -> None:
    """R11: record one remote contact (phone, e-mail, remote login...)."""
    if not isinstance(channel, Channel):
        raise ValidationError(_ENTITY, "channel", f"unknown channel {channel!r}")
    _text("summary", summary)
    _aware(_ENTITY, "at", at)
    job: RemoteJob = _active(request, RemoteJob, "record_contact")
    _fire(request, active(REMOTE_FLOW), job, "record_contact", actor, at, summary)
    job.contacts.append(ContactLog(at, channel, summary))
    _emit(request, ev.ContactRecorded, actor, at, job_id=job.id, channel=channel, summary=summary)


def escalate_onsite(
    request: ServiceRequest, *, job_id: UUID, reason: str, actor: Actor, at: datetime,
    promised_at: datetime | None = None,
) -> OnSiteJob:
    """R11: remote work could not solve it; open an on-site job."""
    _uuid("job_id", job_id)
    _text("reason", reason)
    _aware(_ENTITY, "at", at)
    if promised_at is not None:
        _aware(_ENTITY, "promised_at", promised_at)
    remote: RemoteJob = _active(request, RemoteJob, "escalate_onsite")
    _fire(request, active(REMOTE_FLOW), remote, "escalate_onsite", actor, at, reason)
    job = _open_onsite(request, job_id, actor, at, promised_at)
    _emit(request, ev.EscalatedToOnSite, actor, at, from_job_id=remote.id, job_id=job_id,
          reason=reason)
    return job


def hand_to_depot(request: ServiceRequest, *, reason: str, actor: Actor, at: datetime) -> None:
    """R11/R12: the unit goes to depot repair (R13); the request waits in ``handed_to_depot``."""
    _text("reason", reason)
    _aware(_ENTITY, "at", at)
    job = request.active_job
    if job is None:
        raise InvalidTransition(_ENTITY, request.number, f"{request.state} (no active job)",
                                "hand to depot")
    flow = active(REMOTE_FLOW) if isinstance(job, RemoteJob) else active(ONSITE_FLOW)
    flow.check(job, "hand_to_depot", f"{job.id} of {request.number}", request)
    active(REQUEST_FLOW).check(request, "hand_to_depot", request.number, request)
    _fire(request, flow, job, "hand_to_depot", actor, at, reason)
    _fire(request, active(REQUEST_FLOW), request, "hand_to_depot", actor, at, reason)
    _emit(request, ev.HandedToDepot, actor, at, job_id=job.id, reason=reason)


# --- on-site service (R12) -------------------------------------------------------------------


def _open_onsite(
    request: ServiceRequest, job_id: UUID, actor: Actor, at: datetime,
    promised_at: datetime | None,
) -> OnSiteJob:
    assert request.engineer_id is not None
    job = OnSiteJob(id=job_id, engineer_id=request.engineer_id, planned_at=at,
                    promised_at=promised_at)
    request.jobs.append(job)
    _record(request, active(ONSITE_FLOW), job.id, "open", None, job.state, actor, at, "")
    return job


def start_onsite(
    request: ServiceRequest, *, job_id: UUID, actor: Actor, at: datetime,
    promised_at: datetime | None = None,
) -> OnSiteJob:
    """R12: plan an on-site visit for an assigned request."""
    _uuid("job_id", job_id)
    _aware(_ENTITY, "at", at)
    if promised_at is not None:
        _aware(_ENTITY, "promised_at", promised_at)
    active(REQUEST_FLOW).check(request, "start", request.number, request)
    _fire(request, active(REQUEST_FLOW), request, "start", actor, at, "onsite")
    job = _open_onsite(request, job_id, actor, at, promised_at)
    _emit(request, ev.OnSiteVisitPlanned, actor, at, job_id=job_id, promised_at=promised_at)
    return job


def _onsite_step(
    request: ServiceRequest, trigger: str, actor: Actor, at: datetime, note: str = ""
) -> OnSiteJob:
    _aware(_ENTITY, "at", at)
    job: OnSiteJob = _active(request, OnSiteJob, trigger)
    _fire(request, active(ONSITE_FLOW), job, trigger, actor, at, note)
    return job


def confirm_need(request: ServiceRequest, *, actor: Actor, at: datetime, note: str = "") -> None:
    """R12: the engineer confirmed with the customer that a visit is needed."""
    _text("note", note, required=False)
    job = _onsite_step(request, "confirm_need", actor, at, note)
    job.need_confirmed_at = at
    _emit(request, ev.NeedConfirmed, actor, at, job_id=job.id)


def approve_dispatch(request: ServiceRequest, *, actor: Actor, at: datetime) -> None:
    """R12: a supervisor approves the dispatch before the engineer goes."""
    job = _onsite_step(request, "approve", actor, at)
    job.approval = DispatchApproval.APPROVED
    job.approved_by = actor.id
    _emit(request, ev.DispatchApproved, actor, at, job_id=job.id)


def dispatch_emergency(
    request: ServiceRequest, *, reason: str, actor: Actor, at: datetime
) -> None:
    """R12: in an emergency the engineer goes first; the approval must follow (补办手续)."""
    _text("reason", reason)
    job = _onsite_step(request, "dispatch_emergency", actor, at, reason)
    job.approval = DispatchApproval.EMERGENCY_PENDING
    _emit(request, ev.EmergencyDispatched, actor, at, job_id=job.id, reason=reason)


def retro_approve(request: ServiceRequest, *, actor: Actor, at: datetime) -> None:
    """R12: a supervisor records the approval of an emergency dispatch afterwards."""
    _aware(_ENTITY, "at", at)
    _fire(request, active(REQUEST_FLOW), request, "retro_approve", actor, at)
    job = next(
        j for j in request.jobs
        if isinstance(j, OnSiteJob) and j.approval == DispatchApproval.EMERGENCY_PENDING
    )
    job.approval = DispatchApproval.RETRO_APPROVED
    job.approved_by = actor.id
    _emit(request, ev.DispatchRetroApproved, actor, at, job_id=job.id)


def prepare(request: ServiceRequest, *, actor: Actor, at: datetime, note: str = "") -> None:
    """R12: prepare parts and tools."""
    _text("note", note, required=False)
    job = _onsite_step(request, "prepare", actor, at, note)
    _emit(request, ev.PreparationStarted, actor, at, job_id=job.id)


def depart(request: ServiceRequest, *, actor: Actor, at: datetime) -> None:
    """R12: the engineer sets off (first visit or a revisit)."""
    job = _onsite_step(request, "depart", actor, at)
    _emit(request, ev.TravelStarted, actor, at, job_id=job.id)


def record_arrival(request: ServiceRequest, *, actor: Actor, at: datetime) -> None:
    """R12: the engineer arrived; the arrival time is recorded."""
    job = _onsite_step(request, "arrive", actor, at)
    job.arrivals.append(at)
    _emit(request, ev.EngineerArrived, actor, at, job_id=job.id, arrived_at=at)


def record_work(request: ServiceRequest, *, description: str, actor: Actor, at: datetime) -> None:
    """R12: record work done on site."""
    _text("description", description)
    job = _onsite_step(request, "record_work", actor, at, description)
    job.work.append(WorkEntry(at, description))
    _emit(request, ev.WorkRecorded, actor, at, job_id=job.id, description=description)


def sign_off(
    request: ServiceRequest, *, found: str, result: str, signed_by: str, actor: Actor,
    at: datetime, rating: int | None = None, parts_replaced: tuple[str, ...] = (),
    fee: Money | None = None, open_issues: str = "", remarks: str = "",
) -> None:
    """R12/R3: the customer signs the technical service report on site."""
    _text("found", found)
    _text("result", result)
    _text("signed_by", signed_by)
    _text("open_issues", open_issues, required=False)
    _text("remarks", remarks, required=False)
    if rating is not None and (
        not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5
    ):
        raise ValidationError(_ENTITY, "rating", "must be an integer from 1 to 5")
    if fee is not None and (not isinstance(fee, Money) or fee.is_negative):
        raise ValidationError(_ENTITY, "fee", "must be Money, not negative")
    if isinstance(parts_replaced, str) or not all(
        isinstance(p, str) and p.strip() for p in parts_replaced
    ):
        raise ValidationError(_ENTITY, "parts_replaced", "must be non-blank part names")
    job = _onsite_step(request, "sign_off", actor, at, f"signed by {signed_by}")
    job.report = ServiceReport(
        found=found, result=result, signed_by=signed_by, signed_at=at,
        parts_replaced=tuple(parts_replaced), fee=fee, open_issues=open_issues,
        rating=rating, remarks=remarks,
    )
    _emit(request, ev.ServiceReportSigned, actor, at, job_id=job.id, signed_by=signed_by,
          rating=rating)


def call_consultation(request: ServiceRequest, *, reason: str, actor: Actor, at: datetime) -> None:
    """R12: not solved on site; call a consultation (会诊)."""
    _text("reason", reason)
    job = _onsite_step(request, "call_consultation", actor, at, reason)
    _emit(request, ev.ConsultationCalled, actor, at, job_id=job.id, reason=reason)


def plan_revisit(
    request: ServiceRequest, *, plan: str, promised_at: datetime, actor: Actor, at: datetime
) -> None:
    """R12: the consultation's plan and the new visit."""
    _text("plan", plan)
    _aware(_ENTITY, "promised_at", promised_at)
    job = _onsite_step(request, "plan_revisit", actor, at, plan)
    job.consultation_plans.append(plan)
    job.promised_at = promised_at
    _emit(request, ev.RevisitPlanned, actor, at, job_id=job.id, plan=plan,
          promised_at=promised_at)


def reschedule(
    request: ServiceRequest, *, new_time: datetime, reason: str, actor: Actor, at: datetime
) -> None:
    """R12: a promised visit cannot be kept; agree a new time and record why."""
    _text("reason", reason)
    _aware(_ENTITY, "new_time", new_time)
    job: OnSiteJob = _active(request, OnSiteJob, "reschedule")
    previous = job.promised_at
    was = previous.isoformat() if previous is not None else "no time promised"
    _onsite_step(request, "reschedule", actor, at, f"{was} -> {new_time.isoformat()}: {reason}")
    job.reschedules.append(Reschedule(at, previous, new_time, reason))
    job.promised_at = new_time
    _emit(request, ev.VisitRescheduled, actor, at, job_id=job.id, previous_time=previous,
          new_time=new_time, reason=reason)


# --- resolution and closing (R10) ------------------------------------------------------------


def resolve(request: ServiceRequest, *, resolution: str, actor: Actor, at: datetime) -> None:
    """R11/R12: the problem is solved. A running remote job is resolved with it; an on-site
    job must already carry the customer's signed report."""
    _text("resolution", resolution)
    _aware(_ENTITY, "at", at)
    job = request.active_job
    if isinstance(job, RemoteJob) and request.state == RequestState.IN_PROGRESS:
        active(REMOTE_FLOW).check(job, "resolve", f"{job.id} of {request.number}", request)
        _fire(request, active(REMOTE_FLOW), job, "resolve", actor, at, resolution)
    _fire(request, active(REQUEST_FLOW), request, "resolve", actor, at, resolution)
    _emit(request, ev.RequestResolved, actor, at, resolution=resolution)


def depot_intake(
    request: ServiceRequest, *, order_id: UUID, order_number: str, actor: Actor, at: datetime
) -> None:
    """R13: the unit was received at the depot under repair order ``order_number``; the
    request waits ``at_depot`` until the order finishes (and cannot be cancelled meanwhile)."""
    _uuid("order_id", order_id)
    _text("order_number", order_number)
    _aware(_ENTITY, "at", at)
    _fire(request, active(REQUEST_FLOW), request, "depot_intake", actor, at, order_number)
    request.repair_order_id = order_id
    _emit(request, ev.AtDepot, actor, at, order_id=order_id, order_number=order_number)


def complete_depot(request: ServiceRequest, *, resolution: str, actor: Actor, at: datetime) -> None:
    """R13: the depot repair order finished (the unit was handed back, repaired or not, or
    replaced); the request awaits the customer's confirmation."""
    _text("resolution", resolution)
    _aware(_ENTITY, "at", at)
    _fire(request, active(REQUEST_FLOW), request, "depot_completed", actor, at, resolution)
    _emit(request, ev.RequestResolved, actor, at, resolution=resolution)


def confirm(request: ServiceRequest, *, actor: Actor, at: datetime, note: str = "") -> None:
    """R10: the customer confirms completion."""
    _text("note", note, required=False)
    _aware(_ENTITY, "at", at)
    _fire(request, active(REQUEST_FLOW), request, "confirm", actor, at, note)
    request.customer_confirmed_at = at
    _emit(request, ev.CustomerConfirmed, actor, at)


def reopen(request: ServiceRequest, *, reason: str, actor: Actor, at: datetime) -> None:
    """R10: the customer does not accept the resolution; back to the assigned engineer."""
    _text("reason", reason)
    _aware(_ENTITY, "at", at)
    _fire(request, active(REQUEST_FLOW), request, "reopen", actor, at, reason)
    _emit(request, ev.RequestReopened, actor, at, reason=reason)


def close(request: ServiceRequest, *, actor: Actor, at: datetime) -> None:
    """R10: close a request the customer confirmed (and, R12, whose dispatches are approved)."""
    _aware(_ENTITY, "at", at)
    _fire(request, active(REQUEST_FLOW), request, "close", actor, at)
    _emit(request, ev.RequestClosed, actor, at)


# --- the record (R9) --------------------------------------------------------------------------


def verify_record(
    request: ServiceRequest, workflows: Mapping[str, Workflow] | None = None
) -> list[str]:
    """R9: replay the request's record; return every inconsistency (empty when clean).

    The record must be intact (digests chained); each subject's entries must start from
    nothing, chain from-state to to-state, take only transitions its workflow defines, and end
    in the subject's current state; sequence numbers run 1, 2, 3 ... without gaps. Pass the
    desk's ``workflows`` (``desk.settings.workflows``) for a record written by a desk with
    extended workflows (by default: the ones active now, the shipped ones outside a command).
    """
    chosen = workflows or {}
    flows = {
        name: chosen.get(name) or active(flow) for name, flow in REQUEST_WORKFLOWS.items()
    }
    return replay_record(request.record, [request, *request.jobs], flows)
