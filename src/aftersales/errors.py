"""The one exception hierarchy of ``aftersales``.

Every error a caller can provoke with bad input is a subclass of :class:`AftersalesError`.
Messages name the entity, its state and the attempted action, so a log line is enough to
understand what was refused. A refused command never changes state, records or events.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AftersalesError",
    "ConcurrencyConflict",
    "ConfigurationError",
    "GuardFailed",
    "IdempotencyConflict",
    "InvalidTransition",
    "NotAuthorized",
    "NotFound",
    "StorageError",
    "ValidationError",
    "WorkflowDefinitionError",
]


class AftersalesError(Exception):
    """Base class of every error raised on purpose by ``aftersales``."""


class ValidationError(AftersalesError, ValueError):
    """A field is missing or malformed (a value the domain cannot accept)."""

    def __init__(self, entity: str, field: str, problem: str) -> None:
        self.entity = entity
        self.field = field
        self.problem = problem
        super().__init__(f"{entity}: invalid {field}: {problem}")


class NotFound(AftersalesError, LookupError):
    """No entity of that kind with that id exists."""

    def __init__(self, entity: str, key: Any) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key} not found")


class InvalidTransition(AftersalesError):
    """The action is not possible from the entity's current state.

    ``reasons`` names every missing precondition (the states the action needs, the business
    rules that do not hold now) and ``codes`` the same as stable identifiers (``"state"``,
    or the guard's name).
    """

    def __init__(
        self, entity: str, entity_id: Any, state: str, action: str,
        reasons: tuple[str, ...] = (), codes: tuple[str, ...] = (),
    ) -> None:
        self.entity = entity
        self.entity_id = entity_id
        self.state = state
        self.action = action
        self.reasons = tuple(reasons)
        self.codes = tuple(codes)
        message = f"{entity} {entity_id} is {state}: cannot {action}"
        if self.reasons:
            message += ": " + "; ".join(self.reasons)
        super().__init__(message)


class GuardFailed(InvalidTransition):
    """The transition exists but a business rule refuses it now (``reason`` says which)."""

    def __init__(
        self, entity: str, entity_id: Any, state: str, action: str, reason: str,
        codes: tuple[str, ...] = ("guard",),
    ) -> None:
        self.reason = reason
        super().__init__(entity, entity_id, state, action, (reason,), tuple(codes))


class NotAuthorized(AftersalesError, PermissionError):
    """The acting user lacks the role (or the relation to the entity) the action needs (R30)."""

    def __init__(
        self, actor: str, action: str, entity: str, entity_id: Any, state: str | None, why: str
    ) -> None:
        self.actor = actor
        self.action = action
        self.entity = entity
        self.entity_id = entity_id
        self.state = state
        self.why = why
        where = f"{entity} {entity_id}" + (f" ({state})" if state else "")
        super().__init__(f"{actor} may not {action} on {where}: {why}")


class ConcurrencyConflict(AftersalesError):
    """Another writer changed the entity since it was read (optimistic concurrency), or the
    caller's ``expected_version`` is not the stored one.

    ``retryable`` is True when running the same command again may succeed unchanged (the
    service layer does so a bounded number of times); False when the command's outcome would
    now differ (e.g. an assignment that would become a reassignment) and the caller must
    decide again.
    """

    def __init__(
        self, entity: str, entity_id: Any, expected_version: int,
        actual_version: int | None = None, *, retryable: bool = True, why: str = "",
    ) -> None:
        self.entity = entity
        self.entity_id = entity_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        self.retryable = retryable
        found = f", found {actual_version}" if actual_version is not None else ""
        super().__init__(
            f"{entity} {entity_id} was changed by another writer "
            f"(expected version {expected_version}{found})"
            + (f": {why}" if why else "") + "; retry the command"
        )


class IdempotencyConflict(AftersalesError):
    """An idempotency key was used before by the same actor for the same command with other
    arguments: the first result stands, this command was not run."""

    def __init__(self, command: str, key: str) -> None:
        self.command = command
        self.key = key
        super().__init__(
            f"idempotency key {key!r} was used for another {command} (other arguments); "
            "use a new key for a new command"
        )


class StorageError(AftersalesError):
    """Stored data cannot be read back faithfully (corrupt document, outdated schema, ...)."""


class ConfigurationError(AftersalesError):
    """A policy or adapter was configured inconsistently."""


class WorkflowDefinitionError(ConfigurationError):
    """A workflow definition fails the graph check; ``problems`` lists every reason."""

    def __init__(self, workflow: str, problems: list[str]) -> None:
        self.workflow = workflow
        self.problems = problems
        super().__init__(
            f"workflow {workflow!r} is not sound:\n" + "\n".join(f"- {p}" for p in problems)
        )
