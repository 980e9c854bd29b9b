"""A stateful Hypothesis test of the service desk that users can point at their own policies.

:class:`ServiceDeskStateMachine` drives random sequences of :class:`~aftersales.ServiceDesk`
commands, issued by random actors (the clerk, the assigned engineer, another engineer, the
supervisor, the request's customer, another customer), through the request, remote (R11) and
on-site (R12) flows on the in-memory adapter. After every step it checks:

- R9: each request's record only grows (the previous record is a prefix of the new one) and
  :func:`~aftersales.workflows.verify_record` replays it to the current state; the events in
  ``store.events`` of each request are numbered 1, 2, 3 ... without gaps;
- R10: nothing is closed without the customer's confirmation (a ``confirm`` entry, not undone
  by a ``reopen``, before the ``close`` entry);
- R12: nothing is closed while an on-site job's approval is ``EMERGENCY_PENDING``, and every
  on-site job that travelled carries ``APPROVED`` or ``RETRO_APPROVED`` when it is closed;
- R20: a warranty determination honours the policy's exclusions and its coverage window;
- a refused command (any :class:`~aftersales.errors.AftersalesError`) changes nothing: the
  request's state, version and record and ``store.events`` are identical before and after.

Any other exception propagates: it is a bug. Subclass it to plug in your own policies::

    class MyDeskFlows(ServiceDeskStateMachine):
        def make_warranty_policy(self) -> WarrantyPolicy:
            return WarrantyPolicy(period_months=24)

    TestMyDeskFlows = MyDeskFlows.TestCase
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any, ClassVar
from uuid import UUID

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from aftersales.adapters.memory import InMemoryStore
from aftersales.adapters.system import ManualClock, SequentialIds
from aftersales.domain.priority import PriorityMatrix
from aftersales.domain.records import Customer, Equipment, ServicePlan
from aftersales.domain.request import (
    DispatchApproval,
    OnSiteJob,
    RequestState,
    ServiceRequest,
)
from aftersales.domain.values import Actor, CustomerTier, Role
from aftersales.domain.warranty import WarrantyBasis, WarrantyDetermination, WarrantyPolicy
from aftersales.errors import AftersalesError
from aftersales.ports import AuthorizationPolicy, Clock, IdGenerator
from aftersales.service.authorization import RoleBasedPolicy
from aftersales.service.desk import ServiceDesk
from aftersales.testing import strategies
from aftersales.workflows import verify_record

__all__ = ["ACTOR_KEYS", "ServiceDeskStateMachine"]

#: Who may issue a command in the machine: keys of :meth:`ServiceDeskStateMachine.actor_for`.
ACTOR_KEYS: tuple[str, ...] = (
    "clerk", "assigned_engineer", "other_engineer", "supervisor", "customer", "other_customer",
)

_CHINA = timezone(timedelta(hours=8))
_ENDINGS = frozenset({"cancel", "reject"})
_TEXT_ARGUMENTS: Mapping[str, tuple[str, ...]] = {
    "route": ("department",), "reject": ("reason",), "cancel": ("reason",),
    "record_contact": ("summary",), "escalate_onsite": ("reason",),
    "hand_to_depot": ("reason",), "dispatch_emergency": ("reason",),
    "record_work": ("description",), "call_consultation": ("reason",),
    "plan_revisit": ("plan",), "reschedule": ("reason",), "resolve": ("resolution",),
    "complete_depot": ("resolution",), "reopen": ("reason",),
    "sign_off": ("found", "result", "signed_by"),
}
_NOTE_ARGUMENTS = frozenset({"confirm_need", "prepare", "confirm"})


@attrs.frozen
class _Snapshot:
    """Everything a refused command must leave untouched: the target request in full, the
    others by identity and version, and every committed event."""

    target: dict[str, Any] | None
    others: dict[UUID, tuple[int, int]]
    events: tuple[object, ...]


class ServiceDeskStateMachine(RuleBasedStateMachine):
    """Random command sequences through a :class:`ServiceDesk`, invariants after each step.

    Extension points (override in a subclass):

    - :meth:`make_priority_matrix`, :meth:`make_warranty_policy`, :meth:`make_authorization`,
      :meth:`make_clock`, :meth:`make_ids` and :meth:`make_desk` wire the desk under test;
    - :meth:`check_extra_invariants` adds your own checks on every request after every step,
      :meth:`check_warranty_determination` on every warranty answer;
    - :attr:`excluded_commands` removes commands (e.g. force the remote-only path);
      :attr:`max_requests` bounds how many requests one run registers.

    Run it with ``TestFlows = ServiceDeskStateMachine.TestCase`` (or a subclass's ``TestCase``).
    """

    #: Commands this machine never issues (names of :data:`strategies.STEP_NAMES`).
    excluded_commands: ClassVar[frozenset[str]] = frozenset()
    #: At most this many requests per run.
    max_requests: ClassVar[int] = 3
    #: Where the manual clock starts (China Standard Time, like the seed documents).
    start: ClassVar[datetime] = datetime(2026, 11, 23, 9, 0, tzinfo=_CHINA)

    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self.clock: Clock = self.make_clock()
        self.ids: IdGenerator = self.make_ids()
        self.store = InMemoryStore()
        self.supervisor = Actor(UUID(int=1), "主管 Zhou", frozenset({Role.SUPERVISOR}))
        self.store.actors[self.supervisor.id] = self.supervisor
        self.desk = self.make_desk(self.store, clock=self.clock, ids=self.ids)
        self.clerk = self.desk.register_actor(self.supervisor, name="文员 Li",
                                              roles={Role.CLERK})
        self.engineers = (
            self.desk.register_actor(self.supervisor, name="工程师 Wang", roles={Role.ENGINEER}),
            self.desk.register_actor(self.supervisor, name="Engineer Chen",
                                     roles={Role.ENGINEER}),
        )
        self.customers: list[Customer] = []
        self.customer_actors: dict[UUID, Actor] = {}
        self.units: list[Equipment] = []
        self.records: dict[UUID, tuple[object, ...]] = {}
        self.versions: dict[UUID, int] = {}
        #: How often each command succeeded / was refused (handy for ``event()`` statistics).
        self.outcomes: Counter[str] = Counter()

    # --- extension points ------------------------------------------------------------------

    def make_priority_matrix(self) -> PriorityMatrix:
        """The R8 matrix the desk uses (default: :class:`PriorityMatrix`'s ITIL table)."""
        return PriorityMatrix()

    def make_warranty_policy(self) -> WarrantyPolicy:
        """The R20 policy the desk uses (default: 12 months, installation then invoice)."""
        return WarrantyPolicy()

    def make_authorization(self) -> AuthorizationPolicy:
        """The R30 authorization policy (default: :class:`RoleBasedPolicy`)."""
        return RoleBasedPolicy()

    def make_clock(self) -> Clock:
        """The clock; by default a :class:`ManualClock` from :attr:`start`, 7 min per read."""
        return ManualClock(self.start, timedelta(minutes=7))

    def make_ids(self) -> IdGenerator:
        """The id generator; deterministic by default so failures replay exactly."""
        return SequentialIds(start=1000)

    def make_desk(self, store: InMemoryStore, *, clock: Clock, ids: IdGenerator) -> ServiceDesk:
        """The desk under test, on ``store``; wires the ``make_*`` policies above."""
        return ServiceDesk(
            store.unit_of_work, clock=clock, ids=ids, authorization=self.make_authorization(),
            priority_matrix=self.make_priority_matrix(),
            warranty_policy=self.make_warranty_policy(),
        )

    def check_extra_invariants(self, request: ServiceRequest) -> None:
        """Your own invariant on every committed request, after every step (no-op here)."""

    def check_warranty_determination(
        self, unit: Equipment, findings: list[Any], determination: WarrantyDetermination
    ) -> None:
        """Your own check of each warranty answer the desk gives (no-op here)."""

    # --- helpers ---------------------------------------------------------------------------

    def commands(self) -> list[str]:
        """The commands this machine issues."""
        return [c for c in strategies.STEP_NAMES if c not in self.excluded_commands]

    def actor_for(self, key: str, request: ServiceRequest) -> Actor:
        """The actor behind one of :data:`ACTOR_KEYS`, relative to ``request``."""
        if key == "clerk":
            return self.clerk
        if key == "supervisor":
            return self.supervisor
        if key in ("assigned_engineer", "other_engineer"):
            assigned = next((e for e in self.engineers if e.id == request.engineer_id), None)
            if key == "assigned_engineer":
                return assigned or self.engineers[0]
            return next(e for e in self.engineers if e is not assigned)
        own = self.customer_actors[request.customer_id]
        if key == "customer":
            return own
        return next(a for a in self.customer_actors.values() if a is not own)

    def natural_actor(self, command: str, request: ServiceRequest) -> Actor:
        """The actor who would normally issue ``command`` under the R30 defaults."""
        role = strategies.NATURAL_ROLE[command]
        key = {
            Role.CLERK: "clerk", Role.SUPERVISOR: "supervisor", Role.CUSTOMER: "customer",
        }.get(role, "assigned_engineer")
        return self.actor_for(key, request)

    def command_arguments(
        self, command: str, *, valid: bool
    ) -> st.SearchStrategy[dict[str, Any]]:
        """Keyword arguments for ``command``; with ``valid=False`` texts may be blank."""
        text = strategies.non_blank_texts(max_size=24) if valid else strategies.texts(max_size=12)
        later = strategies.aware_datetimes(min_value=datetime(2026, 11, 1),
                                    max_value=datetime(2028, 1, 1))
        fields: dict[str, st.SearchStrategy[Any]] = {
            name: text for name in _TEXT_ARGUMENTS.get(command, ())
        }
        if command in _NOTE_ARGUMENTS:
            fields["note"] = strategies.texts(max_size=12)
        if command == "assign":
            pool = [e.id for e in self.engineers]
            fields["engineer_id"] = st.sampled_from(pool if valid else [*pool, self.clerk.id])
        elif command == "record_contact":
            fields["channel"] = strategies.channels()
        elif command in ("escalate_onsite", "start_onsite"):
            fields["promised_at"] = st.none() | later
        elif command in ("plan_revisit",):
            fields["promised_at"] = later
        elif command == "reschedule":
            fields["new_time"] = later
        elif command == "sign_off":
            fields["rating"] = st.none() | st.integers(min_value=1, max_value=5)
            if not valid:
                fields["rating"] = st.none() | st.integers(min_value=-1, max_value=7)
            fields["fee"] = st.none() | strategies.money(currency="CNY")
        return st.fixed_dictionaries(fields)

    def snapshot(self, request_id: UUID | None = None) -> _Snapshot:
        """The committed state a refused command on ``request_id`` must not change."""
        target = self.store.requests.get(request_id) if request_id is not None else None
        return _Snapshot(
            attrs.asdict(target, recurse=True) if target is not None else None,
            {rid: (id(r), r.version) for rid, r in self.store.requests.items()},
            tuple(self.store.events),
        )

    def _expect_unchanged(
        self, before: _Snapshot, what: str, error: AftersalesError,
        request_id: UUID | None = None,
    ) -> None:
        after = self.snapshot(request_id)
        assert after.events == before.events, f"refused {what} ({error}) changed store.events"
        assert after.others == before.others, (
            f"refused {what} ({error}) added, removed or replaced a request"
        )
        assert after.target == before.target, (
            f"refused {what} ({error}) changed request {request_id}: state, version or record"
        )

    def run_command(
        self, command: str, actor: Actor, request_id: UUID, arguments: dict[str, Any]
    ) -> ServiceRequest | None:
        """Issue one desk command; a refusal must change nothing (then ``None`` is returned)."""
        before = self.snapshot(request_id)
        method: Callable[..., ServiceRequest] = getattr(self.desk, command)
        try:
            result = method(actor, request_id, **arguments)
        except AftersalesError as error:
            self._expect_unchanged(before, f"{command} by {actor.name}", error, request_id)
            self.outcomes[f"{command}: refused ({type(error).__name__})"] += 1
            return None
        self.outcomes[f"{command}: done"] += 1
        return result

    def _committed(self, request_id: UUID) -> ServiceRequest:
        return self.store.requests[request_id]

    # --- rules -----------------------------------------------------------------------------

    @initialize(target=requests, data=st.data())
    def open_the_files(self, data: st.DataObject) -> Any:
        """Two customers (one a key account) with a customer login, equipment with random
        dates (R2, R20), a service plan (R4), and a first request."""
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
            optional_day = st.none() | strategies.dates(min_value=date(2020, 1, 1),
                                                 max_value=date(2027, 12, 31))
            self.units.append(self.desk.register_equipment(
                self.clerk, serial=f"SN-{len(self.units) + 1}", model="X200",
                owner_id=customer.id,
                installed_on=data.draw(optional_day, label="installed_on"),
                purchased_on=data.draw(optional_day, label="purchased_on"),
                invoice_ref=data.draw(st.none() | st.just("INV-1"), label="invoice_ref"),
                produced_on=data.draw(optional_day, label="produced_on"),
            ))
        starts = data.draw(strategies.dates(min_value=date(2025, 1, 1), max_value=date(2027, 1, 1)),
                           label="plan starts")
        plan = ServicePlan(
            self.ids.new_id(), self.customers[0].id, starts, starts + timedelta(days=365),
            frozenset({self.units[0].id}), content="年度维保 annual maintenance",
        )
        self.desk.add_service_plan(self.supervisor, plan)
        return self._register(data, "clerk", valid=True)

    def _register(self, data: st.DataObject, actor_key: str, *, valid: bool) -> Any:
        customer = data.draw(st.sampled_from(self.customers), label="customer")
        actor = {
            "clerk": self.clerk, "supervisor": self.supervisor, "engineer": self.engineers[0],
            "customer": self.customer_actors[customer.id],
        }[actor_key]
        unit = data.draw(st.sampled_from([None, *self.units]), label="equipment")
        if valid and unit is not None and unit.owner_id != customer.id:
            unit = None
        summary = strategies.non_blank_texts(max_size=30) if valid else strategies.texts(max_size=8)
        arguments: dict[str, Any] = {
            "customer_id": customer.id,
            "summary": data.draw(summary, label="summary"),
            "category": data.draw(strategies.categories(), label="category"),
            "channel": data.draw(strategies.channels(), label="channel"),
            "impact": data.draw(strategies.impacts(), label="impact"),
            "urgency": data.draw(strategies.urgencies(), label="urgency"),
            "equipment_id": unit.id if unit is not None else None,
        }
        before = self.snapshot()
        try:
            request = self.desk.register_request(actor, **arguments)
        except AftersalesError as error:
            self._expect_unchanged(before, f"register_request by {actor.name}", error)
            self.outcomes["register_request: refused"] += 1
            return multiple()
        self.outcomes["register_request: done"] += 1
        assert request.priority is self.desk.priority_matrix.priority(
            request.impact, request.urgency
        ), "R8: the priority does not come from the desk's matrix"
        return request.id

    @precondition(lambda self: len(self.store.requests) < self.max_requests)
    @rule(target=requests, data=st.data())
    def register_request(self, data: st.DataObject) -> Any:
        """R7: someone (usually the clerk) registers a request; others are refused (R30)."""
        key = data.draw(st.sampled_from(["clerk", "clerk", "supervisor", "engineer", "customer"]),
                        label="registered by")
        return self._register(data, key, valid=data.draw(st.booleans(), label="valid"))

    def _advance(self, request_id: UUID, data: st.DataObject) -> None:
        request = self._committed(request_id)
        allowed = set(self.commands())
        candidates = [c for c in strategies.candidate_steps(request) if c in allowed]
        if not candidates:
            self._attempt(request_id, data)
            return
        # Mostly take a step that moves the flow on; sometimes loop (reschedule, another
        # contact) or end it (cancel, reject).
        moving = [
            c for c in strategies.candidate_steps(request, moving_only=True)
            if c in allowed and c not in _ENDINGS
        ]
        if moving and data.draw(st.integers(min_value=0, max_value=5), label="detour") != 0:
            candidates = moving
        command = data.draw(st.sampled_from(candidates), label="command")
        actor = self.natural_actor(command, request)
        arguments = data.draw(self.command_arguments(command, valid=True), label="arguments")
        self.run_command(command, actor, request_id, arguments)

    def _attempt(self, request_id: UUID, data: st.DataObject) -> None:
        request = self._committed(request_id)
        command = data.draw(st.sampled_from(self.commands()), label="command")
        key = data.draw(st.sampled_from(ACTOR_KEYS), label="actor")
        valid = data.draw(st.booleans(), label="valid arguments")
        arguments = data.draw(self.command_arguments(command, valid=valid), label="arguments")
        self.run_command(command, self.actor_for(key, request), request_id, arguments)

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
        """Any command by any of the six actors, arguments possibly invalid: most are refused,
        and a refusal must change nothing."""
        self._attempt(request, data)

    @rule(request=requests, key=st.sampled_from(ACTOR_KEYS))
    def look_at_the_request(self, request: UUID, key: str) -> None:
        """Reading a request changes nothing; another customer may not see it (R30)."""
        committed = self._committed(request)
        actor = self.actor_for(key, committed)
        before = self.snapshot(request)
        try:
            seen = self.desk.get_request(actor, request)
        except AftersalesError as error:
            self._expect_unchanged(before, f"get_request by {actor.name}", error, request)
            assert key == "other_customer", f"{actor.name} may not view a request: {error}"
            return
        assert key != "other_customer", "R30: a customer saw another customer's request"
        assert seen.version == committed.version
        assert self.snapshot(request) == before, "reading a request changed the store"

    @rule(
        unit_index=st.integers(min_value=0, max_value=1),
        findings=strategies.exclusion_lists(max_size=2),
        on=st.none() | strategies.dates(min_value=date(2019, 1, 1), max_value=date(2031, 1, 1)),
    )
    def ask_about_warranty(self, unit_index: int, findings: list[Any], on: date | None) -> None:
        """R20: the desk's warranty answer follows its policy."""
        unit = self.units[unit_index]
        policy = self.desk.warranty_policy
        before = self.snapshot()
        result = self.desk.warranty(self.clerk, unit.id, findings=findings, on=on)
        assert self.snapshot() == before, "a warranty question changed the store"
        excluded = [f for f in findings if f in policy.exclusions]
        if excluded:
            assert not result.in_warranty and result.exclusion == excluded[0], (
                f"R20: finding {excluded[0]} must void coverage: {result.explain()}"
            )
        elif result.in_warranty and result.basis is not WarrantyBasis.SERVICE_PLAN:
            assert result.starts_on is not None and result.ends_on is not None
            assert result.starts_on <= result.checked_on < result.ends_on, result.explain()
        assert result.chargeable is not result.in_warranty
        self.check_warranty_determination(unit, findings, result)

    @rule(hours=st.integers(min_value=1, max_value=24 * 120))
    def time_passes(self, hours: int) -> None:
        """The manual clock moves on (when the clock is a :class:`ManualClock`)."""
        if isinstance(self.clock, ManualClock):
            self.clock.advance(timedelta(hours=hours))

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def r9_record_is_append_only_and_replays(self) -> None:
        """R9: the old record is a prefix of the new one, versions never go back, and the
        record replays to the request's state and its jobs' states."""
        for rid, request in self.store.requests.items():
            record = tuple(request.record)
            old = self.records.get(rid, ())
            assert record[: len(old)] == old, f"R9: the record of {request.number} was rewritten"
            assert request.version >= self.versions.get(rid, 0), "version went backwards"
            problems = verify_record(request)
            assert not problems, f"R9: the record of {request.number} does not replay: {problems}"
            self.records[rid] = record
            self.versions[rid] = request.version

    @invariant()
    def r9_events_are_numbered_without_gaps(self) -> None:
        """Each request's committed events carry sequence 1, 2, 3 ... in order."""
        seen: dict[UUID, int] = {}
        for event in self.store.events:
            expected = seen.get(event.aggregate_id, 0) + 1
            assert event.sequence == expected, (
                f"event {event.name} of {event.aggregate_id} has sequence {event.sequence}, "
                f"expected {expected}"
            )
            seen[event.aggregate_id] = expected
        for rid, request in self.store.requests.items():
            assert seen.get(rid, 0) == request.event_sequence, "events and aggregate disagree"

    @invariant()
    def r10_nothing_closes_without_customer_confirmation(self) -> None:
        """R10: a closed request has a ``confirm`` entry after its last ``reopen`` and before
        ``close``, and its confirmation time."""
        for request in self.store.requests.values():
            if request.state is not RequestState.CLOSED:
                continue
            actions = [e.action for e in request.record if e.subject_id == request.id]
            assert "close" in actions, "R10: closed without a close entry"
            before_close = actions[: actions.index("close")]
            assert "confirm" in before_close, f"R10: {request.number} closed unconfirmed"
            last_confirm = len(before_close) - before_close[::-1].index("confirm") - 1
            assert "reopen" not in before_close[last_confirm:], (
                f"R10: {request.number} was reopened after its confirmation, then closed"
            )
            assert request.customer_confirmed_at is not None

    @invariant()
    def r12_nothing_closes_with_an_unapproved_dispatch(self) -> None:
        """R12: no closed request has an EMERGENCY_PENDING on-site job, and every on-site job
        that travelled carries a supervisor's approval (before or afterwards)."""
        for request in self.store.requests.values():
            if request.state is not RequestState.CLOSED:
                continue
            for job in request.jobs:
                if not isinstance(job, OnSiteJob):
                    continue
                assert job.approval is not DispatchApproval.EMERGENCY_PENDING, (
                    f"R12: {request.number} closed with an emergency dispatch unapproved"
                )
                travelled = any(
                    e.subject_id == job.id and e.to_state == "travelling" for e in request.record
                )
                if travelled:
                    assert job.approval in (
                        DispatchApproval.APPROVED, DispatchApproval.RETRO_APPROVED
                    ), f"R12: {request.number} closed; job {job.id} travelled as {job.approval}"
                    assert job.approved_by is not None

    @invariant()
    def extra_invariants_hold(self) -> None:
        """Runs :meth:`check_extra_invariants` on every committed request."""
        for request in self.store.requests.values():
            self.check_extra_invariants(request)
