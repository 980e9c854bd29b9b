"""The repair oracle's prediction of any repair desk command: the arguments' limits, the
actor, the target (an order, an outsourced repair or a stock location), R30, and then
the rules of the command's context.

Part of :mod:`aftersales.testing.repair_oracle`: import from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from aftersales.domain.kernel import Aggregate
from aftersales.domain.parts import Stock
from aftersales.domain.records import Actor
from aftersales.domain.repair import OutsourcedRepair, RepairOrder
from aftersales.errors import NotAuthorized, NotFound, ValidationError
from aftersales.testing import oracle
from aftersales.testing.oracle import Expectation
from aftersales.testing.repair_oracle.depot import DepotPrediction
from aftersales.testing.repair_oracle.parts import PartsPrediction
from aftersales.testing.repair_oracle.tables import (
    _NAMES,
    _QUANTITIES,
    _TEXTS,
    OUTSOURCED_TARGETED,
    STOCK_TARGETED,
)

__all__ = ["RepairPrediction"]


class RepairPrediction(DepotPrediction, PartsPrediction):
    """Predicts what any repair desk command must do."""

    def _expect_arguments(self, e: Expectation, command: str, args: Mapping[str, Any]) -> None:
        for name, longest in _TEXTS.get(command, ()):
            if not oracle.text_ok(args.get(name), max_length=longest):
                e.refuse(ValidationError, "arguments", f"{name} {args.get(name)!r}")
        for name in _NAMES:
            if args.get(name) is not None and not oracle.text_ok(args[name], max_length=200):
                e.refuse(ValidationError, "arguments", f"{name} {args[name]!r}")
        if "note" not in dict(_TEXTS.get(command, ())) and "note" in args and not (
            oracle.text_ok(args["note"], required=False)
        ):
            e.refuse(ValidationError, "arguments", "note")
        if command == "fit_part" and args.get("description") is not None and not (
            oracle.text_ok(args["description"])
        ):
            e.refuse(ValidationError, "arguments", "a blank part description")
        if command in _QUANTITIES and "quantity" in args:
            low, high = _QUANTITIES[command]
            if not low <= args["quantity"] <= high:
                e.refuse(ValidationError, "arguments", f"quantity {args['quantity']}")
        if command == "wait_for_parts":
            needed = args.get("needed", {})
            if not needed or not all(oracle.text_ok(k, max_length=64) and 1 <= v <= 100_000
                                     for k, v in needed.items()):
                e.refuse(ValidationError, "arguments", f"needed {needed}")
        positive = {"receive_deposit", "apply_discount"}
        if "amount" in args and not oracle.money_ok(args["amount"],
                                                     positive=command in positive):
            e.refuse(ValidationError, "arguments", f"amount {args['amount']}")
        for name in ("new_promised_at", "pickup_at", "promised_by", "new_promised_by",
                     "promised_at"):
            if args.get(name) is not None and not oracle.instant_ok(args[name]):
                e.refuse(ValidationError, "arguments", f"{name} {args[name]}")

    def expect_repair_command(
        self, command: str, actor: Actor, target_id: UUID, args: Mapping[str, Any]
    ) -> Expectation:
        """What ``command`` by ``actor`` on ``target_id`` (an order, an outsourced repair or a
        stock location, see :data:`STOCK_TARGETED` and :data:`OUTSOURCED_TARGETED`) must do,
        from the committed state."""
        e = Expectation(f"{command} by {actor.name} on {target_id}")
        self._expect_arguments(e, command, args)
        who = self.store.actors.get(actor.id)
        if who is None or not who.active:
            e.refuse(NotAuthorized, "actor", f"{actor.name} is not an active actor")
            who = None
        store = self.store
        order: RepairOrder | None = None
        repair: OutsourcedRepair | None = None
        stock: Stock | None = None
        target: Aggregate | None = None
        if command in OUTSOURCED_TARGETED:
            repair = store.outsourced.get(target_id)
            if repair is not None:
                order, target = store.repairs[repair.order_id], repair
        elif command in STOCK_TARGETED or command == "reserve_parts":
            stock = store.stock.get(args["location_id"] if command == "reserve_parts"
                                    else target_id)
            if stock is None:
                pass
            elif command == "receive_stock":
                target = stock
            elif command in ("return_defective_part", "reserve_parts"):
                order = store.repairs.get(args["order_id"] if command != "reserve_parts"
                                          else target_id)
                target = order
            else:
                held = stock.reservations.get(args["reservation_id"])
                if held is not None:
                    order = store.repairs.get(held.order_id)
                    target = order
        else:
            order = store.repairs.get(target_id)
            target = order
        if target is None:
            e.refuse(NotFound, "target", f"no target {target_id} for {command}")
            return e
        if order is not None:
            e.what = f"{command} by {actor.name} on {order.number} ({order.state})"
        if who is not None and not self.expect_permission(who, command, target):
            e.refuse(NotAuthorized, "authorization", f"R30: {who.name} may not {command}")
        if command == "receive_stock":
            assert stock is not None
            self._expect_receive_stock(e, args)
        elif command in STOCK_TARGETED or command == "reserve_parts":
            assert stock is not None and order is not None
            self._expect_parts(e, command, order.clone(), stock, args)
        elif repair is not None:
            assert order is not None
            self._expect_outsourced(e, command, order.clone(), repair.clone(), args)
        else:
            assert order is not None
            self._expect_depot(e, command, order.clone(), args, who or actor)
        return e
