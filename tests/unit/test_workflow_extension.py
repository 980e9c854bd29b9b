"""Extending a shipped workflow: ``WorkflowDefinition.extend``, function guards, and running
the steps with the extended workflow (``aftersales.workflows.using`` and a desk's own
``workflows``); every refusal names every missing precondition.

The extension used here is a second approval (R12 made stricter): a P1 on-site dispatch needs
a first approval (a new state and transition) before the usual ``approve``, which gets a
guard that says so.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import attrs
import pytest

from aftersales import ManualClock, SequentialIds, ServiceDesk, in_memory_desk
from aftersales.domain import (
    Actor,
    Category,
    Channel,
    DispatchApproval,
    Impact,
    OnSiteJob,
    OnSiteState,
    Priority,
    PriorityMatrix,
    RequestState,
    Role,
    ServiceRequest,
    Urgency,
)
from aftersales.domain.events import RequestEvent
from aftersales.domain.kernel import EVENT_TYPES, AggregateEvent
from aftersales.errors import (
    GuardFailed,
    InvalidTransition,
    ValidationError,
    WorkflowDefinitionError,
)
from aftersales.service import (
    DEFAULT_PERMISSIONS,
    Command,
    Context,
    Handler,
    Permission,
    RoleBasedPolicy,
)
from aftersales.service.commands import uuid
from aftersales.workflows import (
    ONSITE,
    ONSITE_FLOW,
    REQUEST,
    REQUEST_FLOW,
    Transition,
    Workflow,
    active,
    check_workflow,
    steps,
    using,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BOSS = Actor(UUID(int=10_000), "Zhang Supervisor", {Role.SUPERVISOR, Role.CLERK, Role.ENGINEER})
SECOND_BOSS = Actor(UUID(int=10_001), "Liu Supervisor", {Role.SUPERVISOR})  # domain tests
NEEDS_FIRST = "a P1 dispatch needs a first approval before it is approved (R12)"

SECOND_APPROVAL = ONSITE.extend(
    states=["first_approved"],
    transitions=[
        Transition("first_approve", ["awaiting_approval"], "first_approved", rule="R12"),
        Transition("approve", ["first_approved"], "approved", rule="R12"),
        Transition("cancel", ["first_approved"], "cancelled"),
    ],
    conditions={"approve": ["second_approval"]},
    condition_reasons={"second_approval": NEEDS_FIRST},
    description="R12 with a second approval for P1 dispatches",
)


def second_approval(job: OnSiteJob, request: ServiceRequest) -> bool:
    """The guard: a P1 dispatch is approved only after its first approval."""
    return request.priority != Priority.P1 or job.state == "first_approved"


STRICT_ONSITE = Workflow(SECOND_APPROVAL, "OnSiteJob", guards={"second_approval": second_approval})
STRICT = {"onsite": STRICT_ONSITE}


def _request(impact: Impact = Impact.EXTENSIVE, urgency: Urgency = Urgency.HIGH) -> ServiceRequest:
    """A request (P1 by default) whose on-site job awaits the dispatch approval."""
    request = steps.register(
        request_id=UUID(int=1), number="SR-1", customer_id=UUID(int=2), category=Category.FAULT,
        channel=Channel.PHONE, impact=impact, urgency=urgency, summary="line down",
        actor=BOSS, at=T0, matrix=PriorityMatrix(),
    )
    steps.assign(request, engineer_id=BOSS.id, actor=BOSS, at=T0)
    steps.start_onsite(request, job_id=UUID(int=3), actor=BOSS, at=T0)
    steps.confirm_need(request, actor=BOSS, at=T0)
    request.pending_events.clear()
    return request


def _job(request: ServiceRequest) -> OnSiteJob:
    job = request.current_job
    assert isinstance(job, OnSiteJob)
    return job


def first_approve(request: ServiceRequest, *, actor: Actor, at: datetime) -> None:
    """The step a user writes for the added transition: fire it on the job through the
    running command's workflow and put it on the record (R9)."""
    job = _job(request)
    flow = active(ONSITE_FLOW)
    before, after = flow.fire(job, "first_approve", f"{job.id} of {request.number}", request)
    request.record_step(at=at, actor_id=actor.id, workflow=flow.name, subject_id=job.id,
                        action="first_approve", from_state=before, to_state=after)


# --- the extended definition ---------------------------------------------------------------


def test_r12_the_extended_onsite_workflow_passes_the_graph_check() -> None:
    assert check_workflow(SECOND_APPROVAL) == []
    assert SECOND_APPROVAL.name == "onsite"
    assert "first_approved" in SECOND_APPROVAL.states
    approvals = [t for t in SECOND_APPROVAL.transitions if t.trigger == "approve"]
    assert {(t.sources, t.conditions) for t in approvals} == {
        (("awaiting_approval",), ("second_approval",)),
        (("first_approved",), ("second_approval",)),
    }
    assert SECOND_APPROVAL.guarantees == ONSITE.guarantees  # R12's guarantees still hold
    assert SECOND_APPROVAL.condition_reasons["second_approval"] == NEEDS_FIRST


def test_extending_leaves_the_shipped_definition_and_workflow_as_they_were() -> None:
    assert "first_approved" not in ONSITE.states
    assert all(t.conditions == () for t in ONSITE.transitions if t.trigger == "approve")
    assert ONSITE_FLOW.transition_for("awaiting_approval", "first_approve") is None
    assert STRICT_ONSITE.transition_for("awaiting_approval", "first_approve") is not None


def test_an_extension_that_breaks_a_guarantee_is_refused_with_the_rule() -> None:
    shortcut = ONSITE.extend(transitions=[Transition("rush", ["planned"], "travelling")])
    (problem,) = check_workflow(shortcut)
    assert problem.startswith(
        "'travelling' is reachable without passing awaiting_approval (R12): planned -> travelling"
    )
    with pytest.raises(WorkflowDefinitionError, match="without passing awaiting_approval"):
        Workflow(shortcut, "OnSiteJob")


def test_an_extension_may_remove_edges_and_take_a_new_name() -> None:
    no_emergency = ONSITE.extend(name="onsite_planned_only",
                                 remove=[("dispatch_emergency", "awaiting_approval")])
    assert check_workflow(no_emergency) == []
    assert no_emergency.name == "onsite_planned_only"
    assert "dispatch_emergency" not in no_emergency.triggers()
    assert len(no_emergency.transitions) == len(ONSITE.transitions) - 1
    kept = ONSITE.extend(remove=[("reschedule", "planned")])
    assert ("planned", "planned") not in {(s, d) for s, d, t in kept.edges()
                                         if t.trigger == "reschedule"}
    assert sum(t.trigger == "reschedule" for t in kept.transitions) == (
        sum(t.trigger == "reschedule" for t in ONSITE.transitions) - 1
    )


def test_an_extension_whose_new_state_is_a_dead_end_is_refused() -> None:
    stuck = ONSITE.extend(states=["on_hold"],
                          transitions=[Transition("hold", ["on_site"], "on_hold")])
    assert check_workflow(stuck) == ["state 'on_hold' cannot reach any final state"]


# --- the Workflow with a function guard ---------------------------------------------------


def test_r12_the_workflow_fires_the_added_transition_then_the_guarded_one() -> None:
    request = _request()
    job = _job(request)
    label = f"{job.id} of {request.number}"
    assert STRICT_ONSITE.fire(job, "first_approve", label, request) == (
        "awaiting_approval", "first_approved"
    )
    assert STRICT_ONSITE.refusal(job, "approve", label, request) is None
    assert STRICT_ONSITE.fire(job, "approve", label, request) == ("first_approved", "approved")


def test_r12_a_refused_guard_names_its_reason_and_code_and_changes_nothing() -> None:
    request = _request()
    job = _job(request)
    with pytest.raises(GuardFailed) as refused:
        STRICT_ONSITE.fire(job, "approve", "job 3", request)
    assert refused.value.reason == NEEDS_FIRST
    assert (refused.value.reasons, refused.value.codes) == ((NEEDS_FIRST,), ("second_approval",))
    assert str(refused.value) == (
        f"OnSiteJob job 3 is awaiting_approval: cannot approve: {NEEDS_FIRST}"
    )
    assert job.state == OnSiteState.AWAITING_APPROVAL


def test_r12_the_guard_reads_the_aggregate_a_p3_dispatch_needs_one_approval() -> None:
    request = _request(Impact.MODERATE, Urgency.MEDIUM)
    assert request.priority is Priority.P3
    assert STRICT_ONSITE.fire(_job(request), "approve", "job", request) == (
        "awaiting_approval", "approved"
    )


def test_a_guard_without_a_reason_is_named_by_its_code() -> None:
    bare = ONSITE.extend(conditions={"prepare": ["parts_at_hand"]})
    flow = Workflow(bare, "OnSiteJob", guards={"parts_at_hand": lambda _job, _request: False})
    request = _request(Impact.MINOR, Urgency.LOW)
    job = _job(request)
    flow.fire(job, "approve", "job", request)
    with pytest.raises(GuardFailed, match=r"cannot prepare: parts_at_hand does not hold$"):
        flow.fire(job, "prepare", "job", request)


# --- using(): the extended workflow inside the block only --------------------------------


def test_using_makes_the_request_steps_use_the_extended_workflow_only_inside_the_block() -> None:
    strict, shipped = _request(), _request()
    with using(STRICT):
        assert active(ONSITE_FLOW) is STRICT_ONSITE
        assert active(REQUEST_FLOW) is REQUEST_FLOW  # not extended: the shipped one
        with pytest.raises(GuardFailed, match="needs a first approval") as refused:
            steps.approve_dispatch(strict, actor=BOSS, at=T0)
        assert refused.value.codes == ("second_approval",)
    assert active(ONSITE_FLOW) is ONSITE_FLOW
    assert _job(strict).state == OnSiteState.AWAITING_APPROVAL
    assert (len(strict.record), strict.pending_events) == (len(shipped.record), [])
    steps.approve_dispatch(shipped, actor=BOSS, at=T0)  # outside: one approval is enough
    assert _job(shipped).approval is DispatchApproval.APPROVED


def test_r12_inside_the_block_the_added_step_and_the_guarded_one_complete_the_dispatch() -> None:
    request = _request()
    with using(STRICT):
        first_approve(request, actor=SECOND_BOSS, at=T0 + timedelta(minutes=1))
        steps.approve_dispatch(request, actor=BOSS, at=T0 + timedelta(minutes=2))
        steps.prepare(request, actor=BOSS, at=T0 + timedelta(minutes=3))
        assert steps.verify_record(request) == []
    job = _job(request)
    assert (job.state, job.approval, job.approved_by) == (
        OnSiteState.PREPARING, DispatchApproval.APPROVED, BOSS.id
    )
    assert [e.action for e in request.record if e.workflow == "onsite"] == [
        "open", "confirm_need", "first_approve", "approve", "prepare",
    ]
    # the record names a transition only the extended workflow has:
    assert steps.verify_record(request) == [
        "entry 6: 'first_approve' from 'awaiting_approval' to 'first_approved' is not a onsite "
        "transition",
        "entry 7: 'approve' from 'first_approved' to 'approved' is not a onsite transition",
    ]


def test_using_is_undone_when_the_block_raises_and_nests() -> None:
    with pytest.raises(RuntimeError), using(STRICT):
        with using({}):
            assert active(ONSITE_FLOW) is ONSITE_FLOW
        assert active(ONSITE_FLOW) is STRICT_ONSITE
        raise RuntimeError("boom")
    assert active(ONSITE_FLOW) is ONSITE_FLOW


def test_using_applies_to_the_running_thread_only() -> None:
    seen: list[Workflow] = []
    with using(STRICT):
        other = threading.Thread(target=lambda: seen.append(active(ONSITE_FLOW)))
        other.start()
        other.join()
        assert active(ONSITE_FLOW) is STRICT_ONSITE
    assert seen == [ONSITE_FLOW]


# --- a desk with its own workflows -------------------------------------------------------------


@pytest.fixture
def event_registry() -> Iterator[None]:
    """Events a test defines register themselves; forget them afterwards."""
    saved = dict(EVENT_TYPES)
    yield
    EVENT_TYPES.clear()
    EVENT_TYPES.update(saved)


@attrs.frozen(kw_only=True)
class FirstApprove(Command):
    """The user's own command for the added transition (a supervisor runs it)."""

    name = "first_approve"
    request_id: UUID = attrs.field(validator=uuid())


class Desks:
    """Two desks on one store: the shipped one and one with the second approval."""

    def __init__(self, approved: type[AggregateEvent]) -> None:
        clock = ManualClock(T0, timedelta(minutes=1))
        self.shipped, self.store = in_memory_desk(supervisor=BOSS, clock=clock,
                                                  ids=SequentialIds())
        self.second_id = self.shipped.register_actor(
            BOSS, name="Liu Supervisor", roles={Role.SUPERVISOR}
        ).id

        def run(ctx: Context, cmd: FirstApprove, request: ServiceRequest) -> ServiceRequest:
            first_approve(request, actor=ctx.actor, at=ctx.now)
            request.emit(approved, actor_id=ctx.actor.id, at=ctx.now, job_id=_job(request).id)
            return request

        permissions = {**DEFAULT_PERMISSIONS,
                       "first_approve": Permission(frozenset({Role.SUPERVISOR}))}
        self.strict = ServiceDesk(
            self.store.unit_of_work, clock=clock, ids=SequentialIds(start=50_000),
            workflows=STRICT, authorization=RoleBasedPolicy(permissions),
            handlers=[Handler(FirstApprove, run,
                              lambda ctx, cmd: ctx.uow.requests.get(cmd.request_id))],
            kinds=self.store.kinds,
        )
        self.customer = self.shipped.register_customer(BOSS, name="ACME").id

    def awaiting_approval(self) -> UUID:
        desk = self.shipped
        rid = desk.register_request(BOSS, customer_id=self.customer, summary="line down",
                                    impact=Impact.EXTENSIVE, urgency=Urgency.HIGH).id
        desk.assign(BOSS, rid, engineer_id=BOSS.id)
        desk.start_onsite(BOSS, rid)
        desk.confirm_need(BOSS, rid)
        return rid


@pytest.fixture
def desks(event_registry: None) -> Desks:
    @attrs.frozen(kw_only=True)
    class DispatchFirstApproved(RequestEvent):
        job_id: UUID

    return Desks(DispatchFirstApproved)


def test_r12_a_desk_with_the_extended_workflow_refuses_a_single_approval(desks: Desks) -> None:
    rid = desks.awaiting_approval()
    with pytest.raises(GuardFailed, match="needs a first approval") as refused:
        desks.strict.approve_dispatch(BOSS, rid)
    assert refused.value.codes == ("second_approval",)
    assert _job(desks.store.requests[rid]).state == OnSiteState.AWAITING_APPROVAL
    approved = desks.shipped.approve_dispatch(BOSS, rid)  # the shipped desk: one is enough
    assert _job(approved).state == OnSiteState.APPROVED


def test_r12_a_desk_runs_its_own_command_for_the_added_transition(desks: Desks) -> None:
    rid = desks.awaiting_approval()
    desks.strict.execute(FirstApprove(actor_id=desks.second_id, request_id=rid))
    request = desks.strict.approve_dispatch(BOSS, rid)
    job = _job(request)
    assert (job.state, job.approval) == (OnSiteState.APPROVED, DispatchApproval.APPROVED)
    first = next(e for e in request.record if e.action == "first_approve")
    assert (first.actor_id, first.from_state, first.to_state) == (
        desks.second_id, "awaiting_approval", "first_approved"
    )
    names = [e.name for e in desks.store.events if e.aggregate_id == rid]
    assert names[-2:] == ["DispatchFirstApproved", "DispatchApproved"]
    with using(STRICT):
        assert steps.verify_record(desks.store.requests[rid]) == []


def test_the_shipped_desk_does_not_know_the_added_command(desks: Desks) -> None:
    rid = desks.awaiting_approval()
    with pytest.raises(ValidationError, match="no handler"):
        desks.shipped.execute(FirstApprove(actor_id=BOSS.id, request_id=rid))


def test_a_desk_refuses_a_workflow_registered_under_another_name() -> None:
    store_desk, store = in_memory_desk(supervisor=BOSS, clock=ManualClock(T0))
    with pytest.raises(ValidationError, match="'request' must map to a Workflow of that name"):
        ServiceDesk(store.unit_of_work, clock=ManualClock(T0), ids=SequentialIds(),
                    workflows={"request": STRICT_ONSITE})
    assert store_desk.settings.workflows["onsite"] is ONSITE_FLOW


# --- every missing precondition is named ------------------------------------------------------


R12_PENDING = "an emergency on-site dispatch still lacks its supervisor's approval (R12)"


def _resolved_after_an_emergency(desk: ServiceDesk, customer: UUID) -> UUID:
    rid = desk.register_request(BOSS, customer_id=customer, summary="line down").id
    desk.assign(BOSS, rid, engineer_id=BOSS.id)
    desk.start_onsite(BOSS, rid)
    desk.confirm_need(BOSS, rid)
    desk.dispatch_emergency(BOSS, rid, reason="production line down")
    desk.record_arrival(BOSS, rid)
    desk.sign_off(BOSS, rid, found="PSU", result="replaced", signed_by="Mr Zhao")
    desk.resolve(BOSS, rid, resolution="PSU replaced")
    return rid


def test_r10_r12_closing_a_resolved_request_names_the_confirmation_and_the_approval() -> None:
    desk, store = in_memory_desk(supervisor=BOSS, clock=ManualClock(T0, timedelta(minutes=1)),
                                 ids=SequentialIds())
    rid = _resolved_after_an_emergency(desk, desk.register_customer(BOSS, name="ACME").id)
    with pytest.raises(InvalidTransition) as refused:
        desk.close(BOSS, rid)
    assert not isinstance(refused.value, GuardFailed)
    assert refused.value.reasons == ("needs state confirmed", R12_PENDING)
    assert refused.value.codes == ("state", "onsite_approvals_recorded")
    assert str(refused.value).endswith(
        f"is resolved: cannot close: needs state confirmed; {R12_PENDING}"
    )
    desk.confirm(BOSS, rid)
    with pytest.raises(GuardFailed) as still:
        desk.close(BOSS, rid)
    assert (still.value.reasons, still.value.codes) == (
        (R12_PENDING,), ("onsite_approvals_recorded",)
    )
    desk.retro_approve(BOSS, rid)
    assert desk.close(BOSS, rid).state == RequestState.CLOSED
    assert store.requests[rid].state == RequestState.CLOSED


def test_r10_a_refusal_names_the_guards_an_extension_adds_too() -> None:
    surveyed = REQUEST.extend(
        conditions={"close": ["survey_done"]},
        condition_reasons={"survey_done": "the satisfaction survey is not recorded (R19)"},
    )
    flow = Workflow(surveyed, "ServiceRequest", guards={"survey_done": lambda _r, _a: False})
    desk, _ = in_memory_desk(supervisor=BOSS, clock=ManualClock(T0, timedelta(minutes=1)),
                             ids=SequentialIds())
    strict = ServiceDesk(desk.uow_factory, clock=desk.clock, ids=SequentialIds(start=900),
                         workflows={"request": flow}, kinds=desk.kinds)
    rid = _resolved_after_an_emergency(desk, desk.register_customer(BOSS, name="ACME").id)
    with pytest.raises(InvalidTransition) as refused:
        strict.close(BOSS, rid)
    assert refused.value.reasons == (
        "needs state confirmed", R12_PENDING, "the satisfaction survey is not recorded (R19)"
    )
    assert refused.value.codes == ("state", "onsite_approvals_recorded", "survey_done")


def test_a_refusal_of_an_action_the_workflow_lacks_says_so() -> None:
    request = _request()
    refused = REQUEST_FLOW.refusal(request, "archive")
    assert refused is not None
    assert (refused.reasons, refused.codes) == (
        ("request has no action 'archive'",), ("unknown_action",)
    )


def test_r12_a_guard_shared_by_several_transitions_is_named_once() -> None:
    request = steps.register(
        request_id=UUID(int=1), number="SR-1", customer_id=UUID(int=2), category=Category.FAULT,
        channel=Channel.PHONE, impact=Impact.MINOR, urgency=Urgency.LOW, summary="noise",
        actor=BOSS, at=T0, matrix=PriorityMatrix(),
    )
    refused = REQUEST_FLOW.refusal(request, "retro_approve")
    assert refused is not None
    assert refused.reasons == (
        "needs state assigned or at_depot or confirmed or handed_to_depot or in_progress or "
        "resolved",
        "no emergency dispatch is waiting for approval",
    )
    assert refused.codes == ("state", "emergency_approval_pending")
