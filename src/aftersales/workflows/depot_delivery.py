"""R13 depot repair, the end: discounts (R22), settlement (R25), delivery with the replaced
parts' own warranties (R21), closing, unrepairable units, replacements, outsourcing (R14)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from aftersales.domain import repair_events as rev
from aftersales.domain.records import Actor
from aftersales.domain.repair import (
    Discount,
    OutsourcedRepair,
    OutsourcedState,
    PartWarranty,
    RepairOrder,
    RepairPolicy,
    ReplacementOffer,
    Settlement,
    Signature,
)
from aftersales.domain.values import Money
from aftersales.domain.warranty import (
    add_months,
)
from aftersales.errors import ValidationError
from aftersales.workflows.depot_flow import (
    _ENTITY,
    _bool,
    _check,
    _common,
    _emit,
    _fire,
    _money,
    _policy,
    _refuse,
    _text,
)
from aftersales.workflows.outsourced import open_outsourced

__all__ = [
    "accept_replacement",
    "apply_discount",
    "close",
    "declare_unrepairable",
    "deliver",
    "offer_replacement",
    "receive_from_vendor",
    "return_unrepaired",
    "send_to_vendor",
    "settle",
    "vendor_gave_up",
]


# --- money (R22, R25) ------------------------------------------------------------------------


def apply_discount(
    order: RepairOrder, *, amount: Money, reason: str, actor: Actor, at: datetime,
) -> Discount:
    """R22: a discount, granted by ``actor`` (the service layer lets only a supervisor run it,
    R30) and recorded with their name. At most one discount, never above what is due now; at
    settlement it never exceeds the gross due then (:attr:`RepairOrder.effective_discount`)."""
    _money("amount", amount, order.currency, positive=True)
    _text("reason", reason)
    _common(actor, at)
    authorized_by = actor
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
    discount = order.effective_discount
    deposit = order.deposit_paid if order.deposits else None
    settlement = Settlement(labour, parts, call_out, fee, discount, due, paid, outlet, at,
                            actor.id, deposit)
    refund = settlement.refund_due
    _fire(order, "settle", actor, at, f"{due} {'paid' if paid else 'receivable'}"
          + (f"; deposit refund owed {refund}" if not refund.is_zero else ""))
    order.settlement = settlement
    _emit(order, rev.Settled, actor, at, total=due, paid=paid, outlet=outlet,
          refund_due=refund)
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
    day = at.astimezone(policy.zone).date()
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
