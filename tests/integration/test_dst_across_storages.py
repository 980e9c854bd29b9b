"""R16 across a DST change: the pick-up lead is measured in absolute time and is the same on
every storage. Berlin springs forward on 2026-03-29 (02:00 CET -> 03:00 CEST): a job received
on Friday at 12:00 and ready on Sunday at 12:30 took 47.5 hours, although the wall clock moved
48.5 hours — so it is a job under 2 days and gets the short (1 h) notice, in memory (where the
datetimes keep their ZoneInfo) exactly as on SQL (where they come back in UTC)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

import aftersales as af
from aftersales.adapters.sql import SqlStore
from aftersales.ports import UnitOfWork

BERLIN = ZoneInfo("Europe/Berlin")
RECEIVED = datetime(2026, 3, 27, 12, 0, tzinfo=BERLIN)
READY = datetime(2026, 3, 29, 12, 30, tzinfo=BERLIN)
NY = ZoneInfo("America/New_York")


def _pickup_lead(
    factory: Callable[[], UnitOfWork], kinds: af.Kinds, start: datetime, ready: datetime
) -> timedelta:
    clock = af.ManualClock(start)
    boss = af.Actor(UUID(int=1), "Boss", {af.Role.SUPERVISOR})
    af.enroll_first_supervisor(factory, actor_id=boss.id, name=boss.name, at=start)
    desk = af.ServiceDesk(factory, clock=clock, ids=af.SequentialIds(start=100), kinds=kinds)
    repairs = af.RepairDesk(desk)
    clerk = desk.register_actor(boss, name="Clerk", roles={af.Role.CLERK})
    wang = desk.register_actor(boss, name="Wang", roles={af.Role.ENGINEER})
    acme = desk.register_customer(clerk, name="ACME")
    unit = desk.register_equipment(clerk, serial="S-1", model="T14", owner_id=acme.id,
                                   installed_on=start.date())
    request = desk.register_request(clerk, customer_id=acme.id, equipment_id=unit.id,
                                    summary="no boot")
    desk.assign(clerk, request.id, engineer_id=wang.id)
    desk.start_remote(wang, request.id)
    desk.hand_to_depot(wang, request.id, reason="board")
    order = repairs.receive_at_depot(
        clerk, request.id, promised_at=start + timedelta(days=5),
        intake=af.Intake(appearance="ok", configuration="i5", accessories=(),
                         data_handling=af.DataHandling.WIPE_ALLOWED),
    )
    repairs.sign_intake(clerk, order.id, signed_by="Ms A")
    repairs.diagnose(wang, order.id, fault="dead board", cause="defect",
                     fault_class=af.FaultClass.QUALITY, fault_kind=af.FaultKind.HARDWARE,
                     fault_code="HW-BOARD")
    repairs.start_repair(wang, order.id)
    repairs.finish_repair(wang, order.id, summary="board replaced")
    checklist = repairs.policy.qc_checklist
    repairs.record_qc(wang, order.id, results=dict.fromkeys(checklist, True))
    clock.set(ready)
    order = repairs.mark_ready(clerk, order.id, pickup_at=ready + timedelta(hours=6))
    assert order.pickup is not None
    return order.pickup.lead


def test_r16_the_pickup_lead_across_spring_forward_is_absolute_in_memory() -> None:
    store = af.InMemoryStore()
    assert _pickup_lead(store.unit_of_work, store.kinds, RECEIVED, READY) == timedelta(hours=1)


@pytest.mark.integration
def test_r16_the_pickup_lead_across_spring_forward_is_the_same_on_sql(store: SqlStore) -> None:
    assert _pickup_lead(store.unit_of_work, store.kinds, RECEIVED, READY) == timedelta(hours=1)


def test_r16_exactly_two_days_of_absolute_time_across_fall_back_gets_the_long_lead() -> None:
    # New York falls back on 2026-11-01 (02:00 EDT -> 01:00 EST): 48 absolute hours are 47 on
    # the wall clock, and still "2 days or more" (R16: exactly 2 days gets 4 h).
    start = datetime(2026, 10, 31, 9, 0, tzinfo=NY)
    ready = start.astimezone(UTC) + timedelta(days=2)
    store = af.InMemoryStore()
    lead = _pickup_lead(store.unit_of_work, store.kinds, start, ready.astimezone(NY))
    assert lead == timedelta(hours=4)



@pytest.mark.integration
def test_r9_a_request_registered_in_a_repeated_hour_loads_back_on_sql(store: SqlStore) -> None:
    # 01:30 on 2026-11-01 happens twice in New York; PEP 495 makes such a datetime unequal to
    # every datetime of another zone, so the document and its UTC column must be compared as
    # instants, or the request would fail its own load as "tampered".
    at = datetime(2026, 11, 1, 1, 30, tzinfo=NY)
    clock = af.ManualClock(at)
    boss = af.Actor(UUID(int=1), "Boss", {af.Role.SUPERVISOR})
    af.enroll_first_supervisor(store.unit_of_work, actor_id=boss.id, name=boss.name, at=at)
    desk = af.ServiceDesk(store.unit_of_work, clock=clock, ids=af.SequentialIds(start=100),
                          kinds=store.kinds)
    clerk = desk.register_actor(boss, name="Clerk", roles={af.Role.CLERK})
    acme = desk.register_customer(clerk, name="ACME")
    request = desk.register_request(clerk, customer_id=acme.id, summary="repeated hour")
    loaded = desk.get_request(clerk, request.id)
    assert loaded.registered_at.astimezone(UTC) == at.astimezone(UTC)
    assert desk.find_requests(clerk, customer_id=acme.id)[0].id == request.id
