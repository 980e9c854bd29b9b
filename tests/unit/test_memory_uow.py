"""The in-memory unit of work: rollback, optimistic concurrency, events, queries; and the
desk's retry of a command that lost a race."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

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
    Actor,
    Customer,
    DomainEvent,
    Equipment,
    Impact,
    Priority,
    RequestState,
    Role,
    ServiceRequest,
    Urgency,
)
from aftersales.errors import ConcurrencyConflict, NotFound, ValidationError
from aftersales.serialization import make_converter
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
        assert second.requests.get(rid).state is RequestState.REGISTERED
        assert first.requests.get(rid) is first.requests.get(rid)


def test_an_unknown_id_is_not_found_in_every_repository(world: World) -> None:
    with world.store.unit_of_work() as uow:
        for repo in (uow.requests, uow.customers, uow.equipment, uow.plans, uow.actors):
            with pytest.raises(NotFound):
                repo.get(UUID(int=123_456))
        with pytest.raises(NotFound):
            uow.requests.get_by_number("SR-nope")


def test_a_request_is_found_by_its_service_number(world: World) -> None:
    rid = world.request()
    number = world.store.requests[rid].number
    with world.store.unit_of_work() as uow:
        assert uow.requests.get_by_number(number).id == rid


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


def test_a_stale_customer_file_gets_a_conflict(world: World) -> None:
    first, second = world.store.unit_of_work(), world.store.unit_of_work()
    with first, second:
        mine, theirs = first.customers.get(world.customer.id), second.customers.get(
            world.customer.id
        )
        mine.name = "ACME Holdings"
        first.customers.save(mine)
        first.commit()
        theirs.name = "ACME Group"
        second.customers.save(theirs)
        with pytest.raises(ConcurrencyConflict):
            second.commit()
    assert world.store.customers[world.customer.id].name == "ACME Holdings"
    assert world.store.customers[world.customer.id].version == 1


def test_a_reader_that_changed_nothing_does_not_conflict(world: World) -> None:
    rid = world.request()
    with world.store.unit_of_work() as first, world.store.unit_of_work() as reader:
        reader.requests.get(rid)
        world.route_in(first, rid, "printers")
        first.commit()
        reader.commit()
    assert world.store.requests[rid].state is RequestState.ROUTED


def test_a_duplicate_service_number_is_refused_at_commit(world: World) -> None:
    taken = world.store.requests[world.request()]
    copy = taken.clone()
    copy.id = UUID(int=55_555)
    with world.store.unit_of_work() as uow, pytest.raises(ValidationError, match="number"):
        uow.requests.add(copy)


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


def _competitor(world: World, rid: UUID) -> Callable[[], None]:
    def race() -> None:
        with world.store.unit_of_work() as uow:
            world.route_in(uow, rid, "depot")
            uow.commit()

    return race


def _raced_desk(world: World, factory: _RacedFactory, **options: Any) -> tuple[ServiceDesk,
                                                                             _Published]:
    published = _Published()
    desk = ServiceDesk(factory, clock=world.clock, ids=SequentialIds(start=50_000),
                       publisher=published, **options)
    return desk, published


def test_the_desk_retries_a_command_that_lost_a_race(world: World) -> None:
    rid = world.request()
    factory = _RacedFactory(world.store, _competitor(world, rid))
    desk, published = _raced_desk(world, factory)
    request = desk.assign(world.clerk, rid, engineer_id=world.engineer.id)
    assert factory.attempts == 2
    assert (request.state, request.department, request.engineer_id) == (
        RequestState.ASSIGNED, "depot", world.engineer.id
    )
    stored = world.store.requests[rid]
    assert [e.action for e in stored.record] == ["register", "route", "assign"]
    events = [e for e in world.store.events if e.request_id == rid]
    assert [e.name for e in events] == ["RequestRegistered", "RequestRouted", "EngineerAssigned"]
    assert [e.sequence for e in events] == [1, 2, 3]
    assert [[e.name for e in batch] for batch in published.batches] == [["EngineerAssigned"]]


def test_a_command_that_keeps_losing_gives_up_after_max_attempts(world: World) -> None:
    rid = world.request()
    factory = _RacedFactory(world.store, _competitor(world, rid), races=10)
    desk, published = _raced_desk(world, factory, max_attempts=3)
    with pytest.raises(ConcurrencyConflict):
        desk.assign(world.clerk, rid, engineer_id=world.engineer.id)
    assert factory.attempts == 3
    assert world.store.requests[rid].engineer_id is None
    assert published.batches == []


def test_with_one_attempt_a_conflict_is_raised_and_only_the_competitor_wins(
    world: World,
) -> None:
    rid = world.request()
    factory = _RacedFactory(world.store, _competitor(world, rid))
    desk, _ = _raced_desk(world, factory, max_attempts=1)
    with pytest.raises(ConcurrencyConflict):
        desk.assign(world.clerk, rid, engineer_id=world.engineer.id)
    stored = world.store.requests[rid]
    assert (stored.state, stored.department, stored.engineer_id) == (
        RequestState.ROUTED, "depot", None
    )


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
    events = [e for e in world.store.events if e.request_id == rid]
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
    assert ids(states=[RequestState.ASSIGNED]) == [urgent, elsewhere]
    assert ids(states=[RequestState.REGISTERED, RequestState.CLOSED]) == [routine]
    assert ids(states=[]) == []
    assert ids(engineer_id=world.engineer.id) == [urgent]
    assert ids(priority=Priority.P1) == [urgent]
    assert ids(priority=Priority.P4) == [routine]
    assert ids(customer_id=world.customer.id, states=[RequestState.ASSIGNED],
               engineer_id=world.engineer.id, priority=Priority.P1) == [urgent]
    assert ids(customer_id=world.customer.id, engineer_id=world.other_engineer.id) == []
    assert ids(limit=2) == [urgent, routine]


def test_find_sees_the_units_own_uncommitted_changes(world: World) -> None:
    rid = world.request()
    with world.store.unit_of_work() as uow:
        world.route_in(uow, rid, "printers")
        assert [r.id for r in uow.requests.find(states=[RequestState.ROUTED])] == [rid]
    with world.store.unit_of_work() as uow:
        assert uow.requests.find(states=[RequestState.ROUTED]) == []


def test_the_desk_finds_requests_by_customer_state_and_engineer(world: World) -> None:
    mine = world.request()
    world.request(customer_id=world.other_customer.id)
    world.desk.assign(world.clerk, mine, engineer_id=world.engineer.id)
    found = world.desk.find_requests(world.clerk, customer_id=world.customer.id,
                                     states=[RequestState.ASSIGNED],
                                     engineer_id=world.engineer.id)
    assert [r.id for r in found] == [mine]
