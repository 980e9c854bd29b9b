"""The rules that drive requests: opening the files, registering requests (R7, R8),
moving them along their flows, any command by anyone, repeated commands (idempotency)
and reading a request (R30).

Part of :mod:`aftersales.testing.stateful`: import from there.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from hypothesis import strategies as st
from hypothesis.stateful import initialize, multiple, precondition, rule

from aftersales.adapters.system import ManualClock
from aftersales.domain.values import CustomerTier, Role
from aftersales.errors import AftersalesError, NotAuthorized, ValidationError
from aftersales.testing import oracle, strategies
from aftersales.testing.oracle import Expectation
from aftersales.testing.stateful.arguments import DeskArguments
from aftersales.testing.stateful.base import DeskMachineBase
from aftersales.testing.stateful.prediction import DeskPrediction
from aftersales.testing.stateful.tables import _ENDINGS, ACTOR_KEYS

__all__ = ["DeskFlowRules"]

#: The base's bundle of request ids.
requests = DeskMachineBase.requests


class DeskFlowRules(DeskPrediction, DeskArguments):
    """The rules that register requests and move them on."""

    @initialize(target=requests, data=st.data())
    def open_the_files(self, data: st.DataObject) -> Any:
        """Two customers (one a key account) with a customer login, equipment with dates near
        the edges of coverage (R2, R20), a service plan (R4), and a first request."""
        begin = data.draw(self.start_times(), label="run starts at")
        if isinstance(self.clock, ManualClock) and begin > self.clock.now():
            self.clock.set(begin)
        today = self.now().astimezone(self.desk.repair_policy.zone).date()
        period = self.warranty_policy.period_months
        near = strategies.coverage_start_dates(today, period)
        optional_day = st.one_of(st.none(), near, strategies.dates(
            min_value=date(2020, 1, 1), max_value=date(2027, 12, 31)))
        for tier in (CustomerTier.KEY_ACCOUNT, CustomerTier.STANDARD):
            customer = self.desk.register_customer(
                self.clerk, name=data.draw(strategies.names(), label="customer name"), tier=tier,
                contacts=data.draw(st.lists(strategies.contacts(), max_size=1), label="contacts"),
            )
            self.customers.append(customer)
            self.customer_actors[customer.id] = self.desk.register_actor(
                self.supervisor, name=f"客户 {customer.name}"[:40], roles={Role.CUSTOMER},
                customer_id=customer.id,
            )
            self.units.append(self.desk.register_equipment(
                self.clerk, serial=f"SN-{len(self.units) + 1}", model="X200",
                owner_id=customer.id,
                installed_on=data.draw(optional_day, label="installed_on"),
                purchased_on=data.draw(optional_day, label="purchased_on"),
                invoice_ref=data.draw(st.none() | st.just("INV-1"), label="invoice_ref"),
                produced_on=data.draw(optional_day, label="produced_on"),
            ))
        starts = data.draw(st.one_of(
            strategies.coverage_boundary_days(today, today),
            strategies.dates(min_value=date(2025, 1, 1), max_value=date(2027, 1, 1))),
            label="plan starts")
        self.desk.add_service_plan(
            self.supervisor, customer_id=self.customers[0].id, starts_on=starts,
            ends_on=starts + timedelta(days=365), equipment_ids={self.units[0].id},
            content="年度维保 annual maintenance",
        )
        return self._register(data, "clerk", valid=True)

    def _register(self, data: st.DataObject, actor_key: str, *, valid: bool) -> Any:
        customer = data.draw(st.sampled_from(self.customers), label="customer")
        actor = {
            "clerk": self.clerk, "supervisor": self.supervisor, "engineer": self.engineers[0],
            "customer_rep": self.rep, "customer": self.customer_actors[customer.id],
        }[actor_key]
        unit = data.draw(st.sampled_from((None, *self.units)), label="equipment")
        if valid and unit is not None and unit.owner_id != customer.id:
            unit = None
        summary = strategies.words() if valid else strategies.words_or_blank()
        arguments: dict[str, Any] = {
            "customer_id": customer.id,
            "summary": data.draw(summary, label="summary"),
            "category": data.draw(strategies.categories(), label="category"),
            "channel": data.draw(strategies.channels(), label="channel"),
            "impact": data.draw(strategies.impacts(), label="impact"),
            "urgency": data.draw(strategies.urgencies(), label="urgency"),
            "equipment_id": unit.id if unit is not None else None,
        }
        e = Expectation(f"register_request by {actor.name}")
        if not oracle.text_ok(arguments["summary"], max_length=2000):
            e.refuse(ValidationError, "arguments", "blank summary")
        who = self._expect_actor(e, actor)
        if who is not None and not self.expect_permission(who, "register_request", None):
            e.refuse(NotAuthorized, "authorization", f"R30: {who.name} may not register")
        if unit is not None and unit.owner_id not in (None, customer.id):
            e.refuse(ValidationError, "rules", "the unit belongs to another customer")
        before = self.snapshot()
        try:
            request = self.desk.register_request(actor, **arguments)
        except AftersalesError as error:
            self._expect_unchanged(before, e.what, error)
            self.outcomes[f"register_request: refused ({type(error).__name__})"] += 1
            e.judge(error)
            return multiple()
        finally:
            self._tick()
        e.judge(None)
        self.outcomes["register_request: done"] += 1
        expected = self.expected_priority(request.impact, request.urgency)
        assert request.priority == expected, (
            f"R8: {request.impact.name} × {request.urgency.name} must be {expected.name}, "
            f"the desk gave {request.priority.name}"
        )
        assert request.state == self.workflows()["request"].initial
        return request.id

    @precondition(lambda self: len(self.store.requests) < self.max_requests)
    @rule(target=requests, data=st.data())
    def register_request(self, data: st.DataObject) -> Any:
        """R7: someone (usually the clerk) registers a request; others are refused (R30)."""
        key = data.draw(st.sampled_from(("clerk", "clerk", "customer_rep", "supervisor",
                                         "engineer", "customer")), label="registered by")
        return self._register(data, key, valid=data.draw(st.booleans(), label="valid"))

    def _advance(self, request_id: UUID, data: st.DataObject) -> None:
        request = self.store.requests[request_id]
        allowed = set(self.commands())
        offered = strategies.candidate_steps(request, workflows=self.workflows())
        candidates = [c for c in offered if c in allowed]
        if not candidates:
            self._attempt(request_id, data)
            return
        # Mostly take a step that moves the flow on; sometimes loop (reschedule, another
        # contact) or end it (cancel, reject).
        moving = [
            c for c in strategies.candidate_steps(request, moving_only=True,
                                                  workflows=self.workflows())
            if c in allowed and c not in _ENDINGS
        ]
        if moving and data.draw(st.integers(min_value=0, max_value=5), label="detour") != 0:
            candidates = moving
        command = data.draw(st.sampled_from(candidates), label="command")
        actor = self.natural_actor(command, request)
        arguments = data.draw(self.command_arguments(command, valid=True), label="arguments")
        key = data.draw(st.none() | st.just(f"key-{len(self.sent)}"), label="key")
        self.run_command(command, actor, request_id, arguments, key=key)

    def _attempt(self, request_id: UUID, data: st.DataObject) -> None:
        request = self.store.requests[request_id]
        command = data.draw(st.sampled_from(self.commands()), label="command")
        key = data.draw(st.sampled_from(ACTOR_KEYS), label="actor")
        valid = data.draw(st.booleans(), label="valid arguments")
        arguments = data.draw(self.command_arguments(command, valid=valid), label="arguments")
        version = data.draw(st.sampled_from(
            [None, None, None, request.version, max(request.version - 1, 0)]
        ), label="expected_version")
        target = request_id if data.draw(st.integers(0, 9), label="unknown") else UUID(int=7)
        self.run_command(command, self.actor_for(key, request), target, arguments,
                         expected_version=version)

    @rule(request=requests, data=st.data())
    def advance(self, request: UUID, data: st.DataObject) -> None:
        """A command the workflow offers now, by the actor who normally issues it."""
        self._advance(request, data)

    @rule(request=requests, data=st.data())
    def advance_further(self, request: UUID, data: st.DataObject) -> None:
        """Several :meth:`advance` steps in a row, so that runs reach deep states (closing
        after an emergency dispatch and its retro-approval) within the step budget."""
        for _ in range(data.draw(st.integers(min_value=1, max_value=6), label="steps")):
            self._advance(request, data)

    @rule(request=requests, data=st.data())
    def attempt_anything(self, request: UUID, data: st.DataObject) -> None:
        """Any command by any of the actors, arguments possibly invalid, perhaps on an
        unknown request or an outdated version: the oracle says which must be refused."""
        self._attempt(request, data)

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def repeat_a_command(self, data: st.DataObject) -> None:
        """Idempotency: a command sent again with its key returns the first result and
        changes nothing (after authorizing again); other arguments under the same key are
        refused (IdempotencyConflict)."""
        sent = data.draw(st.sampled_from(self.sent), label="repeat")
        arguments = sent.arguments
        if data.draw(st.booleans(), label="other arguments"):
            arguments = data.draw(self.command_arguments(sent.command, valid=True),
                                  label="arguments")
        self.run_command(sent.command, sent.actor, sent.request_id, arguments, key=sent.key)

    @rule(request=requests, key=st.sampled_from(ACTOR_KEYS))
    def look_at_the_request(self, request: UUID, key: str) -> None:
        """Reading a request changes nothing; only who may view it sees it (R30)."""
        committed = self.store.requests[request]
        actor = self.actor_for(key, committed)
        e = Expectation(f"get_request by {actor.name}")
        who = self._expect_actor(e, actor)
        if who is not None and not self.expect_permission(who, "view", committed):
            e.refuse(NotAuthorized, "authorization", f"R30: {who.name} may not view it")
        before = self.snapshot()
        try:
            seen = self.desk.get_request(actor, request)
        except AftersalesError as error:
            self._expect_unchanged(before, e.what, error)
            e.judge(error)
            return
        e.judge(None)
        assert seen.version == committed.version and seen.state == committed.state
        assert self.snapshot() == before, "reading a request changed the store"
