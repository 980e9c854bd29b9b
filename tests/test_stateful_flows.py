"""Stateful property tests of the service desk (R9, R10, R12, R30) through random command
sequences by random actors, using the shipped :class:`ServiceDeskStateMachine`."""

from __future__ import annotations

from hypothesis import settings

from aftersales.domain.request import OnSiteJob, RemoteJob, ServiceRequest
from aftersales.testing import ServiceDeskStateMachine

FLOW_SETTINGS = settings(max_examples=200, stateful_step_count=30)


class AllFlows(ServiceDeskStateMachine):
    """Request, remote and on-site flows mixed, escalation included."""


class RemoteOnlyFlows(ServiceDeskStateMachine):
    """R11 only: no on-site job is ever opened and nothing goes to the depot."""

    excluded_commands = frozenset(
        {"start_onsite", "escalate_onsite", "hand_to_depot", "complete_depot"}
    )

    def check_extra_invariants(self, request: ServiceRequest) -> None:
        assert all(isinstance(job, RemoteJob) for job in request.jobs)


class OnSiteFlows(ServiceDeskStateMachine):
    """R12 only: every job is an on-site visit (approval, emergency, consultation, revisit)."""

    excluded_commands = frozenset({"start_remote"})

    def check_extra_invariants(self, request: ServiceRequest) -> None:
        assert all(isinstance(job, OnSiteJob) for job in request.jobs)


TestAllFlowsKeepRecordsConfirmationsAndApprovals = AllFlows.TestCase
TestAllFlowsKeepRecordsConfirmationsAndApprovals.settings = FLOW_SETTINGS
TestRemoteOnlyFlows = RemoteOnlyFlows.TestCase
TestRemoteOnlyFlows.settings = FLOW_SETTINGS
TestOnSiteFlows = OnSiteFlows.TestCase
TestOnSiteFlows.settings = FLOW_SETTINGS
