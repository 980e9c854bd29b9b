"""Regression tests for the findings of issue 8 in the depot (R13), outsourced (R14) and parts
(R28) domain: money quantized and never negative (R22, R23, R25), additional work on a free
order billed (R13/R25), declined parts refused (R13), released parts no longer reserved (R28),
replaced parts' default warranty (R21), R21's fault codes and calendar days, R16's pick-up lead
across DST changes, and the R14 return ledger.

Each test names its rule and fails on the code before the kernel redesign (commit cb13201).
Domain and workflow steps only: no service layer, no storage, no wall clock.
"""

# States change between asserts, so mypy's literal narrowing is switched off here.
# mypy: disable-error-code="comparison-overlap"
from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import attrs
import pytest

from aftersales.domain import Actor, Equipment, Money, Role, elapsed, shifted
from aftersales.domain import repair_events as rev
from aftersales.domain.parts import Part, PartOrigin, PartSource, Stock, StockLocation
from aftersales.domain.repair import (
    OUTSOURCED_REPAIRS,
    DataHandling,
    DepotState,
    EstimateBasis,
    EstimateLine,
    FaultCatalogue,
    FaultClass,
    FaultKind,
    Intake,
    LineKind,
    OutsourcedRepair,
    OutsourcedState,
    PickupNotice,
    ReopenKind,
    RepairHistoryItem,
    RepairOrder,
    RepairPolicy,
    Vendor,
    is_free_rerepair,
    pickup_notice_at,
    required_deposit,
    return_ledger,
)
from aftersales.domain.warranty import WarrantyPolicy
from aftersales.errors import (
    AftersalesError,
    ConfigurationError,
    GuardFailed,
    InvalidTransition,
    ValidationError,
)
from aftersales.workflows import depot, outsourced

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
POLICY = RepairPolicy()
WARRANTY = WarrantyPolicy()
CLERK = Actor(UUID(int=1), "Li Clerk", {Role.CLERK})
ENGINEER = Actor(UUID(int=2), "Wang Engineer", {Role.ENGINEER})
BOSS = Actor(UUID(int=3), "Zhang Supervisor", {Role.SUPERVISOR})
CUSTOMER = UUID(int=200)
UNIT = UUID(int=100)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
_ids = itertools.count(40_000)


def uid() -> UUID:
    return UUID(int=next(_ids))


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


def unit(installed_on: date = date(2025, 9, 1), **kw: Any) -> Equipment:
    """In warranty on T0 by default (installed six months earlier)."""
    return Equipment(UNIT, serial="SN-1", model="ThinkBook 14", installed_on=installed_on, **kw)


OLD = date(2023, 1, 10)  # installed long ago: out of warranty


def new_order(*, policy: RepairPolicy = POLICY, received: datetime = T0,
              promised: timedelta = timedelta(days=3),
              engineer_id: UUID | None = None) -> RepairOrder:
    order = depot.open_repair_order(
        order_id=uid(), number=f"RO-{next(_ids)}", request_id=uid(), equipment_id=UNIT,
        customer_id=CUSTOMER,
        intake=Intake(appearance="ok", configuration="i5, 16 GB", accessories=("charger",),
                      data_handling=DataHandling.WIPE_ALLOWED),
        promised_at=shifted(received, promised), actor=CLERK, at=received, policy=policy,
        engineer_id=engineer_id,
    )
    depot.sign_intake(order, signed_by="Mr Zhao", actor=CLERK, at=shifted(received, H / 12))
    return order


def diagnose(order: RepairOrder, equipment: Equipment | None = None, *, code: str = "HW-POWER",
             fault: str = "no power", kind: FaultKind = FaultKind.HARDWARE,
             history: tuple[RepairHistoryItem, ...] = (), policy: RepairPolicy = POLICY,
             at: datetime | None = None) -> None:
    depot.diagnose(
        order, fault=fault, cause="failed voltage regulator", fault_class=FaultClass.QUALITY,
        fault_kind=kind, equipment=equipment or unit(), warranty_policy=WARRANTY,
        actor=ENGINEER, at=at or shifted(order.received_at, H), policy=policy,
        fault_code=code, history=history,
    )


def labour(amount: str = "150", currency: str = "CNY") -> EstimateLine:
    return EstimateLine(EstimateBasis.SYMPTOM, "no power", "replace regulator", LineKind.LABOUR,
                        Money(Decimal(amount), currency))


def part(sku: str = "VR-1", amount: str = "300", *, to_order: bool = False,
         currency: str = "CNY") -> EstimateLine:
    return EstimateLine(EstimateBasis.ITEM, "mainboard", f"part {sku}", LineKind.PART,
                        Money(Decimal(amount), currency), sku=sku, source=PartSource.OURS,
                        origin=PartOrigin.OEM, to_order=to_order)


def approved(lines: tuple[EstimateLine, ...] = (), *,
             policy: RepairPolicy = POLICY) -> RepairOrder:
    """A chargeable (out-of-warranty) order whose estimate the customer approved."""
    order = new_order(policy=policy)
    diagnose(order, unit(OLD), policy=policy)
    depot.send_estimate(order, estimate_id=uid(), lines=lines or (labour(), part()),
                        actor=ENGINEER, at=T0 + 2 * H)
    depot.approve_estimate(order, approved_by="Mr Zhao", actor=CLERK, at=T0 + 3 * H)
    return order


def repaired(order: RepairOrder, at: datetime = T0 + 5 * H) -> None:
    """Start (if needed), finish and pass QC."""
    if order.state != DepotState.REPAIRING:
        depot.start_repair(order, actor=ENGINEER, at=at)
    depot.finish_repair(order, summary="replaced the regulator", actor=ENGINEER, at=at + H)
    depot.record_qc(order, results=dict.fromkeys(order.qc_checklist, True), actor=ENGINEER,
                    at=at + 2 * H)


def ready(order: RepairOrder, at: datetime = T0 + 9 * H,
          policy: RepairPolicy = POLICY) -> None:
    depot.mark_ready(order, pickup_at=at + 5 * H, actor=CLERK, at=at, policy=policy)


def snapshot(entity: Any) -> dict[str, Any]:
    return attrs.asdict(entity, recurse=True)


def refused(entity: Any, error: type[AftersalesError], step: Callable[[], object]) -> str:
    """Run ``step``, expect ``error`` and that nothing changed; return the message."""
    before = snapshot(entity)
    with pytest.raises(error) as info:
        step()
    assert snapshot(entity) == before
    return str(info.value)


# --- R25: money is quantized to its currency -------------------------------------------------


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    ("5", "CNY", "5.00 CNY"),
    ("5.1", "CNY", "5.10 CNY"),
    ("7", "JPY", "7 JPY"),
    ("1.5", "KWD", "1.500 KWD"),
    ("-0", "CNY", "0.00 CNY"),
])
def test_r25_money_is_kept_at_exactly_its_currencys_minor_unit(
    amount: str, currency: str, shown: str,
) -> None:
    money = Money(Decimal(amount), currency)
    assert str(money) == shown
    assert money == Money(Decimal(shown.split()[0]), currency)
    assert (money + Money.zero(currency)).amount.as_tuple() == money.amount.as_tuple()


@pytest.mark.parametrize(("amount", "currency"), [
    ("0.001", "CNY"), ("450.005", "CNY"), ("0.5", "JPY"), ("1.0001", "KWD"),
    ("1", "XYZ"), ("1", "RMB"), ("1000000000000000", "CNY"),
])
def test_r25_money_finer_than_the_minor_unit_or_not_iso_4217_is_refused(
    amount: str, currency: str,
) -> None:
    with pytest.raises(ValidationError):
        Money(Decimal(amount), currency)


def test_r25_computed_amounts_round_explicitly_to_the_minor_unit() -> None:
    assert Money.of(Decimal("2.675"), "CNY") == cny("2.68")  # half up
    assert Money.of(Decimal("2.5"), "JPY") == Money(Decimal(3), "JPY")
    assert cny("10.01").times(Decimal("0.5")) == cny("5.01")
    with pytest.raises(ValidationError):
        EstimateLine(EstimateBasis.ITEM, "disk", "fit", LineKind.LABOUR,
                     Money(Decimal("99.999"), "CNY"))


def test_r23_r25_a_deposit_is_at_least_half_rounded_up_to_the_minor_unit() -> None:
    assert required_deposit(POLICY, (part("MB-1", "1001.01", to_order=True),)) == cny("500.51")
    sixty = RepairPolicy(deposit_share=Decimal("0.6"))  # 600.012: at least 60 %, so up
    assert required_deposit(sixty, (part("MB-1", "1000.02", to_order=True),)) == cny("600.02")
    yen = RepairPolicy(currency="JPY")
    board = part("MB-1", "12001", to_order=True, currency="JPY")
    assert required_deposit(yen, (board,)) == Money(Decimal(6001), "JPY")
    order = approved((board, labour("1500", "JPY")), policy=yen)
    assert order.deposit_required == Money(Decimal(6001), "JPY")
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    depot.receive_deposit(order, amount=Money(Decimal(6001), "JPY"), actor=CLERK,
                          at=T0 + 4 * H)
    assert order.deposit_covered
    repaired(order)
    ready(order, policy=yen)
    settlement = depot.settle(order, amount=Money(Decimal(13501), "JPY"), actor=CLERK,
                              at=T0 + 11 * H)
    assert str(settlement.due_on_pickup) == "7500 JPY"


# --- R22/R25: a discount is re-checked against the gross at settlement -----------------------


def test_r22_r25_a_discount_shrinks_to_the_gross_when_the_unit_is_declared_unrepairable() -> None:
    order = approved()
    repaired(order)
    ready(order)
    depot.apply_discount(order, amount=cny("400"), reason="loyal customer", actor=BOSS,
                         at=T0 + 10 * H)
    assert order.amount_due() == cny("50")
    depot.rework(order, reason="customer: still shuts down", actor=CLERK, at=T0 + 11 * H)
    depot.declare_unrepairable(order, reason="board obsolete", actor=ENGINEER, at=T0 + 12 * H)
    assert order.gross_due() == cny("0")
    assert order.effective_discount == cny("0") and order.amount_due() == cny("0")
    settlement = depot.settle(order, amount=cny("0"), actor=CLERK, at=T0 + 13 * H)
    assert settlement.discount == cny("0") and settlement.total == cny("0")
    depot.return_unrepaired(order, signed_by="Mr Zhao", actor=CLERK, at=T0 + 14 * H)
    depot.close(order, actor=CLERK, at=T0 + 15 * H)
    assert order.state == DepotState.CLOSED and depot.verify_repair_record(order) == []


def test_r22_r25_a_discount_never_makes_a_rediagnosed_job_cost_less_than_nothing() -> None:
    order = approved()
    repaired(order)
    ready(order)
    depot.apply_discount(order, amount=cny("400"), reason="delay", actor=BOSS, at=T0 + 10 * H)
    depot.rework(order, reason="customer: it was the charger port", actor=CLERK, at=T0 + 11 * H)
    depot.reopen_diagnosis(order, reason="engineer misjudged the fault",
                           kind=ReopenKind.ENGINEER_MISJUDGEMENT, actor=ENGINEER,
                           at=T0 + 12 * H)
    assert order.amount_due() == cny("0")  # everything priced so far is withdrawn
    diagnose(order, unit(OLD), code="HW-PORT", fault="charger port loose", at=T0 + 13 * H)
    depot.send_estimate(order, estimate_id=uid(), lines=(labour("90"),), actor=ENGINEER,
                        at=T0 + 13 * H)
    depot.approve_estimate(order, approved_by="Mr Zhao", actor=CLERK, at=T0 + 14 * H)
    repaired(order, at=T0 + 15 * H)
    ready(order, at=T0 + 18 * H)
    assert order.gross_due() == cny("90") and order.effective_discount == cny("90")
    assert order.amount_due() == cny("0")
    settlement = depot.settle(order, amount=cny("0"), actor=CLERK, at=T0 + 19 * H)
    assert settlement.discount == cny("90") and settlement.labour == cny("90")
    depot.deliver(order, signed_by="Mr Zhao", actor=CLERK, at=T0 + 20 * H, policy=POLICY)
    depot.close(order, actor=CLERK, at=T0 + 21 * H)
    assert order.state == DepotState.CLOSED


# --- R23/R25: a deposit beyond the due is a refund owed ------------------------------------


def _with_deposit(deposit: str) -> RepairOrder:
    order = approved((part("MB-1", "1200", to_order=True), labour()))
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    depot.receive_deposit(order, amount=cny(deposit), actor=CLERK, at=T0 + 4 * H)
    return order


def test_r23_r25_a_deposit_beyond_the_due_is_refunded_and_nothing_is_due_on_pickup() -> None:
    order = _with_deposit("600")
    depot.declare_unrepairable(order, reason="board no longer made", actor=ENGINEER,
                               at=T0 + 5 * H)
    settlement = depot.settle(order, amount=cny("0"), actor=CLERK, at=T0 + 6 * H, paid=False)
    assert settlement.deposit == cny("600") and settlement.total == cny("0")
    assert settlement.refund_due == cny("600")
    assert settlement.due_on_pickup == cny("0") and settlement.receivable == cny("0")
    event = order.pending_events[-1]
    assert isinstance(event, rev.Settled) and event.refund_due == cny("600")
    assert "refund owed 600.00 CNY" in order.record[-1].note
    depot.return_unrepaired(order, signed_by="Mr Zhao", actor=CLERK, at=T0 + 7 * H)
    depot.close(order, actor=CLERK, at=T0 + 8 * H)
    assert order.state == DepotState.CLOSED


@pytest.mark.parametrize(("discount", "refund", "on_pickup"), [
    ("1000", "250", "0"),  # due 350, deposit 600
    ("750", "0", "0"),  # due 600: exactly the deposit
    ("749.99", "0", "0.01"),
])
def test_r23_r25_a_discount_below_the_deposit_leaves_a_refund_owed(
    discount: str, refund: str, on_pickup: str,
) -> None:
    order = _with_deposit("600")
    repaired(order)
    ready(order)
    depot.apply_discount(order, amount=cny(discount), reason="goodwill", actor=BOSS,
                         at=T0 + 10 * H)
    settlement = depot.settle(order, amount=order.amount_due(), actor=CLERK, at=T0 + 11 * H)
    assert settlement.total == cny("1350") - cny(discount)
    assert settlement.refund_due == cny(refund) and settlement.due_on_pickup == cny(on_pickup)


# --- R13/R25: priced additional work on a free order ---------------------------------------


def _free_with_additional_work(policy: RepairPolicy) -> RepairOrder:
    order = new_order(policy=policy)
    diagnose(order, policy=policy)
    assert not order.chargeable  # in warranty and covered
    depot.start_repair(order, actor=ENGINEER, at=T0 + 2 * H)
    depot.propose_additional_work(
        order, estimate_id=uid(), lines=(labour("80"),), reason="liquid under the keyboard",
        new_promised_at=order.promised_at + timedelta(days=1), actor=ENGINEER, at=T0 + 3 * H)
    depot.approve_additional_work(order, approved_by="Mr Zhao", actor=CLERK, at=T0 + 4 * H,
                                  policy=policy)
    repaired(order)
    ready(order, policy=policy)
    return order


def test_r13_r25_approved_additional_work_on_a_free_order_is_billed() -> None:
    order = _free_with_additional_work(POLICY)
    assert order.amount_due() == cny("80")
    refused(order, GuardFailed, lambda: depot.settle(order, amount=cny("0"), actor=CLERK,
                                                     at=T0 + 11 * H))
    settlement = depot.settle(order, amount=cny("80"), actor=CLERK, at=T0 + 11 * H)
    assert settlement.labour == cny("80") and settlement.total == cny("80")
    depot.deliver(order, signed_by="Mr Zhao", actor=CLERK, at=T0 + 12 * H, policy=POLICY)
    assert order.state == DepotState.DELIVERED


def test_r13_r25_the_policy_may_keep_additional_work_on_a_free_order_free() -> None:
    policy = RepairPolicy(bill_additional_work_when_free=False)
    order = _free_with_additional_work(policy)
    assert order.amount_due() == cny("0") and order.billable_estimates == []
    settlement = depot.settle(order, amount=cny("0"), actor=CLERK, at=T0 + 11 * H)
    assert settlement.total == cny("0") and settlement.labour == cny("0")


# --- R13: a declined part is not fitted ----------------------------------------------------


def test_r13_a_part_priced_only_in_declined_additional_work_cannot_be_fitted() -> None:
    order = approved()  # labour and the VR-1 regulator, approved
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    depot.propose_additional_work(
        order, estimate_id=uid(), lines=(part("FAN-9", "120"), part("VR-1", "300")),
        reason="fan worn", new_promised_at=order.promised_at + timedelta(days=1),
        actor=ENGINEER, at=T0 + 4 * H)
    depot.decline_additional_work(order, declined_by="Mr Zhao", actor=CLERK, at=T0 + 5 * H)

    def fit(sku: str) -> object:
        return depot.fit_part(order, sku=sku, description=sku, origin=PartOrigin.OEM,
                              source=PartSource.OURS, actor=ENGINEER, at=T0 + 6 * H)

    message = refused(order, GuardFailed, lambda: fit("FAN-9"))
    assert "R13: the customer declined" in message
    fit("VR-1")  # also in the approved estimate
    fit("SSD-1")  # never priced: the engineer's call (e.g. a free in-warranty part)
    depot.propose_additional_work(
        order, estimate_id=uid(), lines=(part("FAN-9", "100"),), reason="fan, cheaper",
        new_promised_at=order.promised_at + timedelta(days=2), actor=ENGINEER, at=T0 + 7 * H)
    depot.approve_additional_work(order, approved_by="Mr Zhao", actor=CLERK, at=T0 + 8 * H,
                                  policy=POLICY)
    fit("FAN-9")  # the customer consented after all
    assert [p.sku for p in order.fitted_parts] == ["VR-1", "SSD-1", "FAN-9"]


# --- R28: released parts no longer count as reserved --------------------------------------


def test_r28_released_parts_no_longer_count_as_reserved_for_the_order() -> None:
    order = approved()
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    depot.wait_for_parts(order, needed={"VR-1": 1}, reason="none in stock", actor=ENGINEER,
                         at=T0 + 4 * H)
    stock = Stock.open(StockLocation(uid(), "Main warehouse"))
    stock.receive(sku="VR-1", quantity=2, actor=CLERK, at=T0 + 5 * H)
    reservation = stock.reserve(reservation_id=uid(), order_id=order.id, sku="VR-1",
                                quantity=1, actor=CLERK, at=T0 + 5 * H)
    depot.record_parts_reserved(order, reservation=reservation, actor=CLERK, at=T0 + 5 * H)
    assert order.parts_available
    assert stock.release(reservation_id=reservation.id, actor=CLERK, at=T0 + 6 * H) == 1
    refused(order, ValidationError, lambda: depot.record_parts_released(
        order, reservation_id=reservation.id, sku="VR-1", quantity=2, actor=CLERK,
        at=T0 + 6 * H))
    refused(order, ValidationError, lambda: depot.record_parts_released(
        order, reservation_id=uid(), sku="VR-1", quantity=1, actor=CLERK, at=T0 + 6 * H))
    depot.record_parts_released(order, reservation_id=reservation.id, sku="VR-1", quantity=1,
                                actor=CLERK, at=T0 + 6 * H)
    assert order.parts_reserved == {} and order.missing_parts == {"VR-1": 1}
    assert not order.parts_available
    event = order.pending_events[-1]
    assert isinstance(event, rev.PartsReleasedFromOrder) and event.quantity == 1
    message = refused(order, GuardFailed,
                      lambda: depot.resume_repair(order, actor=ENGINEER, at=T0 + 7 * H))
    assert "R28" in message
    assert depot.verify_repair_record(order) == []


# --- R21: a part without its own warranty gets the policy's ------------------------------


def test_r21_a_part_without_its_own_warranty_gets_the_policys_at_delivery() -> None:
    policy = RepairPolicy(replaced_part_warranty_months=6)
    regulator = Part(uid(), "VR-1", "voltage regulator", PartOrigin.OEM, cny("300"))
    fan = Part(uid(), "FAN-2", "fan", PartOrigin.OEM, cny("40"), warranty_months=12)
    assert regulator.warranty_months is None
    order = new_order(policy=policy)
    diagnose(order, policy=policy)
    depot.start_repair(order, actor=ENGINEER, at=T0 + 2 * H)
    for catalogued in (regulator, fan):
        depot.fit_part(order, sku=catalogued.sku, description=catalogued.name,
                       origin=catalogued.origin, source=PartSource.OURS, actor=ENGINEER,
                       at=T0 + 3 * H, warranty_months=catalogued.warranty_months)
    repaired(order, at=T0 + 3 * H)
    ready(order, at=T0 + 6 * H, policy=policy)
    depot.settle(order, amount=cny("0"), actor=CLERK, at=T0 + 7 * H)
    # 2026-03-02 17:00 UTC is 3 March on the policy's calendar (UTC+8)
    warranties = depot.deliver(order, signed_by="Mr Zhao", actor=CLERK, at=T0 + 8 * H,
                               policy=policy)
    by_sku = {w.sku: w for w in warranties}
    assert by_sku["VR-1"].starts_on == date(2026, 3, 3)
    assert by_sku["VR-1"].ends_on == date(2026, 9, 3)
    assert by_sku["FAN-2"].ends_on == date(2027, 3, 3)


# --- R21: "the same fault" is the catalogue's fault code --------------------------------


@pytest.mark.parametrize("code", ["MB-NO-POWER", "hw-power", "no power", "", "HW-POWER "])
def test_r21_a_fault_code_outside_the_catalogue_is_refused(code: str) -> None:
    order = new_order()
    message = refused(order, ValidationError, lambda: diagnose(order, code=code))
    assert "fault code" in message


def _repaired_in_warranty(fault: str, code: str, picked_up: datetime) -> RepairHistoryItem:
    order = new_order(received=picked_up - 30 * H)
    diagnose(order, code=code, fault=fault)
    repaired(order, at=picked_up - 26 * H)
    ready(order, at=picked_up - 10 * H)
    depot.settle(order, amount=order.amount_due(), actor=CLERK, at=picked_up - H)
    depot.deliver(order, signed_by="Mr Zhao", actor=CLERK, at=picked_up, policy=POLICY)
    item = order.history_item()
    assert item is not None and item.picked_up_at == picked_up
    return item


def test_r21_the_same_fault_is_the_same_catalogue_code_whatever_the_free_text() -> None:
    history = (
        _repaired_in_warranty("no power", "HW-POWER", T0 - timedelta(days=90)),
        _repaired_in_warranty("wont switch on, typo'd", "HW-POWER", T0 - timedelta(days=40)),
    )
    assert [item.fault_code for item in history] == ["HW-POWER", "HW-POWER"]
    again = new_order()
    diagnose(again, code="HW-POWER", fault="dead, no LED at all", history=history)
    assert again.replacement_justified
    assert again.diagnosis is not None and again.diagnosis.fault == "dead, no LED at all"
    other = new_order()
    diagnose(other, code="HW-BOARD", fault="no power", history=history)  # same text
    assert not other.replacement_justified


def test_r21_a_product_lines_catalogue_overrides_the_default() -> None:
    catalogue = FaultCatalogue(by_product_line={"printer": {"PR-FUSER": "fuser unit"}})
    policy = RepairPolicy(fault_codes=catalogue)
    printer = unit(product_line="printer")
    laptop = unit(product_line="laptop")
    order = new_order(policy=policy)
    refused(order, ValidationError,
            lambda: diagnose(order, printer, code="HW-POWER", policy=policy))
    diagnose(order, printer, code="PR-FUSER", fault="paper burns", policy=policy)
    assert order.diagnosis is not None and order.diagnosis.fault_code == "PR-FUSER"
    other = new_order(policy=policy)
    refused(other, ValidationError,
            lambda: diagnose(other, laptop, code="PR-FUSER", policy=policy))
    diagnose(other, laptop, code="HW-POWER", policy=policy)
    assert set(catalogue.codes_for("printer")) == {"PR-FUSER"}
    assert catalogue.codes_for("laptop") == catalogue.default
    with pytest.raises(ConfigurationError):
        FaultCatalogue(default={" ": "blank"})


# --- R16: the pick-up lead on absolute time, across DST changes ----------------------------

#: Received 26 hours before a DST change, in the zone that changes.
_DST = {
    "Berlin spring": datetime(2026, 3, 28, 10, 0, tzinfo=BERLIN),  # 29 Mar: 02:00 -> 03:00
    "Berlin autumn": datetime(2026, 10, 24, 10, 0, tzinfo=BERLIN),  # 25 Oct: 03:00 -> 02:00
    "New York spring": datetime(2026, 3, 7, 10, 0, tzinfo=NEW_YORK),  # 8 Mar: 02:00 -> 03:00
    "New York autumn": datetime(2026, 10, 31, 10, 0, tzinfo=NEW_YORK),  # 1 Nov: 02:00 -> 01:00
}


def _zones(local: tzinfo, how: str) -> tuple[tzinfo, tzinfo]:
    """The zones the received and ready times carry."""
    return {"local": (local, local), "utc": (UTC, UTC), "mixed": (local, UTC)}[how]


def _marked_ready(received: datetime, ready_at: datetime) -> PickupNotice:
    order = new_order(received=received, promised=timedelta(days=5))
    diagnose(order, unit(date(2026, 1, 5)))
    depot.start_repair(order, actor=ENGINEER, at=shifted(received, 2 * H))
    repaired(order, at=shifted(received, 3 * H))
    return depot.mark_ready(order, pickup_at=shifted(ready_at, 6 * H), actor=CLERK,
                            at=ready_at, policy=POLICY)


@pytest.mark.parametrize("how", ["local", "utc", "mixed"])
@pytest.mark.parametrize(("took", "lead"), [(47 * H, H), (48 * H, 4 * H)],
                         ids=["47 h", "48 h"])
@pytest.mark.parametrize("change", sorted(_DST))
def test_r16_the_pickup_lead_counts_absolute_time_across_a_dst_change(
    change: str, took: timedelta, lead: timedelta, how: str,
) -> None:
    local = _DST[change]
    assert local.tzinfo is not None
    received_zone, ready_zone = _zones(local.tzinfo, how)
    received = local.astimezone(received_zone)
    ready_at = (local.astimezone(UTC) + took).astimezone(ready_zone)
    assert elapsed(received, ready_at) == took
    if how == "local":
        assert ready_at - received != took  # Python's same-zone subtraction is wall clock
    notice = _marked_ready(received, ready_at)
    assert notice.lead == lead
    assert elapsed(notice.notice_at, notice.pickup_at) == lead
    assert pickup_notice_at(POLICY, received, ready_at, notice.pickup_at) == notice.notice_at


def test_r16_the_notice_is_the_lead_before_pick_up_in_absolute_time() -> None:
    received = datetime(2026, 3, 27, 1, 0, tzinfo=BERLIN)
    ready_at = datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)  # 47 h later: a short job
    pickup = datetime(2026, 3, 29, 4, 30, tzinfo=BERLIN)  # CEST, after the clocks went forward
    short_job = pickup_notice_at(POLICY, received, ready_at, pickup)
    assert short_job == datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)
    long_job = pickup_notice_at(POLICY, received, shifted(ready_at, H), pickup)  # 48 h
    assert long_job == datetime(2026, 3, 28, 23, 30, tzinfo=BERLIN)  # 4 h before, in CET
    assert elapsed(long_job, pickup) == 4 * H


def test_r16_mark_ready_gives_the_full_lead_when_the_notice_spans_a_dst_change() -> None:
    received = datetime(2026, 3, 27, 0, 0, tzinfo=BERLIN)
    ready_at = datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)  # exactly 48 h: 4 h of notice
    earliest = datetime(2026, 3, 29, 5, 0, tzinfo=BERLIN)  # CEST: 4 h after ready_at
    order = new_order(received=received, promised=timedelta(days=5))
    diagnose(order, unit(date(2026, 1, 5)))
    repaired(order, at=received + 2 * H)
    refused(order, ValidationError, lambda: depot.mark_ready(
        order, pickup_at=earliest - timedelta(minutes=1), actor=CLERK, at=ready_at,
        policy=POLICY))
    notice = depot.mark_ready(order, pickup_at=earliest, actor=CLERK, at=ready_at,
                              policy=POLICY)
    assert notice.lead == 4 * H and notice.notice_at == ready_at


# --- R21: the re-repair window counts days of the policy's calendar --------------------------


@pytest.mark.parametrize(("zone", "picked", "back", "free"), [
    # UTC+8: day 15 there is day 16 in UTC, and the other way round
    (None, datetime(2026, 3, 1, 17, 0, tzinfo=UTC), datetime(2026, 3, 17, 15, 0, tzinfo=UTC),
     True),
    (None, datetime(2026, 3, 1, 15, 0, tzinfo=UTC), datetime(2026, 3, 16, 17, 0, tzinfo=UTC),
     False),
    # Berlin, across the change to summer time on 29 March
    (BERLIN, datetime(2026, 3, 20, 23, 30, tzinfo=UTC),
     datetime(2026, 4, 5, 21, 30, tzinfo=UTC), True),  # 00:30 CET 21 Mar -> 23:30 CEST 5 Apr
    (BERLIN, datetime(2026, 3, 20, 22, 30, tzinfo=UTC),
     datetime(2026, 4, 4, 22, 30, tzinfo=UTC), False),  # 23:30 CET 20 Mar -> 00:30 CEST 5 Apr
], ids=["UTC+8 day 15", "UTC+8 day 16", "Berlin day 15", "Berlin day 16"])
def test_r21_the_free_rerepair_window_counts_days_in_the_policys_zone_not_the_datetimes(
    zone: tzinfo | None, picked: datetime, back: datetime, free: bool,
) -> None:
    policy = POLICY if zone is None else RepairPolicy(zone=zone)
    assert is_free_rerepair(policy, picked, back, FaultKind.SOFTWARE) is free
    assert is_free_rerepair(policy, picked.astimezone(NEW_YORK), back, FaultKind.SOFTWARE) is (
        free
    )
    earlier = RepairHistoryItem(uid(), UNIT, "SW-OS", FaultClass.OTHER, False, picked)
    order = new_order(received=back, policy=policy)
    diagnose(order, unit(OLD), code="SW-DRIVER", kind=FaultKind.SOFTWARE, history=(earlier,),
             policy=policy)
    assert order.chargeable is not free
    assert (order.free_reason or "").startswith("R21") is free


# --- R14: outsourced repairs ---------------------------------------------------------------


def _vendor(name: str) -> Vendor:
    return Vendor(uid(), name, contact="0755-1234", capabilities=frozenset({"laptop"}))


def _at_vendor(order: RepairOrder, vendor: Vendor, at: datetime) -> OutsourcedRepair:
    repair = depot.send_to_vendor(order, outsourced_id=uid(), reason="panel needs the maker",
                                  actor=CLERK, at=at, policy=POLICY)
    outsourced.choose_vendor(repair, vendor=vendor, actor=CLERK, at=at)
    outsourced.ship_to_vendor(repair, carrier="SF Express", tracking_number="SF1",
                              voucher="voucher 7781", promised_by=at + 72 * H, actor=CLERK,
                              at=at, policy=POLICY)
    return repair


def test_r14_a_unit_held_by_a_failed_vendor_stays_in_the_return_ledger_until_it_is_back() -> None:
    order = new_order(promised=timedelta(days=10))
    diagnose(order)
    first, second = _vendor("Lenovo station"), _vendor("Dell station")
    repair = _at_vendor(order, first, T0 + 2 * H)
    outsourced.record_vendor_failure(repair, reason="no panels", actor=CLERK, at=T0 + 30 * H)
    assert repair.state == OutsourcedState.FAILED_AT_VENDOR
    (line,) = return_ledger([repair], T0 + 40 * H)
    assert line.vendor_id == first.id and line.out_for == 38 * H
    assert repair.next_chase_at is not None  # still someone to chase for the unit
    outsourced.chase_vendor(repair, response="courier booked", actor=CLERK, at=T0 + 41 * H,
                            policy=POLICY)
    refused(repair, InvalidTransition, lambda: outsourced.choose_vendor(
        repair, vendor=second, actor=CLERK, at=T0 + 41 * H))
    outsourced.failed_unit_returned(repair, actor=CLERK, at=T0 + 50 * H, note="SF back")
    assert repair.state == OutsourcedState.VENDOR_FAILED
    assert return_ledger([repair], T0 + 51 * H) == []
    attempt = repair.current_attempt
    assert attempt is not None and attempt.returned_at == T0 + 50 * H
    assert attempt.failure == "no panels" and repair.next_chase_at is None
    event = repair.pending_events[-1]
    assert isinstance(event, rev.FailedUnitReturned) and event.vendor_id == first.id
    outsourced.choose_vendor(repair, vendor=second, actor=CLERK, at=T0 + 52 * H)
    outsourced.ship_to_vendor(repair, carrier="SF Express", tracking_number="SF2",
                              voucher="voucher 7782", promised_by=T0 + 100 * H, actor=CLERK,
                              at=T0 + 52 * H, policy=POLICY)
    (line,) = return_ledger([repair], T0 + 53 * H)
    assert line.vendor_id == second.id and line.tracking_number == "SF2"
    assert outsourced.verify_outsourced_record(repair) == []


def test_r14_an_outsourced_repair_names_the_orders_customer_and_engineer() -> None:
    order = new_order(engineer_id=ENGINEER.id)
    diagnose(order)
    repair = _at_vendor(order, _vendor("Lenovo station"), T0 + 2 * H)
    assert repair.customer_id == CUSTOMER and repair.engineer_id == ENGINEER.id
    assert OUTSOURCED_REPAIRS.owner_of(repair) == CUSTOMER
    assert OUTSOURCED_REPAIRS.assignee_of(repair) == ENGINEER.id
    row = OUTSOURCED_REPAIRS.row(repair)
    assert row["customer_id"] == CUSTOMER and row["engineer_id"] == ENGINEER.id
    later = new_order()
    diagnose(later)
    other = uid()
    depot.assign_engineer(later, engineer_id=other, actor=CLERK, at=T0 + 2 * H)
    second = _at_vendor(later, _vendor("Dell station"), T0 + 3 * H)
    assert second.customer_id == CUSTOMER and second.engineer_id == other
