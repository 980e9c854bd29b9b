"""R15, R16, R21, R23 at their edges: the repair policy's parameters and computations.

Written against the mutants of ``domain/repair_policy.py`` that survived the rest of the suite
(see docs/mutation.md): every range check of :class:`RepairPolicy` at both of its ends, with the
parameter named in the refusal; the fault-code catalogue's limits and its refusal; a free
re-repair asked without saying "same fault"; a part priced exactly at the deposit threshold.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from aftersales.domain import Actor, Equipment, Money, Role
from aftersales.domain.parts import PartOrigin, PartSource
from aftersales.domain.repair import (
    DataHandling,
    EstimateBasis,
    EstimateLine,
    FaultCatalogue,
    FaultClass,
    FaultKind,
    Intake,
    LineKind,
    RepairPolicy,
    Vendor,
    is_free_rerepair,
    required_deposit,
)
from aftersales.domain.warranty import WarrantyPolicy
from aftersales.errors import ConfigurationError, GuardFailed, ValidationError
from aftersales.workflows import depot, outsourced

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
CLERK = Actor(UUID(int=1), "Li Clerk", {Role.CLERK})
ENGINEER = Actor(UUID(int=2), "Wang Engineer", {Role.ENGINEER})
DURATIONS = ("long_job_threshold", "short_job_notice", "long_job_notice",
             "vendor_chase_lead", "vendor_chase_every", "appointment_reminder_lead")


def _policy(**options: Any) -> RepairPolicy:
    return RepairPolicy(**options)


def _refused(message: str, **options: Any) -> None:
    with pytest.raises(ConfigurationError, match=message):
        _policy(**options)


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


def _part_to_order(amount: str) -> EstimateLine:
    return EstimateLine(EstimateBasis.ITEM, "main board", "replace main board", LineKind.PART,
                        cny(amount), sku="MB-1", source=PartSource.OURS, origin=PartOrigin.OEM,
                        to_order=True)


# --- RepairPolicy: every range at both ends, the parameter named --------------------------------


@pytest.mark.parametrize("name", DURATIONS)
def test_r15_r16_r23_a_duration_must_be_positive_and_the_refusal_names_it(name: str) -> None:
    message = rf"RepairPolicy\.{name} must be a positive duration"
    _refused(message, **{name: timedelta(0)})
    _refused(message, **{name: timedelta(seconds=-1)})
    _refused(message, **{name: 3600})
    assert getattr(_policy(**{name: timedelta(microseconds=1)}), name) == (
        timedelta(microseconds=1)
    )


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.25, 1.5])
def test_r15_the_progress_check_fraction_lies_strictly_between_0_and_1(fraction: float) -> None:
    _refused(r"RepairPolicy\.progress_check_fraction must be in \(0, 1\)",
             progress_check_fraction=fraction)


def test_r15_a_progress_check_fraction_just_inside_its_range_is_accepted() -> None:
    assert RepairPolicy(progress_check_fraction=0.01).progress_check_fraction == 0.01
    assert RepairPolicy(progress_check_fraction=0.99).progress_check_fraction == 0.99


@pytest.mark.parametrize("share", [Decimal("-0.01"), Decimal("1.01"), Decimal("1.5"), 0.5])
def test_r23_the_deposit_share_is_a_decimal_from_0_to_1(share: object) -> None:
    _refused(r"RepairPolicy\.deposit_share must be a Decimal in \[0, 1\]", deposit_share=share)


@pytest.mark.parametrize("share", [Decimal(0), Decimal(1)])
def test_r23_a_deposit_share_of_nothing_or_everything_is_accepted(share: Decimal) -> None:
    assert RepairPolicy(deposit_share=share).deposit_share == share


@pytest.mark.parametrize("threshold", [Decimal("-0.01"), 1000, 1000.0])
def test_r23_the_expensive_part_threshold_is_a_decimal_of_at_least_0(threshold: object) -> None:
    _refused(r"RepairPolicy\.expensive_part_from must be a Decimal >= 0",
             expensive_part_from=threshold)


@pytest.mark.parametrize("threshold", [Decimal(0), Decimal("0.5")])
def test_r23_an_expensive_part_threshold_of_0_or_a_fraction_is_accepted(
    threshold: Decimal,
) -> None:
    assert RepairPolicy(expensive_part_from=threshold).expensive_part_from == threshold


@pytest.mark.parametrize("name", ["rerepair_window_days", "replaced_part_warranty_months"])
def test_r21_a_window_or_part_warranty_may_be_0_but_not_negative(name: str) -> None:
    assert getattr(_policy(**{name: 0}), name) == 0
    _refused(rf"RepairPolicy\.{name} must not be negative", **{name: -1})


@pytest.mark.parametrize("name", ["repeat_failure_threshold", "max_vendor_attempts"])
def test_r14_r21_a_count_must_be_at_least_1(name: str) -> None:
    assert getattr(_policy(**{name: 1}), name) == 1
    _refused(rf"RepairPolicy\.{name} must be at least 1", **{name: 0})


def test_r22_a_diagnosis_fee_may_be_0_but_not_negative_nor_another_currency() -> None:
    message = r"RepairPolicy\.diagnosis_fee must be Money >= 0 in currency"
    assert RepairPolicy(diagnosis_fee=cny("0")).diagnosis_fee == cny("0")
    assert RepairPolicy(diagnosis_fee=cny("0.01")).diagnosis_fee == cny("0.01")
    _refused(message, diagnosis_fee=cny("-0.01"))
    _refused(message, diagnosis_fee=Money(Decimal(50), "EUR"))
    _refused(message, diagnosis_fee=Decimal(50))


def test_r13_the_qc_checklist_needs_an_item_and_the_refusal_names_it() -> None:
    _refused(r"RepairPolicy\.qc_checklist needs at least one item", qc_checklist=())


def test_r25_a_currency_that_is_not_iso_4217_is_refused_naming_the_parameter() -> None:
    _refused(r"RepairPolicy\.currency: ", currency="XYZ")


def test_r21_the_free_kinds_zone_catalogue_and_billing_flag_are_type_checked() -> None:
    _refused(r"RepairPolicy\.rerepair_free_kinds must be FaultKind values",
             rerepair_free_kinds=frozenset({"software"}))
    _refused(r"RepairPolicy\.zone must be a tzinfo", zone="Asia/Shanghai")
    _refused(r"RepairPolicy\.fault_codes must be a FaultCatalogue", fault_codes={"HW-X": "x"})
    _refused(r"RepairPolicy\.bill_additional_work_when_free is a bool",
             bill_additional_work_when_free=1)


# --- R21: the fault-code catalogue ---------------------------------------------------------------


def test_r21_a_fault_code_may_have_40_characters_but_not_41() -> None:
    longest = "C" * 40
    assert FaultCatalogue({longest: "label"}).check("", longest) == longest
    with pytest.raises(ConfigurationError, match="must be 1-40 characters"):
        FaultCatalogue({"C" * 41: "label"})
    with pytest.raises(ConfigurationError, match="must be 1-40 characters"):
        FaultCatalogue({"  ": "label"})


def test_r21_a_fault_code_label_must_be_text() -> None:
    with pytest.raises(ConfigurationError, match="HW-X: the label must be text"):
        FaultCatalogue({"HW-X": 7})  # type: ignore[dict-item]


def test_r21_an_unknown_code_is_refused_on_the_order_listing_a_short_catalogue_whole() -> None:
    catalogue = FaultCatalogue({f"C{n}": "label" for n in range(1, 9)})
    with pytest.raises(ValidationError) as refused:
        catalogue.check("", "C9")
    assert (refused.value.entity, refused.value.field) == ("RepairOrder", "fault_code")
    assert refused.value.problem == (
        "'C9' is not a fault code of product line '(any)' (C1, C2, C3, C4, C5, C6, C7, C8)"
    )


def test_r21_an_unknown_code_lists_the_first_eight_codes_of_a_longer_catalogue() -> None:
    catalogue = FaultCatalogue(
        by_product_line={"laptops": {f"C{n}": "label" for n in range(1, 10)}}
    )
    with pytest.raises(ValidationError) as refused:
        catalogue.check("laptops", "HW-BOARD")
    assert refused.value.problem == (
        "'HW-BOARD' is not a fault code of product line 'laptops' "
        "(C1, C2, C3, C4, C5, C6, C7, C8 ...)"
    )


# --- R21: the free re-repair, R23: the deposit ---------------------------------------------------


def test_r21_a_repeat_is_not_taken_for_the_same_fault_unless_the_caller_says_so() -> None:
    generous = RepairPolicy(rerepair_same_fault_free=True)
    back = T0 + timedelta(days=3)
    assert not is_free_rerepair(generous, T0, back, FaultKind.HARDWARE)
    assert is_free_rerepair(generous, T0, back, FaultKind.HARDWARE, same_fault=True)


def test_r23_a_part_priced_exactly_at_the_threshold_needs_its_deposit() -> None:
    policy = RepairPolicy()
    assert required_deposit(policy, [_part_to_order("1000")]) == cny("500")
    assert required_deposit(policy, [_part_to_order("999.99")]) == cny("0")


def test_r23_the_deposit_for_an_odd_price_is_rounded_up_to_the_fen() -> None:
    policy = RepairPolicy()
    assert required_deposit(policy, [_part_to_order("1000.01")]) == cny("500.01")
    assert required_deposit(policy, [_part_to_order("1000.01"), _part_to_order("2000")]) == (
        cny("1500.01")
    )


def test_r21_the_catalogue_of_a_product_line_replaces_the_default_for_that_line_only() -> None:
    catalogue = FaultCatalogue(by_product_line={"printers": {"PR-FUSER": "fuser"}})
    assert catalogue.check("printers", "PR-FUSER") == "PR-FUSER"
    assert catalogue.check("laptops", "HW-BOARD") == "HW-BOARD"
    with pytest.raises(ValidationError):
        catalogue.check("printers", "HW-BOARD")


# --- R14: the vendor loop's default bound --------------------------------------------------------


def test_r14_by_default_three_vendors_may_be_tried_and_a_fourth_is_refused() -> None:
    policy = RepairPolicy()
    unit = Equipment(UUID(int=100), serial="SN", model="X1", installed_on=date(2025, 9, 1))
    order = depot.open_repair_order(
        order_id=UUID(int=200), number="RO-1", request_id=UUID(int=201), equipment_id=unit.id,
        customer_id=UUID(int=202),
        intake=Intake(appearance="ok", configuration="i7", accessories=(),
                      data_handling=DataHandling.WIPE_ALLOWED),
        promised_at=T0 + timedelta(days=10), actor=CLERK, at=T0, policy=policy,
    )
    depot.sign_intake(order, signed_by="Ms Qian", actor=CLERK, at=T0)
    depot.diagnose(
        order, fault="display dead", cause="panel controller", fault_class=FaultClass.QUALITY,
        fault_kind=FaultKind.HARDWARE, equipment=unit, warranty_policy=WarrantyPolicy(),
        actor=ENGINEER, at=T0 + H, policy=policy, fault_code="HW-DISPLAY",
    )
    repair = depot.send_to_vendor(order, outsourced_id=UUID(int=300), reason="needs the maker",
                                  actor=CLERK, at=T0 + 2 * H, policy=policy)
    at = T0 + 3 * H
    for n in range(3):
        station = Vendor(UUID(int=400 + n), f"station {n}", contact="0755-1234",
                         capabilities=("laptop",))
        outsourced.choose_vendor(repair, vendor=station, actor=CLERK, at=at)
        outsourced.ship_to_vendor(repair, carrier="SF Express", tracking_number=f"SF{n}",
                                  voucher=f"voucher {n}", promised_by=at + 48 * H, actor=CLERK,
                                  at=at, policy=policy)
        outsourced.record_vendor_failure(repair, reason="could not fix", actor=CLERK,
                                         at=at + H)
        outsourced.failed_unit_returned(repair, actor=CLERK, at=at + 2 * H, note="back")
        at += 3 * H
    fourth = Vendor(UUID(int=499), "station 3", contact="0755-1234", capabilities=("laptop",))
    with pytest.raises(GuardFailed, match="maximum number of vendors"):
        outsourced.choose_vendor(repair, vendor=fourth, actor=CLERK, at=at)
