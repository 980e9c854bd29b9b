"""The repair oracle's predictions for depot repair (R13, R16, R22, R25): receiving a unit
at the depot and every command on its repair order.

Part of :mod:`aftersales.testing.repair_oracle`: import from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from aftersales.domain.parts import PartSource
from aftersales.domain.records import Actor
from aftersales.domain.repair import DataHandling, EstimateStatus, OldPartDisposition, RepairOrder
from aftersales.domain.request import RequestState
from aftersales.domain.values import Role
from aftersales.errors import GuardFailed, NotAuthorized, NotFound, ValidationError
from aftersales.testing import oracle
from aftersales.testing.oracle import Expectation
from aftersales.testing.repair_oracle.outsourced import OutsourcedPrediction
from aftersales.testing.repair_oracle.tables import FINISHED, _absolute_before

__all__ = ["DepotPrediction"]


class DepotPrediction(OutsourcedPrediction):
    """Predicts the depot commands."""

    def _expect_depot(
        self, e: Expectation, command: str, m: RepairOrder, args: Mapping[str, Any],
        actor: Actor,
    ) -> None:
        store = self.store
        now = self.now()
        fire = self._fire_order
        if command in ("approve_estimate", "decline_estimate", "approve_additional_work",
                       "decline_additional_work"):
            name = "approved_by" if command.startswith("approve") else "declined_by"
            if args.get(name) is None and not actor.has(Role.CUSTOMER):
                e.refuse(ValidationError, "rules", f"staff answering for the customer name "
                         f"them ({name})")
        if command == "assign_repair_engineer":
            engineer = store.actors.get(args["engineer_id"])
            if engineer is None:
                e.refuse(NotFound, "rules", "no such engineer")
            elif not engineer.has(Role.ENGINEER) or not engineer.active:
                e.refuse(ValidationError, "rules", f"{engineer.name} is not an active engineer")
            fire(e, m, "assign_engineer")
        elif command == "diagnose":
            unit = store.equipment[m.equipment_id]
            if args["fault_code"] not in self.repair_policy.fault_codes.codes_for(
                unit.product_line
            ):
                e.refuse(ValidationError, "rules", f"fault code {args['fault_code']!r}")
            fire(e, m, "diagnose")
        elif command in ("send_estimate", "propose_additional_work"):
            if any(line.amount.currency != m.currency for line in args["lines"]):
                e.refuse(ValidationError, "rules", f"lines not in {m.currency}")
            if command == "propose_additional_work" and not (
                args["new_promised_at"] > m.promised_at
            ):
                e.refuse(ValidationError, "rules", "R13: the promised date must move later")
            fire(e, m, command)
        elif command == "record_repair_work":
            if fire(e, m, command) and args.get("wipes_data") and (
                m.intake.data_handling != DataHandling.WIPE_ALLOWED
            ):
                e.refuse(GuardFailed, "rules", "§9: the customer did not allow a wipe")
        elif command == "fit_part":
            self._expect_fit(e, m, args)
        elif command in ("receive_deposit", "apply_discount", "settle"):
            amount = args["amount"]
            if amount.currency != m.currency:
                e.refuse(ValidationError, "rules", f"amount not in {m.currency}")
            moved = fire(e, m, command)
            if moved and command == "apply_discount":
                if m.discount is not None:
                    e.refuse(GuardFailed, "rules", "R22: a discount is already applied")
                elif amount.amount > self.expected_gross(m).amount:
                    e.refuse(GuardFailed, "rules", "R22: the discount exceeds the gross due")
            if moved and command == "settle" and amount != self.expected_due(m):
                e.refuse(GuardFailed, "rules",
                         f"R25: {amount} is not the {self.expected_due(m)} due")
        elif command == "wait_for_parts":
            for sku in args["needed"]:
                if self._part(sku) is None:
                    e.refuse(NotFound, "rules", f"no part {sku}")
            fire(e, m, command)
        elif command == "notify_delay":
            if not args["new_promised_at"] > m.promised_at:
                e.refuse(ValidationError, "rules", "a delay moves the promised date later")
            fire(e, m, command)
        elif command == "mark_ready":
            if fire(e, m, command):
                lead = oracle.expected_pickup_lead(self.repair_policy, m.received_at, now)
                if _absolute_before(args["pickup_at"], lead, now):
                    e.refuse(ValidationError, "rules",
                             f"R16: pick-up at {args['pickup_at']} leaves less than {lead}")
        elif command == "record_qc":
            self._qc(e, m.qc_checklist, args["results"])
            fire(e, m, command)
        elif command == "close_order":
            fire(e, m, "close")
            for stock in store.stock.values():
                if any(r.open for r in stock.reservations_for(m.id)):
                    e.refuse(GuardFailed, "rules", "R28: a reservation is still open")
        elif command in ("deliver", "accept_replacement", "return_unrepaired"):
            if fire(e, m, command):
                self._complete_request(e, m)
        elif command == "send_to_vendor":
            self._expect_send(e, m, args)
        else:
            fire(e, m, command)

    def _expect_fit(self, e: Expectation, m: RepairOrder, args: Mapping[str, Any]) -> None:
        sku = args["sku"]
        source = args.get("source", PartSource.OURS)
        description, origin, media = args.get("description"), args.get("origin"), (
            args.get("storage_media")
        )
        if source == PartSource.OURS:
            part = self._part(sku)
            if part is None:
                e.refuse(NotFound, "rules", f"no part {sku}")
                return
            description = part.name if description is None else description
            origin = part.origin if origin is None else origin
            media = part.storage_media if media is None else media
        if description is None or origin is None:
            e.refuse(ValidationError, "rules", "a customer's part names description and origin")
        if not self._fire_order(e, m, "fit_part"):
            return
        declined = {line.sku for x in m.estimates if x.status == EstimateStatus.DECLINED
                    for line in x.lines if line.sku is not None}
        approved = {line.sku for x in m.estimates if x.status == EstimateStatus.APPROVED
                    for line in x.lines if line.sku is not None}
        if sku in declined and sku not in approved:
            e.refuse(GuardFailed, "rules", "R13: the customer declined the work for this part")
        handling = m.intake.data_handling
        if media and handling == DataHandling.KEEP_OLD_DISK:
            e.refuse(GuardFailed, "rules", "§9: the customer keeps the old disk in the unit")
        if media and handling == DataHandling.CUSTOMER_KEEPS_DISK and args.get("old_part") not in (
            None, OldPartDisposition.HANDED_TO_CUSTOMER
        ):
            e.refuse(GuardFailed, "rules", "§9: the old disk goes back to the customer")

    def expect_receipt(
        self, actor: Actor, request_id: UUID, promised_at: datetime
    ) -> Expectation:
        """R13: receiving the unit of a request at the depot: only a request handed to the
        depot, never a unit already at the depot under another open order (R13), with a
        promised date after now; the request moves to ``at_depot``."""
        e = Expectation(f"receive_at_depot by {actor.name}")
        who = self.store.actors.get(actor.id)
        request = self.store.requests[request_id]
        if who is None or not who.active:
            e.refuse(NotAuthorized, "actor", f"{actor.name} is not active")
        elif not self.expect_permission(who, "receive_at_depot", request):
            e.refuse(NotAuthorized, "authorization", "R30")
        model = request.clone()
        if request.state != RequestState.HANDED_TO_DEPOT:
            e.refuse(GuardFailed, "rules", "R13: the request was not handed to the depot")
        if any(o.equipment_id == request.equipment_id and o.state not in FINISHED
               for o in self.store.repairs.values()):
            e.refuse(GuardFailed, "rules", "R13: the unit is at the depot already")
        if not promised_at > self.now():
            e.refuse(ValidationError, "rules", "the promised date is not after now")
        oracle.fire(e, self.workflows()["request"], model, "depot_intake", model)
        e.steps.append(("depot", "open", None, self.workflows()["depot"].initial))
        return e
