"""The depot and outsourced flows through RepairDesk on every SQL engine (R13, R14, R22, R25).

One chargeable depot repair with approved additional work, settled, delivered and closed; one
in-warranty unit sent out to a vendor that fails (the unit stays in the return ledger until it
comes back), then to a second vendor that repairs it. Everything reads back from the database
with intact records, and the outbox holds each aggregate's events once, in sequence.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import sqlalchemy as sa

from aftersales import (
    ManualClock,
    Money,
    RepairDesk,
    RequestState,
    Role,
    ServiceDesk,
    enroll_first_supervisor,
)
from aftersales.adapters.sql import SqlStore
from aftersales.adapters.system import SequentialIds
from aftersales.domain.parts import PartOrigin, PartSource
from aftersales.domain.repair import (
    REPAIR_ORDERS,
    DataHandling,
    DepotState,
    EstimateBasis,
    EstimateLine,
    FaultClass,
    FaultKind,
    Intake,
    LineKind,
    OutsourcedState,
)
from aftersales.workflows import verify_outsourced_record, verify_record, verify_repair_record

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BOSS_ID = UUID(int=1)


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


def test_r13_r14_a_depot_repair_with_additional_work_and_a_failed_vendor_round_trips(
    store: SqlStore,
) -> None:
    """R13/R22/R25 and R14 end to end on SQL storage: every step through the typed desk
    methods, every aggregate read back from the database intact."""
    clock = ManualClock(T0, step=timedelta(minutes=1))
    enroll_first_supervisor(store.unit_of_work, actor_id=BOSS_ID, name="boss", at=T0)
    desk = ServiceDesk(store.unit_of_work, clock=clock, ids=SequentialIds(start=1000),
                       kinds=store.kinds)
    repairs = RepairDesk(desk)
    clerk = desk.register_actor(BOSS_ID, name="clerk", roles={Role.CLERK})
    eng = desk.register_actor(BOSS_ID, name="engineer", roles={Role.ENGINEER})
    acme = desk.register_customer(clerk, name="北京华信科技有限公司")
    owner = desk.register_actor(BOSS_ID, name="周经理", roles={Role.CUSTOMER},
                                customer_id=acme.id)
    old = desk.register_equipment(clerk, serial="LT-1", model="T14", owner_id=acme.id,
                                  installed_on=date(2023, 1, 10))
    new = desk.register_equipment(clerk, serial="SRV-1", model="R740", owner_id=acme.id,
                                  installed_on=date(2026, 6, 1))
    vendors = [repairs.register_vendor(BOSS_ID, name=n, contact="010-1", capabilities=("server",))
               for n in ("North station", "Maker centre")]

    def at_depot(unit_id: UUID) -> tuple[UUID, UUID]:
        r = desk.register_request(clerk, customer_id=acme.id, equipment_id=unit_id,
                                  summary="故障 fault")
        desk.assign(clerk, r.id, engineer_id=eng.id)
        desk.start_remote(eng, r.id)
        desk.hand_to_depot(eng, r.id, reason="hardware")
        o = repairs.receive_at_depot(
            clerk, r.id, promised_at=clock.now() + timedelta(days=3),
            intake=Intake(appearance="ok", configuration="cfg", accessories=("charger",),
                          data_handling=DataHandling.KEEP_OLD_DISK),
        )
        repairs.sign_intake(clerk, o.id, signed_by="周经理")
        return r.id, o.id

    # chargeable depot repair with additional work (R13, R22, R25)
    rid, oid = at_depot(old.id)
    repairs.diagnose(eng, oid, fault="no power", cause="regulator", fault_code="HW-POWER",
                     fault_class=FaultClass.QUALITY, fault_kind=FaultKind.HARDWARE)
    repairs.send_estimate(eng, oid, lines=[
        EstimateLine(EstimateBasis.SYMPTOM, "no power", "regulator", LineKind.LABOUR, cny("150")),
    ])
    repairs.approve_estimate(owner, oid)
    repairs.start_repair(eng, oid)
    repairs.propose_additional_work(
        eng, oid, reason="hinge", new_promised_at=clock.now() + timedelta(days=4),
        lines=[EstimateLine(EstimateBasis.ITEM, "hinge", "hinge", LineKind.PART, cny("80"),
                            source=PartSource.OURS, origin=PartOrigin.OEM)],
    )
    repairs.approve_additional_work(owner, oid)
    repairs.finish_repair(eng, oid, summary="done")
    order = repairs.record_qc(eng, oid, results=dict.fromkeys(repairs.policy.qc_checklist, True))
    repairs.mark_ready(clerk, oid, pickup_at=clock.now() + timedelta(hours=2))
    clock.advance(timedelta(hours=2))
    assert order.amount_due() == cny("230")
    repairs.settle(clerk, oid, amount=order.amount_due())
    repairs.deliver(clerk, oid, signed_by="周经理")
    repairs.close_order(clerk, oid)

    # in-warranty unit out to a vendor that fails, then a second one (R14)
    rid2, oid2 = at_depot(new.id)
    repairs.diagnose(eng, oid2, fault="RAID", cause="defect", fault_code="HW-STORAGE",
                     fault_class=FaultClass.QUALITY, fault_kind=FaultKind.HARDWARE)
    trip = repairs.send_to_vendor(eng, oid2, reason="maker only")
    for vendor, fails in ((vendors[0], True), (vendors[1], False)):
        repairs.choose_vendor(clerk, trip.id, vendor_id=vendor.id, capability="server")
        repairs.ship_to_vendor(clerk, trip.id, carrier="SF", tracking_number="SF1",
                               voucher="v", promised_by=clock.now() + timedelta(days=2))
        if fails:
            failed = repairs.record_vendor_failure(clerk, trip.id, reason="no parts")
            assert failed.state == OutsourcedState.FAILED_AT_VENDOR
            assert [line.outsourced_id for line in repairs.return_ledger(clerk)] == [trip.id]
            back = repairs.failed_unit_returned(clerk, trip.id, note="退回")
            assert back.state == OutsourcedState.VENDOR_FAILED
            assert repairs.return_ledger(clerk) == []
    repairs.vendor_returned(clerk, trip.id, vendor_report="fixed")
    repairs.reinspect(eng, trip.id, results=dict.fromkeys(repairs.policy.qc_checklist, True))
    repairs.back_to_depot(eng, trip.id)

    with store.unit_of_work() as uow:
        first, second = uow.repairs.get(oid), uow.repairs.get(oid2)
        out = uow.outsourced.get(trip.id)
        assert first.state == DepotState.CLOSED
        assert first.settlement is not None and first.settlement.total == cny("230")
        assert second.state == DepotState.QUALITY_CHECK
        assert out.state == OutsourcedState.BACK_AT_DEPOT and len(out.attempts) == 2
        assert [a.vendor_id for a in out.attempts] == [v.id for v in vendors]
        assert verify_repair_record(first) == [] and verify_repair_record(second) == []
        assert verify_outsourced_record(out) == []
        request = uow.requests.get(rid)
        assert request.state == RequestState.RESOLVED and verify_record(request) == []
        assert uow.requests.get(rid2).state == RequestState.AT_DEPOT
        assert [o.id for o in uow.repairs.find(customer_id=acme.id)] == [oid, oid2]
    pending = store.outbox().pending(limit=10_000)
    ids = [m.event_id for m in pending]
    assert len(ids) == len(set(ids))
    for aggregate in (oid, oid2, trip.id, rid, rid2):
        sequences = [m.sequence for m in pending if m.aggregate_id == aggregate]
        assert sequences == list(range(1, len(sequences) + 1)) and sequences
    record = store.schema.record(REPAIR_ORDERS)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(record)).scalar_one()
    assert rows == len(first.record) + len(second.record)
