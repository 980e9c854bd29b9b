"""The natural path of a repair order: the commands that move it on from its state (and
from its outsourced repair's state), with the guards mostly holding.

Part of :mod:`aftersales.testing.repair_stateful`: import from there.
"""

from __future__ import annotations

from aftersales.domain.repair import DepotState, OutsourcedState, RepairOrder
from aftersales.testing.repair_stateful.base import RepairMachineBase

__all__ = ["RepairPaths"]


class RepairPaths(RepairMachineBase):
    """The commands the machine takes along the natural path."""

    def natural_commands(self, order: RepairOrder) -> list[str]:
        """The commands that move ``order`` along a plausible path (guards mostly hold)."""
        d = DepotState
        state = order.state
        found: list[str] = []
        if state == d.INTAKE:
            found = ["sign_intake"]
        elif state == d.DIAGNOSING:
            if not order.diagnosed:
                found = ["diagnose"]
            elif order.replacement_justified:
                found = ["offer_replacement", "start_repair"]
            elif order.chargeable:
                found = ["send_estimate"]
            else:
                found = ["start_repair", "send_to_vendor", "declare_unrepairable"]
        elif state == d.AWAITING_APPROVAL:
            found = ["approve_estimate", "approve_estimate", "approve_estimate",
                     "decline_estimate", "reopen_diagnosis"]
        elif state == d.APPROVED:
            found = ["start_repair", "start_repair", "send_to_vendor", "receive_deposit"]
        elif state == d.REPAIRING:
            found = ["finish_repair", "finish_repair", "record_repair_work", "fit_part",
                     "reserve_parts", "wait_for_parts", "send_to_vendor"]
            if order.chargeable:
                found += ["propose_additional_work", "reopen_diagnosis"]
            if self._reservations(order, open_only=True):
                found.append("issue_part")
        elif state == d.WAITING_FOR_PARTS:
            if order.parts_available:
                found = ["resume_repair"]
            else:
                found = ["reserve_parts", "receive_stock"]
        elif state == d.ADDITIONAL_WORK_PENDING:
            found = ["approve_additional_work", "decline_additional_work"]
        elif state == d.AT_VENDOR:
            found = self._natural_outsourced(order)
        elif state == d.QUALITY_CHECK:
            found = ["mark_ready"] if order.qc_passed_after_last_repair else ["record_qc"]
        elif state == d.READY_FOR_PICKUP:
            # §9: the customer may say the job is not right, before or after paying
            found = ["settle", "apply_discount", "rework"] if order.unsettled else [
                "deliver", "deliver", "rework"
            ]
        elif state in (d.DECLINED, d.UNREPAIRABLE, d.REPLACEMENT_OFFERED):
            if order.unsettled:
                found = ["settle", "settle", "apply_discount"]
            elif state == d.REPLACEMENT_OFFERED:
                found = ["accept_replacement", "return_unrepaired"]
            else:
                found = ["return_unrepaired"]
            if state == d.UNREPAIRABLE and order.replacement_justified:
                found.append("offer_replacement")
        elif state in (d.DELIVERED, d.RETURNED, d.REPLACED):
            found = ["release_parts"] if self._reservations(order, open_only=True) else [
                "close_order"
            ]
        preferred = [c for c in found if c in self.preferred_commands]
        if preferred:
            return preferred
        return [c for c in found if c not in self.excluded_commands]

    def _natural_outsourced(self, order: RepairOrder) -> list[str]:
        repair = self._outsourced(order)
        if repair is None:
            return []
        o = OutsourcedState
        if repair.state == o.OPENED:
            return ["choose_vendor"]
        if repair.state == o.FAILED_AT_VENDOR:
            return ["failed_unit_returned", "chase_vendor"]
        if repair.state == o.VENDOR_CHOSEN:
            return ["ship_to_vendor"]
        if repair.state == o.AT_VENDOR:
            return ["vendor_returned", "vendor_returned", "vendor_returned", "chase_vendor",
                    "record_vendor_failure"]
        if repair.state == o.RETURNED:
            if repair.reinspection_passed:
                return ["back_to_depot"]
            return ["reinspect", "reinspect", "record_vendor_failure"]
        if repair.state == o.VENDOR_FAILED:
            if repair.attempts_left:
                return ["choose_vendor", "choose_vendor", "give_up_outsourcing",
                        "offer_replacement_after_vendors"]
            return ["give_up_outsourcing", "offer_replacement_after_vendors"]
        return []
