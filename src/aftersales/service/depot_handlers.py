"""The handlers of the depot commands (R13, R15, R16, R20-R23, R25): each loads the order,
runs the workflow steps and re-checks the settlement (R25)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aftersales.domain.parts import PartSource
from aftersales.domain.repair import (
    REPAIR_ORDERS,
    RepairHistoryItem,
    RepairOrder,
)
from aftersales.domain.request import RequestState, ServiceRequest
from aftersales.domain.values import Role
from aftersales.errors import GuardFailed, ValidationError
from aftersales.service.depot import (
    ApproveAdditionalWork,
    ApproveEstimate,
    AssignRepairEngineer,
    DeclineAdditionalWork,
    DeclineEstimate,
    Diagnose,
    FinishRepair,
    FitPart,
    MarkReady,
    NotifyDelay,
    OrderCommand,
    ProposeAdditionalWork,
    ReceiveAtDepot,
    ReceiveDeposit,
    RecordProgressCheck,
    RecordQc,
    RecordRepairWork,
    ReopenDiagnosis,
    ResumeRepair,
    Rework,
    SendEstimate,
    SignIntake,
    StartRepair,
    WaitForParts,
)
from aftersales.service.runner import Context, Handler
from aftersales.workflows import depot, steps

__all__ = [
    "DEPOT_HANDLERS",
    "answer_name",
    "order_handler",
    "order_of",
    "still_matches_settlement",
]

_ORDER = "RepairOrder"


# --- handlers ----------------------------------------------------------------------------


def order_of(ctx: Context, cmd: OrderCommand) -> RepairOrder:
    """The target of an order command."""
    return ctx.uow.repairs.get(cmd.order_id)


def still_matches_settlement(order: RepairOrder, action: str) -> None:
    """R25: a step may not change what a settled job costs; the command is refused."""
    settled = order.settlement
    if settled is not None and order.amount_due() != settled.total:
        raise GuardFailed(_ORDER, order.number, str(order.state), action.replace("_", " "),
                          f"R25: the job was settled at {settled.total}; this would make "
                          f"{order.amount_due()} due")


def order_handler(
    command: type[OrderCommand], step: Callable[[Context, Any, RepairOrder], Any],
    outcome: Callable[[Any], Any] | None = None,
) -> Handler[Any]:
    """A handler that runs ``step`` on the command's order and re-checks the settlement."""

    def run(ctx: Context, cmd: Any, order: RepairOrder) -> RepairOrder:
        step(ctx, cmd, order)
        still_matches_settlement(order, cmd.name)
        return order

    return Handler(command, run, order_of, outcome)


def answer_name(ctx: Context, given: str | None, field: str) -> str:
    """The customer's name for an answer: given, or the acting customer's own name."""
    if given is not None:
        return given
    if not ctx.actor.has(Role.CUSTOMER):
        raise ValidationError(_ORDER, field, "staff answering for the customer name the "
                              "customer")
    return ctx.actor.name


def _history(ctx: Context, order: RepairOrder) -> list[RepairHistoryItem]:
    """R21: the unit's other orders as history items (only a unit delivered repaired counts
    as picked up)."""
    items: list[RepairHistoryItem] = []
    for other in ctx.uow.repairs.find(equipment_id=order.equipment_id):
        item = other.history_item()
        if other.id != order.id and item is not None:
            items.append(item)
    return items


def _request_of_receipt(ctx: Context, cmd: ReceiveAtDepot) -> ServiceRequest:
    return ctx.uow.requests.get(cmd.request_id)


def _receive(ctx: Context, cmd: ReceiveAtDepot, request: ServiceRequest) -> RepairOrder:
    if request.state != RequestState.HANDED_TO_DEPOT:
        raise GuardFailed("ServiceRequest", request.number, str(request.state),
                          "receive at the depot", "R13: the request was not handed to the depot")
    unit_id = request.equipment_id or cmd.equipment_id
    if unit_id is None:
        raise ValidationError(_ORDER, "equipment_id", "the request names no unit; pass one")
    if cmd.equipment_id is not None and cmd.equipment_id != unit_id:
        raise ValidationError(_ORDER, "equipment_id", "is not the request's unit")
    unit = ctx.uow.equipment.get(unit_id)
    if unit.owner_id is not None and unit.owner_id != request.customer_id:
        raise ValidationError(_ORDER, "equipment_id",
                              f"equipment {unit.serial} belongs to another customer")
    open_orders = ctx.uow.repairs.find(open_equipment_id=unit.id, limit=1)
    if open_orders:
        raise GuardFailed("Equipment", unit.serial, "at the depot", "receive at the depot",
                          f"R13: the unit is at the depot under {open_orders[0].number}")
    order = depot.open_repair_order(
        order_id=ctx.new_id(), number=ctx.number(REPAIR_ORDERS), request_id=request.id,
        equipment_id=unit.id, customer_id=request.customer_id, intake=cmd.intake,
        promised_at=cmd.promised_at, actor=ctx.actor, at=ctx.now,
        policy=ctx.settings.repair_policy, appointment=cmd.appointment,
        engineer_id=request.engineer_id,
    )
    steps.depot_intake(request, order_id=order.id, order_number=order.number,
                       actor=ctx.actor, at=ctx.now)
    ctx.uow.repairs.add(order)
    return order


def _assign_engineer(ctx: Context, cmd: AssignRepairEngineer, order: RepairOrder) -> None:
    engineer = ctx.uow.actors.get(cmd.engineer_id)
    if not engineer.has(Role.ENGINEER) or not engineer.active:
        raise ValidationError(_ORDER, "engineer_id", f"{engineer.name} is not an active engineer")
    depot.assign_engineer(order, engineer_id=engineer.id, actor=ctx.actor, at=ctx.now)


def _diagnose(ctx: Context, cmd: Diagnose, order: RepairOrder) -> None:
    unit = ctx.uow.equipment.get(order.equipment_id)
    depot.diagnose(
        order, fault=cmd.fault, cause=cmd.cause, fault_class=cmd.fault_class,
        fault_kind=cmd.fault_kind, equipment=unit, warranty_policy=ctx.settings.warranty_policy,
        actor=ctx.actor, at=ctx.now, policy=ctx.settings.repair_policy,
        findings=cmd.findings, fault_code=cmd.fault_code,
        plans=ctx.uow.plans.find(customer_id=order.customer_id),
        history=_history(ctx, order),
    )


def _fit_part(ctx: Context, cmd: FitPart, order: RepairOrder) -> None:
    months: int | None = None
    desc, origin, media = cmd.description, cmd.origin, cmd.storage_media
    if cmd.source is PartSource.OURS:
        part = ctx.uow.parts.get_by("sku", cmd.sku)
        desc = part.name if desc is None else desc
        origin = part.origin if origin is None else origin
        media = part.storage_media if media is None else media
        months = part.warranty_months
    if desc is None or origin is None:
        raise ValidationError(_ORDER, "description/origin",
                              "a customer-supplied part names its description and origin")
    depot.fit_part(
        order, sku=cmd.sku, description=desc, origin=origin, source=cmd.source,
        actor=ctx.actor, at=ctx.now, customer_insisted=cmd.customer_insisted,
        storage_media=bool(media), warranty_months=months, old_part=cmd.old_part,
    )


def _wait(ctx: Context, cmd: WaitForParts, order: RepairOrder) -> None:
    for sku, _ in cmd.needed:
        ctx.uow.parts.get_by("sku", sku)
    depot.wait_for_parts(order, needed=dict(cmd.needed), reason=cmd.reason, actor=ctx.actor,
                         at=ctx.now)


def _policy_step(step: Callable[..., Any], *fields: str) -> Callable[[Context, Any, Any], Any]:
    def run(ctx: Context, cmd: Any, order: RepairOrder) -> None:
        step(order, actor=ctx.actor, at=ctx.now, policy=ctx.settings.repair_policy,
             **{f: getattr(cmd, f) for f in fields})

    return run


def _simple(step: Callable[..., Any], *fields: str) -> Callable[[Context, Any, Any], Any]:
    def run(ctx: Context, cmd: Any, order: RepairOrder) -> None:
        step(order, actor=ctx.actor, at=ctx.now, **{f: getattr(cmd, f) for f in fields})

    return run


def _with_id(step: Callable[..., Any], *fields: str) -> Callable[[Context, Any, Any], Any]:
    def run(ctx: Context, cmd: Any, order: RepairOrder) -> None:
        step(order, estimate_id=ctx.new_id(), actor=ctx.actor, at=ctx.now,
             **{f: getattr(cmd, f) for f in fields})

    return run


def _approve(ctx: Context, cmd: ApproveEstimate, order: RepairOrder) -> None:
    depot.approve_estimate(order, approved_by=answer_name(ctx, cmd.approved_by, "approved_by"),
                           actor=ctx.actor, at=ctx.now)


def _decline(ctx: Context, cmd: DeclineEstimate, order: RepairOrder) -> None:
    depot.decline_estimate(order, declined_by=answer_name(ctx, cmd.declined_by, "declined_by"),
                           reason=cmd.reason, actor=ctx.actor, at=ctx.now,
                           policy=ctx.settings.repair_policy)


def _approve_more(ctx: Context, cmd: ApproveAdditionalWork, order: RepairOrder) -> None:
    depot.approve_additional_work(
        order, approved_by=answer_name(ctx, cmd.approved_by, "approved_by"), actor=ctx.actor,
        at=ctx.now, policy=ctx.settings.repair_policy,
    )


def _decline_more(ctx: Context, cmd: DeclineAdditionalWork, order: RepairOrder) -> None:
    depot.decline_additional_work(
        order, declined_by=answer_name(ctx, cmd.declined_by, "declined_by"), actor=ctx.actor,
        at=ctx.now,
    )


def _qc(ctx: Context, cmd: RecordQc, order: RepairOrder) -> None:
    depot.record_qc(order, results=dict(cmd.results), notes=dict(cmd.notes), actor=ctx.actor,
                    at=ctx.now)


DEPOT_HANDLERS: tuple[Handler[Any], ...] = (
    Handler(ReceiveAtDepot, _receive, _request_of_receipt),
    order_handler(AssignRepairEngineer, _assign_engineer,
                  outcome=lambda o: (o.state, o.engineer_id)),
    order_handler(SignIntake, _simple(depot.sign_intake, "signed_by")),
    order_handler(Diagnose, _diagnose),
    order_handler(ReopenDiagnosis, _simple(depot.reopen_diagnosis, "reason", "kind")),
    order_handler(SendEstimate, _with_id(depot.send_estimate, "lines")),
    order_handler(ApproveEstimate, _approve),
    order_handler(DeclineEstimate, _decline),
    order_handler(StartRepair, _simple(depot.start_repair, "note")),
    order_handler(RecordRepairWork,
                  _simple(depot.record_repair_work, "description", "wipes_data")),
    order_handler(FitPart, _fit_part),
    order_handler(ReceiveDeposit, _simple(depot.receive_deposit, "amount")),
    order_handler(WaitForParts, _wait),
    order_handler(ResumeRepair, _simple(depot.resume_repair)),
    order_handler(ProposeAdditionalWork,
                  _with_id(depot.propose_additional_work, "lines", "reason", "new_promised_at")),
    order_handler(ApproveAdditionalWork, _approve_more),
    order_handler(DeclineAdditionalWork, _decline_more),
    order_handler(FinishRepair, _simple(depot.finish_repair, "summary")),
    order_handler(RecordQc, _qc),
    order_handler(Rework, _simple(depot.rework, "reason")),
    order_handler(RecordProgressCheck, _simple(depot.record_progress_check, "note")),
    order_handler(NotifyDelay,
                  _policy_step(depot.notify_delay, "new_promised_at", "reason", "apology")),
    order_handler(MarkReady, _policy_step(depot.mark_ready, "pickup_at")),
)
