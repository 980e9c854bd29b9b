"""The in-memory unit of work: rollback, optimistic concurrency and the read set, the
append-only R9 record, events, queries; and the desk's retry of a command that lost a race."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import attrs
import pytest

from aftersales import (
    InMemoryStore,
    InMemoryUnitOfWork,
    ManualClock,
    SequentialIds,
    ServiceDesk,
    in_memory_desk,
)
from aftersales.domain import (
    ACTORS,
    KINDS,
    REQUESTS,
    Actor,
    Aggregate,
    AggregateKind,
    Category,
    Channel,
    Customer,
    DomainEvent,
    Equipment,
    Impact,
    Kinds,
    Priority,
    PriorityMatrix,
    QueryField,
    RequestState,
    Role,
    ServiceRequest,
    Urgency,
)
from aftersales.domain.kernel import EVENT_TYPES, AggregateEvent
from aftersales.errors import (
    ConcurrencyConflict,
    ConfigurationError,
    NotFound,
    StorageError,
    ValidationError,
)
from aftersales.serialization import make_converter
from aftersales.workflows import records as directory
from aftersales.workflows import steps

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONVERTER = make_converter()


class World:
    def __init__(self) -> None:
        self.clock = ManualClock(T0, step=timedelta(minutes=1))
        self.boss = Actor(UUID(int=10_000), "Zhang Supervisor", {Role.SUPERVISOR})
        self.desk, self.store = in_memory_desk(
            supervisor=self.boss, clock=self.clock, ids=SequentialIds()
        )
        self.clerk = self.desk.register_actor(self.boss, name="Li Clerk", roles={Role.CLERK})
        self.engineer = self.desk.register_actor(
            self.boss, name="Wang Engineer", roles={Role.ENGINEER}
        )
        self.other_engineer = self.desk.register_actor(
            self.boss, name="Chen Engineer", roles={Role.ENGINEER}
        )
        self.customer = self.desk.register_customer(self.clerk, name="ACME")
        self.other_customer = self.desk.register_customer(self.clerk, name="Globex")

    def request(self, **options: Any) -> UUID:
        fields = {"customer_id": self.customer.id, "summary": "printer down", **options}
        return self.desk.register_request(self.clerk, **fields).id

    def snapshot(self) -> Any:
        return (
            {k: CONVERTER.unstructure(v) for k, v in self.store.requests.items()},
            {k: CONVERTER.unstructure(v) for k, v in self.store.customers.items()},
            list(self.store.events),
        )

    def route_in(self, uow: InMemoryUnitOfWork, rid: UUID, department: str) -> ServiceRequest:
        request = uow.requests.get(rid)
        steps.route(request, department=department, actor=self.clerk, at=self.clock.now())
        return request


@pytest.fixture
def world() -> World:
    return World()


# --- rollback unless committed -----------------------------------------------------------


def test_a_unit_of_work_rolls_back_unless_committed(world: World) -> None:
    rid = world.request()
    before = world.snapshot()
    with world.store.unit_of_work() as uow:
        world.route_in(uow, rid, "printers")
        uow.customers.add(Customer(UUID(int=77), "Initech"))
    assert world.snapshot() == before
    assert UUID(int=77) not in world.store.customers


def test_a_unit_of_work_rolls_back_when_the_block_raises(world: World) -> None:
    rid = world.request()
    before = world.snapshot()
    with pytest.raises(RuntimeError), world.store.unit_of_work() as uow:
        world.route_in(uow, rid, "printers")
        raise RuntimeError("boom")
    assert world.snapshot() == before


def test_an_explicit_rollback_discards_staged_changes_and_the_next_commit_writes_nothing(
    world: World,
) -> None:
    rid = world.request()
    before = world.snapshot()
    with world.store.unit_of_work() as uow:
        world.route_in(uow, rid, "printers")
        uow.rollback()
        uow.commit()
        assert uow.collect_new_events() == []
    assert world.snapshot() == before


def test_committed_changes_are_stored_with_a_new_version_and_their_events(world: World) -> None:
    rid = world.request()
    version = world.store.requests[rid].version
    with world.store.unit_of_work() as uow:
        request = world.route_in(uow, rid, "printers")
        uow.commit()
    stored = world.store.requests[rid]
    assert stored is not request  # the store keeps its own copy
    assert (stored.state, stored.department, stored.version) == (
        RequestState.ROUTED, "printers", version + 1
    )
    assert world.store.events[-1].name == "RequestRouted"
    request.department = "tampered"
    assert world.store.requests[rid].department == "printers"


def test_reads_are_private_copies_until_committed(world: World) -> None:
    rid = world.request()
    with world.store.unit_of_work() as first, world.store.unit_of_work() as second:
        world.route_in(first, rid, "printers")
        assert second.requests.get(rid).state == RequestState.REGISTERED
        assert first.requests.get(rid) is first.requests.get(rid)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.table)
def test_an_unknown_id_is_not_found_in_every_repository(
    world: World, kind: AggregateKind[Any]
) -> None:
    with world.store.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.repository(kind).get(UUID(int=123_456))
        with pytest.raises(NotFound):
            uow.repository(kind).get("not-a-uuid")  # type: ignore[arg-type]


def test_a_request_is_found_by_its_service_number(world: World) -> None:
    rid = world.request()
    number = world.store.requests[rid].number
    with world.store.unit_of_work() as uow:
        assert uow.requests.get_by("number", number).id == rid
        with pytest.raises(NotFound):
            uow.requests.get_by("number", "SR-nope")
        with pytest.raises(ValidationError, match="not a unique query field"):
            uow.requests.get_by("customer_id", world.customer.id)


def test_a_kind_the_store_does_not_hold_is_a_configuration_error() -> None:
    store = InMemoryStore(kinds=[ACTORS])
    with store.unit_of_work() as uow, pytest.raises(ConfigurationError, match="ServiceRequest"):
        uow.requests.find()


# --- optimistic concurrency ---------------------------------------------------------------


def test_a_stale_unit_of_work_gets_a_conflict_on_commit_and_changes_nothing(
    world: World,
) -> None:
    rid = world.request()
    first, second = world.store.unit_of_work(), world.store.unit_of_work()
    with first, second:
        world.route_in(first, rid, "printers")
        stale = second.requests.get(rid)
        first.commit()
        after_first = world.snapshot()
        steps.assign(stale, engineer_id=world.engineer.id, actor=world.clerk,
                     at=world.clock.now())
        with pytest.raises(ConcurrencyConflict) as conflict:
            second.commit()
        assert second.collect_new_events() == []
    assert world.snapshot() == after_first
    assert conflict.value.entity_id == rid
    assert "retry" in str(conflict.value)


def test_a_conflict_on_one_request_writes_none_of_the_others(world: World) -> None:
    contested, bystander = world.request(), world.request()
    first, second = world.store.unit_of_work(), world.store.unit_of_work()
    with first, second:
        world.route_in(second, bystander, "depot")
        world.route_in(second, contested, "depot")
        second.customers.add(Customer(UUID(int=88), "Initech"))
        world.route_in(first, contested, "printers")
        first.commit()
        after_first = world.snapshot()
        with pytest.raises(ConcurrencyConflict):
            second.commit()
    assert world.snapshot() == after_first
    assert UUID(int=88) not in world.store.customers


def test_a_stale_directory_entry_gets_a_conflict(world: World) -> None:
    engineer = world.engineer.id
    version = world.store.actors[engineer].version
    first, second = world.store.unit_of_work(), world.store.unit_of_work()
    with first, second:
        mine, theirs = first.actors.get(engineer), second.actors.get(engineer)
        directory.change_roles(mine, roles={Role.ENGINEER, Role.CLERK}, by=world.boss,
                               at=world.clock.now())
        first.commit()
        directory.change_roles(theirs, roles={Role.SUPERVISOR}, by=world.boss,
                               at=world.clock.now())
        with pytest.raises(ConcurrencyConflict) as conflict:
            second.commit()
    assert (conflict.value.expected_version, conflict.value.actual_version) == (
        version, version + 1
    )
    stored = world.store.actors[engineer]
    assert (stored.roles, stored.version) == (frozenset({Role.ENGINEER, Role.CLERK}), version + 1)


def test_a_change_without_an_event_is_not_written(world: World) -> None:
    with world.store.unit_of_work() as uow:
        uow.customers.get(world.customer.id).name = "ACME Holdings"  # no step, no event
        uow.commit()
        assert uow.collect_new_events() == []
    assert world.store.customers[world.customer.id].name == "ACME"


def test_a_reader_whose_reads_are_unchanged_commits_without_conflict(world: World) -> None:
    rid, other = world.request(), world.request()
    with world.store.unit_of_work() as first, world.store.unit_of_work() as reader:
        reader.requests.get(other)
        world.route_in(reader, rid, "depot")
        world.route_in(first, other, "printers")  # staged, not committed: nothing changed
        reader.commit()
    assert world.store.requests[rid].department == "depot"
    assert world.store.requests[other].state == RequestState.REGISTERED


def test_a_decision_on_a_read_that_changed_meanwhile_gets_a_conflict(world: World) -> None:
    # The read set (issue 8, write skew): what a unit of work read to decide must still be
    # as it was when it commits, even though it writes something else.
    rid, other = world.request(), world.request()
    with world.store.unit_of_work() as first, world.store.unit_of_work() as reader:
        reader.requests.get(other)
        world.route_in(reader, rid, "depot")
        world.route_in(first, other, "printers")
        first.commit()
        after_first = world.snapshot()
        with pytest.raises(ConcurrencyConflict, match="read for a decision") as conflict:
            reader.commit()
    assert conflict.value.entity_id == other
    assert world.snapshot() == after_first


def test_a_duplicate_service_number_is_refused_when_added(world: World) -> None:
    taken = world.store.requests[world.request()]
    copy = attrs.evolve(taken, id=UUID(int=55_555), version=0)
    with world.store.unit_of_work() as uow, pytest.raises(ValidationError, match="number"):
        uow.requests.add(copy)


def test_two_units_adding_one_service_number_conflict_at_the_second_commit(
    world: World,
) -> None:
    def draft(n: int) -> ServiceRequest:
        return steps.register(
            request_id=UUID(int=n), number="SR-TWICE", customer_id=world.customer.id,
            category=Category.FAULT, channel=Channel.PHONE, impact=Impact.MINOR,
            urgency=Urgency.LOW, summary="noise", actor=world.clerk, at=world.clock.now(),
            matrix=PriorityMatrix(),
        )

    with world.store.unit_of_work() as first, world.store.unit_of_work() as second:
        first.requests.add(draft(60_001))
        second.requests.add(draft(60_002))
        first.commit()
        with pytest.raises(ConcurrencyConflict, match="SR-TWICE is taken"):
            second.commit()
    assert UUID(int=60_002) not in world.store.requests
    assert world.store.requests[UUID(int=60_001)].number == "SR-TWICE"


def test_two_units_adding_one_id_conflict_at_the_second_commit(world: World) -> None:
    with world.store.unit_of_work() as first, world.store.unit_of_work() as second:
        first.customers.add(Customer(UUID(int=61_000), "Initech"))
        second.customers.add(Customer(UUID(int=61_000), "Umbrella"))
        first.commit()
        with pytest.raises(ConcurrencyConflict):
            second.commit()
    assert world.store.customers[UUID(int=61_000)].name == "Initech"


def test_a_serial_is_unique_per_model(world: World) -> None:
    with world.store.unit_of_work() as uow:
        uow.equipment.add(Equipment(UUID(int=1_001), "SN-1", "X200"))
        uow.commit()
    with world.store.unit_of_work() as uow, pytest.raises(ValidationError):
        uow.equipment.add(Equipment(UUID(int=1_002), "SN-1", "X200"))
        uow.commit()


# --- the desk retries a conflicted command ---------------------------------------------------


class _RacedUnitOfWork(InMemoryUnitOfWork):
    """Runs a competing writer just before its own commit."""

    def __init__(self, store: InMemoryStore, race: Callable[[], None]) -> None:
        super().__init__(store)
        self._race: Callable[[], None] | None = race

    def commit(self) -> None:
        race, self._race = self._race, None
        if race is not None:
            race()
        super().commit()


class _RacedFactory:
    """A unit-of-work factory whose first ``races`` units of work lose a race."""

    def __init__(self, store: InMemoryStore, race: Callable[[], None], races: int = 1) -> None:
        self.store = store
        self.race = race
        self.races = races
        self.attempts = 0

    def __call__(self) -> InMemoryUnitOfWork:
        self.attempts += 1
        if self.attempts <= self.races:
            return _RacedUnitOfWork(self.store, self.race)
        return InMemoryUnitOfWork(self.store)


class _Published:
    def __init__(self) -> None:
        self.batches: list[list[DomainEvent]] = []

    def publish(self, events: Sequence[DomainEvent]) -> None:
        self.batches.append(list(events))


def _competitor(world: World, rid: UUID, department: str = "depot") -> Callable[[], None]:
    """Another clerk (re)routes the request just before our commit."""

    def race() -> None:
        with world.store.unit_of_work() as uow:
            world.route_in(uow, rid, department)
            uow.commit()

    return race


def _routed(world: World) -> UUID:
    rid = world.request()
    world.desk.route(world.clerk, rid, department="printers")
    return rid


def _raced_desk(world: World, factory: _RacedFactory, **options: Any) -> tuple[ServiceDesk,
                                                                             _Published]:
    published = _Published()
    desk = ServiceDesk(factory, clock=world.clock, ids=SequentialIds(start=50_000),
                       publisher=published, **options)
    return desk, published


def test_the_desk_retries_a_command_that_lost_a_race(world: World) -> None:
    rid = _routed(world)
    factory = _RacedFactory(world.store, _competitor(world, rid))
    desk, published = _raced_desk(world, factory)
    request = desk.assign(world.clerk, rid, engineer_id=world.engineer.id)
    assert factory.attempts == 2
    assert (request.state, request.department, request.engineer_id) == (
        RequestState.ASSIGNED, "depot", world.engineer.id
    )
    stored = world.store.requests[rid]
    assert [e.action for e in stored.record] == ["register", "route", "route", "assign"]
    events = [e for e in world.store.events if e.aggregate_id == rid]
    assert [e.name for e in events] == [
        "RequestRegistered", "RequestRouted", "RequestRouted", "EngineerAssigned"
    ]
    assert [e.sequence for e in events] == [1, 2, 3, 4]
    assert [[e.name for e in batch] for batch in published.batches] == [["EngineerAssigned"]]


def test_a_race_that_changed_the_state_surfaces_instead_of_being_retried(world: World) -> None:
    # Issue 8: the loser of two clerks assigning at once must not be re-run silently as a
    # reassignment: once the target's state moved, the command would mean something else.
    rid = world.request()

    def rival() -> None:
        with world.store.unit_of_work() as uow:
            steps.assign(uow.requests.get(rid), engineer_id=world.other_engineer.id,
                         actor=world.clerk, at=world.clock.now())
            uow.commit()

    factory = _RacedFactory(world.store, rival)
    desk, published = _raced_desk(world, factory)
    with pytest.raises(ConcurrencyConflict, match="would now mean something else") as lost:
        desk.assign(world.clerk, rid, engineer_id=world.engineer.id)
    assert not lost.value.retryable
    assert factory.attempts == 2
    stored = world.store.requests[rid]
    assert stored.engineer_id == world.other_engineer.id
    assert [e.action for e in stored.record].count("assign") == 1
    assert published.batches == []


def test_a_command_that_keeps_losing_gives_up_after_max_attempts(world: World) -> None:
    rid = _routed(world)
    factory = _RacedFactory(world.store, _competitor(world, rid), races=10)
    desk, published = _raced_desk(world, factory, max_attempts=3)
    with pytest.raises(ConcurrencyConflict) as lost:
        desk.assign(world.clerk, rid, engineer_id=world.engineer.id)
    assert lost.value.retryable
    assert factory.attempts == 3
    assert world.store.requests[rid].engineer_id is None
    assert published.batches == []


def test_with_one_attempt_a_conflict_is_raised_and_only_the_competitor_wins(
    world: World,
) -> None:
    rid = _routed(world)
    factory = _RacedFactory(world.store, _competitor(world, rid))
    desk, _ = _raced_desk(world, factory, max_attempts=1)
    with pytest.raises(ConcurrencyConflict):
        desk.assign(world.clerk, rid, engineer_id=world.engineer.id)
    stored = world.store.requests[rid]
    assert (stored.state, stored.department, stored.engineer_id) == (
        RequestState.ROUTED, "depot", None
    )


def test_an_expected_version_that_is_not_the_stored_one_is_refused_and_not_retried(
    world: World,
) -> None:
    rid = _routed(world)
    version = world.store.requests[rid].version
    with pytest.raises(ConcurrencyConflict, match="expected another version") as stale:
        world.desk.assign(world.clerk, rid, engineer_id=world.engineer.id,
                          expected_version=version - 1)
    assert (stale.value.retryable, stale.value.actual_version) == (False, version)
    assert world.store.requests[rid].engineer_id is None
    request = world.desk.assign(world.clerk, rid, engineer_id=world.engineer.id,
                                expected_version=version)
    assert request.version == version + 1


def test_max_attempts_must_be_at_least_one(world: World) -> None:
    with pytest.raises(ValidationError, match="max_attempts"):
        ServiceDesk(world.store.unit_of_work, clock=world.clock, ids=SequentialIds(),
                    max_attempts=0)


# --- events ------------------------------------------------------------------------------


def test_collect_new_events_returns_events_once_in_sequence_order(world: World) -> None:
    rid, later = world.request(), world.request()
    with world.store.unit_of_work() as uow:
        request = world.route_in(uow, rid, "printers")
        steps.assign(request, engineer_id=world.engineer.id, actor=world.clerk,
                     at=world.clock.now())
        assert uow.collect_new_events() == []  # nothing committed yet
        uow.commit()
        first = uow.collect_new_events()
        assert uow.collect_new_events() == []
        world.route_in(uow, later, "depot")
        uow.commit()
        second = uow.collect_new_events()
    assert [e.name for e in first] == ["RequestRouted", "EngineerAssigned"]
    assert [e.sequence for e in first] == [2, 3]
    assert [e.name for e in second] == ["RequestRouted"]
    assert world.store.events[-3:] == [*first, *second]
    assert len({e.event_id for e in world.store.events}) == len(world.store.events)


def test_committed_events_of_a_request_are_gap_free(world: World) -> None:
    rid = world.request()
    world.desk.assign(world.clerk, rid, engineer_id=world.engineer.id)
    world.desk.start_remote(world.engineer, rid)
    events = [e for e in world.store.events if e.aggregate_id == rid]
    assert [e.sequence for e in events] == [1, 2, 3]
    assert world.store.requests[rid].event_sequence == 3


# --- find --------------------------------------------------------------------------------


def test_find_filters_by_customer_state_engineer_and_priority(world: World) -> None:
    urgent = world.request(impact=Impact.EXTENSIVE, urgency=Urgency.HIGH)
    routine = world.request(impact=Impact.MINOR, urgency=Urgency.LOW)
    elsewhere = world.request(customer_id=world.other_customer.id)
    world.desk.assign(world.clerk, urgent, engineer_id=world.engineer.id)
    world.desk.assign(world.clerk, elsewhere, engineer_id=world.other_engineer.id)

    def ids(**criteria: Any) -> list[UUID]:
        with world.store.unit_of_work() as uow:
            return [r.id for r in uow.requests.find(**criteria)]

    assert ids() == [urgent, routine, elsewhere]  # oldest registration first
    assert ids(customer_id=world.customer.id) == [urgent, routine]
    assert ids(customer_id=world.other_customer.id) == [elsewhere]
    assert ids(state=[RequestState.ASSIGNED]) == [urgent, elsewhere]
    assert ids(state=[RequestState.REGISTERED, RequestState.CLOSED]) == [routine]
    assert ids(state="assigned") == [urgent, elsewhere]
    assert ids(state=[]) == []
    assert ids(engineer_id=world.engineer.id) == [urgent]
    assert ids(engineer_id=None) == [routine]  # None matches an absent value
    assert ids(priority=Priority.P1) == [urgent]
    assert ids(priority=Priority.P4) == [routine]
    assert ids(customer_id=world.customer.id, state=[RequestState.ASSIGNED],
               engineer_id=world.engineer.id, priority=Priority.P1) == [urgent]
    assert ids(customer_id=world.customer.id, engineer_id=world.other_engineer.id) == []
    assert ids(limit=2) == [urgent, routine]
    assert ids(limit=0) == []


def test_find_sees_the_units_own_uncommitted_changes(world: World) -> None:
    rid = world.request()
    with world.store.unit_of_work() as uow:
        world.route_in(uow, rid, "printers")
        assert [r.id for r in uow.requests.find(state=[RequestState.ROUTED])] == [rid]
        assert uow.requests.find(state=[RequestState.REGISTERED]) == []
    with world.store.unit_of_work() as uow:
        assert uow.requests.find(state=[RequestState.ROUTED]) == []


@pytest.mark.parametrize(
    ("criteria", "problem"),
    [({"states": ["routed"]}, "not a query field"), ({"summary": "x"}, "not a query field"),
     ({"limit": -1}, "limit"), ({"limit": True}, "limit")],
    ids=["states", "summary", "negative-limit", "bool-limit"],
)
def test_find_refuses_a_criterion_that_is_not_a_query_field_or_a_bad_limit(
    world: World, criteria: dict[str, Any], problem: str
) -> None:
    with world.store.unit_of_work() as uow, pytest.raises(ValidationError, match=problem):
        uow.requests.find(**criteria)


def test_the_desk_finds_requests_by_customer_state_and_engineer(world: World) -> None:
    mine = world.request()
    world.request(customer_id=world.other_customer.id)
    world.desk.assign(world.clerk, mine, engineer_id=world.engineer.id)
    found = world.desk.find_requests(world.clerk, customer_id=world.customer.id,
                                     states=[RequestState.ASSIGNED],
                                     engineer_id=world.engineer.id)
    assert [r.id for r in found] == [mine]


# --- R9: the stored record only grows --------------------------------------------------------


def _reroute(uow: InMemoryUnitOfWork, world: World, rid: UUID) -> ServiceRequest:
    """A legitimate step (so the request carries an event and is written at commit)."""
    return world.route_in(uow, rid, "depot")


def test_r9_rewriting_a_stored_entry_is_refused_at_commit(world: World) -> None:
    rid = world.request()
    before = world.store.record_of(REQUESTS, rid)
    with world.store.unit_of_work() as uow:
        request = _reroute(uow, world, rid)
        request.record[0] = attrs.evolve(request.record[0], note="backdated")
        with pytest.raises(StorageError, match="R9 its record was rewritten"):
            uow.commit()
    assert world.store.record_of(REQUESTS, rid) == before
    assert world.store.requests[rid].state == RequestState.REGISTERED


def test_r9_removing_a_stored_entry_is_refused_at_commit(world: World) -> None:
    rid = world.request()
    with world.store.unit_of_work() as uow:
        request = _reroute(uow, world, rid)
        del request.record[0]
        with pytest.raises(StorageError, match="R9 its record was rewritten"):
            uow.commit()
    assert len(world.store.record_of(REQUESTS, rid)) == 1


def test_r9_a_new_entry_that_does_not_chain_is_refused_at_commit(world: World) -> None:
    rid = world.request()
    with world.store.unit_of_work() as uow:
        request = _reroute(uow, world, rid)
        request.record[-1] = attrs.evolve(request.record[-1], digest="0" * 64)
        with pytest.raises(StorageError, match="R9 new record entries do not chain"):
            uow.commit()
    assert len(world.store.record_of(REQUESTS, rid)) == 1


def test_r9_a_new_aggregate_with_a_broken_record_is_refused_at_commit(world: World) -> None:
    draft = Customer(UUID(int=62_000), "Initech")
    draft.record_step(at=T0, actor_id=world.clerk.id, workflow="file", subject_id=draft.id,
                      action="open", from_state=None, to_state="active")
    draft.record[0] = attrs.evolve(draft.record[0], note="forged")
    with world.store.unit_of_work() as uow:
        uow.customers.add(draft)
        with pytest.raises(StorageError, match="R9 record is not intact"):
            uow.commit()
    assert UUID(int=62_000) not in world.store.customers


def test_events_that_name_another_aggregate_or_skip_a_sequence_are_refused(
    world: World,
) -> None:
    rid = world.request()
    with world.store.unit_of_work() as uow:
        request = _reroute(uow, world, rid)
        request.pending_events[0] = attrs.evolve(request.pending_events[0], sequence=9)
        with pytest.raises(StorageError, match=r"expected \S+ and 2$"):
            uow.commit()
    assert world.store.requests[rid].event_sequence == 1


# --- a kind declared outside the package --------------------------------------------------


@attrs.define(eq=False)
class _Loaner(Aggregate):
    """A loan unit lent to a customer while theirs is repaired (a user's own aggregate)."""

    label: str
    customer_id: UUID | None = None
    state: str = "in_stock"


_LOANERS: AggregateKind[_Loaner] = AggregateKind(
    cls=_Loaner, entity="Loaner", table="loaners",
    fields=[QueryField("label", str, unique=True), QueryField("customer_id", UUID),
            QueryField("state", str)],
    order_by=["label"], owner_field="customer_id",
)


@pytest.fixture
def event_registry() -> Iterator[None]:
    """Events a test defines register themselves; forget them afterwards."""
    saved = dict(EVENT_TYPES)
    yield
    EVENT_TYPES.clear()
    EVENT_TYPES.update(saved)


def test_a_kind_declared_outside_the_package_is_stored_and_found(event_registry: None) -> None:
    @attrs.frozen(kw_only=True)
    class LoanerStocked(AggregateEvent):
        aggregate_type = "Loaner"
        label: str

    store = InMemoryStore(Kinds(KINDS).plus(_LOANERS))
    with store.unit_of_work() as uow:
        for n, label in enumerate(["L-2", "L-1"], start=1):
            loaner = _Loaner(UUID(int=n), label)
            loaner.emit(LoanerStocked, actor_id=UUID(int=99), at=T0, label=label)
            uow.repository(_LOANERS).add(loaner)
        uow.commit()
        assert [e.name for e in uow.collect_new_events()] == ["LoanerStocked"] * 2
    assert [loaner.label for loaner in store.committed(_LOANERS).values()] == ["L-2", "L-1"]
    with store.unit_of_work() as uow:
        loaners = uow.repository(_LOANERS)
        assert [loaner.label for loaner in loaners.find()] == ["L-1", "L-2"]
        assert loaners.get_by("label", "L-2").id == UUID(int=1)
        assert loaners.find(customer_id=None, state="in_stock", limit=1)[0].label == "L-1"
