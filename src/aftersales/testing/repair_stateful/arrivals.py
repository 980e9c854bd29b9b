"""The rules that bring units to the depot: opening the files, a request's unit received
(R13), an earlier repair of it, and a repaired unit coming back on the days that decide
its free re-repair (R21).

Part of :mod:`aftersales.testing.repair_stateful`: import from there.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import strategies as st
from hypothesis.stateful import initialize, multiple, precondition, rule

from aftersales.domain.parts import PartOrigin
from aftersales.domain.records import Equipment
from aftersales.domain.repair import DepotState
from aftersales.domain.values import Money, Role, shifted
from aftersales.errors import AftersalesError
from aftersales.testing import repair_strategies as rst
from aftersales.testing import strategies
from aftersales.testing.repair_stateful.base import RepairMachineBase
from aftersales.testing.repair_stateful.driving import RepairDriving
from aftersales.testing.repair_stateful.tables import _SKUS

__all__ = ["RepairArrivals"]

#: The base's bundle of repair order ids.
orders = RepairMachineBase.orders


class RepairArrivals(RepairDriving):
    """The rules that bring units (and their orders) to the depot."""

    @initialize(target=orders, data=st.data())
    def open_the_files(self, data: st.DataObject) -> Any:
        """Two customers with a login and a unit each (R1, R2; installed on an edge of its
        coverage, or long ago, or never), three vendors (R14), two parts (one a disk) in the
        catalogue and a warehouse with some stock (R28), and the first unit at the depot."""
        self._jump(data.draw(self.start_times(), label="run starts at"))
        today = self.now().astimezone(self.repair_policy.zone).date()
        installed_on = st.one_of(
            st.sampled_from(self.unit_installed_on),
            strategies.coverage_start_dates(today, self.warranty_policy.period_months),
        )
        for index in range(2):
            customer = self.desk.register_customer(
                self.clerk, name=data.draw(strategies.names(), label="customer name")
            )
            self.customers.append(customer)
            self.customer_actors[customer.id] = self.desk.register_actor(
                self.supervisor, name=f"客户 {index} {customer.name}"[:40],
                roles={Role.CUSTOMER}, customer_id=customer.id,
            )
            installed = data.draw(installed_on, label="installed_on")
            self.units.append(self.desk.register_equipment(
                self.clerk, serial=f"SN-{index + 1}", model="X200", owner_id=customer.id,
                installed_on=installed,
                produced_on=date(2026, 1, 5) if installed is None else None,
            ))
        for name in ("联想 station", "Dell depot", "Third-party lab"):
            self.vendors.append(self.repairs.register_vendor(
                self.supervisor, name=name, contact="0755-1234",
                capabilities=("laptop",) if name != "Dell depot" else ("desktop",),
            ))
        for sku, disk in zip(_SKUS, (False, True), strict=True):
            self.repairs.add_part(
                self.clerk, sku=sku, name=f"part {sku}", origin=PartOrigin.OEM,
                unit_price=Money(Decimal(300), "CNY"), supplier_id=self.vendors[0].id,
                storage_media=disk,
                warranty_months=data.draw(st.none() | st.integers(0, 12),
                                          label=f"warranty of {sku}"),
            )
        self.location = self.repairs.open_stock_location(self.supervisor, name="Main warehouse")
        for sku in _SKUS:
            quantity = data.draw(st.integers(0, 2), label=f"stock of {sku}")
            if quantity:
                self.repairs.receive_stock(self.clerk, self.location.id, sku=sku,
                                           quantity=quantity)
        first = data.draw(st.sampled_from(self.units), label="unit")
        if data.draw(st.booleans(), label="an earlier repair"):
            # R21 matters for a unit out of warranty: repair one of those first
            out = [u for u in self.units if not self.expected_coverage(u, today, []).in_warranty]
            first = out[0] if out else first
            earlier = self._earlier_repair(data, first)
            if first.id in self._coming_back() and data.draw(st.booleans(), label="back now"):
                earlier += self._come_back(data, first.id)
            other = next(u for u in self.units if u is not first)
            return multiple(*earlier, *self._received(data, other))
        return multiple(*self._received(data, first))

    def _earlier_repair(self, data: st.DataObject, unit: Equipment) -> list[UUID]:
        """R21: a first repair of ``unit`` along the natural path (every command judged),
        delivered and closed when the flow gets there, so that the unit can come back."""
        received = self._received(data, unit, lawful=True)
        self.plain = True
        try:
            for _ in range(40):
                if not received or self.store.repairs[received[0]].state == DepotState.CLOSED:
                    break
                self._advance(received[0], data, detours=False)
        finally:
            self.plain = False
        return received

    def _bring(self, data: st.DataObject, unit: Equipment) -> Any:
        return multiple(*self._received(data, unit))

    def _received(self, data: st.DataObject, unit: Equipment, *, lawful: bool = False,
                  ) -> list[UUID]:
        """R13: a request for ``unit`` handed to the depot and the unit received (the
        receipt judged by the oracle); the new order's id, or none when it was refused.
        ``lawful`` receipts (on the way to an R21 decision) are made by a clerk with a
        promise in the future, so that they are not refused for reasons beside the point."""
        assert unit.owner_id is not None
        engineer = data.draw(st.sampled_from(self.engineers), label="request's engineer")
        request = self.desk.register_request(self.clerk, customer_id=unit.owner_id,
                                             summary="不开机 no power", equipment_id=unit.id)
        self.desk.assign(self.clerk, request.id, engineer_id=engineer.id)
        self.desk.start_remote(engineer, request.id)
        self.desk.hand_to_depot(engineer, request.id, reason="hardware fault")
        intake = data.draw(rst.intakes(texts=strategies.words()), label="intake")
        hours = data.draw(st.integers(1 if lawful else -1, 24 * 6), label="promised in hours")
        promised = shifted(self.now(), timedelta(hours=hours))
        receivers = (self.clerk,) if lawful else (self.clerk, self.clerk, self.clerk, self.rep,
                                                  engineer)
        receiver = data.draw(st.sampled_from(receivers), label="received by")
        e = self.expect_receipt(receiver, request.id, promised)
        lengths = {request.id: len(self.store.requests[request.id].record)}
        before = self.snapshot()
        try:
            order = self.repairs.receive_at_depot(receiver, request.id, intake=intake,
                                                  promised_at=promised)
        except AftersalesError as error:
            self._expect_unchanged(before, e.what, error)
            self.outcomes[f"receive_at_depot: refused ({type(error).__name__})"] += 1
            e.judge(error)
            return []
        finally:
            self._tick()
        e.judge(None)
        self.outcomes["receive_at_depot: done"] += 1
        self.check_steps(e, lengths, self._subjects(order))
        if data.draw(st.booleans(), label="R16 edge"):
            took = data.draw(strategies.durations_around(self.repair_policy.long_job_threshold),
                             label="the job will take")
            self.deadlines[("ready", order.id)] = shifted(order.received_at, took)
        return [order.id]

    @precondition(lambda self: len(self.store.repairs) < self.max_orders)
    @rule(target=orders, data=st.data())
    def bring_a_unit(self, data: st.DataObject) -> Any:
        """R13: another request's unit arrives (refused while the unit is at the depot)."""
        planned = set(self._coming_back())
        free = [u for u in self._free_units() if u.id not in planned]
        if not free or data.draw(st.integers(0, 5), label="a busy unit") == 0:
            free = self.units
        return self._bring(data, data.draw(st.sampled_from(free), label="unit"))

    def _coming_back(self) -> list[UUID]:
        free = {u.id for u in self._free_units()}
        return sorted(key for kind, key in self.deadlines if kind == "back" and key in free)

    @precondition(lambda self: len(self.store.repairs) < self.max_orders
                  and bool(self._coming_back()))
    @rule(target=orders, data=st.data())
    def bring_a_unit_back(self, data: st.DataObject) -> Any:
        """R21: a repaired unit comes back on the calendar day (in the policy's zone) that
        decides the free re-repair: the same day, day 14, 15 (the last one inside the 15-day
        window) or 16, at the first or last instant of the day."""
        unit_id = data.draw(st.sampled_from(self._coming_back()), label="unit back")
        return multiple(*self._come_back(data, unit_id))

    def _come_back(self, data: st.DataObject, unit_id: UUID) -> list[UUID]:
        """R21: the unit comes back at its planned instant, is received, signed in and
        diagnosed (the R21 decision), for a fault of a kind the free re-repair may cover."""
        self._jump(self.deadlines.pop(("back", unit_id)))
        received = self._received(data, self.store.equipment[unit_id], lawful=True)
        self.returning = True
        try:
            for _ in range(3):
                if not received or self.store.repairs[received[0]].diagnosed:
                    break
                self._advance(received[0], data, detours=False)
        finally:
            self.returning = False
        return received
