"""Commands of the request flows (R5-R12) and their handlers: registration, routing,
assignment, remote service (R11), on-site service (R12), resolution and closing (R10)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from aftersales.domain.request import REQUESTS, ServiceRequest
from aftersales.domain.values import Category, Channel, Impact, Money, Role, Urgency
from aftersales.errors import ValidationError
from aftersales.service.commands import (
    Command,
    instant,
    integer,
    member,
    money,
    optional,
    sequence_of,
    text,
    tuple_,
    uuid,
)
from aftersales.service.runner import Context, Handler
from aftersales.workflows import steps

__all__ = [
    "REQUEST_HANDLERS",
    "ApproveDispatch",
    "Assign",
    "CallConsultation",
    "Cancel",
    "Close",
    "Confirm",
    "ConfirmNeed",
    "Depart",
    "DispatchEmergency",
    "EscalateOnsite",
    "HandToDepot",
    "PlanRevisit",
    "Prepare",
    "RecordArrival",
    "RecordContact",
    "RecordWork",
    "RegisterRequest",
    "Reject",
    "Reopen",
    "Reschedule",
    "Resolve",
    "RetroApprove",
    "Route",
    "SignOff",
    "StartOnsite",
    "StartRemote",
]


def _text(**kw: Any) -> Any:
    return attrs.field(validator=text(**kw))


def _note() -> Any:
    return attrs.field(default="", validator=text(required=False))


@attrs.frozen(kw_only=True)
class RegisterRequest(Command):
    """R7: register a request; it gets a service number and its first record entry; its
    priority comes from the desk's impact × urgency matrix (R8)."""

    name = "register_request"
    customer_id: UUID = attrs.field(validator=uuid())
    summary: str = _text(max_length=2000)
    category: Category = attrs.field(default=Category.FAULT, validator=member(Category))
    channel: Channel = attrs.field(default=Channel.PHONE, validator=member(Channel))
    impact: Impact = attrs.field(default=Impact.MODERATE, validator=member(Impact))
    urgency: Urgency = attrs.field(default=Urgency.MEDIUM, validator=member(Urgency))
    equipment_id: UUID | None = attrs.field(default=None, validator=optional(uuid()))


@attrs.frozen(kw_only=True)
class _OnRequest(Command):
    """A command on one service request."""

    request_id: UUID = attrs.field(validator=uuid())


@attrs.frozen(kw_only=True)
class Route(_OnRequest):
    """R7: route the request to a department."""

    name = "route"
    department: str = _text(max_length=200)


@attrs.frozen(kw_only=True)
class Assign(_OnRequest):
    """R11/R12: hand the task sheet to an engineer (or reassign it)."""

    name = "assign"
    engineer_id: UUID = attrs.field(validator=uuid())


@attrs.frozen(kw_only=True)
class Reject(_OnRequest):
    """Reject a request that is not ours to handle; the record is kept."""

    name = "reject"
    reason: str = _text()


@attrs.frozen(kw_only=True)
class Cancel(_OnRequest):
    """Cancel an open request (not while its unit is at the depot); the record is kept."""

    name = "cancel"
    reason: str = _text()


@attrs.frozen(kw_only=True)
class StartRemote(_OnRequest):
    """R11: the assigned engineer starts remote work."""

    name = "start_remote"


@attrs.frozen(kw_only=True)
class RecordContact(_OnRequest):
    """R11: record one remote contact (phone, e-mail, remote login ...)."""

    name = "record_contact"
    channel: Channel = attrs.field(validator=member(Channel))
    summary: str = _text()


@attrs.frozen(kw_only=True)
class EscalateOnsite(_OnRequest):
    """R11: remote work could not solve it; plan an on-site visit."""

    name = "escalate_onsite"
    reason: str = _text()
    promised_at: datetime | None = attrs.field(default=None, validator=optional(instant()))


@attrs.frozen(kw_only=True)
class HandToDepot(_OnRequest):
    """R11/R12: the unit is to go to depot repair (R13)."""

    name = "hand_to_depot"
    reason: str = _text()


@attrs.frozen(kw_only=True)
class Resolve(_OnRequest):
    """R11/R12: the assigned engineer reports the problem solved."""

    name = "resolve"
    resolution: str = _text()


@attrs.frozen(kw_only=True)
class Confirm(_OnRequest):
    """R10: the customer confirms completion (or staff record it on their behalf)."""

    name = "confirm"
    note: str = _note()


@attrs.frozen(kw_only=True)
class Reopen(_OnRequest):
    """R10: the customer does not accept the resolution."""

    name = "reopen"
    reason: str = _text()


@attrs.frozen(kw_only=True)
class Close(_OnRequest):
    """R10/R12: close a confirmed request whose dispatches are all approved."""

    name = "close"


@attrs.frozen(kw_only=True)
class StartOnsite(_OnRequest):
    """R12: plan an on-site visit for an assigned request."""

    name = "start_onsite"
    promised_at: datetime | None = attrs.field(default=None, validator=optional(instant()))


@attrs.frozen(kw_only=True)
class ConfirmNeed(_OnRequest):
    """R12: the engineer confirmed with the customer that a visit is needed."""

    name = "confirm_need"
    note: str = _note()


@attrs.frozen(kw_only=True)
class ApproveDispatch(_OnRequest):
    """R12: a supervisor approves the dispatch before the engineer goes (run by the
    supervisor: the approval is theirs)."""

    name = "approve_dispatch"


@attrs.frozen(kw_only=True)
class DispatchEmergency(_OnRequest):
    """R12: in an emergency the engineer goes first; the approval must follow."""

    name = "dispatch_emergency"
    reason: str = _text()


@attrs.frozen(kw_only=True)
class RetroApprove(_OnRequest):
    """R12: a supervisor records the approval of an emergency dispatch (补办手续)."""

    name = "retro_approve"


@attrs.frozen(kw_only=True)
class Prepare(_OnRequest):
    """R12: prepare parts and tools."""

    name = "prepare"
    note: str = _note()


@attrs.frozen(kw_only=True)
class Depart(_OnRequest):
    """R12: the engineer sets off."""

    name = "depart"


@attrs.frozen(kw_only=True)
class RecordArrival(_OnRequest):
    """R12: the engineer arrived (the time is the desk's clock)."""

    name = "record_arrival"


@attrs.frozen(kw_only=True)
class RecordWork(_OnRequest):
    """R12: record work done on site."""

    name = "record_work"
    description: str = _text()


def _parts(value: Any) -> Any:
    return tuple_(value)


@attrs.frozen(kw_only=True)
class SignOff(_OnRequest):
    """R12/R3: the customer signs the technical service report on site."""

    name = "sign_off"
    found: str = _text()
    result: str = _text()
    signed_by: str = _text(max_length=200)
    rating: int | None = attrs.field(default=None, validator=optional(integer(low=1, high=5)))
    parts_replaced: tuple[str, ...] = attrs.field(
        default=(), converter=_parts, validator=sequence_of(text(max_length=200), max_items=100)
    )
    fee: Money | None = attrs.field(default=None, validator=optional(money()))
    open_issues: str = _note()
    remarks: str = _note()


@attrs.frozen(kw_only=True)
class CallConsultation(_OnRequest):
    """R12: not solved on site; call a consultation (会诊)."""

    name = "call_consultation"
    reason: str = _text()


@attrs.frozen(kw_only=True)
class PlanRevisit(_OnRequest):
    """R12: the consultation's plan and the date of the new visit."""

    name = "plan_revisit"
    plan: str = _text()
    promised_at: datetime = attrs.field(validator=instant())


@attrs.frozen(kw_only=True)
class Reschedule(_OnRequest):
    """R12: a promised visit cannot be kept; agree a new time and record the reason (and
    the time it replaces)."""

    name = "reschedule"
    new_time: datetime = attrs.field(validator=instant())
    reason: str = _text()


# --- handlers ----------------------------------------------------------------------------


def _register(ctx: Context, cmd: RegisterRequest, _: None) -> ServiceRequest:
    customer = ctx.uow.customers.get(cmd.customer_id)
    if cmd.equipment_id is not None:
        unit = ctx.uow.equipment.get(cmd.equipment_id)
        if unit.owner_id is not None and unit.owner_id != customer.id:
            raise ValidationError("ServiceRequest", "equipment_id",
                                  f"equipment {unit.serial} belongs to another customer")
    request = steps.register(
        request_id=ctx.new_id(), number=ctx.number(REQUESTS), customer_id=customer.id,
        category=cmd.category, channel=cmd.channel, impact=cmd.impact, urgency=cmd.urgency,
        summary=cmd.summary, actor=ctx.actor, at=ctx.now,
        matrix=ctx.settings.priority_matrix, equipment_id=cmd.equipment_id,
    )
    ctx.uow.requests.add(request)
    return request


def _request(ctx: Context, cmd: _OnRequest) -> ServiceRequest:
    return ctx.uow.requests.get(cmd.request_id)


def _assign(ctx: Context, cmd: Assign, request: ServiceRequest) -> ServiceRequest:
    engineer = ctx.uow.actors.get(cmd.engineer_id)
    if not engineer.has(Role.ENGINEER) or not engineer.active:
        raise ValidationError("ServiceRequest", "engineer_id",
                              f"{engineer.name} is not an active engineer")
    steps.assign(request, engineer_id=engineer.id, actor=ctx.actor, at=ctx.now)
    return request


def _step(
    step: Callable[..., Any], *fields: str, job: bool = False
) -> Callable[[Context, Any, ServiceRequest], ServiceRequest]:
    """A handler that runs ``step`` on the request with the command's ``fields``."""

    def run(ctx: Context, cmd: Any, request: ServiceRequest) -> ServiceRequest:
        arguments = {name: getattr(cmd, name) for name in fields}
        if job:
            arguments["job_id"] = ctx.new_id()
        step(request, actor=ctx.actor, at=ctx.now, **arguments)
        return request

    return run


REQUEST_HANDLERS: tuple[Handler[Any], ...] = (
    Handler(RegisterRequest, _register),
    Handler(Route, _step(steps.route, "department"), _request,
            lambda r: (r.state, r.department)),
    Handler(Assign, _assign, _request, lambda r: (r.state, r.engineer_id)),
    Handler(Reject, _step(steps.reject, "reason"), _request),
    Handler(Cancel, _step(steps.cancel, "reason"), _request),
    Handler(StartRemote, _step(steps.start_remote, job=True), _request),
    Handler(RecordContact, _step(steps.record_contact, "channel", "summary"), _request),
    Handler(EscalateOnsite, _step(steps.escalate_onsite, "reason", "promised_at", job=True),
            _request),
    Handler(HandToDepot, _step(steps.hand_to_depot, "reason"), _request),
    Handler(Resolve, _step(steps.resolve, "resolution"), _request),
    Handler(Confirm, _step(steps.confirm, "note"), _request),
    Handler(Reopen, _step(steps.reopen, "reason"), _request),
    Handler(Close, _step(steps.close), _request),
    Handler(StartOnsite, _step(steps.start_onsite, "promised_at", job=True), _request),
    Handler(ConfirmNeed, _step(steps.confirm_need, "note"), _request),
    Handler(ApproveDispatch, _step(steps.approve_dispatch), _request),
    Handler(DispatchEmergency, _step(steps.dispatch_emergency, "reason"), _request),
    Handler(RetroApprove, _step(steps.retro_approve), _request),
    Handler(Prepare, _step(steps.prepare, "note"), _request),
    Handler(Depart, _step(steps.depart), _request),
    Handler(RecordArrival, _step(steps.record_arrival), _request),
    Handler(RecordWork, _step(steps.record_work, "description"), _request),
    Handler(SignOff, _step(steps.sign_off, "found", "result", "signed_by", "rating",
                           "parts_replaced", "fee", "open_issues", "remarks"), _request),
    Handler(CallConsultation, _step(steps.call_consultation, "reason"), _request),
    Handler(PlanRevisit, _step(steps.plan_revisit, "plan", "promised_at"), _request),
    Handler(Reschedule, _step(steps.reschedule, "new_time", "reason"), _request),
)
