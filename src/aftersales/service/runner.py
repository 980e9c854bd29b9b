"""The one command runner: every command of every context takes the same path.

    resolve the actor from the directory by id (inactive: refused)
    → idempotency: (actor, command, key) seen before? same arguments: the first result,
      after authorizing again; other arguments: IdempotencyConflict
    → load the target → check ``expected_version`` → authorize against what was loaded
    → run the step(s) → commit (versions and read set checked) → publish the events

A :class:`~aftersales.errors.ConcurrencyConflict` that is safe to retry makes the runner run
the whole command again (re-reading and re-checking everything), a bounded number of times with
jittered backoff; when the target's state changed meanwhile (the command would now mean
something else, e.g. an assignment become a reassignment) the conflict surfaces instead.

Handlers are data too: a :class:`Handler` pairs a command class with the function that loads
its target and the function that runs it. ``CommandRunner(handlers=...)`` takes any set of
them, the shipped ones and yours.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import attrs

from aftersales.domain.kernel import Aggregate, AggregateKind, Kinds
from aftersales.domain.priority import PriorityMatrix
from aftersales.domain.records import ACTORS, Actor
from aftersales.domain.repair import RepairPolicy
from aftersales.domain.warranty import WarrantyPolicy
from aftersales.errors import (
    ConcurrencyConflict,
    IdempotencyConflict,
    NotAuthorized,
    NotFound,
    ValidationError,
)
from aftersales.ports import (
    AuthorizationPolicy,
    Clock,
    EventPublisher,
    IdempotencyRecord,
    IdGenerator,
    UnitOfWork,
)
from aftersales.service.commands import Command, fingerprint, scope
from aftersales.workflows import WORKFLOWS, Workflow, using

__all__ = [
    "CommandRunner",
    "Context",
    "Handler",
    "NullPublisher",
    "Settings",
    "actor_id_of",
    "state_of",
]

C = TypeVar("C", bound=Command)
T = TypeVar("T")


class NullPublisher:
    """An EventPublisher that drops events (the default when nobody listens)."""

    def publish(self, events: object) -> None:
        """Do nothing."""


@attrs.frozen
class Settings:
    """The policies and workflows a desk runs commands with (every number is a default you
    may replace: R8 matrix, R20 warranty, R13-R16/R21-R23 repair policy, R30 authorization).
    ``workflows`` maps each workflow name to the :class:`~aftersales.workflows.Workflow` the
    steps use; an extended workflow registered here applies to this desk only."""

    authorization: AuthorizationPolicy
    priority_matrix: PriorityMatrix = attrs.field(factory=PriorityMatrix)
    warranty_policy: WarrantyPolicy = attrs.field(factory=WarrantyPolicy)
    repair_policy: RepairPolicy = attrs.field(factory=RepairPolicy)
    workflows: Mapping[str, Workflow] = attrs.field(factory=lambda: dict(WORKFLOWS))


class Context:
    """What a handler works with: the unit of work, the directory's actor, the time of this
    attempt, ids, the settings and the store's kinds."""

    def __init__(
        self, runner: CommandRunner, uow: UnitOfWork, actor: Actor, now: datetime,
        settings: Settings,
    ) -> None:
        self.runner = runner
        self.uow = uow
        self.actor = actor
        self.now = now
        self.settings = settings
        self.ids = runner.ids

    def new_id(self) -> UUID:
        """A fresh id."""
        return self.ids.new_id()

    def number(self, kind: AggregateKind[Any]) -> str:
        """A fresh number of a numbered kind (R7 service numbers, repair order numbers)."""
        assert kind.number_prefix is not None
        return self.ids.number(kind.number_prefix, self.now)

    def authorize(self, action: str, target: Aggregate | None) -> None:
        """R30: may the acting actor do ``action`` on ``target`` (as loaded)?"""
        kind = self.runner.kind_of(target) if target is not None else None
        self.settings.authorization.authorize(self.actor, action, target, kind)

    def workflow(self, name: str) -> Workflow:
        """The desk's workflow ``name`` (the shipped one unless the desk extends it)."""
        return self.settings.workflows[name]


@attrs.frozen
class Handler(Generic[C]):
    """How one command class runs.

    - ``target(ctx, command)`` loads the aggregate the command acts on (None for a command
      that creates one): the runner checks ``expected_version`` against it, authorizes the
      command against it and watches its ``outcome`` across retries;
    - ``run(ctx, command, target)`` performs the step(s) and returns the aggregate the
      caller gets back (and an idempotent retry returns again);
    - ``outcome(target)`` is what the command's meaning depends on (default: the target's
      ``state``): when a retry after a conflict sees another outcome than the first attempt
      did, the runner raises ConcurrencyConflict instead of running the command again (an
      assignment that would become a reassignment, a reassignment that would override
      another one).
    """

    command: type[C]
    run: Callable[[Context, C, Any], Aggregate]
    target: Callable[[Context, C], Aggregate] | None = None
    outcome: Callable[[Any], Any] | None = None


def state_of(target: Any) -> Any:
    """The default outcome of a command: its target's state."""
    return getattr(target, "state", None)


def actor_id_of(actor: Actor | UUID | object) -> UUID:
    """The id of ``actor`` (an :class:`Actor` or its id): the only thing taken from it."""
    if isinstance(actor, UUID):
        return actor
    found = getattr(actor, "id", None) if isinstance(actor, Actor) else None
    if not isinstance(found, UUID):
        raise ValidationError("command", "actor", "an Actor or an actor id is required")
    return found


class CommandRunner:
    """Runs commands: see the module documentation for the path every command takes.

    ``max_attempts`` bounds the retries of a conflicting command; ``backoff`` is the first
    pause between attempts (doubled each time, with jitter).
    """

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        *,
        clock: Clock,
        ids: IdGenerator,
        settings: Settings,
        handlers: Iterable[Handler[Any]],
        kinds: Kinds,
        publisher: EventPublisher | None = None,
        max_attempts: int = 4,
        backoff: float = 0.002,
    ) -> None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or (
            max_attempts < 1
        ):
            raise ValidationError("CommandRunner", "max_attempts", "must be at least 1")
        self.uow_factory = uow_factory
        self.clock = clock
        self.ids = ids
        self.settings = settings
        self.kinds = kinds
        self.publisher: EventPublisher = publisher or NullPublisher()
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.handlers: dict[type[Command], Handler[Any]] = {}
        self._random = random.Random()
        self._lock = threading.Lock()
        for handler in handlers:
            self.register(handler)

    def register(self, handler: Handler[Any]) -> None:
        """Add (or replace) the handler of a command class."""
        if not isinstance(handler, Handler) or not (
            isinstance(handler.command, type) and issubclass(handler.command, Command)
        ):
            raise ValidationError("CommandRunner", "handler", "must be a Handler of a Command")
        self.handlers[handler.command] = handler

    def kind_of(self, item: Aggregate) -> AggregateKind[Any]:
        """The declared kind of ``item``."""
        return self.kinds.of(item)

    # --- the directory ---------------------------------------------------------------------

    def resolve_actor(self, uow: UnitOfWork, actor_id: UUID, action: str) -> Actor:
        """The directory's actor with ``actor_id``; NotAuthorized if unknown or inactive."""
        try:
            actor = uow.peek(ACTORS, actor_id)
        except NotFound:
            raise NotAuthorized(str(actor_id), action, "directory", actor_id, None,
                                "no such actor in the directory") from None
        if not actor.active:
            raise NotAuthorized(actor.name, action, "directory", actor_id, actor.state,
                                "the actor is not active")
        return actor

    # --- commands ----------------------------------------------------------------------------

    def execute(self, command: Command, *, settings: Settings | None = None) -> Any:
        """Run ``command`` (see the module documentation); return the aggregate it produced
        or changed. Refusals raise :mod:`aftersales.errors` exceptions and change nothing."""
        if not isinstance(command, Command):
            raise ValidationError("command", "command", f"expected a Command, got "
                                  f"{type(command).__name__}")
        handler = self.handlers.get(type(command))
        if handler is None:
            raise ValidationError(type(command).__name__, "command",
                                  "this desk has no handler for it")
        if handler.target is None and command.expected_version is not None:
            raise ValidationError(type(command).__name__, "expected_version",
                                  "the command creates an aggregate: there is no version to "
                                  "expect")
        config = settings or self.settings
        observed: list[tuple[str, Any]] = []
        attempt = 1
        while True:
            try:
                result, events = self._attempt(command, handler, config, observed)
                break
            except ConcurrencyConflict as conflict:
                if not conflict.retryable or attempt >= self.max_attempts:
                    raise
                self._pause(attempt)
                attempt += 1
        if events:
            self.publisher.publish(events)
        return result

    def _pause(self, attempt: int) -> None:
        if self.backoff > 0:
            with self._lock:
                jitter = self._random.uniform(0.5, 1.5)
            time.sleep(self.backoff * (2 ** (attempt - 1)) * jitter)

    def _attempt(
        self, command: Command, handler: Handler[Any], config: Settings,
        observed: list[tuple[str, Any]],
    ) -> tuple[Any, list[Any]]:
        with self.uow_factory() as uow, using(config.workflows):
            actor = self.resolve_actor(uow, command.actor_id, command.name)
            ctx = Context(self, uow, actor, self.clock.now(), config)
            key_scope = scope(command) if command.idempotency_key is not None else None
            print_ = fingerprint(command) if key_scope is not None else ""
            if key_scope is not None:
                done = uow.idempotency.get(key_scope)
                if done is not None:
                    return self._repeat(ctx, command, handler, done, print_), []
            target = handler.target(ctx, command) if handler.target is not None else None
            if target is not None:
                self._check_target(command, handler, target, observed)
            ctx.authorize(command.name, target)
            result = handler.run(ctx, command, target)
            if key_scope is not None:
                uow.idempotency.put(IdempotencyRecord(
                    key_scope, print_, command.name, self.kind_of(result).table, result.id,
                    ctx.now,
                ))
            uow.commit()
            return result, uow.collect_new_events()

    def _check_target(
        self, command: Command, handler: Handler[Any], target: Aggregate,
        observed: list[tuple[str, Any]],
    ) -> None:
        kind = self.kind_of(target)
        if command.expected_version is not None and target.version != command.expected_version:
            raise ConcurrencyConflict(
                kind.entity, target.id, command.expected_version, target.version,
                retryable=False, why="the caller expected another version",
            )
        outcome = (handler.outcome or state_of)(target)
        if not observed:
            observed.append(("outcome", outcome))
        elif observed[0][1] != outcome:
            raise ConcurrencyConflict(
                kind.entity, target.id, target.version, target.version, retryable=False,
                why=f"another writer changed it from {observed[0][1]} to {outcome} meanwhile; "
                f"{command.name} would now mean something else",
            )

    def _repeat(
        self, ctx: Context, command: Command, handler: Handler[Any], done: IdempotencyRecord,
        print_: str,
    ) -> Aggregate:
        if done.fingerprint != print_:
            raise IdempotencyConflict(command.name, str(command.idempotency_key))
        target = handler.target(ctx, command) if handler.target is not None else None
        ctx.authorize(command.name, target)
        kind = self.kinds.by_table(done.kind)
        result: Aggregate = ctx.uow.repository(kind).get(done.aggregate_id)
        if result is not target:
            ctx.authorize("view", result)
        return result

    # --- queries -----------------------------------------------------------------------------

    def query(
        self, actor: Actor | UUID, action: str, read: Callable[[Context], T],
        *, settings: Settings | None = None,
    ) -> T:
        """Run a read-only ``read(ctx)`` as the directory's actor (``read`` authorizes what
        it returns with ``ctx.authorize``); nothing is written."""
        actor_id = actor_id_of(actor)
        with self.uow_factory() as uow:
            who = self.resolve_actor(uow, actor_id, action)
            config = settings or self.settings
            ctx = Context(self, uow, who, self.clock.now(), config)
            with using(config.workflows):
                return read(ctx)

