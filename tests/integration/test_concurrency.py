"""Issue 8 (4): cross-aggregate invariants hold under concurrency on every SQL engine.

Every test runs on a SQLite file, on PostgreSQL at READ COMMITTED and at SERIALIZABLE, and on
MariaDB (at its default, REPEATABLE READ). Two kinds of tests:

- *interleaved* (deterministic): command A loads, authorizes and runs its step; at the moment
  it commits, command B runs to the end on a second connection (two units of work open at
  once), then A writes. That is exactly the window of a lost update or a write skew, every
  time, so the outcome is known: A loses and the runner tells it the right thing (or, for
  one idempotency key, A gets B's result).
- *raced*: two processes run their commands for several rounds, released together by a
  barrier and held at a second barrier once both have read, so their transactions always
  overlap; the database decides who commits first, the invariant must hold either way.

The invariants: a request is never cancelled while its unit is at the depot (R13: receiving
moves the request to ``at_depot`` in the same transaction); a unit never has two open repair
orders (R13: a unique key); a request assigned twice at once is assigned once, the loser told
with ``ConcurrencyConflict`` (R11, R9 record); one idempotency key used by two processes gives
both the first result and one request (R7); a guard's read of another aggregate is
version-checked at commit, so nobody is assigned an engineer deactivated meanwhile (R30).
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from uuid import UUID

import attrs
import pytest
import sqlalchemy as sa

from aftersales import (
    DataHandling,
    DepotState,
    Intake,
    ManualClock,
    RandomIds,
    RepairDesk,
    RequestState,
    Role,
    ServiceDesk,
    enroll_first_supervisor,
)
from aftersales.adapters.sql import SqlStore, create_engine, upgrade
from aftersales.errors import AftersalesError, ConcurrencyConflict
from aftersales.ports import UnitOfWork

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
INTAKE = Intake(appearance="scratched lid", configuration="16 GB / 512 GB",
                accessories=("charger",), data_handling=DataHandling.KEEP_OLD_DISK)
#: How long a process waits for the other at a barrier before the round counts as broken.
WAIT_SECONDS = 20.0
#: Rounds per raced test (each round is one real race between the two processes).
ROUNDS = 4

STORAGES = ("sqlite", "postgres-read-committed", "postgres-serializable", "mariadb")
ISOLATION = {"postgres-read-committed": "READ COMMITTED",
             "postgres-serializable": "SERIALIZABLE"}
#: The environment variables of the servers (those of tests/integration/conftest.py).
SERVER_URLS = {"postgres": "AFTERSALES_TEST_POSTGRES_URL",
               "mariadb": "AFTERSALES_TEST_MARIADB_URL"}


@pytest.fixture(scope="module", params=STORAGES)
def storage(request: pytest.FixtureRequest) -> str:
    """Each storage in turn: an engine, and for PostgreSQL an isolation level."""
    name: str = request.param
    return name


@contextmanager
def private_database(kind: str, directory: Path, **options: Any) -> Iterator[sa.Engine]:
    """An engine on a new, empty database of ``kind`` (a file, a PostgreSQL schema or a
    MariaDB database on the conftest's servers), dropped on exit."""
    name = f"aftersales_{uuid.uuid4().hex[:12]}"
    if kind == "sqlite":
        engine = create_engine(directory / f"{name}.db", **options)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    url = sa.make_url(os.environ[SERVER_URLS[kind]])
    if kind == "postgres":
        create, drop = f'CREATE SCHEMA "{name}"', f'DROP SCHEMA "{name}" CASCADE'
        options["connect_args"] = {"options": f"-csearch_path={name}"}
    else:
        create = f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        drop = f"DROP DATABASE `{name}`"
        url = url.set(database=name)
    admin = sa.create_engine(os.environ[SERVER_URLS[kind]], poolclass=sa.NullPool,
                             isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(create)
        engine = create_engine(url, **options)
        try:
            yield engine
        finally:
            engine.dispose()
            with admin.connect() as conn:
                conn.exec_driver_sql(drop)
    finally:
        admin.dispose()


@pytest.fixture(scope="module")
def db(
    storage: str, require_server: Callable[[str], None],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[sa.Engine]:
    """The module's own database of the storage, migrated to head, at the storage's
    isolation level (each test makes its own units, requests and customers in it)."""
    kind = storage.partition("-")[0]
    require_server(kind)  # skip, or fail under CI, without a server
    level = ISOLATION.get(storage)
    options = {"isolation_level": level} if level else {}
    with private_database(kind, tmp_path_factory.mktemp("concurrency"), **options) as engine:
        upgrade(engine)
        if level is not None:
            with engine.connect() as conn:
                shown = conn.exec_driver_sql("SHOW transaction_isolation").scalar()
            assert str(shown).upper() == level
        yield engine


# --- outcomes ------------------------------------------------------------------------------


class Outcome(NamedTuple):
    """What one command came to: ``ok`` (with the id it returned) or the error class, with
    ``final`` for a ConcurrencyConflict the runner would not retry."""

    kind: str
    detail: str

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


FINAL_CONFLICT = "ConcurrencyConflict(final)"


def attempt(run: Callable[[], object]) -> Outcome:
    """Run ``run``; an :mod:`aftersales.errors` refusal becomes an Outcome (anything else is
    a bug and propagates)."""
    try:
        result = run()
    except ConcurrencyConflict as conflict:
        kind = "ConcurrencyConflict" + ("" if conflict.retryable else "(final)")
        return Outcome(kind, str(conflict))
    except AftersalesError as error:
        return Outcome(type(error).__name__, str(error))
    return Outcome("ok", str(getattr(result, "id", result)))


# --- the world -----------------------------------------------------------------------------

Op = Callable[[ServiceDesk], object]


@attrs.frozen
class World:
    """A directory (a supervisor, two clerks, two engineers) and a customer on one store."""

    store: SqlStore
    desk: ServiceDesk
    boss: UUID
    clerks: tuple[UUID, UUID]
    engineers: tuple[UUID, UUID]
    customer: UUID

    def desk_on(self, factory: Callable[[], UnitOfWork]) -> ServiceDesk:
        """Another desk on the same database whose units of work come from ``factory``."""
        return ServiceDesk(factory, clock=ManualClock(T0), ids=RandomIds())

    def engineer(self) -> UUID:
        """A new engineer."""
        return self.desk.register_actor(self.boss, name=f"engineer {_tag()}",
                                        roles={Role.ENGINEER}).id

    def new_customer(self) -> UUID:
        """A new customer."""
        return self.desk.register_customer(self.clerks[0], name=f"customer {_tag()}").id

    def unit(self) -> UUID:
        """A new unit of the customer."""
        return self.desk.register_equipment(self.clerks[0], serial=f"SN-{_tag()}", model="T14",
                                            owner_id=self.customer).id

    def registered(self) -> UUID:
        """A new request, registered (nobody assigned)."""
        return self.desk.register_request(self.clerks[0], customer_id=self.customer,
                                          summary="no power").id

    def handed_to_depot(self, unit: UUID) -> UUID:
        """A new request for ``unit``, handed to the depot (R11 → R13)."""
        desk, clerk, engineer = self.desk, self.clerks[0], self.engineers[0]
        request = desk.register_request(clerk, customer_id=self.customer, equipment_id=unit,
                                        summary="no power")
        desk.assign(clerk, request.id, engineer_id=engineer)
        desk.start_remote(engineer, request.id)
        desk.hand_to_depot(engineer, request.id, reason="hardware fault")
        return request.id


def _tag() -> str:
    return uuid.uuid4().hex[:10]


def make_world(engine: sa.Engine) -> World:
    clock = ManualClock(T0)
    store = SqlStore(engine, clock=clock)
    boss = enroll_first_supervisor(store.unit_of_work, actor_id=uuid.uuid4(), name="boss",
                                   at=T0)
    desk = ServiceDesk(store.unit_of_work, clock=clock, ids=RandomIds())
    clerks = tuple(desk.register_actor(boss.id, name=f"clerk {n}", roles={Role.CLERK}).id
                   for n in (1, 2))
    engineers = tuple(desk.register_actor(boss.id, name=f"engineer {n}",
                                          roles={Role.ENGINEER}).id for n in (1, 2))
    customer = desk.register_customer(clerks[0], name="北京华信科技有限公司").id
    return World(store, desk, boss.id, (clerks[0], clerks[1]),
                 (engineers[0], engineers[1]), customer)


@pytest.fixture(scope="module")
def world(db: sa.Engine) -> World:
    """A directory and a customer on the module's database of the storage."""
    return make_world(db)


# --- the commands raced --------------------------------------------------------------------


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


# --- interleaving: B runs to the end inside A's commit ---------------------------------------


class Interleaved:
    """The unit-of-work factory of command A: when A's first unit of work commits (A has
    read, authorized and run its step; nothing is written yet) it first runs ``between``
    (command B) to the end on its own connection, then writes."""

    def __init__(self, factory: Callable[[], UnitOfWork], between: Callable[[], object]) -> None:
        self._factory = factory
        self._between: Callable[[], object] | None = between
        self.other: Outcome | None = None

    def __call__(self) -> UnitOfWork:
        uow = self._factory()
        between, self._between = self._between, None
        if between is not None:
            commit = uow.commit

            def commit_after_the_other() -> None:
                self.other = attempt(between)
                commit()

            uow.commit = commit_after_the_other  # type: ignore[method-assign]
        return uow


def interleave(world: World, first: Op, second: Op) -> tuple[Outcome, Outcome]:
    """Run ``first`` with ``second`` committed inside first's commit; both outcomes."""
    factory = Interleaved(world.store.unit_of_work, lambda: second(world.desk))
    outcome = attempt(lambda: first(world.desk_on(factory)))
    assert factory.other is not None, f"the first command never reached its commit: {outcome}"
    return outcome, factory.other


# --- racing: two processes, two barriers -------------------------------------------------------


class _AtCommit:
    """The unit-of-work factory of one contestant in one round: its first unit of work calls
    ``hook`` when it commits (after reading and deciding, before writing)."""

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


@attrs.frozen
class _Sync:
    start: Any  # multiprocessing barrier: both begin the round together
    read: Any  # multiprocessing barrier: both have read before either writes
    first_read: Sequence[Any]  # ordered races: per round, contestant 0 has read
    second_done: Sequence[Any]  # ordered races: per round, contestant 1 has committed
    ordered: bool


def _contestant(side: int, world: World, ops: Sequence[Op], sync: _Sync, results: Any) -> None:
    try:
        world.store.engine.dispose(close=False)  # the parent's pooled connections stay its own
        for number, op in enumerate(ops):
            sync.start.wait(WAIT_SECONDS)
            if sync.ordered and side == 1 and not sync.first_read[number].wait(WAIT_SECONDS):
                raise TimeoutError("contestant 0 never reached its commit")
            hook: Callable[[], None]
            if not sync.ordered:
                def hook() -> None:
                    sync.read.wait(WAIT_SECONDS)
            elif side == 0:
                def hook(number: int = number) -> None:
                    sync.first_read[number].set()
                    sync.second_done[number].wait(WAIT_SECONDS)
            else:
                def hook() -> None:
                    return None
            desk = world.desk_on(_AtCommit(world.store.unit_of_work, hook))
            outcome = attempt(lambda op=op, desk=desk: op(desk))  # type: ignore[misc]
            if sync.ordered and side == 1:
                sync.second_done[number].set()
            results.put((side, number, outcome.kind, outcome.detail))
    except BaseException:  # report it to the parent; a broken barrier ends the race
        results.put((side, -1, "crash", traceback.format_exc()))
        for barrier in (sync.start, sync.read):
            barrier.abort()


def race(
    world: World, rounds: Sequence[tuple[Op, Op]], *, ordered: bool = False
) -> list[tuple[Outcome, Outcome]]:
    """Run each round's two commands in two processes at once; their outcomes per round.

    Both processes start a round together and, unless ``ordered``, wait for each other
    once both have read (so the transactions overlap). ``ordered``: contestant 0 reads, then
    contestant 1 runs to the end, then contestant 0 commits.
    """
    mp = multiprocessing.get_context("fork")
    sync = _Sync(mp.Barrier(2), mp.Barrier(2), [mp.Event() for _ in rounds],
                 [mp.Event() for _ in rounds], ordered)
    results = mp.Queue()
    processes = [
        mp.Process(target=_contestant, args=(side, world, [r[side] for r in rounds], sync,
                                             results), daemon=True)
        for side in (0, 1)
    ]
    for process in processes:
        process.start()
    found: dict[tuple[int, int], Outcome] = {}
    crashes: list[str] = []
    try:
        while len(found) < 2 * len(rounds) and len(crashes) < 2:
            side, number, kind, detail = results.get(timeout=WAIT_SECONDS * 3)
            if number < 0:
                crashes.append(detail)
            else:
                found[side, number] = Outcome(kind, detail)
    finally:
        for process in processes:
            process.join(WAIT_SECONDS)
            if process.is_alive():
                process.kill()
    assert not crashes, "a contestant crashed:\n" + "\n".join(crashes)
    assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]
    return [(found[0, n], found[1, n]) for n in range(len(rounds))]


def one_winner(first: Outcome, second: Outcome) -> tuple[int, Outcome]:
    """The side that won (exactly one must have) and the loser's outcome."""
    assert [first.ok, second.ok].count(True) == 1, (first, second)
    return (0, second) if first.ok else (1, first)


# --- R13: a request is never cancelled while its unit is at the depot ------------------------


def _assert_cancelled_without_an_order(world: World, request: UUID, unit: UUID) -> None:
    with world.store.unit_of_work() as uow:
        assert uow.requests.get(request).state == RequestState.CANCELLED
        assert uow.repairs.find(equipment_id=unit) == []


def _assert_at_depot_with_one_open_order(world: World, request: UUID, unit: UUID) -> None:
    with world.store.unit_of_work() as uow:
        assert uow.requests.get(request).state == RequestState.AT_DEPOT
        orders = uow.repairs.find(equipment_id=unit)
        assert [o.request_id for o in orders] == [request]
        assert orders[0].state == DepotState.INTAKE


def test_r13_a_cancel_committed_while_the_unit_is_received_makes_the_receipt_fail(
    world: World,
) -> None:
    unit = world.unit()
    request = world.handed_to_depot(unit)
    received, cancelled = interleave(world, receive(world.clerks[0], request),
                                     cancel(world.clerks[1], request))
    assert cancelled.ok
    assert received.kind == FINAL_CONFLICT, received
    _assert_cancelled_without_an_order(world, request, unit)


def test_r13_a_receipt_committed_while_the_request_is_cancelled_makes_the_cancel_fail(
    world: World,
) -> None:
    unit = world.unit()
    request = world.handed_to_depot(unit)
    cancelled, received = interleave(world, cancel(world.clerks[1], request),
                                     receive(world.clerks[0], request))
    assert received.ok
    assert cancelled.kind == FINAL_CONFLICT, cancelled
    _assert_at_depot_with_one_open_order(world, request, unit)


def test_r13_two_processes_cancelling_and_receiving_one_request_never_leave_it_cancelled_with_an_open_order(  # noqa: E501
    world: World,
) -> None:
    cases = [(unit, world.handed_to_depot(unit)) for unit in (world.unit() for _ in range(ROUNDS))]
    outcomes = race(world, [(receive(world.clerks[0], r), cancel(world.clerks[1], r))
                            for _, r in cases])
    for (unit, request), (received, cancelled) in zip(cases, outcomes, strict=True):
        winner, loser = one_winner(received, cancelled)
        assert loser.kind == FINAL_CONFLICT, loser
        if winner == 0:
            _assert_at_depot_with_one_open_order(world, request, unit)
        else:
            _assert_cancelled_without_an_order(world, request, unit)


# --- R13: never two open repair orders for one unit ----------------------------------------------


def _assert_one_open_order(world: World, unit: UUID, winner: UUID, loser: UUID) -> None:
    with world.store.unit_of_work() as uow:
        orders = uow.repairs.find(equipment_id=unit)
        assert [o.request_id for o in orders] == [winner]
        assert uow.repairs.get_by("open_equipment_id", unit).id == orders[0].id
        assert uow.requests.get(winner).state == RequestState.AT_DEPOT
        assert uow.requests.get(loser).state == RequestState.HANDED_TO_DEPOT


def test_r13_a_unit_received_through_another_request_meanwhile_is_not_received_twice(
    world: World,
) -> None:
    unit = world.unit()
    first, second = world.handed_to_depot(unit), world.handed_to_depot(unit)
    late, early = interleave(world, receive(world.clerks[0], first),
                             receive(world.clerks[1], second))
    assert early.ok
    assert late.kind == "GuardFailed" and "R13" in late.detail, late
    _assert_one_open_order(world, unit, winner=second, loser=first)


def test_r13_two_processes_receiving_one_unit_through_two_requests_open_one_order(
    world: World,
) -> None:
    cases = []
    for _ in range(ROUNDS):
        unit = world.unit()
        cases.append((unit, world.handed_to_depot(unit), world.handed_to_depot(unit)))
    outcomes = race(world, [(receive(world.clerks[0], a), receive(world.clerks[1], b))
                            for _, a, b in cases])
    for (unit, a, b), pair in zip(cases, outcomes, strict=True):
        winner, loser = one_winner(*pair)
        assert loser.kind == "GuardFailed" and "R13" in loser.detail, loser
        requests = (a, b) if winner == 0 else (b, a)
        _assert_one_open_order(world, unit, *requests)


# --- R11/R9: two clerks assigning one request at once ------------------------------------------


def _assert_assigned_once(world: World, request: UUID, engineer: UUID) -> None:
    with world.store.unit_of_work() as uow:
        found = uow.requests.get(request)
        assert found.state == RequestState.ASSIGNED
        assert found.engineer_id == engineer
        assert [e.action for e in found.record].count("assign") == 1
        assert [e.note for e in found.record if e.action == "assign"] == [str(engineer)]


def test_r11_an_assignment_committed_meanwhile_makes_the_other_a_conflict_not_a_reassignment(
    world: World,
) -> None:
    request = world.registered()
    late, early = interleave(world, assign(world.clerks[0], request, world.engineers[0]),
                             assign(world.clerks[1], request, world.engineers[1]))
    assert early.ok
    assert late.kind == FINAL_CONFLICT and "assign" in late.detail, late
    _assert_assigned_once(world, request, world.engineers[1])


def test_r11_two_processes_assigning_one_request_leave_one_assignment_and_tell_the_loser(
    world: World,
) -> None:
    requests = [world.registered() for _ in range(ROUNDS)]
    e0, e1 = world.engineers
    outcomes = race(world, [(assign(world.clerks[0], r, e0), assign(world.clerks[1], r, e1))
                            for r in requests])
    for request, pair in zip(requests, outcomes, strict=True):
        winner, loser = one_winner(*pair)
        assert loser.kind == FINAL_CONFLICT, loser
        _assert_assigned_once(world, request, world.engineers[winner])


# --- R7: one idempotency key, two processes -------------------------------------------------------


def _assert_one_request(world: World, customer: UUID, request_id: str) -> None:
    with world.store.unit_of_work() as uow:
        assert [str(r.id) for r in uow.requests.find(customer_id=customer)] == [request_id]


def test_r7_a_key_recorded_meanwhile_returns_the_first_request_instead_of_a_second(
    world: World,
) -> None:
    customer = world.new_customer()
    late, early = interleave(world, register(world.clerks[0], customer, "call-0815"),
                             register(world.clerks[0], customer, "call-0815"))
    assert early.ok and late.ok
    assert late.detail == early.detail
    _assert_one_request(world, customer, early.detail)


def test_r7_two_processes_sending_one_key_both_get_the_first_request(world: World) -> None:
    customers = [world.new_customer() for _ in range(ROUNDS)]
    clerk = world.clerks[0]
    outcomes = race(world, [(register(clerk, c, f"call-{n}"), register(clerk, c, f"call-{n}"))
                            for n, c in enumerate(customers)])
    for customer, (first, second) in zip(customers, outcomes, strict=True):
        assert first.ok and second.ok, (first, second)
        assert first.detail == second.detail
        _assert_one_request(world, customer, first.detail)


# --- R30: a guard's read of another aggregate is checked at commit -------------------------------


def _assert_unassigned(world: World, request: UUID, engineer: UUID) -> None:
    with world.store.unit_of_work() as uow:
        found = uow.requests.get(request)
        assert found.state == RequestState.REGISTERED and found.engineer_id is None
        assert "assign" not in [e.action for e in found.record]
        assert not uow.actors.get(engineer).active


def test_r30_an_engineer_deactivated_meanwhile_is_not_assigned(world: World) -> None:
    engineer, request = world.engineer(), world.registered()
    assigned, deactivated = interleave(world, assign(world.clerks[0], request, engineer),
                                       deactivate(world.boss, engineer))
    assert deactivated.ok
    assert assigned.kind == "ValidationError" and "not an active engineer" in assigned.detail
    _assert_unassigned(world, request, engineer)


def test_r30_a_clerk_deactivated_meanwhile_has_their_command_refused(world: World) -> None:
    clerk = world.desk.register_actor(world.boss, name="temp clerk", roles={Role.CLERK}).id
    request = world.registered()
    assigned, deactivated = interleave(world, assign(clerk, request, world.engineers[0]),
                                       deactivate(world.boss, clerk))
    assert deactivated.ok
    assert assigned.kind == "NotAuthorized" and "not active" in assigned.detail, assigned
    with world.store.unit_of_work() as uow:
        assert uow.requests.get(request).state == RequestState.REGISTERED


def test_r30_two_processes_assigning_an_engineer_being_deactivated_never_assign_an_inactive_one(
    world: World,
) -> None:
    cases = [(world.engineer(), world.registered()) for _ in range(ROUNDS)]
    outcomes = race(world, [(assign(world.clerks[0], r, e), deactivate(world.boss, e))
                            for e, r in cases], ordered=True)
    for (engineer, request), (assigned, deactivated) in zip(cases, outcomes, strict=True):
        assert deactivated.ok, deactivated
        assert assigned.kind == "ValidationError", assigned
        _assert_unassigned(world, request, engineer)

