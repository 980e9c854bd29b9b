"""R13 depot repair, the repair itself: work, parts (R28), deposits (R23), additional work
with new consent, the QC checklist, progress checks and delay notices (R15, R16)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

from aftersales.domain import repair_events as rev
from aftersales.domain.parts import PartOrigin, PartSource, Reservation
from aftersales.domain.records import Actor
from aftersales.domain.repair import (
    DataHandling,
    Deposit,
    Estimate,
    EstimateLine,
    EstimateStatus,
    FittedPart,
    OldPartDisposition,
    PickupNotice,
    PromiseChange,
    QualityCheck,
    RepairOrder,
    RepairPolicy,
    WorkNote,
    pickup_notice_lead,
)
from aftersales.domain.values import Money, elapsed, shifted
from aftersales.errors import ValidationError
from aftersales.workflows.depot_flow import (
    _ENTITY,
    _answer,
    _aware,
    _bool,
    _check,
    _common,
    _emit,
    _enum,
    _estimate_lines,
    _fire,
    _money,
    _move_promise,
    _pending,
    _policy,
    _refuse,
    _replace_estimate,
    _text,
    _uuid,
    _waive,
)
from aftersales.workflows.outsourced import qc_results

__all__ = [
    "approve_additional_work",
    "decline_additional_work",
    "finish_repair",
    "fit_part",
    "mark_ready",
    "notify_delay",
    "propose_additional_work",
    "receive_deposit",
    "record_parts_released",
    "record_parts_reserved",
    "record_progress_check",
    "record_qc",
    "record_repair_work",
    "resume_repair",
    "rework",
    "start_repair",
    "wait_for_parts",
]


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
    if order.part_declined(sku):
        raise _refuse(order, f"fit {sku}",
                      "R13: the customer declined the work this part was priced for")
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


def record_parts_released(
    order: RepairOrder, *, reservation_id: UUID, sku: str, quantity: int, actor: Actor,
    at: datetime,
) -> None:
    """R28: ``quantity`` units of a reservation of this order went back to stock unused; the
    order no longer counts them as reserved (so a repair waiting for them waits again)."""
    _uuid("reservation_id", reservation_id)
    _text("sku", sku)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValidationError(_ENTITY, "quantity", "must be a positive whole number")
    if reservation_id not in order.reservation_ids:
        raise ValidationError(_ENTITY, "reservation_id", "is not a reservation of this order")
    if order.parts_reserved.get(sku, 0) < quantity:
        raise ValidationError(_ENTITY, "quantity", f"the order holds fewer {sku}")
    _common(actor, at)
    _fire(order, "record_parts_released", actor, at, f"{quantity} × {sku} back to stock")
    left = order.parts_reserved[sku] - quantity
    if left:
        order.parts_reserved[sku] = left
    else:
        del order.parts_reserved[sku]
    _emit(order, rev.PartsReleasedFromOrder, actor, at, reservation_id=reservation_id, sku=sku,
          quantity=quantity)


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
    lead = pickup_notice_lead(policy, elapsed(order.received_at, at))
    late = at > shifted(order.promised_at, -lead)
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
    lead = pickup_notice_lead(policy, elapsed(order.received_at, at))
    notice_at = shifted(pickup_at, -lead)
    if notice_at < at:
        raise ValidationError(_ENTITY, "pickup_at",
                              f"leaves less than the R16 notice of {lead} from now")
    notice = PickupNotice(pickup_at, notice_at, lead)
    _fire(order, "mark_ready", actor, at, f"pick-up {pickup_at}, notice {notice_at}")
    order.pickup = notice
    _emit(order, rev.ReadyForPickup, actor, at, pickup_at=pickup_at, notice_at=notice_at,
          lead=lead)
    return notice
