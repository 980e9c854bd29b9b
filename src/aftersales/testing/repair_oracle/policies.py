"""The rules the repair oracle computes from the configured policies: R30 from the
authorization table, R20 coverage, R22/R25 what an order costs, R20/R21 whether a
diagnosis is free; and the small steps every prediction shares (firing a workflow
trigger on a working copy, the request the depot completes, a QC's answers, a part).

Part of :mod:`aftersales.testing.repair_oracle`: import from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from aftersales.adapters.memory import InMemoryStore
from aftersales.domain.kernel import Aggregate
from aftersales.domain.records import Actor, Equipment
from aftersales.domain.repair import (
    DepotState,
    EstimateStatus,
    FaultClass,
    FaultKind,
    RepairOrder,
    RepairPolicy,
)
from aftersales.domain.request import RequestState
from aftersales.domain.values import Money
from aftersales.domain.warranty import Exclusion, WarrantyPolicy
from aftersales.errors import ValidationError
from aftersales.ports import AuthorizationPolicy
from aftersales.testing import oracle
from aftersales.testing.oracle import Coverage, Expectation
from aftersales.workflows import Workflow

__all__ = ["RepairPolicies"]


class RepairPolicies:
    """The policies' rules and the shared prediction steps of the repair oracle."""

    store: InMemoryStore
    warranty_policy: WarrantyPolicy
    repair_policy: RepairPolicy
    authorization: AuthorizationPolicy

    def now(self) -> datetime:
        """The time the next command runs at."""
        raise NotImplementedError

    def workflows(self) -> Mapping[str, Workflow]:
        """The desk's workflows by name."""
        raise NotImplementedError

    # --- policies ------------------------------------------------------------------------------

    def expect_permission(self, actor: Actor, action: str, target: Aggregate | None) -> bool:
        """R30: may ``actor`` do ``action`` on ``target`` (read from the policy's table)?"""
        kind = self.store.kinds.of(target) if target is not None else None
        return oracle.permitted(self.authorization, actor, action, target, kind)

    def expected_coverage(
        self, unit: Equipment, day: date, findings: list[Exclusion]
    ) -> Coverage:
        """R20: the coverage the warranty policy's parameters give ``unit`` on ``day``."""
        plans = [p for p in self.store.plans.values() if p.customer_id == unit.owner_id]
        return oracle.expected_coverage(self.warranty_policy, unit, day, findings, plans)

    def expected_gross(self, order: RepairOrder) -> Money:
        """R22/R25: what ``order`` costs before a discount, from its estimates and the policy
        copied onto it: the diagnosis fee when it goes back unrepaired; else the approved
        estimates when chargeable, or only the approved additional work on a free order that
        bills it (R25); nothing otherwise."""
        zero = Money.zero(order.currency)
        approved = [e for e in order.estimates if e.status == EstimateStatus.APPROVED]
        diagnosed = bool(order.diagnoses) and order.warranty is not None
        if order.unrepaired_reason is not None:
            return order.diagnosis_fee or zero
        if diagnosed and order.free_reason is None:
            return sum((e.total for e in approved), zero)
        if diagnosed and order.bills_additional_work:
            return sum((e.total for e in approved if e.additional), zero)
        return zero

    def expected_due(self, order: RepairOrder) -> Money:
        """R22/R25: :meth:`expected_gross` less the discount, never below zero."""
        gross = self.expected_gross(order)
        if order.discount is None:
            return gross
        cut = min(order.discount.amount.amount, gross.amount)
        return Money(gross.amount - cut, order.currency)

    def expected_free(
        self, order: RepairOrder, unit: Equipment, fault_class: FaultClass,
        fault_kind: FaultKind, code: str, findings: list[Exclusion],
    ) -> tuple[Coverage, bool, bool]:
        """R20/R21 for a diagnosis of ``order`` now: the coverage on the day the unit was
        received (damage the customer caused counts as human damage), whether the repair is
        free (covered, or back within the re-repair window after the last pick-up of a repair
        of this unit, for a fault the policy names), and whether the same quality fault after
        ``repeat_failure_threshold`` in-warranty repairs gives grounds for a replacement."""
        policy = self.repair_policy
        seen = list(dict.fromkeys(findings))
        if fault_class == FaultClass.CUSTOMER_CAUSED and Exclusion.HUMAN_DAMAGE not in seen:
            seen.append(Exclusion.HUMAN_DAMAGE)
        day = order.received_at.astimezone(policy.zone).date()
        coverage = self.expected_coverage(unit, day, seen)
        repaired = [
            o for o in self.store.repairs.values()
            if o.equipment_id == order.equipment_id and o.id != order.id and o.diagnoses
            and o.warranty is not None and o.delivery is not None
            and o.state in (DepotState.DELIVERED, DepotState.CLOSED)
            and o.replacement is None and o.unrepaired_reason is None
        ]
        free = coverage.in_warranty
        if not free and repaired:
            last = max(repaired, key=lambda o: o.delivery.at.timestamp() if o.delivery else 0)
            assert last.delivery is not None
            free = (
                last.guarantee_waiver is None and fault_class != FaultClass.CUSTOMER_CAUSED
                and oracle.expected_free_rerepair(
                    policy, last.delivery.at, order.received_at, fault_kind,
                    same_fault=last.diagnoses[-1].fault_code == code,
                )
            )
        repeats = sum(
            1 for o in repaired
            if o.diagnoses[-1].fault_code == code
            and o.diagnoses[-1].fault_class == FaultClass.QUALITY
            and o.warranty is not None and o.warranty.in_warranty
        )
        grounds = (fault_class == FaultClass.QUALITY and coverage.in_warranty
                   and repeats >= policy.repeat_failure_threshold)
        return coverage, free, grounds

    # --- steps every prediction shares ------------------------------------------------------

    def _fire_order(self, e: Expectation, order: RepairOrder, trigger: str) -> bool:
        return oracle.fire(e, self.workflows()["depot"], order, trigger, order,
                           what=order.number)

    def _complete_request(self, e: Expectation, order: RepairOrder) -> None:
        request = self.store.requests[order.request_id].clone()
        if request.state == RequestState.AT_DEPOT and request.repair_order_id == order.id:
            oracle.fire(e, self.workflows()["request"], request, "depot_completed", request)

    def _qc(self, e: Expectation, checklist: tuple[str, ...], results: Mapping[str, Any]) -> None:
        if set(results) != set(checklist):
            e.refuse(ValidationError, "rules", "the QC answers do not match the checklist")

    def _part(self, sku: str) -> Any:
        return next((p for p in self.store.parts.values() if p.sku == sku), None)
