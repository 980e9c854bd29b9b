"""Issue 8 (4) on the in-memory store: cross-aggregate invariants hold under concurrency.

The same invariants as ``tests/integration/test_concurrency.py`` (which runs them on every SQL
engine with two processes), here with two threads on one :class:`InMemoryStore`:

- *interleaved* (deterministic): command A reads, authorizes and runs its step; when it
  commits, command B runs to the end first (two units of work open at once), then A writes;
- *raced*: two threads run their commands for many rounds, released together by a barrier
  and held at a second barrier once both have read, so every round is a real overlap.

A request is never cancelled while its unit is at the depot and a unit never has two open
repair orders (R13); a request assigned twice at once is assigned once and the loser gets a
``ConcurrencyConflict`` (R11, R9); one idempotency key sent twice at once gives both callers
the first request (R7); an engineer deactivated while being assigned is not assigned (R30).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from uuid import UUID

import attrs

from aftersales import (
    Actor,
    DataHandling,
    DepotState,
    InMemoryStore,
    Intake,
    ManualClock,
    RandomIds,
    RepairDesk,
    RequestState,
    Role,
    ServiceDesk,
    in_memory_desk,
)
from aftersales.errors import AftersalesError, ConcurrencyConflict
from aftersales.ports import UnitOfWork

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
INTAKE = Intake(appearance="scratched lid", configuration="16 GB / 512 GB",
                accessories=("charger",), data_handling=DataHandling.KEEP_OLD_DISK)
#: How long a thread waits for the other before the round counts as broken (seconds).
WAIT_SECONDS = 10.0
#: Rounds per raced test (each round is one real race between the two threads).
ROUNDS = 100
FINAL_CONFLICT = "ConcurrencyConflict(final)"


class Outcome(NamedTuple):
    """What one command came to: ``ok`` (and the id it returned) or the error class
    (``ConcurrencyConflict(final)`` for a conflict the runner would not retry)."""

    kind: str
    detail: str

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


def attempt(run: Callable[[], object]) -> Outcome:
    """Run ``run``; an :mod:`aftersales.errors` refusal becomes an Outcome (anything else
    propagates: it is a bug)."""
    try:
        result = run()
    except ConcurrencyConflict as conflict:
        return Outcome("ConcurrencyConflict" + ("" if conflict.retryable else "(final)"),
                       str(conflict))
    except AftersalesError as error:
        return Outcome(type(error).__name__, str(error))
    return Outcome("ok", str(getattr(result, "id", result)))


Op = Callable[[ServiceDesk], object]


def _tag() -> str:
    return uuid.uuid4().hex[:10]


@attrs.frozen
class World:
    """A directory (a supervisor, two clerks, two engineers) and a customer in one store."""

    store: InMemoryStore
    desk: ServiceDesk
    boss: UUID
    clerks: tuple[UUID, UUID]
    engineers: tuple[UUID, UUID]
    customer: UUID

    def desk_on(self, factory: Callable[[], UnitOfWork]) -> ServiceDesk:
        """Another desk on the same store whose units of work come from ``factory``."""
        return ServiceDesk(factory, clock=ManualClock(T0), ids=RandomIds())

    def engineer(self) -> UUID:
        return self.desk.register_actor(self.boss, name=f"engineer {_tag()}",
                                        roles={Role.ENGINEER}).id

    def new_customer(self) -> UUID:
        return self.desk.register_customer(self.clerks[0], name=f"customer {_tag()}").id

    def unit(self) -> UUID:
        return self.desk.register_equipment(self.clerks[0], serial=f"SN-{_tag()}", model="T14",
                                            owner_id=self.customer).id

    def registered(self) -> UUID:
        return self.desk.register_request(self.clerks[0], customer_id=self.customer,
                                          summary="no power").id

    def handed_to_depot(self, unit: UUID) -> UUID:
        desk, clerk, engineer = self.desk, self.clerks[0], self.engineers[0]
        request = desk.register_request(clerk, customer_id=self.customer, equipment_id=unit,
                                        summary="no power")
        desk.assign(clerk, request.id, engineer_id=engineer)
        desk.start_remote(engineer, request.id)
        desk.hand_to_depot(engineer, request.id, reason="hardware fault")
        return request.id


def make_world() -> World:
    boss = uuid.uuid4()
    desk, store = in_memory_desk(supervisor=Actor(boss, "boss", {Role.SUPERVISOR}),
                                 clock=ManualClock(T0), ids=RandomIds())
    clerks = [desk.register_actor(boss, name=f"clerk {n}", roles={Role.CLERK}).id
              for n in (1, 2)]
    engineers = [desk.register_actor(boss, name=f"engineer {n}", roles={Role.ENGINEER}).id
                 for n in (1, 2)]
    customer = desk.register_customer(clerks[0], name="北京华信科技有限公司").id
    return World(store, desk, boss, (clerks[0], clerks[1]), (engineers[0], engineers[1]),
                 customer)


def receive(clerk: UUID, request: UUID) -> Op:
    def run(desk: ServiceDesk) -> object:
        return RepairDesk(desk).receive_at_depot(clerk, request, intake=INTAKE,
                                                 promised_at=T0 + timedelta(days=3))
    return run


def cancel(clerk: UUID, request: UUID) -> Op:
    return lambda desk: desk.cancel(clerk, request, reason="the customer withdrew it")


def assign(clerk: UUID, request: UUID, engineer: UUID) -> Op:
    return lambda desk: desk.assign(clerk, request, engineer_id=engineer)


def register(clerk: UUID, customer: UUID, key: str) -> Op:
    return lambda desk: desk.register_request(clerk, customer_id=customer,
                                              summary="screen flickers", idempotency_key=key)


def deactivate(boss: UUID, actor: UUID) -> Op:
    return lambda desk: desk.deactivate_actor(boss, actor, reason="left the company")


class AtCommit:
    """A unit-of-work factory whose first unit of work calls ``hook`` when it commits (the
    command has read, authorized and run its step; nothing is written yet)."""

    def __init__(self, factory: Callable[[], UnitOfWork], hook: Callable[[], None]) -> None:
        self._factory = factory
        self._hook: Callable[[], None] | None = hook

    def __call__(self) -> UnitOfWork:
        uow = self._factory()
        hook, self._hook = self._hook, None
        if hook is not None:
            commit = uow.commit

            def commit_after_hook() -> None:
                hook()
                commit()

            uow.commit = commit_after_hook  # type: ignore[method-assign]
        return uow


def interleave(world: World, first: Op, second: Op) -> tuple[Outcome, Outcome]:
    """Run ``first``; when it commits, run ``second`` to the end first. Both outcomes."""
    other: list[Outcome] = []
    factory = AtCommit(world.store.unit_of_work,
                       lambda: other.append(attempt(lambda: second(world.desk))))
    outcome = attempt(lambda: first(world.desk_on(factory)))
    assert other, f"the first command never reached its commit: {outcome}"
    return outcome, other[0]


def race(
    world: World, rounds: Sequence[tuple[Op, Op]], *, ordered: bool = False
) -> list[tuple[Outcome, Outcome]]:
    """Run each round's two commands in two threads at once; their outcomes per round.

    Both threads start a round together and, unless ``ordered``, wait for each other once
    both have read. ``ordered``: thread 0 reads, thread 1 runs to the end, thread 0 commits.
    """
    start = threading.Barrier(2, timeout=WAIT_SECONDS)
    read = threading.Barrier(2, timeout=WAIT_SECONDS)
    first_read = [threading.Event() for _ in rounds]
    second_done = [threading.Event() for _ in rounds]
    found: dict[tuple[int, int], Outcome] = {}
    crashes: list[BaseException] = []

    def contestant(side: int) -> None:
        try:
            for number, pair in enumerate(rounds):
                start.wait()
                if ordered and side == 1 and not first_read[number].wait(WAIT_SECONDS):
                    raise TimeoutError("thread 0 never reached its commit")

                def hook(number: int = number) -> None:
                    if not ordered:
                        read.wait()
                    elif side == 0:
                        first_read[number].set()
                        second_done[number].wait(WAIT_SECONDS)

                desk = world.desk_on(AtCommit(world.store.unit_of_work, hook))
                found[side, number] = attempt(lambda: pair[side](desk))  # noqa: B023
                if ordered and side == 1:
                    second_done[number].set()
        except BaseException as error:
            crashes.append(error)
            start.abort()
            read.abort()

    threads = [threading.Thread(target=contestant, args=(side,), daemon=True)
               for side in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS * 3)
    assert not crashes, crashes
    assert not any(t.is_alive() for t in threads), "a thread never finished"
    return [(found[0, n], found[1, n]) for n in range(len(rounds))]


def one_winner(first: Outcome, second: Outcome) -> tuple[int, Outcome]:
    """The side that won (exactly one must have) and the loser's outcome."""
    assert [first.ok, second.ok].count(True) == 1, (first, second)
    return (0, second) if first.ok else (1, first)


# --- R13: a request is never cancelled while its unit is at the depot ----------------------


def _cancelled_without_an_order(world: World, request: UUID, unit: UUID) -> None:
    with world.store.unit_of_work() as uow:
        assert uow.requests.get(request).state == RequestState.CANCELLED
        assert uow.repairs.find(equipment_id=unit) == []


def _at_depot_with_one_open_order(world: World, request: UUID, unit: UUID) -> None:
    with world.store.unit_of_work() as uow:
        assert uow.requests.get(request).state == RequestState.AT_DEPOT
        orders = uow.repairs.find(equipment_id=unit)
        assert [o.request_id for o in orders] == [request]
        assert orders[0].state == DepotState.INTAKE


def test_r13_a_cancel_committed_while_the_unit_is_received_makes_the_receipt_fail() -> None:
    world = make_world()
    unit = world.unit()
    request = world.handed_to_depot(unit)
    received, cancelled = interleave(world, receive(world.clerks[0], request),
                                     cancel(world.clerks[1], request))
    assert cancelled.ok
    assert received.kind == FINAL_CONFLICT, received
    _cancelled_without_an_order(world, request, unit)


def test_r13_a_receipt_committed_while_the_request_is_cancelled_makes_the_cancel_fail() -> None:
    world = make_world()
    unit = world.unit()
    request = world.handed_to_depot(unit)
    cancelled, received = interleave(world, cancel(world.clerks[1], request),
                                     receive(world.clerks[0], request))
    assert received.ok
    assert cancelled.kind == FINAL_CONFLICT, cancelled
    _at_depot_with_one_open_order(world, request, unit)


def test_r13_two_threads_cancelling_and_receiving_one_request_never_leave_it_cancelled_with_an_open_order() -> None:  # noqa: E501
    world = make_world()
    cases = [(unit, world.handed_to_depot(unit)) for unit in (world.unit() for _ in range(ROUNDS))]
    outcomes = race(world, [(receive(world.clerks[0], r), cancel(world.clerks[1], r))
                            for _, r in cases])
    for (unit, request), (received, cancelled) in zip(cases, outcomes, strict=True):
        winner, loser = one_winner(received, cancelled)
        assert loser.kind == FINAL_CONFLICT, loser
        if winner == 0:
            _at_depot_with_one_open_order(world, request, unit)
        else:
            _cancelled_without_an_order(world, request, unit)


# --- R13: never two open repair orders for one unit -----------------------------------------


def _one_open_order(world: World, unit: UUID, winner: UUID, loser: UUID) -> None:
    with world.store.unit_of_work() as uow:
        orders = uow.repairs.find(equipment_id=unit)
        assert [o.request_id for o in orders] == [winner]
        assert uow.repairs.get_by("open_equipment_id", unit).id == orders[0].id
        assert uow.requests.get(winner).state == RequestState.AT_DEPOT
        assert uow.requests.get(loser).state == RequestState.HANDED_TO_DEPOT


def test_r13_a_unit_received_through_another_request_meanwhile_is_not_received_twice() -> None:
    world = make_world()
    unit = world.unit()
    first, second = world.handed_to_depot(unit), world.handed_to_depot(unit)
    late, early = interleave(world, receive(world.clerks[0], first),
                             receive(world.clerks[1], second))
    assert early.ok
    assert late.kind == "GuardFailed" and "R13" in late.detail, late
    _one_open_order(world, unit, winner=second, loser=first)


def test_r13_two_threads_receiving_one_unit_through_two_requests_open_one_order() -> None:
    world = make_world()
    cases = []
    for _ in range(ROUNDS):
        unit = world.unit()
        cases.append((unit, world.handed_to_depot(unit), world.handed_to_depot(unit)))
    outcomes = race(world, [(receive(world.clerks[0], a), receive(world.clerks[1], b))
                            for _, a, b in cases])
    for (unit, a, b), pair in zip(cases, outcomes, strict=True):
        winner, loser = one_winner(*pair)
        assert loser.kind == "GuardFailed" and "R13" in loser.detail, loser
        _one_open_order(world, unit, *((a, b) if winner == 0 else (b, a)))


# --- R11/R9: two clerks assigning one request at once ----------------------------------------


def _assigned_once(world: World, request: UUID, engineer: UUID) -> None:
    with world.store.unit_of_work() as uow:
        found = uow.requests.get(request)
        assert found.state == RequestState.ASSIGNED and found.engineer_id == engineer
        assert [e.note for e in found.record if e.action == "assign"] == [str(engineer)]
    assigned = [e for e in world.store.events
                if e.aggregate_id == request and e.name == "EngineerAssigned"]
    assert len(assigned) == 1


def test_r11_an_assignment_committed_meanwhile_makes_the_other_a_conflict_not_a_reassignment() -> None:  # noqa: E501
    world = make_world()
    request = world.registered()
    late, early = interleave(world, assign(world.clerks[0], request, world.engineers[0]),
                             assign(world.clerks[1], request, world.engineers[1]))
    assert early.ok
    assert late.kind == FINAL_CONFLICT and "assign" in late.detail, late
    _assigned_once(world, request, world.engineers[1])


def test_r11_two_threads_assigning_one_request_leave_one_assignment_and_tell_the_loser() -> None:
    world = make_world()
    requests = [world.registered() for _ in range(ROUNDS)]
    e0, e1 = world.engineers
    outcomes = race(world, [(assign(world.clerks[0], r, e0), assign(world.clerks[1], r, e1))
                            for r in requests])
    for request, pair in zip(requests, outcomes, strict=True):
        winner, loser = one_winner(*pair)
        assert loser.kind == FINAL_CONFLICT, loser
        _assigned_once(world, request, world.engineers[winner])


# --- R7: one idempotency key sent twice at once ------------------------------------------------


def _one_request(world: World, customer: UUID, request_id: str) -> None:
    with world.store.unit_of_work() as uow:
        assert [str(r.id) for r in uow.requests.find(customer_id=customer)] == [request_id]


def test_r7_a_key_recorded_meanwhile_returns_the_first_request_instead_of_a_second() -> None:
    world = make_world()
    customer = world.new_customer()
    late, early = interleave(world, register(world.clerks[0], customer, "call-0815"),
                             register(world.clerks[0], customer, "call-0815"))
    assert early.ok and late.ok
    assert late.detail == early.detail
    _one_request(world, customer, early.detail)


def test_r7_two_threads_sending_one_key_both_get_the_first_request() -> None:
    world = make_world()
    customers = [world.new_customer() for _ in range(ROUNDS)]
    clerk = world.clerks[0]
    outcomes = race(world, [(register(clerk, c, f"call-{n}"), register(clerk, c, f"call-{n}"))
                            for n, c in enumerate(customers)])
    for customer, (first, second) in zip(customers, outcomes, strict=True):
        assert first.ok and second.ok, (first, second)
        assert first.detail == second.detail
        _one_request(world, customer, first.detail)


# --- R30: what a guard reads of another aggregate is checked at commit ----------------------


def _unassigned(world: World, request: UUID, engineer: UUID) -> None:
    with world.store.unit_of_work() as uow:
        found = uow.requests.get(request)
        assert found.state == RequestState.REGISTERED and found.engineer_id is None
        assert "assign" not in [e.action for e in found.record]
        assert not uow.actors.get(engineer).active


def test_r30_an_engineer_deactivated_meanwhile_is_not_assigned() -> None:
    world = make_world()
    engineer, request = world.engineer(), world.registered()
    assigned, deactivated = interleave(world, assign(world.clerks[0], request, engineer),
                                       deactivate(world.boss, engineer))
    assert deactivated.ok
    assert assigned.kind == "ValidationError" and "not an active engineer" in assigned.detail
    _unassigned(world, request, engineer)


def test_r30_a_clerk_deactivated_meanwhile_has_their_command_refused() -> None:
    world = make_world()
    clerk = world.desk.register_actor(world.boss, name="temp clerk", roles={Role.CLERK}).id
    request = world.registered()
    assigned, deactivated = interleave(world, assign(clerk, request, world.engineers[0]),
                                       deactivate(world.boss, clerk))
    assert deactivated.ok
    assert assigned.kind == "NotAuthorized" and "not active" in assigned.detail, assigned
    assert world.store.requests[request].state == RequestState.REGISTERED


def test_r30_two_threads_assigning_an_engineer_being_deactivated_never_assign_an_inactive_one() -> None:  # noqa: E501
    world = make_world()
    cases = [(world.engineer(), world.registered()) for _ in range(ROUNDS)]
    outcomes = race(world, [(assign(world.clerks[0], r, e), deactivate(world.boss, e))
                            for e, r in cases], ordered=True)
    for (engineer, request), (assigned, deactivated) in zip(cases, outcomes, strict=True):
        assert deactivated.ok, deactivated
        assert assigned.kind == "ValidationError", assigned
        _unassigned(world, request, engineer)


def test_r30_two_threads_racing_assign_and_deactivate_end_in_a_serial_outcome() -> None:
    """Free race (both read, then both commit): either the assignment came first (both
    succeed) or the deactivation did (the assignment is refused); never anything else."""
    world = make_world()
    cases = [(world.engineer(), world.registered()) for _ in range(ROUNDS)]
    outcomes = race(world, [(assign(world.clerks[0], r, e), deactivate(world.boss, e))
                            for e, r in cases])
    for (engineer, request), (assigned, deactivated) in zip(cases, outcomes, strict=True):
        assert deactivated.ok, deactivated
        if assigned.ok:
            with world.store.unit_of_work() as uow:
                found = uow.requests.get(request)
                assert found.engineer_id == engineer
                actor = uow.actors.get(engineer)
            # the assignment was committed first: its event precedes the deactivation's
            names = [e.name for e in world.store.events
                     if e.aggregate_id in (request, engineer)]
            assert names.index("EngineerAssigned") < names.index("ActorDeactivated")
            assert not actor.active
        else:
            assert assigned.kind == "ValidationError", assigned
            _unassigned(world, request, engineer)
