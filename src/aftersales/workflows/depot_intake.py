"""R13 depot repair, first steps: intake, diagnosis with the warranty determination (R20,
R21), estimates and the customer's answer (R22)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

from aftersales.domain import repair_events as rev
from aftersales.domain.records import Actor, Equipment, ServicePlan
from aftersales.domain.repair import (
    Appointment,
    Diagnosis,
    Estimate,
    EstimateLine,
    EstimateStatus,
    FaultClass,
    FaultKind,
    Intake,
    ReopenKind,
    RepairHistoryItem,
    RepairOrder,
    RepairPolicy,
    Signature,
    count_repeat_failures,
    is_free_rerepair,
    progress_check_at,
)
from aftersales.domain.warranty import (
    Exclusion,
    WarrantyDetermination,
    WarrantyPolicy,
)
from aftersales.errors import ValidationError
from aftersales.workflows.depot_flow import (
    _ENTITY,
    _answer,
    _aware,
    _check,
    _common,
    _emit,
    _enum,
    _estimate_lines,
    _findings,
    _fire,
    _history,
    _pending,
    _policy,
    _record,
    _replace_estimate,
    _text,
    _uuid,
    _waive,
)

__all__ = [
    "approve_estimate",
    "assign_engineer",
    "decline_estimate",
    "diagnose",
    "open_repair_order",
    "reopen_diagnosis",
    "send_estimate",
    "sign_intake",
]


# --- intake ----------------------------------------------------------------------------------


def open_repair_order(
    *, order_id: UUID, number: str, request_id: UUID, equipment_id: UUID, customer_id: UUID,
    intake: Intake, promised_at: datetime, actor: Actor, at: datetime, policy: RepairPolicy,
    appointment: Appointment | None = None, engineer_id: UUID | None = None,
) -> RepairOrder:
    """R13: receive the unit: intake inspection (appearance, configuration, accessories,
    pre-existing damage, data handling) and the promised date; the R15 progress check is
    scheduled at ``progress_check_fraction`` of the promised duration. ``appointment`` is the
    R23 slot the customer booked, if any."""
    for field, value in (("id", order_id), ("request_id", request_id),
                         ("equipment_id", equipment_id), ("customer_id", customer_id)):
        _uuid(field, value)
    _text("number", number)
    if not isinstance(intake, Intake):
        raise ValidationError(_ENTITY, "intake", "an Intake form is required")
    _common(actor, at)
    _aware("promised_at", promised_at)
    policy = _policy(policy)
    if promised_at <= at:
        raise ValidationError(_ENTITY, "promised_at", "must be after the intake time")
    if appointment is not None and not isinstance(appointment, Appointment):
        raise ValidationError(_ENTITY, "appointment", "must be an Appointment")
    if engineer_id is not None:
        _uuid("engineer_id", engineer_id)
    check_at = progress_check_at(policy, at, promised_at)
    order = RepairOrder(
        id=order_id, number=number, request_id=request_id, equipment_id=equipment_id,
        customer_id=customer_id, received_at=at, promised_at=promised_at, intake=intake,
        currency=policy.currency, qc_checklist=policy.qc_checklist, progress_check_due=check_at,
        deposit_share=policy.deposit_share, expensive_part_from=policy.expensive_part_from,
        bills_additional_work=policy.bill_additional_work_when_free, engineer_id=engineer_id,
        appointment=appointment,
    )
    _record(order, "open", None, order.state, actor, at, intake.configuration)
    _emit(order, rev.RepairOrderOpened, actor, at, number=number, request_id=request_id,
          equipment_id=equipment_id, customer_id=customer_id, promised_at=promised_at,
          progress_check_at=check_at)
    return order


def assign_engineer(order: RepairOrder, *, engineer_id: UUID, actor: Actor, at: datetime) -> None:
    """R13: the engineer who works on the order (only they do its technical steps)."""
    _uuid("engineer_id", engineer_id)
    _common(actor, at)
    _fire(order, "assign_engineer", actor, at, str(engineer_id))
    order.engineer_id = engineer_id
    _emit(order, rev.RepairEngineerAssigned, actor, at, engineer_id=engineer_id)


def sign_intake(order: RepairOrder, *, signed_by: str, actor: Actor, at: datetime) -> None:
    """R13: the customer signs the intake form (机器接收单); diagnosis may begin."""
    _text("signed_by", signed_by)
    _common(actor, at)
    _fire(order, "sign_intake", actor, at, f"signed by {signed_by}")
    order.intake_signature = Signature(signed_by, at)
    _emit(order, rev.IntakeSigned, actor, at, signed_by=signed_by)


# --- diagnosis and warranty (R13, R20, R21) ------------------------------------------------






def diagnose(
    order: RepairOrder, *, fault: str, cause: str, fault_class: FaultClass,
    fault_kind: FaultKind, equipment: Equipment, warranty_policy: WarrantyPolicy,
    actor: Actor, at: datetime, policy: RepairPolicy, fault_code: str,
    findings: Iterable[Exclusion] = (), plans: Iterable[ServicePlan] = (),
    history: Iterable[RepairHistoryItem] = (),
) -> WarrantyDetermination:
    """R13/R20/R21: record the diagnosis and the warranty determination with its basis.

    ``fault`` describes the fault in free text; ``fault_code`` names it from the policy's
    catalogue for the unit's product line (R21 compares codes, never text). Coverage is judged
    on the day the unit was received (in the policy's zone). The repair is free when in warranty
    and covered (R20), or when the unit is back within the re-repair window after its last
    pick-up with a fault of the kind the policy names (R21). A quality fault in warranty that
    ``history`` shows was repaired ``repeat_failure_threshold`` times already gives grounds to
    offer a replacement (R21). Damage the customer caused always counts as human damage.
    """
    _text("fault", fault)
    _text("cause", cause)
    _enum("fault_class", fault_class, FaultClass)
    _enum("fault_kind", fault_kind, FaultKind)
    if not isinstance(equipment, Equipment):
        raise ValidationError(_ENTITY, "equipment", "the Equipment file is required")
    policy = _policy(policy)
    code = policy.fault_codes.check(equipment.product_line, fault_code)
    if equipment.id != order.equipment_id:
        raise ValidationError(_ENTITY, "equipment", "is not the unit of this order")
    if not isinstance(warranty_policy, WarrantyPolicy):
        raise ValidationError(_ENTITY, "warranty_policy", "a WarrantyPolicy is required")
    _common(actor, at)
    exclusions = _findings(findings, fault_class)
    past = _history(order, history)
    plans = tuple(plans)
    _check(order, "diagnose")
    determination = warranty_policy.determine(
        equipment, order.received_at.astimezone(policy.zone).date(), exclusions, plans
    )
    free_reason: str | None = None
    if determination.in_warranty:
        free_reason = f"R20: {determination.explain()}"
    else:
        picked = [item for item in past if item.picked_up_at is not None]
        last = max(picked, key=lambda item: item.picked_up_at or at, default=None)
        if (
            last is not None and last.picked_up_at is not None and not last.guarantee_void
            and fault_class is not FaultClass.CUSTOMER_CAUSED
            and is_free_rerepair(policy, last.picked_up_at, order.received_at, fault_kind,
                                 same_fault=last.fault_code == code)
        ):
            free_reason = (
                f"R21: free re-repair, back within {policy.rerepair_window_days} days of the "
                f"pick-up on {last.picked_up_at.astimezone(policy.zone).date()}"
            )
    grounds: str | None = None
    repeats = count_repeat_failures(past, code)
    if (fault_class is FaultClass.QUALITY and determination.in_warranty
            and repeats >= policy.repeat_failure_threshold):
        grounds = (f"R21: the same quality fault after {repeats} in-warranty repairs: "
                   "replacement with the same model or better")
    revision = len(order.diagnoses)
    reopen_note = next(
        (e.note for e in reversed(order.record) if e.action == "reopen_diagnosis"), ""
    ) if revision else ""
    _fire(order, "diagnose", actor, at,
          f"{code}: {fault} ({fault_class.value}); {determination.explain()}")
    order.diagnoses.append(Diagnosis(
        fault, cause, fault_class, fault_kind, exclusions, code, actor.id, at, reopen_note,
    ))
    order.warranty = determination
    order.free_reason = free_reason
    order.replacement_grounds = grounds
    _emit(order, rev.Diagnosed, actor, at, fault=fault, cause=cause,
          fault_class=fault_class.value, findings=exclusions, revision=revision)
    _emit(order, rev.WarrantyDetermined, actor, at, in_warranty=determination.in_warranty,
          basis=determination.basis, exclusion=determination.exclusion,
          explanation=determination.explain(), free_reason=free_reason,
          replacement_grounds=grounds)
    return determination


def reopen_diagnosis(
    order: RepairOrder, *, reason: str, kind: ReopenKind, actor: Actor, at: datetime
) -> tuple[UUID, ...]:
    """§9 (disputed diagnosis, engineer's misjudgement): back to diagnosis. Every live estimate
    is withdrawn, so a chargeable repair needs a new estimate and a new approval, and work priced
    under the wrong diagnosis is never billed. Returns the withdrawn estimate ids."""
    _text("reason", reason)
    _enum("kind", kind, ReopenKind)
    _common(actor, at)
    _check(order, "reopen_diagnosis")
    withdrawn = tuple(e.id for e in order.live_estimates()
                      if e.status in (EstimateStatus.PENDING, EstimateStatus.APPROVED))
    _fire(order, "reopen_diagnosis", actor, at, f"{kind.value}: {reason}")
    order.estimates = [
        e if e.id not in withdrawn else _answer(e, EstimateStatus.WITHDRAWN, None, at)
        for e in order.estimates
    ]
    _emit(order, rev.DiagnosisReopened, actor, at, reason=reason, kind=kind.value,
          withdrawn_estimate_ids=withdrawn)
    return withdrawn


# --- estimate and approval (R13, R22) --------------------------------------------------------








def send_estimate(
    order: RepairOrder, *, estimate_id: UUID, lines: Sequence[EstimateLine], actor: Actor,
    at: datetime,
) -> Estimate:
    """R22: send the estimate of a chargeable repair (by system, symptom or item)."""
    _uuid("estimate_id", estimate_id)
    found = _estimate_lines(lines, order.currency)
    _common(actor, at)
    if any(e.id == estimate_id for e in order.estimates):
        raise ValidationError(_ENTITY, "estimate_id", f"{estimate_id} already exists")
    _check(order, "send_estimate")
    estimate = Estimate(estimate_id, found, at)
    note = f"{estimate.total}" + (" (voids the quality guarantee)" if estimate.voids_guarantee
                                  else "")
    _fire(order, "send_estimate", actor, at, note)
    order.estimates.append(estimate)
    _emit(order, rev.EstimateSent, actor, at, estimate_id=estimate_id, total=estimate.total,
          voids_guarantee=estimate.voids_guarantee)
    return estimate




def approve_estimate(
    order: RepairOrder, *, approved_by: str, actor: Actor, at: datetime
) -> None:
    """R13/R22: the customer approves the estimate (who and when are recorded); a waiver of
    our quality guarantee is written on the order when its parts void it."""
    _text("approved_by", approved_by)
    _common(actor, at)
    _check(order, "approve_estimate")
    estimate = _pending(order, False)
    _fire(order, "approve_estimate", actor, at, f"approved by {approved_by}")
    _replace_estimate(order, _answer(estimate, EstimateStatus.APPROVED, approved_by, at))
    _waive(order, estimate.lines)
    _emit(order, rev.EstimateApproved, actor, at, estimate_id=estimate.id,
          approved_by=approved_by)


def decline_estimate(
    order: RepairOrder, *, declined_by: str, reason: str, actor: Actor, at: datetime,
    policy: RepairPolicy,
) -> None:
    """R13: the customer declines; the unit goes back unrepaired, with the policy's diagnosis
    fee (if any) to settle."""
    _text("declined_by", declined_by)
    _text("reason", reason)
    _common(actor, at)
    policy = _policy(policy)
    _check(order, "decline_estimate")
    estimate = _pending(order, False)
    _fire(order, "decline_estimate", actor, at, f"declined by {declined_by}: {reason}")
    _replace_estimate(order, _answer(estimate, EstimateStatus.DECLINED, declined_by, at))
    order.unrepaired_reason = f"estimate declined: {reason}"
    order.diagnosis_fee = policy.diagnosis_fee
    _emit(order, rev.EstimateDeclined, actor, at, estimate_id=estimate.id,
          declined_by=declined_by, reason=reason, diagnosis_fee=policy.diagnosis_fee)
