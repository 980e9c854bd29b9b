"""R13 depot repair (维修服务 / 送修): the workflow as data and its steps.

intake (the customer signs the intake form) → diagnosis with the warranty determination (R20,
R21) → estimate and customer approval when chargeable (R22) → repair, which may wait for parts
(R28) or find additional work needing new consent and a later promised date → the QC checklist
→ ready for pick-up with the R16 notice → settlement (R25) → the customer signs delivery →
closed. Declined estimates, unrepairable units, replacement offers (R21) and outsourcing to a
vendor (R14) branch off. Each step validates its input, runs every check, then fires the shared
machine, appends to the record (R9) and emits its event; a refused step changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import attrs

from aftersales.domain import repair_events as rev
from aftersales.domain.parts import PartOrigin, PartSource, Reservation
from aftersales.domain.records import Equipment, ServicePlan
from aftersales.domain.repair import (
    Appointment,
    DataHandling,
    Deposit,
    DepotState,
    Diagnosis,
    Discount,
    Estimate,
    EstimateLine,
    EstimateStatus,
    FaultClass,
    FaultKind,
    FittedPart,
    Intake,
    OldPartDisposition,
    OutsourcedRepair,
    OutsourcedState,
    PartWarranty,
    PickupNotice,
    PromiseChange,
    QualityCheck,
    ReopenKind,
    RepairHistoryItem,
    RepairOrder,
    RepairPolicy,
    ReplacementOffer,
    Settlement,
    Signature,
    WorkNote,
    count_repeat_failures,
    is_free_rerepair,
    pickup_notice_lead,
    progress_check_at,
)
from aftersales.domain.request import RecordEntry
from aftersales.domain.values import Actor, Money
from aftersales.domain.values import require_aware as _require_aware
from aftersales.domain.warranty import (
    Exclusion,
    WarrantyDetermination,
    WarrantyPolicy,
    add_months,
)
from aftersales.errors import GuardFailed, ValidationError
from aftersales.workflows.core import (
    MustPassThrough,
    RequiresCondition,
    Transition,
    Workflow,
    WorkflowDefinition,
    replay_record,
)
from aftersales.workflows.outsourced import OUTSOURCED_FLOW, open_outsourced, qc_results

__all__ = [
    "DEPOT",
    "DEPOT_FLOW",
    "REPAIR_WORKFLOWS",
    "accept_replacement",
    "apply_discount",
    "approve_additional_work",
    "approve_estimate",
    "close",
    "declare_unrepairable",
    "decline_additional_work",
    "decline_estimate",
    "deliver",
    "diagnose",
    "finish_repair",
    "fit_part",
    "mark_ready",
    "notify_delay",
    "offer_replacement",
    "open_repair_order",
    "propose_additional_work",
    "receive_deposit",
    "receive_from_vendor",
    "record_parts_reserved",
    "record_progress_check",
    "record_qc",
    "record_repair_work",
    "reopen_diagnosis",
    "resume_repair",
    "return_unrepaired",
    "rework",
    "send_estimate",
    "send_to_vendor",
    "settle",
    "sign_intake",
    "start_repair",
    "vendor_gave_up",
    "verify_repair_record",
    "wait_for_parts",
]

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
            Transition("receive_deposit", [s], s, rule="R23")
            for s in (D.APPROVED, D.REPAIRING, D.ADDITIONAL_WORK_PENDING)
        ],
        Transition("wait_for_parts", [D.REPAIRING], D.WAITING_FOR_PARTS, ["deposit_covered"],
                   rule="R13,R23,R28"),
        *[
            Transition("record_parts_reserved", [s], s, rule="R28")
            for s in (D.APPROVED, D.REPAIRING, D.WAITING_FOR_PARTS)
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

DEPOT_FLOW = Workflow(DEPOT, DepotState, "RepairOrder")

#: The repair workflows by name, to merge into the global registry (``aftersales diagram``).
REPAIR_WORKFLOWS: dict[str, Workflow] = {"depot": DEPOT_FLOW, "outsourced": OUTSOURCED_FLOW}

_ENTITY = "RepairOrder"
_E = TypeVar("_E", bound=rev.RepairEvent)


# --- helpers ---------------------------------------------------------------------------------


def _text(field: str, value: object, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise ValidationError(_ENTITY, field, f"expected text, got {type(value).__name__}")
    if required and not value.strip():
        raise ValidationError(_ENTITY, field, "must not be blank")
    return value


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
    if value.amount < 0 or (positive and value.amount == 0):
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
    order.append_record(
        RecordEntry(
            sequence=len(order.record) + 1, at=at, actor_id=actor.id, workflow=DEPOT_FLOW.name,
            subject_id=order.id, action=action, from_state=before, to_state=after, note=note,
        )
    )


def _check(order: RepairOrder, trigger: str) -> None:
    DEPOT_FLOW.check(order, trigger, _label(order))


def _fire(order: RepairOrder, trigger: str, actor: Actor, at: datetime, note: str = "") -> None:
    before, after = DEPOT_FLOW.fire(order, trigger, _label(order))
    _record(order, trigger, before, after, actor, at, note)


def _emit(order: RepairOrder, cls: type[_E], actor: Actor, at: datetime, **kw: Any) -> None:
    order.emit(cls(aggregate_id=order.id, sequence=order.next_sequence(), occurred_at=at,
                   actor_id=actor.id, **kw))


def _refuse(order: RepairOrder, action: str, reason: str) -> GuardFailed:
    return GuardFailed(_ENTITY, _label(order), str(order.state), action, reason)


def _move_promise(order: RepairOrder, policy: RepairPolicy, new: datetime, at: datetime,
                  reason: str, apology: str = "", late: bool = False) -> None:
    order.promise_changes.append(
        PromiseChange(at, order.promised_at, new, reason, apology, late)
    )
    order.promised_at = new
    order.progress_check_due = progress_check_at(policy, order.received_at, new)


# --- intake ----------------------------------------------------------------------------------


def open_repair_order(
    *, order_id: UUID, number: str, request_id: UUID, equipment_id: UUID, customer_id: UUID,
    intake: Intake, promised_at: datetime, actor: Actor, at: datetime, policy: RepairPolicy,
    appointment: Appointment | None = None,
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
    check_at = progress_check_at(policy, at, promised_at)
    order = RepairOrder(
        id=order_id, number=number, request_id=request_id, equipment_id=equipment_id,
        customer_id=customer_id, received_at=at, promised_at=promised_at, intake=intake,
        currency=policy.currency, qc_checklist=policy.qc_checklist, progress_check_due=check_at,
        deposit_share=policy.deposit_share, expensive_part_from=policy.expensive_part_from,
        appointment=appointment,
    )
    _record(order, "open", None, order.state, actor, at, intake.configuration)
    _emit(order, rev.RepairOrderOpened, actor, at, number=number, request_id=request_id,
          equipment_id=equipment_id, customer_id=customer_id, promised_at=promised_at,
          progress_check_at=check_at)
    return order


def sign_intake(order: RepairOrder, *, signed_by: str, actor: Actor, at: datetime) -> None:
    """R13: the customer signs the intake form (机器接收单); diagnosis may begin."""
    _text("signed_by", signed_by)
    _common(actor, at)
    _fire(order, "sign_intake", actor, at, f"signed by {signed_by}")
    order.intake_signature = Signature(signed_by, at)
    _emit(order, rev.IntakeSigned, actor, at, signed_by=signed_by)


# --- diagnosis and warranty (R13, R20, R21) ------------------------------------------------


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


def diagnose(
    order: RepairOrder, *, fault: str, cause: str, fault_class: FaultClass,
    fault_kind: FaultKind, equipment: Equipment, warranty_policy: WarrantyPolicy,
    actor: Actor, at: datetime, policy: RepairPolicy, findings: Iterable[Exclusion] = (),
    fault_code: str | None = None, plans: Iterable[ServicePlan] = (),
    history: Iterable[RepairHistoryItem] = (),
) -> WarrantyDetermination:
    """R13/R20/R21: record the diagnosis and the warranty determination with its basis.

    Coverage is judged on the day the unit was received. The repair is free when in warranty
    and covered (R20), or when the unit is back within the re-repair window after its last
    pick-up with a fault of the kind the policy names (R21). A quality fault in warranty that
    ``history`` shows was repaired ``repeat_failure_threshold`` times already gives grounds to
    offer a replacement (R21). Damage the customer caused always counts as human damage.
    """
    _text("fault", fault)
    _text("cause", cause)
    _enum("fault_class", fault_class, FaultClass)
    _enum("fault_kind", fault_kind, FaultKind)
    code = _text("fault_code", fault_code) if fault_code is not None else fault
    if not isinstance(equipment, Equipment):
        raise ValidationError(_ENTITY, "equipment", "the Equipment file is required")
    if equipment.id != order.equipment_id:
        raise ValidationError(_ENTITY, "equipment", "is not the unit of this order")
    if not isinstance(warranty_policy, WarrantyPolicy):
        raise ValidationError(_ENTITY, "warranty_policy", "a WarrantyPolicy is required")
    _common(actor, at)
    policy = _policy(policy)
    exclusions = _findings(findings, fault_class)
    past = _history(order, history)
    plans = tuple(plans)
    _check(order, "diagnose")
    determination = warranty_policy.determine(
        equipment, order.received_at.date(), exclusions, plans
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
                f"pick-up on {last.picked_up_at.date()}"
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
    _fire(order, "diagnose", actor, at, f"{fault} ({fault_class.value}); {determination.explain()}")
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


def _pending(order: RepairOrder, additional: bool) -> Estimate:
    estimate = order.pending_estimate
    assert estimate is not None and estimate.additional is additional  # given by the state
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


# --- repair (R13, R28) -----------------------------------------------------------------------


def start_repair(order: RepairOrder, *, actor: Actor, at: datetime, note: str = "") -> None:
    """R13: start the repair: free, or chargeable with the customer's approval."""
    _text("note", note, required=False)
    _common(actor, at)
    _fire(order, "start_repair", actor, at, note)
    order.mark_repair_step(at)
    _emit(order, rev.RepairStarted, actor, at)


def record_repair_work(
    order: RepairOrder, *, description: str, actor: Actor, at: datetime,
    wipes_data: bool = False,
) -> None:
    """R13: a step of the repair process record. Wiping data needs ``wipe_allowed`` (§9)."""
    _text("description", description)
    _bool("wipes_data", wipes_data)
    _common(actor, at)
    _check(order, "record_repair_work")
    if wipes_data and order.intake.data_handling is not DataHandling.WIPE_ALLOWED:
        raise _refuse(order, "record repair work",
                      f"§9: the customer did not allow a wipe ({order.intake.data_handling})")
    _fire(order, "record_repair_work", actor, at, description)
    order.work.append(WorkNote(at, actor.id, description, wipes_data))
    order.mark_repair_step(at)
    _emit(order, rev.RepairWorkRecorded, actor, at, description=description)


def fit_part(
    order: RepairOrder, *, sku: str, description: str, origin: PartOrigin, source: PartSource,
    actor: Actor, at: datetime, customer_insisted: bool = False, storage_media: bool = False,
    warranty_months: int | None = None, old_part: OldPartDisposition | None = None,
) -> FittedPart:
    """R13/R22/R28: fit a part. Customer-supplied or customer-insisted third-party parts write
    the quality-guarantee waiver on the order (R22). A disk is not swapped when the customer
    keeps the old disk in the unit, and goes back to the customer when they keep it (§9)."""
    _text("sku", sku)
    _text("description", description)
    _enum("origin", origin, PartOrigin)
    _enum("source", source, PartSource)
    _bool("customer_insisted", customer_insisted)
    _bool("storage_media", storage_media)
    if warranty_months is not None and (
        not isinstance(warranty_months, int) or isinstance(warranty_months, bool)
        or warranty_months < 0
    ):
        raise ValidationError(_ENTITY, "warranty_months", "must be a whole number >= 0")
    if old_part is not None:
        _enum("old_part", old_part, OldPartDisposition)
    _common(actor, at)
    _check(order, "fit_part")
    handling = order.intake.data_handling
    disposition = old_part or OldPartDisposition.RETURN_TO_SUPPLIER
    if storage_media and handling is DataHandling.KEEP_OLD_DISK:
        raise _refuse(order, f"fit {sku}",
                      "§9: the customer keeps the old disk in the unit; ask for new consent")
    if storage_media and handling is DataHandling.CUSTOMER_KEEPS_DISK:
        if old_part not in (None, OldPartDisposition.HANDED_TO_CUSTOMER):
            raise _refuse(order, f"fit {sku}",
                          "§9: the customer keeps the old disk; it goes back to them")
        disposition = OldPartDisposition.HANDED_TO_CUSTOMER
    part = FittedPart(sku, description, origin, source, customer_insisted, storage_media,
                      disposition, at, warranty_months)
    _fire(order, "fit_part", actor, at, f"{sku} {description} ({origin}, {source})")
    order.fitted_parts.append(part)
    if part.voids_guarantee and order.guarantee_waiver is None:
        order.guarantee_waiver = (
            f"R22: {description} is customer-supplied or a customer-insisted third-party part: "
            "no quality guarantee on this repair"
        )
    order.mark_repair_step(at)
    _emit(order, rev.PartFitted, actor, at, sku=sku, origin=origin.value, source=source.value,
          voids_guarantee=part.voids_guarantee, old_part=disposition.value)
    return part


def _needed(needed: object) -> dict[str, int]:
    if not isinstance(needed, Mapping) or not needed:
        raise ValidationError(_ENTITY, "needed", "must map each sku to a quantity")
    for sku, qty in needed.items():
        if not isinstance(sku, str) or not sku.strip():
            raise ValidationError(_ENTITY, "needed", "skus must be non-blank text")
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
            raise ValidationError(_ENTITY, "needed", f"quantity of {sku} must be positive")
    return dict(needed)


def receive_deposit(order: RepairOrder, *, amount: Money, actor: Actor, at: datetime) -> Deposit:
    """R23: a deposit toward expensive parts that must be ordered; it counts toward the
    settlement (R25)."""
    _money("amount", amount, order.currency, positive=True)
    _common(actor, at)
    _check(order, "receive_deposit")
    deposit = Deposit(amount, at, actor.id)
    _fire(order, "receive_deposit", actor, at, str(amount))
    order.deposits.append(deposit)
    _emit(order, rev.DepositReceived, actor, at, amount=amount, total_paid=order.deposit_paid)
    return deposit


def wait_for_parts(
    order: RepairOrder, *, needed: Mapping[str, int], reason: str, actor: Actor, at: datetime
) -> None:
    """R13/R28 (§9 no spare part in stock): the repair waits until these parts are reserved.
    Expensive parts are ordered only once the R23 deposit is paid."""
    wanted = _needed(needed)
    _text("reason", reason)
    _common(actor, at)
    _check(order, "wait_for_parts")
    _fire(order, "wait_for_parts", actor, at, reason)
    for sku, qty in wanted.items():
        order.parts_needed[sku] = order.parts_needed.get(sku, 0) + qty
    _emit(order, rev.WaitingForParts, actor, at, needed=tuple(sorted(wanted.items())),
          reason=reason)


def record_parts_reserved(
    order: RepairOrder, *, reservation: Reservation, actor: Actor, at: datetime
) -> None:
    """R28: a reservation for this order was made at a stock location."""
    if not isinstance(reservation, Reservation):
        raise ValidationError(_ENTITY, "reservation", "a Reservation is required")
    if reservation.order_id != order.id:
        raise ValidationError(_ENTITY, "reservation", "was made for another order")
    if reservation.id in order.reservation_ids:
        raise ValidationError(_ENTITY, "reservation", f"{reservation.id} already recorded")
    _common(actor, at)
    _fire(order, "record_parts_reserved", actor, at,
          f"{reservation.quantity} × {reservation.sku}")
    order.reservation_ids.append(reservation.id)
    order.parts_reserved[reservation.sku] = (
        order.parts_reserved.get(reservation.sku, 0) + reservation.quantity
    )
    _emit(order, rev.PartsReservedForOrder, actor, at, reservation_id=reservation.id,
          sku=reservation.sku, quantity=reservation.quantity)


def resume_repair(order: RepairOrder, *, actor: Actor, at: datetime) -> None:
    """R13/R28: every part waited for is reserved; the repair continues."""
    _common(actor, at)
    _check(order, "resume_repair")
    _fire(order, "resume_repair", actor, at)
    order.mark_repair_step(at)
    _emit(order, rev.RepairResumed, actor, at)


def propose_additional_work(
    order: RepairOrder, *, estimate_id: UUID, lines: Sequence[EstimateLine], reason: str,
    new_promised_at: datetime, actor: Actor, at: datetime,
) -> Estimate:
    """R13: more work found during repair: a new estimate that needs the customer's consent
    again and moves the promised date later."""
    _uuid("estimate_id", estimate_id)
    found = _estimate_lines(lines, order.currency)
    _text("reason", reason)
    _aware("new_promised_at", new_promised_at)
    _common(actor, at)
    if new_promised_at <= order.promised_at:
        raise ValidationError(_ENTITY, "new_promised_at",
                              "additional work moves the promised date later (R13)")
    if any(e.id == estimate_id for e in order.estimates):
        raise ValidationError(_ENTITY, "estimate_id", f"{estimate_id} already exists")
    _check(order, "propose_additional_work")
    estimate = Estimate(estimate_id, found, at, additional=True, reason=reason,
                        new_promised_at=new_promised_at)
    _fire(order, "propose_additional_work", actor, at, f"{reason}: {estimate.total}")
    order.estimates.append(estimate)
    _emit(order, rev.AdditionalWorkProposed, actor, at, estimate_id=estimate_id,
          total=estimate.total, reason=reason, new_promised_at=new_promised_at,
          voids_guarantee=estimate.voids_guarantee)
    return estimate


def approve_additional_work(
    order: RepairOrder, *, approved_by: str, actor: Actor, at: datetime, policy: RepairPolicy
) -> None:
    """R13: the customer consents to the additional work; the promised date moves."""
    _text("approved_by", approved_by)
    _common(actor, at)
    policy = _policy(policy)
    _check(order, "approve_additional_work")
    estimate = _pending(order, True)
    assert estimate.new_promised_at is not None
    _fire(order, "approve_additional_work", actor, at, f"approved by {approved_by}")
    _replace_estimate(order, _answer(estimate, EstimateStatus.APPROVED, approved_by, at))
    _waive(order, estimate.lines)
    _move_promise(order, policy, estimate.new_promised_at, at, f"additional work: "
                  f"{estimate.reason}")
    _emit(order, rev.AdditionalWorkApproved, actor, at, estimate_id=estimate.id,
          approved_by=approved_by, promised_at=estimate.new_promised_at)


def decline_additional_work(
    order: RepairOrder, *, declined_by: str, actor: Actor, at: datetime
) -> None:
    """R13: the customer refuses the additional work; the original job continues."""
    _text("declined_by", declined_by)
    _common(actor, at)
    _check(order, "decline_additional_work")
    estimate = _pending(order, True)
    _fire(order, "decline_additional_work", actor, at, f"declined by {declined_by}")
    _replace_estimate(order, _answer(estimate, EstimateStatus.DECLINED, declined_by, at))
    _emit(order, rev.AdditionalWorkDeclined, actor, at, estimate_id=estimate.id,
          declined_by=declined_by)


def finish_repair(order: RepairOrder, *, summary: str, actor: Actor, at: datetime) -> None:
    """R13: the repair is done; the QC checklist comes next."""
    _text("summary", summary)
    _common(actor, at)
    _fire(order, "finish_repair", actor, at, summary)
    order.mark_repair_step(at)
    _emit(order, rev.RepairFinished, actor, at, summary=summary)


# --- QC, pick-up, progress (R13, R15, R16) ---------------------------------------------------


def record_qc(
    order: RepairOrder, *, results: Mapping[str, bool], actor: Actor, at: datetime,
    notes: Mapping[str, str] | None = None,
) -> QualityCheck:
    """R13: run the order's QC checklist; every item is answered pass/fail. Only a QC that
    passes after the last repair step opens the way to pick-up and delivery."""
    _common(actor, at)
    items = qc_results(_ENTITY, order.qc_checklist, results, notes)
    _check(order, "record_qc")
    check = QualityCheck(at, actor.id, items)
    note = "passed" if check.passed else "failed: " + ", ".join(check.failed_items)
    _fire(order, "record_qc", actor, at, note)
    order.quality_checks.append(check)
    if check.passed:
        order.mark_qc_passed(at)
    _emit(order, rev.QualityCheckRecorded, actor, at, passed=check.passed,
          failed_items=check.failed_items)
    return check


def rework(order: RepairOrder, *, reason: str, actor: Actor, at: datetime) -> None:
    """R13/§9: back to repair after a failed QC, or when the customer says at pick-up that the
    job is not right (and will not pay for it): a new QC must pass afterwards."""
    _text("reason", reason)
    _common(actor, at)
    _fire(order, "rework", actor, at, reason)
    order.pickup = None
    order.mark_repair_step(at)
    _emit(order, rev.ReworkStarted, actor, at, reason=reason)


def record_progress_check(order: RepairOrder, *, note: str, actor: Actor, at: datetime) -> None:
    """R15: the progress check (due at ``progress_check_due``) was made."""
    _text("note", note)
    _common(actor, at)
    _fire(order, "record_progress_check", actor, at, note)
    order.progress_checked_at = at
    _emit(order, rev.ProgressChecked, actor, at, note=note)


def notify_delay(
    order: RepairOrder, *, new_promised_at: datetime, reason: str, apology: str, actor: Actor,
    at: datetime, policy: RepairPolicy,
) -> PromiseChange:
    """R15/R16: tell the customer early of a delay, with the reason and an apology. The notice
    is due the R16 lead before the old promised time; a later notice is recorded as late."""
    _aware("new_promised_at", new_promised_at)
    _text("reason", reason)
    _text("apology", apology)
    _common(actor, at)
    policy = _policy(policy)
    if new_promised_at <= order.promised_at:
        raise ValidationError(_ENTITY, "new_promised_at", "a delay moves the promised date later")
    _check(order, "notify_delay")
    lead = pickup_notice_lead(policy, at - order.received_at)
    late = at > order.promised_at - lead
    _fire(order, "notify_delay", actor, at, f"{reason} ({apology})")
    _move_promise(order, policy, new_promised_at, at, reason, apology, late)
    change = order.promise_changes[-1]
    _emit(order, rev.DelayNotified, actor, at, previous_promised_at=change.previous,
          new_promised_at=new_promised_at, reason=reason, late_notice=late)
    return change


def mark_ready(
    order: RepairOrder, *, pickup_at: datetime, actor: Actor, at: datetime, policy: RepairPolicy
) -> PickupNotice:
    """R16: QC passed; the customer is notified 1 h before pick-up for a job under 2 days,
    4 h for 2 days or more (measured from intake to now)."""
    _aware("pickup_at", pickup_at)
    _common(actor, at)
    policy = _policy(policy)
    _check(order, "mark_ready")
    lead = pickup_notice_lead(policy, at - order.received_at)
    notice_at = pickup_at - lead
    if notice_at < at:
        raise ValidationError(_ENTITY, "pickup_at",
                              f"leaves less than the R16 notice of {lead} from now")
    notice = PickupNotice(pickup_at, notice_at, lead)
    _fire(order, "mark_ready", actor, at, f"pick-up {pickup_at}, notice {notice_at}")
    order.pickup = notice
    _emit(order, rev.ReadyForPickup, actor, at, pickup_at=pickup_at, notice_at=notice_at,
          lead=lead)
    return notice


# --- money (R22, R25) ------------------------------------------------------------------------


def apply_discount(
    order: RepairOrder, *, amount: Money, reason: str, authorized_by: Actor, actor: Actor,
    at: datetime,
) -> Discount:
    """R22: a discount, recorded with the supervisor who authorized it (the service layer
    checks that ``authorized_by`` may, R30). At most one discount, never above what is due."""
    _money("amount", amount, order.currency, positive=True)
    _text("reason", reason)
    if not isinstance(authorized_by, Actor):
        raise ValidationError(_ENTITY, "authorized_by", "R22: a discount needs the Actor who "
                              "authorized it")
    _common(actor, at)
    _check(order, "apply_discount")
    if order.discount is not None:
        raise _refuse(order, "apply discount", "a discount is already applied")
    due = order.gross_due()
    if amount.amount > due.amount:
        raise _refuse(order, "apply discount", f"{amount} exceeds the {due} due")
    discount = Discount(amount, reason, authorized_by.id, authorized_by.name, at)
    _fire(order, "apply_discount", actor, at,
          f"{amount} authorized by {authorized_by.name}: {reason}")
    order.discount = discount
    _emit(order, rev.DiscountApplied, actor, at, amount=amount, authorized_by=authorized_by.id,
          reason=reason)
    return discount


def settle(
    order: RepairOrder, *, amount: Money, actor: Actor, at: datetime, paid: bool = True,
    outlet: str = "",
) -> Settlement:
    """R25: settle the job: labour + parts + call-out (+ diagnosis fee) − discount. ``amount``
    must equal the approved estimate + approved additions − the authorized discount (zero when
    the repair is free); ``paid`` False books a receivable."""
    _money("amount", amount, order.currency)
    _bool("paid", paid)
    _text("outlet", outlet, required=False)
    _common(actor, at)
    _check(order, "settle")
    due = order.amount_due()
    if amount != due:
        raise _refuse(order, "settle", f"{amount} does not equal the {due} due (approved "
                      "estimate + approved additions − authorized discount)")
    labour, parts, call_out, fee = order.breakdown()
    discount = order.discount.amount if order.discount else Money.zero(order.currency)
    deposit = order.deposit_paid if order.deposits else None
    settlement = Settlement(labour, parts, call_out, fee, discount, due, paid, outlet, at,
                            actor.id, deposit)
    _fire(order, "settle", actor, at, f"{due} {'paid' if paid else 'receivable'}")
    order.settlement = settlement
    _emit(order, rev.Settled, actor, at, total=due, paid=paid, outlet=outlet)
    return settlement


# --- delivery and closing --------------------------------------------------------------------


def deliver(
    order: RepairOrder, *, signed_by: str, actor: Actor, at: datetime, policy: RepairPolicy
) -> tuple[PartWarranty, ...]:
    """R13: the customer signs for the repaired unit (only after a QC passed since the last
    repair step, and settlement). Replaced parts get their own warranty (R21), except parts
    that void our guarantee (R22)."""
    _text("signed_by", signed_by)
    _common(actor, at)
    policy = _policy(policy)
    _check(order, "deliver")
    day = at.date()
    warranties = tuple(
        PartWarranty(
            p.sku, p.description, day,
            add_months(day, p.warranty_months if p.warranty_months is not None
                       else policy.replaced_part_warranty_months),
        )
        for p in order.fitted_parts if not p.voids_guarantee
    )
    _fire(order, "deliver", actor, at, f"signed by {signed_by}")
    order.delivery = Signature(signed_by, at)
    order.part_warranties = warranties
    _emit(order, rev.Delivered, actor, at, signed_by=signed_by, part_warranties=len(warranties))
    return warranties


def close(order: RepairOrder, *, actor: Actor, at: datetime) -> None:
    """R13: close a delivered, returned or replaced order."""
    _common(actor, at)
    _check(order, "close")
    outcome = str(order.state)
    _fire(order, "close", actor, at, outcome)
    _emit(order, rev.RepairOrderClosed, actor, at, outcome=outcome)


def declare_unrepairable(order: RepairOrder, *, reason: str, actor: Actor, at: datetime) -> None:
    """R13: the unit cannot be repaired: it goes back unrepaired, or a replacement is offered."""
    _text("reason", reason)
    _common(actor, at)
    _fire(order, "declare_unrepairable", actor, at, reason)
    order.unrepaired_reason = f"unrepairable: {reason}"
    order.replacement_grounds = order.replacement_grounds or f"unrepairable: {reason}"
    _emit(order, rev.UnrepairableDeclared, actor, at, reason=reason)


def offer_replacement(order: RepairOrder, *, model: str, actor: Actor, at: datetime) -> None:
    """R21 (§9 the customer wants a replacement): a replacement of the same model or better is
    offered only with grounds: the same quality fault after enough in-warranty repairs, or a
    unit that cannot be repaired. Otherwise GuardFailed."""
    _text("model", model)
    _common(actor, at)
    _check(order, "offer_replacement")
    grounds = order.replacement_grounds
    assert grounds is not None
    _fire(order, "offer_replacement", actor, at, f"{model}: {grounds}")
    order.replacement = ReplacementOffer(grounds, model, at)
    order.unrepaired_reason = order.unrepaired_reason or "replacement offered"
    _emit(order, rev.ReplacementOffered, actor, at, grounds=grounds, model=model)


def accept_replacement(
    order: RepairOrder, *, serial: str, signed_by: str, actor: Actor, at: datetime
) -> None:
    """R21: the customer takes the replacement unit and signs for it."""
    _text("serial", serial)
    _text("signed_by", signed_by)
    _common(actor, at)
    _check(order, "accept_replacement")
    offer = order.replacement
    assert offer is not None
    _fire(order, "accept_replacement", actor, at, f"{offer.model} {serial} to {signed_by}")
    order.replacement = attrs.evolve(offer, serial=serial, accepted_by=signed_by, accepted_at=at)
    order.delivery = Signature(signed_by, at)
    _emit(order, rev.ReplacementAccepted, actor, at, model=offer.model, serial=serial,
          signed_by=signed_by)


def return_unrepaired(
    order: RepairOrder, *, signed_by: str, actor: Actor, at: datetime
) -> None:
    """R13: hand the unit back unrepaired (declined, unrepairable or replacement refused),
    after settling any diagnosis fee; the customer signs."""
    _text("signed_by", signed_by)
    _common(actor, at)
    _check(order, "return_unrepaired")
    reason = order.unrepaired_reason or "unrepaired"
    _fire(order, "return_unrepaired", actor, at, f"signed by {signed_by}: {reason}")
    order.delivery = Signature(signed_by, at)
    _emit(order, rev.ReturnedUnrepaired, actor, at, signed_by=signed_by, reason=reason)


# --- outsourcing (R14) -----------------------------------------------------------------------


def send_to_vendor(
    order: RepairOrder, *, outsourced_id: UUID, reason: str, actor: Actor, at: datetime,
    policy: RepairPolicy, beyond_local_ability: bool = False, maker_warranty: bool | None = None,
) -> OutsourcedRepair:
    """R14: open an outsourced repair (maker's warranty or beyond our ability, else
    GuardFailed) and move the order to ``at_vendor``; a chargeable repair needs approval."""
    _common(actor, at)
    _check(order, "send_to_vendor")
    repair = open_outsourced(
        outsourced_id=outsourced_id, order=order, reason=reason, actor=actor, at=at,
        policy=policy, beyond_local_ability=beyond_local_ability, maker_warranty=maker_warranty,
    )
    _fire(order, "send_to_vendor", actor, at, reason)
    order.outsourced_ids.append(repair.id)
    _emit(order, rev.SentToVendor, actor, at, outsourced_id=repair.id)
    return repair


def _outsourced(order: RepairOrder, repair: object, states: tuple[OutsourcedState, ...],
                action: str) -> OutsourcedRepair:
    if not isinstance(repair, OutsourcedRepair):
        raise ValidationError(_ENTITY, "outsourced", "an OutsourcedRepair is required")
    if repair.order_id != order.id or repair.id not in order.outsourced_ids:
        raise ValidationError(_ENTITY, "outsourced", "belongs to another order")
    if repair.state not in states:
        raise _refuse(order, action, f"R14: the outsourced repair is {repair.state}")
    return repair


def receive_from_vendor(
    order: RepairOrder, *, outsourced: OutsourcedRepair, actor: Actor, at: datetime
) -> None:
    """R14: the unit is back and passed re-inspection; the depot's QC follows (the vendor's
    work counts as the last repair step)."""
    _common(actor, at)
    _check(order, "receive_from_vendor")
    repair = _outsourced(order, outsourced, (OutsourcedState.BACK_AT_DEPOT,),
                         "receive from vendor")
    _fire(order, "receive_from_vendor", actor, at, str(repair.id))
    order.mark_repair_step(at)
    _emit(order, rev.ReceivedFromVendor, actor, at, outsourced_id=repair.id)


def vendor_gave_up(
    order: RepairOrder, *, outsourced: OutsourcedRepair, actor: Actor, at: datetime
) -> None:
    """R14: no vendor could repair the unit: the order becomes unrepairable, with grounds for
    a replacement offer."""
    _common(actor, at)
    _check(order, "vendor_gave_up")
    repair = _outsourced(
        order, outsourced, (OutsourcedState.REPLACEMENT_OFFERED, OutsourcedState.UNREPAIRED),
        "record the vendors' failure",
    )
    reason = repair.outcome_reason or "no vendor could repair it"
    _fire(order, "vendor_gave_up", actor, at, reason)
    order.unrepaired_reason = f"R14: {reason}"
    order.replacement_grounds = order.replacement_grounds or f"R14: {reason}"
    _emit(order, rev.VendorGaveUp, actor, at, outsourced_id=repair.id, reason=reason)


# --- the record (R9) -------------------------------------------------------------------------


def verify_repair_record(order: RepairOrder) -> list[str]:
    """R9: replay the order's record against the depot workflow; return every inconsistency
    (empty when clean)."""
    return replay_record(order.record, [order], REPAIR_WORKFLOWS)
