"""Depot repair (R13) and its rules (R15, R16, R20-R22, R25) on the domain and the steps.

Scenario tests follow the §9 hard cases that touch repairs. Bad input leaves the order exactly
as it was (compared with ``attrs.asdict`` before and after). No mocks, no wall clock.
"""

# States change between asserts, so mypy's literal narrowing is switched off here.
# mypy: disable-error-code="comparison-overlap"
from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs
import pytest

from aftersales.domain import Actor, Equipment, Exclusion, Money, Role, WarrantyBasis
from aftersales.domain import repair_events as rev
from aftersales.domain.kernel import EVENT_TYPES, event_id_for
from aftersales.domain.parts import (
    PartOrigin,
    PartSource,
    Stock,
    StockLocation,
)
from aftersales.domain.repair import (
    DEFAULT_QC_CHECKLIST,
    DataHandling,
    DepotState,
    EstimateBasis,
    EstimateLine,
    EstimateStatus,
    FaultClass,
    FaultKind,
    Intake,
    LineKind,
    OldPartDisposition,
    ReopenKind,
    RepairHistoryItem,
    RepairOrder,
    RepairPolicy,
    book_appointment,
    count_repeat_failures,
    is_free_rerepair,
    pickup_notice_at,
    pickup_notice_lead,
    progress_check_at,
    required_deposit,
    should_offer_replacement,
)
from aftersales.domain.warranty import WarrantyPolicy
from aftersales.errors import (
    AftersalesError,
    ConfigurationError,
    GuardFailed,
    InvalidTransition,
    ValidationError,
)
from aftersales.workflows import depot

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = RepairPolicy()
WARRANTY = WarrantyPolicy()
CLERK = Actor(UUID(int=1), "Li Clerk", {Role.CLERK})
ENGINEER = Actor(UUID(int=2), "Wang Engineer", {Role.ENGINEER})
BOSS = Actor(UUID(int=3), "Zhang Supervisor", {Role.SUPERVISOR})
UNIT = UUID(int=100)
_ids = itertools.count(10_000)


def uid() -> UUID:
    return UUID(int=next(_ids))


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


def unit(**kw: Any) -> Equipment:
    """In warranty on T0 by default (installed six months earlier)."""
    values: dict[str, Any] = {"installed_on": date(2025, 9, 1)}
    values.update(kw)
    return Equipment(UNIT, serial="SN-1", model="ThinkBook 14", **values)


OLD_UNIT = {"installed_on": date(2023, 1, 10)}


def intake(handling: DataHandling = DataHandling.WIPE_ALLOWED) -> Intake:
    return Intake(
        appearance="scratch on the lid", configuration="i5, 16 GB, 512 GB SSD",
        accessories=("charger", "bag"), data_handling=handling,
        damage_notes="corner dent before intake",
    )


def new_order(handling: DataHandling = DataHandling.WIPE_ALLOWED, *, signed: bool = True,
              promised: timedelta = timedelta(days=3), order_id: UUID | None = None,
              policy: RepairPolicy = POLICY, received: datetime = T0) -> RepairOrder:
    order = depot.open_repair_order(
        order_id=order_id or uid(), number=f"RO-{next(_ids)}", request_id=uid(),
        equipment_id=UNIT, customer_id=UUID(int=200), intake=intake(handling),
        promised_at=received + promised, actor=CLERK, at=received, policy=policy,
    )
    if signed:
        depot.sign_intake(order, signed_by="Mr Zhao", actor=CLERK,
                          at=received + timedelta(minutes=5))
    return order


def diagnose(order: RepairOrder, equipment: Equipment | None = None, *,
             fault_class: FaultClass = FaultClass.QUALITY,
             kind: FaultKind = FaultKind.HARDWARE, findings: tuple[Exclusion, ...] = (),
             history: tuple[RepairHistoryItem, ...] = (), code: str = "HW-POWER",
             at: datetime = T0 + timedelta(hours=1), policy: RepairPolicy = POLICY) -> None:
    depot.diagnose(
        order, fault="no power", cause="failed voltage regulator", fault_class=fault_class,
        fault_kind=kind, equipment=equipment or unit(), warranty_policy=WARRANTY, actor=ENGINEER,
        at=at, policy=policy, findings=findings, fault_code=code, history=history,
    )


def labour(amount: str = "150") -> EstimateLine:
    return EstimateLine(EstimateBasis.SYMPTOM, "no power", "replace regulator", LineKind.LABOUR,
                        cny(amount))


def part_line(amount: str = "300", *, source: PartSource = PartSource.OURS,
              origin: PartOrigin = PartOrigin.OEM, insisted: bool = False) -> EstimateLine:
    return EstimateLine(EstimateBasis.ITEM, "mainboard", "voltage regulator", LineKind.PART,
                        cny(amount), sku="VR-1", source=source, origin=origin,
                        customer_insisted=insisted)


def call_out(amount: str = "50") -> EstimateLine:
    return EstimateLine(EstimateBasis.SYSTEM, "power", "call-out", LineKind.CALL_OUT, cny(amount))


H = timedelta(hours=1)


def approved(lines: tuple[EstimateLine, ...] = (), **kw: Any) -> RepairOrder:
    """A chargeable (out-of-warranty) order whose estimate the customer approved."""
    order = new_order(**kw)
    diagnose(order, unit(**OLD_UNIT))
    depot.send_estimate(order, estimate_id=uid(), lines=lines or (labour(), part_line()),
                        actor=ENGINEER, at=T0 + 2 * H)
    depot.approve_estimate(order, approved_by="Mr Zhao", actor=CLERK, at=T0 + 3 * H)
    return order


def all_pass(order: RepairOrder) -> dict[str, bool]:
    return dict.fromkeys(order.qc_checklist, True)


def repaired(order: RepairOrder, at: datetime = T0 + 5 * H) -> None:
    """Start (if needed), finish and pass QC."""
    if order.state != DepotState.REPAIRING:
        depot.start_repair(order, actor=ENGINEER, at=at)
    depot.finish_repair(order, summary="replaced the regulator", actor=ENGINEER, at=at + H)
    depot.record_qc(order, results=all_pass(order), actor=ENGINEER, at=at + 2 * H)


def ready(order: RepairOrder, at: datetime = T0 + 9 * H) -> None:
    depot.mark_ready(order, pickup_at=at + 2 * H, actor=CLERK, at=at, policy=POLICY)


def delivered(order: RepairOrder, at: datetime = T0 + 12 * H) -> None:
    depot.settle(order, amount=order.amount_due(), actor=CLERK, at=at)
    depot.deliver(order, signed_by="Mr Zhao", actor=CLERK, at=at + H, policy=POLICY)


def snapshot(order: Any) -> dict[str, Any]:
    return attrs.asdict(order, recurse=True)


def refused(order: Any, error: type[AftersalesError], step: Callable[[], object]) -> str:
    """Run ``step``, expect ``error`` and that nothing changed; return the message."""
    before = snapshot(order)
    with pytest.raises(error) as info:
        step()
    assert snapshot(order) == before
    return str(info.value)


# --- R13: the depot flow -------------------------------------------------------------------


def test_r13_a_free_in_warranty_repair_runs_from_intake_to_closed() -> None:
    order = new_order()
    assert order.state == DepotState.DIAGNOSING
    assert order.intake_signature is not None and order.intake_signature.signed_by == "Mr Zhao"
    diagnose(order)
    assert order.warranty is not None and order.warranty.in_warranty
    assert not order.chargeable and order.repair_authorized
    repaired(order)
    ready(order)
    delivered(order)
    assert order.settlement is not None and order.settlement.total == cny("0")
    depot.close(order, actor=CLERK, at=T0 + 14 * H)
    assert order.state == DepotState.CLOSED
    assert depot.verify_repair_record(order) == []
    assert [e.sequence for e in order.pending_events] == list(
        range(1, len(order.pending_events) + 1)
    )
    names = [e.name for e in order.pending_events]
    assert names[:4] == ["RepairOrderOpened", "IntakeSigned", "Diagnosed", "WarrantyDetermined"]
    assert names[-3:] == ["Settled", "Delivered", "RepairOrderClosed"]
    assert all(isinstance(e, rev.RepairEvent) and e.aggregate_id == order.id
               for e in order.pending_events)


def test_r13_intake_records_inspection_accessories_damage_and_data_handling() -> None:
    order = new_order(signed=False)
    assert order.state == DepotState.INTAKE
    assert order.intake.accessories == ("charger", "bag")
    assert order.intake.damage_notes == "corner dent before intake"
    assert order.record[0].action == "open" and order.record[0].from_state is None
    with pytest.raises(ValidationError):
        Intake(appearance="ok", configuration="ok", accessories="charger",
               data_handling=DataHandling.WIPE_ALLOWED)
    with pytest.raises(ValidationError):
        Intake(appearance="", configuration="ok", accessories=(),
               data_handling=DataHandling.WIPE_ALLOWED)


def test_r13_diagnosis_needs_the_signed_intake_form() -> None:
    order = new_order(signed=False)
    refused(order, InvalidTransition, lambda: diagnose(order))


def test_r13_chargeable_repair_cannot_start_without_the_customers_approval() -> None:
    order = new_order()
    diagnose(order, unit(**OLD_UNIT))
    assert order.chargeable
    message = refused(order, GuardFailed,
                      lambda: depot.start_repair(order, actor=ENGINEER, at=T0 + 2 * H))
    assert "approved the estimate" in message
    depot.send_estimate(order, estimate_id=uid(), lines=(labour(),), actor=ENGINEER,
                        at=T0 + 2 * H)
    refused(order, InvalidTransition,
            lambda: depot.start_repair(order, actor=ENGINEER, at=T0 + 3 * H))
    depot.approve_estimate(order, approved_by="Mr Zhao", actor=CLERK, at=T0 + 3 * H)
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    assert order.state == DepotState.REPAIRING


def test_r13_a_free_repair_needs_no_estimate() -> None:
    order = new_order()
    diagnose(order)
    message = refused(order, GuardFailed, lambda: depot.send_estimate(
        order, estimate_id=uid(), lines=(labour(),), actor=ENGINEER, at=T0 + 2 * H))
    assert "free" in message


def test_r13_delivery_needs_a_qc_passed_after_the_last_repair() -> None:
    order = approved()
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    depot.finish_repair(order, summary="done", actor=ENGINEER, at=T0 + 5 * H)
    refused(order, GuardFailed, lambda: ready(order))  # no QC yet
    failing = all_pass(order) | {DEFAULT_QC_CHECKLIST[3]: False}
    check = depot.record_qc(order, results=failing, actor=ENGINEER, at=T0 + 6 * H)
    assert not check.passed and check.failed_items == (DEFAULT_QC_CHECKLIST[3],)
    refused(order, GuardFailed, lambda: ready(order))
    depot.rework(order, reason="display flickers", actor=ENGINEER, at=T0 + 6 * H)
    depot.finish_repair(order, summary="reseated the cable", actor=ENGINEER, at=T0 + 7 * H)
    assert not order.qc_passed_after_last_repair
    depot.record_qc(order, results=all_pass(order), actor=ENGINEER, at=T0 + 8 * H)
    assert order.qc_passed_after_last_repair
    assert order.last_qc_pass > order.last_repair_step
    assert order.last_qc_passed_at == T0 + 8 * H and order.last_repair_at == T0 + 7 * H
    ready(order)
    delivered(order)
    assert order.state == DepotState.DELIVERED


def test_r13_qc_checklist_is_configurable_and_every_item_must_be_answered() -> None:
    policy = RepairPolicy(qc_checklist=("powers on", "no rattles"))
    order = new_order(policy=policy)
    assert order.qc_checklist == ("powers on", "no rattles")
    diagnose(order)
    depot.start_repair(order, actor=ENGINEER, at=T0 + 2 * H)
    depot.finish_repair(order, summary="done", actor=ENGINEER, at=T0 + 3 * H)
    refused(order, ValidationError, lambda: depot.record_qc(
        order, results={"powers on": True}, actor=ENGINEER, at=T0 + 4 * H))
    refused(order, ValidationError, lambda: depot.record_qc(
        order, results={"powers on": True, "no rattles": True, "smells nice": True},
        actor=ENGINEER, at=T0 + 4 * H))
    check = depot.record_qc(order, results={"powers on": True, "no rattles": True},
                            actor=ENGINEER, at=T0 + 4 * H)
    assert check.passed
    assert len(DEFAULT_QC_CHECKLIST) >= 12
    with pytest.raises(ConfigurationError):
        RepairPolicy(qc_checklist=())


def test_r13_additional_work_needs_new_consent_and_moves_the_promised_date() -> None:
    order = approved()
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    old_promise, old_check = order.promised_at, order.progress_check_due
    later = old_promise + timedelta(days=2)
    refused(order, ValidationError, lambda: depot.propose_additional_work(
        order, estimate_id=uid(), lines=(labour("80"),), reason="fan worn",
        new_promised_at=old_promise, actor=ENGINEER, at=T0 + 5 * H))
    extra = depot.propose_additional_work(
        order, estimate_id=uid(), lines=(labour("80"),), reason="fan worn",
        new_promised_at=later, actor=ENGINEER, at=T0 + 5 * H)
    assert order.state == DepotState.ADDITIONAL_WORK_PENDING
    refused(order, InvalidTransition,
            lambda: depot.finish_repair(order, summary="x", actor=ENGINEER, at=T0 + 6 * H))
    depot.approve_additional_work(order, approved_by="Mr Zhao", actor=CLERK, at=T0 + 6 * H,
                                  policy=POLICY)
    assert order.state == DepotState.REPAIRING
    assert order.promised_at == later and order.progress_check_due > old_check
    assert order.promise_changes[-1].previous == old_promise
    assert [e.id for e in order.approved_estimates][-1] == extra.id
    assert order.gross_due() == cny("530")  # 150 + 300 + 80


def test_r13_declined_additional_work_keeps_the_promise_and_is_not_billed() -> None:
    order = approved()
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    promise = order.promised_at
    depot.propose_additional_work(
        order, estimate_id=uid(), lines=(labour("80"),), reason="fan worn",
        new_promised_at=promise + timedelta(days=1), actor=ENGINEER, at=T0 + 5 * H)
    depot.decline_additional_work(order, declined_by="Mr Zhao", actor=CLERK, at=T0 + 6 * H)
    assert order.promised_at == promise
    assert order.estimates[-1].status is EstimateStatus.DECLINED
    assert order.gross_due() == cny("450")


def test_r13_declined_estimate_returns_the_unit_with_the_policy_diagnosis_fee() -> None:
    policy = RepairPolicy(diagnosis_fee=cny("60"))
    order = new_order()
    diagnose(order, unit(**OLD_UNIT))
    depot.send_estimate(order, estimate_id=uid(), lines=(labour(),), actor=ENGINEER,
                        at=T0 + 2 * H)
    depot.decline_estimate(order, declined_by="Mr Zhao", reason="too dear", actor=CLERK,
                           at=T0 + 3 * H, policy=policy)
    assert order.state == DepotState.DECLINED and order.amount_due() == cny("60")
    refused(order, GuardFailed, lambda: depot.return_unrepaired(
        order, signed_by="Mr Zhao", actor=CLERK, at=T0 + 4 * H))
    settlement = depot.settle(order, amount=cny("60"), actor=CLERK, at=T0 + 4 * H)
    assert settlement.diagnosis_fee == cny("60") and settlement.labour == cny("0")
    depot.return_unrepaired(order, signed_by="Mr Zhao", actor=CLERK, at=T0 + 5 * H)
    depot.close(order, actor=CLERK, at=T0 + 6 * H)
    assert order.state == DepotState.CLOSED
    assert depot.verify_repair_record(order) == []


def test_r13_declined_estimate_without_a_policy_fee_is_free() -> None:
    order = new_order()
    diagnose(order, unit(**OLD_UNIT))
    depot.send_estimate(order, estimate_id=uid(), lines=(labour(),), actor=ENGINEER,
                        at=T0 + 2 * H)
    depot.decline_estimate(order, declined_by="Mr Zhao", reason="no", actor=CLERK,
                           at=T0 + 3 * H, policy=POLICY)
    assert order.amount_due() == cny("0")


def test_r13_the_record_replays_and_detects_tampering() -> None:
    order = approved()
    repaired(order)
    assert depot.verify_repair_record(order) == []
    order.record[3] = attrs.evolve(order.record[3], to_state="closed")
    assert depot.verify_repair_record(order) != []


@pytest.mark.parametrize("edit", [
    {"note": "approved by somebody else"},
    {"actor_id": UUID(int=666)},
    {"at": T0 - 24 * H},
], ids=["note", "who", "when"])
def test_r9_the_depot_record_detects_an_edit_that_keeps_the_states(edit: dict[str, Any]) -> None:
    order = approved()
    repaired(order)
    index = next(i for i, e in enumerate(order.record) if e.action == "approve_estimate")
    order.record[index] = attrs.evolve(order.record[index], **edit)
    problems = depot.verify_repair_record(order)
    assert problems == [
        f"entry {index + 1} (approve_estimate) does not match its digest: edited, inserted or "
        "out of place"
    ]


def test_r9_the_depot_record_detects_a_deleted_entry() -> None:
    order = approved()
    repaired(order)
    del order.record[2]
    assert depot.verify_repair_record(order) != []


def test_r13_the_engineer_of_the_order_is_named_at_intake_or_assigned_later() -> None:
    order = depot.open_repair_order(
        order_id=uid(), number="RO-E", request_id=uid(), equipment_id=UNIT,
        customer_id=UUID(int=200), intake=intake(), promised_at=T0 + 72 * H, actor=CLERK, at=T0,
        policy=POLICY, engineer_id=ENGINEER.id,
    )
    assert order.engineer_id == ENGINEER.id
    other = uid()
    refused(order, ValidationError, lambda: depot.assign_engineer(
        order, engineer_id="Wang", actor=CLERK, at=T0 + H))  # type: ignore[arg-type]
    depot.assign_engineer(order, engineer_id=other, actor=CLERK, at=T0 + H)
    assert order.engineer_id == other and order.state == DepotState.INTAKE
    event = order.pending_events[-1]
    assert isinstance(event, rev.RepairEngineerAssigned) and event.engineer_id == other
    assert order.record[-1].action == "assign_engineer"
    assert depot.verify_repair_record(order) == []


# --- R15 / R16 -------------------------------------------------------------------------------


def test_r15_progress_check_at_three_quarters_of_the_promised_duration() -> None:
    assert progress_check_at(POLICY, T0, T0 + timedelta(days=4)) == T0 + timedelta(days=3)
    policy = RepairPolicy(progress_check_fraction=0.8)
    assert progress_check_at(policy, T0, T0 + timedelta(hours=10)) == T0 + timedelta(hours=8)
    order = new_order(promised=timedelta(days=4))
    assert order.progress_check_due == T0 + timedelta(days=3)
    with pytest.raises(ConfigurationError):
        RepairPolicy(progress_check_fraction=1.2)


def test_r15_progress_check_is_recorded() -> None:
    order = new_order()
    depot.record_progress_check(order, note="on track", actor=CLERK, at=T0 + 2 * H)
    assert order.progress_checked_at == T0 + 2 * H
    assert order.record[-1].action == "record_progress_check"


def test_r15_a_delay_is_notified_with_reason_and_apology_and_late_notice_is_flagged() -> None:
    order = new_order(promised=timedelta(days=3))
    diagnose(order)
    promise = order.promised_at
    change = depot.notify_delay(order, new_promised_at=promise + timedelta(days=1),
                                reason="part back-ordered", apology="we are sorry",
                                actor=CLERK, at=T0 + timedelta(days=1), policy=POLICY)
    assert not change.late_notice and order.promised_at == promise + timedelta(days=1)
    # a notice 2 hours before the promise after a 4-day job is late (R16 lead 4 h)
    late = depot.notify_delay(order, new_promised_at=order.promised_at + timedelta(days=1),
                              reason="still waiting", apology="sorry again", actor=CLERK,
                              at=order.promised_at - 2 * H, policy=POLICY)
    assert late.late_notice
    refused(order, ValidationError, lambda: depot.notify_delay(
        order, new_promised_at=order.promised_at, reason="x", apology="y", actor=CLERK,
        at=T0 + 3 * H, policy=POLICY))
    refused(order, ValidationError, lambda: depot.notify_delay(
        order, new_promised_at=order.promised_at + H, reason="x", apology="", actor=CLERK,
        at=T0 + 3 * H, policy=POLICY))


def test_r16_under_two_days_gets_one_hour_notice() -> None:
    assert pickup_notice_lead(POLICY, timedelta(days=2) - timedelta(seconds=1)) == H
    assert pickup_notice_at(POLICY, T0, T0 + 5 * H, T0 + 8 * H) == T0 + 7 * H


def test_r16_exactly_two_days_gets_four_hours_notice() -> None:
    assert pickup_notice_lead(POLICY, timedelta(days=2)) == 4 * H
    assert pickup_notice_lead(POLICY, timedelta(days=5)) == 4 * H


def test_r16_thresholds_are_policy_parameters() -> None:
    policy = RepairPolicy(long_job_threshold=timedelta(days=1), short_job_notice=2 * H,
                          long_job_notice=8 * H)
    assert pickup_notice_lead(policy, timedelta(hours=23)) == 2 * H
    assert pickup_notice_lead(policy, timedelta(days=1)) == 8 * H


@pytest.mark.parametrize(("took", "lead"), [
    (timedelta(days=2) - timedelta(seconds=1), H),
    (timedelta(days=2), 4 * H),
], ids=["a second under 2 days", "exactly 2 days"])
def test_r16_mark_ready_measures_the_job_from_intake_to_ready(
    took: timedelta, lead: timedelta,
) -> None:
    order = new_order(promised=timedelta(days=5))
    diagnose(order)
    repaired(order, at=T0 + 24 * H)
    notice = depot.mark_ready(order, pickup_at=T0 + took + 6 * H, actor=CLERK, at=T0 + took,
                              policy=POLICY)
    assert notice.lead == lead and notice.notice_at == T0 + took + 6 * H - lead
    event = order.pending_events[-1]
    assert isinstance(event, rev.ReadyForPickup) and event.lead == lead


def test_r16_mark_ready_computes_the_notice_and_refuses_a_pickup_too_soon() -> None:
    order = new_order(promised=timedelta(days=5))
    diagnose(order)
    repaired(order, at=T0 + timedelta(days=2))
    ready_at = T0 + timedelta(days=2, hours=3)
    refused(order, ValidationError, lambda: depot.mark_ready(
        order, pickup_at=ready_at + 3 * H, actor=CLERK, at=ready_at, policy=POLICY))
    notice = depot.mark_ready(order, pickup_at=ready_at + 5 * H, actor=CLERK, at=ready_at,
                              policy=POLICY)
    assert notice.lead == 4 * H and notice.notice_at == ready_at + H
    assert order.pickup == notice


# --- R20: warranty determined at diagnosis -----------------------------------------------------


def test_r20_the_warranty_determination_is_recorded_with_its_basis() -> None:
    order = new_order()
    diagnose(order)
    assert order.warranty is not None
    assert order.warranty.basis is WarrantyBasis.INSTALLATION
    assert order.warranty.checked_on == T0.date()
    assert order.free_reason is not None and order.free_reason.startswith("R20")
    event = next(e for e in order.pending_events if isinstance(e, rev.WarrantyDetermined))
    assert event.in_warranty and event.basis is WarrantyBasis.INSTALLATION


def test_r20_no_invoice_falls_back_to_the_production_date_and_says_so() -> None:
    order = new_order()
    diagnose(order, Equipment(UNIT, serial="SN-1", model="X", produced_on=date(2025, 6, 1)))
    assert order.warranty is not None
    assert order.warranty.basis is WarrantyBasis.PRODUCTION_FALLBACK
    assert order.warranty.in_warranty  # 2025-06-01 + 3 months grace + 12 months
    assert "production_fallback" in order.warranty.explain()


def test_r20_customer_caused_damage_is_chargeable_even_in_warranty() -> None:
    order = new_order()
    diagnose(order, fault_class=FaultClass.CUSTOMER_CAUSED)
    assert order.diagnosis is not None
    assert Exclusion.HUMAN_DAMAGE in order.diagnosis.findings
    assert order.warranty is not None and order.warranty.exclusion is Exclusion.HUMAN_DAMAGE
    assert order.chargeable


@pytest.mark.parametrize(("received", "covered"), [
    (datetime(2026, 3, 2, 15, 59, 59, tzinfo=UTC), True),  # 23:59:59 on 2 March at UTC+8
    (datetime(2026, 3, 2, 16, 0, tzinfo=UTC), False),  # midnight: 3 March at UTC+8
    (datetime(2026, 3, 2, 23, 59, 59, tzinfo=POLICY.zone), True),
    (datetime(2026, 3, 3, 0, 0, tzinfo=POLICY.zone), False),
], ids=["last second of the last day (UTC)", "first second after (UTC)",
        "last second of the last day (local)", "first second after (local)"])
def test_r20_the_last_day_of_coverage_is_the_receiving_day_on_the_policys_calendar(
    received: datetime, covered: bool,
) -> None:
    order = new_order(received=received)
    # installed on 3 March 2025: twelve months cover up to and including 2 March 2026
    diagnose(order, unit(installed_on=date(2025, 3, 3)), at=received + H)
    assert order.warranty is not None
    assert order.warranty.in_warranty is covered and order.chargeable is not covered
    assert order.warranty.checked_on == (date(2026, 3, 2) if covered else date(2026, 3, 3))
    assert order.warranty.ends_on == date(2026, 3, 3)


def test_r20_the_diagnosis_must_be_of_this_orders_unit() -> None:
    order = new_order()
    other = Equipment(UUID(int=999), serial="SN-9", model="X")
    refused(order, ValidationError, lambda: diagnose(order, other))
    refused(order, ValidationError, lambda: depot.diagnose(
        order, fault="x", cause="y", fault_class=FaultClass.QUALITY,
        fault_kind=FaultKind.HARDWARE, equipment=unit(), warranty_policy=WARRANTY,
        actor=ENGINEER, at=T0 + H, policy=POLICY, fault_code="HW-POWER",
        findings=("dropped",),  # type: ignore[arg-type]
    ))


# --- R21 ---------------------------------------------------------------------------------------


def _history(n: int, code: str = "HW-POWER", *, in_warranty: bool = True,
             fault_class: FaultClass = FaultClass.QUALITY) -> tuple[RepairHistoryItem, ...]:
    return tuple(
        RepairHistoryItem(uid(), UNIT, code, fault_class, in_warranty,
                          T0 - timedelta(days=60 * (i + 1)))
        for i in range(n)
    )


def test_r21_same_quality_fault_after_two_in_warranty_repairs_proposes_replacement() -> None:
    assert should_offer_replacement(_history(2), "HW-POWER")
    assert not should_offer_replacement(_history(1), "HW-POWER")
    assert not should_offer_replacement(_history(2, "OTHER"), "HW-POWER")
    assert not should_offer_replacement(_history(2, in_warranty=False), "HW-POWER")
    assert not should_offer_replacement(
        _history(2, fault_class=FaultClass.CUSTOMER_CAUSED), "HW-POWER")
    assert should_offer_replacement(_history(1), "HW-POWER",
                                    RepairPolicy(repeat_failure_threshold=1))
    assert count_repeat_failures(_history(3), "HW-POWER") == 3
    order = new_order()
    diagnose(order, history=_history(2))
    assert order.replacement_justified
    assert order.replacement_grounds is not None and "2 in-warranty repairs" in (
        order.replacement_grounds
    )


def _local(day: int, hour: int, minute: int) -> datetime:
    """A time of March 2026 on the policy's calendar (its zone, UTC+8 by default)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=POLICY.zone)


@pytest.mark.parametrize(("picked", "back", "free"), [
    (_local(1, 8, 0), _local(1, 18, 0), True),  # day 0
    (_local(1, 0, 5), _local(16, 23, 55), True),  # day 15, almost 16 x 24 h later
    (_local(1, 23, 30), _local(17, 0, 5), False),  # day 16, barely 15 x 24 h later
], ids=["day 0", "last minute of day 15", "first minute of day 16"])
def test_r21_rerepair_within_15_days_inclusive_is_free(
    picked: datetime, back: datetime, free: bool,
) -> None:
    assert is_free_rerepair(POLICY, picked, back, FaultKind.SOFTWARE) is free
    assert not is_free_rerepair(POLICY, picked, back, FaultKind.HARDWARE)
    assert is_free_rerepair(RepairPolicy(rerepair_window_days=16), picked, back,
                            FaultKind.SOFTWARE)


def test_r21_a_repeat_of_the_same_fault_is_free_only_if_the_policy_says_so() -> None:
    picked, back = T0, T0 + timedelta(days=3)
    assert not is_free_rerepair(POLICY, picked, back, FaultKind.HARDWARE, same_fault=True)
    generous = RepairPolicy(rerepair_same_fault_free=True)
    assert is_free_rerepair(generous, picked, back, FaultKind.HARDWARE, same_fault=True)


def test_r21_the_free_rerepair_applies_at_diagnosis_of_an_out_of_warranty_unit() -> None:
    earlier = RepairHistoryItem(uid(), UNIT, "SW-OS", FaultClass.OTHER, False,
                                T0 - timedelta(days=15))
    order = new_order()
    diagnose(order, unit(**OLD_UNIT), kind=FaultKind.SOFTWARE, code="SW-DRIVER",
             history=(earlier,))
    assert order.free_reason is not None and order.free_reason.startswith("R21")
    assert not order.chargeable
    late = attrs.evolve(earlier, order_id=uid(), picked_up_at=T0 - timedelta(days=16))
    other = new_order()
    diagnose(other, unit(**OLD_UNIT), kind=FaultKind.SOFTWARE, code="SW-DRIVER",
             history=(late,))
    assert other.chargeable


def test_r21_replaced_parts_carry_their_own_warranty() -> None:
    order = new_order()
    diagnose(order)
    depot.start_repair(order, actor=ENGINEER, at=T0 + 2 * H)
    depot.fit_part(order, sku="VR-1", description="regulator", origin=PartOrigin.OEM,
                   source=PartSource.OURS, actor=ENGINEER, at=T0 + 3 * H)
    depot.fit_part(order, sku="FAN-2", description="fan", origin=PartOrigin.OEM,
                   source=PartSource.OURS, actor=ENGINEER, at=T0 + 3 * H, warranty_months=12)
    repaired(order, at=T0 + 4 * H)
    ready(order)
    delivered(order)
    regulator, fan = order.part_warranties
    # delivered 2026-03-02 22:00 UTC: 2026-03-03 on the policy's calendar (UTC+8)
    assert regulator.starts_on == fan.starts_on == date(2026, 3, 3)
    assert regulator.ends_on == date(2026, 6, 3) and fan.ends_on == date(2027, 3, 3)
    assert regulator.covers(date(2026, 6, 2)) and not regulator.covers(date(2026, 6, 3))
    assert fan.covers(date(2026, 12, 1)) and not regulator.covers(date(2026, 12, 1))
    item = order.history_item()
    assert item is not None and item.picked_up_at == T0 + 13 * H and item.in_warranty


# --- R22 / R25 -----------------------------------------------------------------------------


def test_r22_estimates_price_by_system_symptom_or_item() -> None:
    order = approved((call_out(), labour(), part_line()))
    estimate = order.approved_estimates[0]
    assert {line.basis for line in estimate.lines} == set(EstimateBasis)
    assert estimate.total == cny("500")
    with pytest.raises(ValidationError):
        EstimateLine(EstimateBasis.ITEM, "disk", "ssd", LineKind.PART, cny("1"))  # no source
    with pytest.raises(ValidationError):
        EstimateLine(EstimateBasis.ITEM, "disk", "fit", LineKind.LABOUR, cny("1"), sku="X")
    with pytest.raises(ValidationError):
        EstimateLine(EstimateBasis.ITEM, "disk", "fit", LineKind.LABOUR, cny("-1"))


def test_r22_customer_supplied_parts_void_the_quality_guarantee() -> None:
    order = approved((labour(), part_line("0", source=PartSource.CUSTOMER)))
    assert order.quality_guarantee_void
    assert order.guarantee_waiver is not None and "R22" in order.guarantee_waiver
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    depot.fit_part(order, sku="VR-C", description="customer's regulator",
                   origin=PartOrigin.THIRD_PARTY, source=PartSource.CUSTOMER, actor=ENGINEER,
                   at=T0 + 4 * H)
    repaired(order, at=T0 + 5 * H)
    ready(order)
    delivered(order)
    assert order.part_warranties == ()  # no warranty on a part the customer supplied
    item = order.history_item()
    assert item is not None and item.guarantee_void


def test_r22_customer_insisted_third_party_parts_void_the_guarantee_ours_do_not() -> None:
    assert part_line(origin=PartOrigin.THIRD_PARTY, insisted=True).voids_guarantee
    assert not part_line(origin=PartOrigin.THIRD_PARTY).voids_guarantee
    order = approved((labour(), part_line(origin=PartOrigin.THIRD_PARTY)))
    assert not order.quality_guarantee_void
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    depot.fit_part(order, sku="VR-3P", description="3rd-party regulator",
                   origin=PartOrigin.THIRD_PARTY, source=PartSource.OURS,
                   customer_insisted=True, actor=ENGINEER, at=T0 + 4 * H)
    assert order.quality_guarantee_void
    event = order.pending_events[-1]
    assert isinstance(event, rev.PartFitted) and event.voids_guarantee


def test_r22_a_discount_is_granted_and_recorded_by_the_supervisor_who_runs_it() -> None:
    # The approver is the actor of the step, never an id argument (the service layer lets
    # only a supervisor run it, R30): there is no ``authorized_by`` to pass someone else's id.
    assert "authorized_by" not in inspect.signature(depot.apply_discount).parameters
    order = approved()
    repaired(order)
    ready(order)
    message = refused(order, ValidationError, lambda: depot.apply_discount(
        order, amount=cny("50"), reason="loyal customer", actor=None,  # type: ignore[arg-type]
        at=T0 + 10 * H))
    assert "actor" in message
    discount = depot.apply_discount(order, amount=cny("50"), reason="loyal customer",
                                    actor=BOSS, at=T0 + 10 * H)
    assert discount.authorized_by == BOSS.id and discount.authorized_by_name == BOSS.name
    event = order.pending_events[-1]
    assert isinstance(event, rev.DiscountApplied) and event.authorized_by == BOSS.id
    assert "Zhang Supervisor" in order.record[-1].note and order.record[-1].actor_id == BOSS.id
    refused(order, GuardFailed, lambda: depot.apply_discount(
        order, amount=cny("10"), reason="again", actor=BOSS, at=T0 + 10 * H))
    assert order.amount_due() == cny("400")


def test_r22_a_discount_cannot_exceed_what_is_due() -> None:
    order = approved()
    repaired(order)
    ready(order)
    message = refused(order, GuardFailed, lambda: depot.apply_discount(
        order, amount=cny("450.01"), reason="x", actor=BOSS, at=T0 + 10 * H))
    assert "450.01 CNY exceeds the 450.00 CNY due" in message
    refused(order, ValidationError, lambda: depot.apply_discount(
        order, amount=Money(Decimal(5), "USD"), reason="x", actor=BOSS, at=T0 + 10 * H))
    refused(order, ValidationError, lambda: depot.apply_discount(
        order, amount=cny("0"), reason="x", actor=BOSS, at=T0 + 10 * H))
    depot.apply_discount(order, amount=cny("450"), reason="goodwill", actor=BOSS,
                         at=T0 + 10 * H)  # exactly the gross: the job becomes free
    assert order.amount_due() == cny("0")


def test_r25_settlement_equals_approved_estimate_plus_additions_minus_discount() -> None:
    order = approved((call_out(), labour(), part_line()))
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    depot.propose_additional_work(
        order, estimate_id=uid(), lines=(labour("70"),), reason="hinge loose",
        new_promised_at=order.promised_at + timedelta(days=1), actor=ENGINEER, at=T0 + 4 * H)
    depot.approve_additional_work(order, approved_by="Mr Zhao", actor=CLERK, at=T0 + 4 * H,
                                  policy=POLICY)
    repaired(order, at=T0 + 5 * H)
    ready(order)
    depot.apply_discount(order, amount=cny("20"), reason="delay", actor=BOSS, at=T0 + 10 * H)
    refused(order, GuardFailed, lambda: depot.settle(order, amount=cny("570"), actor=CLERK,
                                                     at=T0 + 11 * H))
    settlement = depot.settle(order, amount=cny("550"), actor=CLERK, at=T0 + 11 * H,
                              paid=False, outlet="Shenzhen depot")
    assert (settlement.labour, settlement.parts, settlement.call_out) == (
        cny("220"), cny("300"), cny("50"))
    assert settlement.discount == cny("20") and settlement.total == cny("550")
    assert settlement.receivable == cny("550") and settlement.outlet == "Shenzhen depot"
    refused(order, GuardFailed, lambda: depot.settle(order, amount=cny("550"), actor=CLERK,
                                                     at=T0 + 11 * H))


def test_r25_delivery_needs_settlement() -> None:
    order = approved()
    repaired(order)
    ready(order)
    refused(order, GuardFailed, lambda: depot.deliver(order, signed_by="Mr Zhao", actor=CLERK,
                                                      at=T0 + 12 * H, policy=POLICY))


# --- R23 ----------------------------------------------------------------------------------


def test_r23_expensive_parts_to_order_need_half_their_price_as_deposit() -> None:
    board = EstimateLine(EstimateBasis.ITEM, "mainboard", "new board", LineKind.PART,
                         cny("1200"), sku="MB-1", source=PartSource.OURS,
                         origin=PartOrigin.OEM, to_order=True)
    cheap = attrs.evolve(part_line("200"), to_order=True)
    assert required_deposit(POLICY, (board, cheap, labour())) == cny("600")
    assert required_deposit(RepairPolicy(deposit_share=Decimal("0.6")), (board,)) == cny("720")
    with pytest.raises(ValidationError):
        attrs.evolve(labour(), to_order=True)
    order = approved((board, labour()))
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    assert order.deposit_required == cny("600") and not order.deposit_covered
    message = refused(order, GuardFailed, lambda: depot.wait_for_parts(
        order, needed={"MB-1": 1}, reason="order the board", actor=ENGINEER, at=T0 + 4 * H))
    assert "R23" in message
    depot.receive_deposit(order, amount=cny("600"), actor=CLERK, at=T0 + 5 * H)
    depot.wait_for_parts(order, needed={"MB-1": 1}, reason="order the board", actor=ENGINEER,
                         at=T0 + 5 * H)
    stock = Stock.open(StockLocation(uid(), "Main warehouse"))
    stock.receive(sku="MB-1", quantity=1, actor=CLERK, at=T0 + 40 * H)
    reservation = stock.reserve(reservation_id=uid(), order_id=order.id, sku="MB-1",
                                quantity=1, actor=CLERK, at=T0 + 40 * H)
    depot.record_parts_reserved(order, reservation=reservation, actor=CLERK, at=T0 + 40 * H)
    depot.resume_repair(order, actor=ENGINEER, at=T0 + 41 * H)
    repaired(order, at=T0 + 41 * H)
    ready(order, T0 + 45 * H)
    settlement = depot.settle(order, amount=cny("1350"), actor=CLERK, at=T0 + 46 * H)
    assert settlement.deposit == cny("600") and settlement.due_on_pickup == cny("750")


def test_r23_a_free_repair_needs_no_deposit() -> None:
    order = new_order()
    diagnose(order)
    assert order.deposit_required == cny("0") and order.deposit_covered


def test_r23_appointment_reminder_before_the_booked_slot() -> None:
    slot = T0 + timedelta(days=3)
    booking = book_appointment(POLICY, slot, slot + H, T0)
    assert booking.reminder_at == slot - timedelta(hours=24)
    late = book_appointment(POLICY, T0 + 2 * H, T0 + 3 * H, T0)
    assert late.reminder_at == T0
    with pytest.raises(ValidationError):
        book_appointment(POLICY, slot, slot, T0)
    order = depot.open_repair_order(
        order_id=uid(), number="RO-A", request_id=uid(), equipment_id=UNIT,
        customer_id=uid(), intake=intake(), promised_at=slot + timedelta(days=3), actor=CLERK,
        at=slot, policy=POLICY, appointment=booking)
    assert order.appointment == booking


# --- §9 hard cases -----------------------------------------------------------------------------


def test_hard_case_dead_on_arrival_part_during_a_repair() -> None:
    order = approved()
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    stock = Stock.open(StockLocation(uid(), "Main warehouse"))
    supplier = uid()
    stock.receive(sku="VR-1", quantity=2, actor=CLERK, at=T0, supplier_id=supplier)
    reservation = stock.reserve(reservation_id=uid(), order_id=order.id, sku="VR-1",
                                quantity=1, actor=CLERK, at=T0 + 4 * H, supplier_id=supplier)
    depot.record_parts_reserved(order, reservation=reservation, actor=CLERK, at=T0 + 4 * H)
    stock.issue(reservation_id=reservation.id, actor=CLERK, at=T0 + 4 * H)
    record = stock.dead_on_arrival(reservation_id=reservation.id, actor=ENGINEER,
                                   at=T0 + 5 * H, note="no output voltage")
    assert record.replaced and record.supplier_id == supplier
    depot.record_repair_work(order, description="VR-1 DOA, replaced from stock",
                             actor=ENGINEER, at=T0 + 5 * H)
    depot.fit_part(order, sku="VR-1", description="regulator", origin=PartOrigin.OEM,
                   source=PartSource.OURS, actor=ENGINEER, at=T0 + 6 * H)
    repaired(order, at=T0 + 6 * H)
    assert order.qc_passed_after_last_repair
    assert stock.level("VR-1").on_hand == 0


def test_hard_case_customer_caused_damage_is_estimated_and_approved() -> None:
    order = new_order()
    diagnose(order, fault_class=FaultClass.CUSTOMER_CAUSED)
    depot.send_estimate(order, estimate_id=uid(), lines=(labour(), part_line()),
                        actor=ENGINEER, at=T0 + 2 * H)
    depot.approve_estimate(order, approved_by="Mr Zhao", actor=CLERK, at=T0 + 3 * H)
    repaired(order)
    ready(order)
    delivered(order)
    assert order.settlement is not None and order.settlement.total == cny("450")


def test_hard_case_customer_disputes_the_diagnosis() -> None:
    order = new_order()
    diagnose(order, fault_class=FaultClass.CUSTOMER_CAUSED)
    first = depot.send_estimate(order, estimate_id=uid(), lines=(labour(),), actor=ENGINEER,
                                at=T0 + 2 * H)
    withdrawn = depot.reopen_diagnosis(order, reason="customer says it was never dropped",
                                       kind=ReopenKind.DISPUTED_BY_CUSTOMER, actor=CLERK,
                                       at=T0 + 3 * H)
    assert withdrawn == (first.id,) and order.state == DepotState.DIAGNOSING
    diagnose(order, at=T0 + 4 * H)  # a second engineer finds a quality fault
    assert order.diagnosis is not None
    assert order.diagnosis.revision_reason.startswith("disputed_by_customer")
    assert len(order.diagnoses) == 2 and not order.chargeable
    depot.start_repair(order, actor=ENGINEER, at=T0 + 5 * H)
    assert order.gross_due() == cny("0")
    assert order.estimates[0].status is EstimateStatus.WITHDRAWN


def test_hard_case_unit_repaired_several_times_is_replaced() -> None:
    order = new_order()
    diagnose(order, history=_history(2))
    depot.offer_replacement(order, model="ThinkBook 14 G2", actor=CLERK, at=T0 + 2 * H)
    assert order.state == DepotState.REPLACEMENT_OFFERED
    depot.accept_replacement(order, serial="SN-NEW", signed_by="Mr Zhao", actor=CLERK,
                             at=T0 + 3 * H)
    depot.close(order, actor=CLERK, at=T0 + 4 * H)
    assert order.replacement is not None and order.replacement.serial == "SN-NEW"
    assert order.state == DepotState.CLOSED and depot.verify_repair_record(order) == []


def test_hard_case_customer_wants_a_replacement_without_grounds() -> None:
    order = new_order()
    diagnose(order, history=_history(1))
    message = refused(order, GuardFailed, lambda: depot.offer_replacement(
        order, model="new", actor=CLERK, at=T0 + 2 * H))
    assert "R21" in message
    depot.declare_unrepairable(order, reason="board obsolete", actor=ENGINEER, at=T0 + 2 * H)
    depot.offer_replacement(order, model="ThinkBook 14 G2", actor=CLERK, at=T0 + 3 * H)
    # the customer refuses the replacement and takes the unit back
    depot.settle(order, amount=cny("0"), actor=CLERK, at=T0 + 4 * H)
    depot.return_unrepaired(order, signed_by="Mr Zhao", actor=CLERK, at=T0 + 5 * H)
    assert order.state == DepotState.RETURNED


def test_hard_case_no_invoice_to_prove_the_purchase_date() -> None:
    order = new_order()
    diagnose(order, Equipment(UNIT, serial="SN-1", model="X", purchased_on=date(2025, 9, 1),
                              produced_on=date(2024, 1, 1)))
    assert order.warranty is not None
    assert order.warranty.basis is WarrantyBasis.PRODUCTION_FALLBACK  # no invoice reference
    assert not order.warranty.in_warranty and order.chargeable


def test_hard_case_no_spare_part_in_stock() -> None:
    order = approved()
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    stock = Stock.open(StockLocation(uid(), "Main warehouse"))
    with pytest.raises(GuardFailed, match="only 0 available"):
        stock.reserve(reservation_id=uid(), order_id=order.id, sku="VR-1", quantity=1,
                      actor=CLERK, at=T0 + 4 * H)
    depot.wait_for_parts(order, needed={"VR-1": 1}, reason="none in stock", actor=ENGINEER,
                         at=T0 + 4 * H)
    message = refused(order, GuardFailed,
                      lambda: depot.resume_repair(order, actor=ENGINEER, at=T0 + 5 * H))
    assert "R28" in message and order.missing_parts == {"VR-1": 1}
    stock.receive(sku="VR-1", quantity=1, actor=CLERK, at=T0 + 30 * H)
    reservation = stock.reserve(reservation_id=uid(), order_id=order.id, sku="VR-1",
                                quantity=1, actor=CLERK, at=T0 + 30 * H)
    depot.record_parts_reserved(order, reservation=reservation, actor=CLERK, at=T0 + 30 * H)
    depot.resume_repair(order, actor=ENGINEER, at=T0 + 31 * H)
    assert order.state == DepotState.REPAIRING and order.parts_available


def test_hard_case_customer_keeps_the_old_disk() -> None:
    order = new_order(DataHandling.CUSTOMER_KEEPS_DISK)
    diagnose(order)
    depot.start_repair(order, actor=ENGINEER, at=T0 + 2 * H)
    refused(order, GuardFailed, lambda: depot.record_repair_work(
        order, description="reinstall OS", wipes_data=True, actor=ENGINEER, at=T0 + 3 * H))
    refused(order, GuardFailed, lambda: depot.fit_part(
        order, sku="SSD-512", description="ssd", origin=PartOrigin.OEM, source=PartSource.OURS,
        storage_media=True, old_part=OldPartDisposition.RETURN_TO_SUPPLIER, actor=ENGINEER,
        at=T0 + 3 * H))
    fitted = depot.fit_part(order, sku="SSD-512", description="ssd", origin=PartOrigin.OEM,
                            source=PartSource.OURS, storage_media=True, actor=ENGINEER,
                            at=T0 + 3 * H)
    assert fitted.old_part is OldPartDisposition.HANDED_TO_CUSTOMER


def test_hard_case_keep_the_old_disk_in_the_unit_refuses_a_swap_and_a_wipe() -> None:
    order = new_order(DataHandling.KEEP_OLD_DISK)
    diagnose(order)
    depot.start_repair(order, actor=ENGINEER, at=T0 + 2 * H)
    refused(order, GuardFailed, lambda: depot.fit_part(
        order, sku="SSD-512", description="ssd", origin=PartOrigin.OEM, source=PartSource.OURS,
        storage_media=True, actor=ENGINEER, at=T0 + 3 * H))
    refused(order, GuardFailed, lambda: depot.record_repair_work(
        order, description="format", wipes_data=True, actor=ENGINEER, at=T0 + 3 * H))
    allowed = new_order(DataHandling.WIPE_ALLOWED)
    diagnose(allowed)
    depot.start_repair(allowed, actor=ENGINEER, at=T0 + 2 * H)
    depot.record_repair_work(allowed, description="format", wipes_data=True, actor=ENGINEER,
                             at=T0 + 3 * H)
    assert allowed.work[-1].wipes_data


def test_hard_case_customer_refuses_to_pay_because_the_job_is_not_right() -> None:
    order = approved()
    repaired(order)
    ready(order)
    depot.rework(order, reason="customer: still shuts down under load", actor=CLERK,
                 at=T0 + 10 * H)
    assert order.state == DepotState.REPAIRING and order.pickup is None
    depot.finish_repair(order, summary="replaced thermal paste", actor=ENGINEER,
                        at=T0 + 11 * H)
    refused(order, GuardFailed, lambda: ready(order, T0 + 12 * H))
    depot.record_qc(order, results=all_pass(order), actor=ENGINEER, at=T0 + 12 * H)
    ready(order, T0 + 13 * H)
    delivered(order, T0 + 16 * H)
    assert order.settlement is not None and order.settlement.total == cny("450")
    assert depot.verify_repair_record(order) == []


def test_hard_case_third_party_parts_fitted_by_a_dealer() -> None:
    order = new_order()
    diagnose(order, findings=(Exclusion.THIRD_PARTY_PARTS,))
    assert order.warranty is not None
    assert order.warranty.exclusion is Exclusion.THIRD_PARTY_PARTS and order.chargeable
    assert "third_party_parts" in order.warranty.explain()


def test_hard_case_the_engineers_own_misjudgement_is_not_billed() -> None:
    order = approved((labour("200"),))
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    depot.reopen_diagnosis(order, reason="it was the charger port, not the board",
                           kind=ReopenKind.ENGINEER_MISJUDGEMENT, actor=ENGINEER,
                           at=T0 + 5 * H)
    assert not order.repair_authorized
    diagnose(order, unit(**OLD_UNIT), at=T0 + 6 * H)
    refused(order, GuardFailed, lambda: depot.start_repair(order, actor=ENGINEER,
                                                           at=T0 + 7 * H))
    depot.send_estimate(order, estimate_id=uid(), lines=(labour("90"),), actor=ENGINEER,
                        at=T0 + 7 * H)
    depot.approve_estimate(order, approved_by="Mr Zhao", actor=CLERK, at=T0 + 8 * H)
    repaired(order, at=T0 + 9 * H)
    assert order.gross_due() == cny("90")  # only the corrected estimate is billed


# --- bad input leaves the order unchanged -------------------------------------------------


NAIVE = datetime(2026, 3, 2, 9, 0)


def _approved_repairing() -> RepairOrder:
    order = approved()
    depot.start_repair(order, actor=ENGINEER, at=T0 + 4 * H)
    return order


def _in_qc() -> RepairOrder:
    order = _approved_repairing()
    depot.finish_repair(order, summary="done", actor=ENGINEER, at=T0 + 5 * H)
    return order


def _ready() -> RepairOrder:
    order = approved()
    repaired(order)
    ready(order)
    return order


BAD_STEPS: list[tuple[str, Callable[[], RepairOrder], Callable[[RepairOrder], object],
                      type[AftersalesError]]] = [
    ("sign twice", new_order,
     lambda o: depot.sign_intake(o, signed_by="x", actor=CLERK, at=T0), InvalidTransition),
    ("blank signer", lambda: new_order(signed=False),
     lambda o: depot.sign_intake(o, signed_by=" ", actor=CLERK, at=T0), ValidationError),
    ("naive time", lambda: new_order(signed=False),
     lambda o: depot.sign_intake(o, signed_by="x", actor=CLERK, at=NAIVE), ValidationError),
    ("no actor", lambda: new_order(signed=False),
     lambda o: depot.sign_intake(o, signed_by="x", actor="me", at=T0),  # type: ignore[arg-type]
     ValidationError),
    ("bad fault class", new_order,
     lambda o: depot.diagnose(o, fault="x", cause="y", fault_class="bad",  # type: ignore[arg-type]
                              fault_kind=FaultKind.HARDWARE, equipment=unit(),
                              warranty_policy=WARRANTY, actor=ENGINEER, at=T0, policy=POLICY,
                              fault_code="HW-POWER"),
     ValidationError),
    ("fault code not in the catalogue", new_order,
     lambda o: depot.diagnose(o, fault="x", cause="y", fault_class=FaultClass.QUALITY,
                              fault_kind=FaultKind.HARDWARE, equipment=unit(),
                              warranty_policy=WARRANTY, actor=ENGINEER, at=T0, policy=POLICY,
                              fault_code="hw-power"), ValidationError),
    ("deposit of nothing", _approved_repairing,
     lambda o: depot.receive_deposit(o, amount=cny("0"), actor=CLERK, at=T0), ValidationError),
    ("release a reservation never recorded", _approved_repairing,
     lambda o: depot.record_parts_released(o, reservation_id=uid(), sku="VR-1", quantity=1,
                                           actor=CLERK, at=T0), ValidationError),
    ("mixed currency", lambda: _diagnosed_chargeable(),
     lambda o: depot.send_estimate(
         o, estimate_id=uid(), lines=(labour(), EstimateLine(
             EstimateBasis.ITEM, "x", "y", LineKind.LABOUR, Money(Decimal(1), "USD"))),
         actor=ENGINEER, at=T0), ValidationError),
    ("no lines", lambda: _diagnosed_chargeable(),
     lambda o: depot.send_estimate(o, estimate_id=uid(), lines=(), actor=ENGINEER, at=T0),
     ValidationError),
    ("approve with nothing sent", lambda: _diagnosed_chargeable(),
     lambda o: depot.approve_estimate(o, approved_by="x", actor=CLERK, at=T0),
     InvalidTransition),
    ("reservation of another order", _approved_repairing,
     lambda o: depot.record_parts_reserved(o, reservation=_foreign_reservation(), actor=CLERK,
                                           at=T0), ValidationError),
    ("no parts named", _approved_repairing,
     lambda o: depot.wait_for_parts(o, needed={}, reason="x", actor=ENGINEER, at=T0),
     ValidationError),
    ("negative quantity", _approved_repairing,
     lambda o: depot.wait_for_parts(o, needed={"A": -1}, reason="x", actor=ENGINEER, at=T0),
     ValidationError),
    ("bad warranty months", _approved_repairing,
     lambda o: depot.fit_part(o, sku="A", description="a", origin=PartOrigin.OEM,
                              source=PartSource.OURS, warranty_months=-1, actor=ENGINEER,
                              at=T0), ValidationError),
    ("QC results not bools", _in_qc,
     lambda o: depot.record_qc(o, results=_yes(o),
                               actor=ENGINEER, at=T0), ValidationError),
    ("QC while repairing", _approved_repairing,
     lambda o: depot.record_qc(o, results=all_pass(o), actor=ENGINEER, at=T0),
     InvalidTransition),
    ("close while repairing", _approved_repairing,
     lambda o: depot.close(o, actor=CLERK, at=T0), InvalidTransition),
    ("deliver before ready", _in_qc,
     lambda o: depot.deliver(o, signed_by="x", actor=CLERK, at=T0, policy=POLICY),
     InvalidTransition),
    ("settle in wrong currency", _ready,
     lambda o: depot.settle(o, amount=Money(Decimal(450), "USD"), actor=CLERK, at=T0),
     ValidationError),
    ("settle a float", _ready,
     lambda o: depot.settle(o, amount=450.0, actor=CLERK, at=T0),  # type: ignore[arg-type]
     ValidationError),
    ("no policy", _ready,
     lambda o: depot.deliver(o, signed_by="x", actor=CLERK, at=T0,
                             policy=None),  # type: ignore[arg-type]
     ValidationError),
    ("vendor for an ineligible unit", _approved_repairing,
     lambda o: depot.send_to_vendor(o, outsourced_id=uid(), reason="x", actor=CLERK, at=T0,
                                    policy=POLICY), GuardFailed),
    ("reopen a delivered order", lambda: _delivered_order(),
     lambda o: depot.reopen_diagnosis(o, reason="x", kind=ReopenKind.NEW_FINDINGS,
                                      actor=ENGINEER, at=T0), InvalidTransition),
    ("accept a replacement never offered", _approved_repairing,
     lambda o: depot.accept_replacement(o, serial="x", signed_by="y", actor=CLERK, at=T0),
     InvalidTransition),
]


def _yes(order: RepairOrder) -> Any:
    return dict.fromkeys(order.qc_checklist, "yes")


def _diagnosed_chargeable() -> RepairOrder:
    order = new_order()
    diagnose(order, unit(**OLD_UNIT))
    return order


def _delivered_order() -> RepairOrder:
    order = _ready()
    delivered(order)
    return order


def _foreign_reservation() -> Any:
    stock = Stock.open(StockLocation(uid(), "Van"))
    stock.receive(sku="A", quantity=1, actor=CLERK, at=T0)
    return stock.reserve(reservation_id=uid(), order_id=uid(), sku="A", quantity=1,
                         actor=CLERK, at=T0)


@pytest.mark.parametrize(("build", "step", "error"), [b[1:] for b in BAD_STEPS],
                         ids=[b[0] for b in BAD_STEPS])
def test_bad_input_raises_a_specific_error_and_changes_nothing(
    build: Callable[[], RepairOrder], step: Callable[[RepairOrder], object],
    error: type[AftersalesError],
) -> None:
    order = build()
    message = refused(order, error, lambda: step(order))
    assert message


def test_the_open_step_validates_everything() -> None:
    for kw in ({"promised_at": T0}, {"intake": "form"}, {"number": ""},
               {"order_id": "x"}, {"policy": object()}):
        values: dict[str, Any] = {
            "order_id": uid(), "number": "RO-1", "request_id": uid(), "equipment_id": UNIT,
            "customer_id": uid(), "intake": intake(), "promised_at": T0 + H, "actor": CLERK,
            "at": T0, "policy": POLICY,
        }
        values.update(kw)
        with pytest.raises(ValidationError):
            depot.open_repair_order(**values)


def test_clone_is_independent() -> None:
    order = approved()
    copy = order.clone()
    assert snapshot(copy) | {"pending_events": []} == snapshot(order) | {"pending_events": []}
    depot.start_repair(copy, actor=ENGINEER, at=T0 + 4 * H)
    assert order.state == DepotState.APPROVED and len(order.record) < len(copy.record)


def test_event_ids_are_stable_and_derived_from_the_aggregate() -> None:
    order = new_order()
    first = order.pending_events[0]
    assert first.event_id == attrs.evolve(first).event_id
    assert len({e.event_id for e in order.pending_events}) == len(order.pending_events)
    assert first.event_id == event_id_for(order.id, 1)
    assert EVENT_TYPES["RepairOrderOpened"] is rev.RepairOrderOpened
    assert rev.RepairOrderOpened.aggregate_type == "RepairOrder"
    assert all(e.aggregate_type == "RepairOrder" for e in order.pending_events)


# --- R25: a settled job is never repriced ----------------------------------------------------


def test_r25_a_settled_job_sent_back_to_rework_cannot_take_on_more_work() -> None:
    order = approved()
    repaired(order)
    ready(order)
    depot.settle(order, amount=order.amount_due(), actor=CLERK, at=T0 + 10 * H)
    depot.rework(order, reason="fan noise found at pick-up", actor=ENGINEER, at=T0 + 11 * H)
    message = refused(order, GuardFailed, lambda: depot.propose_additional_work(
        order, estimate_id=uid(), lines=(labour("500"),), reason="keyboard",
        new_promised_at=T0 + 80 * H, actor=ENGINEER, at=T0 + 12 * H,
    ))
    assert "settled" in message
    for step in (
        lambda: depot.declare_unrepairable(order, reason="x", actor=ENGINEER, at=T0 + 12 * H),
        lambda: depot.reopen_diagnosis(order, reason="x", kind=ReopenKind.DISPUTED_BY_CUSTOMER,
                                       actor=ENGINEER, at=T0 + 12 * H),
    ):
        refused(order, GuardFailed, step)
    repaired(order, at=T0 + 12 * H)  # the rework itself is local and free
    assert order.settlement is not None
    assert order.amount_due() == order.settlement.total


def test_r21_units_handed_back_unrepaired_do_not_count_as_repairs() -> None:
    history: list[RepairHistoryItem] = []
    for _ in range(2):
        order = new_order()
        diagnose(order)
        depot.declare_unrepairable(order, reason="board obsolete", actor=ENGINEER,
                                   at=T0 + 2 * H)
        depot.settle(order, amount=order.amount_due(), actor=CLERK, at=T0 + 3 * H)
        depot.return_unrepaired(order, signed_by="Mr Zhao", actor=CLERK, at=T0 + 4 * H)
        item = order.history_item()
        assert item is not None and item.picked_up_at is None
        history.append(item)
    assert count_repeat_failures(history, "HW-POWER") == 0
