"""Commands of spare parts (R28) and their handlers: the catalogue, stock locations, goods
receipt, reservations for a repair order, issue, release, defective returns, dead-on-arrival.

A command on a reservation is authorized against its repair order (only the order's engineer,
a clerk or a supervisor may move its parts); suppliers are vendors of the registry.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import attrs

from aftersales.domain.parts import (
    LocationKind,
    Part,
    PartOrigin,
    Reservation,
    Stock,
    StockLocation,
)
from aftersales.domain.repair import DataHandling, RepairOrder
from aftersales.domain.repair_events import PartAdded, StockLocationOpened
from aftersales.domain.values import Money, Role
from aftersales.errors import GuardFailed, NotFound, ValidationError
from aftersales.service.commands import (
    Command,
    boolean,
    integer,
    member,
    money,
    optional,
    text,
    uuid,
)
from aftersales.service.runner import Context, Handler
from aftersales.workflows import depot
from aftersales.workflows import records as files

__all__ = [
    "PARTS_HANDLERS",
    "AddPart",
    "IssuePart",
    "OpenStockLocation",
    "ReceiveStock",
    "ReleaseParts",
    "ReportDeadOnArrival",
    "ReserveParts",
    "ReturnDefectivePart",
]


@attrs.frozen(kw_only=True)
class AddPart(Command):
    """R28: a part joins the catalogue (SKUs are unique)."""

    name = "add_part"
    sku: str = attrs.field(validator=text(max_length=64))
    title: str = attrs.field(validator=text(max_length=200))
    origin: PartOrigin = attrs.field(validator=member(PartOrigin))
    unit_price: Money = attrs.field(validator=money())
    warranty_months: int | None = attrs.field(default=None,
                                              validator=optional(integer(low=0, high=240)))
    supplier_id: UUID | None = attrs.field(default=None, validator=optional(uuid()))
    storage_media: bool = attrs.field(default=False, validator=boolean())


@attrs.frozen(kw_only=True)
class OpenStockLocation(Command):
    """R28: a warehouse, or an engineer's own stock."""

    name = "open_stock_location"
    location: str = attrs.field(validator=text(max_length=200))
    kind: LocationKind = attrs.field(default=LocationKind.WAREHOUSE,
                                     validator=member(LocationKind))
    engineer_id: UUID | None = attrs.field(default=None, validator=optional(uuid()))


@attrs.frozen(kw_only=True)
class _AtLocation(Command):
    """A command on one stock location."""

    location_id: UUID = attrs.field(validator=uuid())


@attrs.frozen(kw_only=True)
class ReceiveStock(_AtLocation):
    """R28: goods receipt signed off at a location."""

    name = "receive_stock"
    sku: str = attrs.field(validator=text(max_length=64))
    quantity: int = attrs.field(validator=integer(low=1, high=1_000_000))
    supplier_id: UUID | None = attrs.field(default=None, validator=optional(uuid()))
    note: str = attrs.field(default="", validator=text(required=False))


@attrs.frozen(kw_only=True)
class ReserveParts(_AtLocation):
    """R28: hold parts at a location for a repair order (recorded on the order too)."""

    name = "reserve_parts"
    order_id: UUID = attrs.field(validator=uuid())
    sku: str = attrs.field(validator=text(max_length=64))
    quantity: int = attrs.field(default=1, validator=integer(low=1, high=100_000))


@attrs.frozen(kw_only=True)
class IssuePart(_AtLocation):
    """R28: issue reserved units to the job (consumed from stock)."""

    name = "issue_part"
    reservation_id: UUID = attrs.field(validator=uuid())
    quantity: int = attrs.field(default=1, validator=integer(low=1, high=100_000))


@attrs.frozen(kw_only=True)
class ReleaseParts(_AtLocation):
    """R28: the unused rest of a reservation goes back to stock (and off the order)."""

    name = "release_parts"
    reservation_id: UUID = attrs.field(validator=uuid())


@attrs.frozen(kw_only=True)
class ReturnDefectivePart(_AtLocation):
    """R28: a defective part removed from the order's unit is booked for its supplier."""

    name = "return_defective_part"
    order_id: UUID = attrs.field(validator=uuid())
    sku: str = attrs.field(validator=text(max_length=64))
    quantity: int = attrs.field(default=1, validator=integer(low=1, high=100_000))
    note: str = attrs.field(default="", validator=text(required=False))


@attrs.frozen(kw_only=True)
class ReportDeadOnArrival(_AtLocation):
    """R28/§9: an issued part was dead on arrival."""

    name = "report_dead_on_arrival"
    reservation_id: UUID = attrs.field(validator=uuid())
    note: str = attrs.field(default="", validator=text(required=False))
    supplier_id: UUID | None = attrs.field(default=None, validator=optional(uuid()))


# --- handlers ----------------------------------------------------------------------------


def _supplier(ctx: Context, supplier_id: UUID | None) -> None:
    """A supplier is a vendor of the registry."""
    if supplier_id is not None:
        try:
            ctx.uow.vendors.get(supplier_id)
        except NotFound:
            raise ValidationError("Stock", "supplier_id",
                                  f"{supplier_id} is not a vendor of the registry") from None


def _add_part(ctx: Context, cmd: AddPart, _: None) -> Part:
    _supplier(ctx, cmd.supplier_id)
    try:
        ctx.uow.parts.get_by("sku", cmd.sku)
    except NotFound:
        pass
    else:
        raise ValidationError("Part", "sku", f"{cmd.sku} already exists")
    part = Part(ctx.new_id(), cmd.sku, cmd.title, cmd.origin, cmd.unit_price,
                warranty_months=cmd.warranty_months, supplier_id=cmd.supplier_id,
                storage_media=cmd.storage_media)
    files.open_file(part, PartAdded, actor_id=ctx.actor.id, at=ctx.now, sku=part.sku,
                    title=part.name)
    ctx.uow.parts.add(part)
    return part


def _open_location(ctx: Context, cmd: OpenStockLocation, _: None) -> Stock:
    if cmd.engineer_id is not None:
        engineer = ctx.uow.actors.get(cmd.engineer_id)
        if not engineer.has(Role.ENGINEER):
            raise ValidationError("Stock", "engineer_id", f"{engineer.name} is not an engineer")
    location = StockLocation(ctx.new_id(), cmd.location, cmd.kind, cmd.engineer_id)
    stock = Stock.open(location)
    stock.emit(StockLocationOpened, actor_id=ctx.actor.id, at=ctx.now, location=location.name,
               location_kind=location.kind.value, engineer_id=location.engineer_id)
    ctx.uow.stock.add(stock)
    return stock


def _stock(ctx: Context, cmd: _AtLocation) -> Stock:
    return ctx.uow.stock.get(cmd.location_id)


def _receive(ctx: Context, cmd: ReceiveStock, stock: Stock) -> Stock:
    ctx.uow.parts.get_by("sku", cmd.sku)
    _supplier(ctx, cmd.supplier_id)
    stock.receive(sku=cmd.sku, quantity=cmd.quantity, actor=ctx.actor, at=ctx.now,
                  supplier_id=cmd.supplier_id, note=cmd.note)
    return stock


def _reservation(ctx: Context, stock: Stock, reservation_id: UUID) -> Reservation:
    found = stock.reservations.get(reservation_id)
    if found is None:
        raise NotFound("Reservation", reservation_id)
    return found


def _order_of_reservation(ctx: Context, cmd: IssuePart | ReleaseParts | ReportDeadOnArrival
                          ) -> RepairOrder:
    stock = ctx.uow.stock.get(cmd.location_id)
    return ctx.uow.repairs.get(_reservation(ctx, stock, cmd.reservation_id).order_id)


def _order(ctx: Context, cmd: ReserveParts | ReturnDefectivePart) -> RepairOrder:
    ctx.uow.stock.get(cmd.location_id)  # an unknown location is NotFound before anything
    return ctx.uow.repairs.get(cmd.order_id)


def _reserve(ctx: Context, cmd: ReserveParts, order: RepairOrder) -> Stock:
    stock = ctx.uow.stock.get(cmd.location_id)
    part = ctx.uow.parts.get_by("sku", cmd.sku)
    depot.DEPOT_FLOW.check(order, "record_parts_reserved", order.number, order)
    reservation = stock.reserve(
        reservation_id=ctx.new_id(), order_id=order.id, sku=cmd.sku, quantity=cmd.quantity,
        actor=ctx.actor, at=ctx.now, supplier_id=part.supplier_id,
    )
    depot.record_parts_reserved(order, reservation=reservation, actor=ctx.actor, at=ctx.now)
    return stock


def _issue(ctx: Context, cmd: IssuePart, order: RepairOrder) -> Stock:
    stock = ctx.uow.stock.get(cmd.location_id)
    stock.issue(reservation_id=cmd.reservation_id, actor=ctx.actor, at=ctx.now,
                quantity=cmd.quantity)
    return stock


def _release(ctx: Context, cmd: ReleaseParts, order: RepairOrder) -> Stock:
    stock = ctx.uow.stock.get(cmd.location_id)
    held = _reservation(ctx, stock, cmd.reservation_id)
    depot.DEPOT_FLOW.check(order, "record_parts_released", order.number, order)
    rest = stock.release(reservation_id=cmd.reservation_id, actor=ctx.actor, at=ctx.now)
    if held.id in order.reservation_ids and order.parts_reserved.get(held.sku, 0) >= rest:
        depot.record_parts_released(order, reservation_id=held.id, sku=held.sku,
                                    quantity=rest, actor=ctx.actor, at=ctx.now)
    return stock


def _return_defective(ctx: Context, cmd: ReturnDefectivePart, order: RepairOrder) -> Stock:
    stock = ctx.uow.stock.get(cmd.location_id)
    part = ctx.uow.parts.get_by("sku", cmd.sku)
    if part.storage_media and order.intake.data_handling is not DataHandling.WIPE_ALLOWED:
        raise GuardFailed("RepairOrder", order.number, str(order.state),
                          f"return {cmd.sku} to its supplier",
                          f"§9: the customer keeps the old disk ({order.intake.data_handling})")
    stock.return_defective(order_id=order.id, sku=cmd.sku, actor=ctx.actor, at=ctx.now,
                           quantity=cmd.quantity, supplier_id=part.supplier_id, note=cmd.note)
    return stock


def _dead_on_arrival(ctx: Context, cmd: ReportDeadOnArrival, order: RepairOrder) -> Stock:
    stock = ctx.uow.stock.get(cmd.location_id)
    _supplier(ctx, cmd.supplier_id)
    stock.dead_on_arrival(reservation_id=cmd.reservation_id, actor=ctx.actor, at=ctx.now,
                          note=cmd.note, supplier_id=cmd.supplier_id)
    return stock


PARTS_HANDLERS: tuple[Handler[Any], ...] = (
    Handler(AddPart, _add_part),
    Handler(OpenStockLocation, _open_location),
    Handler(ReceiveStock, _receive, _stock),
    Handler(ReserveParts, _reserve, _order),
    Handler(IssuePart, _issue, _order_of_reservation),
    Handler(ReleaseParts, _release, _order_of_reservation),
    Handler(ReturnDefectivePart, _return_defective, _order),
    Handler(ReportDeadOnArrival, _dead_on_arrival, _order_of_reservation),
)
