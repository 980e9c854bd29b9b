"""Commands that end a depot repair: the discount (R22) a supervisor grants, settlement (R25),
delivery, closing, unrepairable units and replacements (R13, R21). Handing the unit back
resolves its request in the same transaction."""

from __future__ import annotations

from typing import Any

import attrs

from aftersales.domain.records import Actor
from aftersales.domain.repair import RepairOrder
from aftersales.domain.request import RequestState, ServiceRequest
from aftersales.domain.values import Money
from aftersales.errors import GuardFailed
from aftersales.service.commands import boolean, money, text
from aftersales.service.depot import OrderCommand
from aftersales.service.depot_handlers import order_handler
from aftersales.service.runner import Context, Handler
from aftersales.workflows import depot, steps

__all__ = [
    "CLOSING_HANDLERS",
    "AcceptReplacement",
    "ApplyDiscount",
    "CloseOrder",
    "DeclareUnrepairable",
    "Deliver",
    "OfferReplacement",
    "ReturnUnrepaired",
    "Settle",
    "complete_request",
]


@attrs.frozen(kw_only=True)
class ApplyDiscount(OrderCommand):
    """R22: a discount, granted by the supervisor who runs this command."""

    name = "apply_discount"
    amount: Money = attrs.field(validator=money(positive=True))
    reason: str = attrs.field(validator=text())


@attrs.frozen(kw_only=True)
class Settle(OrderCommand):
    """R25: settle the job; ``amount`` must equal what is due."""

    name = "settle"
    amount: Money = attrs.field(validator=money())
    paid: bool = attrs.field(default=True, validator=boolean())
    outlet: str = attrs.field(default="", validator=text(required=False, max_length=200))


@attrs.frozen(kw_only=True)
class Deliver(OrderCommand):
    """R13: the customer signs for the repaired unit; the request is resolved."""

    name = "deliver"
    signed_by: str = attrs.field(validator=text(max_length=200))


@attrs.frozen(kw_only=True)
class CloseOrder(OrderCommand):
    """R13/R28: close a delivered, returned or replaced order (no reservation left open)."""

    name = "close_order"


@attrs.frozen(kw_only=True)
class DeclareUnrepairable(OrderCommand):
    """R13: the unit cannot be repaired."""

    name = "declare_unrepairable"
    reason: str = attrs.field(validator=text())


@attrs.frozen(kw_only=True)
class OfferReplacement(OrderCommand):
    """R21: offer a replacement of the same model or better (only with grounds)."""

    name = "offer_replacement"
    model: str = attrs.field(validator=text(max_length=120))


@attrs.frozen(kw_only=True)
class AcceptReplacement(OrderCommand):
    """R21: the customer takes the replacement unit and signs; the request is resolved."""

    name = "accept_replacement"
    serial: str = attrs.field(validator=text(max_length=120))
    signed_by: str = attrs.field(validator=text(max_length=200))


@attrs.frozen(kw_only=True)
class ReturnUnrepaired(OrderCommand):
    """R13/R25: hand the unit back unrepaired; the request is resolved."""

    name = "return_unrepaired"
    signed_by: str = attrs.field(validator=text(max_length=200))


def complete_request(
    request: ServiceRequest, order: RepairOrder, actor: Actor, ctx: Context, outcome: str
) -> None:
    """R13: the depot job ended; the request waits for the customer's confirmation (R10)."""
    if request.state == RequestState.AT_DEPOT and request.repair_order_id == order.id:
        steps.complete_depot(request, resolution=f"{order.number}: {outcome}", actor=actor,
                             at=ctx.now)


def _discount(ctx: Context, cmd: ApplyDiscount, order: RepairOrder) -> None:
    depot.apply_discount(order, amount=cmd.amount, reason=cmd.reason, actor=ctx.actor,
                         at=ctx.now)


def _settle(ctx: Context, cmd: Settle, order: RepairOrder) -> None:
    depot.settle(order, amount=cmd.amount, actor=ctx.actor, at=ctx.now, paid=cmd.paid,
                 outlet=cmd.outlet)


def _deliver(ctx: Context, cmd: Deliver, order: RepairOrder) -> None:
    depot.deliver(order, signed_by=cmd.signed_by, actor=ctx.actor, at=ctx.now,
                  policy=ctx.settings.repair_policy)
    request = ctx.uow.requests.get(order.request_id)
    complete_request(request, order, ctx.actor, ctx, f"delivered to {cmd.signed_by}")


def _close(ctx: Context, cmd: CloseOrder, order: RepairOrder) -> None:
    depot.DEPOT_FLOW.check(order, "close", order.number, order)
    for stock in ctx.uow.stock.find():
        for held in stock.reservations_for(order.id):
            if held.open:
                raise GuardFailed(
                    "RepairOrder", order.number, str(order.state), "close",
                    f"R28: reservation {held.id} at {stock.location.name} still holds "
                    f"{held.remaining} × {held.sku}",
                )
    depot.close(order, actor=ctx.actor, at=ctx.now)


def _unrepairable(ctx: Context, cmd: DeclareUnrepairable, order: RepairOrder) -> None:
    depot.declare_unrepairable(order, reason=cmd.reason, actor=ctx.actor, at=ctx.now)


def _offer(ctx: Context, cmd: OfferReplacement, order: RepairOrder) -> None:
    depot.offer_replacement(order, model=cmd.model, actor=ctx.actor, at=ctx.now)


def _accept(ctx: Context, cmd: AcceptReplacement, order: RepairOrder) -> None:
    depot.accept_replacement(order, serial=cmd.serial, signed_by=cmd.signed_by,
                             actor=ctx.actor, at=ctx.now)
    request = ctx.uow.requests.get(order.request_id)
    complete_request(request, order, ctx.actor, ctx, f"replaced by {cmd.serial}")


def _return(ctx: Context, cmd: ReturnUnrepaired, order: RepairOrder) -> None:
    depot.return_unrepaired(order, signed_by=cmd.signed_by, actor=ctx.actor, at=ctx.now)
    request = ctx.uow.requests.get(order.request_id)
    complete_request(request, order, ctx.actor, ctx, "returned unrepaired")


CLOSING_HANDLERS: tuple[Handler[Any], ...] = (
    order_handler(ApplyDiscount, _discount),
    order_handler(Settle, _settle),
    order_handler(Deliver, _deliver),
    order_handler(CloseOrder, _close),
    order_handler(DeclareUnrepairable, _unrepairable),
    order_handler(OfferReplacement, _offer),
    order_handler(AcceptReplacement, _accept),
    order_handler(ReturnUnrepaired, _return),
)
