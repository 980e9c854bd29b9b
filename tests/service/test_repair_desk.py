"""The RepairDesk service layer: depot repair (R13), outsourced repair (R14), parts (R28).

Rules through the service layer on the in-memory adapter, the §9 hard cases that touch repairs
as scenarios, and bad input for every command: a specific :mod:`aftersales.errors` exception
and nothing changed (every committed aggregate with its record, the keys, the events, and what
was published).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from aftersales import ManualClock, SequentialIds, in_memory_desk
from aftersales.domain import Actor, Equipment, Exclusion, Money, Role
from aftersales.domain import repair_events as rev
from aftersales.domain.kernel import AggregateEvent
from aftersales.domain.parts import LocationKind, PartOrigin, PartSource, Reservation
from aftersales.domain.repair import (
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
    OutsourcedRepair,
    OutsourcedState,
    ReopenKind,
    RepairOrder,
    RepairPolicy,
)
from aftersales.domain.request import RequestState
from aftersales.domain.warranty import WarrantyBasis
from aftersales.errors import (
    AftersalesError,
    GuardFailed,
    InvalidTransition,
    NotAuthorized,
    NotFound,
    ValidationError,
)
from aftersales.service import DEFAULT_PERMISSIONS, RepairDesk
from aftersales.testing.fuzz import QUERIES, memory_snapshot, typed_methods

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
UNKNOWN = UUID(int=987_654_321)


def cny(amount: str | int) -> Money:
    return Money(Decimal(amount), "CNY")


def labour(amount: str = "150") -> EstimateLine:
    return EstimateLine(EstimateBasis.SYMPTOM, "no power", "replace regulator", LineKind.LABOUR,
                        cny(amount))


def part_line(amount: str = "300", *, sku: str = "VR-1", source: PartSource = PartSource.OURS,
              origin: PartOrigin = PartOrigin.OEM, to_order: bool = False) -> EstimateLine:
    return EstimateLine(EstimateBasis.ITEM, "mainboard", "voltage regulator", LineKind.PART,
                        cny(amount), sku=sku, source=source, origin=origin, to_order=to_order)


class Recorder:
    """An EventPublisher that keeps what it was given."""

    def __init__(self) -> None:
        self.events: list[AggregateEvent] = []

    def publish(self, events: Sequence[AggregateEvent]) -> None:
        self.events.extend(events)


class World:
    """A desk with one person per role, two customers, units in and out of warranty, one
    without invoice, vendors, a catalogue and a warehouse."""

    def __init__(self, policy: RepairPolicy | None = None) -> None:
        self.clock = ManualClock(T0, step=timedelta(minutes=5))
        self.boss = Actor(UUID(int=10_000), "Zhang Supervisor", {Role.SUPERVISOR})
        self.published = Recorder()
        self.desk, self.store = in_memory_desk(
            supervisor=self.boss, clock=self.clock, ids=SequentialIds(), publisher=self.published
        )
        self.repairs = RepairDesk(self.desk, policy=policy)
        desk = self.desk
        self.clerk = desk.register_actor(self.boss, name="Li Clerk", roles={Role.CLERK})
        self.rep = desk.register_actor(self.boss, name="Sun Rep", roles={Role.CUSTOMER_REP})
        self.engineer = desk.register_actor(self.boss, name="Wang Engineer",
                                            roles={Role.ENGINEER})
        self.customer = desk.register_customer(self.clerk, name="Zhao Trading")
        self.other = desk.register_customer(self.clerk, name="Qian Ltd")
        self.zhao = desk.register_actor(self.boss, name="Mr Zhao", roles={Role.CUSTOMER},
                                        customer_id=self.customer.id)
        self.qian = desk.register_actor(self.boss, name="Ms Qian", roles={Role.CUSTOMER},
                                        customer_id=self.other.id)
        owner = self.customer.id
        self.new_unit = desk.register_equipment(self.clerk, serial="N-1", model="ThinkBook",
                                                owner_id=owner, installed_on=date(2025, 9, 1))
        self.old_unit = desk.register_equipment(self.clerk, serial="O-1", model="ThinkBook",
                                                owner_id=owner, installed_on=date(2023, 1, 10))
        self.bare_unit = desk.register_equipment(self.clerk, serial="B-1", model="ThinkBook",
                                                 owner_id=owner, produced_on=date(2025, 10, 1))
        self.vendors = [
            self.repairs.register_vendor(self.boss, name=name, contact="0755-1234",
                                         capabilities=("laptop",))
            for name in ("Lenovo station", "Third-party lab", "Panel works")
        ]
        self.supplier = self.vendors[0].id
        self.repairs.add_part(self.clerk, sku="VR-1", name="voltage regulator",
                              origin=PartOrigin.OEM, unit_price=cny(120), warranty_months=6,
                              supplier_id=self.supplier)
        self.repairs.add_part(self.clerk, sku="SSD-1", name="512 GB SSD", origin=PartOrigin.OEM,
                              unit_price=cny(399), warranty_months=12,
                              supplier_id=self.supplier, storage_media=True)
        self.warehouse = self.repairs.open_stock_location(self.boss, name="Main warehouse").id
        self.repairs.receive_stock(self.clerk, self.warehouse, sku="VR-1", quantity=2)

    # --- flows -------------------------------------------------------------------------------

    def handed(self, unit: Equipment | None = None) -> UUID:
        """A request for ``unit`` (the new one by default) handed to the depot."""
        unit = unit or self.new_unit
        request = self.desk.register_request(self.clerk, customer_id=self.customer.id,
                                             summary="no power", equipment_id=unit.id)
        self.desk.assign(self.clerk, request.id, engineer_id=self.engineer.id)
        self.desk.start_remote(self.engineer, request.id)
        self.desk.hand_to_depot(self.engineer, request.id, reason="hardware")
        return request.id

    def at_depot(self, unit: Equipment | None = None, *,
                 handling: DataHandling = DataHandling.WIPE_ALLOWED,
                 promised: timedelta = timedelta(days=3), sign: bool = True) -> RepairOrder:
        order = self.repairs.receive_at_depot(
            self.clerk, self.handed(unit), promised_at=self.clock.now() + promised,
            intake=Intake(appearance="scratch on lid", configuration="i5/16G/512G",
                          accessories=("charger",), data_handling=handling),
        )
        if sign:
            order = self.repairs.sign_intake(self.clerk, order.id, signed_by="Mr Zhao")
        return order

    def diagnosed(self, unit: Equipment | None = None, *,
                  fault_class: FaultClass = FaultClass.QUALITY,
                  kind: FaultKind = FaultKind.HARDWARE, findings: Sequence[Exclusion] = (),
                  code: str = "HW-BOARD", **kw: Any) -> RepairOrder:
        order = self.at_depot(unit, **kw)
        return self.repairs.diagnose(self.engineer, order.id, fault="no power",
                                     cause="regulator", fault_class=fault_class,
                                     fault_kind=kind, findings=findings, fault_code=code)

    def approved(self, lines: Sequence[EstimateLine] = (), **kw: Any) -> RepairOrder:
        order = self.diagnosed(self.old_unit, **kw)
        self.repairs.send_estimate(self.engineer, order.id,
                                   lines=lines or (labour(), part_line()))
        return self.repairs.approve_estimate(self.zhao, order.id)

    def repaired(self, order: RepairOrder) -> RepairOrder:
        if order.state != DepotState.REPAIRING:
            order = self.repairs.start_repair(self.engineer, order.id)
        order = self.repairs.finish_repair(self.engineer, order.id, summary="replaced regulator")
        return self.qc(order, passed=True)

    def qc(self, order: RepairOrder, *, passed: bool) -> RepairOrder:
        results = dict.fromkeys(order.qc_checklist, True)
        if not passed:
            results[order.qc_checklist[2]] = False
        return self.repairs.record_qc(self.engineer, order.id, results=results)

    def ready(self, order: RepairOrder) -> RepairOrder:
        return self.repairs.mark_ready(self.clerk, order.id,
                                       pickup_at=self.clock.now() + 6 * H)

    def delivered(self, order: RepairOrder) -> RepairOrder:
        order = self.repairs.settle(self.clerk, order.id, amount=order.amount_due())
        return self.repairs.deliver(self.clerk, order.id, signed_by="Mr Zhao")

    def closed(self, order: RepairOrder) -> RepairOrder:
        return self.repairs.close_order(self.clerk, self.delivered(self.ready(
            self.repaired(order))).id)

    def out_at_vendor(self) -> tuple[RepairOrder, OutsourcedRepair]:
        order = self.diagnosed()  # in the maker's warranty
        repair = self.repairs.send_to_vendor(self.engineer, order.id, reason="panel")
        self.repairs.choose_vendor(self.clerk, repair.id, vendor_id=self.vendors[0].id,
                                   capability="laptop")
        repair = self.repairs.ship_to_vendor(
            self.clerk, repair.id, carrier="SF Express", tracking_number="SF1",
            voucher="voucher 7781", promised_by=self.clock.now() + timedelta(days=5),
        )
        return self.store.repairs[order.id], repair

    def request_of(self, order: RepairOrder) -> str:
        return self.store.requests[order.request_id].state

    # --- "nothing changed" ---------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {**memory_snapshot(self.store), "published": list(self.published.events)}

    def refused(self, error: type[AftersalesError], command: Callable[[], object]) -> str:
        """Run ``command``, expect exactly ``error`` and that nothing changed."""
        before = self.state()
        with pytest.raises(error) as info:
            command()
        assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
        assert self.state() == before, "a refused command changed the store"
        return str(info.value)


@pytest.fixture
def w() -> World:
    return World()


# --- R13: the depot flow -----------------------------------------------------------------------


def test_r13_a_free_repair_runs_from_intake_to_closed_and_resolves_the_request(w: World) -> None:
    order = w.at_depot(sign=False)
    assert order.number.startswith("RO-") and order.state == DepotState.INTAKE
    assert (order.equipment_id, order.customer_id) == (w.new_unit.id, w.customer.id)
    assert order.engineer_id == w.engineer.id  # the request's engineer works on the order
    assert w.request_of(order) == RequestState.AT_DEPOT  # same unit of work as the intake
    order = w.repairs.sign_intake(w.rep, order.id, signed_by="Mr Zhao")
    order = w.repairs.diagnose(w.engineer, order.id, fault="no power", cause="regulator",
                               fault_class=FaultClass.QUALITY, fault_kind=FaultKind.HARDWARE,
                               fault_code="HW-BOARD")
    assert not order.chargeable
    order = w.ready(w.repaired(order))
    order = w.delivered(order)
    assert order.settlement is not None and order.settlement.total == cny(0)
    assert w.request_of(order) == RequestState.RESOLVED  # same unit of work as delivery
    order = w.repairs.close_order(w.clerk, order.id)
    assert order.state == DepotState.CLOSED
    names = [e.name for e in w.published.events if e.aggregate_id == order.id]
    assert names[0] == "RepairOrderOpened" and names[-1] == "RepairOrderClosed"
    assert w.repairs.get_order(w.zhao, order.id).state == DepotState.CLOSED
    assert [o.id for o in w.repairs.orders_of_equipment(w.clerk, w.new_unit.id)] == [order.id]
    assert [o.id for o in w.repairs.orders_of_customer(w.zhao, w.customer.id)] == [order.id]
    assert w.repairs.orders_of_customer(w.qian, w.customer.id) == []


def test_r13_only_a_request_handed_to_the_depot_is_received_and_one_order_per_unit(
    w: World,
) -> None:
    request = w.desk.register_request(w.clerk, customer_id=w.customer.id, summary="x",
                                      equipment_id=w.new_unit.id)
    intake = Intake(appearance="ok", configuration="ok", accessories=(),
                    data_handling=DataHandling.WIPE_ALLOWED)
    message = w.refused(GuardFailed, lambda: w.repairs.receive_at_depot(
        w.clerk, request.id, intake=intake, promised_at=T0 + 48 * H))
    assert "handed to the depot" in message
    first = w.at_depot()
    again = w.handed()  # a second request for the same unit
    message = w.refused(GuardFailed, lambda: w.repairs.receive_at_depot(
        w.clerk, again, intake=intake, promised_at=T0 + 48 * H))
    assert f"at the depot under {first.number}" in message


def test_r13_no_delivery_without_a_qc_passed_after_the_last_repair_step(w: World) -> None:
    order = w.repairs.start_repair(w.engineer, w.diagnosed().id)
    order = w.repairs.finish_repair(w.engineer, order.id, summary="done")
    order = w.qc(order, passed=False)
    w.refused(GuardFailed, lambda: w.ready(order))
    order = w.repairs.rework(w.engineer, order.id, reason="QC failed: self-test")
    order = w.repairs.finish_repair(w.engineer, order.id, summary="re-seated the board")
    order = w.ready(w.qc(order, passed=True))
    assert order.state == DepotState.READY_FOR_PICKUP


# --- R20/R21: warranty through the service layer -------------------------------------------------


def test_r20_diagnosis_reads_the_customers_service_plan(w: World) -> None:
    plan = w.desk.add_service_plan(w.boss, customer_id=w.customer.id,
                                   starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31),
                                   equipment_ids={w.old_unit.id}, content="annual")
    order = w.diagnosed(w.old_unit)
    assert order.warranty is not None and order.warranty.basis is WarrantyBasis.SERVICE_PLAN
    assert order.warranty.service_plan_id == plan.id
    assert not order.chargeable


def test_r20_no_invoice_falls_back_to_the_production_date_and_says_so(w: World) -> None:
    """§9 no invoice: coverage from production date + grace, recorded on the order."""
    order = w.diagnosed(w.bare_unit)
    assert order.warranty is not None and order.warranty.in_warranty
    assert order.warranty.basis is WarrantyBasis.PRODUCTION_FALLBACK
    assert "production_fallback" in order.record[-1].note


def test_r20_customer_caused_damage_is_chargeable_even_in_warranty(w: World) -> None:
    """§9 damage the customer caused."""
    order = w.diagnosed(fault_class=FaultClass.CUSTOMER_CAUSED)
    assert order.chargeable and order.warranty is not None
    assert order.warranty.exclusion is Exclusion.HUMAN_DAMAGE
    w.refused(GuardFailed, lambda: w.repairs.start_repair(w.engineer, order.id))


def test_r20_third_party_parts_fitted_by_a_dealer_void_the_coverage(w: World) -> None:
    """§9 dealer-fitted third-party parts: a finding, chargeable, explained."""
    order = w.diagnosed(findings=[Exclusion.THIRD_PARTY_PARTS])
    assert order.chargeable
    assert order.warranty is not None and "third_party_parts" in order.warranty.explain()


def test_r21_repaired_several_times_gives_grounds_for_a_replacement(w: World) -> None:
    """§9 a unit repaired several times → replacement (supervisor offers, customer takes)."""
    for _ in range(2):
        w.closed(w.diagnosed(code="HW-BOARD"))
    order = w.diagnosed(code="HW-BOARD")
    assert order.replacement_grounds is not None and "2 in-warranty repairs" in (
        order.replacement_grounds
    )
    w.refused(NotAuthorized, lambda: w.repairs.offer_replacement(w.clerk, order.id,
                                                                  model="ThinkBook 2"))
    order = w.repairs.offer_replacement(w.boss, order.id, model="ThinkBook 2")
    order = w.repairs.accept_replacement(w.clerk, order.id, serial="N-2", signed_by="Mr Zhao")
    assert order.state == DepotState.REPLACED
    assert w.request_of(order) == RequestState.RESOLVED


def test_r21_the_customer_wanting_a_replacement_needs_grounds(w: World) -> None:
    """§9 the customer wants a replacement: refused without grounds."""
    order = w.diagnosed()
    message = w.refused(GuardFailed, lambda: w.repairs.offer_replacement(
        w.boss, order.id, model="ThinkBook 2"))
    assert "R21" in message


def test_r21_units_handed_back_unrepaired_do_not_count_as_repairs(w: World) -> None:
    for _ in range(2):
        order = w.diagnosed(code="HW-BOARD")
        w.repairs.declare_unrepairable(w.engineer, order.id, reason="no board")
        w.repairs.settle(w.clerk, order.id, amount=cny(0))
        w.repairs.close_order(w.clerk, w.repairs.return_unrepaired(
            w.clerk, order.id, signed_by="Mr Zhao").id)
    assert w.diagnosed(code="HW-BOARD").replacement_grounds is None


def test_r21_a_software_fault_within_15_days_of_pick_up_is_free(w: World) -> None:
    first = w.approved()
    w.closed(first)
    w.clock.advance(timedelta(days=10))
    again = w.diagnosed(w.old_unit, kind=FaultKind.SOFTWARE, code="SW-OS")
    assert again.free_reason is not None and "R21" in again.free_reason


# --- R22: estimates, approval, additional work, discounts ---------------------------------------


def test_r22_chargeable_work_waits_for_the_customers_own_approval(w: World) -> None:
    order = w.diagnosed(w.old_unit)
    assert order.chargeable
    w.refused(GuardFailed, lambda: w.repairs.start_repair(w.engineer, order.id))
    w.refused(NotAuthorized, lambda: w.repairs.send_estimate(w.zhao, order.id,
                                                             lines=[labour()]))
    order = w.repairs.send_estimate(w.engineer, order.id, lines=[labour(), part_line()])
    w.refused(NotAuthorized, lambda: w.repairs.approve_estimate(w.qian, order.id))
    w.refused(NotAuthorized, lambda: w.repairs.approve_estimate(w.engineer, order.id,
                                                                approved_by="Mr Zhao"))
    w.refused(ValidationError, lambda: w.repairs.approve_estimate(w.clerk, order.id))
    order = w.repairs.approve_estimate(w.clerk, order.id, approved_by="Mr Zhao (phone)")
    assert order.estimates[-1].answered_by == "Mr Zhao (phone)"
    order = w.repairs.start_repair(w.engineer, order.id)
    assert order.state == DepotState.REPAIRING


def test_r13_declined_estimate_returns_the_unit_with_the_diagnosis_fee() -> None:
    w = World(RepairPolicy(diagnosis_fee=cny(50)))
    order = w.diagnosed(w.old_unit)
    w.repairs.send_estimate(w.engineer, order.id, lines=[labour()])
    order = w.repairs.decline_estimate(w.zhao, order.id, reason="too dear")
    assert order.state == DepotState.DECLINED and order.amount_due() == cny(50)
    w.refused(GuardFailed, lambda: w.repairs.return_unrepaired(w.clerk, order.id,
                                                               signed_by="Mr Zhao"))
    w.repairs.settle(w.clerk, order.id, amount=cny(50))
    order = w.repairs.return_unrepaired(w.clerk, order.id, signed_by="Mr Zhao")
    assert order.state == DepotState.RETURNED
    assert w.request_of(order) == RequestState.RESOLVED


def test_r13_additional_work_needs_new_consent_and_moves_the_promise(w: World) -> None:
    order = w.repairs.start_repair(w.engineer, w.approved().id)
    promised = order.promised_at
    order = w.repairs.propose_additional_work(
        w.engineer, order.id, lines=[labour("80")], reason="fan worn",
        new_promised_at=promised + 24 * H,
    )
    w.refused(InvalidTransition, lambda: w.repairs.finish_repair(w.engineer, order.id,
                                                                 summary="x"))
    order = w.repairs.approve_additional_work(w.zhao, order.id)
    assert order.promised_at == promised + 24 * H
    order = w.delivered(w.ready(w.repaired(order)))
    assert order.settlement is not None and order.settlement.total == cny(530)


def test_r22_a_discount_is_granted_by_the_supervisor_who_runs_it_and_settlement_matches(
    w: World,
) -> None:
    """R22: the approval is the supervisor's own command (there is no ``authorized_by``
    argument a clerk could fill with a supervisor's id)."""
    order = w.ready(w.repaired(w.approved()))
    for outsider in (w.clerk, w.rep, w.engineer, w.zhao):

        def grant(actor: Actor = outsider) -> object:
            return w.repairs.apply_discount(actor, order.id, amount=cny(50), reason="loyal")

        assert "supervisor" in w.refused(NotAuthorized, grant)
    w.refused(GuardFailed, lambda: w.repairs.settle(w.clerk, order.id, amount=cny(450)
                                                    - cny(1)))
    order = w.repairs.apply_discount(w.boss, order.id, amount=cny(50), reason="loyal")
    assert order.discount is not None and order.discount.authorized_by == w.boss.id
    assert order.discount.authorized_by_name == w.boss.name
    w.refused(GuardFailed, lambda: w.repairs.settle(w.clerk, order.id, amount=cny(450)))
    order = w.repairs.settle(w.clerk, order.id, amount=cny(400))
    assert order.settlement is not None and order.settlement.total == cny(400)


def test_r22_customer_supplied_parts_void_the_guarantee_on_the_order(w: World) -> None:
    order = w.repairs.start_repair(w.engineer, w.diagnosed().id)
    order = w.repairs.fit_part(w.engineer, order.id, sku="CUST-RAM", source=PartSource.CUSTOMER,
                               description="customer's own RAM", origin=PartOrigin.THIRD_PARTY)
    assert order.guarantee_waiver is not None and "R22" in order.guarantee_waiver
    order = w.delivered(w.ready(w.repaired(order)))
    assert order.part_warranties == ()


def test_disputed_diagnosis_withdraws_the_estimate_and_bills_the_new_one(w: World) -> None:
    """§9 the customer disputes the diagnosis."""
    order = w.diagnosed(w.old_unit)
    w.repairs.send_estimate(w.engineer, order.id, lines=[labour("900")])
    order = w.repairs.reopen_diagnosis(w.engineer, order.id, reason="customer disputes",
                                       kind=ReopenKind.DISPUTED_BY_CUSTOMER)
    assert order.estimates[0].status is EstimateStatus.WITHDRAWN
    order = w.repairs.diagnose(w.engineer, order.id, fault="loose cable", cause="cable",
                               fault_class=FaultClass.QUALITY, fault_kind=FaultKind.HARDWARE,
                               fault_code="HW-OTHER")
    w.repairs.send_estimate(w.engineer, order.id, lines=[labour("100")])
    order = w.repairs.approve_estimate(w.zhao, order.id)
    order = w.delivered(w.ready(w.repaired(order)))
    assert order.settlement is not None and order.settlement.total == cny(100)


def test_engineers_misjudgement_is_corrected_and_the_repair_becomes_free(w: World) -> None:
    """§9 the engineer's own misjudgement: wrongly called customer damage."""
    order = w.diagnosed(fault_class=FaultClass.CUSTOMER_CAUSED)
    w.repairs.send_estimate(w.engineer, order.id, lines=[labour("300")])
    w.repairs.approve_estimate(w.zhao, order.id)
    order = w.repairs.start_repair(w.engineer, order.id)
    order = w.repairs.reopen_diagnosis(w.boss, order.id, reason="misread the corrosion",
                                       kind=ReopenKind.ENGINEER_MISJUDGEMENT)
    order = w.repairs.diagnose(w.engineer, order.id, fault="no power", cause="regulator",
                               fault_class=FaultClass.QUALITY, fault_kind=FaultKind.HARDWARE,
                               fault_code="HW-BOARD")
    assert not order.chargeable
    order = w.delivered(w.ready(w.repaired(order)))
    assert order.settlement is not None and order.settlement.total == cny(0)


def test_refusing_to_pay_because_the_job_is_not_right_means_rework(w: World) -> None:
    """§9 the customer refuses to pay at pick-up: no delivery unsettled, rework, QC again."""
    order = w.ready(w.repaired(w.approved()))
    w.refused(GuardFailed, lambda: w.repairs.deliver(w.clerk, order.id, signed_by="Mr Zhao"))
    order = w.repairs.rework(w.engineer, order.id, reason="customer: still no sound")
    assert order.pickup is None and not order.qc_passed_after_last_repair
    order = w.delivered(w.ready(w.repaired(order)))
    assert order.settlement is not None and order.settlement.total == cny(450)


def test_r25_a_settled_job_is_reworked_locally_and_never_repriced(w: World) -> None:
    order = w.ready(w.repaired(w.approved()))
    order = w.repairs.settle(w.clerk, order.id, amount=cny(450))
    order = w.repairs.rework(w.engineer, order.id, reason="not right")
    w.refused(GuardFailed, lambda: w.repairs.propose_additional_work(
        w.engineer, order.id, lines=[labour()], reason="more",
        new_promised_at=order.promised_at + 24 * H))
    w.refused(GuardFailed, lambda: w.repairs.reopen_diagnosis(
        w.engineer, order.id, reason="x", kind=ReopenKind.NEW_FINDINGS))
    w.refused(GuardFailed, lambda: w.repairs.declare_unrepairable(w.engineer, order.id,
                                                                  reason="x"))
    w.refused(GuardFailed, lambda: w.repairs.send_to_vendor(w.engineer, order.id, reason="x",
                                                            beyond_local_ability=True))
    order = w.ready(w.qc(w.repairs.finish_repair(w.engineer, order.id, summary="fixed"),
                         passed=True))
    order = w.repairs.deliver(w.clerk, order.id, signed_by="Mr Zhao")  # paid already
    assert order.settlement is not None and order.settlement.total == cny(450)


# --- R15/R16: progress, delay, pick-up notice ----------------------------------------------------


def test_r16_pick_up_notice_is_4_h_for_a_job_of_2_days_or_more(w: World) -> None:
    order = w.repaired(w.diagnosed())
    w.clock.advance(timedelta(days=2))
    order = w.repairs.mark_ready(w.clerk, order.id, pickup_at=w.clock.now() + 5 * H)
    assert order.pickup is not None and order.pickup.lead == 4 * H


def test_r15_progress_check_and_an_early_delay_notice(w: World) -> None:
    order = w.diagnosed()
    order = w.repairs.record_progress_check(w.clerk, order.id, note="on track")
    assert order.progress_checked_at is not None
    order = w.repairs.notify_delay(w.clerk, order.id, new_promised_at=order.promised_at + 24 * H,
                                   reason="board on back order", apology="sorry")
    assert order.promise_changes[-1].late_notice is False


# --- R23/R28: deposits and parts -------------------------------------------------------------


def test_r23_an_expensive_part_to_order_waits_for_the_deposit(w: World) -> None:
    order = w.approved([labour(), part_line("1200", to_order=True)])
    order = w.repairs.start_repair(w.engineer, order.id)

    def wait() -> RepairOrder:
        return w.repairs.wait_for_parts(w.engineer, order.id, needed={"VR-1": 1},
                                        reason="board on order")

    w.refused(GuardFailed, wait)
    w.repairs.receive_deposit(w.clerk, order.id, amount=cny(600))
    assert wait().state == DepotState.WAITING_FOR_PARTS


def test_no_spare_part_in_stock_waits_then_reserves_issues_and_closes(w: World) -> None:
    """§9 no spare part in stock (R28): reserve refused, wait, goods receipt, reserve, resume."""
    order = w.repairs.start_repair(w.engineer, w.diagnosed().id)

    def reserve() -> Reservation:
        return w.repairs.reserve_parts(w.engineer, order.id, location_id=w.warehouse,
                                       sku="SSD-1")

    w.refused(GuardFailed, reserve)
    order = w.repairs.wait_for_parts(w.engineer, order.id, needed={"SSD-1": 1},
                                     reason="no SSD")
    w.refused(GuardFailed, lambda: w.repairs.resume_repair(w.engineer, order.id))
    w.repairs.receive_stock(w.clerk, w.warehouse, sku="SSD-1", quantity=1,
                            supplier_id=w.supplier)
    reservation = reserve()
    assert w.store.repairs[order.id].parts_reserved == {"SSD-1": 1}
    order = w.repairs.resume_repair(w.engineer, order.id)
    order = w.delivered(w.ready(w.repaired(order)))
    message = w.refused(GuardFailed, lambda: w.repairs.close_order(w.clerk, order.id))
    assert "R28" in message
    w.repairs.issue_part(w.engineer, w.warehouse, reservation_id=reservation.id)
    assert w.repairs.close_order(w.clerk, order.id).state == DepotState.CLOSED
    assert w.store.stock[w.warehouse].level("SSD-1").on_hand == 0


def test_dead_on_arrival_part_is_replaced_and_recorded_against_the_supplier(w: World) -> None:
    """§9 a dead-on-arrival spare part."""
    order = w.repairs.start_repair(w.engineer, w.diagnosed().id)
    reservation = w.repairs.reserve_parts(w.engineer, order.id, location_id=w.warehouse,
                                          sku="VR-1")
    w.refused(GuardFailed, lambda: w.repairs.report_dead_on_arrival(
        w.engineer, w.warehouse, reservation_id=reservation.id))
    w.repairs.issue_part(w.engineer, w.warehouse, reservation_id=reservation.id)
    stock = w.repairs.report_dead_on_arrival(w.engineer, w.warehouse,
                                             reservation_id=reservation.id, note="dead")
    assert stock.doa[-1].supplier_id == w.supplier and stock.doa[-1].replaced
    assert stock.level("VR-1").on_hand == 0


def test_keeps_the_old_disk(w: World) -> None:
    """§9 the customer keeps the old disk: no swap, no wipe, never returned to a supplier."""
    kept = w.repairs.start_repair(
        w.engineer, w.diagnosed(handling=DataHandling.KEEP_OLD_DISK).id)
    w.refused(GuardFailed, lambda: w.repairs.fit_part(w.engineer, kept.id, sku="SSD-1"))
    w.refused(GuardFailed, lambda: w.repairs.record_repair_work(
        w.engineer, kept.id, description="reinstall", wipes_data=True))
    w.repairs.close_order(w.clerk, w.delivered(w.ready(w.repaired(kept))).id)
    handed = w.repairs.start_repair(
        w.engineer, w.diagnosed(handling=DataHandling.CUSTOMER_KEEPS_DISK).id)
    handed = w.repairs.fit_part(w.engineer, handed.id, sku="SSD-1")
    assert handed.fitted_parts[-1].old_part is OldPartDisposition.HANDED_TO_CUSTOMER
    w.refused(GuardFailed, lambda: w.repairs.return_defective_part(
        w.engineer, w.warehouse, order_id=handed.id, sku="SSD-1"))
    stock = w.repairs.return_defective_part(w.engineer, w.warehouse, order_id=handed.id,
                                            sku="VR-1")
    assert stock.movements[-1].supplier_id == w.supplier


# --- R14: outsourced repair ----------------------------------------------------------------------


def test_r14_only_maker_warranty_or_beyond_local_ability_goes_out(w: World) -> None:
    order = w.approved()
    message = w.refused(GuardFailed, lambda: w.repairs.send_to_vendor(w.engineer, order.id,
                                                                      reason="panel"))
    assert "R14" in message
    repair = w.repairs.send_to_vendor(w.engineer, order.id, reason="panel",
                                      beyond_local_ability=True)
    assert repair.beyond_local_ability and w.store.repairs[order.id].state == (
        DepotState.AT_VENDOR
    )


def test_r14_vendor_loop_reinspection_ledger_and_back_to_depot(w: World) -> None:
    order, repair = w.out_at_vendor()
    ledger = w.repairs.return_ledger(w.clerk)
    assert [line.outsourced_id for line in ledger] == [repair.id]
    w.refused(NotAuthorized, lambda: w.repairs.return_ledger(w.zhao))
    w.repairs.chase_vendor(w.rep, repair.id, response="next week")
    w.repairs.vendor_returned(w.clerk, repair.id, vendor_report="replaced panel")
    checklist = order.qc_checklist
    w.repairs.reinspect(w.engineer, repair.id,
                        results={item: item != checklist[3] for item in checklist})
    w.refused(GuardFailed, lambda: w.repairs.back_to_depot(w.engineer, repair.id))
    w.repairs.record_vendor_failure(w.engineer, repair.id, reason="still dead pixels")
    w.refused(GuardFailed, lambda: w.repairs.choose_vendor(w.clerk, repair.id,
                                                           vendor_id=w.vendors[0].id))
    w.repairs.choose_vendor(w.clerk, repair.id, vendor_id=w.vendors[1].id)
    w.repairs.ship_to_vendor(w.clerk, repair.id, carrier="SF", tracking_number="SF2",
                             voucher="v2", promised_by=w.clock.now() + 72 * H)
    w.repairs.vendor_returned(w.clerk, repair.id, vendor_report="fixed")
    w.repairs.reinspect(w.engineer, repair.id, results=dict.fromkeys(checklist, True))
    repair = w.repairs.back_to_depot(w.engineer, repair.id)
    assert repair.state == OutsourcedState.BACK_AT_DEPOT
    order = w.store.repairs[order.id]
    assert order.state == DepotState.QUALITY_CHECK and not order.qc_passed_after_last_repair
    assert w.repairs.return_ledger(w.clerk) == []
    w.repairs.close_order(w.clerk, w.delivered(w.ready(w.qc(order, passed=True))).id)


def test_r14_the_vendor_loop_is_bounded_then_a_replacement_is_offered() -> None:
    w = World(RepairPolicy(max_vendor_attempts=2))
    order, repair = w.out_at_vendor()
    w.repairs.record_vendor_failure(w.clerk, repair.id, reason="no parts")
    # R14: the failed vendor still holds the unit: it stays in the return ledger, and no
    # other vendor is chosen before it is back
    assert [line.outsourced_id for line in w.repairs.return_ledger(w.clerk)] == [repair.id]
    w.refused(InvalidTransition, lambda: w.repairs.choose_vendor(w.clerk, repair.id,
                                                                 vendor_id=w.vendors[1].id))
    w.repairs.failed_unit_returned(w.clerk, repair.id, note="back by courier")
    assert w.repairs.return_ledger(w.clerk) == []
    w.repairs.choose_vendor(w.clerk, repair.id, vendor_id=w.vendors[1].id)
    w.repairs.record_vendor_failure(w.clerk, repair.id, reason="no parts either")
    w.refused(GuardFailed, lambda: w.repairs.choose_vendor(w.clerk, repair.id,
                                                           vendor_id=w.vendors[2].id))
    w.repairs.offer_replacement_after_vendors(w.boss, repair.id, reason="no vendor can",
                                              model="ThinkBook 2")
    order = w.store.repairs[order.id]
    assert order.state == DepotState.REPLACEMENT_OFFERED
    order = w.repairs.accept_replacement(w.clerk, order.id, serial="N-9", signed_by="Mr Zhao")
    assert w.request_of(order) == RequestState.RESOLVED


def test_r14_giving_up_returns_the_unit_unrepaired(w: World) -> None:
    order, repair = w.out_at_vendor()
    w.repairs.record_vendor_failure(w.clerk, repair.id, reason="obsolete")
    w.repairs.failed_unit_returned(w.clerk, repair.id)
    w.repairs.give_up_outsourcing(w.boss, repair.id, reason="obsolete model")
    order = w.repairs.settle(w.clerk, order.id, amount=cny(0))
    order = w.repairs.return_unrepaired(w.clerk, order.id, signed_by="Mr Zhao")
    assert order.state == DepotState.RETURNED


# --- idempotency, authorization table --------------------------------------------------------


def test_a_repeated_idempotency_key_returns_the_first_result(w: World) -> None:
    order = w.at_depot(sign=False)
    first = w.repairs.sign_intake(w.clerk, order.id, signed_by="Mr Zhao", idempotency_key="k1")
    events = len(w.store.events)
    again = w.repairs.sign_intake(w.clerk, order.id, signed_by="Mr Zhao", idempotency_key="k1")
    assert again.id == first.id and again.version == first.version
    assert len(w.store.events) == events
    order = w.repairs.start_repair(
        w.engineer, w.repairs.diagnose(w.engineer, order.id, fault="x", cause="y",
                                       fault_class=FaultClass.QUALITY,
                                       fault_kind=FaultKind.HARDWARE,
                                       fault_code="HW-BOARD").id)
    r1 = w.repairs.reserve_parts(w.engineer, order.id, location_id=w.warehouse, sku="VR-1",
                                 idempotency_key="res")
    r2 = w.repairs.reserve_parts(w.engineer, order.id, location_id=w.warehouse, sku="VR-1",
                                 idempotency_key="res")
    assert r1 == r2 and w.store.stock[w.warehouse].level("VR-1").reserved == 1
    assert w.store.repairs[order.id].parts_reserved == {"VR-1": 1}

    def fan() -> UUID:
        return w.repairs.add_part(w.clerk, sku="FAN-1", name="fan", origin=PartOrigin.OEM,
                                  unit_price=cny(30), idempotency_key="p").id

    assert fan() == fan()
    assert [p.sku for p in w.store.parts.values()].count("FAN-1") == 1


def test_r30_every_command_of_both_desks_has_a_permission_and_every_permission_a_user() -> None:
    """R30: each command states who may do it (one table for every context)."""
    w = World()
    commands = set(typed_methods(w.repairs)) | set(typed_methods(w.desk))
    queries = set(QUERIES)
    assert commands - queries <= set(DEFAULT_PERMISSIONS), sorted(
        commands - queries - set(DEFAULT_PERMISSIONS))
    assert {c.name for c in w.desk.handlers} <= set(DEFAULT_PERMISSIONS)
    query_actions = {"view", "view_return_ledger", "view_stock"}
    assert set(DEFAULT_PERMISSIONS) - query_actions == {c.name for c in w.desk.handlers}


def test_events_of_outsourcing_and_stock_are_published(w: World) -> None:
    w.out_at_vendor()
    kinds = {type(e) for e in w.published.events}
    assert {rev.OutsourcingOpened, rev.ShippedToVendor, rev.PartsReceived} <= kinds


# --- bad input: every command refuses with a specific error and changes nothing -----------


Case = Callable[[World], tuple[type[AftersalesError], Callable[[], object]]]
BAD: dict[str, Case] = {}


def bad(name: str) -> Callable[[Case], Case]:
    def register(case: Case) -> Case:
        BAD[name] = case
        return case

    return register


def _intake() -> Intake:
    return Intake(appearance="ok", configuration="ok", accessories=(),
                  data_handling=DataHandling.WIPE_ALLOWED)


def _handed(w: World, *, with_unit: bool = True) -> UUID:
    request = w.desk.register_request(w.clerk, customer_id=w.customer.id, summary="x",
                                      equipment_id=w.new_unit.id if with_unit else None)
    w.desk.assign(w.clerk, request.id, engineer_id=w.engineer.id)
    w.desk.start_remote(w.engineer, request.id)
    w.desk.hand_to_depot(w.engineer, request.id, reason="hw")
    return request.id


@bad("receive_at_depot: an engineer is not intake staff")
def _(w: World) -> Any:
    rid = _handed(w)
    return NotAuthorized, lambda: w.repairs.receive_at_depot(
        w.engineer, rid, intake=_intake(), promised_at=T0 + 48 * H)


@bad("receive_at_depot: promised before intake")
def _(w: World) -> Any:
    rid = _handed(w)
    return ValidationError, lambda: w.repairs.receive_at_depot(
        w.clerk, rid, intake=_intake(), promised_at=T0 - H)


@bad("receive_at_depot: unknown request")
def _(w: World) -> Any:
    return NotFound, lambda: w.repairs.receive_at_depot(
        w.clerk, UNKNOWN, intake=_intake(), promised_at=T0 + 48 * H)


@bad("receive_at_depot: another customer's unit")
def _(w: World) -> Any:
    rid = _handed(w, with_unit=False)  # a request naming no unit
    alien = w.desk.register_equipment(w.clerk, serial="Q-1", model="X", owner_id=w.other.id)
    return ValidationError, lambda: w.repairs.receive_at_depot(
        w.clerk, rid, intake=_intake(), promised_at=T0 + 48 * H, equipment_id=alien.id)


@bad("receive_at_depot: not an actor")
def _(w: World) -> Any:
    rid = _handed(w)
    return ValidationError, lambda: w.repairs.receive_at_depot(
        "clerk", rid, intake=_intake(), promised_at=T0 + 48 * H)  # type: ignore[arg-type]


@bad("sign_intake: blank signature")
def _(w: World) -> Any:
    o = w.at_depot(sign=False)
    return ValidationError, lambda: w.repairs.sign_intake(w.clerk, o.id, signed_by=" ")


@bad("sign_intake: by an engineer")
def _(w: World) -> Any:
    o = w.at_depot(sign=False)
    return NotAuthorized, lambda: w.repairs.sign_intake(w.engineer, o.id, signed_by="Zhao")


@bad("sign_intake: twice")
def _(w: World) -> Any:
    o = w.at_depot()
    return InvalidTransition, lambda: w.repairs.sign_intake(w.clerk, o.id, signed_by="Zhao")


@bad("sign_intake: unknown order")
def _(w: World) -> Any:
    return NotFound, lambda: w.repairs.sign_intake(w.clerk, UNKNOWN, signed_by="Zhao")


@bad("sign_intake: blank idempotency key")
def _(w: World) -> Any:
    o = w.at_depot(sign=False)
    return ValidationError, lambda: w.repairs.sign_intake(w.clerk, o.id, signed_by="Zhao",
                                                          idempotency_key=" ")


def _diagnose(w: World, actor: Actor, order_id: UUID, **kw: Any) -> RepairOrder:
    args: dict[str, Any] = {"fault": "x", "cause": "y", "fault_class": FaultClass.QUALITY,
                            "fault_kind": FaultKind.HARDWARE, "fault_code": "HW-BOARD"}
    args.update(kw)
    return w.repairs.diagnose(actor, order_id, **args)


@bad("diagnose: intake not signed")
def _(w: World) -> Any:
    o = w.at_depot(sign=False)
    return InvalidTransition, lambda: _diagnose(w, w.engineer, o.id)


@bad("diagnose: by a clerk")
def _(w: World) -> Any:
    o = w.at_depot()
    return NotAuthorized, lambda: _diagnose(w, w.clerk, o.id)


@bad("diagnose: unknown finding")
def _(w: World) -> Any:
    o = w.at_depot()
    return ValidationError, lambda: _diagnose(w, w.engineer, o.id, findings=["spilled tea"])


@bad("diagnose: blank fault")
def _(w: World) -> Any:
    o = w.at_depot()
    return ValidationError, lambda: _diagnose(w, w.engineer, o.id, fault="")


@bad("reopen_diagnosis: unknown kind")
def _(w: World) -> Any:
    o = w.repairs.start_repair(w.engineer, w.diagnosed().id)
    return ValidationError, lambda: w.repairs.reopen_diagnosis(w.engineer, o.id, reason="x",
                                                               kind="whim")  # type: ignore[arg-type]


@bad("reopen_diagnosis: from quality check")
def _(w: World) -> Any:
    o = w.repaired(w.diagnosed())
    return InvalidTransition, lambda: w.repairs.reopen_diagnosis(
        w.engineer, o.id, reason="x", kind=ReopenKind.NEW_FINDINGS)


@bad("send_estimate: the repair is free")
def _(w: World) -> Any:
    o = w.diagnosed()
    return GuardFailed, lambda: w.repairs.send_estimate(w.engineer, o.id, lines=[labour()])


@bad("send_estimate: no lines")
def _(w: World) -> Any:
    o = w.diagnosed(w.old_unit)
    return ValidationError, lambda: w.repairs.send_estimate(w.engineer, o.id, lines=[])


@bad("send_estimate: wrong currency")
def _(w: World) -> Any:
    o = w.diagnosed(w.old_unit)
    line = EstimateLine(EstimateBasis.SYSTEM, "s", "d", LineKind.LABOUR, Money(Decimal(1), "USD"))
    return ValidationError, lambda: w.repairs.send_estimate(w.engineer, o.id, lines=[line])


def _awaiting(w: World) -> RepairOrder:
    o = w.diagnosed(w.old_unit)
    return w.repairs.send_estimate(w.engineer, o.id, lines=[labour()])


@bad("approve_estimate: another customer")
def _(w: World) -> Any:
    o = _awaiting(w)
    return NotAuthorized, lambda: w.repairs.approve_estimate(w.qian, o.id)


@bad("approve_estimate: staff without the customer's name")
def _(w: World) -> Any:
    o = _awaiting(w)
    return ValidationError, lambda: w.repairs.approve_estimate(w.rep, o.id)


@bad("approve_estimate: nothing pending")
def _(w: World) -> Any:
    o = w.diagnosed(w.old_unit)
    return InvalidTransition, lambda: w.repairs.approve_estimate(w.zhao, o.id)


@bad("decline_estimate: blank reason")
def _(w: World) -> Any:
    o = _awaiting(w)
    return ValidationError, lambda: w.repairs.decline_estimate(w.zhao, o.id, reason="")


@bad("decline_estimate: by an engineer")
def _(w: World) -> Any:
    o = _awaiting(w)
    return NotAuthorized, lambda: w.repairs.decline_estimate(w.engineer, o.id, reason="x",
                                                             declined_by="Zhao")


@bad("start_repair: chargeable, not approved")
def _(w: World) -> Any:
    o = w.diagnosed(w.old_unit)
    return GuardFailed, lambda: w.repairs.start_repair(w.engineer, o.id)


@bad("start_repair: by a clerk")
def _(w: World) -> Any:
    o = w.diagnosed()
    return NotAuthorized, lambda: w.repairs.start_repair(w.clerk, o.id)


def _repairing(w: World, **kw: Any) -> RepairOrder:
    return w.repairs.start_repair(w.engineer, w.diagnosed(**kw).id)


@bad("record_repair_work: wipe not allowed")
def _(w: World) -> Any:
    o = _repairing(w, handling=DataHandling.KEEP_OLD_DISK)
    return GuardFailed, lambda: w.repairs.record_repair_work(w.engineer, o.id,
                                                             description="x", wipes_data=True)


@bad("record_repair_work: blank description")
def _(w: World) -> Any:
    o = _repairing(w)
    return ValidationError, lambda: w.repairs.record_repair_work(w.engineer, o.id,
                                                                 description="")


@bad("fit_part: not in the catalogue")
def _(w: World) -> Any:
    o = _repairing(w)
    return NotFound, lambda: w.repairs.fit_part(w.engineer, o.id, sku="GPU-9")


@bad("fit_part: customer part without description")
def _(w: World) -> Any:
    o = _repairing(w)
    return ValidationError, lambda: w.repairs.fit_part(w.engineer, o.id, sku="RAM",
                                                       source=PartSource.CUSTOMER)


@bad("fit_part: the customer keeps the disk in the unit")
def _(w: World) -> Any:
    o = _repairing(w, handling=DataHandling.KEEP_OLD_DISK)
    return GuardFailed, lambda: w.repairs.fit_part(w.engineer, o.id, sku="SSD-1")


@bad("fit_part: by a clerk")
def _(w: World) -> Any:
    o = _repairing(w)
    return NotAuthorized, lambda: w.repairs.fit_part(w.clerk, o.id, sku="VR-1")


@bad("receive_deposit: zero")
def _(w: World) -> Any:
    o = w.approved()
    return ValidationError, lambda: w.repairs.receive_deposit(w.clerk, o.id, amount=cny(0))


@bad("receive_deposit: by an engineer")
def _(w: World) -> Any:
    o = w.approved()
    return NotAuthorized, lambda: w.repairs.receive_deposit(w.engineer, o.id, amount=cny(9))


@bad("wait_for_parts: unknown sku")
def _(w: World) -> Any:
    o = _repairing(w)
    return NotFound, lambda: w.repairs.wait_for_parts(w.engineer, o.id, needed={"GPU-9": 1},
                                                      reason="x")


@bad("wait_for_parts: nothing needed")
def _(w: World) -> Any:
    o = _repairing(w)
    return ValidationError, lambda: w.repairs.wait_for_parts(w.engineer, o.id, needed={},
                                                             reason="x")


@bad("wait_for_parts: not repairing")
def _(w: World) -> Any:
    o = w.diagnosed()
    return InvalidTransition, lambda: w.repairs.wait_for_parts(w.engineer, o.id,
                                                               needed={"VR-1": 1}, reason="x")


@bad("reserve_parts: more than available")
def _(w: World) -> Any:
    o = _repairing(w)
    return GuardFailed, lambda: w.repairs.reserve_parts(w.engineer, o.id,
                                                        location_id=w.warehouse, sku="VR-1",
                                                        quantity=3)


@bad("reserve_parts: unknown location")
def _(w: World) -> Any:
    o = _repairing(w)
    return NotFound, lambda: w.repairs.reserve_parts(w.engineer, o.id, location_id=UNKNOWN,
                                                     sku="VR-1")


@bad("reserve_parts: before repair")
def _(w: World) -> Any:
    o = w.diagnosed()
    return InvalidTransition, lambda: w.repairs.reserve_parts(w.engineer, o.id,
                                                              location_id=w.warehouse,
                                                              sku="VR-1")


@bad("reserve_parts: by a customer")
def _(w: World) -> Any:
    o = _repairing(w)
    return NotAuthorized, lambda: w.repairs.reserve_parts(w.zhao, o.id,
                                                          location_id=w.warehouse, sku="VR-1")


@bad("resume_repair: parts still missing")
def _(w: World) -> Any:
    o = _repairing(w)
    w.repairs.wait_for_parts(w.engineer, o.id, needed={"SSD-1": 1}, reason="x")
    return GuardFailed, lambda: w.repairs.resume_repair(w.engineer, o.id)


@bad("propose_additional_work: promise not later")
def _(w: World) -> Any:
    o = w.repairs.start_repair(w.engineer, w.approved().id)
    return ValidationError, lambda: w.repairs.propose_additional_work(
        w.engineer, o.id, lines=[labour()], reason="x", new_promised_at=o.promised_at)


@bad("propose_additional_work: by a customer")
def _(w: World) -> Any:
    o = w.repairs.start_repair(w.engineer, w.approved().id)
    return NotAuthorized, lambda: w.repairs.propose_additional_work(
        w.zhao, o.id, lines=[labour()], reason="x", new_promised_at=o.promised_at + H)


@bad("approve_additional_work: nothing proposed")
def _(w: World) -> Any:
    o = w.repairs.start_repair(w.engineer, w.approved().id)
    return InvalidTransition, lambda: w.repairs.approve_additional_work(w.zhao, o.id)


@bad("decline_additional_work: another customer")
def _(w: World) -> Any:
    o = w.repairs.start_repair(w.engineer, w.approved().id)
    w.repairs.propose_additional_work(w.engineer, o.id, lines=[labour()], reason="x",
                                      new_promised_at=o.promised_at + H)
    return NotAuthorized, lambda: w.repairs.decline_additional_work(w.qian, o.id)


@bad("finish_repair: blank summary")
def _(w: World) -> Any:
    o = _repairing(w)
    return ValidationError, lambda: w.repairs.finish_repair(w.engineer, o.id, summary="")


@bad("finish_repair: not repairing")
def _(w: World) -> Any:
    o = w.diagnosed()
    return InvalidTransition, lambda: w.repairs.finish_repair(w.engineer, o.id, summary="x")


@bad("record_qc: an item unanswered")
def _(w: World) -> Any:
    o = w.repairs.finish_repair(w.engineer, _repairing(w).id, summary="x")
    return ValidationError, lambda: w.repairs.record_qc(
        w.engineer, o.id, results=dict.fromkeys(o.qc_checklist[1:], True))


@bad("record_qc: by a customer")
def _(w: World) -> Any:
    o = w.repairs.finish_repair(w.engineer, _repairing(w).id, summary="x")
    return NotAuthorized, lambda: w.repairs.record_qc(
        w.zhao, o.id, results=dict.fromkeys(o.qc_checklist, True))


@bad("rework: while repairing")
def _(w: World) -> Any:
    o = _repairing(w)
    return InvalidTransition, lambda: w.repairs.rework(w.engineer, o.id, reason="x")


@bad("record_progress_check: blank note")
def _(w: World) -> Any:
    o = w.diagnosed()
    return ValidationError, lambda: w.repairs.record_progress_check(w.clerk, o.id, note="")


@bad("record_progress_check: at intake")
def _(w: World) -> Any:
    o = w.at_depot(sign=False)
    return InvalidTransition, lambda: w.repairs.record_progress_check(w.clerk, o.id, note="x")


@bad("notify_delay: not later")
def _(w: World) -> Any:
    o = w.diagnosed()
    return ValidationError, lambda: w.repairs.notify_delay(
        w.clerk, o.id, new_promised_at=o.promised_at - H, reason="x", apology="sorry")


@bad("notify_delay: by an engineer")
def _(w: World) -> Any:
    o = w.diagnosed()
    return NotAuthorized, lambda: w.repairs.notify_delay(
        w.engineer, o.id, new_promised_at=o.promised_at + H, reason="x", apology="sorry")


@bad("mark_ready: QC not passed")
def _(w: World) -> Any:
    o = w.qc(w.repairs.finish_repair(w.engineer, _repairing(w).id, summary="x"), passed=False)
    return GuardFailed, lambda: w.ready(o)


@bad("mark_ready: less than the R16 notice")
def _(w: World) -> Any:
    o = w.repaired(w.diagnosed())
    return ValidationError, lambda: w.repairs.mark_ready(w.clerk, o.id,
                                                         pickup_at=w.clock.now() + H / 2)


def _ready(w: World) -> RepairOrder:
    return w.ready(w.repaired(w.approved()))


@bad("apply_discount: by a clerk")
def _(w: World) -> Any:
    o = _ready(w)
    return NotAuthorized, lambda: w.repairs.apply_discount(w.clerk, o.id, amount=cny(10),
                                                           reason="x")


@bad("apply_discount: a supervisor who is not in the directory")
def _(w: World) -> Any:
    o = _ready(w)
    stranger = Actor(UNKNOWN, "Fake Boss", {Role.SUPERVISOR})
    return NotAuthorized, lambda: w.repairs.apply_discount(stranger, o.id, amount=cny(10),
                                                           reason="x")


@bad("apply_discount: above what is due")
def _(w: World) -> Any:
    o = _ready(w)
    return GuardFailed, lambda: w.repairs.apply_discount(w.boss, o.id, amount=cny(451),
                                                         reason="x")


@bad("apply_discount: by an engineer")
def _(w: World) -> Any:
    o = _ready(w)
    return NotAuthorized, lambda: w.repairs.apply_discount(w.engineer, o.id, amount=cny(10),
                                                           reason="x")


@bad("apply_discount: zero")
def _(w: World) -> Any:
    o = _ready(w)
    return ValidationError, lambda: w.repairs.apply_discount(w.boss, o.id, amount=cny(0),
                                                             reason="x")


@bad("settle: wrong amount")
def _(w: World) -> Any:
    o = _ready(w)
    return GuardFailed, lambda: w.repairs.settle(w.clerk, o.id, amount=cny(449))


@bad("settle: wrong currency")
def _(w: World) -> Any:
    o = _ready(w)
    return ValidationError, lambda: w.repairs.settle(w.clerk, o.id,
                                                     amount=Money(Decimal(450), "USD"))


@bad("settle: by a customer")
def _(w: World) -> Any:
    o = _ready(w)
    return NotAuthorized, lambda: w.repairs.settle(w.zhao, o.id, amount=cny(450))


@bad("deliver: not settled")
def _(w: World) -> Any:
    o = _ready(w)
    return GuardFailed, lambda: w.repairs.deliver(w.clerk, o.id, signed_by="Zhao")


@bad("deliver: blank signature")
def _(w: World) -> Any:
    o = w.repairs.settle(w.clerk, _ready(w).id, amount=cny(450))
    return ValidationError, lambda: w.repairs.deliver(w.clerk, o.id, signed_by="")


@bad("deliver: by an engineer")
def _(w: World) -> Any:
    o = w.repairs.settle(w.clerk, _ready(w).id, amount=cny(450))
    return NotAuthorized, lambda: w.repairs.deliver(w.engineer, o.id, signed_by="Zhao")


@bad("close_order: not delivered")
def _(w: World) -> Any:
    o = _ready(w)
    return InvalidTransition, lambda: w.repairs.close_order(w.clerk, o.id)


@bad("close_order: a reservation still holds stock")
def _(w: World) -> Any:
    o = _repairing(w)
    w.repairs.reserve_parts(w.engineer, o.id, location_id=w.warehouse, sku="VR-1")
    o = w.delivered(w.ready(w.repaired(w.store.repairs[o.id])))
    return GuardFailed, lambda: w.repairs.close_order(w.clerk, o.id)


@bad("close_order: by an engineer")
def _(w: World) -> Any:
    o = w.delivered(_ready(w))
    return NotAuthorized, lambda: w.repairs.close_order(w.engineer, o.id)


@bad("declare_unrepairable: blank reason")
def _(w: World) -> Any:
    o = w.diagnosed()
    return ValidationError, lambda: w.repairs.declare_unrepairable(w.engineer, o.id, reason="")


@bad("declare_unrepairable: by a customer")
def _(w: World) -> Any:
    o = w.diagnosed()
    return NotAuthorized, lambda: w.repairs.declare_unrepairable(w.zhao, o.id, reason="x")


@bad("offer_replacement: no grounds")
def _(w: World) -> Any:
    o = w.diagnosed()
    return GuardFailed, lambda: w.repairs.offer_replacement(w.boss, o.id, model="X2")


@bad("offer_replacement: by an engineer")
def _(w: World) -> Any:
    o = w.repairs.declare_unrepairable(w.engineer, w.diagnosed().id, reason="x")
    return NotAuthorized, lambda: w.repairs.offer_replacement(w.engineer, o.id, model="X2")


@bad("accept_replacement: nothing offered")
def _(w: World) -> Any:
    o = w.repairs.declare_unrepairable(w.engineer, w.diagnosed().id, reason="x")
    return InvalidTransition, lambda: w.repairs.accept_replacement(w.clerk, o.id, serial="S",
                                                                   signed_by="Zhao")


@bad("accept_replacement: blank serial")
def _(w: World) -> Any:
    o = w.repairs.declare_unrepairable(w.engineer, w.diagnosed().id, reason="x")
    o = w.repairs.offer_replacement(w.boss, o.id, model="X2")
    return ValidationError, lambda: w.repairs.accept_replacement(w.clerk, o.id, serial="",
                                                                 signed_by="Zhao")


@bad("return_unrepaired: not settled")
def _(w: World) -> Any:
    o = w.repairs.declare_unrepairable(w.engineer, w.diagnosed().id, reason="x")
    return GuardFailed, lambda: w.repairs.return_unrepaired(w.clerk, o.id, signed_by="Zhao")


@bad("return_unrepaired: repair still going")
def _(w: World) -> Any:
    o = _repairing(w)
    return InvalidTransition, lambda: w.repairs.return_unrepaired(w.clerk, o.id,
                                                                  signed_by="Zhao")


@bad("send_to_vendor: out of warranty, within our ability")
def _(w: World) -> Any:
    o = w.approved()
    return GuardFailed, lambda: w.repairs.send_to_vendor(w.engineer, o.id, reason="x")


@bad("send_to_vendor: by a customer")
def _(w: World) -> Any:
    o = w.diagnosed()
    return NotAuthorized, lambda: w.repairs.send_to_vendor(w.zhao, o.id, reason="x")


@bad("send_to_vendor: already at a vendor")
def _(w: World) -> Any:
    o, _ = w.out_at_vendor()
    return InvalidTransition, lambda: w.repairs.send_to_vendor(w.engineer, o.id, reason="x")


@bad("send_to_vendor: blank reason")
def _(w: World) -> Any:
    o = w.diagnosed()
    return ValidationError, lambda: w.repairs.send_to_vendor(w.engineer, o.id, reason="")


def _opened(w: World) -> OutsourcedRepair:
    return w.repairs.send_to_vendor(w.engineer, w.diagnosed().id, reason="panel")


@bad("choose_vendor: unknown vendor")
def _(w: World) -> Any:
    r = _opened(w)
    return NotFound, lambda: w.repairs.choose_vendor(w.clerk, r.id, vendor_id=UNKNOWN)


@bad("choose_vendor: cannot repair it")
def _(w: World) -> Any:
    r = _opened(w)
    return GuardFailed, lambda: w.repairs.choose_vendor(w.clerk, r.id,
                                                        vendor_id=w.vendors[0].id,
                                                        capability="printer")


@bad("choose_vendor: by an engineer")
def _(w: World) -> Any:
    r = _opened(w)
    return NotAuthorized, lambda: w.repairs.choose_vendor(w.engineer, r.id,
                                                          vendor_id=w.vendors[0].id)


@bad("choose_vendor: unknown outsourced repair")
def _(w: World) -> Any:
    return NotFound, lambda: w.repairs.choose_vendor(w.clerk, UNKNOWN, vendor_id=UNKNOWN)


@bad("ship_to_vendor: no vendor chosen")
def _(w: World) -> Any:
    r = _opened(w)
    return InvalidTransition, lambda: w.repairs.ship_to_vendor(
        w.clerk, r.id, carrier="SF", tracking_number="1", voucher="v",
        promised_by=w.clock.now() + 48 * H)


@bad("ship_to_vendor: promise in the past")
def _(w: World) -> Any:
    r = w.repairs.choose_vendor(w.clerk, _opened(w).id, vendor_id=w.vendors[0].id)
    return ValidationError, lambda: w.repairs.ship_to_vendor(
        w.clerk, r.id, carrier="SF", tracking_number="1", voucher="v", promised_by=T0 - H)


@bad("chase_vendor: blank response")
def _(w: World) -> Any:
    _, r = w.out_at_vendor()
    return ValidationError, lambda: w.repairs.chase_vendor(w.clerk, r.id, response="")


@bad("chase_vendor: by a customer")
def _(w: World) -> Any:
    _, r = w.out_at_vendor()
    return NotAuthorized, lambda: w.repairs.chase_vendor(w.zhao, r.id, response="where?")


@bad("vendor_returned: not shipped")
def _(w: World) -> Any:
    r = _opened(w)
    return InvalidTransition, lambda: w.repairs.vendor_returned(w.clerk, r.id,
                                                                vendor_report="x")


def _returned(w: World) -> OutsourcedRepair:
    _, r = w.out_at_vendor()
    return w.repairs.vendor_returned(w.clerk, r.id, vendor_report="done")


@bad("reinspect: item not on the checklist")
def _(w: World) -> Any:
    r = _returned(w)
    return ValidationError, lambda: w.repairs.reinspect(
        w.engineer, r.id, results={**dict.fromkeys(r.qc_checklist, True), "smell": True})


@bad("reinspect: by a customer rep")
def _(w: World) -> Any:
    r = _returned(w)
    return NotAuthorized, lambda: w.repairs.reinspect(
        w.rep, r.id, results=dict.fromkeys(r.qc_checklist, True))


@bad("back_to_depot: not reinspected")
def _(w: World) -> Any:
    r = _returned(w)
    return GuardFailed, lambda: w.repairs.back_to_depot(w.engineer, r.id)


@bad("record_vendor_failure: blank reason")
def _(w: World) -> Any:
    _, r = w.out_at_vendor()
    return ValidationError, lambda: w.repairs.record_vendor_failure(w.clerk, r.id, reason="")


@bad("record_vendor_failure: nothing out")
def _(w: World) -> Any:
    r = _opened(w)
    return InvalidTransition, lambda: w.repairs.record_vendor_failure(w.clerk, r.id,
                                                                      reason="x")


@bad("offer_replacement_after_vendors: no vendor failed")
def _(w: World) -> Any:
    _, r = w.out_at_vendor()
    return InvalidTransition, lambda: w.repairs.offer_replacement_after_vendors(
        w.boss, r.id, reason="x", model="X2")


@bad("offer_replacement_after_vendors: blank model")
def _(w: World) -> Any:
    _, r = w.out_at_vendor()
    w.repairs.record_vendor_failure(w.clerk, r.id, reason="x")
    return ValidationError, lambda: w.repairs.offer_replacement_after_vendors(
        w.boss, r.id, reason="x", model=" ")


@bad("give_up_outsourcing: by a clerk")
def _(w: World) -> Any:
    _, r = w.out_at_vendor()
    w.repairs.record_vendor_failure(w.clerk, r.id, reason="x")
    return NotAuthorized, lambda: w.repairs.give_up_outsourcing(w.clerk, r.id, reason="x")


@bad("give_up_outsourcing: while the failed vendor still holds the unit")
def _(w: World) -> Any:
    _, r = w.out_at_vendor()
    w.repairs.record_vendor_failure(w.clerk, r.id, reason="x")
    return InvalidTransition, lambda: w.repairs.give_up_outsourcing(w.boss, r.id, reason="x")


@bad("failed_unit_returned: the vendor has not failed")
def _(w: World) -> Any:
    _, r = w.out_at_vendor()
    return InvalidTransition, lambda: w.repairs.failed_unit_returned(w.clerk, r.id)


@bad("failed_unit_returned: by a customer")
def _(w: World) -> Any:
    _, r = w.out_at_vendor()
    w.repairs.record_vendor_failure(w.clerk, r.id, reason="x")
    return NotAuthorized, lambda: w.repairs.failed_unit_returned(w.zhao, r.id)


@bad("assign_repair_engineer: a clerk is not an engineer")
def _(w: World) -> Any:
    o = w.at_depot()
    return ValidationError, lambda: w.repairs.assign_repair_engineer(w.clerk, o.id,
                                                                     engineer_id=w.clerk.id)


@bad("assign_repair_engineer: a deactivated engineer")
def _(w: World) -> Any:
    o = w.at_depot()
    gone = w.desk.register_actor(w.boss, name="Gone Engineer", roles={Role.ENGINEER})
    w.desk.deactivate_actor(w.boss, gone.id, reason="left")
    return ValidationError, lambda: w.repairs.assign_repair_engineer(w.clerk, o.id,
                                                                     engineer_id=gone.id)


@bad("assign_repair_engineer: unknown engineer")
def _(w: World) -> Any:
    o = w.at_depot()
    return NotFound, lambda: w.repairs.assign_repair_engineer(w.clerk, o.id,
                                                              engineer_id=UNKNOWN)


@bad("assign_repair_engineer: by the engineer")
def _(w: World) -> Any:
    o = w.at_depot()
    return NotAuthorized, lambda: w.repairs.assign_repair_engineer(
        w.engineer, o.id, engineer_id=w.engineer.id)


@bad("register_vendor: by a clerk")
def _(w: World) -> Any:
    return NotAuthorized, lambda: w.repairs.register_vendor(w.clerk, name="V", contact="c")


@bad("register_vendor: blank name")
def _(w: World) -> Any:
    return ValidationError, lambda: w.repairs.register_vendor(w.boss, name="", contact="c")


def _add_part(w: World, actor: Actor, **kw: Any) -> object:
    fields: dict[str, Any] = {"sku": "NEW-1", "name": "new", "origin": PartOrigin.OEM,
                              "unit_price": cny(1), **kw}
    return w.repairs.add_part(actor, **fields)


@bad("add_part: sku already in the catalogue")
def _(w: World) -> Any:
    return ValidationError, lambda: _add_part(w, w.clerk, sku="VR-1", name="dup")


@bad("add_part: by an engineer")
def _(w: World) -> Any:
    return NotAuthorized, lambda: _add_part(w, w.engineer)


@bad("add_part: a price that is not Money")
def _(w: World) -> Any:
    return ValidationError, lambda: _add_part(w, w.clerk, unit_price=Decimal(1))


@bad("add_part: a supplier that is not a vendor")
def _(w: World) -> Any:
    return ValidationError, lambda: _add_part(w, w.clerk, supplier_id=w.customer.id)


@bad("open_stock_location: engineer stock of a clerk")
def _(w: World) -> Any:
    return ValidationError, lambda: w.repairs.open_stock_location(
        w.boss, name="van", kind=LocationKind.ENGINEER, engineer_id=w.clerk.id)


@bad("open_stock_location: by a clerk")
def _(w: World) -> Any:
    return NotAuthorized, lambda: w.repairs.open_stock_location(w.clerk, name="W2")


@bad("receive_stock: sku not in the catalogue")
def _(w: World) -> Any:
    return NotFound, lambda: w.repairs.receive_stock(w.clerk, w.warehouse, sku="GPU-9",
                                                     quantity=1)


@bad("receive_stock: zero")
def _(w: World) -> Any:
    return ValidationError, lambda: w.repairs.receive_stock(w.clerk, w.warehouse, sku="VR-1",
                                                            quantity=0)


@bad("receive_stock: unknown location")
def _(w: World) -> Any:
    return NotFound, lambda: w.repairs.receive_stock(w.clerk, UNKNOWN, sku="VR-1", quantity=1)


@bad("receive_stock: by a customer")
def _(w: World) -> Any:
    return NotAuthorized, lambda: w.repairs.receive_stock(w.zhao, w.warehouse, sku="VR-1",
                                                          quantity=1)


def _reserved(w: World) -> UUID:
    o = _repairing(w)
    return w.repairs.reserve_parts(w.engineer, o.id, location_id=w.warehouse, sku="VR-1").id


@bad("issue_part: more than reserved")
def _(w: World) -> Any:
    rid = _reserved(w)
    return GuardFailed, lambda: w.repairs.issue_part(w.engineer, w.warehouse,
                                                     reservation_id=rid, quantity=2)


@bad("issue_part: unknown reservation")
def _(w: World) -> Any:
    return NotFound, lambda: w.repairs.issue_part(w.engineer, w.warehouse,
                                                  reservation_id=UNKNOWN)


@bad("release_parts: nothing left")
def _(w: World) -> Any:
    rid = _reserved(w)
    w.repairs.issue_part(w.engineer, w.warehouse, reservation_id=rid)
    return GuardFailed, lambda: w.repairs.release_parts(w.engineer, w.warehouse,
                                                        reservation_id=rid)


@bad("release_parts: by a customer")
def _(w: World) -> Any:
    rid = _reserved(w)
    return NotAuthorized, lambda: w.repairs.release_parts(w.zhao, w.warehouse,
                                                          reservation_id=rid)


@bad("return_defective_part: unknown order")
def _(w: World) -> Any:
    return NotFound, lambda: w.repairs.return_defective_part(w.engineer, w.warehouse,
                                                             order_id=UNKNOWN, sku="VR-1")


@bad("return_defective_part: zero")
def _(w: World) -> Any:
    o = _repairing(w)
    return ValidationError, lambda: w.repairs.return_defective_part(
        w.engineer, w.warehouse, order_id=o.id, sku="VR-1", quantity=0)


@bad("report_dead_on_arrival: nothing issued")
def _(w: World) -> Any:
    rid = _reserved(w)
    return GuardFailed, lambda: w.repairs.report_dead_on_arrival(w.engineer, w.warehouse,
                                                                 reservation_id=rid)


@bad("get_order: another customer")
def _(w: World) -> Any:
    o = w.at_depot()
    return NotAuthorized, lambda: w.repairs.get_order(w.qian, o.id)


@bad("get_outsourced: another customer")
def _(w: World) -> Any:
    r = _opened(w)
    return NotAuthorized, lambda: w.repairs.get_outsourced(w.qian, r.id)


@bad("get_stock: by a customer")
def _(w: World) -> Any:
    return NotAuthorized, lambda: w.repairs.get_stock(w.zhao, w.warehouse)


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_refused_with_a_specific_error_and_changes_nothing(name: str) -> None:
    world = World()
    error, command = BAD[name](world)
    message = world.refused(error, command)
    assert message  # names the entity, its state and the action (see aftersales.errors)


def test_every_command_has_a_bad_input_case() -> None:
    covered = {name.split(":")[0] for name in BAD}
    commands = set(typed_methods(World().repairs)) - {
        "orders_of_equipment", "orders_of_customer", "return_ledger",
    }
    assert commands <= covered, sorted(commands - covered)


def test_r13_a_request_cannot_be_cancelled_or_resolved_elsewhere_while_its_unit_is_at_the_depot(
    w: World,
) -> None:
    """R13: the request waits ``at_depot`` (there is no desk step that completes it: the
    depot's delivery, return or replacement resolves it, in the same unit of work)."""
    order = w.diagnosed()
    assert w.request_of(order) == RequestState.AT_DEPOT
    message = w.refused(InvalidTransition, lambda: w.desk.cancel(w.clerk, order.request_id,
                                                                  reason="gone"))
    assert "at_depot" in message
    w.refused(InvalidTransition, lambda: w.desk.resolve(w.engineer, order.request_id,
                                                        resolution="done elsewhere"))
    assert not hasattr(w.desk, "complete_depot")
    order = w.closed(order)  # delivery resolves the request instead
    assert w.request_of(order) == RequestState.RESOLVED
