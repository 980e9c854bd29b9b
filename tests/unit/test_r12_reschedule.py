"""R12: a visit that cannot be kept as promised is rescheduled with the reason recorded — and
the record and the event say which promised time it replaces, not only the new one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import UUID

import aftersales as af
from aftersales.domain.events import VisitRescheduled

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=CST)


def _onsite_request() -> tuple[af.ServiceDesk, af.InMemoryStore, af.Actor, af.ServiceRequest]:
    boss = af.Actor(UUID(int=1), "Boss", {af.Role.SUPERVISOR})
    desk, store = af.in_memory_desk(supervisor=boss, clock=af.ManualClock(T0),
                                    ids=af.SequentialIds(start=10))
    clerk = desk.register_actor(boss, name="Clerk", roles={af.Role.CLERK})
    wang = desk.register_actor(boss, name="Wang", roles={af.Role.ENGINEER})
    acme = desk.register_customer(clerk, name="ACME")
    request = desk.register_request(clerk, customer_id=acme.id, summary="printer jams")
    desk.assign(clerk, request.id, engineer_id=wang.id)
    request = desk.start_onsite(wang, request.id, promised_at=T0 + timedelta(hours=5))
    return desk, store, clerk, request


def test_r12_a_reschedule_records_the_promised_time_it_replaces() -> None:
    desk, store, clerk, request = _onsite_request()
    new_time = T0 + timedelta(days=1, hours=2)
    request = desk.reschedule(clerk, request.id, new_time=new_time, reason="engineer ill")
    entry = request.record[-1]
    assert entry.action == "reschedule"
    assert (T0 + timedelta(hours=5)).isoformat() in entry.note
    assert new_time.isoformat() in entry.note and "engineer ill" in entry.note
    event = store.events[-1]
    assert isinstance(event, VisitRescheduled)
    assert event.previous_time == T0 + timedelta(hours=5)
    assert event.new_time == new_time and event.reason == "engineer ill"


def test_r12_a_second_reschedule_replaces_the_first_new_time() -> None:
    desk, store, clerk, request = _onsite_request()
    first = T0 + timedelta(days=1)
    second = T0 + timedelta(days=2)
    desk.reschedule(clerk, request.id, new_time=first, reason="customer away")
    request = desk.reschedule(clerk, request.id, new_time=second, reason="part late")
    event = store.events[-1]
    assert isinstance(event, VisitRescheduled)
    assert (event.previous_time, event.new_time) == (first, second)
    job = request.current_job
    assert isinstance(job, af.domain.OnSiteJob)
    assert [(r.previous, r.new) for r in job.reschedules] == [
        (T0 + timedelta(hours=5), first), (first, second)
    ]
