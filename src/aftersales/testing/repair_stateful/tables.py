"""What the repair desk machine works from: who may issue a command
(:data:`REPAIR_ACTOR_KEYS`), the parts it stocks, the record actions that count as a
repair step, the stock commands, and the snapshot a refused command must leave unchanged.

Part of :mod:`aftersales.testing.repair_stateful`: import from there.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from uuid import UUID

import attrs

from aftersales.domain.values import Role
from aftersales.testing import repair_strategies as rst
from aftersales.testing.repair_oracle import STOCK_TARGETED

__all__ = ["REPAIR_ACTOR_KEYS"]

#: Who may issue a command in the machine: keys of :meth:`RepairDeskStateMachine.actor_for`.
REPAIR_ACTOR_KEYS: tuple[str, ...] = (
    "clerk", "engineer", "other_engineer", "supervisor", "customer_rep", "customer",
    "other_customer",
)

_CHINA = timezone(timedelta(hours=8))
_SKUS = ("VR-1", "SSD-1")
_ROLE_KEY = {
    Role.CLERK: "clerk", Role.ENGINEER: "engineer", Role.SUPERVISOR: "supervisor",
    Role.CUSTOMER_REP: "customer_rep", Role.CUSTOMER: "customer",
}
#: Record actions that count as a repair step (a later QC must pass before delivery).
_REPAIR_STEPS = frozenset({
    "start_repair", "record_repair_work", "fit_part", "resume_repair", "finish_repair",
    "rework", "receive_from_vendor",
})
_STOCK_COMMANDS = (*rst.PARTS_COMMANDS, "receive_stock")
assert set(_STOCK_COMMANDS) == STOCK_TARGETED


@attrs.frozen
class _Snapshot:
    """What a refused command must leave untouched: every committed aggregate (identity and
    version), the committed events and the idempotency keys."""

    aggregates: dict[tuple[str, UUID], tuple[int, int]]
    events: int
    keys: int
