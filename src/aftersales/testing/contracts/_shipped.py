"""What the shipped kinds' examples share: the staff who act, minimal referenced records and
the walk along a workflow path. Private."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar
from uuid import UUID

from aftersales.domain.kernel import Aggregate
from aftersales.domain.records import ACTORS, CUSTOMERS, EQUIPMENT, Actor, Customer, Equipment
from aftersales.domain.values import Role
from aftersales.errors import AftersalesError
from aftersales.ports import UnitOfWork
from aftersales.testing.contracts.kind import ensure

STAFF = frozenset({Role.CLERK, Role.ENGINEER, Role.SUPERVISOR})
CLERK = Actor(UUID("00000000-0000-4000-8000-000000000001"), "文员 clerk", frozenset({Role.CLERK}))
ENGINEER = Actor(UUID("00000000-0000-4000-8000-000000000002"), "维修工程师 engineer",
                 frozenset({Role.ENGINEER}))
SUPERVISOR = Actor(UUID("00000000-0000-4000-8000-000000000003"), "主管 supervisor",
                   frozenset({Role.SUPERVISOR}))

T = TypeVar("T")


def refer_customers(uow: UnitOfWork, customer_ids: Iterable[UUID | None]) -> None:
    """Store a minimal customer file for each id not stored yet."""
    for customer_id in sorted({c for c in customer_ids if c is not None}):
        ensure(uow, CUSTOMERS, customer_id, lambda i: Customer(i, "参考客户 reference customer"))


def refer_equipment(uow: UnitOfWork, units: Mapping[UUID, UUID | None]) -> None:
    """Store a minimal equipment file for each unit id (owner id as value) not stored yet."""
    refer_customers(uow, units.values())
    for unit_id, owner in sorted(units.items(), key=lambda pair: pair[0]):
        ensure(uow, EQUIPMENT, unit_id,
               lambda i, o=owner: Equipment(i, f"S-{i.hex}", "参考型号 X1", o))


def refer_actors(uow: UnitOfWork, actor_ids: Iterable[UUID | None]) -> None:
    """Store a staff member for each actor id not stored yet."""
    for actor_id in sorted({a for a in actor_ids if a is not None}):
        ensure(uow, ACTORS, actor_id, lambda i: Actor(i, "参考人员 staff", STAFF))


def recorded_actors(items: Iterable[Aggregate]) -> set[UUID]:
    """Everyone who appears in the records of ``items``."""
    return {entry.actor_id for item in items for entry in item.record}


# --- walking a workflow path -----------------------------------------------------------------

#: A step: apply to the subject with the drawn arguments (raising AftersalesError if the
#: workflow refuses it now).
Action = Callable[[T, Any], Any]


def expand(path: Sequence[str], repeats: Callable[[], int]) -> list[str]:
    """``path`` with each ``name*`` step repeated ``repeats()`` times."""
    planned: list[str] = []
    for step in path:
        planned.extend([step.rstrip("*")] * (repeats() if step.endswith("*") else 1))
    return planned


def possible(action: Action[T], subject: T, args: Any, copy: Callable[[T], T]) -> bool:
    """True if ``action`` is accepted now (tried on a copy)."""
    try:
        action(copy(subject), args)
    except AftersalesError:
        return False
    return True


def walk(
    subject: T, planned: Sequence[str], actions: Mapping[str, Action[T]],
    args: Callable[[int], Any], copy: Callable[[T], T],
) -> list[tuple[str, Any]]:
    """Take each planned step that the workflow accepts (skipping the others), with
    ``args(index)``; the steps taken."""
    done: list[tuple[str, Any]] = []
    for index, name in enumerate(planned):
        step_args = args(index)
        if possible(actions[name], subject, step_args, copy):
            actions[name](subject, step_args)
            done.append((name, step_args))
    return done


def first_possible(
    subject: T, order: Sequence[str], actions: Mapping[str, Action[T]], args: Any,
    copy: Callable[[T], T],
) -> bool:
    """Take the first step of ``order`` the workflow accepts now; False if none."""
    for name in order:
        if possible(actions[name], subject, args, copy):
            actions[name](subject, args)
            return True
    return False
