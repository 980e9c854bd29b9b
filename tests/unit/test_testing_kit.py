"""The testing kit's own parts: the oracle's rules agree with the policies they model (so the
stateful machines judge the desk by the rule book, and a policy that drifts from it fails
here too), its verdicts are strict, and the boundary strategies reach the edges they aim at."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from aftersales.domain.kernel import AggregateKind
from aftersales.domain.records import ACTORS, EQUIPMENT, Actor, ServicePlan
from aftersales.domain.repair import (
    REPAIR_ORDERS,
    FaultKind,
    RepairPolicy,
    is_free_rerepair,
    pickup_notice_lead,
)
from aftersales.domain.request import REQUESTS
from aftersales.domain.values import Role, elapsed
from aftersales.domain.warranty import Exclusion, WarrantyPolicy, add_months
from aftersales.errors import GuardFailed, InvalidTransition, NotAuthorized, ValidationError
from aftersales.service.authorization import DEFAULT_PERMISSIONS, RoleBasedPolicy
from aftersales.testing import oracle
from aftersales.testing import strategies as ast
from aftersales.testing.oracle import Expectation

ZONES = st.sampled_from([timezone(timedelta(hours=8)), UTC, timezone(timedelta(hours=-5))])


# --- the oracle agrees with the policies it models ---------------------------------------------


@given(ast.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31)),
       st.integers(min_value=-240, max_value=240))
def test_r20_the_oracle_counts_months_like_the_warranty_policy(day: date, months: int) -> None:
    assert oracle.months_later(day, months) == add_months(day, months)


def test_r20_a_month_after_the_last_day_of_january_is_the_last_day_of_february() -> None:
    assert oracle.months_later(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert oracle.months_later(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert oracle.months_later(date(2028, 3, 31), -1) == date(2028, 2, 29)
    assert oracle.months_later(date(2026, 11, 23), -12) == date(2025, 11, 23)


@st.composite
def _plans(draw: st.DrawFn, unit_id: UUID, owner: UUID) -> list[ServicePlan]:
    plans = []
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        starts = draw(ast.dates(min_value=date(2018, 1, 1), max_value=date(2030, 1, 1)))
        ends = draw(ast.dates(min_value=starts, max_value=date(2032, 1, 1)))
        covered = {unit_id} if draw(st.booleans()) else set()
        plans.append(ServicePlan(uuid4(), owner, starts, ends, covered,
                                 extends_warranty=draw(st.booleans())))
    return plans


@settings(max_examples=300)
@given(policy=ast.warranty_policies(), unit=ast.equipment(owner_id=st.just(UUID(int=5))),
       findings=ast.exclusion_lists(max_size=2), data=st.data())
def test_r20_the_oracle_decides_coverage_as_the_warranty_policy_does(
    policy: WarrantyPolicy, unit: Any, findings: list[Exclusion], data: st.DataObject
) -> None:
    plans = data.draw(_plans(unit.id, UUID(int=5)), label="plans")
    start = oracle.expected_coverage(policy, unit, date(2026, 1, 1)).starts_on
    end = oracle.expected_coverage(policy, unit, date(2026, 1, 1)).ends_on
    days = ast.dates() if start is None or end is None else st.one_of(
        ast.coverage_boundary_days(start, end), ast.dates()
    )
    day = data.draw(days, label="day")
    expected = oracle.expected_coverage(policy, unit, day, findings, plans)
    answer = policy.determine(unit, day, findings, plans)
    assert (answer.in_warranty, answer.basis, answer.starts_on, answer.ends_on,
            answer.exclusion) == (expected.in_warranty, expected.basis, expected.starts_on,
                                  expected.ends_on, expected.exclusion)


RECENT = ast.aware_datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1))


@given(received=st.one_of(ast.dst_datetimes(), RECENT),
       took=ast.durations_around(timedelta(days=2)))
def test_r16_the_oracle_gives_the_pick_up_lead_the_repair_policy_gives(
    received: datetime, took: timedelta
) -> None:
    policy = RepairPolicy()
    ready = (received.astimezone(UTC) + took).astimezone(received.tzinfo)
    lead = oracle.expected_pickup_lead(policy, received, ready)
    assert lead == pickup_notice_lead(policy, elapsed(received, ready))
    assert lead == (timedelta(hours=4) if took >= timedelta(days=2) else timedelta(hours=1))


@given(picked=RECENT, data=st.data(), kind=st.sampled_from(FaultKind), same=st.booleans(),
       same_free=st.booleans(), window=st.integers(min_value=0, max_value=30))
def test_r21_the_oracle_grants_the_free_re_repair_the_repair_policy_grants(
    picked: datetime, data: st.DataObject, kind: FaultKind, same: bool, same_free: bool,
    window: int,
) -> None:
    policy = RepairPolicy(rerepair_window_days=window, rerepair_same_fault_free=same_free)
    back = data.draw(ast.days_after(picked, policy.zone, window_days=window), label="back")
    assert oracle.expected_free_rerepair(policy, picked, back, kind, same_fault=same) == (
        is_free_rerepair(policy, picked, back, kind, same_fault=same)
    )


def test_r21_day_15_after_pick_up_is_free_and_day_16_is_not() -> None:
    policy = RepairPolicy()
    zone = policy.zone
    picked = datetime(2026, 11, 23, 23, 59, tzinfo=zone)
    last_inside = datetime(2026, 12, 8, 23, 59, 59, 999_999, tzinfo=zone)
    first_outside = datetime(2026, 12, 9, 0, 0, tzinfo=zone)
    assert oracle.expected_free_rerepair(policy, picked, last_inside, FaultKind.SOFTWARE,
                                         same_fault=False)
    assert not oracle.expected_free_rerepair(policy, picked, first_outside, FaultKind.SOFTWARE,
                                             same_fault=False)
    assert not oracle.expected_free_rerepair(policy, picked, last_inside, FaultKind.HARDWARE,
                                             same_fault=True)


_KINDS: list[AggregateKind[Any]] = [REQUESTS, REPAIR_ORDERS, EQUIPMENT, ACTORS]


@settings(max_examples=300)
@given(roles=ast.role_sets(), action=st.sampled_from(sorted(DEFAULT_PERMISSIONS)),
       kind=st.sampled_from(_KINDS), mine=st.booleans(), assigned=st.booleans(),
       active=st.booleans(), has_target=st.booleans())
def test_r30_the_oracle_reads_the_permission_table_as_the_policy_does(
    roles: frozenset[Role], action: str, kind: AggregateKind[Any], mine: bool, assigned: bool,
    active: bool, has_target: bool,
) -> None:
    customer, engineer = uuid4(), uuid4()
    actor = Actor(engineer, "王工", roles, customer if Role.CUSTOMER in roles else None,
                  state="active" if active else "inactive")

    class Target:
        customer_id = customer if mine else uuid4()
        owner_id = customer_id
        engineer_id = engineer if assigned else uuid4()
        number, state = "SR-1", "assigned"

    target: Any = Target() if has_target else None
    policy = RoleBasedPolicy()
    try:
        policy.authorize(actor, action, target, kind if has_target else None)
        allowed = True
    except NotAuthorized:
        allowed = False
    assert oracle.permitted(policy, actor, action, target, kind if has_target else None) == (
        allowed
    )


def test_r30_a_policy_without_a_table_is_asked_itself() -> None:
    class OnlySupervisors:
        def authorize(self, actor: Actor, action: str, target: object, kind: object) -> None:
            if not actor.has(Role.SUPERVISOR):
                raise NotAuthorized(actor.name, action, "-", "-", None, "supervisors only")

    boss = Actor(uuid4(), "主管", frozenset({Role.SUPERVISOR}))
    clerk = Actor(uuid4(), "文员", frozenset({Role.CLERK}))
    assert oracle.permitted(OnlySupervisors(), boss, "close", None, None)
    assert not oracle.permitted(OnlySupervisors(), clerk, "close", None, None)


# --- verdicts ----------------------------------------------------------------------------------


def test_an_expectation_fails_a_command_wrongly_accepted() -> None:
    e = Expectation("close")
    e.refuse(InvalidTransition, "rules", "not confirmed")
    with pytest.raises(AssertionError, match="wrongly accepted"):
        e.judge(None)


def test_an_expectation_fails_a_command_wrongly_refused() -> None:
    with pytest.raises(AssertionError, match="wrongly refused"):
        Expectation("close").judge(InvalidTransition("SR", 1, "confirmed", "close"))


def test_an_expectation_fails_a_refusal_for_another_reason() -> None:
    e = Expectation("close")
    e.refuse(NotAuthorized, "authorization", "a customer may not close")
    with pytest.raises(AssertionError, match="wrong reason"):
        e.judge(ValidationError("ServiceRequest", "x", "bad"))


def test_the_first_stage_with_a_reason_decides_the_refusal() -> None:
    e = Expectation("close")
    e.refuse(InvalidTransition, "rules", "not confirmed")
    e.refuse(NotAuthorized, "authorization", "a customer may not close")
    assert e.errors == (NotAuthorized,)
    e.judge(NotAuthorized("c", "close", "ServiceRequest", 1, None, "no"))
    with pytest.raises(AssertionError):
        e.judge(InvalidTransition("SR", 1, "resolved", "close"))


def test_a_rule_refusal_may_be_a_guard_failure() -> None:
    e = Expectation("close")
    e.refuse(InvalidTransition, "rules", "guard")
    e.judge(GuardFailed("SR", 1, "confirmed", "close", "R12"))


def test_an_unknown_stage_is_a_mistake_of_the_oracle() -> None:
    with pytest.raises(ValueError, match="stage"):
        Expectation("x").refuse(NotAuthorized, "somewhere", "?")


@pytest.mark.parametrize(("value", "ok"), [
    ("修好了", True), ("", False), ("  \u3000", False), ("a\x00b", False), ("\ud800", False),
    ("x" * 201, False), (None, False),
])
def test_command_text_is_judged_like_the_commands_judge_it(value: object, ok: bool) -> None:
    assert oracle.text_ok(value, max_length=200) is ok


# --- the boundary strategies reach their edges -------------------------------------------------


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(microseconds=-1),
                                    timedelta(microseconds=1), timedelta(hours=-1),
                                    timedelta(hours=1)])
def test_r16_durations_around_a_threshold_hit_it_and_its_neighbours(offset: timedelta) -> None:
    threshold = timedelta(days=2)
    assert find(ast.durations_around(threshold), lambda d: d == threshold + offset) == (
        threshold + offset
    )


@pytest.mark.parametrize("which", ["start", "last", "end"])
def test_r20_coverage_boundary_days_hit_the_first_and_last_day(which: str) -> None:
    starts, ends = date(2026, 3, 31), date(2027, 3, 31)
    wanted = {"start": starts, "last": ends - timedelta(days=1), "end": ends}[which]
    assert find(ast.coverage_boundary_days(starts, ends), lambda d: d == wanted) == wanted


@pytest.mark.parametrize(("installed", "covered"), [
    (date(2026, 11, 23), True),  # today is the first day of coverage
    (date(2025, 11, 24), True),  # today is the last day of coverage
    (date(2025, 11, 23), False),  # today is the first day after it
])
def test_r20_coverage_start_dates_put_today_on_both_edges(installed: date, covered: bool) -> None:
    today = date(2026, 11, 23)
    assert find(ast.coverage_start_dates(today, 12), lambda d: d == installed) == installed
    assert (installed <= today < add_months(installed, 12)) is covered


@settings(max_examples=100)
@given(data=st.data(), zone=ZONES, picked=RECENT)
def test_r21_days_after_pick_up_fall_on_the_deciding_days_at_their_edges(
    data: st.DataObject, zone: timezone, picked: datetime
) -> None:
    back = data.draw(ast.days_after(picked, zone, window_days=15))
    day = (back.astimezone(zone).date() - picked.astimezone(zone).date()).days
    assert back >= picked
    assert day in (0, 14, 15, 16)
    assert back == picked or back.astimezone(zone).time() in (
        time(0), time(23, 59, 59, 999_999), time(12)
    )


def test_r21_days_after_reach_day_15_and_day_16() -> None:
    zone = RepairPolicy().zone
    picked = datetime(2026, 11, 23, 9, tzinfo=zone)
    for day in (15, 16):
        back = find(ast.days_after(picked, zone),
                    lambda at, n=day: (at.date() - picked.date()).days == n)
        assert (back.date() - picked.date()).days == day


@given(ast.dst_transitions())
def test_dst_transitions_are_instants_where_the_offset_changes(at: datetime) -> None:
    before = (at.astimezone(UTC) - timedelta(seconds=1)).astimezone(at.tzinfo)
    assert before.utcoffset() != at.utcoffset()
    assert str(at.tzinfo) in ast.DST_ZONES


@given(ast.dst_datetimes())
def test_dst_datetimes_lie_within_two_days_of_a_change(at: datetime) -> None:
    zone = at.tzinfo
    assert zone is not None and str(zone) in ast.DST_ZONES
    around = [(at.astimezone(UTC) + delta).astimezone(zone).utcoffset()
              for delta in (-timedelta(days=2, seconds=1), timedelta(days=2))]
    assert around[0] != around[1]


def test_words_are_never_blank_and_words_or_blank_are_sometimes() -> None:
    assert all(w.strip() for w in ast.WORDS)
    assert find(ast.words_or_blank(), lambda w: not w.strip()).strip() == ""
