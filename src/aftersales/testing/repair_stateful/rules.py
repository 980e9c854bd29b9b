"""The rules that move repair orders on, try anything, read the orders and the return
ledger (R14, R30), and let time pass up to the next planned edge.

Part of :mod:`aftersales.testing.repair_stateful`: import from there.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from uuid import UUID

from hypothesis import strategies as st
from hypothesis.stateful import rule

from aftersales.adapters.system import ManualClock
from aftersales.domain.repair import DepotState, OutsourcedState
from aftersales.errors import AftersalesError, NotAuthorized
from aftersales.testing.oracle import Expectation
from aftersales.testing.repair_stateful.base import RepairMachineBase
from aftersales.testing.repair_stateful.driving import RepairDriving
from aftersales.testing.repair_stateful.tables import REPAIR_ACTOR_KEYS

__all__ = ["RepairRules"]

#: The base's bundle of repair order ids.
orders = RepairMachineBase.orders


class RepairRules(RepairDriving):
    """The rules that act on the orders at the depot and on the clock."""

    @rule(order=orders, data=st.data())
    def advance(self, order: UUID, data: st.DataObject) -> None:
        """A command that moves the order on, by the actor who normally issues it."""
        self._advance(order, data)

    @rule(order=orders, data=st.data())
    def advance_further(self, order: UUID, data: st.DataObject) -> None:
        """Several :meth:`advance` steps in a row, so that runs reach delivery and closing."""
        for _ in range(data.draw(st.integers(min_value=1, max_value=12), label="steps")):
            self._advance(order, data)

    @rule(order=orders, data=st.data())
    def attempt_anything(self, order: UUID, data: st.DataObject) -> None:
        """Any command by any actor, arguments possibly invalid: the oracle says which must
        be refused, and a refusal changes nothing."""
        self._attempt(order, data)

    @rule(order=orders, key=st.sampled_from(REPAIR_ACTOR_KEYS))
    def look_around(self, order: UUID, key: str) -> None:
        """Reading an order changes nothing, and only who may view it sees it (R30); the
        return ledger lists exactly the units now at a vendor (a failed vendor's too, until
        the unit is back: R14)."""
        committed = self.store.repairs[order]
        actor = self.actor_for(key, committed)
        e = Expectation(f"get_order by {actor.name}")
        if not self.expect_permission(self.store.actors[actor.id], "view", committed):
            e.refuse(NotAuthorized, "authorization", f"R30: {actor.name} may not view it")
        before = self.snapshot()
        try:
            seen = self.repairs.get_order(actor, order)
        except AftersalesError as error:
            self._expect_unchanged(before, e.what, error)
            e.judge(error)
        else:
            e.judge(None)
            assert seen.version == committed.version
        lines = self.repairs.return_ledger(self.clerk)
        at_vendor = {r.id for r in self.store.outsourced.values()
                     if r.state in (OutsourcedState.AT_VENDOR, OutsourcedState.FAILED_AT_VENDOR)}
        assert {line.outsourced_id for line in lines} == at_vendor
        assert self.snapshot() == before, "reading changed the store"

    def _drop_passed_deadlines(self) -> None:
        waiting = {DepotState.INTAKE, DepotState.DIAGNOSING, DepotState.AWAITING_APPROVAL,
                   DepotState.APPROVED, DepotState.REPAIRING, DepotState.WAITING_FOR_PARTS,
                   DepotState.ADDITIONAL_WORK_PENDING, DepotState.AT_VENDOR,
                   DepotState.QUALITY_CHECK}
        free = {u.id for u in self._free_units()}
        now = self.now()
        full = len(self.store.repairs) >= self.max_orders
        for (kind, key), moment in list(self.deadlines.items()):
            gone = self.store.repairs[key].state not in waiting if kind == "ready" else (
                key not in free or full
            )
            if gone or moment < now:
                del self.deadlines[(kind, key)]

    @rule(hours=st.integers(min_value=1, max_value=24 * 20))
    def time_passes(self, hours: int) -> None:
        """The manual clock moves on (when the clock is a :class:`ManualClock`), but not past
        a planned edge (:attr:`deadlines`)."""
        if not isinstance(self.clock, ManualClock):
            return
        self._drop_passed_deadlines()
        step = timedelta(hours=hours)
        if self.deadlines:
            room = min(self.deadlines.values()).astimezone(UTC) - self.now().astimezone(UTC)
            step = min(step, room - timedelta(hours=1))
        if step > timedelta(0):
            self.clock.advance(step)
