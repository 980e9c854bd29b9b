"""Commands of outsourced repair (R14, R15) and the vendor registry, and their handlers.

A command on an outsourced repair is authorized against it as loaded (it names the order's
customer and engineer). Sending a unit out moves its depot order to ``at_vendor``; bringing it
back, or giving up, moves the order on in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from aftersales.domain.repair import OutsourcedRepair, OutsourcedState, RepairOrder, Vendor
from aftersales.domain.repair_events import VendorRegistered
from aftersales.errors import GuardFailed
from aftersales.service.commands import (
    Command,
    boolean,
    frozenset_,
    instant,
    optional,
    set_of,
    text,
    uuid,
)
from aftersales.service.depot import QC_NOTES, QC_RESULTS, OrderCommand, pairs
from aftersales.service.depot_handlers import order_of
from aftersales.service.runner import Context, Handler
from aftersales.workflows import depot, outsourced
from aftersales.workflows import records as files

__all__ = [
    "OUTSOURCED_HANDLERS",
    "BackToDepot",
    "ChaseVendor",
    "ChooseVendor",
    "FailedUnitReturned",
    "GiveUpOutsourcing",
    "OfferReplacementAfterVendors",
    "RecordVendorFailure",
    "RegisterVendor",
    "Reinspect",
    "SendToVendor",
    "ShipToVendor",
    "VendorReturnedUnit",
]

#: An outsourced repair in one of these states holds (or is about to hold) the unit.
_LIVE = (OutsourcedState.OPENED, OutsourcedState.VENDOR_CHOSEN, OutsourcedState.AT_VENDOR,
         OutsourcedState.RETURNED, OutsourcedState.FAILED_AT_VENDOR,
         OutsourcedState.VENDOR_FAILED)


@attrs.frozen(kw_only=True)
class SendToVendor(OrderCommand):
    """R14: open an outsourced repair for the order (maker's warranty or beyond our
    ability); the order goes ``at_vendor``."""

    name = "send_to_vendor"
    reason: str = attrs.field(validator=text())
    beyond_local_ability: bool = attrs.field(default=False, validator=boolean())
    maker_warranty: bool | None = attrs.field(default=None, validator=optional(boolean()))


@attrs.frozen(kw_only=True)
class RegisterVendor(Command):
    """R14: add an external repair station to the vendor registry."""

    name = "register_vendor"
    vendor: str = attrs.field(validator=text(max_length=200))
    contact: str = attrs.field(validator=text(max_length=500))
    capabilities: frozenset[str] = attrs.field(
        default=frozenset(), converter=frozenset_, validator=set_of(text(max_length=120))
    )


@attrs.frozen(kw_only=True)
class _OnOutsourced(Command):
    """A command on one outsourced repair."""

    outsourced_id: UUID = attrs.field(validator=uuid())


@attrs.frozen(kw_only=True)
class ChooseVendor(_OnOutsourced):
    """R14: agree with a vendor from the registry."""

    name = "choose_vendor"
    vendor_id: UUID = attrs.field(validator=uuid())
    capability: str | None = attrs.field(default=None, validator=optional(text(max_length=120)))


@attrs.frozen(kw_only=True)
class ShipToVendor(_OnOutsourced):
    """R14/R15: ship the unit, keeping the voucher; the first chase is scheduled."""

    name = "ship_to_vendor"
    carrier: str = attrs.field(validator=text(max_length=200))
    tracking_number: str = attrs.field(validator=text(max_length=200))
    voucher: str = attrs.field(validator=text(max_length=500))
    promised_by: datetime = attrs.field(validator=instant())


@attrs.frozen(kw_only=True)
class ChaseVendor(_OnOutsourced):
    """R15: chase the vendor; its answer and the next chase are recorded."""

    name = "chase_vendor"
    response: str = attrs.field(validator=text())
    new_promised_by: datetime | None = attrs.field(default=None, validator=optional(instant()))


@attrs.frozen(kw_only=True)
class VendorReturnedUnit(_OnOutsourced):
    """R14: the unit came back from the vendor; it must be re-inspected."""

    name = "vendor_returned"
    vendor_report: str = attrs.field(validator=text())


@attrs.frozen(kw_only=True)
class Reinspect(_OnOutsourced):
    """R14: re-inspect the returned unit with the depot's QC checklist."""

    name = "reinspect"
    results: tuple[tuple[str, bool], ...] = attrs.field(converter=pairs, validator=QC_RESULTS)
    notes: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=pairs,
                                                     validator=QC_NOTES)


@attrs.frozen(kw_only=True)
class BackToDepot(_OnOutsourced):
    """R14: the re-inspected unit goes back to its depot order (its own QC follows)."""

    name = "back_to_depot"


@attrs.frozen(kw_only=True)
class RecordVendorFailure(_OnOutsourced):
    """R14: the vendor could not repair the unit (a unit it holds stays in the ledger)."""

    name = "record_vendor_failure"
    reason: str = attrs.field(validator=text())


@attrs.frozen(kw_only=True)
class FailedUnitReturned(_OnOutsourced):
    """R14: the unit a failed vendor held is back at the depot."""

    name = "failed_unit_returned"
    note: str = attrs.field(default="", validator=text(required=False))


@attrs.frozen(kw_only=True)
class OfferReplacementAfterVendors(_OnOutsourced):
    """R14/R21: no vendor could repair it: the order becomes unrepairable and a replacement
    ``model`` is offered."""

    name = "offer_replacement_after_vendors"
    reason: str = attrs.field(validator=text())
    model: str = attrs.field(validator=text(max_length=120))


@attrs.frozen(kw_only=True)
class GiveUpOutsourcing(_OnOutsourced):
    """R14: stop trying vendors; the order becomes unrepairable."""

    name = "give_up_outsourcing"
    reason: str = attrs.field(validator=text())


# --- handlers ----------------------------------------------------------------------------


def _send(ctx: Context, cmd: SendToVendor, order: RepairOrder) -> OutsourcedRepair:
    depot.DEPOT_FLOW.check(order, "send_to_vendor", order.number, order)
    if ctx.uow.outsourced.find(equipment_id=order.equipment_id, state=_LIVE, limit=1):
        raise GuardFailed("RepairOrder", order.number, str(order.state), "send to a vendor",
                          "R14: the unit is already out to a vendor")
    repair = depot.send_to_vendor(
        order, outsourced_id=ctx.new_id(), reason=cmd.reason, actor=ctx.actor, at=ctx.now,
        policy=ctx.settings.repair_policy, beyond_local_ability=cmd.beyond_local_ability,
        maker_warranty=cmd.maker_warranty,
    )
    ctx.uow.outsourced.add(repair)
    return repair


def _register_vendor(ctx: Context, cmd: RegisterVendor, _: None) -> Vendor:
    vendor = Vendor(ctx.new_id(), cmd.vendor, cmd.contact, cmd.capabilities)
    files.open_file(vendor, VendorRegistered, actor_id=ctx.actor.id, at=ctx.now,
                    vendor=vendor.name)
    ctx.uow.vendors.add(vendor)
    return vendor


def _repair_of(ctx: Context, cmd: _OnOutsourced) -> OutsourcedRepair:
    return ctx.uow.outsourced.get(cmd.outsourced_id)


def _on_repair(
    command: type[_OnOutsourced],
    step: Callable[[Context, Any, OutsourcedRepair, RepairOrder], None],
) -> Handler[Any]:
    def run(ctx: Context, cmd: Any, repair: OutsourcedRepair) -> OutsourcedRepair:
        order = ctx.uow.repairs.get(repair.order_id)
        step(ctx, cmd, repair, order)
        return repair

    return Handler(command, run, _repair_of)


def _choose(ctx: Context, cmd: ChooseVendor, repair: OutsourcedRepair, _: RepairOrder) -> None:
    vendor = ctx.uow.vendors.get(cmd.vendor_id)
    outsourced.choose_vendor(repair, vendor=vendor, actor=ctx.actor, at=ctx.now,
                             capability=cmd.capability)


def _ship(ctx: Context, cmd: ShipToVendor, repair: OutsourcedRepair, _: RepairOrder) -> None:
    outsourced.ship_to_vendor(
        repair, carrier=cmd.carrier, tracking_number=cmd.tracking_number, voucher=cmd.voucher,
        promised_by=cmd.promised_by, actor=ctx.actor, at=ctx.now,
        policy=ctx.settings.repair_policy,
    )


def _chase(ctx: Context, cmd: ChaseVendor, repair: OutsourcedRepair, _: RepairOrder) -> None:
    outsourced.chase_vendor(repair, response=cmd.response, actor=ctx.actor, at=ctx.now,
                            policy=ctx.settings.repair_policy,
                            new_promised_by=cmd.new_promised_by)


def _returned(
    ctx: Context, cmd: VendorReturnedUnit, repair: OutsourcedRepair, _: RepairOrder
) -> None:
    outsourced.unit_returned(repair, vendor_report=cmd.vendor_report, actor=ctx.actor,
                             at=ctx.now)


def _reinspect(ctx: Context, cmd: Reinspect, repair: OutsourcedRepair, _: RepairOrder) -> None:
    outsourced.reinspect(repair, results=dict(cmd.results), notes=dict(cmd.notes),
                         actor=ctx.actor, at=ctx.now)


def _back(ctx: Context, cmd: BackToDepot, repair: OutsourcedRepair, order: RepairOrder) -> None:
    depot.DEPOT_FLOW.check(order, "receive_from_vendor", order.number, order)
    outsourced.back_to_depot(repair, actor=ctx.actor, at=ctx.now)
    depot.receive_from_vendor(order, outsourced=repair, actor=ctx.actor, at=ctx.now)


def _failure(
    ctx: Context, cmd: RecordVendorFailure, repair: OutsourcedRepair, _: RepairOrder
) -> None:
    outsourced.record_vendor_failure(repair, reason=cmd.reason, actor=ctx.actor, at=ctx.now)


def _failed_back(
    ctx: Context, cmd: FailedUnitReturned, repair: OutsourcedRepair, _: RepairOrder
) -> None:
    outsourced.failed_unit_returned(repair, actor=ctx.actor, at=ctx.now, note=cmd.note)


def _offer(
    ctx: Context, cmd: OfferReplacementAfterVendors, repair: OutsourcedRepair,
    order: RepairOrder,
) -> None:
    depot.DEPOT_FLOW.check(order, "vendor_gave_up", order.number, order)
    outsourced.offer_replacement(repair, reason=cmd.reason, actor=ctx.actor, at=ctx.now)
    depot.vendor_gave_up(order, outsourced=repair, actor=ctx.actor, at=ctx.now)
    depot.offer_replacement(order, model=cmd.model, actor=ctx.actor, at=ctx.now)


def _give_up(
    ctx: Context, cmd: GiveUpOutsourcing, repair: OutsourcedRepair, order: RepairOrder
) -> None:
    depot.DEPOT_FLOW.check(order, "vendor_gave_up", order.number, order)
    outsourced.give_up(repair, reason=cmd.reason, actor=ctx.actor, at=ctx.now)
    depot.vendor_gave_up(order, outsourced=repair, actor=ctx.actor, at=ctx.now)


OUTSOURCED_HANDLERS: tuple[Handler[Any], ...] = (
    Handler(SendToVendor, _send, order_of),
    Handler(RegisterVendor, _register_vendor),
    _on_repair(ChooseVendor, _choose),
    _on_repair(ShipToVendor, _ship),
    _on_repair(ChaseVendor, _chase),
    _on_repair(VendorReturnedUnit, _returned),
    _on_repair(Reinspect, _reinspect),
    _on_repair(BackToDepot, _back),
    _on_repair(RecordVendorFailure, _failure),
    _on_repair(FailedUnitReturned, _failed_back),
    _on_repair(OfferReplacementAfterVendors, _offer),
    _on_repair(GiveUpOutsourcing, _give_up),
)
