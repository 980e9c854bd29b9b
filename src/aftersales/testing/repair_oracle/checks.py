"""The repair oracle's checks after an accepted command: the record entries it appended
(R9), a diagnosis's warranty and free repair (R20, R21), a pick-up notice's lead (R16),
a delay notice's lateness (R15/R16) and the replaced parts' own warranties (R21).

Part of :mod:`aftersales.testing.repair_oracle`: import from there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from aftersales.domain.kernel import Aggregate
from aftersales.domain.repair import RepairOrder
from aftersales.testing import oracle
from aftersales.testing.oracle import Expectation
from aftersales.testing.repair_oracle.policies import RepairPolicies
from aftersales.testing.repair_oracle.tables import _took

__all__ = ["RepairChecks"]


class RepairChecks(RepairPolicies):
    """Checks what an accepted command did."""

    def check_steps(self, e: Expectation, before: Mapping[UUID, int],
                    subjects: list[Aggregate]) -> None:
        """R9: the accepted command appended exactly the predicted entries to the records of
        ``subjects`` (``before`` holds their record lengths before it)."""
        got: Counter[tuple[str, str, str | None, str]] = Counter()
        for subject in subjects:
            for entry in subject.record[before.get(subject.id, 0):]:
                got[(entry.workflow, entry.action, entry.from_state, entry.to_state)] += 1
        assert got == Counter(e.steps), (
            f"{e.what}: appended {sorted(got.elements(), key=str)}, predicted "
            f"{sorted(e.steps, key=str)}"
        )

    def check_diagnosis(self, order: RepairOrder, args: Mapping[str, Any]) -> None:
        """R20/R21 both ways: the order is free exactly when the policies say so."""
        unit = self.store.equipment[order.equipment_id]
        coverage, free, grounds = self.expected_free(
            order, unit, args["fault_class"], args["fault_kind"], args["fault_code"],
            list(args.get("findings", ())),
        )
        assert order.warranty is not None
        assert order.warranty.in_warranty == coverage.in_warranty, (
            f"R20: {order.number} ({unit.serial}, received {order.received_at}): the policy "
            f"says {'in' if coverage.in_warranty else 'out of'} warranty ({coverage}), the "
            f"desk determined {order.warranty.explain()}"
        )
        assert (order.warranty.starts_on, order.warranty.ends_on) == (
            coverage.starts_on, coverage.ends_on
        ), f"R20: {order.warranty} is not {coverage}"
        assert (order.free_reason is not None) == free, (
            f"R20/R21: {order.number} must be {'free' if free else 'chargeable'}: "
            f"free_reason={order.free_reason!r}"
        )
        assert (order.replacement_grounds is not None) == grounds, (
            f"R21: {order.number} replacement grounds {order.replacement_grounds!r}, "
            f"predicted {grounds}"
        )

    def check_pickup(self, order: RepairOrder, at: datetime) -> None:
        """R16 both ways: a job under the threshold gets the short notice, at or above it
        the long one, measured in absolute time from intake to ready."""
        assert order.pickup is not None
        lead = oracle.expected_pickup_lead(self.repair_policy, order.received_at, at)
        assert order.pickup.lead == lead, (
            f"R16: {order.number} took {_took(order.received_at, at)}: the notice lead must "
            f"be {lead}, the desk gave {order.pickup.lead}"
        )
        assert _took(order.pickup.notice_at, order.pickup.pickup_at) == lead, (
            f"R16: notice at {order.pickup.notice_at} is not {lead} before "
            f"{order.pickup.pickup_at}"
        )

    def check_delay(self, order: RepairOrder, old_promise: datetime, at: datetime) -> None:
        """R15/R16: a delay notice is late exactly when it comes after the R16 lead before
        the old promised time."""
        change = order.promise_changes[-1]
        lead = oracle.expected_pickup_lead(self.repair_policy, order.received_at, at)
        late = _took(at, old_promise) < lead
        assert change.late_notice == late, (
            f"R16: a delay notice {_took(at, old_promise)} before the promise with a {lead} "
            f"lead is {'late' if late else 'in time'}; the desk says late={change.late_notice}"
        )

    def check_part_warranties(self, order: RepairOrder, at: datetime) -> None:
        """R21/R22: every fitted part that keeps our guarantee gets its own warranty from the
        delivery day: its catalogue months, else the policy's default."""
        day = at.astimezone(self.repair_policy.zone).date()
        kept = [p for p in order.fitted_parts if not p.voids_guarantee]
        assert len(order.part_warranties) == len(kept)
        for part, warranty in zip(kept, order.part_warranties, strict=True):
            months = part.warranty_months if part.warranty_months is not None else (
                self.repair_policy.replaced_part_warranty_months
            )
            assert (warranty.starts_on, warranty.ends_on) == (
                day, oracle.months_later(day, months)
            ), f"R21: part {part.sku} warranty {warranty}, expected {months} months from {day}"
