"""Bad input for every command: refused with an :mod:`aftersales.errors` exception, nothing
changed (issue 8: "fuzzing every public command with ~115 classes of bad values").

1. The shipped fuzzer (:mod:`aftersales.testing.fuzz`) on the in-memory store: every command
   class the desk's runner has a handler for, every field (and every field of the value
   objects it carries) with every class of bad input, with and without an idempotency key;
   every typed method of both desks with bad actors; every base command valid.
2. The fuzzer's own oracle: a leak, an accepted impossible value, a refusal that wrote
   something, a change made behind the commit path, an invalid base and a command without a
   base are each reported (so a green run means something).
3. The specific refusals of the request and record commands (which error, and what its
   message names), ported from the former ``test_bad_input.py``: the fuzzer only asks for *an*
   :mod:`aftersales.errors` exception.

Fuzzing SQL stores uses the same :class:`~aftersales.testing.fuzz.Fuzzer` with
``snapshot=lambda: sql_snapshot(store)`` (see ``tests/integration``); here
:func:`~aftersales.testing.fuzz.sql_snapshot` itself is checked on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID

import attrs
import pytest

import aftersales
from aftersales import ManualClock, SequentialIds, in_memory_desk
from aftersales.adapters.memory import InMemoryStore
from aftersales.commands import Command, RegisterCustomer, Route
from aftersales.domain import (
    ACTORS,
    Actor,
    Address,
    Channel,
    Contact,
    Customer,
    Impact,
    Money,
    Role,
    ServiceRequest,
    Urgency,
)
from aftersales.errors import (
    GuardFailed,
    InvalidTransition,
    NotAuthorized,
    NotFound,
    ValidationError,
)
from aftersales.service import (
    DEFAULT_PERMISSIONS,
    Handler,
    Permission,
    RoleBasedPolicy,
    ServiceDesk,
    enroll_first_supervisor,
)
from aftersales.service.commands import text, uuid
from aftersales.service.runner import Context
from aftersales.testing.fuzz import (
    BAD_VALUES,
    QUERIES,
    Fuzzer,
    FuzzReport,
    FuzzWorld,
    memory_checkpoint,
    memory_fingerprint,
    memory_restore,
    memory_snapshot,
    sql_snapshot,
    typed_methods,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BOSS = Actor(UUID(int=10_000), "Zhang Supervisor", {Role.SUPERVISOR})
UNKNOWN = UUID(int=987_654_321)
NAIVE = datetime(2026, 3, 4, 10, 0)


def memory_fuzzer(desk: ServiceDesk, store: InMemoryStore, **options: Any) -> Fuzzer:
    """The fuzzer wired for an in-memory store (quick check, full snapshot, restore)."""
    return Fuzzer(desk, supervisor=BOSS, snapshot=lambda: memory_snapshot(store),
                  quick=lambda: memory_fingerprint(store),
                  checkpoint=lambda: memory_checkpoint(store),
                  restore=lambda saved: memory_restore(store, saved), **options)


# --- 1. the shipped fuzzer on memory --------------------------------------------------------


@pytest.fixture(scope="module")
def fuzzed() -> tuple[FuzzReport, ServiceDesk, Fuzzer]:
    desk, store = in_memory_desk(supervisor=BOSS, clock=ManualClock(T0, step=timedelta(seconds=1)),
                                 ids=SequentialIds())
    fuzzer = memory_fuzzer(desk, store)
    return fuzzer.run(), desk, fuzzer


def findings(report: FuzzReport, *stages: str) -> list[str]:
    return [str(f) for f in report.findings if f.stage in stages]


def test_the_fuzzer_tries_every_command_the_runner_handles_and_every_typed_method(
    fuzzed: tuple[FuzzReport, ServiceDesk, Fuzzer],
) -> None:
    report, desk, fuzzer = fuzzed
    assert sorted(report.commands) == sorted(c.__name__ for c in desk.handlers)
    assert len(report.commands) >= 80
    every_method = set(typed_methods(desk)) | set(typed_methods(fuzzer.repairs))
    assert set(report.methods) == every_method and len(every_method) >= 90
    assert set(QUERIES) <= every_method
    assert findings(report, "coverage") == []
    assert report.attempts > 50_000
    assert report.outcomes["accepted"] > 0  # plausible values reached the domain ...
    assert sum(n for k, n in report.outcomes.items() if k.startswith("refused: ")
               and "building" not in k) > 10_000  # ... and so did refusals after building


def test_bad_input_raises_only_aftersales_errors(
    fuzzed: tuple[FuzzReport, ServiceDesk, Fuzzer],
) -> None:
    report, _, _ = fuzzed
    assert findings(report, "value", "construct", "execute") == []
    assert report.outcomes["leaked"] == 0


def test_a_refused_attempt_changes_nothing(
    fuzzed: tuple[FuzzReport, ServiceDesk, Fuzzer],
) -> None:
    report, _, _ = fuzzed
    assert findings(report, "changed") == []


def test_a_value_that_cannot_be_valid_is_never_accepted(
    fuzzed: tuple[FuzzReport, ServiceDesk, Fuzzer],
) -> None:
    report, _, _ = fuzzed
    assert findings(report, "accepted") == []


def test_every_base_command_the_attempts_were_judged_against_was_accepted(
    fuzzed: tuple[FuzzReport, ServiceDesk, Fuzzer],
) -> None:
    report, _, _ = fuzzed
    assert findings(report, "base") == []


def test_the_bad_values_cover_the_classes_the_issue_names() -> None:
    labels = {v.label for v in BAD_VALUES}
    assert len(labels) == len(BAD_VALUES) >= 115
    for needed in ("None", "object", "bytes", "empty list", "empty dict", "UUID of another kind",
                   "the valid value as text", "empty text", "blank text", "NUL",
                   "lone high surrogate", "text 256 chars", "text 10001 chars", "int 2**63",
                   "int -1", "Decimal NaN", "Decimal Infinity", "Money of a float",
                   "Money in another currency", "Money with too many decimals",
                   "naive datetime", "datetime year 1", "datetime year 9999",
                   "date where a datetime belongs", "member of the wrong enumeration",
                   "list nested 5000 deep", "dict nested 5000 deep"):
        assert needed in labels, needed


# --- 2. the fuzzer's oracle can fail ---------------------------------------------------------


@attrs.frozen(kw_only=True)
class Note(Command):
    """A user command: note something on a customer file."""

    name: ClassVar[str] = "note_customer"
    customer_id: UUID = attrs.field(validator=uuid())
    remark: str = attrs.field(validator=text())


@attrs.frozen(kw_only=True)
class LaxNote(Command):
    """A user command whose field has no validator at all."""

    name: ClassVar[str] = "lax_note"
    customer_id: UUID = attrs.field(validator=uuid())
    remark: str = attrs.field()


def _customer(ctx: Context, cmd: Note | LaxNote) -> Customer:
    return ctx.uow.customers.get(cmd.customer_id)


def _open_customer(ctx: Context, remark: str) -> Customer:
    """Open a customer file (as the shipped command does) named after ``remark``."""
    opening = RegisterCustomer(actor_id=ctx.actor.id, customer=remark[:200].strip() or "x")
    customer = ctx.runner.handlers[RegisterCustomer].run(ctx, opening, None)
    assert isinstance(customer, Customer)
    return customer


def _leaky(ctx: Context, cmd: Note, target: Customer) -> Customer:
    if len(cmd.remark) > 1000:
        raise TypeError("an unchecked bug")
    return _open_customer(ctx, cmd.remark)


def _lax(ctx: Context, cmd: LaxNote, target: Customer) -> Customer:
    return _open_customer(ctx, "noted")  # whatever the remark was


def _writes_then_refuses(ctx: Context, cmd: Note, target: Customer) -> Customer:
    if len(cmd.remark) > 100:  # commits through a unit of work of its own, then refuses
        with ctx.runner.uow_factory() as other:
            _open_customer(Context(ctx.runner, other, ctx.actor, ctx.now, ctx.settings), "side")
            other.commit()
        raise GuardFailed("Customer", target.id, target.state, "note", "too long")
    return _open_customer(ctx, cmd.remark)


def _edits_behind_the_store(store: InMemoryStore) -> Callable[[Context, Note, Customer], Customer]:
    def run(ctx: Context, cmd: Note, target: Customer) -> Customer:
        if cmd.remark == "'; DROP TABLE requests; --":  # changes a committed object in place
            store.customers[target.id].name += "!"
            raise GuardFailed("Customer", target.id, target.state, "note", "refused")
        return _open_customer(ctx, cmd.remark)

    return run


def user_desk(*handlers: Handler[Any]) -> tuple[ServiceDesk, InMemoryStore]:
    store = InMemoryStore()
    enroll_first_supervisor(store.unit_of_work, actor_id=BOSS.id, name=BOSS.name, at=T0)
    policy = RoleBasedPolicy({**DEFAULT_PERMISSIONS,
                              "note_customer": Permission(frozenset({Role.CLERK})),
                              "lax_note": Permission(frozenset({Role.CLERK}))})
    desk = ServiceDesk(store.unit_of_work, clock=ManualClock(T0), ids=SequentialIds(),
                       kinds=store.kinds, authorization=policy, handlers=handlers)
    return desk, store


def note_base(w: FuzzWorld) -> Command:
    return Note(actor_id=w.clerk, customer_id=w.customer, remark="called back")


def fuzz_user_command(handler: Handler[Any], *, quick: bool = True,
                      base: Callable[[FuzzWorld], Command] | None = None) -> FuzzReport:
    desk, store = user_desk(handler)
    fuzzer = Fuzzer(desk, supervisor=BOSS, snapshot=lambda: memory_snapshot(store),
                    quick=(lambda: memory_fingerprint(store)) if quick else None,
                    checkpoint=lambda: memory_checkpoint(store),
                    restore=lambda saved: memory_restore(store, saved),
                    bases={handler.command: base or (
                        lambda w: handler.command(actor_id=w.clerk, customer_id=w.customer,
                                                  remark="called back"))})
    return fuzzer.fuzz_commands([handler.command])


def test_the_fuzzer_reports_a_raw_exception_with_where_it_was_raised() -> None:
    report = fuzz_user_command(Handler(Note, _leaky, _customer))
    leaks = findings(report, "execute")
    assert leaks and all("TypeError: an unchecked bug" in f for f in leaks)
    assert any("Note.remark ← text 2001 chars: execute" in f for f in leaks)
    assert all("test_fuzz.py" not in f for f in leaks)  # only frames inside aftersales


def test_the_fuzzer_reports_a_value_that_cannot_be_valid_being_accepted() -> None:
    report = fuzz_user_command(Handler(LaxNote, _lax, _customer))
    accepted = findings(report, "accepted")
    for label in ("NUL", "lone high surrogate", "text 10001 chars", "int 0", "object"):
        assert f"LaxNote.remark ← {label}: accepted" in "\n".join(accepted), label
    assert not any("LaxNote.remark ← CJK text" in f for f in accepted)  # plausible text


def test_the_fuzzer_reports_a_refusal_that_wrote_something() -> None:
    for quick in (True, False):
        report = fuzz_user_command(Handler(Note, _writes_then_refuses, _customer), quick=quick)
        changed = findings(report, "changed")
        assert any("Note.remark ← text 101 chars: changed: refused with GuardFailed" in f
                   for f in changed), changed


def test_the_full_snapshot_catches_a_change_the_quick_check_cannot_see() -> None:
    desk, store = user_desk()
    desk.register(Handler(Note, _edits_behind_the_store(store), _customer))
    fuzzer = memory_fuzzer(desk, store, bases={Note: note_base})
    changed = findings(fuzzer.fuzz_commands([Note]), "changed")
    assert any("the quick check saw nothing" in f for f in changed)
    assert any(f.startswith("Note.remark ← SQL-like text: changed") for f in changed)  # pinpointed


def test_the_fuzzer_reports_an_invalid_base_and_a_command_without_one() -> None:
    def refused_base(w: FuzzWorld) -> Command:
        return Note(actor_id=w.contact, customer_id=w.customer, remark="x")  # not a clerk

    report = fuzz_user_command(Handler(Note, _lax, _customer), base=refused_base)
    assert any("Note ← the base command: base: NotAuthorized" in f
               for f in findings(report, "base"))
    desk, store = user_desk(Handler(LaxNote, _lax, _customer))
    fuzzer = Fuzzer(desk, supervisor=BOSS, snapshot=lambda: memory_snapshot(store))
    assert findings(fuzzer.fuzz_commands([LaxNote]), "coverage") == [
        "LaxNote ← -: coverage: no base command for it"]


def test_memory_restore_puts_the_store_back_exactly() -> None:
    desk, store = in_memory_desk(supervisor=BOSS, clock=ManualClock(T0), ids=SequentialIds())
    world = FuzzWorld(desk, BOSS)
    saved, before = memory_checkpoint(store), memory_snapshot(store)
    world.order("delivered")
    desk.register_customer(world.clerk, name="Later Ltd", idempotency_key="k")
    assert memory_snapshot(store) != before
    memory_restore(store, saved)
    assert memory_snapshot(store) == before
    again = desk.register_customer(world.clerk, name="Later Ltd", idempotency_key="k")
    assert again.id in store.customers  # the key was forgotten with the rest


def test_sql_snapshot_reads_every_table_of_a_sql_store(tmp_path: Path) -> None:
    desk, store = aftersales.sql_desk(tmp_path / "fuzz.sqlite", supervisor=BOSS,
                                      clock=ManualClock(T0), ids=SequentialIds())
    tables = {t.name for t in store.schema.metadata.sorted_tables}
    before = sql_snapshot(store)
    assert set(before) == tables and before == sql_snapshot(store)
    clerk = desk.register_actor(BOSS, name="Li Clerk", roles={Role.CLERK})
    after = sql_snapshot(store)
    changed = {name for name in tables if before[name] != after[name]}
    assert changed == {store.schema.table(ACTORS).name, store.schema.record(ACTORS).name,
                       store.schema.outbox.name}
    with pytest.raises(NotAuthorized):
        desk.register_customer(UUID(int=5), name="Nobody")
    assert sql_snapshot(store) == after
    fuzzer = Fuzzer(desk, supervisor=BOSS, snapshot=lambda: sql_snapshot(store),
                    values=BAD_VALUES[::3])  # the same fuzzer on SQLite (a third of the values)
    report = fuzzer.fuzz_commands([Route])
    assert report.attempts > 200 and report.outcomes["accepted"] > 0 and clerk.active
    assert findings(report, "value", "construct", "execute", "changed", "accepted", "base") == []


# --- 3. the specific refusals of the request commands ---------------------------------------


class World:
    """The fuzz world with Actor objects for its staff (messages name them)."""

    def __init__(self) -> None:
        self.desk, self.store = in_memory_desk(
            supervisor=BOSS, clock=ManualClock(T0, step=timedelta(minutes=5)),
            ids=SequentialIds(),
        )
        self.fuzz = FuzzWorld(self.desk, BOSS)
        actors = self.store.actors
        f = self.fuzz
        self.boss = actors[BOSS.id]
        self.clerk, self.engineer = actors[f.clerk], actors[f.engineer]
        self.other_engineer, self.rep = actors[f.engineer2], actors[f.rep]
        self.contact, self.stranger = actors[f.contact], actors[f.stranger]
        self.customer = self.store.customers[f.customer]
        self.unit = self.store.equipment[f.unit_id]
        self.other_unit = self.desk.register_equipment(self.clerk, serial="SN-2", model="X200",
                                                       owner_id=f.other_customer)

    def at(self, stage: str) -> UUID:
        """A new request driven to ``stage`` (see :meth:`FuzzWorld.request`)."""
        return self.fuzz.request(stage)

    def snapshot(self) -> Any:
        return memory_snapshot(self.store)


@dataclass(frozen=True)
class Step:
    """How to call one request command, where it is possible, and what breaks it."""

    name: str
    by: str  # World attribute of an actor allowed to do it
    refused: str  # World attribute of an actor who is not
    ready: str  # a stage where the command succeeds
    impossible: str  # a stage where it is an impossible transition
    action: str  # how the refusal message names the attempted action
    defaults: dict[str, Any] = field(default_factory=dict)
    bad: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __call__(self, world: World, actor: Any, rid: Any, **overrides: Any) -> ServiceRequest:
        kwargs = {k: v(world) if callable(v) else v for k, v in {**self.defaults,
                                                                 **overrides}.items()}
        result: ServiceRequest = getattr(world.desk, self.name)(actor, rid, **kwargs)
        return result


LATER = T0 + timedelta(days=30)
BLANK = {"blank": "  ", "wrong type": 42}

STEPS = [
    Step("route", "clerk", "engineer", "registered", "resolved", "route",
         {"department": "printers"}, {f"department {k}": {"department": v}
                                      for k, v in BLANK.items()}),
    Step("assign", "clerk", "engineer", "registered", "remote", "assign",
         {"engineer_id": lambda w: w.engineer.id},
         {"non-engineer assignee": {"engineer_id": lambda w: w.clerk.id},
          "customer as assignee": {"engineer_id": lambda w: w.contact.id}}),
    Step("reject", "clerk", "engineer", "registered", "assigned", "reject",
         {"reason": "not our product"}, {f"reason {k}": {"reason": v}
                                         for k, v in BLANK.items()}),
    Step("cancel", "clerk", "contact", "assigned", "closed", "cancel",
         {"reason": "customer withdrew"}, {"reason blank": {"reason": ""}}),
    Step("start_remote", "engineer", "other_engineer", "assigned", "remote", "start"),
    Step("record_contact", "engineer", "other_engineer", "remote", "planned",
         "record contact", {"channel": Channel.PHONE, "summary": "called"},
         {"channel as text": {"channel": "phone"}, "summary blank": {"summary": " "},
          "summary wrong type": {"summary": None}}),
    Step("escalate_onsite", "engineer", "clerk", "remote", "planned", "escalate onsite",
         {"reason": "hardware"},
         {"reason blank": {"reason": ""}, "naive promised_at": {"promised_at": NAIVE},
          "promised_at as date": {"promised_at": date(2026, 3, 4)}}),
    Step("hand_to_depot", "engineer", "clerk", "remote", "assigned", "hand to depot",
         {"reason": "bench repair"}, {"reason blank": {"reason": "\t"}}),
    Step("start_onsite", "engineer", "clerk", "assigned", "remote", "start",
         {"promised_at": LATER}, {"naive promised_at": {"promised_at": NAIVE},
                                  "promised_at as text": {"promised_at": "tomorrow"}}),
    Step("confirm_need", "engineer", "boss", "planned", "awaiting_approval", "confirm need",
         {}, {"note wrong type": {"note": 5}}),
    Step("approve_dispatch", "boss", "engineer", "awaiting_approval", "planned", "approve"),
    Step("dispatch_emergency", "engineer", "boss", "awaiting_approval", "approved",
         "dispatch emergency", {"reason": "line down"}, {"reason blank": {"reason": ""}}),
    Step("retro_approve", "boss", "engineer", "emergency", "approved", "retro approve"),
    Step("prepare", "engineer", "clerk", "approved", "awaiting_approval", "prepare",
         {}, {"note wrong type": {"note": ["spares"]}}),
    Step("depart", "engineer", "other_engineer", "preparing", "approved", "depart"),
    Step("record_arrival", "engineer", "clerk", "travelling", "preparing", "arrive"),
    Step("record_work", "engineer", "other_engineer", "on_site", "travelling", "record work",
         {"description": "replaced fuser"}, {"description blank": {"description": ""}}),
    Step("sign_off", "engineer", "clerk", "on_site", "travelling", "sign off",
         {"found": "worn fuser", "result": "ok", "signed_by": "Mr Zhao"},
         {"rating 9": {"rating": 9}, "rating 0": {"rating": 0},
          "rating as bool": {"rating": True}, "rating as text": {"rating": "5"},
          "found blank": {"found": ""}, "signed_by blank": {"signed_by": " "},
          "result wrong type": {"result": 1},
          "fee as Decimal": {"fee": Decimal("10")}, "fee as float": {"fee": 10.0},
          "fee negative": {"fee": Money(Decimal("-10"), "CNY")},
          "blank part": {"parts_replaced": ("fuser", "")},
          "parts as text": {"parts_replaced": "fuser"}}),
    Step("call_consultation", "engineer", "clerk", "on_site", "travelling",
         "call consultation", {"reason": "intermittent"}, {"reason blank": {"reason": ""}}),
    Step("plan_revisit", "engineer", "clerk", "consultation", "on_site", "plan revisit",
         {"plan": "bring spares", "promised_at": LATER},
         {"plan blank": {"plan": ""}, "naive promised_at": {"promised_at": NAIVE},
          "promised_at missing": {"promised_at": None}}),
    Step("reschedule", "clerk", "contact", "planned", "on_site", "reschedule",
         {"new_time": LATER, "reason": "no engineer free"},
         {"naive new_time": {"new_time": NAIVE}, "reason blank": {"reason": ""},
          "new_time as text": {"new_time": "2026-03-04T10:00+00:00"}}),
    Step("resolve", "engineer", "clerk", "remote", "planned", "resolve",
         {"resolution": "fixed"}, {"resolution blank": {"resolution": ""}}),
    Step("confirm", "contact", "engineer", "resolved", "remote", "confirm",
         {}, {"note wrong type": {"note": 3}}),
    Step("reopen", "contact", "engineer", "resolved", "confirmed", "reopen",
         {"reason": "still jams"}, {"reason blank": {"reason": ""}}),
    Step("close", "clerk", "engineer", "confirmed", "resolved", "close"),
]
BY_NAME = {c.name: c for c in STEPS}

BAD_FIELDS = [
    pytest.param(c, overrides, id=f"{c.name}-{label}")
    for c in STEPS
    for label, overrides in c.bad.items()
]


@pytest.fixture
def world() -> World:
    return World()


def _actor(world: World, name: str) -> Actor:
    actor: Actor = getattr(world, name)
    return actor


def test_every_request_command_of_the_desk_has_its_refusals_spelled_out(world: World) -> None:
    """The table covers every typed method of the ServiceDesk but the files, the directory
    and the queries (``complete_depot`` is gone: the depot resolves its request itself)."""
    records = {"register_request", "register_customer", "register_equipment",
               "register_actor", "add_service_plan", "change_roles", "deactivate_actor",
               "reactivate_actor"}
    assert set(typed_methods(world.desk)) - records - set(QUERIES) == set(BY_NAME)


@pytest.mark.parametrize("command", STEPS, ids=lambda c: c.name)
def test_the_command_succeeds_from_its_ready_stage(world: World, command: Step) -> None:
    rid = world.at(command.ready)
    version = world.store.requests[rid].version
    events = len(world.store.events)
    request = command(world, _actor(world, command.by), rid)
    assert request.version == world.store.requests[rid].version == version + 1
    assert len(world.store.events) > events
    assert world.store.events[-1].aggregate_id == rid


@pytest.mark.parametrize("command", STEPS, ids=lambda c: c.name)
def test_an_impossible_transition_is_refused_and_changes_nothing(
    world: World, command: Step
) -> None:
    rid = world.at(command.impossible)
    before = world.snapshot()
    with pytest.raises(InvalidTransition) as refused:
        command(world, _actor(world, command.by), rid)
    assert world.snapshot() == before
    error = refused.value
    message = str(error)
    request = world.store.requests[rid]
    subject_states = {str(request.state)} | {str(j.state) for j in request.jobs}
    assert error.entity in {"ServiceRequest", "RemoteJob", "OnSiteJob"}
    assert error.entity in message
    assert request.number in message  # the request is named by its service number
    assert str(error.entity_id) in message
    assert any(state in message for state in subject_states)
    assert error.state.split(" ")[0] in subject_states
    assert f"cannot {command.action}" in message


def test_r12_closing_with_an_unapproved_emergency_dispatch_is_refused_naming_r12(
    world: World,
) -> None:
    rid = world.at("emergency")
    world.desk.record_arrival(world.engineer, rid)
    world.desk.sign_off(world.engineer, rid, found="f", result="ok", signed_by="Zhao")
    world.desk.resolve(world.engineer, rid, resolution="fixed")
    world.desk.confirm(world.contact, rid)
    before = world.snapshot()
    with pytest.raises(GuardFailed, match=r"ServiceRequest .* is confirmed: cannot close: .*R12"):
        BY_NAME["close"](world, world.clerk, rid)
    assert world.snapshot() == before


@pytest.mark.parametrize("command", STEPS, ids=lambda c: c.name)
def test_an_unknown_request_is_not_found_and_changes_nothing(
    world: World, command: Step
) -> None:
    before = world.snapshot()
    with pytest.raises(NotFound) as missing:
        command(world, _actor(world, command.by), UNKNOWN)
    assert world.snapshot() == before
    assert "ServiceRequest" in str(missing.value)
    assert str(UNKNOWN) in str(missing.value)


@pytest.mark.parametrize("command", STEPS, ids=lambda c: c.name)
def test_a_request_id_of_the_wrong_type_is_a_validation_error(
    world: World, command: Step
) -> None:
    before = world.snapshot()
    with pytest.raises(ValidationError, match="request_id"):
        command(world, _actor(world, command.by), "SR-0001")
    assert world.snapshot() == before


def test_assigning_an_unknown_engineer_is_not_found(world: World) -> None:
    rid = world.at("registered")
    before = world.snapshot()
    with pytest.raises(NotFound, match=f"Actor {UNKNOWN}"):
        world.desk.assign(world.clerk, rid, engineer_id=UNKNOWN)
    assert world.snapshot() == before


@pytest.mark.parametrize(("command", "overrides"), BAD_FIELDS)
def test_a_malformed_field_is_a_validation_error_and_changes_nothing(
    world: World, command: Step, overrides: dict[str, Any]
) -> None:
    rid = world.at(command.ready)
    before = world.snapshot()
    with pytest.raises(ValidationError) as invalid:
        command(world, _actor(world, command.by), rid, **overrides)
    assert world.snapshot() == before
    assert invalid.value.entity in str(invalid.value)
    assert invalid.value.field in str(invalid.value)


@pytest.mark.parametrize("command", STEPS, ids=lambda c: c.name)
def test_the_actors_id_acts_like_the_actor_and_anything_else_is_a_validation_error(
    world: World, command: Step
) -> None:
    """Only the id is taken from the actor argument (the directory knows the rest), so the
    id itself is accepted; a name, a customer file or None is not an actor."""
    actor = _actor(world, command.by)
    for not_an_actor in (actor.name, None, world.customer):
        rid = world.at(command.ready)
        before = world.snapshot()
        with pytest.raises(ValidationError, match="actor"):
            command(world, not_an_actor, rid)
        assert world.snapshot() == before
    assert command(world, actor.id, world.at(command.ready)).version > 0


@pytest.mark.parametrize("command", STEPS, ids=lambda c: c.name)
@pytest.mark.parametrize("key", ["", "   ", 7, "k" * 201, "a\x00b"],
                         ids=["empty", "blank", "int", "too long", "NUL"])
def test_a_malformed_idempotency_key_is_a_validation_error(
    world: World, command: Step, key: object
) -> None:
    rid = world.at(command.ready)
    before = world.snapshot()
    with pytest.raises(ValidationError, match="idempotency_key"):
        command(world, _actor(world, command.by), rid, idempotency_key=key)
    assert world.snapshot() == before


@pytest.mark.parametrize("command", STEPS, ids=lambda c: c.name)
def test_r30_an_actor_without_the_right_role_is_not_authorized_and_changes_nothing(
    world: World, command: Step
) -> None:
    rid = world.at(command.ready)
    outsider = _actor(world, command.refused)
    before = world.snapshot()
    with pytest.raises(NotAuthorized) as refused:
        command(world, outsider, rid)
    assert world.snapshot() == before
    message = str(refused.value)
    request = world.store.requests[rid]
    where = f"ServiceRequest {request.number} ({request.state})"
    assert f"{outsider.name} may not {command.name} on {where}" in message


@pytest.mark.parametrize("command", ["confirm", "reopen"], ids=str)
def test_r30_a_customer_acts_only_on_their_own_request(world: World, command: str) -> None:
    rid = world.at("resolved")
    before = world.snapshot()
    with pytest.raises(NotAuthorized, match="a customer may act only on what is their own"):
        BY_NAME[command](world, world.stranger, rid)
    assert world.snapshot() == before


# --- the record commands -------------------------------------------------------------------

RecordCall = Callable[[World, Any, dict[str, Any]], object]


def _register_request(w: World, actor: Any, kw: dict[str, Any]) -> object:
    fields = {"customer_id": w.customer.id, "summary": "printer down", **kw}
    return w.desk.register_request(actor, **fields)


def _register_customer(w: World, actor: Any, kw: dict[str, Any]) -> object:
    return w.desk.register_customer(actor, **{"name": "Initech", **kw})


def _register_equipment(w: World, actor: Any, kw: dict[str, Any]) -> object:
    fields = {"serial": "SN-99", "model": "X300", "owner_id": w.customer.id, **kw}
    return w.desk.register_equipment(actor, **fields)


def _register_actor(w: World, actor: Any, kw: dict[str, Any]) -> object:
    return w.desk.register_actor(actor, **{"name": "Zhou", "roles": {Role.ENGINEER}, **kw})


def _add_service_plan(w: World, actor: Any, kw: dict[str, Any]) -> object:
    fields = {"customer_id": w.customer.id, "starts_on": date(2026, 1, 1),
              "ends_on": date(2026, 12, 31), "equipment_ids": {w.unit.id}, **kw}
    return w.desk.add_service_plan(actor, **fields)


RECORDS: dict[str, tuple[RecordCall, str, str]] = {
    # name: (call, allowed actor, refused actor)
    "register_request": (_register_request, "clerk", "engineer"),
    "register_customer": (_register_customer, "clerk", "contact"),
    "register_equipment": (_register_equipment, "clerk", "engineer"),
    "register_actor": (_register_actor, "boss", "clerk"),
    "add_service_plan": (_add_service_plan, "rep", "clerk"),
}


def _resolve(world: World, kw: dict[str, Any]) -> dict[str, Any]:
    return {k: v(world) if callable(v) else v for k, v in kw.items()}


@pytest.mark.parametrize("name", list(RECORDS))
def test_a_record_command_succeeds_with_good_input(world: World, name: str) -> None:
    call, by, _ = RECORDS[name]
    before = world.snapshot()
    call(world, _actor(world, by), {})
    assert world.snapshot() != before


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        pytest.param("register_request", {"customer_id": UNKNOWN}, id="request-customer"),
        pytest.param("register_request", {"equipment_id": UNKNOWN}, id="request-equipment"),
        pytest.param("register_equipment", {"owner_id": UNKNOWN}, id="equipment-owner"),
        pytest.param(
            "register_actor", {"roles": {Role.CUSTOMER}, "customer_id": UNKNOWN},
            id="actor-customer",
        ),
        pytest.param("add_service_plan", {"customer_id": UNKNOWN}, id="plan-customer"),
        pytest.param("add_service_plan", {"equipment_ids": {UNKNOWN}}, id="plan-equipment"),
    ],
)
def test_a_record_command_naming_an_unknown_id_is_not_found(
    world: World, name: str, overrides: dict[str, Any]
) -> None:
    call, by, _ = RECORDS[name]
    before = world.snapshot()
    with pytest.raises(NotFound, match=str(UNKNOWN)):
        call(world, _actor(world, by), overrides)
    assert world.snapshot() == before


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        pytest.param("register_request", {"summary": " "}, id="request-summary-blank"),
        pytest.param("register_request", {"summary": None}, id="request-summary-missing"),
        pytest.param("register_request", {"impact": 9}, id="request-impact-9"),
        pytest.param("register_request", {"urgency": "high"}, id="request-urgency-text"),
        pytest.param("register_request", {"category": "fault"}, id="request-category-text"),
        pytest.param("register_request", {"channel": 1}, id="request-channel-int"),
        pytest.param("register_request", {"equipment_id": lambda w: w.other_unit.id},
                     id="request-equipment-of-another-customer"),
        pytest.param("register_customer", {"name": ""}, id="customer-name-blank"),
        pytest.param("register_customer", {"kind": "person"}, id="customer-kind-text"),
        pytest.param("register_customer", {"tier": 1}, id="customer-tier-int"),
        pytest.param(
            "register_customer", {"contacts": ["Peter, 555-1234"]}, id="customer-contact-text",
        ),
        pytest.param(
            "register_customer", {"addresses": "Floor 3"}, id="customer-address-text",
        ),
        pytest.param("register_equipment", {"serial": ""}, id="equipment-serial-blank"),
        pytest.param("register_equipment", {"model": None}, id="equipment-model-missing"),
        pytest.param("register_equipment", {"installed_on": "2025-01-01"},
                     id="equipment-date-text"),
        pytest.param("register_equipment", {"installed_on": T0}, id="equipment-date-datetime"),
        pytest.param("register_equipment", {"invoice_ref": 5}, id="equipment-invoice-int"),
        pytest.param("register_equipment", {"serial": lambda w: w.unit.serial,
                                            "model": lambda w: w.unit.model},
                     id="equipment-twice"),
        pytest.param("register_actor", {"name": " "}, id="actor-name-blank"),
        pytest.param("register_actor", {"roles": ["engineer"]}, id="actor-roles-text"),
        pytest.param("register_actor", {"roles": []}, id="actor-no-role"),
        pytest.param(
            "register_actor", {"roles": {Role.CUSTOMER}, "customer_id": "ACME"},
            id="actor-customer-id-text",
        ),
        pytest.param("add_service_plan", {"ends_on": date(2025, 12, 31)},
                     id="plan-ends-before-it-starts"),
        pytest.param("add_service_plan", {"equipment_ids": {lambda w: w.other_unit.id}},
                     id="plan-unit-of-another-customer"),
        pytest.param("add_service_plan", {"callback_every": timedelta(0)},
                     id="plan-callback-zero"),
    ],
)
def test_a_record_command_with_a_malformed_field_is_a_validation_error(
    world: World, name: str, overrides: dict[str, Any]
) -> None:
    call, by, _ = RECORDS[name]
    fields = _resolve(world, overrides)
    if isinstance(fields.get("equipment_ids"), set):
        fields["equipment_ids"] = {v(world) if callable(v) else v
                                   for v in fields["equipment_ids"]}
    before = world.snapshot()
    with pytest.raises(ValidationError):
        call(world, _actor(world, by), fields)
    assert world.snapshot() == before


@pytest.mark.parametrize("name", list(RECORDS))
def test_r30_a_record_command_by_an_actor_without_the_role_is_not_authorized(
    world: World, name: str
) -> None:
    call, _, refused = RECORDS[name]
    outsider = _actor(world, refused)
    before = world.snapshot()
    with pytest.raises(NotAuthorized, match=f"{outsider.name} may not {name} on records"):
        call(world, outsider, {})
    assert world.snapshot() == before


@pytest.mark.parametrize("name", list(RECORDS))
def test_a_record_command_by_something_that_is_not_an_actor_is_a_validation_error(
    world: World, name: str
) -> None:
    call, _, _ = RECORDS[name]
    before = world.snapshot()
    with pytest.raises(ValidationError, match="actor"):
        call(world, None, {})
    assert world.snapshot() == before


def test_register_request_accepts_equipment_with_no_owner_on_file(world: World) -> None:
    loose = world.desk.register_equipment(world.clerk, serial="LOOSE", model="X1")
    request = _register_request(world, world.clerk, {"equipment_id": loose.id})
    assert isinstance(request, ServiceRequest)
    assert request.equipment_id == loose.id


def test_r8_register_request_validates_impact_and_urgency_together(world: World) -> None:
    before = world.snapshot()
    with pytest.raises(ValidationError, match="urgency"):
        _register_request(world, world.clerk, {"impact": Impact.MINOR, "urgency": 0})
    assert world.snapshot() == before
    ok = _register_request(world, world.clerk, {"impact": Impact.MINOR, "urgency": Urgency.LOW})
    assert isinstance(ok, ServiceRequest)


def test_r1_contacts_and_addresses_of_the_right_type_are_accepted(world: World) -> None:
    customer = world.desk.register_customer(
        world.clerk, name="Initech", contacts=(Contact("Peter"),),
        addresses=[Address("Floor 3")])
    stored = world.store.customers[customer.id]
    assert stored.contacts == (Contact("Peter"),) and stored.addresses == (Address("Floor 3"),)


def test_r1_an_address_field_is_text_never_none() -> None:
    with pytest.raises(ValidationError, match="city"):
        Address("Floor 3", city=None)  # type: ignore[arg-type]


def test_r12_a_fee_in_money_is_accepted_on_the_service_report(world: World) -> None:
    rid = world.at("on_site")
    request = BY_NAME["sign_off"](world, world.engineer, rid,
                                  fee=Money(Decimal("80.00"), "CNY"), rating=5)
    assert request.current_job.report.fee == Money(Decimal("80.00"), "CNY")  # type: ignore[union-attr]
