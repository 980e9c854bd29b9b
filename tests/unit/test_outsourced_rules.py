"""Outsourced repair (R14) and the vendor chase schedule (R15), with the return ledger."""

# States change between asserts, so mypy's literal narrowing is switched off here.
# mypy: disable-error-code="comparison-overlap"
from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import attrs
import pytest

from aftersales.domain import Actor, Equipment, Money, Role, elapsed
from aftersales.domain import repair_events as rev
from aftersales.domain.repair import (
    DataHandling,
    DepotState,
    EstimateBasis,
    EstimateLine,
    FaultClass,
    FaultKind,
    Intake,
    LineKind,
    OutsourcedRepair,
    OutsourcedState,
    RepairOrder,
    RepairPolicy,
    Vendor,
    VendorRegistry,
    next_vendor_chase,
    return_ledger,
)
from aftersales.domain.warranty import WarrantyPolicy
from aftersales.errors import GuardFailed, InvalidTransition, ValidationError
from aftersales.workflows import depot, outsourced

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
POLICY = RepairPolicy()
CLERK = Actor(UUID(int=1), "Li Clerk", {Role.CLERK})
ENGINEER = Actor(UUID(int=2), "Wang Engineer", {Role.ENGINEER})
UNIT = UUID(int=100)
_ids = itertools.count(20_000)


def uid() -> UUID:
    return UUID(int=next(_ids))


def vendor(name: str = "Lenovo station", caps: tuple[str, ...] = ("laptop",)) -> Vendor:
    return Vendor(uid(), name, contact="0755-1234", capabilities=caps)


def order_at(in_warranty: bool = True, *, approved: bool = False) -> RepairOrder:
    installed = date(2025, 9, 1) if in_warranty else date(2023, 1, 1)
    order = depot.open_repair_order(
        order_id=uid(), number=f"RO-{next(_ids)}", request_id=uid(), equipment_id=UNIT,
        customer_id=uid(),
        intake=Intake(appearance="ok", configuration="i7", accessories=(),
                      data_handling=DataHandling.WIPE_ALLOWED),
        promised_at=T0 + timedelta(days=10), actor=CLERK, at=T0, policy=POLICY,
    )
    depot.sign_intake(order, signed_by="Ms Qian", actor=CLERK, at=T0)
    depot.diagnose(
        order, fault="display dead", cause="panel controller", fault_class=FaultClass.QUALITY,
        fault_kind=FaultKind.HARDWARE,
        equipment=Equipment(UNIT, serial="SN", model="X1", installed_on=installed),
        warranty_policy=WarrantyPolicy(), actor=ENGINEER, at=T0 + H, policy=POLICY,
        fault_code="HW-DISPLAY",
    )
    if approved:
        line = EstimateLine(EstimateBasis.ITEM, "display", "vendor repair", LineKind.LABOUR,
                            Money(Decimal(800), "CNY"))
        depot.send_estimate(order, estimate_id=uid(), lines=(line,), actor=ENGINEER,
                            at=T0 + 2 * H)
        depot.approve_estimate(order, approved_by="Ms Qian", actor=CLERK, at=T0 + 3 * H)
    return order


def sent(order: RepairOrder | None = None, **kw: Any) -> tuple[RepairOrder, OutsourcedRepair]:
    order = order or order_at()
    repair = depot.send_to_vendor(order, outsourced_id=uid(), reason="panel needs the maker",
                                  actor=CLERK, at=T0 + 4 * H, policy=kw.pop("policy", POLICY),
                                  **kw)
    return order, repair


def shipped(repair: OutsourcedRepair, v: Vendor | None = None, at: datetime = T0 + 5 * H,
            promised: timedelta = timedelta(days=5)) -> Vendor:
    v = v or vendor()
    outsourced.choose_vendor(repair, vendor=v, actor=CLERK, at=at, capability="laptop")
    outsourced.ship_to_vendor(repair, carrier="SF Express", tracking_number=f"SF{next(_ids)}",
                              voucher="pick-up voucher 7781", promised_by=at + promised,
                              actor=CLERK, at=at, policy=POLICY)
    return v


def snapshot(entity: Any) -> dict[str, Any]:
    return attrs.asdict(entity, recurse=True)


# --- R14 eligibility -----------------------------------------------------------------------


def test_r14_outsourcing_needs_maker_warranty_or_beyond_local_ability() -> None:
    order, repair = sent()  # in the maker's warranty
    assert repair.maker_warranty and order.state == DepotState.AT_VENDOR
    assert order.outsourced_ids == [repair.id]
    out_of_warranty = order_at(in_warranty=False, approved=True)
    before = snapshot(out_of_warranty)
    with pytest.raises(GuardFailed, match="R14"):
        sent(out_of_warranty)
    assert snapshot(out_of_warranty) == before
    _, beyond = sent(out_of_warranty, beyond_local_ability=True)
    assert beyond.beyond_local_ability and not beyond.maker_warranty


def test_r14_a_chargeable_unit_goes_out_only_after_approval() -> None:
    order = order_at(in_warranty=False)
    before = snapshot(order)
    with pytest.raises(GuardFailed, match="approved"):
        sent(order, beyond_local_ability=True)
    assert snapshot(order) == before


def test_r14_a_full_outsourced_repair_comes_back_through_reinspection_and_qc() -> None:
    order, repair = sent()
    v = shipped(repair)
    assert repair.state == OutsourcedState.AT_VENDOR and repair.vendor_id == v.id
    attempt = repair.current_attempt
    assert attempt is not None and attempt.shipment is not None
    assert attempt.shipment.voucher == "pick-up voucher 7781"
    outsourced.unit_returned(repair, vendor_report="panel controller replaced", actor=CLERK,
                             at=T0 + 60 * H)
    with pytest.raises(GuardFailed, match="re-inspection"):
        outsourced.back_to_depot(repair, actor=CLERK, at=T0 + 61 * H)
    results = dict.fromkeys(repair.qc_checklist, True)
    assert repair.qc_checklist == order.qc_checklist
    failed = outsourced.reinspect(repair, results=results | {repair.qc_checklist[0]: False},
                                  actor=ENGINEER, at=T0 + 61 * H)
    assert not failed.passed and not repair.reinspection_passed
    outsourced.reinspect(repair, results=results, actor=ENGINEER, at=T0 + 62 * H)
    outsourced.back_to_depot(repair, actor=CLERK, at=T0 + 62 * H)
    assert repair.state == OutsourcedState.BACK_AT_DEPOT
    depot.receive_from_vendor(order, outsourced=repair, actor=CLERK, at=T0 + 63 * H)
    assert order.state == DepotState.QUALITY_CHECK and not order.qc_passed_after_last_repair
    depot.record_qc(order, results=results, actor=ENGINEER, at=T0 + 64 * H)
    depot.mark_ready(order, pickup_at=T0 + 70 * H, actor=CLERK, at=T0 + 64 * H, policy=POLICY)
    assert order.state == DepotState.READY_FOR_PICKUP
    assert outsourced.verify_outsourced_record(repair) == []
    assert depot.verify_repair_record(order) == []
    names = [e.name for e in repair.pending_events]
    assert names == ["OutsourcingOpened", "VendorChosen", "ShippedToVendor", "VendorReturned",
                     "UnitReinspected", "UnitReinspected", "OutsourcingClosed"]
    assert all(isinstance(e, rev.OutsourcedEvent) and e.aggregate_type == "OutsourcedRepair"
               and e.aggregate_id == repair.id for e in repair.pending_events)


def test_r14_receiving_from_the_vendor_needs_a_passed_reinspection() -> None:
    order, repair = sent()
    shipped(repair)
    before = snapshot(order)
    with pytest.raises(GuardFailed, match="R14"):
        depot.receive_from_vendor(order, outsourced=repair, actor=CLERK, at=T0 + 9 * H)
    assert snapshot(order) == before
    other_order, other = sent()
    with pytest.raises(ValidationError):
        depot.receive_from_vendor(order, outsourced=other, actor=CLERK, at=T0 + 9 * H)
    assert other_order.state == DepotState.AT_VENDOR


# --- R14 the bounded vendor loop -------------------------------------------------------------


def test_r14_vendor_loop_is_bounded_by_policy() -> None:
    policy = RepairPolicy(max_vendor_attempts=2)
    order, repair = sent(policy=policy)
    first = shipped(repair)
    outsourced.record_vendor_failure(repair, reason="no panels", actor=CLERK, at=T0 + 20 * H)
    event = repair.pending_events[-1]
    assert isinstance(event, rev.VendorFailed) and event.attempts_left == 1
    assert repair.state == OutsourcedState.FAILED_AT_VENDOR  # it still holds the unit
    with pytest.raises(InvalidTransition):
        outsourced.choose_vendor(repair, vendor=vendor("Dell station"), actor=CLERK,
                                 at=T0 + 20 * H)
    outsourced.failed_unit_returned(repair, actor=CLERK, at=T0 + 21 * H, note="SF back")
    with pytest.raises(GuardFailed, match="already failed"):
        outsourced.choose_vendor(repair, vendor=first, actor=CLERK, at=T0 + 21 * H)
    shipped(repair, vendor("Dell station"), at=T0 + 21 * H)
    outsourced.unit_returned(repair, vendor_report="could not fix", actor=CLERK, at=T0 + 40 * H)
    outsourced.record_vendor_failure(repair, reason="board failed again", actor=CLERK,
                                     at=T0 + 41 * H)
    before = snapshot(repair)
    with pytest.raises(GuardFailed, match="maximum number of vendors"):
        outsourced.choose_vendor(repair, vendor=vendor("Third"), actor=CLERK, at=T0 + 42 * H)
    assert snapshot(repair) == before
    outsourced.offer_replacement(repair, reason="two vendors failed", actor=CLERK,
                                 at=T0 + 42 * H)
    depot.vendor_gave_up(order, outsourced=repair, actor=CLERK, at=T0 + 43 * H)
    assert order.state == DepotState.UNREPAIRABLE and order.replacement_justified
    depot.offer_replacement(order, model="X1 Gen 2", actor=CLERK, at=T0 + 44 * H)
    depot.accept_replacement(order, serial="SN-R", signed_by="Ms Qian", actor=CLERK,
                             at=T0 + 45 * H)
    depot.close(order, actor=CLERK, at=T0 + 46 * H)
    assert outsourced.verify_outsourced_record(repair) == []
    assert depot.verify_repair_record(order) == []
    assert len(repair.attempts) == 2 and repair.failed_vendor_ids == {
        a.vendor_id for a in repair.attempts
    }


def test_r14_a_vendor_must_be_active_and_capable() -> None:
    _, repair = sent()
    retired = attrs.evolve(vendor(), state="retired")
    assert not retired.active
    with pytest.raises(GuardFailed, match="not active"):
        outsourced.choose_vendor(repair, vendor=retired, actor=CLERK, at=T0 + 5 * H)
    with pytest.raises(GuardFailed, match="does not repair"):
        outsourced.choose_vendor(repair, vendor=vendor(caps=("printer",)), actor=CLERK,
                                 at=T0 + 5 * H, capability="laptop")
    registry = VendorRegistry([vendor("B"), vendor("A"), retired, vendor(caps=("printer",))])
    assert [v.name for v in registry.capable_of("laptop")] == ["A", "B"]


def test_r14_giving_up_returns_the_unit_unrepaired() -> None:
    order, repair = sent()
    shipped(repair)
    outsourced.record_vendor_failure(repair, reason="no parts", actor=CLERK, at=T0 + 9 * H)
    with pytest.raises(InvalidTransition):  # the vendor still holds the unit
        outsourced.give_up(repair, reason="customer wants it back", actor=CLERK,
                           at=T0 + 10 * H)
    outsourced.failed_unit_returned(repair, actor=CLERK, at=T0 + 10 * H)
    outsourced.give_up(repair, reason="customer wants it back", actor=CLERK, at=T0 + 10 * H)
    depot.vendor_gave_up(order, outsourced=repair, actor=CLERK, at=T0 + 11 * H)
    depot.settle(order, amount=order.amount_due(), actor=CLERK, at=T0 + 12 * H)
    depot.return_unrepaired(order, signed_by="Ms Qian", actor=CLERK, at=T0 + 13 * H)
    assert order.state == DepotState.RETURNED
    assert order.unrepaired_reason == "R14: customer wants it back"


# --- R15 chasing ---------------------------------------------------------------------------


def test_r15_chase_12h_before_vendor_promise() -> None:
    promised = T0 + timedelta(days=5)
    assert next_vendor_chase(POLICY, promised, None) == promised - 12 * H
    assert next_vendor_chase(POLICY, promised, promised - 12 * H) == promised + 12 * H
    _, repair = sent()
    shipped(repair, at=T0, promised=timedelta(days=5))
    assert repair.next_chase_at == promised - 12 * H


def test_r15_every_chase_is_recorded_and_schedules_the_next() -> None:
    policy = RepairPolicy(vendor_chase_every=6 * H)
    _, repair = sent()
    shipped(repair, at=T0, promised=timedelta(days=2))
    due = repair.next_chase_at
    assert due == T0 + 36 * H
    outsourced.chase_vendor(repair, response="on the bench", actor=CLERK, at=due, policy=policy)
    assert repair.next_chase_at == due + 6 * H
    outsourced.chase_vendor(repair, response="waiting for a panel, new date", actor=CLERK,
                            at=due + 6 * H, policy=policy, new_promised_by=T0 + 96 * H)
    attempt = repair.current_attempt
    assert attempt is not None and len(attempt.chases) == 2
    assert attempt.promised_by == T0 + 96 * H
    assert repair.next_chase_at == T0 + 84 * H  # 12 h before the new promise
    assert [e.action for e in repair.record].count("chase") == 2


def test_r15_chasing_needs_the_unit_at_the_vendor() -> None:
    _, repair = sent()
    before = snapshot(repair)
    with pytest.raises(InvalidTransition):
        outsourced.chase_vendor(repair, response="x", actor=CLERK, at=T0, policy=POLICY)
    assert snapshot(repair) == before


# --- R14 the return ledger -----------------------------------------------------------------


def test_r14_return_ledger_lists_units_at_vendors_with_time_out_and_overdue() -> None:
    _, late = sent()
    shipped(late, at=T0, promised=timedelta(days=2))
    _, on_time = sent()
    shipped(on_time, at=T0 + 24 * H, promised=timedelta(days=5))
    _, back = sent()
    shipped(back, at=T0)
    outsourced.unit_returned(back, vendor_report="fixed", actor=CLERK, at=T0 + 30 * H)
    _, waiting = sent()  # not shipped yet
    now = T0 + timedelta(days=3)
    ledger = return_ledger([on_time, back, waiting, late], now)
    assert [line.outsourced_id for line in ledger] == [late.id, on_time.id]
    first, second = ledger
    assert first.out_for == timedelta(days=3) and first.overdue
    assert second.out_for == timedelta(days=2) and not second.overdue
    assert first.carrier == "SF Express" and first.tracking_number.startswith("SF")


@pytest.mark.parametrize("late_by", [timedelta(0), timedelta(microseconds=1)],
                         ids=["at the promise", "just after"])
def test_r14_a_unit_is_overdue_only_after_the_vendors_promised_time(late_by: timedelta) -> None:
    _, repair = sent()
    shipped(repair, at=T0, promised=timedelta(days=2))
    (line,) = return_ledger([repair], T0 + timedelta(days=2) + late_by)
    assert line.overdue is (late_by > timedelta(0))
    assert line.promised_by == T0 + timedelta(days=2)


BERLIN = ZoneInfo("Europe/Berlin")


def test_r14_time_out_at_the_vendor_is_absolute_time_across_a_dst_change() -> None:
    _, repair = sent()
    shipped_at = datetime(2026, 10, 24, 10, 0, tzinfo=BERLIN)  # CEST; clocks go back on 25 Oct
    shipped(repair, at=shipped_at, promised=timedelta(days=5))
    now = datetime(2026, 10, 26, 10, 0, tzinfo=BERLIN)  # CET: 48 h on the wall clock
    (line,) = return_ledger([repair], now)
    assert line.out_for == timedelta(hours=49)
    (same,) = return_ledger([repair], now.astimezone(UTC))
    assert same.out_for == timedelta(hours=49)


def test_r15_the_vendor_chase_schedule_is_absolute_time_across_a_dst_change() -> None:
    promised = datetime(2026, 3, 29, 12, 0, tzinfo=BERLIN)  # CEST, the day clocks go forward
    first = next_vendor_chase(POLICY, promised, None)
    assert first == datetime(2026, 3, 28, 23, 0, tzinfo=BERLIN)  # 12 h before, in CET
    assert elapsed(first, promised) == 12 * H
    assert next_vendor_chase(POLICY, promised.astimezone(UTC), None) == first
    chased = datetime(2026, 3, 29, 0, 30, tzinfo=BERLIN)
    following = next_vendor_chase(POLICY, promised, chased)
    assert following == datetime(2026, 3, 30, 1, 30, tzinfo=BERLIN)  # 24 h later, in CEST
    assert elapsed(chased, following) == 24 * H


# --- bad input -----------------------------------------------------------------------------


def test_bad_vendor_input_raises_and_changes_nothing() -> None:
    _, repair = sent()
    v = vendor()
    outsourced.choose_vendor(repair, vendor=v, actor=CLERK, at=T0 + 5 * H)
    before = snapshot(repair)
    with pytest.raises(ValidationError):
        outsourced.ship_to_vendor(repair, carrier="SF", tracking_number="1", voucher="v",
                                  promised_by=T0 + 4 * H, actor=CLERK, at=T0 + 5 * H,
                                  policy=POLICY)
    with pytest.raises(ValidationError):
        outsourced.ship_to_vendor(repair, carrier="", tracking_number="1", voucher="v",
                                  promised_by=T0 + 40 * H, actor=CLERK, at=T0 + 5 * H,
                                  policy=POLICY)
    with pytest.raises(ValidationError):
        outsourced.choose_vendor(repair, vendor="Lenovo",  # type: ignore[arg-type]
                                 actor=CLERK, at=T0)
    with pytest.raises(InvalidTransition):
        outsourced.unit_returned(repair, vendor_report="x", actor=CLERK, at=T0 + 6 * H)
    with pytest.raises(ValidationError):
        outsourced.reinspect(repair, results={}, actor=CLERK, at=T0 + 6 * H)
    assert snapshot(repair) == before


def test_vendor_validation() -> None:
    with pytest.raises(ValidationError):
        Vendor(uid(), "", contact="x")
    with pytest.raises(ValidationError):
        Vendor(uid(), "A", contact="x", capabilities="laptop")
