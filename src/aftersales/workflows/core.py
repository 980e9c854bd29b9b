"""Workflows as data: definitions, the graph check, Mermaid rendering and the shared machine.

A :class:`WorkflowDefinition` lists states and transitions as plain data. From it we build
exactly one module-level :class:`transitions.Machine` per workflow kind (``model=None``,
``auto_transitions=False``); entities are triggered through it without ever being added to it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import attrs
from transitions import Machine

from aftersales.domain.kernel import verify_chain
from aftersales.errors import (
    ConfigurationError,
    GuardFailed,
    InvalidTransition,
    ValidationError,
    WorkflowDefinitionError,
)

__all__ = [
    "Guard",
    "MustPassThrough",
    "RequiresCondition",
    "Transition",
    "Workflow",
    "WorkflowDefinition",
    "active",
    "check_workflow",
    "replay_record",
    "using",
    "verify_workflow",
]


def _strs(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def _guarantees(values: Iterable[Guarantee]) -> tuple[Guarantee, ...]:
    return tuple(values)


def _transitions(values: Iterable[Transition]) -> tuple[Transition, ...]:
    return tuple(values)


def _str_set(values: Iterable[str]) -> frozenset[str]:
    return frozenset(str(v) for v in values)


@attrs.frozen
class Transition:
    """One transition: ``trigger`` moves an entity from any of ``sources`` to ``dest``.

    ``conditions`` name boolean attributes (or methods) of the entity that must all be true.
    """

    trigger: str
    sources: tuple[str, ...] = attrs.field(converter=_strs)
    dest: str = attrs.field(converter=str)
    conditions: tuple[str, ...] = attrs.field(default=(), converter=_strs)
    rule: str = ""  # DOMAIN.md rule number(s) this transition implements


@attrs.frozen
class MustPassThrough:
    """Guarantee: every path from the initial state to ``target`` visits one of ``via``."""

    target: str = attrs.field(converter=str)
    via: tuple[str, ...] = attrs.field(converter=_strs)
    rule: str = ""


@attrs.frozen
class RequiresCondition:
    """Guarantee: every transition into ``target`` is guarded by ``condition``."""

    target: str = attrs.field(converter=str)
    condition: str
    rule: str = ""


Guarantee = MustPassThrough | RequiresCondition


@attrs.frozen
class WorkflowDefinition:
    """A workflow as data: it can be listed, checked (:func:`check_workflow`) and drawn."""

    name: str
    states: tuple[str, ...] = attrs.field(converter=_strs)
    initial: str = attrs.field(converter=str)
    finals: frozenset[str] = attrs.field(converter=_str_set)
    transitions: tuple[Transition, ...] = attrs.field(converter=_transitions)
    guarantees: tuple[Guarantee, ...] = attrs.field(default=(), converter=_guarantees)
    condition_reasons: Mapping[str, str] = attrs.field(factory=dict)
    description: str = ""

    def extend(
        self,
        *,
        name: str | None = None,
        states: Iterable[str] = (),
        transitions: Iterable[Transition] = (),
        finals: Iterable[str] = (),
        guarantees: Iterable[Guarantee] = (),
        conditions: Mapping[str, Iterable[str]] | None = None,
        condition_reasons: Mapping[str, str] | None = None,
        remove: Iterable[tuple[str, str]] = (),
        description: str | None = None,
    ) -> WorkflowDefinition:
        """A new definition: this one with more ``states``, ``transitions``, ``finals`` and
        ``guarantees``; ``conditions`` adds guards to every transition of a trigger
        (``{"approve": ["second_approval"]}``); ``remove`` drops the ``(trigger, source)``
        edges given. Check the result with :func:`check_workflow` (a :class:`Workflow`
        refuses it otherwise)."""
        extra = {k: tuple(v) for k, v in (conditions or {}).items()}
        dropped = set(remove)
        kept: list[Transition] = []
        for t in self.transitions:
            sources = tuple(s for s in t.sources if (t.trigger, s) not in dropped)
            if not sources:
                continue
            more = tuple(c for c in extra.get(t.trigger, ()) if c not in t.conditions)
            kept.append(attrs.evolve(t, sources=sources, conditions=(*t.conditions, *more)))
        added = [
            attrs.evolve(t, conditions=(
                *t.conditions, *(c for c in extra.get(t.trigger, ()) if c not in t.conditions)
            ))
            for t in transitions
        ]
        return WorkflowDefinition(
            name=name or self.name,
            states=(*self.states, *(s for s in states if s not in self.states)),
            initial=self.initial,
            finals=self.finals | frozenset(finals),
            transitions=(*kept, *added),
            guarantees=(*self.guarantees, *guarantees),
            condition_reasons={**self.condition_reasons, **(condition_reasons or {})},
            description=self.description if description is None else description,
        )

    def triggers(self) -> list[str]:
        """Every trigger name, in declaration order, without repeats."""
        return list(dict.fromkeys(t.trigger for t in self.transitions))

    def edges(self) -> list[tuple[str, str, Transition]]:
        """``(source, dest, transition)`` for every source of every transition."""
        return [(s, t.dest, t) for t in self.transitions for s in t.sources]

    def to_mermaid(self) -> str:
        """A Mermaid ``stateDiagram-v2`` of this workflow (guards shown in brackets)."""
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        for source, dest, t in self.edges():
            label = t.trigger + (f" [{', '.join(t.conditions)}]" if t.conditions else "")
            lines.append(f"    {source} --> {dest}: {label}")
        lines.extend(f"    {final} --> [*]" for final in sorted(self.finals))
        return "\n".join(lines) + "\n"

    def to_table(self) -> list[tuple[str, str, str, str]]:
        """Rows of (trigger, from, to, conditions) for listing."""
        return [(t.trigger, s, d, ", ".join(t.conditions)) for s, d, t in self.edges()]


def _successors(definition: WorkflowDefinition) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {s: set() for s in definition.states}
    for source, dest, _ in definition.edges():
        graph.setdefault(source, set()).add(dest)
    return graph


def _reachable(graph: Mapping[str, Iterable[str]], start: str, blocked: set[str]) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in graph.get(queue.popleft(), ()):
            if nxt not in seen and nxt not in blocked:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def check_workflow(definition: WorkflowDefinition) -> list[str]:
    """Check a workflow definition as a graph; return every problem found (empty when sound).

    Checks: states and transitions name only known states; the initial state is known; no
    trigger is ambiguous from one state; every state is reachable from the initial one; every
    non-final state can reach a final one; final states have no way out; and every guarantee
    holds (a :class:`MustPassThrough` target cannot be reached while avoiding its ``via``
    states, and every transition into a :class:`RequiresCondition` target carries the guard).
    """
    problems: list[str] = []
    known = set(definition.states)
    if len(known) != len(definition.states):
        problems.append("a state is declared twice")
    if definition.initial not in known:
        problems.append(f"initial state {definition.initial!r} is not a declared state")
    for final in sorted(definition.finals - known):
        problems.append(f"final state {final!r} is not a declared state")
    seen_pairs: set[tuple[str, str]] = set()
    for source, dest, t in definition.edges():
        for name in (source, dest):
            if name not in known:
                problems.append(f"transition {t.trigger!r} names unknown state {name!r}")
        if (source, t.trigger) in seen_pairs:
            problems.append(f"trigger {t.trigger!r} is ambiguous from state {source!r}")
        seen_pairs.add((source, t.trigger))
        if source in definition.finals:
            problems.append(f"final state {source!r} has a way out ({t.trigger!r} to {dest!r})")
    if problems:
        return problems

    graph = _successors(definition)
    reachable = _reachable(graph, definition.initial, set())
    for state in definition.states:
        if state not in reachable:
            problems.append(f"state {state!r} is unreachable from {definition.initial!r}")
    if not definition.finals:
        problems.append("no final state")
    for state in definition.states:
        if state in definition.finals or state not in reachable:
            continue
        if not _reachable(graph, state, set()) & definition.finals:
            problems.append(f"state {state!r} cannot reach any final state")

    for g in definition.guarantees:
        tag = f" ({g.rule})" if g.rule else ""
        if g.target not in known:
            problems.append(f"guarantee{tag} names unknown state {g.target!r}")
            continue
        if isinstance(g, MustPassThrough):
            unknown = [v for v in g.via if v not in known]
            if unknown:
                problems.append(f"guarantee{tag} names unknown states {unknown}")
                continue
            if definition.initial in g.via:
                continue
            if g.target in _reachable(graph, definition.initial, set(g.via)):
                path = _path_avoiding(graph, definition.initial, g.target, set(g.via))
                problems.append(
                    f"{g.target!r} is reachable without passing {' or '.join(g.via)}{tag}: "
                    + " -> ".join(path)
                )
        else:
            for source, dest, t in definition.edges():
                if dest == g.target and source != g.target and g.condition not in t.conditions:
                    problems.append(
                        f"transition {t.trigger!r} from {source!r} enters {g.target!r} "
                        f"without the guard {g.condition!r}{tag}"
                    )
    return problems


def _path_avoiding(
    graph: Mapping[str, Iterable[str]], start: str, goal: str, blocked: set[str]
) -> list[str]:
    parent: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            break
        for nxt in sorted(graph.get(node, ())):
            if nxt not in parent and nxt not in blocked:
                parent[nxt] = node
                queue.append(nxt)
    path: list[str] = []
    cursor: str | None = goal
    while cursor is not None:
        path.append(cursor)
        cursor = parent.get(cursor)
    return path[::-1]


def verify_workflow(definition: WorkflowDefinition) -> WorkflowDefinition:
    """Return ``definition`` if sound, else raise WorkflowDefinitionError with every reason."""
    problems = check_workflow(definition)
    if problems:
        raise WorkflowDefinitionError(definition.name, problems)
    return definition


Guard = Callable[[Any, Any], bool]
"""A guard: ``guard(subject, aggregate) -> bool`` (the entity the transition moves and the
aggregate it belongs to, often the same object)."""


def _attribute_guard(name: str) -> Guard:
    def holds(subject: Any, _aggregate: Any) -> bool:
        try:
            value: Any = getattr(subject, name)
        except AttributeError:
            raise ConfigurationError(
                f"guard {name!r}: {type(subject).__name__} has no such attribute and the "
                "workflow was given no guard function of that name"
            ) from None
        if callable(value):
            value = value()
        return bool(value)

    holds.__name__ = name
    return holds


class Workflow:
    """A verified definition plus its single shared :class:`transitions.Machine`.

    Entities keep their state in ``state`` (a string: one of the definition's states); they
    are never added to the machine: :meth:`fire` triggers the machine's event on the entity
    directly. A condition named in a transition is looked up in ``guards`` (functions of
    ``(subject, aggregate)``), else read as a boolean attribute (or method) of the subject.
    """

    def __init__(
        self,
        definition: WorkflowDefinition,
        entity_name: str,
        guards: Mapping[str, Guard] | None = None,
    ) -> None:
        verify_workflow(definition)
        self.definition = definition
        self.entity_name = entity_name
        given = dict(guards or {})
        self.guards: dict[str, Guard] = {
            name: given.get(name) or _attribute_guard(name)
            for t in definition.transitions for name in t.conditions
        }
        unknown = sorted(set(given) - set(self.guards))
        if unknown:
            raise WorkflowDefinitionError(
                definition.name, [f"guard {name!r} is on no transition" for name in unknown]
            )
        self._allowed: dict[tuple[str, str], Transition] = {
            (s, t.trigger): t for s, _, t in definition.edges()
        }
        self._by_trigger: dict[str, list[Transition]] = {}
        for t in definition.transitions:
            self._by_trigger.setdefault(t.trigger, []).append(t)
        self.states: frozenset[str] = frozenset(definition.states)
        self.machine = Machine(
            model=None,
            states=list(definition.states),
            initial=definition.initial,
            transitions=[
                {
                    "trigger": t.trigger,
                    "source": list(t.sources),
                    "dest": t.dest,
                    "conditions": [self.guards[c] for c in t.conditions],
                }
                for t in definition.transitions
            ],
            auto_transitions=False,
            send_event=False,
        )
        self._events: dict[str, Any] = dict(self.machine.events)

    @property
    def name(self) -> str:
        """The workflow kind, e.g. ``"onsite"``."""
        return self.definition.name

    @property
    def initial(self) -> str:
        """The initial state."""
        return self.definition.initial

    def transition_for(self, state: str, trigger: str) -> Transition | None:
        """The transition ``trigger`` takes from ``state``, or None."""
        return self._allowed.get((state, trigger))

    def _reason(self, condition: str) -> str:
        return self.definition.condition_reasons.get(condition, f"{condition} does not hold")

    def refusal(
        self, entity: Any, trigger: str, entity_id: Any = None, aggregate: Any = None
    ) -> InvalidTransition | None:
        """Why ``trigger`` cannot fire on ``entity`` now (every missing precondition: the
        states it needs and the guards that fail), or None when it can."""
        state = str(entity.state)
        label = entity_id if entity_id is not None else entity.id
        action = trigger.replace("_", " ")
        whole = aggregate if aggregate is not None else entity
        t = self._allowed.get((state, trigger))
        if t is not None:
            failing = [c for c in t.conditions if not self.guards[c](entity, whole)]
            if not failing:
                return None
            return GuardFailed(
                self.entity_name, label, state, action,
                "; ".join(self._reason(c) for c in failing), codes=tuple(failing),
            )
        candidates = self._by_trigger.get(trigger, [])
        reasons: list[str] = []
        codes: list[str] = []
        if candidates:
            sources = sorted({s for c in candidates for s in c.sources})
            reasons.append(f"needs state {' or '.join(sources)}")
            codes.append("state")
            for c in candidates:
                for condition in c.conditions:
                    if condition in codes:
                        continue
                    try:
                        holds = self.guards[condition](entity, whole)
                    except Exception:  # a guard meant for another state may not apply here
                        continue
                    if not holds:
                        reasons.append(self._reason(condition))
                        codes.append(condition)
        else:
            reasons.append(f"{self.name} has no action {trigger!r}")
            codes.append("unknown_action")
        return InvalidTransition(
            self.entity_name, label, state, action, reasons=tuple(reasons), codes=tuple(codes)
        )

    def check(
        self, entity: Any, trigger: str, entity_id: Any = None, aggregate: Any = None
    ) -> Transition:
        """Raise InvalidTransition/GuardFailed unless ``trigger`` can fire on ``entity`` now."""
        refused = self.refusal(entity, trigger, entity_id, aggregate)
        if refused is not None:
            raise refused
        return self._allowed[(str(entity.state), trigger)]

    def fire(
        self, entity: Any, trigger: str, entity_id: Any = None, aggregate: Any = None
    ) -> tuple[str, str]:
        """Trigger ``trigger`` on ``entity``; return (from, to); a refusal changes nothing."""
        before = entity.state
        if not isinstance(before, str) or before not in self.states:
            raise ValidationError(
                self.entity_name, "state", f"{before!r} is not a state of {self.name}"
            )
        whole = aggregate if aggregate is not None else entity
        if (before, trigger) not in self._allowed or not self._events[trigger].trigger(
            entity, entity, whole
        ):
            self.check(entity, trigger, entity_id, aggregate)  # raises with every reason
            raise AssertionError("unreachable")  # pragma: no cover
        return str(before), str(entity.state)


def replay_record(
    record: Sequence[Any], subjects: Iterable[Any], flows: Mapping[str, Workflow]
) -> list[str]:
    """R9: replay a record of steps against the workflows; return every inconsistency.

    ``record`` holds :class:`~aftersales.domain.kernel.RecordEntry` values. The record must
    be intact (sequence numbers 1, 2, 3 ... and every digest chained to the one before:
    :func:`~aftersales.domain.kernel.verify_chain`); each subject's entries must start from
    nothing in its workflow's initial state, chain from-state to to-state, take only
    transitions its workflow defines, and end in the subject's current state.
    """
    problems: list[str] = verify_chain(record)
    last: dict[Any, str] = {}
    for index, entry in enumerate(record, start=1):
        flow = flows.get(entry.workflow)
        if flow is None:
            problems.append(f"entry {index} names unknown workflow {entry.workflow!r}")
            continue
        if entry.subject_id not in last:
            if entry.from_state is not None or entry.to_state != flow.definition.initial:
                problems.append(
                    f"entry {index} does not open {entry.subject_id} in its initial state"
                )
            last[entry.subject_id] = entry.to_state
            continue
        if entry.from_state != last[entry.subject_id]:
            problems.append(
                f"entry {index} starts from {entry.from_state!r}, but "
                f"{entry.subject_id} was {last[entry.subject_id]!r}"
            )
        t = flow.transition_for(str(entry.from_state), entry.action)
        if t is None or t.dest != entry.to_state:
            problems.append(
                f"entry {index}: {entry.action!r} from {entry.from_state!r} to "
                f"{entry.to_state!r} is not a {flow.name} transition"
            )
        last[entry.subject_id] = entry.to_state
    for subject in subjects:
        if last.get(subject.id) != str(subject.state):
            problems.append(
                f"record leaves {subject.id} in {last.get(subject.id)!r}, "
                f"but it is {str(subject.state)!r}"
            )
    return problems


#: The workflows of the desk whose command is running (None: the shipped ones).
_ACTIVE: ContextVar[Mapping[str, Workflow] | None] = ContextVar("aftersales_workflows",
                                                                 default=None)


@contextmanager
def using(workflows: Mapping[str, Workflow]) -> Iterator[None]:
    """Run the steps inside the block with ``workflows`` (by name) instead of the shipped ones:
    how a desk applies its own, extended workflows to its commands only (thread- and
    task-local)."""
    token = _ACTIVE.set(workflows)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def active(default: Workflow) -> Workflow:
    """The workflow named like ``default`` that the running command uses: the desk's own if
    it registered one under that name, else ``default``."""
    chosen = _ACTIVE.get()
    if chosen is None:
        return default
    return chosen.get(default.name, default)
