"""The small lifecycles of files and of the directory (R1, R2, R4, R9, R14, R28, R30).

A file (a customer, a unit of equipment, a service plan, a vendor, a catalogue part) is opened
``active`` and may be retired; an actor in the directory is ``active`` or ``inactive`` (may
act, may not) and is archived once gone for good. Every step is on the aggregate's record
(R9) and emits one event, like every other step of the library.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from aftersales.domain.kernel import Aggregate, AggregateEvent
from aftersales.domain.records import (
    Actor,
    ActorDeactivated,
    ActorReactivated,
    ActorRolesChanged,
    FileState,
)
from aftersales.domain.values import Role, check_text, require_aware
from aftersales.errors import ValidationError
from aftersales.workflows.core import Transition, Workflow, WorkflowDefinition, active

__all__ = [
    "DIRECTORY",
    "DIRECTORY_FLOW",
    "FILE",
    "FILE_FLOW",
    "RECORD_WORKFLOWS",
    "change_roles",
    "deactivate",
    "open_file",
    "reactivate",
]

E = TypeVar("E", bound=AggregateEvent)

FILE = WorkflowDefinition(
    name="file",
    description="R1/R2/R4/R14/R28 a file: opened active; retired when no longer used.",
    states=[FileState.ACTIVE, FileState.RETIRED],
    initial=FileState.ACTIVE,
    finals={FileState.RETIRED},
    transitions=[
        Transition("update", [FileState.ACTIVE], FileState.ACTIVE, rule="R9"),
        Transition("retire", [FileState.ACTIVE], FileState.RETIRED, rule="R9"),
    ],
)

DIRECTORY = WorkflowDefinition(
    name="directory",
    description="R30 an actor: active (may act) or inactive (may not); archived when gone.",
    states=[FileState.ACTIVE, FileState.INACTIVE, "archived"],
    initial=FileState.ACTIVE,
    finals={"archived"},
    transitions=[
        Transition("change_roles", [FileState.ACTIVE], FileState.ACTIVE, rule="R30"),
        Transition("deactivate", [FileState.ACTIVE], FileState.INACTIVE, rule="R30"),
        Transition("reactivate", [FileState.INACTIVE], FileState.ACTIVE, rule="R30"),
        Transition("archive", [FileState.INACTIVE], "archived", rule="R30"),
    ],
)

FILE_FLOW = Workflow(FILE, "file")
DIRECTORY_FLOW = Workflow(DIRECTORY, "Actor")

#: The record workflows by name.
RECORD_WORKFLOWS: dict[str, Workflow] = {w.name: w for w in (FILE_FLOW, DIRECTORY_FLOW)}


def open_file(
    item: Aggregate, event: type[E], *, actor_id: Any, at: datetime, note: str = "",
    workflow: Workflow = FILE_FLOW, **fields: Any,
) -> E:
    """R9: the first step of a new file (or directory entry): opened in the workflow's
    initial state, on the record, with its event."""
    require_aware(type(item).__name__, "at", at)
    workflow = active(workflow)
    if item.record or item.event_sequence:
        raise ValidationError(type(item).__name__, "record", "a new file has no record yet")
    item.record_step(
        at=at, actor_id=actor_id, workflow=workflow.name, subject_id=item.id, action="open",
        from_state=None, to_state=workflow.initial, note=note,
    )
    return item.emit(event, actor_id=actor_id, at=at, **fields)


def _step(actor: Actor, who: Actor, trigger: str, at: datetime, note: str) -> None:
    flow = active(DIRECTORY_FLOW)
    before, after = flow.fire(actor, trigger, actor.name)
    actor.record_step(
        at=at, actor_id=who.id, workflow=flow.name, subject_id=actor.id,
        action=trigger, from_state=before, to_state=after, note=note,
    )


def change_roles(actor: Actor, *, roles: Iterable[Role], by: Actor, at: datetime) -> None:
    """R30: give ``actor`` other roles."""
    require_aware("Actor", "at", at)
    new = frozenset(roles)
    if not new or not all(isinstance(r, Role) for r in new):
        raise ValidationError("Actor", "roles", "must be one or more Role values")
    if Role.CUSTOMER in new and actor.customer_id is None:
        raise ValidationError("Actor", "roles", "a customer actor names its customer")
    active(DIRECTORY_FLOW).check(actor, "change_roles", actor.name)
    _step(actor, by, "change_roles", at, ", ".join(sorted(r.value for r in new)))
    actor.roles = new
    actor.emit(ActorRolesChanged, actor_id=by.id, at=at, roles=new)


def deactivate(actor: Actor, *, reason: str, by: Actor, at: datetime) -> None:
    """R30: ``actor`` may no longer act; every later command of theirs is refused."""
    check_text("Actor", "reason", reason)
    require_aware("Actor", "at", at)
    _step(actor, by, "deactivate", at, reason)
    actor.emit(ActorDeactivated, actor_id=by.id, at=at, reason=reason)


def reactivate(actor: Actor, *, by: Actor, at: datetime, note: str = "") -> None:
    """R30: a deactivated actor may act again."""
    check_text("Actor", "note", note, required=False)
    require_aware("Actor", "at", at)
    _step(actor, by, "reactivate", at, note)
    actor.emit(ActorReactivated, actor_id=by.id, at=at)
