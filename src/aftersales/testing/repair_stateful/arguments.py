"""Drawing the keyword arguments of each repair desk command, valid or not, aimed at the
edges of R16 (the pick-up notice) and R21 (the fault kinds a free re-repair covers).

Part of :mod:`aftersales.testing.repair_stateful`: import from there.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from aftersales.domain.parts import PartSource
from aftersales.domain.records import Actor
from aftersales.domain.repair import FaultClass, FaultKind, RepairOrder
from aftersales.domain.values import Money, Role, shifted
from aftersales.testing import oracle, strategies
from aftersales.testing import repair_strategies as rst
from aftersales.testing.repair_stateful.base import RepairMachineBase
from aftersales.testing.repair_stateful.tables import _SKUS, _STOCK_COMMANDS

__all__ = ["RepairArguments"]


class RepairArguments(RepairMachineBase):
    """The arguments the machine sends with each command."""

    def draw_arguments(
        self, data: st.DataObject, command: str, order: RepairOrder, actor: Actor, *,
        valid: bool,
    ) -> dict[str, Any]:
        """Keyword arguments for ``command`` on ``order`` (the target included, as
        ``_target``); with ``valid=False`` texts may be blank, amounts and dates wrong and
        ids unknown."""
        text = strategies.words() if valid else strategies.words_or_blank()

        def draw(strategy: st.SearchStrategy[Any], label: str) -> Any:
            return data.draw(strategy, label=f"{command}.{label}")

        def texts(*fields: str) -> dict[str, Any]:
            return {f: draw(text, f) for f in fields}

        def customer_name(field: str) -> dict[str, Any]:
            if (actor.has(Role.CUSTOMER) or not valid) and draw(st.booleans(),
                                                                 f"{field} omitted"):
                return {}
            return {field: draw(text, field)}

        def later(base: datetime, low: int = 1, high: int = 24 * 10) -> datetime:
            if not valid and draw(st.booleans(), "in the past"):
                return base - timedelta(hours=1)
            return base + timedelta(hours=draw(st.integers(low, high), "hours later"))

        def amount(correct: Money) -> Money:
            if valid:
                return correct
            wrong = draw(st.sampled_from(("plus one", "other currency", "correct")), "amount")
            if wrong == "plus one":
                return Money(correct.amount + 1, correct.currency)
            if wrong == "other currency":
                return Money(correct.amount or Decimal(1), "USD")
            return correct

        def some_id(valid_ids: list[UUID]) -> UUID:
            if valid and valid_ids:
                picked: UUID = draw(st.sampled_from(valid_ids), "id")
                return picked
            return UUID(int=draw(st.integers(0, 10**6), "unknown id"))

        repair = self._outsourced(order)
        target: UUID = order.id
        if command in rst.OUTSOURCED_COMMANDS:
            target = repair.id if repair is not None else some_id([])
        elif command in _STOCK_COMMANDS:
            target = self._stock().id if valid or draw(st.booleans(), "known location") else (
                some_id([])
            )
        now = self.clock.now()
        args: dict[str, Any] = {"_target": target}
        sku = draw(st.sampled_from(_SKUS if valid else (*_SKUS, "NO-SUCH-SKU")), "sku")
        if command == "assign_repair_engineer":
            pool = [e.id for e in self.engineers]
            if not valid:
                pool += [self.clerk.id, UUID(int=999)]
            args["engineer_id"] = draw(st.sampled_from(pool), "engineer_id")
        elif command in ("sign_intake", "deliver", "return_unrepaired"):
            args |= texts("signed_by")
        elif command == "diagnose":
            args |= texts("fault", "cause")
            args["fault_class"] = draw(st.sampled_from(
                (FaultClass.QUALITY, FaultClass.QUALITY, FaultClass.OTHER,
                 FaultClass.CUSTOMER_CAUSED)), "fault_class")
            # R21: the kinds a free re-repair covers come up more often, most of all when the
            # unit comes back after a pick-up
            free_kinds = sorted(self.repair_policy.rerepair_free_kinds)
            kinds = (*FaultKind, *free_kinds, *(free_kinds * 4 if self.returning else []))
            args["fault_kind"] = draw(st.sampled_from(kinds), "fault_kind")
            args["findings"] = draw(strategies.exclusion_lists(max_size=1)
                                    if draw(st.integers(0, 4), "with findings") == 0
                                    else st.just([]), "findings")
            unit = self.store.equipment[order.equipment_id]
            codes = sorted(self.repairs.policy.fault_codes.codes_for(unit.product_line))
            args["fault_code"] = draw(st.sampled_from(codes if valid else [*codes, "NO-SUCH"]),
                                      "fault_code")
        elif command == "reopen_diagnosis":
            args |= texts("reason")
            args["kind"] = draw(rst.reopen_kinds(), "kind")
        elif command in ("send_estimate", "propose_additional_work"):
            lines = rst.estimate_line_lists(skus=_SKUS, max_size=2, texts=strategies.words())
            if self.plain:  # keeps our quality guarantee (R22), so R21 applies later
                lines = lines.filter(lambda found: not any(x.voids_guarantee for x in found))
            args["lines"] = draw(lines, "lines")
            if command == "propose_additional_work":
                args |= texts("reason")
                args["new_promised_at"] = later(order.promised_at)
        elif command in ("approve_estimate", "approve_additional_work"):
            args |= customer_name("approved_by")
        elif command in ("decline_estimate", "decline_additional_work"):
            args |= customer_name("declined_by")
            if command == "decline_estimate":
                args |= texts("reason")
        elif command == "start_repair":
            args["note"] = draw(strategies.words_or_blank(), "note")
        elif command == "record_repair_work":
            args |= texts("description")
            args["wipes_data"] = draw(st.booleans(), "wipes_data")
        elif command == "fit_part":
            args["sku"] = sku
            source = PartSource.OURS if self.plain else draw(rst.part_sources(), "source")
            args["source"] = source
            if source is PartSource.CUSTOMER:
                args |= texts("description")
                args["origin"] = draw(rst.part_origins(), "origin")
            args["customer_insisted"] = not self.plain and draw(st.booleans(),
                                                                "customer_insisted")
            args["old_part"] = draw(st.none() | rst.old_part_dispositions(), "old_part")
        elif command == "receive_deposit":
            due = order.deposit_required.amount - order.deposit_paid.amount
            args["amount"] = amount(Money(max(due, Decimal(50)), order.currency))
        elif command == "wait_for_parts":
            args |= texts("reason")
            args["needed"] = {sku: draw(st.integers(1, 2), "needed")} if valid else {}
        elif command == "reserve_parts":
            missing = order.missing_parts
            if missing and valid:
                sku = draw(st.sampled_from(sorted(missing)), "missing sku")
            args.update(location_id=self._stock().id, sku=sku,
                        quantity=missing.get(sku, draw(st.integers(1, 2), "quantity")))
        elif command == "finish_repair":
            args |= texts("summary")
        elif command in ("record_qc", "reinspect"):
            checklist = repair.qc_checklist if command == "reinspect" and repair else (
                order.qc_checklist
            )
            passing = draw(st.integers(0, 3), "passing") != 0 if valid else None
            answers = draw(rst.qc_answers(checklist, passing=passing), "results")
            if not valid and draw(st.booleans(), "drop an item"):
                answers.pop(checklist[0])
            args["results"] = answers
        elif command == "rework":
            args |= texts("reason")
        elif command == "record_progress_check":
            args |= texts("note")
        elif command == "notify_delay":
            args |= texts("reason", "apology")
            args["new_promised_at"] = later(order.promised_at)
        elif command == "mark_ready":
            # R16: exactly the lead the job has earned, later, or exactly the other lead
            policy = self.repair_policy
            lead = oracle.expected_pickup_lead(policy, order.received_at, now)
            ahead = draw(st.sampled_from(
                [lead, lead, lead + timedelta(hours=draw(st.integers(1, 72), "hours later")),
                 policy.short_job_notice, policy.long_job_notice]
                + ([timedelta(0), lead - timedelta(microseconds=1)] if not valid else [])
            ), "notice ahead")
            args["pickup_at"] = shifted(now, ahead)
        elif command == "apply_discount":
            due = self.expected_gross(order).amount
            cut = draw(st.integers(1, max(1, int(due))), "discount") if valid else int(due) + 1
            args["amount"] = Money(Decimal(cut), order.currency)
            args |= texts("reason")
        elif command == "settle":
            args["amount"] = amount(self.expected_due(order))
            args["paid"] = draw(st.booleans(), "paid")
        elif command == "accept_replacement":
            args |= texts("serial", "signed_by")
        elif command == "declare_unrepairable":
            args |= texts("reason")
        elif command == "offer_replacement":
            args |= texts("model")
        elif command == "send_to_vendor":
            args |= texts("reason")
            args["beyond_local_ability"] = draw(st.integers(0, 3), "beyond_local_ability") != 0
            args["maker_warranty"] = draw(st.none() | st.booleans(), "maker_warranty")
        elif command == "choose_vendor":
            failed = repair.failed_vendor_ids if repair is not None else frozenset()
            pool = [v.id for v in self.vendors if v.id not in failed]
            args["vendor_id"] = some_id(pool)
            args["capability"] = draw(st.sampled_from((None, "laptop", "desktop")),
                                      "capability")
        elif command == "ship_to_vendor":
            args |= texts("carrier", "tracking_number", "voucher")
            args["promised_by"] = later(now, 24, 24 * 10)
        elif command == "chase_vendor":
            args |= texts("response")
            args["new_promised_by"] = draw(st.none() | st.just(later(now, 24, 240)),
                                           "new_promised_by")
        elif command == "vendor_returned":
            args |= texts("vendor_report")
        elif command == "failed_unit_returned":
            args["note"] = draw(strategies.words_or_blank(), "note")
        elif command in ("record_vendor_failure", "give_up_outsourcing"):
            args |= texts("reason")
        elif command == "offer_replacement_after_vendors":
            args |= texts("reason", "model")
        elif command in ("issue_part", "release_parts", "report_dead_on_arrival"):
            held = self._stock().reservations_for(order.id)
            if command == "report_dead_on_arrival":
                ids = [r.id for r in held if r.issued > 0]
            else:
                ids = [r.id for r in held if r.open]
            args["reservation_id"] = some_id(ids)
        elif command == "return_defective_part":
            args.update(order_id=order.id, sku=sku)
        elif command == "receive_stock":
            missing = order.missing_parts
            if missing and valid:
                sku = draw(st.sampled_from(sorted(missing)), "missing sku")
            args.update(sku=sku, quantity=draw(st.integers(1, 3) if valid
                                               else st.integers(-1, 3), "quantity"))
        return args
