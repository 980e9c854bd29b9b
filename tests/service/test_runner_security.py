"""Regressions of issue 8 on the path every command shares (the one runner), on memory.

Each test is one finding of the issue, named after its rule, and fails on the code before the
redesign (cb13201): there the idempotency key was a bare string checked before authorization,
the acting ``Actor`` object was trusted as passed in, approvals were id arguments, there was no
``expected_version``, a conflicting assignment was silently re-run as a reassignment, the
warranty query looked at no owner, any engineer could move any order's parts, suppliers and
fees were not checked and a refused ``close`` named only its first reason.

The world is :class:`aftersales.testing.fuzz.FuzzWorld` (staff of every role, two customers, a
fresh target in the needed state for each command) and "every public command" is every typed
method of the :class:`~aftersales.ServiceDesk` and the :class:`~aftersales.RepairDesk`
(:func:`~aftersales.testing.fuzz.typed_methods`): a method added later is covered too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs
import pytest

from aftersales import ManualClock, SequentialIds, in_memory_desk
from aftersales.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from aftersales.commands import ApplyDiscount, Command, RegisterRequest, Route
from aftersales.domain import Actor, Channel, Money, Role
from aftersales.domain.request import RequestState
from aftersales.errors import (
    AftersalesError,
    ConcurrencyConflict,
    IdempotencyConflict,
    InvalidTransition,
    NotAuthorized,
    ValidationError,
)
from aftersales.service import DEFAULT_PERMISSIONS, RepairDesk, ServiceDesk
from aftersales.testing.fuzz import (
    QUERIES,
    SHIPPED_BASES,
    FuzzWorld,
    memory_snapshot,
    typed_call,
    typed_methods,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BOSS = Actor(UUID(int=10_000), "Zhang Supervisor", {Role.SUPERVISOR})


@attrs.define
class Env:
    desk: ServiceDesk
    store: InMemoryStore
    world: FuzzWorld

    @property
    def repairs(self) -> RepairDesk:
        return self.world.repairs

    def command_class(self, name: str) -> type[Command]:
        return next(c for c in self.desk.handlers if c.name == name)

    def base(self, name: str) -> Command:
        """A valid command ``name`` on a fresh target of its own."""
        return SHIPPED_BASES[self.command_class(name)](self.world)

    def desk_of(self, name: str) -> object:
        return self.desk if name in typed_methods(self.desk) else self.repairs

    def call(self, name: str, base: Command, actor: Any) -> Callable[[], object]:
        """The typed method ``name`` called with ``base``'s arguments as ``actor``."""
        return typed_call(self.desk_of(name), base, actor)

    def as_actor(self, name: str, actor: Any, base: Command | None = None
                 ) -> Callable[[], object]:
        """The typed method (or query) ``name`` as ``actor`` (on a fresh target)."""
        if name in QUERIES:
            query = QUERIES[name]
            return lambda: query(self.world, actor)
        return self.call(name, base or self.base(name), actor)

    def every_public_method(self) -> list[str]:
        return sorted(set(typed_methods(self.desk)) | set(typed_methods(self.repairs)))

    @contextmanager
    def unchanged(self) -> Iterator[None]:
        before = memory_snapshot(self.store)
        yield
        assert memory_snapshot(self.store) == before, "a refused command changed the store"


@pytest.fixture
def env() -> Env:
    desk, store = in_memory_desk(supervisor=BOSS, clock=ManualClock(T0, step=timedelta(seconds=1)),
                                 ids=SequentialIds())
    return Env(desk, store, FuzzWorld(desk, BOSS))


def refusals(env: Env, calls: dict[str, Callable[[], object]],
             expected: type[AftersalesError] = NotAuthorized) -> list[str]:
    """Run each call; return what was not refused with ``expected`` or changed the store."""
    wrong: list[str] = []
    for name, call in calls.items():
        before = memory_snapshot(env.store)
        try:
            call()
        except expected:
            pass
        except Exception as error:  # reported with its name
            wrong.append(f"{name}: {type(error).__name__}: {error}")
        else:
            wrong.append(f"{name}: accepted")
        if memory_snapshot(env.store) != before:
            wrong.append(f"{name}: changed the store")
    return wrong


# --- idempotency (R30, R9, R7) ---------------------------------------------------------------


def test_r30_a_repeated_key_of_another_customer_is_refused_not_answered_with_the_stored_result(
    env: Env,
) -> None:
    """Before: a used key returned the stored aggregate before authorization, so a customer
    of another company read any request by sending it."""
    w = env.world
    rid = w.request("resolved")
    confirmed = env.desk.confirm(w.contact, rid, note="fine", idempotency_key="k-confirm")
    assert confirmed.state == RequestState.CONFIRMED
    with env.unchanged(), pytest.raises(NotAuthorized, match="their own"):
        env.desk.confirm(w.stranger, rid, note="fine", idempotency_key="k-confirm")


def test_r30_a_repeated_key_is_authorized_again_before_the_first_result_is_returned(
    env: Env,
) -> None:
    w = env.world
    first = env.desk.register_request(w.clerk, customer_id=w.customer, summary="jam",
                                      idempotency_key="k-register")
    env.desk.change_roles(BOSS, w.clerk, roles={Role.ENGINEER})  # no longer registers
    with env.unchanged(), pytest.raises(NotAuthorized, match="register_request"):
        env.desk.register_request(w.clerk, customer_id=w.customer, summary="jam",
                                  idempotency_key="k-register")
    env.desk.change_roles(BOSS, w.clerk, roles={Role.CLERK})
    again = env.desk.register_request(w.clerk, customer_id=w.customer, summary="jam",
                                      idempotency_key="k-register")
    assert again.id == first.id


def test_r9_a_used_key_of_another_actor_or_another_command_runs_and_leaves_its_record(
    env: Env,
) -> None:
    """Before: the key was a bare string, so another command (or another clerk) under a used
    key silently did nothing and looked successful, with no record of the step."""
    w = env.world
    first = env.desk.register_request(w.clerk, customer_id=w.customer, summary="jam",
                                      idempotency_key="k")
    other_clerk = w.actor("Other Clerk", Role.CLERK)
    second = env.desk.register_request(other_clerk, customer_id=w.customer, summary="jam",
                                       idempotency_key="k")
    assert second.id != first.id and second.number != first.number
    routed = env.desk.route(w.clerk, first.id, department="printers", idempotency_key="k")
    assert routed.state == RequestState.ROUTED
    assert [e.action for e in env.store.requests[first.id].record] == ["register", "route"]


def test_r9_the_same_key_with_other_arguments_is_an_idempotency_conflict_and_changes_nothing(
    env: Env,
) -> None:
    w = env.world
    rid = w.request("registered")
    env.desk.route(w.clerk, rid, department="printers", idempotency_key="k-route")
    with env.unchanged(), pytest.raises(IdempotencyConflict, match="k-route"):
        env.desk.route(w.clerk, rid, department="servers", idempotency_key="k-route")
    assert env.store.requests[rid].department == "printers"


def test_r7_the_same_key_and_arguments_return_the_first_request_and_register_nothing(
    env: Env,
) -> None:
    w = env.world
    first = env.desk.register_request(w.clerk, customer_id=w.customer, summary="jam",
                                      idempotency_key="k-once")
    with env.unchanged():
        again = env.desk.register_request(w.clerk, customer_id=w.customer, summary="jam",
                                          idempotency_key="k-once")
    assert (again.id, again.number, again.version) == (first.id, first.number, first.version)


# --- the directory (R30) ---------------------------------------------------------------------


def test_r30_an_actor_object_that_is_not_in_the_directory_is_refused_by_every_public_command(
    env: Env,
) -> None:
    """Before: 73 of 89 commands accepted an actor that was not in the directory."""
    impostors = [
        Actor(UUID(int=2**100), "Impostor", {Role.SUPERVISOR, Role.CLERK, Role.ENGINEER,
                                             Role.CUSTOMER_REP}),
        Actor(UUID(int=2**100 + 1), BOSS.name, {Role.SUPERVISOR}),  # the boss's name
    ]
    wrong: list[str] = []
    names = env.every_public_method()
    for name in names:
        base = None if name in QUERIES else env.base(name)
        for index, impostor in enumerate(impostors):
            wrong.extend(refusals(env, {f"{name}/{index}": env.as_actor(name, impostor, base)}))
    assert wrong == []
    assert len(names) > 90


def test_r30_roles_are_the_directorys_not_the_ones_an_actor_object_claims(env: Env) -> None:
    """An Actor object with the clerk's id claiming SUPERVISOR is judged as the clerk, by
    every supervisor-only command; the same commands run as the real supervisor."""
    w = env.world
    inflated = Actor(w.clerk, "Fuzz Clerk", {Role.SUPERVISOR, Role.CLERK})
    only_supervisor = sorted(name for name, p in DEFAULT_PERMISSIONS.items()
                             if p.roles == {Role.SUPERVISOR})
    assert {"apply_discount", "register_actor", "deactivate_actor", "approve_dispatch",
            "open_stock_location"} <= set(only_supervisor)
    bases = {name: env.base(name) for name in only_supervisor}
    calls = {name: env.call(name, base, inflated) for name, base in bases.items()}
    assert refusals(env, calls) == []
    for name, base in bases.items():  # the directory's supervisor may
        env.call(name, base, BOSS.id)()
    humble = Actor(BOSS.id, BOSS.name, {Role.CLERK})  # understating does not matter either
    assert env.desk.register_actor(humble, name="New Clerk", roles={Role.CLERK}).active


def test_r30_a_deactivated_actor_is_refused_everywhere_and_reactivation_restores(
    env: Env,
) -> None:
    w = env.world
    deputy = env.desk.register_actor(BOSS, name="Deputy Supervisor", roles={Role.SUPERVISOR})
    wrong: list[str] = []
    names = env.every_public_method()
    for name in names:
        if name in QUERIES:
            actor_id, call = w.clerk, env.as_actor(name, w.clerk)
        else:
            base = env.base(name)
            actor_id, call = base.actor_id, env.as_actor(name, base.actor_id, base)
        env.desk.deactivate_actor(deputy, actor_id, reason="suspended")
        wrong.extend(refusals(env, {name: call}))
        env.desk.reactivate_actor(deputy, actor_id, note="back")
        call()  # the same command or query works again once reactivated
    assert wrong == []
    assert len(names) > 90


def test_r30_a_deactivated_engineer_cannot_be_assigned(env: Env) -> None:
    w = env.world
    rid = w.request("registered")
    env.desk.deactivate_actor(BOSS, w.engineer2, reason="left")
    with env.unchanged(), pytest.raises(ValidationError, match="not an active engineer"):
        env.desk.assign(w.clerk, rid, engineer_id=w.engineer2)


def test_r22_only_a_supervisor_runs_apply_discount_and_no_argument_names_an_approver(
    env: Env,
) -> None:
    """Before: a clerk granted a discount by passing a supervisor's id as ``authorized_by``
    (supervisor ids are in every record entry)."""
    w = env.world
    assert {a.name for a in attrs.fields(ApplyDiscount)} == {
        "actor_id", "idempotency_key", "expected_version", "order_id", "amount", "reason"}
    base = env.base("apply_discount")
    order = env.store.repairs[base.order_id]  # type: ignore[attr-defined]
    assert order.engineer_id == w.engineer and order.customer_id == w.customer
    calls = {role: env.call("apply_discount", base, actor) for role, actor in (
        ("clerk", w.clerk), ("rep", w.rep), ("the order's engineer", w.engineer),
        ("the order's customer", w.contact))}
    assert refusals(env, calls) == []
    with pytest.raises(TypeError):
        env.repairs.apply_discount(w.clerk, order.id, amount=w.money(50), reason="x",
                                   authorized_by=BOSS.id)  # type: ignore[call-arg]
    discounted = env.repairs.apply_discount(BOSS, order.id, amount=w.money(50), reason="loyal")
    assert discounted.discount is not None
    assert (discounted.discount.authorized_by, discounted.discount.authorized_by_name) == (
        BOSS.id, BOSS.name)


# --- versions and races (R30 one path, R11 assignment, R7 one registration) ----------------


@pytest.mark.parametrize("name", ["route", "sign_intake", "choose_vendor", "receive_stock",
                                  "change_roles"])
def test_r30_an_expected_version_that_is_not_the_stored_one_is_a_final_conflict(
    env: Env, name: str,
) -> None:
    base = env.base(name)
    cls = type(base)
    handler = env.desk.handlers[cls]
    assert handler.target is not None
    stale = attrs.evolve(base, expected_version=0)
    with env.unchanged(), pytest.raises(ConcurrencyConflict) as conflict:
        env.desk.execute(stale)
    assert conflict.value.retryable is False
    assert conflict.value.expected_version == 0 and conflict.value.actual_version not in (0, None)
    current = attrs.evolve(base, expected_version=conflict.value.actual_version)
    env.desk.execute(current)  # the stored version runs


class Racing:
    """A unit-of-work factory whose first ``commit`` first lets ``other`` commit (another
    process winning a race between this one's read and its write)."""

    def __init__(self, store: InMemoryStore, other: Callable[[], object]) -> None:
        self.store = store
        self.other: Callable[[], object] | None = other
        self.attempts = 0

    def __call__(self) -> InMemoryUnitOfWork:
        uow = self.store.unit_of_work()
        self.attempts += 1
        commit = uow.commit

        def racing_commit() -> None:
            if self.other is not None:
                other, self.other = self.other, None
                other()
            commit()

        uow.commit = racing_commit  # type: ignore[method-assign]
        return uow


def racing_desk(env: Env, racing: Racing) -> ServiceDesk:
    return ServiceDesk(racing, clock=env.desk.clock, ids=env.desk.ids, kinds=env.store.kinds)


def test_r11_two_clerks_assigning_at_once_the_loser_gets_a_conflict_and_one_assignment_stands(
    env: Env,
) -> None:
    """Before: with the default retries the loser's command was silently re-run as a
    reassignment and the record held two assignments."""
    w = env.world
    rid = w.request("registered")
    other_clerk = w.actor("Other Clerk", Role.CLERK)
    racing = Racing(env.store, lambda: env.desk.assign(other_clerk, rid,
                                                       engineer_id=w.engineer2))
    loser = racing_desk(env, racing)
    with pytest.raises(ConcurrencyConflict) as conflict:
        loser.assign(w.clerk, rid, engineer_id=w.engineer)
    assert conflict.value.retryable is False and "would now mean something else" in str(
        conflict.value)
    assert racing.attempts == 2  # it re-read everything once, then gave up
    request = env.store.requests[rid]
    assert request.engineer_id == w.engineer2
    assert [e.action for e in request.record].count("assign") == 1


def test_r11_a_conflict_whose_retry_sees_the_same_state_is_retried_and_succeeds(
    env: Env,
) -> None:
    w = env.world
    rid = w.request("remote")
    racing = Racing(env.store, lambda: env.desk.record_contact(
        w.engineer, rid, channel=Channel.EMAIL, summary="mailed the log"))
    retried = racing_desk(env, racing).record_contact(w.engineer, rid, channel=Channel.PHONE,
                                                      summary="called")
    assert racing.attempts == 2
    assert [c.summary for c in retried.current_job.contacts] == [  # type: ignore[union-attr]
        "mailed the log", "called"]


def test_r7_two_processes_racing_with_one_key_the_loser_gets_the_first_request(
    env: Env,
) -> None:
    """Before (PostgreSQL): the loser got ``ValidationError("... already used")``."""
    w = env.world

    def register(desk: ServiceDesk) -> Any:
        return desk.register_request(w.clerk, customer_id=w.customer, summary="jam",
                                     idempotency_key="k-race")

    won: list[Any] = []
    racing = Racing(env.store, lambda: won.append(register(env.desk)))
    lost = register(racing_desk(env, racing))
    assert lost.id == won[0].id and lost.number == won[0].number
    assert [r.id for r in env.store.requests.values() if r.summary == "jam"] == [lost.id]


# --- what is authorized against what was loaded (R20, R13, R28) --------------------------


def test_r20_a_customer_cannot_read_the_warranty_of_another_customers_unit(env: Env) -> None:
    w = env.world
    assert env.desk.warranty(w.contact, w.unit_id).in_warranty
    with env.unchanged(), pytest.raises(NotAuthorized, match="their own"):
        env.desk.warranty(w.stranger, w.unit_id)


def test_r13_no_engineer_but_the_assigned_one_runs_a_technical_step(env: Env) -> None:
    """Every command whose permission is for the assigned engineer (requests, repair orders,
    outsourced repairs, their parts), run by another engineer, is refused."""
    w = env.world
    assigned_only = sorted(name for name, p in DEFAULT_PERMISSIONS.items()
                           if p.assigned_only and Role.ENGINEER in p.roles)
    assert {"diagnose", "start_repair", "fit_part", "finish_repair", "record_qc",
            "release_parts", "issue_part", "reinspect", "start_remote"} <= set(assigned_only)
    calls = {}
    for name in assigned_only:
        base = env.base(name)
        assert base.actor_id != w.engineer2
        calls[name] = env.call(name, base, w.engineer2)
    assert refusals(env, calls) == []


def test_r28_an_engineer_cannot_release_another_orders_reservation(env: Env) -> None:
    """Before: any engineer could release any order's reservation."""
    w = env.world
    order_id, reservation = w.reservation()
    env.repairs.assign_repair_engineer(w.clerk, order_id, engineer_id=w.engineer)
    mine = w.order("repairing")
    env.repairs.assign_repair_engineer(w.clerk, mine, engineer_id=w.engineer2)
    with env.unchanged(), pytest.raises(NotAuthorized, match="assigned engineer"):
        env.repairs.release_parts(w.engineer2, w.warehouse, reservation_id=reservation)
    stock = env.repairs.release_parts(w.engineer, w.warehouse, reservation_id=reservation)
    assert not stock.reservations[reservation].open
    assert env.store.repairs[order_id].parts_reserved.get(w.sku, 0) == 0


@pytest.mark.parametrize("supplier", ["a customer", "an engineer", "an unknown id"])
def test_r28_goods_receipt_and_dead_on_arrival_refuse_a_supplier_that_is_not_a_vendor(
    env: Env, supplier: str,
) -> None:
    w = env.world
    wrong = {"a customer": w.customer, "an engineer": w.engineer,
             "an unknown id": UUID(int=424242)}[supplier]
    _, issued = w.reservation(issued=True)
    with env.unchanged():
        with pytest.raises(ValidationError, match="not a vendor"):
            env.repairs.receive_stock(w.clerk, w.warehouse, sku=w.sku, quantity=1,
                                      supplier_id=wrong)
        with pytest.raises(ValidationError, match="not a vendor"):
            env.repairs.report_dead_on_arrival(w.engineer, w.warehouse, reservation_id=issued,
                                               supplier_id=wrong)
    env.repairs.receive_stock(w.clerk, w.warehouse, sku=w.sku, quantity=1,
                              supplier_id=w.vendors[1])
    stock = env.repairs.report_dead_on_arrival(w.engineer, w.warehouse, reservation_id=issued,
                                               supplier_id=w.vendors[1])
    assert stock.doa[-1].supplier_id == w.vendors[1]


# --- values and refusals (R12/R3, R10) ------------------------------------------------------


def test_r12_the_service_report_refuses_a_negative_fee(env: Env) -> None:
    w = env.world
    rid = w.request("on_site")
    with env.unchanged(), pytest.raises(ValidationError, match=r"fee.*negative"):
        env.desk.sign_off(w.engineer, rid, found="worn fuser", result="ok", signed_by="Mr Fuzz",
                          fee=Money(Decimal("-80"), "CNY"))
    request = env.desk.sign_off(w.engineer, rid, found="worn fuser", result="ok",
                                signed_by="Mr Fuzz", fee=Money(Decimal("80"), "CNY"))
    assert request.current_job.report.fee == Money(Decimal("80"), "CNY")  # type: ignore[union-attr]


def test_r10_a_refused_close_names_every_missing_precondition(env: Env) -> None:
    """Before: "is resolved: cannot close", hiding that an emergency dispatch still lacked
    its approval (R12)."""
    w = env.world
    rid = w.request("emergency")
    env.desk.record_arrival(w.engineer, rid)
    env.desk.sign_off(w.engineer, rid, found="f", result="ok", signed_by="Mr Fuzz")
    env.desk.resolve(w.engineer, rid, resolution="fixed")
    with env.unchanged(), pytest.raises(InvalidTransition) as refused:
        env.desk.close(w.clerk, rid)
    error = refused.value
    assert error.codes == ("state", "onsite_approvals_recorded")
    assert "needs state confirmed" in error.reasons[0]
    assert "emergency on-site dispatch still lacks its supervisor's approval" in error.reasons[1]
    assert all(reason in str(error) for reason in error.reasons)
    env.desk.confirm(w.contact, rid)
    with pytest.raises(InvalidTransition) as still:
        env.desk.close(w.clerk, rid)
    assert still.value.codes == ("onsite_approvals_recorded",)
    env.desk.retro_approve(BOSS, rid)
    assert env.desk.close(w.clerk, rid).state == RequestState.CLOSED


def test_r30_commands_built_by_hand_take_the_same_path(env: Env) -> None:
    """The typed methods are thin wrappers: a command built by hand is authorized the same
    way (here: the contact of a customer may not register a request, nor route one)."""
    w = env.world
    rid = w.request("registered")
    with env.unchanged():
        with pytest.raises(NotAuthorized):
            env.desk.execute(RegisterRequest(actor_id=w.contact, customer_id=w.customer,
                                             summary="jam"))
        with pytest.raises(NotAuthorized):
            env.desk.execute(Route(actor_id=w.contact, request_id=rid, department="x"))
    assert env.desk.execute(Route(actor_id=w.clerk, request_id=rid, department="x")).state == (
        RequestState.ROUTED)
