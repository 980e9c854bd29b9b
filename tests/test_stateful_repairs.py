"""Stateful property tests of the repair desk (R13, R14, R22, R25, R28, R30) through random
command sequences by random actors, using the shipped :class:`RepairDeskStateMachine`."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from hypothesis import settings

from aftersales.domain.repair import RepairOrder
from aftersales.testing import repair_strategies as rst
from aftersales.testing.repair_stateful import RepairDeskStateMachine

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


TestDepotFlows = DepotFlows.TestCase
TestDepotFlows.settings = FLOW_SETTINGS
TestOutsourcedFlows = OutsourcedFlows.TestCase
TestOutsourcedFlows.settings = FLOW_SETTINGS
