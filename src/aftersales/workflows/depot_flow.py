"""R13 depot repair (维修服务 / 送修): the workflow as data, its shared machine and the
helpers every depot step uses."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import attrs

from aftersales.domain import repair_events as rev
from aftersales.domain.records import Actor
from aftersales.domain.repair import (
    DepotState,
    Estimate,
    EstimateLine,
    EstimateStatus,
    FaultClass,
    PromiseChange,
    RepairHistoryItem,
    RepairOrder,
    RepairPolicy,
    progress_check_at,
)
from aftersales.domain.values import Money, check_text
from aftersales.domain.values import require_aware as _require_aware
from aftersales.domain.warranty import Exclusion
from aftersales.errors import GuardFailed, ValidationError
from aftersales.workflows.core import (
    MustPassThrough,
    RequiresCondition,
    Transition,
    Workflow,
    WorkflowDefinition,
    active,
)

__all__ = ["DEPOT", "DEPOT_FLOW"]

D = DepotState
_WORKING = (D.DIAGNOSING, D.AWAITING_APPROVAL, D.APPROVED, D.REPAIRING, D.WAITING_FOR_PARTS,
            D.ADDITIONAL_WORK_PENDING, D.AT_VENDOR, D.QUALITY_CHECK)
_SETTLING = (D.READY_FOR_PICKUP, D.DECLINED, D.UNREPAIRABLE, D.REPLACEMENT_OFFERED)

DEPOT = WorkflowDefinition(
    name="depot",
    description="R13 depot repair: intake signed → diagnosis and warranty determination → "
    "estimate and approval when chargeable → repair (waiting for parts, additional work with "
    "new consent) → QC checklist → ready for pick-up (R16 notice) → settlement → delivery "
    "signed → closed; declined, unrepairable, replacement (R21) and vendor (R14) branches.",
    states=[s.value for s in DepotState],
    initial=D.INTAKE,
    finals={D.CLOSED},
    transitions=[
        Transition("sign_intake", [D.INTAKE], D.DIAGNOSING, rule="R13"),
        *[
            Transition("assign_engineer", [s], s, rule="R13")
            for s in (D.INTAKE, *_WORKING, *_SETTLING)
        ],
        Transition("diagnose", [D.DIAGNOSING], D.DIAGNOSING, rule="R13,R20,R21"),
        Transition("send_estimate", [D.DIAGNOSING], D.AWAITING_APPROVAL, ["chargeable"],
                   rule="R13,R22"),
        Transition("approve_estimate", [D.AWAITING_APPROVAL], D.APPROVED, rule="R13,R22"),
        Transition("decline_estimate", [D.AWAITING_APPROVAL], D.DECLINED, rule="R13"),
        Transition("reopen_diagnosis",
                   [D.AWAITING_APPROVAL, D.APPROVED, D.REPAIRING, D.WAITING_FOR_PARTS],
                   D.DIAGNOSING, ["unsettled"], rule="R13,R25"),
        Transition("start_repair", [D.DIAGNOSING, D.APPROVED], D.REPAIRING,
                   ["repair_authorized"], rule="R13,R22"),
        Transition("record_repair_work", [D.REPAIRING], D.REPAIRING, rule="R13"),
        Transition("fit_part", [D.REPAIRING], D.REPAIRING, rule="R13,R22,R28"),
        *[
            Transition("receive_deposit", [s], s, ["unsettled"], rule="R23,R25")
            for s in (D.APPROVED, D.REPAIRING, D.ADDITIONAL_WORK_PENDING)
        ],
        Transition("wait_for_parts", [D.REPAIRING], D.WAITING_FOR_PARTS, ["deposit_covered"],
                   rule="R13,R23,R28"),
        *[
            Transition("record_parts_reserved", [s], s, rule="R28")
            for s in (D.APPROVED, D.REPAIRING, D.WAITING_FOR_PARTS)
        ],
        *[
            Transition("record_parts_released", [s], s, rule="R28")
            for s in (*_WORKING, *_SETTLING, D.DELIVERED, D.RETURNED, D.REPLACED)
        ],
        Transition("resume_repair", [D.WAITING_FOR_PARTS], D.REPAIRING,
                   ["repair_authorized", "parts_available"], rule="R13,R28"),
        Transition("propose_additional_work", [D.REPAIRING], D.ADDITIONAL_WORK_PENDING,
                   ["unsettled"], rule="R13,R25"),
        Transition("approve_additional_work", [D.ADDITIONAL_WORK_PENDING], D.REPAIRING,
                   ["repair_authorized"], rule="R13"),
        Transition("decline_additional_work", [D.ADDITIONAL_WORK_PENDING], D.REPAIRING,
                   ["repair_authorized"], rule="R13"),
        Transition("finish_repair", [D.REPAIRING], D.QUALITY_CHECK, rule="R13"),
        Transition("record_qc", [D.QUALITY_CHECK], D.QUALITY_CHECK, rule="R13"),
        Transition("rework", [D.QUALITY_CHECK, D.READY_FOR_PICKUP], D.REPAIRING,
                   ["repair_authorized"], rule="R13"),
        Transition("mark_ready", [D.QUALITY_CHECK], D.READY_FOR_PICKUP,
                   ["qc_passed_after_last_repair"], rule="R13,R16"),
        *[Transition("apply_discount", [s], s, ["unsettled"], rule="R22") for s in _SETTLING],
        *[Transition("settle", [s], s, ["unsettled"], rule="R25") for s in _SETTLING],
        Transition("deliver", [D.READY_FOR_PICKUP], D.DELIVERED,
                   ["qc_passed_after_last_repair", "settled"], rule="R13,R25"),
        Transition("send_to_vendor", [D.DIAGNOSING, D.APPROVED, D.REPAIRING], D.AT_VENDOR,
                   ["repair_authorized", "unsettled"], rule="R14,R25"),
        Transition("receive_from_vendor", [D.AT_VENDOR], D.QUALITY_CHECK, rule="R14"),
        Transition("vendor_gave_up", [D.AT_VENDOR], D.UNREPAIRABLE, ["unsettled"], rule="R14"),
        Transition("declare_unrepairable",
                   [D.DIAGNOSING, D.APPROVED, D.REPAIRING, D.WAITING_FOR_PARTS],
                   D.UNREPAIRABLE, ["unsettled"], rule="R13,R25"),
        Transition("offer_replacement", [D.DIAGNOSING, D.UNREPAIRABLE], D.REPLACEMENT_OFFERED,
                   ["replacement_justified"], rule="R21,R14"),
        Transition("accept_replacement", [D.REPLACEMENT_OFFERED], D.REPLACED, rule="R21"),
        Transition("return_unrepaired", [D.DECLINED, D.UNREPAIRABLE, D.REPLACEMENT_OFFERED],
                   D.RETURNED, ["settled"], rule="R13,R25"),
        Transition("close", [D.DELIVERED, D.RETURNED, D.REPLACED], D.CLOSED, rule="R13"),
        *[Transition("record_progress_check", [s], s, rule="R15") for s in _WORKING],
        *[Transition("notify_delay", [s], s, rule="R15,R16") for s in _WORKING],
    ],
    guarantees=[
        MustPassThrough(D.DELIVERED, [D.QUALITY_CHECK], rule="R13"),
        RequiresCondition(D.DELIVERED, "qc_passed_after_last_repair", rule="R13"),
        RequiresCondition(D.READY_FOR_PICKUP, "qc_passed_after_last_repair", rule="R13"),
        RequiresCondition(D.REPAIRING, "repair_authorized", rule="R13,R22"),
        RequiresCondition(D.AT_VENDOR, "repair_authorized", rule="R14,R22"),
        RequiresCondition(D.AWAITING_APPROVAL, "chargeable", rule="R20,R22"),
        MustPassThrough(D.REPAIRING, [D.DIAGNOSING], rule="R13"),
        MustPassThrough(D.APPROVED, [D.AWAITING_APPROVAL], rule="R22"),
        RequiresCondition(D.DELIVERED, "settled", rule="R25"),
        RequiresCondition(D.RETURNED, "settled", rule="R25"),
        RequiresCondition(D.WAITING_FOR_PARTS, "deposit_covered", rule="R23"),
        # R25: once settled, nothing may change what the job costs (no refund is modelled)
        RequiresCondition(D.ADDITIONAL_WORK_PENDING, "unsettled", rule="R25"),
        RequiresCondition(D.UNREPAIRABLE, "unsettled", rule="R25"),
    ],
    condition_reasons={
        "chargeable": "R20: the repair is free (in warranty and covered, or a free re-repair); "
        "no estimate is needed",
        "repair_authorized": "R13/R22: the repair is chargeable and the customer has not "
        "approved the estimate (or there is no diagnosis yet)",
        "parts_available": "R28: the parts the repair waits for are not all reserved",
        "qc_passed_after_last_repair": "R13: no QC checklist has passed since the last repair "
        "step",
        "settled": "R25: the job is not settled",
        "deposit_covered": "R23: the deposit for expensive parts to be ordered is not paid",
        "unsettled": "R25: the job is already settled",
        "replacement_justified": "R21: no grounds for a replacement (the same quality fault "
        "after enough in-warranty repairs, or an unrepairable unit)",
    },
)

DEPOT_FLOW = Workflow(DEPOT, "RepairOrder")


_ENTITY = "RepairOrder"
_E = TypeVar("_E", bound=rev.RepairEvent)


# --- helpers ---------------------------------------------------------------------------------


def _text(field: str, value: object, *, required: bool = True) -> str:
    return check_text(_ENTITY, field, value, required=required)


def _uuid(field: str, value: object) -> UUID:
    if not isinstance(value, UUID):
        raise ValidationError(_ENTITY, field, f"expected a UUID, got {type(value).__name__}")
    return value


def _bool(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(_ENTITY, field, "must be True or False")
    return value


def _aware(field: str, value: object) -> datetime:
    return _require_aware(_ENTITY, field, value)  # type: ignore[arg-type]


def _common(actor: object, at: object) -> None:
    if not isinstance(actor, Actor):
        raise ValidationError(_ENTITY, "actor", "an Actor is required")
    _aware("at", at)


def _policy(policy: object) -> RepairPolicy:
    if not isinstance(policy, RepairPolicy):
        raise ValidationError(_ENTITY, "policy", "a RepairPolicy is required")
    return policy


def _enum(field: str, value: object, kind: type[Any]) -> Any:
    if not isinstance(value, kind):
        raise ValidationError(_ENTITY, field, f"unknown {kind.__name__} {value!r}")
    return value


def _money(field: str, value: object, currency: str, *, positive: bool = False) -> Money:
    if not isinstance(value, Money):
        raise ValidationError(_ENTITY, field, "must be Money")
    if value.currency != currency:
        raise ValidationError(_ENTITY, field, f"must be in {currency}, got {value.currency}")
    if value.is_negative or (positive and value.is_zero):
        raise ValidationError(_ENTITY, field, "must be positive" if positive else "must be >= 0")
    return value


def _estimate_lines(lines: object, currency: str) -> tuple[EstimateLine, ...]:
    if isinstance(lines, str | bytes) or not isinstance(lines, Iterable):
        raise ValidationError(_ENTITY, "lines", "must be EstimateLine values")
    found = tuple(lines)
    if not found or not all(isinstance(line, EstimateLine) for line in found):
        raise ValidationError(_ENTITY, "lines", "must be one or more EstimateLine values")
    for line in found:
        if line.amount.currency != currency:
            raise ValidationError(_ENTITY, "lines", f"every line must be in {currency}")
    return found


def _label(order: RepairOrder) -> str:
    return order.number


def _record(order: RepairOrder, action: str, before: str | None, after: str, actor: Actor,
            at: datetime, note: str) -> None:
    order.record_step(
        at=at, actor_id=actor.id, workflow=active(DEPOT_FLOW).name, subject_id=order.id,
        action=action, from_state=before, to_state=after, note=note,
    )


def _check(order: RepairOrder, trigger: str) -> None:
    active(DEPOT_FLOW).check(order, trigger, _label(order), order)


def _fire(order: RepairOrder, trigger: str, actor: Actor, at: datetime, note: str = "") -> None:
    before, after = active(DEPOT_FLOW).fire(order, trigger, _label(order))
    _record(order, trigger, before, after, actor, at, note)


def _emit(order: RepairOrder, cls: type[_E], actor: Actor, at: datetime, **kw: Any) -> None:
    order.emit(cls, actor_id=actor.id, at=at, **kw)


def _refuse(order: RepairOrder, action: str, reason: str) -> GuardFailed:
    return GuardFailed(_ENTITY, _label(order), str(order.state), action, reason)


def _move_promise(order: RepairOrder, policy: RepairPolicy, new: datetime, at: datetime,
                  reason: str, apology: str = "", late: bool = False) -> None:
    order.promise_changes.append(
        PromiseChange(at, order.promised_at, new, reason, apology, late)
    )
    order.promised_at = new
    order.progress_check_due = progress_check_at(policy, order.received_at, new)

def _answer(estimate: Estimate, status: EstimateStatus, by: str | None, at: datetime) -> (
    Estimate
):
    return attrs.evolve(estimate, status=status, answered_by=by, answered_at=at)

def _replace_estimate(order: RepairOrder, estimate: Estimate) -> None:
    order.estimates = [estimate if e.id == estimate.id else e for e in order.estimates]

def _waive(order: RepairOrder, lines: Iterable[EstimateLine]) -> None:
    voiding = [line.description for line in lines if line.voids_guarantee]
    if voiding and order.guarantee_waiver is None:
        order.guarantee_waiver = (
            "R22: customer-supplied or customer-insisted third-party parts "
            f"({', '.join(voiding)}): no quality guarantee on this repair"
        )

def _pending(order: RepairOrder, additional: bool) -> Estimate:
    estimate = order.pending_estimate
    assert estimate is not None and estimate.additional is additional  # given by the state
    return estimate

def _findings(values: object, fault_class: FaultClass) -> tuple[Exclusion, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValidationError(_ENTITY, "findings", "must be Exclusion values")
    found = tuple(values)
    for finding in found:
        if not isinstance(finding, Exclusion):
            raise ValidationError(_ENTITY, "findings", f"unknown finding {finding!r}")
    if fault_class is FaultClass.CUSTOMER_CAUSED and Exclusion.HUMAN_DAMAGE not in found:
        found = (*found, Exclusion.HUMAN_DAMAGE)  # §9: damage the customer caused
    return tuple(dict.fromkeys(found))

def _history(order: RepairOrder, history: object) -> list[RepairHistoryItem]:
    if isinstance(history, str | bytes) or not isinstance(history, Iterable):
        raise ValidationError(_ENTITY, "history", "must be RepairHistoryItem values")
    items = list(history)
    for item in items:
        if not isinstance(item, RepairHistoryItem):
            raise ValidationError(_ENTITY, "history", "must be RepairHistoryItem values")
        if item.equipment_id != order.equipment_id:
            raise ValidationError(_ENTITY, "history", "holds a repair of another unit")
    return [item for item in items if item.order_id != order.id]
