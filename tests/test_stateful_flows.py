"""Stateful property tests of the service desk (R8-R12, R20, R30) through random command
sequences by random actors, using the shipped :class:`ServiceDeskStateMachine`: every command
is checked against the oracle's prediction (accepted exactly when the rules say so, refused for
the predicted reason), R8's priority and R20's warranty answers both ways, and the R9, R10 and
R12 invariants after every step."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import attrs
import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from aftersales.domain.records import Actor, Equipment, ServicePlan
from aftersales.domain.request import OnSiteJob, RemoteJob, ServiceRequest
from aftersales.domain.values import Role
from aftersales.domain.warranty import Exclusion, WarrantyDetermination, WarrantyPolicy
from aftersales.service.authorization import DEFAULT_PERMISSIONS, RoleBasedPolicy
from aftersales.testing import ServiceDeskStateMachine

FLOW_SETTINGS = settings(max_examples=200, stateful_step_count=30, deadline=None)


class AllFlows(ServiceDeskStateMachine):
    """Request, remote and on-site flows mixed, escalation included."""


class RemoteOnlyFlows(ServiceDeskStateMachine):
    """R11 only: no on-site job is ever opened and nothing goes to the depot."""

    excluded_commands = frozenset({"start_onsite", "escalate_onsite", "hand_to_depot"})

    def check_extra_invariants(self, request: ServiceRequest) -> None:
        assert all(isinstance(job, RemoteJob) for job in request.jobs)


class OnSiteFlows(ServiceDeskStateMachine):
    """R12 only: every job is an on-site visit (approval, emergency, consultation, revisit)."""

    excluded_commands = frozenset({"start_remote"})

    def check_extra_invariants(self, request: ServiceRequest) -> None:
        assert all(isinstance(job, OnSiteJob) for job in request.jobs)


TestR8ToR12R20R30EveryCommandIsAnsweredAsTheRulesPredict = AllFlows.TestCase
TestR8ToR12R20R30EveryCommandIsAnsweredAsTheRulesPredict.settings = FLOW_SETTINGS
TestR11RemoteOnlyFlowsAreAnsweredAsPredicted = RemoteOnlyFlows.TestCase
TestR11RemoteOnlyFlowsAreAnsweredAsPredicted.settings = FLOW_SETTINGS
TestR12OnSiteFlowsAreAnsweredAsPredicted = OnSiteFlows.TestCase
TestR12OnSiteFlowsAreAnsweredAsPredicted.settings = FLOW_SETTINGS


# --- the machine catches a desk that breaks a rule ------------------------------------------

# Derandomized, so a catch never depends on luck; up to 1000 examples because the draws (and
# so the example that catches) shift with the constants of every module loaded (Hypothesis
# mixes them in): a run stops at its first failure, so the margin costs nothing when it catches.
CATCH = settings(max_examples=1000, stateful_step_count=30, deadline=None, database=None,
                 derandomize=True, phases=[Phase.generate])


@attrs.frozen
class _CoversTheDayAfterToo(WarrantyPolicy):
    """A policy whose answers are one day too generous at the end of coverage."""

    def determine(
        self, equipment: Equipment, on: date, findings: Iterable[Exclusion] = (),
        plans: Iterable[ServicePlan] = (),
    ) -> WarrantyDetermination:
        result = super().determine(equipment, on, findings, plans)
        if not result.in_warranty and result.exclusion is None and result.ends_on == on:
            return attrs.evolve(result, in_warranty=True)
        return result


class _GenerousWarrantyDesk(ServiceDeskStateMachine):
    def make_warranty_policy(self) -> WarrantyPolicy:
        return _CoversTheDayAfterToo()


def test_r20_the_machine_catches_coverage_one_day_too_long() -> None:
    with pytest.raises(AssertionError, match="R20"):
        run_state_machine_as_test(_GenerousWarrantyDesk, settings=CATCH)


def test_r30_the_machine_catches_any_engineer_doing_an_assigned_engineers_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shipped = RoleBasedPolicy.authorize

    def careless(self: RoleBasedPolicy, actor: Actor, action: str, target: Any,
                 kind: Any) -> None:
        if actor.has(Role.ENGINEER) and action in DEFAULT_PERMISSIONS and (
            Role.ENGINEER in DEFAULT_PERMISSIONS[action].roles
        ):
            return
        shipped(self, actor, action, target, kind)

    monkeypatch.setattr(RoleBasedPolicy, "authorize", careless)
    with pytest.raises(AssertionError, match="R30"):
        run_state_machine_as_test(AllFlows, settings=CATCH)
