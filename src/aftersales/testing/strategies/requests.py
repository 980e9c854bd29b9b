"""Strategies for service requests: their parts (record entries, jobs, contacts, work,
reports) and whole requests in any reachable state, built by running valid workflow
steps (:func:`service_requests`), with the step table the stateful tests share.

Part of :mod:`aftersales.testing.strategies`: import them from there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid5

import attrs
from hypothesis import strategies as st

from aftersales.domain.kernel import RecordEntry
from aftersales.domain.priority import PriorityMatrix
from aftersales.domain.records import Actor
from aftersales.domain.request import (
    ContactLog,
    Job,
    OnSiteJob,
    OnSiteState,
    RemoteJob,
    RemoteState,
    RequestState,
    Reschedule,
    ServiceReport,
    ServiceRequest,
    WorkEntry,
)
from aftersales.domain.values import Channel, Money, Role
from aftersales.errors import AftersalesError
from aftersales.testing.strategies.events import _FIELD_OVERRIDES
from aftersales.testing.strategies.records import priority_matrices
from aftersales.testing.strategies.values import (
    aware_datetimes,
    categories,
    channels,
    dispatch_approvals,
    impacts,
    money,
    names,
    non_blank_texts,
    texts,
    urgencies,
)
from aftersales.workflows import steps
from aftersales.workflows.core import Workflow

__all__ = [
    "NATURAL_ROLE",
    "STEP_NAMES",
    "candidate_steps",
    "contact_logs",
    "jobs",
    "onsite_jobs",
    "record_entries",
    "remote_jobs",
    "reschedules",
    "service_reports",
    "service_requests",
    "work_entries",
]

# --- parts of a request ---------------------------------------------------------------------


def record_entries() -> st.SearchStrategy[RecordEntry]:
    """R9 record entries as plain values (not necessarily a consistent record: use
    :func:`service_requests` for that)."""
    state_names = st.sampled_from(
        sorted({s.value for e in (RequestState, RemoteState, OnSiteState) for s in e})
    )
    return st.builds(
        RecordEntry, sequence=st.integers(min_value=1, max_value=10**6), at=aware_datetimes(),
        actor_id=st.uuids(), workflow=st.sampled_from(sorted(steps.REQUEST_WORKFLOWS)),
        subject_id=st.uuids(), action=non_blank_texts(max_size=20),
        from_state=st.none() | state_names, to_state=state_names, note=texts(),
    )


def contact_logs() -> st.SearchStrategy[ContactLog]:
    """R11 remote contacts."""
    return st.builds(ContactLog, aware_datetimes(), channels(), non_blank_texts())


def work_entries() -> st.SearchStrategy[WorkEntry]:
    """R12 on-site work entries."""
    return st.builds(WorkEntry, aware_datetimes(), non_blank_texts())


def reschedules() -> st.SearchStrategy[Reschedule]:
    """R12 rescheduled visits with their reason."""
    return st.builds(
        Reschedule, aware_datetimes(), st.none() | aware_datetimes(), aware_datetimes(),
        non_blank_texts(),
    )


def service_reports() -> st.SearchStrategy[ServiceReport]:
    """R3/R12 signed technical service reports."""
    return st.builds(
        ServiceReport, found=non_blank_texts(), result=non_blank_texts(), signed_by=names(),
        signed_at=aware_datetimes(),
        parts_replaced=st.lists(non_blank_texts(max_size=12), max_size=3).map(tuple),
        fee=st.none() | money(min_value=Decimal(0)), open_issues=texts(),
        measurements=st.lists(st.tuples(texts(max_size=8), texts(max_size=8)), max_size=3)
        .map(tuple),
        rating=st.none() | st.integers(min_value=1, max_value=5), remarks=texts(),
    )


def remote_jobs() -> st.SearchStrategy[RemoteJob]:
    """R11 remote jobs in any state, with contacts."""
    return st.builds(
        RemoteJob, id=st.uuids(), engineer_id=st.uuids(), started_at=aware_datetimes(),
        state=st.sampled_from(RemoteState), contacts=st.lists(contact_logs(), max_size=3),
    )


def onsite_jobs() -> st.SearchStrategy[OnSiteJob]:
    """R12 on-site jobs in any state and approval, with arrivals, work and reschedules."""
    return st.builds(
        OnSiteJob, id=st.uuids(), engineer_id=st.uuids(), planned_at=aware_datetimes(),
        promised_at=st.none() | aware_datetimes(), state=st.sampled_from(OnSiteState),
        approval=dispatch_approvals(), approved_by=st.none() | st.uuids(),
        need_confirmed_at=st.none() | aware_datetimes(),
        arrivals=st.lists(aware_datetimes(), max_size=3),
        work=st.lists(work_entries(), max_size=3),
        reschedules=st.lists(reschedules(), max_size=2),
        consultation_plans=st.lists(non_blank_texts(), max_size=2),
        report=st.none() | service_reports(),
    )


def jobs() -> st.SearchStrategy[Job]:
    """Either kind of job."""
    return st.one_of(remote_jobs(), onsite_jobs())


# --- whole aggregates ----------------------------------------------------------------------


@attrs.frozen
class _StepArgs:
    """Pre-drawn arguments of one workflow step."""

    text: str = "x"
    channel: Channel = Channel.PHONE
    when: datetime | None = None
    rating: int | None = None
    fee: Money | None = None
    engineer_index: int = 0


_StepFn = Callable[[ServiceRequest, Actor, datetime, _StepArgs, Sequence[Actor]], object]


def _job_id(request: ServiceRequest) -> UUID:
    return uuid5(request.id, f"job-{len(request.jobs) + 1}")


def _later(at: datetime, args: _StepArgs) -> datetime:
    return args.when if args.when is not None else at + timedelta(days=1)


_STEPS: dict[str, _StepFn] = {
    "route": lambda r, a, at, x, _: steps.route(r, department=x.text, actor=a, at=at),
    "assign": lambda r, a, at, x, engineers: steps.assign(
        r, engineer_id=engineers[x.engineer_index % len(engineers)].id, actor=a, at=at),
    "reject": lambda r, a, at, x, _: steps.reject(r, reason=x.text, actor=a, at=at),
    "cancel": lambda r, a, at, x, _: steps.cancel(r, reason=x.text, actor=a, at=at),
    "start_remote": lambda r, a, at, x, _: steps.start_remote(
        r, job_id=_job_id(r), actor=a, at=at),
    "record_contact": lambda r, a, at, x, _: steps.record_contact(
        r, channel=x.channel, summary=x.text, actor=a, at=at),
    "escalate_onsite": lambda r, a, at, x, _: steps.escalate_onsite(
        r, job_id=_job_id(r), reason=x.text, actor=a, at=at, promised_at=x.when),
    "hand_to_depot": lambda r, a, at, x, _: steps.hand_to_depot(
        r, reason=x.text, actor=a, at=at),
    "start_onsite": lambda r, a, at, x, _: steps.start_onsite(
        r, job_id=_job_id(r), actor=a, at=at, promised_at=x.when),
    "confirm_need": lambda r, a, at, x, _: steps.confirm_need(r, note=x.text, actor=a, at=at),
    "approve_dispatch": lambda r, a, at, x, _: steps.approve_dispatch(r, actor=a, at=at),
    "dispatch_emergency": lambda r, a, at, x, _: steps.dispatch_emergency(
        r, reason=x.text, actor=a, at=at),
    "retro_approve": lambda r, a, at, x, _: steps.retro_approve(r, actor=a, at=at),
    "prepare": lambda r, a, at, x, _: steps.prepare(r, note=x.text, actor=a, at=at),
    "depart": lambda r, a, at, x, _: steps.depart(r, actor=a, at=at),
    "record_arrival": lambda r, a, at, x, _: steps.record_arrival(r, actor=a, at=at),
    "record_work": lambda r, a, at, x, _: steps.record_work(
        r, description=x.text, actor=a, at=at),
    "sign_off": lambda r, a, at, x, _: steps.sign_off(
        r, found=x.text, result=x.text, signed_by=x.text, actor=a, at=at, rating=x.rating,
        fee=x.fee),
    "call_consultation": lambda r, a, at, x, _: steps.call_consultation(
        r, reason=x.text, actor=a, at=at),
    "plan_revisit": lambda r, a, at, x, _: steps.plan_revisit(
        r, plan=x.text, promised_at=_later(at, x), actor=a, at=at),
    "reschedule": lambda r, a, at, x, _: steps.reschedule(
        r, new_time=_later(at, x), reason=x.text, actor=a, at=at),
    "resolve": lambda r, a, at, x, _: steps.resolve(r, resolution=x.text, actor=a, at=at),
    "depot_intake": lambda r, a, at, x, _: steps.depot_intake(
        r, order_id=uuid5(r.id, "repair-order"), order_number=f"RO-{r.number}", actor=a,
        at=at),
    "complete_depot": lambda r, a, at, x, _: steps.complete_depot(
        r, resolution=x.text, actor=a, at=at),
    "confirm": lambda r, a, at, x, _: steps.confirm(r, note=x.text, actor=a, at=at),
    "reopen": lambda r, a, at, x, _: steps.reopen(r, reason=x.text, actor=a, at=at),
    "close": lambda r, a, at, x, _: steps.close(r, actor=a, at=at),
}

#: Every workflow step on a request (:mod:`aftersales.workflows.steps`). Each is a
#: :class:`~aftersales.ServiceDesk` command of the same name, except ``depot_intake`` and
#: ``complete_depot``, which the repair desk runs when a unit arrives at and leaves the depot.
STEP_NAMES: tuple[str, ...] = tuple(_STEPS)

#: R30: the role that naturally performs each step under the default permissions.
NATURAL_ROLE: Mapping[str, Role] = {
    **{name: Role.ENGINEER for name in STEP_NAMES},
    "route": Role.CLERK, "assign": Role.CLERK, "reject": Role.CLERK, "cancel": Role.CLERK,
    "close": Role.CLERK, "depot_intake": Role.CLERK, "complete_depot": Role.CLERK,
    "approve_dispatch": Role.SUPERVISOR,
    "retro_approve": Role.SUPERVISOR, "confirm": Role.CUSTOMER, "reopen": Role.CUSTOMER,
}


@functools.cache
def _step_args(engineers: int) -> st.SearchStrategy[_StepArgs]:
    return st.builds(
        _StepArgs, text=non_blank_texts(max_size=24), channel=channels(),
        when=st.none() | aware_datetimes(min_value=datetime(2000, 1, 1)),
        rating=st.none() | st.integers(min_value=1, max_value=5),
        fee=st.none() | money(min_value=Decimal(0)),
        engineer_index=st.integers(min_value=0, max_value=max(engineers - 1, 0)),
    )


#: Workflow triggers whose step (and desk command) has another name.
_TRIGGER_STEPS: Mapping[str, tuple[str, ...]] = {
    "start": ("start_remote", "start_onsite"),
    "depot_completed": ("complete_depot",),
    "approve": ("approve_dispatch",),
    "arrive": ("record_arrival",),
}


def candidate_steps(
    request: ServiceRequest, *, moving_only: bool = False,
    workflows: Mapping[str, Workflow] | None = None,
) -> list[str]:
    """The steps the workflow definitions offer from the request's state and its active job's
    state (guards not evaluated: a candidate may still be refused). With ``moving_only``,
    only steps that change a state (no self-loops such as ``reschedule``). ``workflows``
    are the desk's workflows by name (default: the shipped ones)."""
    flows = dict(steps.REQUEST_WORKFLOWS) | dict(workflows or {})
    found: list[str] = []
    subjects: list[tuple[Workflow, str]] = [(flows["request"], str(request.state))]
    job = request.active_job
    if job is not None:
        flow = flows["remote"] if isinstance(job, RemoteJob) else flows["onsite"]
        subjects.append((flow, str(job.state)))
    for flow, state in subjects:
        for transition in flow.definition.transitions:
            if state in transition.sources and not (moving_only and transition.dest == state):
                for name in _TRIGGER_STEPS.get(transition.trigger, (transition.trigger,)):
                    if name in _STEPS and name not in found:
                        found.append(name)
    return found


def _possible(request: ServiceRequest, at: datetime, pool: Sequence[Actor]) -> list[str]:
    """The candidate steps that succeed on ``request`` now (tried on throw-away clones)."""
    possible = []
    for name in candidate_steps(request):
        try:
            _STEPS[name](request.clone(), pool[0], at, _StepArgs(), pool)
        except AftersalesError:
            continue
        possible.append(name)
    return possible


#: Steps that end a request early; :func:`service_requests` takes them less often.
_ENDINGS = frozenset({"cancel", "reject"})


@st.composite
def service_requests(
    draw: st.DrawFn,
    *,
    max_steps: int = 25,
    matrix: PriorityMatrix | None = None,
    customer_id: UUID | None = None,
) -> ServiceRequest:
    """Whole :class:`ServiceRequest` aggregates in arbitrary *reachable* states.

    The request is registered (R7, priority from ``matrix`` or a random one, R8) and then up
    to ``max_steps`` random valid steps of :mod:`aftersales.workflows.steps` run on it, each
    by an actor of the role that performs it (R30), at increasing timezone-aware times.
    Records therefore replay (``verify_record(request) == []``, R9). The domain events of the
    steps are still pending on the aggregate (``request.pending_events``), as they would be
    before a unit of work commits.
    """
    customer = customer_id if customer_id is not None else draw(st.uuids())
    pool: dict[Role, list[Actor]] = {
        role: [Actor(draw(st.uuids()), draw(names()), frozenset({role}),
                     customer if role is Role.CUSTOMER else None)]
        for role in (Role.CLERK, Role.SUPERVISOR, Role.CUSTOMER)
    }
    pool[Role.ENGINEER] = [
        Actor(draw(st.uuids()), draw(names()), frozenset({Role.ENGINEER})) for _ in range(2)
    ]
    at = draw(aware_datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2150, 1, 1)))
    request = steps.register(
        request_id=draw(st.uuids()),
        number=draw(_FIELD_OVERRIDES["number"]()),
        customer_id=customer, category=draw(categories()), channel=draw(channels()),
        impact=draw(impacts()),
        urgency=draw(urgencies()), summary=draw(non_blank_texts()),
        actor=pool[Role.CLERK][0], at=at,
        matrix=matrix if matrix is not None else draw(priority_matrices()),
        equipment_id=draw(st.none() | st.uuids()),
    )
    engineers = pool[Role.ENGINEER]
    for _ in range(draw(st.sampled_from(range(max_steps + 1)))):
        at = at + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)))
        possible = _possible(request, at, engineers)
        onward = [name for name in possible if name not in _ENDINGS]
        if not possible:
            break
        ending = not onward or draw(st.integers(min_value=0, max_value=15)) == 0
        name = draw(st.sampled_from(possible if ending else onward))
        role = NATURAL_ROLE[name]
        actor = pool[role][0]
        if role is Role.ENGINEER:
            actor = next((e for e in engineers if e.id == request.engineer_id), engineers[0])
        _STEPS[name](request, actor, at, draw(_step_args(len(engineers))), engineers)
    return request
