"""Stateful property tests of the repair desk (R13-R16, R20-R23, R25, R28, R30) through random
command sequences by random actors, using the shipped :class:`RepairDeskStateMachine`: every
command is checked against the oracle's prediction, the diagnosis's free repair (R20, R21) and
the pick-up notice's lead (R16) both ways at their edges, and the invariants after every
step."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import ClassVar

import attrs
import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from aftersales.domain.records import Equipment, ServicePlan
from aftersales.domain.repair import FaultKind, RepairOrder, RepairPolicy
from aftersales.domain.warranty import Exclusion, WarrantyDetermination, WarrantyPolicy
from aftersales.testing import repair_strategies as rst
from aftersales.testing.repair_stateful import RepairDeskStateMachine
from aftersales.workflows import depot_intake, depot_repair

FLOW_SETTINGS = settings(max_examples=200, stateful_step_count=50, deadline=None)


class DepotFlows(RepairDeskStateMachine):
    """R13 only: nothing goes out to a vendor."""

    excluded_commands = frozenset({"send_to_vendor", *rst.OUTSOURCED_COMMANDS})

    def check_extra_invariants(self, order: RepairOrder) -> None:
        assert not order.outsourced_ids


class OutsourcedFlows(RepairDeskStateMachine):
    """R14: every unit that can go out to a vendor does (units mostly in warranty)."""

    preferred_commands = frozenset({"send_to_vendor"})
    unit_installed_on: ClassVar[tuple[date | None, ...]] = (date(2026, 6, 1), date(2023, 1, 10))


TestR13R16R20R21DepotFlowsAreAnsweredAsPredicted = DepotFlows.TestCase
TestR13R16R20R21DepotFlowsAreAnsweredAsPredicted.settings = FLOW_SETTINGS
TestR14OutsourcedFlowsAreAnsweredAsPredicted = OutsourcedFlows.TestCase
TestR14OutsourcedFlowsAreAnsweredAsPredicted.settings = FLOW_SETTINGS


# --- the machine catches a desk that breaks a rule ------------------------------------------

# Derandomized, so a catch never depends on luck; up to 1000 examples because the draws (and
# so the example that catches) shift with the constants of every module loaded (Hypothesis
# mixes them in): a run stops at its first failure, so the margin costs nothing when it catches.
CATCH = settings(max_examples=1000, stateful_step_count=50, deadline=None, database=None,
                 derandomize=True, phases=[Phase.generate])


def _strict_threshold(policy: RepairPolicy, job_took: timedelta) -> timedelta:
    """R16 read as "more than 2 days" (exactly 2 days gets the short notice)."""
    return policy.long_job_notice if job_took > policy.long_job_threshold else (
        policy.short_job_notice
    )


def _wall_clock(start: datetime, end: datetime) -> timedelta:
    """Durations by the wall clock of the start's zone (an hour off across a DST change)."""
    return end.astimezone(start.tzinfo).replace(tzinfo=None) - start.replace(tzinfo=None)


def _window_excluding_day_15(
    policy: RepairPolicy, picked_up_at: datetime, back_at: datetime, fault_kind: FaultKind,
    *, same_fault: bool = False,
) -> bool:
    """R21 read as "within 15 days" exclusive (day 15 is no longer free)."""
    zone = policy.zone
    days = (back_at.astimezone(zone).date() - picked_up_at.astimezone(zone).date()).days
    return 0 <= days < policy.rerepair_window_days and (
        fault_kind in policy.rerepair_free_kinds or (same_fault and policy.rerepair_same_fault_free)
    )


def test_r16_the_machine_catches_exactly_two_days_getting_the_short_notice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(depot_repair, "pickup_notice_lead", _strict_threshold)
    with pytest.raises(AssertionError, match="R16"):
        run_state_machine_as_test(DepotFlows, settings=CATCH)


def test_r16_the_machine_catches_durations_measured_by_the_wall_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(depot_repair, "elapsed", _wall_clock)
    with pytest.raises(AssertionError, match="R16"):
        run_state_machine_as_test(DepotFlows, settings=CATCH)


def test_r21_the_machine_catches_day_15_after_pick_up_charged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(depot_intake, "is_free_rerepair", _window_excluding_day_15)
    with pytest.raises(AssertionError, match="R21"):
        run_state_machine_as_test(DepotFlows, settings=CATCH)


@attrs.frozen
class _StartsADayLate(WarrantyPolicy):
    """A policy that does not cover the first day of coverage."""

    def determine(
        self, equipment: Equipment, on: date, findings: Iterable[Exclusion] = (),
        plans: Iterable[ServicePlan] = (),
    ) -> WarrantyDetermination:
        result = super().determine(equipment, on, findings, plans)
        if result.in_warranty and result.starts_on == on:
            return attrs.evolve(result, in_warranty=False)
        return result


class _LateWarrantyRepairs(DepotFlows):
    def make_warranty_policy(self) -> WarrantyPolicy:
        return _StartsADayLate()


def test_r20_the_machine_catches_a_repair_charged_on_the_first_day_of_coverage() -> None:
    with pytest.raises(AssertionError, match="R20"):
        run_state_machine_as_test(_LateWarrantyRepairs, settings=CATCH)
