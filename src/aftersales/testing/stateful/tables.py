"""What the service desk machine works from: who may issue a command (:data:`ACTOR_KEYS`),
the commands (:data:`DESK_COMMANDS`), their text arguments and workflow triggers, and
the small records it keeps (a snapshot of the store, a command sent with a key).

Part of :mod:`aftersales.testing.stateful`: import from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import attrs

from aftersales.domain.records import Actor
from aftersales.testing import strategies

__all__ = ["ACTOR_KEYS", "DESK_COMMANDS"]

#: Who may issue a command in the machine: keys of :meth:`ServiceDeskStateMachine.actor_for`.
ACTOR_KEYS: tuple[str, ...] = (
    "clerk", "assigned_engineer", "other_engineer", "supervisor", "customer_rep", "customer",
    "other_customer",
)

#: The request steps a :class:`ServiceDesk` offers as commands (the depot's own steps,
#: ``depot_intake`` and ``complete_depot``, are the repair desk's).
DESK_COMMANDS: tuple[str, ...] = tuple(
    c for c in strategies.STEP_NAMES if c not in ("depot_intake", "complete_depot")
)

_CHINA = timezone(timedelta(hours=8))
_ENDINGS = frozenset({"cancel", "reject"})
#: Required text arguments of each command and their longest length.
_TEXT_ARGUMENTS: Mapping[str, tuple[tuple[str, int], ...]] = {
    "route": (("department", 200),), "reject": (("reason", 10_000),),
    "cancel": (("reason", 10_000),), "record_contact": (("summary", 10_000),),
    "escalate_onsite": (("reason", 10_000),), "hand_to_depot": (("reason", 10_000),),
    "dispatch_emergency": (("reason", 10_000),), "record_work": (("description", 10_000),),
    "call_consultation": (("reason", 10_000),), "plan_revisit": (("plan", 10_000),),
    "reschedule": (("reason", 10_000),), "resolve": (("resolution", 10_000),),
    "reopen": (("reason", 10_000),),
    "sign_off": (("found", 10_000), ("result", 10_000), ("signed_by", 200)),
}
_NOTE_ARGUMENTS = frozenset({"confirm_need", "prepare", "confirm"})
#: The on-site workflow trigger each on-site command fires on the active on-site job.
_ONSITE_TRIGGER: Mapping[str, str] = {
    "confirm_need": "confirm_need", "approve_dispatch": "approve",
    "dispatch_emergency": "dispatch_emergency", "prepare": "prepare", "depart": "depart",
    "record_arrival": "arrive", "record_work": "record_work", "sign_off": "sign_off",
    "call_consultation": "call_consultation", "plan_revisit": "plan_revisit",
    "reschedule": "reschedule",
}
#: The request workflow trigger of the commands that fire only it.
_REQUEST_TRIGGER: Mapping[str, str] = {
    "route": "route", "assign": "assign", "reject": "reject", "start_remote": "start",
    "start_onsite": "start", "retro_approve": "retro_approve", "confirm": "confirm",
    "reopen": "reopen", "close": "close",
}


@attrs.frozen
class _Snapshot:
    """What a refused command must leave untouched: every committed aggregate (identity and
    version), the committed events and the idempotency keys."""

    aggregates: dict[tuple[str, UUID], tuple[int, int]]
    events: int
    last_event: object
    keys: int


@attrs.frozen
class _Sent:
    """A command the machine issued with an idempotency key (to repeat it)."""

    command: str
    actor: Actor
    request_id: UUID
    arguments: dict[str, Any]
    key: str


def _canonical(value: Any) -> Any:
    """Arguments as the desk's fingerprint sees them: instants with their offsets."""
    if isinstance(value, datetime):
        return ("instant", value.isoformat())
    if isinstance(value, dict):
        return tuple(sorted((k, _canonical(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(_canonical(v) for v in value)
    return repr(value)
