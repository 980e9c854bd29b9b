"""The invariants the repair desk machine checks after every step: R9, R13, R14, R22,
R25, R28, the R13 seam to the request, and yours.

Part of :mod:`aftersales.testing.repair_stateful`: import from there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis.stateful import invariant

from aftersales.domain import repair_events as rev
from aftersales.domain.kernel import AggregateEvent
from aftersales.domain.repair import DepotState
from aftersales.domain.request import RequestState
from aftersales.domain.values import Role
from aftersales.testing.repair_oracle import FINISHED, LIVE_OUTSOURCED
from aftersales.testing.repair_stateful.base import RepairMachineBase
from aftersales.testing.repair_stateful.tables import _REPAIR_STEPS
from aftersales.workflows.depot import verify_repair_record
from aftersales.workflows.outsourced import verify_outsourced_record

__all__ = ["RepairInvariants"]


class RepairInvariants(RepairMachineBase):
    """The invariants checked after every step."""

    def _events(self) -> dict[UUID, list[AggregateEvent]]:
        by_aggregate: dict[UUID, list[AggregateEvent]] = {}
        for event in self.store.events:
            by_aggregate.setdefault(event.aggregate_id, []).append(event)
        return by_aggregate

    @invariant()
    def r9_records_are_append_only_and_replay(self) -> None:
        """R9: old records are prefixes of new ones and replay to the current states."""
        subjects: list[tuple[Any, Callable[[Any], list[str]]]] = [
            *((o, verify_repair_record) for o in self.store.repairs.values()),
            *((r, verify_outsourced_record) for r in self.store.outsourced.values()),
        ]
        for subject, verify in subjects:
            record = tuple(subject.record)
            old = self.records.get(subject.id, ())
            assert record[: len(old)] == old, f"R9: the record of {subject.id} was rewritten"
            if record != old:
                problems = verify(subject)
                assert not problems, f"R9: the record of {subject.id} does not replay: {problems}"
            self.records[subject.id] = record

    @invariant()
    def r9_events_are_numbered_without_gaps(self) -> None:
        """Each aggregate's events run 1, 2, 3 ... without gaps."""
        events = self._events()
        for kind in self.store.kinds:
            for key, aggregate in self.store.committed(kind).items():
                numbers = [e.sequence for e in events.get(key, [])]
                assert numbers == list(range(1, aggregate.event_sequence + 1)), (
                    f"events of {key} are numbered {numbers}"
                )

    @invariant()
    def r13_no_delivery_without_a_passed_qc_after_the_last_repair(self) -> None:
        """R13: before each delivery, a QC passed after the last repair step."""
        for order in self.store.repairs.values():
            last_repair = last_pass = -1
            for index, entry in enumerate(order.record):
                if entry.action in _REPAIR_STEPS:
                    last_repair = index
                elif entry.action == "record_qc" and entry.note == "passed":
                    last_pass = index
                elif entry.action == "deliver":
                    assert last_pass > last_repair >= 0, (
                        f"R13: {order.number} delivered without a QC passed after the last "
                        "repair step"
                    )

    @invariant()
    def r22_no_chargeable_work_without_the_customers_approval(self) -> None:
        """R13/R22: replaying each order's events, a chargeable repair starts (or goes to a
        vendor) only while the customer's approval of the current estimate stands; approvals
        come from the order's customer or from staff on their behalf."""
        events = self._events()
        for order in self.store.repairs.values():
            free = approved = False
            for event in events.get(order.id, []):
                if isinstance(event, rev.WarrantyDetermined):
                    free, approved = event.free_reason is not None, False
                elif isinstance(event, rev.EstimateApproved | rev.AdditionalWorkApproved):
                    who = self.store.actors[event.actor_id]
                    assert who.roles & {Role.CLERK, Role.CUSTOMER_REP} or (
                        who.customer_id == order.customer_id
                    ), f"R30: {who.name} approved an estimate of {order.number}"
                    if isinstance(event, rev.EstimateApproved):
                        approved = True
                elif isinstance(event, rev.DiagnosisReopened | rev.EstimateDeclined):
                    approved = False
                elif isinstance(event, rev.RepairStarted | rev.SentToVendor):
                    assert free or approved, (
                        f"R22: {order.number}: chargeable {event.name} without approval"
                    )

    @invariant()
    def r25_settled_amount_matches_the_approved_work(self) -> None:
        """R22/R25: settled = approved estimate + approved additions − discount (the diagnosis
        fee when unrepaired; when free, only the approved additional work the policy bills);
        the discount never takes it below zero; a deposit beyond it is a refund owed; every
        discount was granted by a supervisor."""
        for order in self.store.repairs.values():
            discount = order.discount
            if discount is not None:
                approver = self.store.actors[discount.authorized_by]
                assert approver.has(Role.SUPERVISOR), (
                    f"R22: {order.number} discount authorized by {approver.name}"
                )
            if order.settlement is None:
                continue
            expected = self.expected_due(order)
            settled = order.settlement
            assert settled.total == expected, (
                f"R25: {order.number} settled {settled.total}, the approved work "
                f"less discount is {expected}"
            )
            paid = sum((d.amount.amount for d in order.deposits), Decimal(0))
            assert settled.refund_due.amount == max(paid - expected.amount, Decimal(0)), (
                f"R25: {order.number} deposit {paid} against {expected}: refund "
                f"{settled.refund_due}"
            )
            assert settled.due_on_pickup.amount == max(expected.amount - paid, Decimal(0))

    @invariant()
    def r14_a_unit_is_never_at_two_vendors(self) -> None:
        """R14: per unit, at most one live outsourced repair; attempts stay bounded."""
        live: Counter[UUID] = Counter()
        for repair in self.store.outsourced.values():
            assert len(repair.attempts) <= repair.max_attempts
            if repair.state in LIVE_OUTSOURCED:
                live[repair.equipment_id] += 1
        assert all(n <= 1 for n in live.values()), f"R14: a unit is out twice: {live}"

    @invariant()
    def r28_stock_agrees_and_closed_orders_hold_no_parts(self) -> None:
        """R28: levels never negative, reserved = what open reservations hold; a closed
        order has no open reservation."""
        for stock in self.store.stock.values():
            held: Counter[str] = Counter()
            for reservation in stock.reservations.values():
                assert reservation.remaining >= 0
                held[reservation.sku] += reservation.remaining
                order = self.store.repairs.get(reservation.order_id)
                if order is not None and order.state == DepotState.CLOSED:
                    assert not reservation.open, (
                        f"R28: {order.number} closed holding {reservation.remaining} × "
                        f"{reservation.sku}"
                    )
            for sku, level in stock.levels.items():
                assert 0 <= level.reserved <= level.on_hand, f"R28: {sku} level {level}"
                assert level.reserved == held[sku], f"R28: {sku} reserved {level} vs {held}"

    @invariant()
    def r13_finished_orders_resolve_their_request(self) -> None:
        """R13 seam: the request of a delivered, returned or replaced order is resolved."""
        for order in self.store.repairs.values():
            if order.state in FINISHED:
                request = self.store.requests[order.request_id]
                assert request.state not in (RequestState.HANDED_TO_DEPOT,
                                             RequestState.AT_DEPOT), (
                    f"{order.number} is {order.state}, its request still waits for the depot"
                )

    @invariant()
    def extra_invariants_hold(self) -> None:
        """Runs :meth:`check_extra_invariants` on every committed order."""
        for order in self.store.repairs.values():
            self.check_extra_invariants(order)
