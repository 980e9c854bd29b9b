"""R14/R15 outsourced repair (对外送修): the workflow as data and its steps.

Only a unit in the maker's warranty or beyond our local ability goes out. A vendor is chosen
from the registry, the unit shipped with its voucher kept, the vendor chased on the R15
schedule, and on return the unit is re-inspected with the depot's QC checklist before it goes
back to the depot order. A vendor that fails leads to another vendor (a loop bounded by the
policy's ``max_vendor_attempts``) or to a replacement offer.

Each step validates its input, checks the transition, then fires the shared machine, appends
to the record (R9) and emits one event; a refused step changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import attrs

from aftersales.domain import repair_events as rev
from aftersales.domain.records import Actor
from aftersales.domain.repair import (
    Chase,
    OutsourcedRepair,
    OutsourcedState,
    QcItemResult,
    QualityCheck,
    RepairOrder,
    RepairPolicy,
    Shipment,
    Vendor,
    VendorAttempt,
    next_vendor_chase,
)
from aftersales.domain.values import check_text
from aftersales.domain.values import require_aware as _require_aware
from aftersales.errors import GuardFailed, ValidationError
from aftersales.workflows.core import (
    MustPassThrough,
    RequiresCondition,
    Transition,
    Workflow,
    WorkflowDefinition,
    active,
    replay_record,
)

__all__ = [
    "OUTSOURCED",
    "OUTSOURCED_FLOW",
    "back_to_depot",
    "chase_vendor",
    "choose_vendor",
    "failed_unit_returned",
    "give_up",
    "offer_replacement",
    "open_outsourced",
    "qc_results",
    "record_vendor_failure",
    "reinspect",
    "ship_to_vendor",
    "unit_returned",
    "verify_outsourced_record",
]

OS = OutsourcedState
OUTSOURCED = WorkflowDefinition(
    name="outsourced",
    description="R14 outsourced repair: choose a vendor, ship (voucher kept), chase on the R15 "
    "schedule, unit returns, re-inspection with the depot QC checklist, back to the depot; a "
    "vendor that fails leads to another vendor (bounded by policy) or a replacement offer.",
    states=[s.value for s in OutsourcedState],
    initial=OS.OPENED,
    finals={OS.BACK_AT_DEPOT, OS.REPLACEMENT_OFFERED, OS.UNREPAIRED},
    transitions=[
        Transition("choose_vendor", [OS.OPENED, OS.VENDOR_FAILED], OS.VENDOR_CHOSEN,
                   ["attempts_left"], rule="R14"),
        Transition("ship", [OS.VENDOR_CHOSEN], OS.AT_VENDOR, rule="R14"),
        Transition("chase", [OS.AT_VENDOR], OS.AT_VENDOR, rule="R15"),
        Transition("chase", [OS.FAILED_AT_VENDOR], OS.FAILED_AT_VENDOR, rule="R14,R15"),
        Transition("vendor_returned", [OS.AT_VENDOR], OS.RETURNED, rule="R14"),
        Transition("reinspect", [OS.RETURNED], OS.RETURNED, rule="R14,R13"),
        Transition("back_to_depot", [OS.RETURNED], OS.BACK_AT_DEPOT, ["reinspection_passed"],
                   rule="R14"),
        Transition("vendor_failed", [OS.VENDOR_CHOSEN, OS.RETURNED], OS.VENDOR_FAILED,
                   rule="R14"),
        # R14: a vendor that gives up still holds the unit: it stays in the return ledger
        # until it is back at the depot.
        Transition("vendor_failed", [OS.AT_VENDOR], OS.FAILED_AT_VENDOR, rule="R14"),
        Transition("failed_unit_returned", [OS.FAILED_AT_VENDOR], OS.VENDOR_FAILED, rule="R14"),
        Transition("offer_replacement", [OS.VENDOR_FAILED], OS.REPLACEMENT_OFFERED, rule="R14,R21"),
        Transition("give_up", [OS.VENDOR_FAILED], OS.UNREPAIRED, rule="R14"),
    ],
    guarantees=[
        MustPassThrough(OS.BACK_AT_DEPOT, [OS.RETURNED], rule="R14"),
        RequiresCondition(OS.BACK_AT_DEPOT, "reinspection_passed", rule="R14"),
        RequiresCondition(OS.VENDOR_CHOSEN, "attempts_left", rule="R14"),
        MustPassThrough(OS.AT_VENDOR, [OS.VENDOR_CHOSEN], rule="R14"),
        MustPassThrough(OS.VENDOR_FAILED, [OS.VENDOR_CHOSEN], rule="R14"),
    ],
    condition_reasons={
        "attempts_left": "R14: the policy's maximum number of vendors has been tried",
        "reinspection_passed": "R14: the unit has not passed re-inspection since it came back",
    },
)

OUTSOURCED_FLOW = Workflow(OUTSOURCED, "OutsourcedRepair")

_ENTITY = "OutsourcedRepair"
_E = TypeVar("_E", bound=rev.OutsourcedEvent)


def _text(field: str, value: object, *, required: bool = True) -> str:
    return check_text(_ENTITY, field, value, required=required)


def _uuid(field: str, value: object) -> UUID:
    if not isinstance(value, UUID):
        raise ValidationError(_ENTITY, field, f"expected a UUID, got {type(value).__name__}")
    return value


def _common(actor: object, at: object) -> None:
    if not isinstance(actor, Actor):
        raise ValidationError(_ENTITY, "actor", "an Actor is required")
    _require_aware(_ENTITY, "at", at)  # type: ignore[arg-type]


def _policy(policy: object) -> RepairPolicy:
    if not isinstance(policy, RepairPolicy):
        raise ValidationError(_ENTITY, "policy", "a RepairPolicy is required")
    return policy


def qc_results(
    entity: str, checklist: tuple[str, ...], results: Mapping[str, bool],
    notes: Mapping[str, str] | None = None,
) -> tuple[QcItemResult, ...]:
    """R13: validate QC results against the checklist: every item answered, none unknown."""
    if not isinstance(results, Mapping):
        raise ValidationError(entity, "results", "must map each checklist item to True/False")
    notes = notes or {}
    unknown = sorted(set(results) - set(checklist))
    missing = [item for item in checklist if item not in results]
    if unknown:
        raise ValidationError(entity, "results", f"items not on the checklist: {unknown}")
    if missing:
        raise ValidationError(entity, "results", f"checklist items not answered: {missing}")
    if not all(isinstance(v, bool) for v in results.values()):
        raise ValidationError(entity, "results", "each result must be True or False")
    if set(notes) - set(checklist) or not all(isinstance(n, str) for n in notes.values()):
        raise ValidationError(entity, "notes", "notes must be text for checklist items")
    return tuple(QcItemResult(item, results[item], notes.get(item, "")) for item in checklist)


def _record(repair: OutsourcedRepair, action: str, before: str | None, after: str,
            actor: Actor, at: datetime, note: str) -> None:
    repair.record_step(
        at=at, actor_id=actor.id, workflow=active(OUTSOURCED_FLOW).name, subject_id=repair.id,
        action=action, from_state=before, to_state=after, note=note,
    )


def _label(repair: OutsourcedRepair) -> str:
    return f"{repair.id} of {repair.order_number}"


def _check(repair: OutsourcedRepair, trigger: str) -> None:
    active(OUTSOURCED_FLOW).check(repair, trigger, _label(repair))


def _fire(repair: OutsourcedRepair, trigger: str, actor: Actor, at: datetime, note: str = "") -> (
    None
):
    before, after = active(OUTSOURCED_FLOW).fire(repair, trigger, _label(repair))
    _record(repair, trigger, before, after, actor, at, note)


def _emit(repair: OutsourcedRepair, cls: type[_E], actor: Actor, at: datetime, **kw: Any) -> None:
    repair.emit(cls, actor_id=actor.id, at=at, **kw)


def _refuse(repair: OutsourcedRepair, action: str, reason: str) -> GuardFailed:
    return GuardFailed(_ENTITY, _label(repair), str(repair.state), action, reason)


# --- steps -----------------------------------------------------------------------------------


def open_outsourced(
    *, outsourced_id: UUID, order: RepairOrder, reason: str, actor: Actor, at: datetime,
    policy: RepairPolicy, beyond_local_ability: bool = False, maker_warranty: bool | None = None,
) -> OutsourcedRepair:
    """R14: open an outsourced repair for a depot order.

    Eligible only when the unit is in the maker's warranty (by default: the order's warranty
    determination says in warranty) or we cannot repair it locally; otherwise GuardFailed.
    """
    _uuid("id", outsourced_id)
    _text("reason", reason)
    _common(actor, at)
    policy = _policy(policy)
    if not isinstance(order, RepairOrder):
        raise ValidationError(_ENTITY, "order", "a RepairOrder is required")
    if not isinstance(beyond_local_ability, bool):
        raise ValidationError(_ENTITY, "beyond_local_ability", "must be a bool")
    if maker_warranty is not None and not isinstance(maker_warranty, bool):
        raise ValidationError(_ENTITY, "maker_warranty", "must be a bool (or None)")
    in_maker_warranty = (
        maker_warranty if maker_warranty is not None
        else order.warranty is not None and order.warranty.in_warranty
    )
    if not (in_maker_warranty or beyond_local_ability):
        raise GuardFailed(
            "RepairOrder", order.number, str(order.state), "send to a vendor",
            "R14: only a unit in the maker's warranty or beyond our local ability goes out",
        )
    repair = OutsourcedRepair(
        id=outsourced_id, order_id=order.id, order_number=order.number,
        equipment_id=order.equipment_id, opened_at=at, maker_warranty=in_maker_warranty,
        beyond_local_ability=beyond_local_ability, reason=reason,
        max_attempts=policy.max_vendor_attempts, qc_checklist=order.qc_checklist,
        customer_id=order.customer_id, engineer_id=order.engineer_id,
    )
    _record(repair, "open", None, repair.state, actor, at, reason)
    _emit(repair, rev.OutsourcingOpened, actor, at, order_id=order.id,
          equipment_id=order.equipment_id, maker_warranty=in_maker_warranty,
          beyond_local_ability=beyond_local_ability, reason=reason)
    return repair


def choose_vendor(
    repair: OutsourcedRepair, *, vendor: Vendor, actor: Actor, at: datetime,
    capability: str | None = None,
) -> None:
    """R14: agree with an external repair station; the loop over vendors is bounded by the
    policy (``attempts_left``), and a vendor that already failed on this unit is refused."""
    _common(actor, at)
    if not isinstance(vendor, Vendor):
        raise ValidationError(_ENTITY, "vendor", "a Vendor from the registry is required")
    if capability is not None:
        _text("capability", capability)
    _check(repair, "choose_vendor")
    if not vendor.active:
        raise _refuse(repair, "choose vendor", f"vendor {vendor.name} is not active")
    if vendor.id in repair.failed_vendor_ids:
        raise _refuse(repair, "choose vendor",
                      f"vendor {vendor.name} already failed on this unit (R14: choose another)")
    if capability is not None and not vendor.can(capability):
        raise _refuse(repair, "choose vendor", f"vendor {vendor.name} does not repair "
                      f"{capability!r}")
    _fire(repair, "choose_vendor", actor, at, vendor.name)
    repair.attempts.append(VendorAttempt(vendor.id, at))
    _emit(repair, rev.VendorChosen, actor, at, vendor_id=vendor.id, attempt=len(repair.attempts))


def ship_to_vendor(
    repair: OutsourcedRepair, *, carrier: str, tracking_number: str, voucher: str,
    promised_by: datetime, actor: Actor, at: datetime, policy: RepairPolicy,
) -> None:
    """R14/R15: ship the unit, keep the receipt / pick-up voucher, note the vendor's promised
    date and schedule the first chase (``vendor_chase_lead`` before it)."""
    _text("carrier", carrier)
    _text("tracking_number", tracking_number)
    _text("voucher", voucher)
    _common(actor, at)
    _require_aware(_ENTITY, "promised_by", promised_by)
    policy = _policy(policy)
    if promised_by <= at:
        raise ValidationError(_ENTITY, "promised_by", "the vendor's promise must be later")
    _check(repair, "ship")
    attempt = repair.current_attempt
    assert attempt is not None  # vendor_chosen has an attempt
    _fire(repair, "ship", actor, at, f"{carrier} {tracking_number}")
    next_chase = next_vendor_chase(policy, promised_by, None)
    repair.replace_attempt(attrs.evolve(
        attempt, shipment=Shipment(carrier, tracking_number, voucher, at),
        promised_by=promised_by,
    ))
    repair.next_chase_at = next_chase
    _emit(repair, rev.ShippedToVendor, actor, at, vendor_id=attempt.vendor_id, carrier=carrier,
          tracking_number=tracking_number, voucher=voucher, promised_by=promised_by,
          next_chase_at=next_chase)


def chase_vendor(
    repair: OutsourcedRepair, *, response: str, actor: Actor, at: datetime,
    policy: RepairPolicy, new_promised_by: datetime | None = None,
) -> None:
    """R15: chase the vendor; record its answer (and a new promised date, if it gave one) and
    schedule the next chase (every ``vendor_chase_every``)."""
    _text("response", response)
    _common(actor, at)
    policy = _policy(policy)
    if new_promised_by is not None:
        _require_aware(_ENTITY, "new_promised_by", new_promised_by)
    _check(repair, "chase")
    attempt = repair.current_attempt
    assert attempt is not None and attempt.promised_by is not None
    promised = new_promised_by if new_promised_by is not None else attempt.promised_by
    next_chase = next_vendor_chase(policy, promised, at)
    _fire(repair, "chase", actor, at, response)
    repair.replace_attempt(attrs.evolve(
        attempt, promised_by=promised,
        chases=(*attempt.chases, Chase(at, response, promised, next_chase)),
    ))
    repair.next_chase_at = next_chase
    _emit(repair, rev.VendorChased, actor, at, vendor_id=attempt.vendor_id, response=response,
          promised_by=promised, next_chase_at=next_chase)


def unit_returned(
    repair: OutsourcedRepair, *, vendor_report: str, actor: Actor, at: datetime
) -> None:
    """R14: the unit came back from the vendor; it must be re-inspected before it goes on."""
    _text("vendor_report", vendor_report)
    _common(actor, at)
    _check(repair, "vendor_returned")
    attempt = repair.current_attempt
    assert attempt is not None
    _fire(repair, "vendor_returned", actor, at, vendor_report)
    repair.last_return = len(repair.record)
    repair.next_chase_at = None
    repair.replace_attempt(attrs.evolve(attempt, returned_at=at, vendor_report=vendor_report))
    _emit(repair, rev.VendorReturned, actor, at, vendor_id=attempt.vendor_id,
          vendor_report=vendor_report)


def reinspect(
    repair: OutsourcedRepair, *, results: Mapping[str, bool], actor: Actor, at: datetime,
    notes: Mapping[str, str] | None = None,
) -> QualityCheck:
    """R14: re-inspect the returned unit with the same QC checklist as the depot."""
    _common(actor, at)
    items = qc_results(_ENTITY, repair.qc_checklist, results, notes)
    _check(repair, "reinspect")
    check = QualityCheck(at, actor.id, items)
    note = "passed" if check.passed else "failed: " + ", ".join(check.failed_items)
    _fire(repair, "reinspect", actor, at, note)
    repair.reinspections.append(check)
    if check.passed:
        repair.last_reinspection_pass = len(repair.record)
    _emit(repair, rev.UnitReinspected, actor, at, passed=check.passed,
          failed_items=check.failed_items)
    return check


def back_to_depot(repair: OutsourcedRepair, *, actor: Actor, at: datetime) -> None:
    """R14: the re-inspected unit goes back to the depot order (its QC follows there)."""
    _common(actor, at)
    _fire(repair, "back_to_depot", actor, at)
    repair.outcome_reason = "repaired by the vendor"
    _emit(repair, rev.OutsourcingClosed, actor, at, outcome=str(repair.state),
          reason=repair.outcome_reason)


def record_vendor_failure(
    repair: OutsourcedRepair, *, reason: str, actor: Actor, at: datetime
) -> None:
    """R14: the vendor could not repair the unit (or it failed re-inspection); another vendor
    may be chosen while ``attempts_left``, else a replacement is offered or we give up."""
    _text("reason", reason)
    _common(actor, at)
    _check(repair, "vendor_failed")
    attempt = repair.current_attempt
    assert attempt is not None
    _fire(repair, "vendor_failed", actor, at, reason)
    repair.replace_attempt(attrs.evolve(attempt, failure=reason))
    if repair.state != OutsourcedState.FAILED_AT_VENDOR:
        repair.next_chase_at = None  # the unit is not out: nobody to chase
    left = repair.max_attempts - len(repair.attempts)
    _emit(repair, rev.VendorFailed, actor, at, vendor_id=attempt.vendor_id, reason=reason,
          attempts_left=left)


def failed_unit_returned(
    repair: OutsourcedRepair, *, actor: Actor, at: datetime, note: str = ""
) -> None:
    """R14: the unit a failed vendor held is back at the depot (it leaves the return ledger);
    another vendor may now be chosen."""
    _text("note", note, required=False)
    _common(actor, at)
    _fire(repair, "failed_unit_returned", actor, at, note)
    attempt = repair.current_attempt
    assert attempt is not None
    repair.replace_attempt(attrs.evolve(attempt, returned_at=at))
    repair.next_chase_at = None
    _emit(repair, rev.FailedUnitReturned, actor, at, vendor_id=attempt.vendor_id)


def offer_replacement(
    repair: OutsourcedRepair, *, reason: str, actor: Actor, at: datetime
) -> None:
    """R14/R21: no vendor could repair it: offer a replacement (the depot order follows)."""
    _text("reason", reason)
    _common(actor, at)
    _fire(repair, "offer_replacement", actor, at, reason)
    repair.outcome_reason = reason
    _emit(repair, rev.OutsourcingClosed, actor, at, outcome=str(repair.state), reason=reason)


def give_up(repair: OutsourcedRepair, *, reason: str, actor: Actor, at: datetime) -> None:
    """R14: stop trying vendors; the unit goes back unrepaired (the depot order follows)."""
    _text("reason", reason)
    _common(actor, at)
    _fire(repair, "give_up", actor, at, reason)
    repair.outcome_reason = reason
    _emit(repair, rev.OutsourcingClosed, actor, at, outcome=str(repair.state), reason=reason)


def verify_outsourced_record(repair: OutsourcedRepair) -> list[str]:
    """R9: replay the outsourced repair's record; return every inconsistency (empty if clean)."""
    flow = active(OUTSOURCED_FLOW)
    return replay_record(repair.record, [repair], {flow.name: flow})
