"""The repair oracle's predictions for spare parts (R28): receiving stock, reserving,
issuing, releasing, returning a defective part, reporting one dead on arrival.

Part of :mod:`aftersales.testing.repair_oracle`: import from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aftersales.domain.parts import Stock
from aftersales.domain.repair import DataHandling, RepairOrder
from aftersales.errors import GuardFailed, NotFound, ValidationError
from aftersales.testing.oracle import Expectation
from aftersales.testing.repair_oracle.policies import RepairPolicies

__all__ = ["PartsPrediction"]


class PartsPrediction(RepairPolicies):
    """Predicts the stock commands."""

    def _expect_receive_stock(self, e: Expectation, args: Mapping[str, Any]) -> None:
        if self._part(args["sku"]) is None:
            e.refuse(NotFound, "rules", f"no part {args['sku']}")
        supplier = args.get("supplier_id")
        if supplier is not None and supplier not in self.store.vendors:
            e.refuse(ValidationError, "rules", "the supplier is not a vendor")

    def _expect_parts(
        self, e: Expectation, command: str, m: RepairOrder, stock: Stock,
        args: Mapping[str, Any],
    ) -> None:
        if command == "reserve_parts":
            if self._part(args["sku"]) is None:
                e.refuse(NotFound, "rules", f"no part {args['sku']}")
            if self._fire_order(e, m, "record_parts_reserved"):
                level = stock.level(args["sku"])
                if args["quantity"] > level.on_hand - level.reserved:
                    e.refuse(GuardFailed, "rules",
                             f"R28: only {level.on_hand - level.reserved} available")
            return
        if command == "return_defective_part":
            part = self._part(args["sku"])
            if part is None:
                e.refuse(NotFound, "rules", f"no part {args['sku']}")
            elif part.storage_media and m.intake.data_handling != DataHandling.WIPE_ALLOWED:
                e.refuse(GuardFailed, "rules", "§9: the customer keeps the old disk")
            return
        held = stock.reservations[args["reservation_id"]]
        remaining = held.quantity - held.issued - held.released
        if command == "issue_part":
            if args.get("quantity", 1) > remaining:
                e.refuse(GuardFailed, "rules", f"R28: the reservation holds {remaining}")
        elif command == "release_parts":
            if self._fire_order(e, m, "record_parts_released"):
                if remaining <= 0:
                    e.refuse(GuardFailed, "rules", "R28: nothing left to release")
                elif held.id in m.reservation_ids and (
                    m.parts_reserved.get(held.sku, 0) >= remaining
                ):
                    pass
                else:
                    e.steps.remove(("depot", "record_parts_released", str(m.state),
                                    str(m.state)))
        elif command == "report_dead_on_arrival":
            if held.issued < 1:
                e.refuse(GuardFailed, "rules", "R28: nothing issued yet")
            supplier = args.get("supplier_id")
            if supplier is not None and supplier not in self.store.vendors:
                e.refuse(ValidationError, "rules", "the supplier is not a vendor")
