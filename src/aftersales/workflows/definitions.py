"""The shipped workflow definitions of the request flows (R10, R11, R12), as data."""

from __future__ import annotations

from aftersales.domain.request import OnSiteState, RemoteState, RequestState
from aftersales.workflows.core import (
    MustPassThrough,
    RequiresCondition,
    Transition,
    WorkflowDefinition,
)

__all__ = ["ONSITE", "REMOTE", "REQUEST"]

R = RequestState
# Cancellable: not while the unit is at the depot (R13: the repair order must finish first).
_OPEN = (R.REGISTERED, R.ROUTED, R.ASSIGNED, R.IN_PROGRESS, R.HANDED_TO_DEPOT)

REQUEST = WorkflowDefinition(
    name="request",
    description="R10 request lifecycle: registered → routed/assigned → being handled → "
    "resolved → confirmed by the customer → closed; rejection and cancellation keep the record.",
    states=[s.value for s in RequestState],
    initial=R.REGISTERED,
    finals={R.CLOSED, R.REJECTED, R.CANCELLED},
    transitions=[
        Transition("route", [R.REGISTERED, R.ROUTED], R.ROUTED, rule="R7"),
        Transition("assign", [R.REGISTERED, R.ROUTED, R.ASSIGNED], R.ASSIGNED, rule="R11,R12"),
        Transition("start", [R.ASSIGNED], R.IN_PROGRESS, rule="R11,R12"),
        Transition("hand_to_depot", [R.IN_PROGRESS], R.HANDED_TO_DEPOT, rule="R11,R12,R13"),
        Transition("depot_intake", [R.HANDED_TO_DEPOT], R.AT_DEPOT, rule="R13"),
        Transition("depot_completed", [R.AT_DEPOT], R.RESOLVED, rule="R13"),
        Transition(
            "resolve", [R.IN_PROGRESS], R.RESOLVED, ["current_job_succeeded"], rule="R11,R12"
        ),
        Transition("reopen", [R.RESOLVED], R.ASSIGNED, rule="R10"),
        Transition("confirm", [R.RESOLVED], R.CONFIRMED, rule="R10"),
        Transition("close", [R.CONFIRMED], R.CLOSED, ["onsite_approvals_recorded"], rule="R10,R12"),
        *[
            Transition("retro_approve", [s], s, ["emergency_approval_pending"], rule="R12")
            for s in (R.ASSIGNED, R.IN_PROGRESS, R.HANDED_TO_DEPOT, R.AT_DEPOT, R.RESOLVED,
                      R.CONFIRMED)
        ],
        Transition("reject", [R.REGISTERED, R.ROUTED], R.REJECTED, rule="R7"),
        Transition("cancel", _OPEN, R.CANCELLED, ["onsite_approvals_recorded"]),
    ],
    guarantees=[
        MustPassThrough(R.CLOSED, [R.CONFIRMED], rule="R10"),
        RequiresCondition(R.CLOSED, "onsite_approvals_recorded", rule="R12"),
        RequiresCondition(R.CANCELLED, "onsite_approvals_recorded", rule="R12"),
        MustPassThrough(R.IN_PROGRESS, [R.ASSIGNED], rule="R7"),
        MustPassThrough(R.AT_DEPOT, [R.HANDED_TO_DEPOT], rule="R13"),
    ],
    condition_reasons={
        "current_job_succeeded": "the current job has not solved the problem",
        "onsite_approvals_recorded": "an emergency on-site dispatch still lacks its "
        "supervisor's approval (R12)",
        "emergency_approval_pending": "no emergency dispatch is waiting for approval",
    },
)

M = RemoteState
REMOTE = WorkflowDefinition(
    name="remote",
    description="R11 remote service: every contact recorded; resolved, or escalated to "
    "on-site service, or handed to depot repair.",
    states=[s.value for s in RemoteState],
    initial=M.WORKING,
    finals={M.RESOLVED, M.ESCALATED_ONSITE, M.HANDED_TO_DEPOT, M.CANCELLED},
    transitions=[
        Transition("record_contact", [M.WORKING], M.WORKING, rule="R11"),
        Transition("resolve", [M.WORKING], M.RESOLVED, rule="R11"),
        Transition("escalate_onsite", [M.WORKING], M.ESCALATED_ONSITE, rule="R11"),
        Transition("hand_to_depot", [M.WORKING], M.HANDED_TO_DEPOT, rule="R11"),
        Transition("cancel", [M.WORKING], M.CANCELLED),
    ],
)

S = OnSiteState
_RESCHEDULABLE = (S.PLANNED, S.AWAITING_APPROVAL, S.APPROVED, S.PREPARING, S.TRAVELLING,
                  S.REVISIT_PLANNED)
ONSITE = WorkflowDefinition(
    name="onsite",
    description="R12 on-site service: the engineer confirms the need, a supervisor approves "
    "the dispatch (or, in an emergency, the engineer goes first and the approval is recorded "
    "afterwards), preparation, travel, arrival, work, the customer signs the service report; "
    "not solved on site → consultation and a revisit, or depot repair.",
    states=[s.value for s in OnSiteState],
    initial=S.PLANNED,
    finals={S.SIGNED_OFF, S.HANDED_TO_DEPOT, S.CANCELLED},
    transitions=[
        Transition("confirm_need", [S.PLANNED], S.AWAITING_APPROVAL, rule="R12"),
        Transition("approve", [S.AWAITING_APPROVAL], S.APPROVED, rule="R12"),
        Transition("dispatch_emergency", [S.AWAITING_APPROVAL], S.TRAVELLING, rule="R12"),
        Transition("prepare", [S.APPROVED], S.PREPARING, rule="R12"),
        Transition("depart", [S.PREPARING, S.REVISIT_PLANNED], S.TRAVELLING, rule="R12"),
        Transition("arrive", [S.TRAVELLING], S.ON_SITE, rule="R12"),
        Transition("record_work", [S.ON_SITE], S.ON_SITE, rule="R12"),
        Transition("sign_off", [S.ON_SITE], S.SIGNED_OFF, rule="R12,R3"),
        Transition("call_consultation", [S.ON_SITE], S.CONSULTATION, rule="R12"),
        Transition("plan_revisit", [S.CONSULTATION], S.REVISIT_PLANNED, rule="R12"),
        Transition("hand_to_depot", [S.CONSULTATION], S.HANDED_TO_DEPOT, rule="R12,R13"),
        *[Transition("reschedule", [s], s, rule="R12") for s in _RESCHEDULABLE],
        Transition(
            "cancel",
            [s for s in OnSiteState if s not in (S.SIGNED_OFF, S.HANDED_TO_DEPOT, S.CANCELLED)],
            S.CANCELLED,
        ),
    ],
    guarantees=[
        MustPassThrough(S.TRAVELLING, [S.AWAITING_APPROVAL], rule="R12"),
        MustPassThrough(S.SIGNED_OFF, [S.ON_SITE], rule="R12"),
        MustPassThrough(S.PREPARING, [S.APPROVED], rule="R12"),
    ],
)
