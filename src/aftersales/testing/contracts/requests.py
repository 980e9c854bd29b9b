"""Examples of service requests (R5-R12): registered, then moved along remote, on-site,
escalated, reopened, depot, rejected or cancelled paths by the real workflow steps, so every
reachable state (jobs, contacts, work, reschedules, signed reports with fees) is stored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import attrs
from hypothesis import strategies as st

from aftersales.domain.priority import PriorityMatrix
from aftersales.domain.records import Actor
from aftersales.domain.request import REQUESTS, OnSiteJob, ServiceRequest
from aftersales.domain.values import Category, Channel, Impact, Money, Urgency
from aftersales.ports import UnitOfWork
from aftersales.testing.contracts._shipped import (
    CLERK,
    ENGINEER,
    STAFF,
    SUPERVISOR,
    Action,
    expand,
    first_possible,
    recorded_actors,
    refer_actors,
    refer_customers,
    refer_equipment,
    walk,
)
from aftersales.testing.contracts._support import (
    ids,
    instants,
    long_texts,
    money,
    names,
    texts,
    timezones,
)
from aftersales.testing.contracts.kind import KindExamples
from aftersales.workflows import steps

__all__ = ["RequestExamples"]

_MATRIX = PriorityMatrix()
_OPENED = datetime(2024, 5, 1, 8, 30, tzinfo=timezone(timedelta(hours=8)))


@attrs.frozen
class _Args:
    """Everything a step may need, drawn once per step."""

    actor: Actor
    at: datetime
    later: datetime
    text: str
    note: str
    short: str
    job_id: UUID
    engineer_id: UUID
    channel: Channel
    rating: int | None
    fee: Money | None
    parts: tuple[str, ...]
    promise: bool


_ACTIONS: dict[str, Action[ServiceRequest]] = {
    "route": lambda r, a: steps.route(r, department=a.short, actor=a.actor, at=a.at),
    "assign": lambda r, a: steps.assign(r, engineer_id=a.engineer_id, actor=a.actor, at=a.at),
    "reject": lambda r, a: steps.reject(r, reason=a.text, actor=a.actor, at=a.at),
    "cancel": lambda r, a: steps.cancel(r, reason=a.short, actor=a.actor, at=a.at),
    "start_remote": lambda r, a: steps.start_remote(r, job_id=a.job_id, actor=a.actor,
                                                    at=a.at),
    "record_contact": lambda r, a: steps.record_contact(
        r, channel=a.channel, summary=a.text, actor=a.actor, at=a.at
    ),
    "escalate_onsite": lambda r, a: steps.escalate_onsite(
        r, job_id=a.job_id, reason=a.short, actor=a.actor, at=a.at,
        promised_at=a.later if a.promise else None,
    ),
    "hand_to_depot": lambda r, a: steps.hand_to_depot(r, reason=a.short, actor=a.actor,
                                                      at=a.at),
    "depot_intake": lambda r, a: steps.depot_intake(
        r, order_id=a.job_id, order_number=f"RO-{a.job_id.hex}", actor=a.actor, at=a.at
    ),
    "complete_depot": lambda r, a: steps.complete_depot(r, resolution=a.text, actor=a.actor,
                                                        at=a.at),
    "start_onsite": lambda r, a: steps.start_onsite(
        r, job_id=a.job_id, actor=a.actor, at=a.at, promised_at=a.later if a.promise else None
    ),
    "confirm_need": lambda r, a: steps.confirm_need(r, actor=a.actor, at=a.at, note=a.note),
    "approve_dispatch": lambda r, a: steps.approve_dispatch(r, actor=a.actor, at=a.at),
    "dispatch_emergency": lambda r, a: steps.dispatch_emergency(r, reason=a.short,
                                                                actor=a.actor, at=a.at),
    "retro_approve": lambda r, a: steps.retro_approve(r, actor=a.actor, at=a.at),
    "prepare": lambda r, a: steps.prepare(r, actor=a.actor, at=a.at, note=a.note),
    "depart": lambda r, a: steps.depart(r, actor=a.actor, at=a.at),
    "record_arrival": lambda r, a: steps.record_arrival(r, actor=a.actor, at=a.at),
    "record_work": lambda r, a: steps.record_work(r, description=a.text, actor=a.actor,
                                                  at=a.at),
    "sign_off": lambda r, a: steps.sign_off(
        r, found=a.short, result=a.text, signed_by=a.short, actor=a.actor, at=a.at,
        rating=a.rating, parts_replaced=a.parts, fee=a.fee, open_issues=a.note,
        remarks=a.note,
    ),
    "call_consultation": lambda r, a: steps.call_consultation(r, reason=a.short,
                                                              actor=a.actor, at=a.at),
    "plan_revisit": lambda r, a: steps.plan_revisit(r, plan=a.text, promised_at=a.later,
                                                    actor=a.actor, at=a.at),
    "reschedule": lambda r, a: steps.reschedule(r, new_time=a.later, reason=a.short,
                                                actor=a.actor, at=a.at),
    "resolve": lambda r, a: steps.resolve(r, resolution=a.text, actor=a.actor, at=a.at),
    "confirm": lambda r, a: steps.confirm(r, actor=a.actor, at=a.at, note=a.note),
    "reopen": lambda r, a: steps.reopen(r, reason=a.short, actor=a.actor, at=a.at),
    "close": lambda r, a: steps.close(r, actor=a.actor, at=a.at),
}

_ONSITE = ["confirm_need", "reschedule*", "approve_dispatch", "prepare", "depart",
           "record_arrival", "record_work*"]
_PATHS: dict[str, list[str]] = {  # a trailing * repeats the step 0-3 times
    "remote": ["route", "assign", "start_remote", "record_contact*", "resolve", "confirm",
               "close"],
    "onsite": ["assign", "start_onsite", *_ONSITE, "sign_off", "resolve", "confirm", "close"],
    "emergency": ["assign", "start_onsite", "confirm_need", "dispatch_emergency",
                  "record_arrival", "record_work*", "sign_off", "resolve", "retro_approve",
                  "confirm", "close"],
    "escalated": ["route", "assign", "start_remote", "record_contact*", "escalate_onsite",
                  *_ONSITE, "call_consultation", "plan_revisit", "reschedule*", "depart",
                  "record_arrival", "record_work*", "sign_off", "resolve", "confirm", "close"],
    "reopened": ["assign", "start_remote", "record_contact", "resolve", "reopen",
                 "start_onsite", *_ONSITE, "sign_off", "resolve", "confirm", "close"],
    "depot": ["route", "assign", "start_remote", "record_contact*", "hand_to_depot",
              "depot_intake", "complete_depot", "confirm", "close"],
    "onsite_depot": ["assign", "start_onsite", *_ONSITE, "call_consultation", "hand_to_depot",
                     "depot_intake", "complete_depot", "confirm"],
    "rejected": ["route", "reject"],
}
#: The contract's change: the first step (in this order) the request accepts now, so a
#: request moves on along its flow (and keeps recording contacts or work while it can).
_CHANGES = ["depot_intake", "complete_depot", "confirm", "close", "record_contact",
            "record_work", "confirm_need", "approve_dispatch", "retro_approve", "prepare",
            "depart", "record_arrival", "plan_revisit", "resolve", "start_remote", "assign",
            "route"]


def _copy(request: ServiceRequest) -> ServiceRequest:
    return request.clone()


def _register(request_id: UUID, number: str, customer_id: UUID, at: datetime,
              actor: Actor = CLERK, **fields: Any) -> ServiceRequest:
    defaults: dict[str, Any] = {
        "category": Category.FAULT, "channel": Channel.PHONE, "impact": Impact.MODERATE,
        "urgency": Urgency.HIGH, "summary": "打印机卡纸 paper jam", "equipment_id": None,
    }
    return steps.register(request_id=request_id, number=number, customer_id=customer_id,
                          actor=actor, at=at, matrix=_MATRIX, **{**defaults, **fields})


class RequestExamples(KindExamples[ServiceRequest]):
    """Service requests in every state the workflows reach."""

    kind = REQUESTS

    def make(self, n: int) -> list[ServiceRequest]:
        customer = uuid4()
        return [_register(uuid4(), f"SR-{uuid4().hex}", customer,
                          _OPENED + timedelta(minutes=i), equipment_id=uuid4())
                for i in range(n)]

    def change(self, item: ServiceRequest, at: datetime) -> bool:
        args = _Args(SUPERVISOR, at, at + timedelta(days=1), f"变更 change {at.isoformat()}",
                     "", "王工", uuid4(), ENGINEER.id, Channel.PHONE, 5, None, (), True)
        return first_possible(item, _CHANGES, _ACTIONS, args, _copy)

    def examples(
        self, customer_id: UUID | None = None, equipment_ids: tuple[UUID, ...] = (),
        engineer_ids: tuple[UUID, ...] = (), near: datetime | None = None, max_steps: int = 40,
    ) -> st.SearchStrategy[ServiceRequest]:
        @st.composite
        def build(draw: st.DrawFn) -> ServiceRequest:
            actor = Actor(draw(ids), draw(names()), STAFF)
            if near is None:
                at = draw(instants())
            else:  # within a day of ``near``, in any zone: the order is by instant
                at = (near + timedelta(seconds=draw(st.integers(0, 86_400)))).astimezone(
                    draw(timezones))
            request = _register(
                draw(ids), f"{draw(st.sampled_from(['SR-', '售后-', 'Ω/']))}{draw(ids).hex}",
                customer_id or draw(ids), at, actor,
                category=draw(st.sampled_from(Category)),
                channel=draw(st.sampled_from(Channel)), impact=draw(st.sampled_from(Impact)),
                urgency=draw(st.sampled_from(Urgency)), summary=draw(long_texts()),
                equipment_id=(draw(st.sampled_from(equipment_ids)) if equipment_ids
                              else draw(st.none() | ids)),
            )
            path = draw(st.sampled_from(sorted(_PATHS)))
            planned = expand(_PATHS[path], lambda: draw(st.integers(0, 3)))
            planned = planned[: draw(st.integers(0, len(planned)) | st.just(len(planned)))]
            if draw(st.integers(0, 5)) == 0:
                planned.append("cancel")
            engineers = st.sampled_from(engineer_ids) if engineer_ids else ids
            times = [at]

            def args(_: int) -> _Args:
                times.append((times[-1] + timedelta(seconds=draw(st.integers(1, 3 * 86_400))))
                             .astimezone(draw(timezones)))
                now = times[-1]
                return _Args(
                    actor, now,
                    (now + timedelta(minutes=draw(st.integers(1, 20_000)))).astimezone(
                        draw(timezones)),
                    draw(long_texts()), draw(long_texts() | texts()), draw(names()), draw(ids),
                    draw(engineers), draw(st.sampled_from(Channel)),
                    draw(st.none() | st.integers(1, 5)), draw(st.none() | money()),
                    tuple(draw(st.lists(names(), max_size=3))), draw(st.booleans()),
                )

            walk(request, planned[:max_steps], _ACTIONS, args, _copy)
            return request

        return build()

    def batches(self) -> st.SearchStrategy[list[ServiceRequest]]:
        @st.composite
        def build(draw: st.DrawFn) -> list[ServiceRequest]:
            customer = draw(ids)
            units = tuple(draw(st.lists(ids, min_size=1, max_size=3)))
            engineers = tuple(draw(st.lists(ids, min_size=1, max_size=3)))
            near = draw(instants(high=datetime(2080, 1, 1)))
            requests = draw(st.lists(
                self.examples(customer, units, engineers, near.astimezone(UTC), max_steps=6),
                min_size=1, max_size=5,
            ))
            return self.distinct(requests)

        return build()

    def refer(self, uow: UnitOfWork, items: Sequence[ServiceRequest]) -> None:
        refer_customers(uow, (r.customer_id for r in items))
        refer_equipment(uow, {r.equipment_id: r.customer_id for r in items if r.equipment_id})
        engineers = {j.engineer_id for r in items for j in r.jobs}
        approvers = {j.approved_by for r in items for j in r.jobs if isinstance(j, OnSiteJob)}
        refer_actors(uow, recorded_actors(items) | engineers | approvers
                     | {r.engineer_id for r in items} | {CLERK.id, ENGINEER.id, SUPERVISOR.id})
