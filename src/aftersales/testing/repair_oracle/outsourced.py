"""The repair oracle's predictions for outsourced repair (R14): sending a unit to a vendor
and every step of its outsourced repair.

Part of :mod:`aftersales.testing.repair_oracle`: import from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aftersales.domain.repair import OutsourcedRepair, RepairOrder
from aftersales.errors import GuardFailed, NotFound, ValidationError
from aftersales.testing import oracle
from aftersales.testing.oracle import Expectation
from aftersales.testing.repair_oracle.policies import RepairPolicies
from aftersales.testing.repair_oracle.tables import LIVE_OUTSOURCED

__all__ = ["OutsourcedPrediction"]


class OutsourcedPrediction(RepairPolicies):
    """Predicts the outsourced commands."""

    def _expect_send(self, e: Expectation, m: RepairOrder, args: Mapping[str, Any]) -> None:
        if not self._fire_order(e, m, "send_to_vendor"):
            return
        if any(r.equipment_id == m.equipment_id and r.state in LIVE_OUTSOURCED
               for r in self.store.outsourced.values()):
            e.refuse(GuardFailed, "rules", "R14: the unit is already out to a vendor")
        maker = args.get("maker_warranty")
        if maker is None:
            maker = m.warranty is not None and m.warranty.in_warranty
        if not (maker or args.get("beyond_local_ability", False)):
            e.refuse(GuardFailed, "rules", "R14: neither in the maker's warranty nor beyond us")
        e.steps.append(("outsourced", "open", None, self.workflows()["outsourced"].initial))

    def _expect_outsourced(
        self, e: Expectation, command: str, m: RepairOrder, r: OutsourcedRepair,
        args: Mapping[str, Any],
    ) -> None:
        flows = self.workflows()
        out = flows["outsourced"]

        def fire_out(trigger: str) -> bool:
            return oracle.fire(e, out, r, trigger, r, what=f"outsourced {r.order_number}")

        if command == "choose_vendor":
            vendor = self.store.vendors.get(args["vendor_id"])
            if vendor is None:
                e.refuse(NotFound, "rules", "no such vendor")
            if fire_out("choose_vendor") and vendor is not None:
                failed = {a.vendor_id for a in r.attempts if a.failure is not None}
                capability = args.get("capability")
                if not vendor.active or vendor.id in failed or (
                    capability is not None and capability not in vendor.capabilities
                ):
                    e.refuse(GuardFailed, "rules", f"R14: vendor {vendor.name} may not be chosen")
        elif command == "ship_to_vendor":
            if not args["promised_by"] > self.now():
                e.refuse(ValidationError, "rules", "the vendor's promise must be later")
            fire_out("ship")
        elif command == "chase_vendor":
            fire_out("chase")
        elif command == "reinspect":
            self._qc(e, r.qc_checklist, args["results"])
            fire_out("reinspect")
        elif command == "back_to_depot":
            self._fire_order(e, m, "receive_from_vendor")
            fire_out("back_to_depot")
        elif command == "record_vendor_failure":
            fire_out("vendor_failed")
        elif command in ("offer_replacement_after_vendors", "give_up_outsourcing"):
            if self._fire_order(e, m, "vendor_gave_up"):
                m.unrepaired_reason = m.unrepaired_reason or "R14"
                m.replacement_grounds = m.replacement_grounds or "R14"
                fire_out("offer_replacement" if command.startswith("offer") else "give_up")
                if command.startswith("offer"):
                    self._fire_order(e, m, "offer_replacement")
        else:
            fire_out(command)
