"""The rules around the requests: warranty questions (R20, both ways), an engineer who
leaves or returns (R30) and time passing.

Part of :mod:`aftersales.testing.stateful`: import from there.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st
from hypothesis.stateful import rule

from aftersales.adapters.system import ManualClock
from aftersales.domain.records import Equipment
from aftersales.domain.warranty import Exclusion
from aftersales.errors import AftersalesError, NotAuthorized
from aftersales.testing import strategies
from aftersales.testing.oracle import Expectation
from aftersales.testing.stateful.prediction import DeskPrediction

__all__ = ["DeskWorldRules"]


class DeskWorldRules(DeskPrediction):
    """The rules that ask about warranty, change the staff and move the clock."""

    def warranty_days(self, unit: Equipment) -> st.SearchStrategy[date | None]:
        """R20: the days to ask about ``unit``: mostly the edges of its coverage (the day
        before it starts, its first and last day, the first day after) and of its owner's
        plans; sometimes any day; sometimes none (today)."""
        today = self.now().astimezone(self.desk.repair_policy.zone).date()
        coverage = self.expected_coverage(unit, today, [])
        edges = []
        if coverage.starts_on is not None and coverage.ends_on is not None:
            edges.append(strategies.coverage_boundary_days(coverage.starts_on, coverage.ends_on))
        for plan in self.store.plans.values():
            if plan.customer_id == unit.owner_id:
                edges.append(strategies.coverage_boundary_days(
                    plan.starts_on, plan.ends_on + timedelta(days=1)))
        anyday = strategies.dates(min_value=date(2019, 1, 1), max_value=date(2031, 1, 1))
        return st.one_of(st.none(), anyday, *edges, *edges)

    @rule(data=st.data(), questions=st.integers(min_value=1, max_value=4))
    def ask_about_warranty(self, data: st.DataObject, questions: int) -> None:
        """R20 both ways: the desk's answer is "in warranty" exactly when the policy's
        parameters say the unit is covered on that day (days drawn at the edges of its
        coverage and its plans), out otherwise (outside the window, an exclusion, no usable
        date); a customer asks only about their own units (R30)."""
        askers = ("clerk", "clerk", "engineer", "customer_rep", "owner", "other_customer")
        findings: st.SearchStrategy[list[Exclusion]] = st.one_of(
            st.just([]), st.just([]), strategies.exclusion_lists(max_size=2)
        )
        for number in range(questions):
            unit = data.draw(st.sampled_from(self.units), label=f"unit {number}")
            self._ask_about_warranty(
                unit, data.draw(findings, label=f"findings {number}"),
                data.draw(self.warranty_days(unit), label=f"on {number}"),
                data.draw(st.sampled_from(askers), label=f"asked by {number}"),
            )

    def _ask_about_warranty(
        self, unit: Equipment, findings: list[Exclusion], on: date | None, key: str
    ) -> None:
        today = self.now().astimezone(self.desk.repair_policy.zone).date()
        assert unit.owner_id is not None
        owner = self.customer_actors[unit.owner_id]
        asker = {
            "clerk": self.clerk, "engineer": self.engineers[0], "customer_rep": self.rep,
            "owner": owner,
            "other_customer": next(a for a in self.customer_actors.values() if a is not owner),
        }[key]
        e = Expectation(f"warranty of {unit.serial} by {asker.name}")
        who = self._expect_actor(e, asker)
        if who is not None and not self.expect_permission(who, "view", unit):
            e.refuse(NotAuthorized, "authorization", f"R30: {who.name} may not view the unit")
        before = self.snapshot()
        try:
            result = self.desk.warranty(asker, unit.id, findings=findings, on=on)
        except AftersalesError as error:
            self._expect_unchanged(before, e.what, error)
            e.judge(error)
            return
        e.judge(None)
        assert self.snapshot() == before, "a warranty question changed the store"
        day = on if on is not None else today
        assert result.checked_on == day
        expected = self.expected_coverage(unit, day, findings)
        assert result.in_warranty == expected.in_warranty, (
            f"R20: {unit.serial} on {day} with {findings}: the policy says "
            f"{'in' if expected.in_warranty else 'out of'} warranty ({expected}), the desk "
            f"answered {result.explain()}"
        )
        assert result.chargeable == (not expected.in_warranty)
        assert (result.basis, result.starts_on, result.ends_on) == (
            expected.basis, expected.starts_on, expected.ends_on
        ), f"R20: {result} is not {expected}"
        assert result.exclusion == expected.exclusion, f"R20: {result} is not {expected}"
        self.check_warranty_determination(unit, findings, result)

    @rule(data=st.data(), key=st.sampled_from(["supervisor", "supervisor", "clerk"]))
    def an_engineer_leaves_or_returns(self, data: st.DataObject, key: str) -> None:
        """R30: the second engineer is deactivated (or reactivated); while inactive, every
        command of theirs is refused and nobody can assign them."""
        target = self.engineers[1]
        actor = self.supervisor if key == "supervisor" else self.clerk
        current = self.store.actors[target.id]
        command = "deactivate_actor" if current.active else "reactivate_actor"
        e = Expectation(f"{command} of {target.name} by {actor.name}")
        who = self._expect_actor(e, actor)
        if who is not None and not self.expect_permission(who, command, current):
            e.refuse(NotAuthorized, "authorization", f"R30: {who.name} may not {command}")
        before = self.snapshot()
        try:
            if current.active:
                self.desk.deactivate_actor(actor, target.id, reason="离职 left the company")
            else:
                self.desk.reactivate_actor(actor, target.id, note="back")
        except AftersalesError as error:
            self._expect_unchanged(before, e.what, error)
            e.judge(error)
            return
        finally:
            self._tick()
        e.judge(None)
        assert self.store.actors[target.id].active is not current.active

    @rule(hours=st.integers(min_value=1, max_value=24 * 120))
    def time_passes(self, hours: int) -> None:
        """The manual clock moves on (when the clock is a :class:`ManualClock`)."""
        if isinstance(self.clock, ManualClock):
            self.clock.advance(timedelta(hours=hours))
