"""The aggregate kernel and the values every aggregate uses.

- R9: the digest-chained record (``record_step``, ``verify_chain``) and its replay
  (``replay_record``, ``verify_record``): each check of the replay has its own test, on a
  record whose chain is intact, so that removing any single check makes a test fail;
- the self-filling event registry and upcasting of old payloads;
- the declaration of aggregate kinds (``AggregateKind``, ``QueryField``, ``Kinds``);
- ``Money`` quantized to ISO 4217 minor units; absolute-time ``elapsed``/``shifted`` across
  DST changes; ``text_problem`` and ``instant_problem``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, ClassVar
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

import attrs
import pytest

from aftersales import ManualClock, SequentialIds, in_memory_desk
from aftersales.domain import (
    ACTORS,
    KINDS,
    REQUESTS,
    Actor,
    Aggregate,
    AggregateEvent,
    AggregateKind,
    Kinds,
    Money,
    QueryField,
    RecordEntry,
    RequestState,
    Role,
    ServiceRequest,
    elapsed,
    entry_digest,
    event_id_for,
    shifted,
    verify_chain,
)
from aftersales.domain.currencies import register_currency
from aftersales.domain.events import RequestEvent, RequestResolved
from aftersales.domain.kernel import EVENT_TYPES, clone_attrs
from aftersales.domain.values import MAX_AMOUNT, instant_problem, text_problem
from aftersales.errors import ConfigurationError, StorageError, ValidationError
from aftersales.serialization import event_from_dict, event_to_dict
from aftersales.workflows import Transition, Workflow, WorkflowDefinition, replay_record
from aftersales.workflows.steps import verify_record

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLERK = UUID(int=1)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


# --- a toy aggregate and workflow to build records with ---------------------------------------


@attrs.define(eq=False)
class _Thing(Aggregate):
    """An aggregate whose record the tests write by hand."""

    state: str = "new"


TOY = Workflow(
    WorkflowDefinition(
        name="toy",
        states=["new", "open", "done"],
        initial="new",
        finals={"done"},
        transitions=[Transition("open", ["new"], "open"), Transition("close", ["open"], "done")],
    ),
    "Thing",
)
FLOWS = {"toy": TOY}

#: (action, from, to) of a clean toy record: opened, opened for work, closed.
CLEAN = [("start", None, "new"), ("open", "new", "open"), ("close", "open", "done")]


def _thing(steps: list[tuple[str, str | None, str]] = CLEAN, *, workflow: str = "toy",
           subject: UUID | None = None) -> _Thing:
    """A thing whose record holds ``steps`` (well chained) and whose state is the last one."""
    thing = _Thing(UUID(int=500))
    for n, (action, before, after) in enumerate(steps):
        thing.record_step(
            at=T0 + timedelta(minutes=n), actor_id=CLERK, workflow=workflow,
            subject_id=subject or thing.id, action=action, from_state=before, to_state=after,
            note=f"step {n + 1}",
        )
    thing.state = steps[-1][2] if steps else "new"
    return thing


def _replay(thing: _Thing, subjects: list[Any] | None = None) -> list[str]:
    return replay_record(thing.record, [thing] if subjects is None else subjects, FLOWS)


# --- R9: record_step and the digest ------------------------------------------------------------


def test_r9_record_step_numbers_entries_and_chains_each_digest_to_the_one_before() -> None:
    thing = _Thing(UUID(int=500))
    assert thing.record_head == ""
    first = thing.record_step(at=T0, actor_id=CLERK, workflow="toy", subject_id=thing.id,
                              action="start", from_state=None, to_state="new", note="hello")
    second = thing.record_step(at=T0, actor_id=CLERK, workflow="toy", subject_id=thing.id,
                               action="open", from_state="new", to_state="open")
    assert thing.record == [first, second]
    assert (first.sequence, second.sequence) == (1, 2)
    assert first.digest == entry_digest("", 1, T0, CLERK, "toy", thing.id, "start", None, "new",
                                        "hello")
    assert second.digest == entry_digest(first.digest, 2, T0, CLERK, "toy", thing.id, "open",
                                         "new", "open", "")
    assert second.digest == second.expected_digest(first.digest)
    assert len(second.digest) == 64 and int(second.digest, 16) >= 0  # SHA-256, hex
    assert thing.record_head == second.digest
    assert verify_chain(thing.record) == []


_DIGEST_ARGS: dict[str, Any] = {
    "previous": "", "sequence": 1, "at": T0, "actor_id": CLERK, "workflow": "toy",
    "subject_id": UUID(int=500), "action": "open", "from_state": "new", "to_state": "open",
    "note": "",
}


@pytest.mark.parametrize(
    ("field", "other"),
    [("previous", "ab" * 32), ("sequence", 2), ("at", T0 + timedelta(microseconds=1)),
     ("actor_id", UUID(int=2)), ("workflow", "onsite"), ("subject_id", UUID(int=501)),
     ("action", "close"), ("from_state", None), ("from_state", ""), ("to_state", "done"),
     ("note", " ")],
)
def test_r9_the_digest_covers_every_field_of_an_entry(field: str, other: Any) -> None:
    assert entry_digest(**_DIGEST_ARGS) != entry_digest(**{**_DIGEST_ARGS, field: other})


def test_r9_the_digest_tells_an_opening_entry_from_one_that_leaves_an_empty_state() -> None:
    opening = entry_digest(**{**_DIGEST_ARGS, "from_state": None})
    assert opening != entry_digest(**{**_DIGEST_ARGS, "from_state": ""})
    assert opening != entry_digest(**{**_DIGEST_ARGS, "from_state": "None"})


def test_r9_the_digest_of_an_instant_is_the_same_in_every_zone() -> None:
    # Storage that keeps times in UTC must compute the digest the entry was written with.
    local = T0.astimezone(BERLIN)
    assert entry_digest(**{**_DIGEST_ARGS, "at": local}) == entry_digest(**_DIGEST_ARGS)


def test_r9_an_intact_chain_has_no_problems_also_when_checked_from_the_middle() -> None:
    record = _thing().record
    assert verify_chain(record) == []
    assert verify_chain(record[1:], previous=record[0].digest, start=2) == []
    assert verify_chain(record[1:], previous="", start=2) == [
        "entry 2 (open) does not match its digest: edited, inserted or out of place"
    ]
    assert verify_chain(record[1:], previous=record[0].digest) == [
        "entry 1 has sequence 2", "entry 2 has sequence 3",
    ]


def test_r9_verify_chain_finds_an_edited_entry() -> None:
    record = _thing().record
    record[1] = attrs.evolve(record[1], note="nothing to see")
    assert verify_chain(record) == [
        "entry 2 (open) does not match its digest: edited, inserted or out of place"
    ]


def test_r9_verify_chain_finds_an_inserted_entry() -> None:
    record = _thing().record
    # A forger who knows the formula inserts an entry chained to entry 1 ...
    forged_digest = entry_digest(record[0].digest, 2, T0, CLERK, "toy", UUID(int=500), "open",
                                 "new", "open", "forged")
    forged = RecordEntry(2, T0, CLERK, "toy", UUID(int=500), "open", "new", "open", "forged",
                         forged_digest)
    record.insert(1, forged)
    assert verify_chain(record[:2]) == []  # the forgery itself chains ...
    assert verify_chain(record) == [  # ... but what followed no longer does
        "entry 3 has sequence 2",
        "entry 2 (open) does not match its digest: edited, inserted or out of place",
        "entry 4 has sequence 3",
    ]


def test_r9_verify_chain_finds_a_deleted_entry() -> None:
    record = _thing().record
    del record[1]
    assert verify_chain(record) == [
        "entry 2 has sequence 3",
        "entry 3 (close) does not match its digest: edited, inserted or out of place",
    ]


def test_r9_verify_chain_finds_reordered_entries() -> None:
    record = _thing().record
    record[1], record[2] = record[2], record[1]
    assert verify_chain(record) == [
        "entry 2 has sequence 3",
        "entry 3 (close) does not match its digest: edited, inserted or out of place",
        "entry 3 has sequence 2",
        "entry 2 (open) does not match its digest: edited, inserted or out of place",
    ]


def test_r9_verify_chain_finds_a_renumbered_entry_even_with_its_digest_recomputed() -> None:
    record = _thing().record
    entry = record[2]
    renumbered = attrs.evolve(entry, sequence=7)
    record[2] = attrs.evolve(renumbered, digest=renumbered.expected_digest(record[1].digest))
    assert verify_chain(record) == ["entry 3 has sequence 7"]


# --- R9: replay_record, one check at a time ------------------------------------------------


def test_r9_a_clean_record_replays_without_problems() -> None:
    assert _replay(_thing()) == []


def test_r9_replay_reports_a_broken_chain() -> None:
    thing = _thing()
    thing.record[2] = attrs.evolve(thing.record[2], note="rewritten")
    assert _replay(thing) == [
        "entry 3 (close) does not match its digest: edited, inserted or out of place"
    ]


def test_r9_replay_reports_an_entry_of_an_unknown_workflow_and_only_that() -> None:
    thing = _thing([("start", None, "parked"), ("fly", "parked", "away")], workflow="mystery")
    assert _replay(thing, subjects=[]) == [
        "entry 1 names unknown workflow 'mystery'",
        "entry 2 names unknown workflow 'mystery'",
    ]


def test_r9_replay_reports_a_subject_opened_from_some_state() -> None:
    thing = _thing([("start", "open", "new"), ("open", "new", "open")])
    assert _replay(thing) == [
        f"entry 1 does not open {thing.id} in its initial state"
    ]


def test_r9_replay_reports_a_subject_opened_in_a_state_other_than_the_initial_one() -> None:
    thing = _thing([("start", None, "open"), ("close", "open", "done")])
    assert _replay(thing) == [
        f"entry 1 does not open {thing.id} in its initial state"
    ]


def test_r9_replay_reports_an_entry_that_does_not_start_where_the_last_one_ended() -> None:
    # "close" from "open" is a toy transition; but the subject was still "new".
    thing = _thing([("start", None, "new"), ("close", "open", "done")])
    assert _replay(thing) == [
        f"entry 2 starts from 'open', but {thing.id} was 'new'"
    ]


def test_r9_replay_reports_an_action_the_workflow_does_not_have_from_that_state() -> None:
    thing = _thing([("start", None, "new"), ("close", "new", "done")])
    assert _replay(thing) == [
        "entry 2: 'close' from 'new' to 'done' is not a toy transition"
    ]


def test_r9_replay_reports_a_transition_that_ends_in_the_wrong_state() -> None:
    thing = _thing([("start", None, "new"), ("open", "new", "done")])
    assert _replay(thing) == [
        "entry 2: 'open' from 'new' to 'done' is not a toy transition"
    ]


def test_r9_replay_follows_what_the_record_says_after_a_bad_entry() -> None:
    # After a bad step the replay continues from the state that step recorded, so one bad
    # entry is reported once, not again for every entry after it.
    thing = _thing([("start", None, "new"), ("skip", "new", "open"), ("close", "open", "done")])
    assert _replay(thing) == [
        "entry 2: 'skip' from 'new' to 'open' is not a toy transition"
    ]


def test_r9_replay_reports_a_subject_whose_state_is_not_where_its_record_ends() -> None:
    thing = _thing()
    thing.state = "open"
    assert _replay(thing) == [
        f"record leaves {thing.id} in 'done', but it is 'open'"
    ]


def test_r9_replay_reports_a_record_cut_short_at_its_end() -> None:
    thing = _thing()
    del thing.record[-1]  # the chain of what is left is intact
    assert verify_chain(thing.record) == []
    assert _replay(thing) == [f"record leaves {thing.id} in 'open', but it is 'done'"]


def test_r9_replay_reports_a_subject_with_no_record_at_all() -> None:
    thing = _thing()
    stranger = _Thing(UUID(int=501))
    assert _replay(thing, subjects=[thing, stranger]) == [
        f"record leaves {stranger.id} in None, but it is 'new'"
    ]


def test_r9_replay_keeps_each_subject_apart() -> None:
    thing = _thing()
    job = _Thing(UUID(int=502))
    for n, (action, before, after) in enumerate(CLEAN[:2]):
        thing.record_step(at=T0 + timedelta(hours=n), actor_id=CLERK, workflow="toy",
                          subject_id=job.id, action=action, from_state=before, to_state=after)
    job.state = "open"
    assert _replay(thing, subjects=[thing, job]) == []


# --- R9: verify_record on a real request ---------------------------------------------------


@pytest.fixture
def closed_request() -> ServiceRequest:
    boss = Actor(UUID(int=10_000), "Boss", {Role.SUPERVISOR, Role.CLERK, Role.ENGINEER})
    desk, _ = in_memory_desk(supervisor=boss, clock=ManualClock(T0, timedelta(minutes=5)),
                             ids=SequentialIds())
    customer = desk.register_customer(boss, name="ACME")
    rid = desk.register_request(boss, customer_id=customer.id, summary="printer down").id
    desk.assign(boss, rid, engineer_id=boss.id)
    desk.start_remote(boss, rid)
    desk.resolve(boss, rid, resolution="driver reset")
    desk.confirm(boss, rid)
    return desk.close(boss, rid)


def test_r9_verify_record_passes_a_request_that_went_through_the_desk(
    closed_request: ServiceRequest,
) -> None:
    assert [(e.workflow, e.action) for e in closed_request.record] == [
        ("request", "register"), ("request", "assign"), ("request", "start"),
        ("remote", "open"), ("remote", "resolve"), ("request", "resolve"),
        ("request", "confirm"), ("request", "close"),
    ]
    assert verify_record(closed_request) == []


def test_r9_verify_record_finds_an_edited_note(closed_request: ServiceRequest) -> None:
    closed_request.record[4] = attrs.evolve(closed_request.record[4], note="never happened")
    assert verify_record(closed_request) == [
        "entry 5 (resolve) does not match its digest: edited, inserted or out of place"
    ]


def test_r9_verify_record_finds_a_request_moved_without_a_step(
    closed_request: ServiceRequest,
) -> None:
    closed_request.state = RequestState.CANCELLED
    assert verify_record(closed_request) == [
        f"record leaves {closed_request.id} in 'closed', but it is 'cancelled'"
    ]


def test_r9_verify_record_finds_a_job_moved_without_a_step(
    closed_request: ServiceRequest,
) -> None:
    job = closed_request.jobs[0]
    job.state = "escalated_onsite"
    assert verify_record(closed_request) == [
        f"record leaves {job.id} in 'resolved', but it is 'escalated_onsite'"
    ]


# --- the event registry --------------------------------------------------------------------


@pytest.fixture
def event_registry() -> Iterator[dict[str, type[AggregateEvent]]]:
    """The registry, restored after the test (events a test defines register themselves)."""
    saved = dict(EVENT_TYPES)
    yield EVENT_TYPES
    EVENT_TYPES.clear()
    EVENT_TYPES.update(saved)


def test_defining_an_event_class_registers_it_under_its_name(
    event_registry: dict[str, type[AggregateEvent]],
) -> None:
    @attrs.frozen(kw_only=True)
    class LoanUnitLent(AggregateEvent):
        aggregate_type = "LoanUnit"
        serial: str

    assert event_registry["LoanUnitLent"] is LoanUnitLent  # the attrs-built class
    event = LoanUnitLent(aggregate_id=UUID(int=7), sequence=3, occurred_at=T0,
                         actor_id=CLERK, serial="L-1")
    assert event.name == "LoanUnitLent"
    assert event.event_id == event_id_for(UUID(int=7), 3) == uuid5(UUID(int=7), "3")


def test_an_event_may_register_under_a_name_of_its_own(
    event_registry: dict[str, type[AggregateEvent]],
) -> None:
    @attrs.frozen(kw_only=True)
    class Lent(AggregateEvent):
        event_name = "acme.LoanUnitLent"

    assert event_registry["acme.LoanUnitLent"] is Lent
    assert "Lent" not in event_registry
    event = Lent(aggregate_id=UUID(int=7), sequence=1, occurred_at=T0, actor_id=CLERK)
    assert event.name == "acme.LoanUnitLent"


def test_an_abstract_event_base_is_not_registered_but_its_subclasses_are(
    event_registry: dict[str, type[AggregateEvent]],
) -> None:
    @attrs.frozen(kw_only=True)
    class LoanEvent(AggregateEvent):
        __abstract_event__ = True
        aggregate_type = "LoanUnit"

    @attrs.frozen(kw_only=True)
    class LoanReturned(LoanEvent):
        pass

    assert "LoanEvent" not in event_registry
    assert event_registry["LoanReturned"] is LoanReturned
    assert LoanReturned.aggregate_type == "LoanUnit"
    assert "RequestEvent" not in event_registry and "AggregateEvent" not in event_registry
    assert issubclass(event_registry["RequestRegistered"], RequestEvent)


def test_an_event_name_taken_by_another_module_is_a_configuration_error(
    event_registry: dict[str, type[AggregateEvent]],
) -> None:
    with pytest.raises(ConfigurationError, match=r"'RequestRegistered' is taken by aftersales"):

        @attrs.frozen(kw_only=True)
        class RequestRegistered(AggregateEvent):
            pass

    with pytest.raises(ConfigurationError, match="set event_name on one of them"):

        @attrs.frozen(kw_only=True)
        class Registered(AggregateEvent):
            event_name = "EngineerAssigned"

    assert event_registry["RequestRegistered"].__module__ == "aftersales.domain.events"
    assert event_registry["EngineerAssigned"].__module__ == "aftersales.domain.events"


@pytest.mark.parametrize("field", ["name", "event_id"])
def test_an_event_field_may_not_hide_the_events_own_name_or_id(
    event_registry: dict[str, type[AggregateEvent]], field: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"may not be called {field}"):
        type("Clashing", (AggregateEvent,), {"__annotations__": {field: "str"}})
    assert "Clashing" not in event_registry


def test_every_shipped_event_is_registered_under_its_type_name() -> None:
    shipped = {n: c for n, c in EVENT_TYPES.items() if c.__module__.startswith("aftersales.")}
    assert {"RequestRegistered", "ActorRegistered", "RepairOrderOpened"} <= set(shipped)
    for name, cls in shipped.items():
        assert not {a.name for a in attrs.fields(cls)} & {"name", "event_id"}, name
        assert (cls.__dict__.get("event_name") or cls.__name__) == name


def test_a_registered_event_with_a_name_field_round_trips_through_its_payload() -> None:
    # The directory's first event used to carry the person's name in ``name``: the payload's
    # type became the person's name and the outbox could not decode it.
    boss = Actor(UUID(int=10_000), "Boss", {Role.SUPERVISOR})
    _, store = in_memory_desk(supervisor=boss, clock=ManualClock(T0), ids=SequentialIds())
    (event,) = store.events
    assert event.name == "ActorRegistered"
    payload = event_to_dict(event)
    assert payload["type"] == "ActorRegistered"
    assert event_from_dict(payload) == event
    (message,) = store.outbox().pending()
    assert message.name == "ActorRegistered"


def test_aggregate_emit_numbers_events_without_gaps_and_queues_them() -> None:
    thing = _Thing(UUID(int=9), event_sequence=4)
    a = thing.emit(RequestResolved, actor_id=CLERK, at=T0, resolution="done")
    b = thing.emit(RequestResolved, actor_id=CLERK, at=T0, resolution="again")
    assert (a.sequence, b.sequence, thing.event_sequence) == (5, 6, 6)
    assert thing.pending_events == [a, b] and thing.changed
    assert (a.aggregate_id, a.actor_id, a.occurred_at) == (thing.id, CLERK, T0)
    copy = thing.clone()
    assert copy.pending_events == [] and not copy.changed
    copy.record.append(RecordEntry(1, T0, CLERK, "toy", thing.id, "x", None, "new"))
    assert thing.record == []


@attrs.frozen
class _Part:
    sku: str
    at: datetime


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class _Box:
    label: str
    items: list[str] = attrs.field(factory=list)

    def clone(self) -> _Box:
        copy: _Box = clone_attrs(self)
        return copy


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class _Crate(Aggregate):
    parts: list[_Part] = attrs.field(factory=list)
    boxes: list[_Box] = attrs.field(factory=list)
    by_bin: dict[str, _Box] = attrs.field(factory=dict)
    spare: _Box | None = None
    tags: set[str] = attrs.field(factory=set)
    anything: Any = None
    part: _Part | None = None


def test_clone_shares_what_never_changes_and_copies_or_clones_the_rest() -> None:
    """The cloner decides per declared type: frozen values are shared, lists, dicts and sets
    copied, mutable items (declared, optional or undeclared) cloned."""
    part = _Part("A-1", T0)
    crate = _Crate(
        UUID(int=5), parts=[part], boxes=[_Box("b", ["x"])], by_bin={"k": _Box("k")},
        spare=_Box("s"), tags={"t"}, anything=[_Box("any")], part=part,
    )
    crate.emit(RequestResolved, actor_id=CLERK, at=T0, resolution="done")
    copy = crate.clone()
    assert copy.parts == [part] and copy.parts is not crate.parts and copy.parts[0] is part
    assert copy.part is part
    assert copy.boxes[0] is not crate.boxes[0] and copy.boxes[0].items == ["x"]
    copy.boxes[0].items.append("y")
    assert crate.boxes[0].items == ["x"]
    assert copy.by_bin["k"] is not crate.by_bin["k"]
    assert copy.spare is not None and copy.spare is not crate.spare
    assert copy.spare.label == "s"
    copy.tags.add("u")
    assert crate.tags == {"t"}
    assert copy.anything is not crate.anything and copy.anything[0] is not crate.anything[0]
    assert copy.pending_events == [] and len(crate.pending_events) == 1
    empty = _Crate(UUID(int=6)).clone()
    assert (empty.spare, empty.part, empty.anything) == (None, None, None)


# --- upcasting old payloads -------------------------------------------------------------------


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def bin_moved(event_registry: dict[str, type[AggregateEvent]]) -> type[AggregateEvent]:
    """Version 3 of an event: v1 had no ``bin``; v2 called ``shelf`` what v3 calls ``rack``."""

    def add_bin(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "bin": "A-00"}

    def rename_shelf(data: dict[str, Any]) -> dict[str, Any]:
        rest = {k: v for k, v in data.items() if k != "shelf"}
        return {**rest, "rack": data["shelf"]}

    @attrs.frozen(kw_only=True)
    class BinMoved(AggregateEvent):
        class_version = 3
        upcasters: ClassVar[Mapping[int, Upcaster]] = {1: add_bin, 2: rename_shelf}
        rack: str
        bin: str

    return BinMoved


_OLD = {"aggregate_id": str(UUID(int=7)), "sequence": 1, "occurred_at": T0.isoformat(),
        "actor_id": str(CLERK), "type": "BinMoved"}


def test_an_old_payload_is_upcast_through_every_version_on_load(
    bin_moved: type[AggregateEvent],
) -> None:
    event = event_from_dict({**_OLD, "v": 1, "shelf": "S-3"})
    assert isinstance(event, bin_moved)
    assert (event.rack, event.bin) == ("S-3", "A-00")  # type: ignore[attr-defined]
    newer = event_from_dict({**_OLD, "v": 2, "shelf": "S-4", "bin": "B-7"})
    assert (newer.rack, newer.bin) == ("S-4", "B-7")  # type: ignore[attr-defined]
    assert event_from_dict({**_OLD, "shelf": "S-3"}) == event  # no "v": version 1


def test_a_current_payload_round_trips_and_carries_its_version(
    bin_moved: type[AggregateEvent],
) -> None:
    event = event_from_dict({**_OLD, "v": 1, "shelf": "S-3"})
    payload = event_to_dict(event)
    assert (payload["type"], payload["v"], payload["rack"]) == ("BinMoved", 3, "S-3")
    assert event_from_dict(payload) == event


@pytest.mark.parametrize("version", [0, 4, "1", True], ids=["zero", "future", "text", "bool"])
def test_a_payload_of_an_unknown_version_is_a_storage_error(
    bin_moved: type[AggregateEvent], version: object
) -> None:
    with pytest.raises(StorageError, match="unknown payload version"):
        event_from_dict({**_OLD, "v": version, "rack": "R", "bin": "B"})


def test_a_missing_upcaster_is_a_storage_error(
    event_registry: dict[str, type[AggregateEvent]],
) -> None:
    @attrs.frozen(kw_only=True)
    class BinCounted(AggregateEvent):
        class_version = 2
        count: int

    with pytest.raises(StorageError, match="no upcaster from version 1"):
        event_from_dict({**_OLD, "type": "BinCounted", "v": 1, "count": 2})
    assert event_from_dict({**_OLD, "type": "BinCounted", "v": 2, "count": 2}) == BinCounted(
        aggregate_id=UUID(int=7), sequence=1, occurred_at=T0, actor_id=CLERK, count=2
    )


def test_an_unknown_event_type_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="unknown event type 'BinBurned'"):
        event_from_dict({**_OLD, "type": "BinBurned"})


# --- declaring aggregate kinds ---------------------------------------------------------------


def _kind(**changes: Any) -> AggregateKind[Any]:
    declared: dict[str, Any] = {
        "cls": _Thing, "entity": "Thing", "table": "things",
        "fields": [QueryField("state", str), QueryField("number", str, unique=True)],
    }
    return AggregateKind(**{**declared, **changes})


def test_a_sound_kind_declaration_is_accepted() -> None:
    kind = _kind(order_by=["state"], unique_together=[("state", "number")],
                 indexes=[("number", "state")], number_prefix="TH")
    assert kind.field_names == {"state", "number"}
    assert [f.name for f in kind.unique_fields] == ["number"]
    assert kind.field("state").type is str


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"cls": Money}, "is not an Aggregate"),
        ({"cls": "things"}, "is not an Aggregate"),
        ({"table": "Things"}, "lower-case identifier"),
        ({"table": "the things"}, "lower-case identifier"),
        ({"fields": [QueryField("state", str), QueryField("state", int)]}, "declared twice"),
        ({"fields": [QueryField("id", UUID)]}, "reserved names"),
        ({"fields": [QueryField("version", int)]}, "reserved names"),
        ({"fields": [QueryField("doc", str)]}, "reserved names"),
        ({"fields": [QueryField("record_head", str)]}, "reserved names"),
        ({"order_by": ["colour"]}, "'colour' is not a query field"),
        ({"unique_together": [("state", "colour")]}, "'colour' is not a query field"),
        ({"indexes": [("colour",)]}, "'colour' is not a query field"),
        ({"number_prefix": "TH", "fields": [QueryField("state", str)]},
         "needs a unique 'number' field"),
        ({"number_prefix": "TH", "fields": [QueryField("number", str)]},
         "needs a unique 'number' field"),
    ],
    ids=["not-aggregate", "not-a-class", "upper-case-table", "spaced-table", "twice", "id",
         "version", "doc", "record-head", "order-by", "unique-together", "index",
         "number-missing", "number-not-unique"],
)
def test_a_bad_kind_declaration_is_a_configuration_error(
    changes: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        _kind(**changes)


@pytest.mark.parametrize(
    ("build", "problem"),
    [(lambda: QueryField("first name", str), "not an identifier"),
     (lambda: QueryField("weight", float), "is not one of"),
     (lambda: QueryField("tags", list), "is not one of")],
    ids=["name", "float", "list"],
)
def test_a_bad_query_field_is_a_configuration_error(
    build: Callable[[], QueryField], problem: str
) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        build()


def test_a_query_field_reads_enumerations_by_value_and_may_compute_its_value(
    closed_request: ServiceRequest,
) -> None:
    priority = REQUESTS.field("priority").read(closed_request)
    assert (priority, type(priority)) == (3, int)  # Priority.P3, stored as its value
    assert REQUESTS.row(closed_request)["state"] == "closed"
    computed = QueryField("loud", str, get=lambda thing: thing.state.upper())
    assert computed.read(_Thing(UUID(int=1), state="open")) == "OPEN"
    with pytest.raises(ConfigurationError, match="has no query field 'colour'"):
        REQUESTS.field("colour")


def test_kinds_plus_adds_a_kind_without_touching_the_shipped_set() -> None:
    shipped = Kinds(KINDS)
    mine = _kind()
    both = shipped.plus(mine)
    assert len(both) == len(KINDS) + 1 and len(shipped) == len(KINDS)
    assert mine in both and mine not in shipped
    assert both.of(_Thing(UUID(int=1))) is mine
    assert both.of(_Thing) is mine
    assert both.by_table("things") is mine and both.by_entity("Thing") is mine
    assert both.of(ServiceRequest) is REQUESTS and both.of(Actor) is ACTORS
    with pytest.raises(ConfigurationError, match="no aggregate kind is declared for _Thing"):
        shipped.of(_Thing)


def test_kinds_of_finds_the_kind_of_a_subclass() -> None:
    @attrs.define(eq=False)
    class SpecialThing(_Thing):
        pass

    assert Kinds([_kind()]).of(SpecialThing(UUID(int=3))).table == "things"


@pytest.mark.parametrize(
    ("other", "what"),
    [({"entity": "Other"}, "table 'things'"), ({"table": "others"}, "class '_Thing'"),
     ({"table": "others", "cls": Actor}, "entity name 'Thing'")],
    ids=["table", "class", "entity"],
)
def test_two_kinds_that_share_a_table_class_or_entity_name_are_refused(
    other: dict[str, Any], what: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"two kinds share the {what}"):
        Kinds([_kind(), _kind(**other)])


def test_kinds_refuse_what_is_not_a_kind_and_name_what_they_do_not_hold() -> None:
    with pytest.raises(ConfigurationError, match="is not an AggregateKind"):
        Kinds([REQUESTS, "customers"])  # type: ignore[list-item]
    kinds = Kinds(KINDS)
    assert kinds.plus(REQUESTS) is not kinds and len(kinds.plus(REQUESTS)) == len(KINDS)
    with pytest.raises(ConfigurationError, match="stored as 'things'"):
        kinds.by_table("things")
    with pytest.raises(ConfigurationError, match="named 'Thing'"):
        kinds.by_entity("Thing")


# --- Money and ISO 4217 ----------------------------------------------------------------------


def _exponent(money: Money) -> int:
    exponent = money.amount.as_tuple().exponent
    assert isinstance(exponent, int)
    return exponent


@pytest.mark.parametrize(
    ("amount", "currency", "kept", "decimals"),
    [("5", "CNY", "5.00", 2), ("5.1", "CNY", "5.10", 2), ("-3", "EUR", "-3.00", 2),
     ("1.0", "JPY", "1", 0), ("120", "JPY", "120", 0), ("1", "KWD", "1.000", 3),
     ("1.234", "KWD", "1.234", 3), ("0.5", "CLF", "0.5000", 4)],
)
def test_money_is_kept_at_its_currencys_minor_unit(
    amount: str, currency: str, kept: str, decimals: int
) -> None:
    money = Money(Decimal(amount), currency)
    assert str(money.amount) == kept
    assert _exponent(money) == -decimals
    assert str(money) == f"{kept} {currency}"


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("0.001", "CNY"), ("5.005", "USD"), ("0.5", "JPY"), ("1.01", "JPY"), ("1.2345", "KWD")],
)
def test_money_finer_than_its_minor_unit_is_refused(amount: str, currency: str) -> None:
    with pytest.raises(ValidationError, match=f"more decimals than {currency} has"):
        Money(Decimal(amount), currency)


def test_negative_zero_money_is_zero() -> None:
    assert str(Money(Decimal("-0.00"), "CNY")) == "0.00 CNY"
    assert Money(Decimal("-0"), "CNY") == Money.zero("CNY")


@pytest.mark.parametrize("build", [lambda: Money(1.5, "CNY"),  # type: ignore[arg-type]
                                   lambda: Money.of(1.5, "CNY")],  # type: ignore[arg-type]
                         ids=["constructor", "of"])
def test_money_refuses_floats(build: Callable[[], Money]) -> None:
    with pytest.raises(ValidationError, match="never a float"):
        build()


@pytest.mark.parametrize("currency", ["ABC", "XXX", "RMB", "usd", "EURO"])
def test_money_refuses_codes_iso_4217_does_not_list(currency: str) -> None:
    with pytest.raises(ValidationError, match="is not an ISO 4217 code"):
        Money(Decimal(1), currency)
    with pytest.raises(ValidationError, match="is not an ISO 4217 code"):
        Money.of(Decimal(1), currency)


def test_money_stays_below_a_quadrillion() -> None:
    assert Money(MAX_AMOUNT - Decimal("0.01"), "CNY").amount == Decimal("999999999999999.99")
    for amount in (MAX_AMOUNT, -MAX_AMOUNT, Decimal("1e30")):
        with pytest.raises(ValidationError, match="below"):
            Money(amount, "CNY")
        with pytest.raises(ValidationError, match="below"):
            Money.of(amount, "CNY")  # never a decimal.InvalidOperation from rounding


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [(Decimal("2.345"), "CNY", "2.35"), (Decimal("2.344"), "CNY", "2.34"),
     (Decimal("-2.345"), "CNY", "-2.35"), (Decimal("0.5"), "JPY", "1"),
     (Decimal("1.4999"), "JPY", "1"), (Decimal("1.2345"), "KWD", "1.235"),
     (7, "CNY", "7.00"), (Decimal("3"), "KWD", "3.000")],
)
def test_money_of_rounds_half_up_to_the_minor_unit(
    amount: Decimal | int, currency: str, rounded: str
) -> None:
    assert Money.of(amount, currency) == Money(Decimal(rounded), currency)


def test_money_of_takes_another_rounding_when_asked() -> None:
    assert Money.of(Decimal("2.345"), "CNY", ROUND_HALF_EVEN).amount == Decimal("2.34")
    assert Money.of(Decimal("2.355"), "CNY", ROUND_HALF_EVEN).amount == Decimal("2.36")


def test_money_times_a_factor_rounds_half_up_to_the_minor_unit() -> None:
    ten = Money(Decimal("10.00"), "CNY")
    assert ten.times(Decimal("0.333")) == Money(Decimal("3.33"), "CNY")
    assert ten.times(Decimal("0.3335")) == Money(Decimal("3.34"), "CNY")
    assert ten.times(Decimal("0.3335"), ROUND_HALF_EVEN) == Money(Decimal("3.34"), "CNY")
    assert ten.times(Decimal("0.3345"), ROUND_HALF_EVEN) == Money(Decimal("3.34"), "CNY")
    assert Money(Decimal(101), "JPY").times(Decimal("0.5")) == Money(Decimal(51), "JPY")
    assert ten.times(Decimal(-1)) == -ten


@pytest.mark.parametrize(
    ("code", "minor", "problem"),
    [("CNY", 2, "ISO 4217 code already"), ("pts", 0, "three letters"),
     ("PT", 0, "three letters"), ("PTS", 5, "0 to 4"), ("PTS", True, "0 to 4")],
)
def test_registering_a_currency_refuses_iso_codes_bad_codes_and_bad_minor_units(
    code: str, minor: int, problem: str
) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        register_currency(code, minor)


# --- elapsed and shifted: absolute time across DST ------------------------------------------------

# (zone, the DST day, the absolute hours from local midnight to local noon that day)
DST_DAYS = [
    pytest.param(BERLIN, date(2026, 3, 29), 11, id="berlin-spring-forward"),
    pytest.param(BERLIN, date(2026, 10, 25), 13, id="berlin-fall-back"),
    pytest.param(NEW_YORK, date(2026, 3, 8), 11, id="new-york-spring-forward"),
    pytest.param(NEW_YORK, date(2026, 11, 1), 13, id="new-york-fall-back"),
]


def _local(zone: tzinfo, day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone)


@pytest.mark.parametrize(("zone", "day", "hours"), DST_DAYS)
def test_elapsed_is_absolute_time_across_a_dst_change(zone: tzinfo, day: date, hours: int) -> None:
    midnight, noon = _local(zone, day, 0), _local(zone, day, 12)
    assert noon - midnight == timedelta(hours=12)  # Python's wall-clock subtraction
    assert elapsed(midnight, noon) == timedelta(hours=hours)
    assert elapsed(noon, midnight) == -timedelta(hours=hours)


@pytest.mark.parametrize(("zone", "day", "hours"), DST_DAYS)
def test_elapsed_is_the_same_whether_values_carry_their_zone_or_utc(
    zone: tzinfo, day: date, hours: int
) -> None:
    midnight, noon = _local(zone, day, 0), _local(zone, day, 12)
    as_utc = (midnight.astimezone(UTC), noon.astimezone(UTC))
    assert elapsed(*as_utc) == elapsed(midnight, noon) == timedelta(hours=hours)
    assert elapsed(midnight, as_utc[1]) == elapsed(as_utc[0], noon) == timedelta(hours=hours)


@pytest.mark.parametrize(("zone", "day", "hours"), DST_DAYS)
def test_shifted_moves_by_absolute_time_across_a_dst_change_and_keeps_the_zone(
    zone: tzinfo, day: date, hours: int
) -> None:
    midnight = _local(zone, day, 0)
    later = shifted(midnight, timedelta(hours=hours))
    assert later == _local(zone, day, 12)
    assert (later.hour, later.tzinfo) == (12, zone)
    day_before_noon = _local(zone, day - timedelta(days=1), 12)
    next_day = shifted(day_before_noon, timedelta(hours=24))
    assert next_day.hour == 12 + (12 - hours)  # 13:00 after spring forward, 11:00 after fall back
    assert elapsed(day_before_noon, next_day) == timedelta(hours=24)


@pytest.mark.parametrize(("zone", "day", "hours"), DST_DAYS)
def test_shifted_gives_the_same_instant_from_a_zoned_or_a_utc_value(
    zone: tzinfo, day: date, hours: int
) -> None:
    start = _local(zone, day, 0)
    for delta in (timedelta(hours=hours), timedelta(hours=5), timedelta(days=1)):
        from_utc = shifted(start.astimezone(UTC), delta)
        assert from_utc.tzinfo is UTC
        assert from_utc == shifted(start, delta)
        assert from_utc.astimezone(zone).hour == shifted(start, delta).hour


def test_the_repeated_hour_of_a_fall_back_is_an_hour_apart_in_absolute_time() -> None:
    first = datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK)  # EDT
    second = first.replace(fold=1)  # the same wall clock an hour later, EST
    assert second - first == timedelta(0)  # wall clock
    assert elapsed(first, second) == timedelta(hours=1)
    assert shifted(first, timedelta(hours=1)) == second
    assert shifted(first, timedelta(hours=1)).utcoffset() == timedelta(hours=-5)


def test_a_manual_clock_advances_by_absolute_time_across_a_dst_change() -> None:
    clock = ManualClock(datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN))
    assert clock.advance(timedelta(hours=1)) == datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)
    assert clock.now().utcoffset() == timedelta(hours=2)


# --- text and instants a storage can hold -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "required", "problem"),
    [("a\x00b", False, "must not contain NUL characters"),
     ("\ud800", False, "must not contain lone surrogates"),
     ("ok \udfff", True, "must not contain lone surrogates"),
     ("x" * 11, False, "is longer than 10 characters"),
     ("   ", True, "must not be blank"),
     ("", True, "must not be blank"),
     (b"bytes", False, "expected text, got bytes"),
     (None, False, "expected text, got NoneType")],
    ids=["nul", "lone-surrogate", "trailing-surrogate", "too-long", "blank", "empty", "bytes",
         "none"],
)
def test_text_problem_names_what_no_storage_can_hold(
    value: object, required: bool, problem: str
) -> None:
    assert text_problem(value, required=required, max_length=10) == problem


@pytest.mark.parametrize(
    ("value", "required"),
    [("x" * 10, True), ("维修站 ✓ 🚚", True), ("", False), ("   ", False)],
    ids=["exactly-max", "unicode", "empty-optional", "blank-optional"],
)
def test_text_problem_accepts_storable_text(value: str, required: bool) -> None:
    assert text_problem(value, required=required, max_length=10) is None


class _NoOffset(tzinfo):
    def utcoffset(self, dt: datetime | None) -> None:
        return None

    def dst(self, dt: datetime | None) -> None:
        return None

    def tzname(self, dt: datetime | None) -> str:
        return "floating"


class _BrokenZone(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta:
        raise RuntimeError("no offset")

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "broken"


@pytest.mark.parametrize(
    ("value", "problem"),
    [(datetime(1, 1, 1, tzinfo=UTC), "must lie between 1900 and 2999"),
     (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), "must lie between 1900 and 2999"),
     (datetime(1900, 1, 1, 23, 59, tzinfo=UTC), "must lie between 1900 and 2999"),
     (datetime(2999, 12, 30, 0, 0, 1, tzinfo=UTC), "must lie between 1900 and 2999"),
     (datetime(2026, 3, 2, 9, 0), "datetime must be timezone-aware"),
     (datetime(2026, 3, 2, 9, 0, tzinfo=_NoOffset()), "datetime must be timezone-aware"),
     (datetime(2026, 3, 2, tzinfo=_BrokenZone()), "has an unusable time zone (RuntimeError)"),
     (date(2026, 3, 2), "expected a datetime, got date"),
     ("2026-03-02T09:00:00+00:00", "expected a datetime, got str")],
    ids=["year-1", "year-9999", "day-before-min", "after-max", "naive", "no-offset",
         "broken-zone", "date", "text"],
)
def test_instant_problem_names_what_is_wrong(value: object, problem: str) -> None:
    assert instant_problem(value) == problem


@pytest.mark.parametrize(
    "value",
    [datetime(1900, 1, 2, tzinfo=UTC), datetime(2999, 12, 30, tzinfo=UTC), T0,
     datetime(2026, 3, 29, 2, 30, tzinfo=BERLIN)],
    ids=["first-day", "last-day", "today", "berlin-gap"],
)
def test_instant_problem_accepts_aware_datetimes_in_range(value: datetime) -> None:
    assert instant_problem(value) is None
