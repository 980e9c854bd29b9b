"""The aggregate kernel: what every aggregate kind of ``aftersales`` is built from.

- :class:`Aggregate`: the base of every aggregate (id, version, event sequence, pending
  events, the R9 step record). An aggregate changes only through workflow steps or domain
  methods that append to its record and emit events; a storage writes back exactly the
  aggregates that carry pending events.
- :class:`AggregateEvent`: the base of every domain event. Subclasses register themselves by
  name (:data:`EVENT_TYPES`), carry a ``class_version`` and may declare ``upcasters`` so that
  events stored by an older release still load.
- :class:`RecordEntry`: one R9 step (who, when, what, from-state, to-state, note), chained to
  the previous entry by a SHA-256 digest, so an edited, inserted or deleted entry is found by
  :func:`verify_chain`.
- :class:`AggregateKind`: the one declaration of a kind (its class, the entity name used in
  messages, its number prefix, the fields users query and their order, the unique keys, who
  owns and who works on it). Storage adapters are generic over these declarations.

The kernel does no I/O, reads no clock and makes no random ids.
"""

from __future__ import annotations

import hashlib
import inspect
import operator
import types
import typing
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar, Generic, Self, TypeVar
from uuid import UUID, uuid5

import attrs

from aftersales.errors import ConfigurationError

__all__ = [
    "EVENT_TYPES",
    "FIELD_TYPES",
    "Aggregate",
    "AggregateEvent",
    "AggregateKind",
    "Kinds",
    "QueryField",
    "RecordEntry",
    "chained_by_steps",
    "clone_attrs",
    "entry_digest",
    "event_id_for",
    "verify_chain",
]

A = TypeVar("A", bound="Aggregate")
E = TypeVar("E", bound="AggregateEvent")


# --- the R9 record -------------------------------------------------------------------------


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _instant(at: datetime) -> str:
    """The absolute instant of ``at``: microseconds since 1970 UTC (the same on every
    storage, whatever zone the value carries)."""
    span = at - _EPOCH
    return str((span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds)


def entry_digest(
    previous: str,
    sequence: int,
    at: datetime,
    actor_id: UUID,
    workflow: str,
    subject_id: UUID,
    action: str,
    from_state: str | None,
    to_state: str,
    note: str,
) -> str:
    """R9: the SHA-256 digest chaining one record entry to the ``previous`` entry's digest.

    It covers every field of the entry (the time as an absolute UTC instant, so a storage
    that keeps times in UTC computes the same digest).
    """
    parts = (
        previous, str(sequence), _instant(at), actor_id.hex, workflow, subject_id.hex, action,
        "\x00" if from_state is None else from_state, to_state, note,
    )
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


@attrs.frozen
class RecordEntry:
    """R9: one step of an aggregate's record: who, when, what, from-state, to-state, a note.

    ``workflow`` names the machine (``request``, ``remote``, ``onsite``, ``depot`` ...) and
    ``subject_id`` the entity it moved (the aggregate itself or one of its parts, such as a
    job). ``digest`` chains the entry to the one before it (see :func:`entry_digest`).
    """

    sequence: int
    at: datetime
    actor_id: UUID
    workflow: str
    subject_id: UUID
    action: str
    from_state: str | None
    to_state: str
    note: str = ""
    digest: str = ""

    def expected_digest(self, previous: str) -> str:
        """The digest this entry must carry when it follows an entry with ``previous``."""
        return entry_digest(
            previous, self.sequence, self.at, self.actor_id, self.workflow, self.subject_id,
            self.action, self.from_state, self.to_state, self.note,
        )


def verify_chain(
    record: Sequence[RecordEntry], previous: str = "", start: int = 1
) -> list[str]:
    """R9: every problem of a record's chain: sequence numbers ``start``, ``start + 1`` ...
    without gaps and each digest matching its entry and the entry before it (the first one
    chained to ``previous``); empty when intact."""
    problems: list[str] = []
    for offset, entry in enumerate(record):
        expected = start + offset
        if entry.sequence != expected:
            problems.append(f"entry {expected} has sequence {entry.sequence}")
        if entry.digest != entry.expected_digest(previous):
            problems.append(
                f"entry {entry.sequence} ({entry.action}) does not match its digest: "
                "edited, inserted or out of place"
            )
        previous = entry.digest
    return problems


# --- events --------------------------------------------------------------------------------


def event_id_for(aggregate_id: UUID, sequence: int) -> UUID:
    """The stable id of an aggregate's ``sequence``-th event (outbox de-duplication)."""
    return uuid5(aggregate_id, str(sequence))


#: Every concrete event type by name; filled by subclassing :class:`AggregateEvent`.
EVENT_TYPES: dict[str, type[AggregateEvent]] = {}


@attrs.frozen(kw_only=True)
class AggregateEvent:
    """Base of every domain event.

    An event names the aggregate it belongs to (``aggregate_id``), its position in that
    aggregate's stream (``sequence``: 1, 2, 3 ... without gaps), when it happened and who did
    it. Its :attr:`event_id` is derived from the aggregate id and the sequence: the same
    change always has the same id.

    Subclasses register themselves in :data:`EVENT_TYPES` under their class name (or
    ``event_name``); a class whose body sets ``__abstract_event__ = True`` is a base only.
    When a stored event's shape changes, raise ``class_version`` and add an upcaster from the
    old version: ``upcasters = {1: lambda data: {**data, "new_field": "default"}}`` turns a
    version-1 payload into a version-2 one.
    """

    __abstract_event__ = True
    #: The kind of aggregate the event belongs to (its entity name, e.g. ``ServiceRequest``).
    aggregate_type: ClassVar[str] = ""
    #: The version of this event's shape; stored with each payload.
    class_version: ClassVar[int] = 1
    #: Payload converters by the version they convert from (to that version + 1).
    upcasters: ClassVar[Mapping[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {}

    aggregate_id: UUID
    sequence: int
    occurred_at: datetime
    actor_id: UUID

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        hidden = sorted({"name", "event_id"} & set(inspect.get_annotations(cls)))
        if hidden:  # a field would shadow the property (the outbox would carry its value)
            raise ConfigurationError(
                f"event {cls.__qualname__}: a field may not be called {', '.join(hidden)}"
            )
        if cls.__dict__.get("__abstract_event__", False):
            return
        name = cls.__dict__.get("event_name") or cls.__name__
        known = EVENT_TYPES.get(name)
        if known is not None and (known.__module__, known.__qualname__) != (
            cls.__module__, cls.__qualname__
        ):
            raise ConfigurationError(
                f"event name {name!r} is taken by {known.__module__}.{known.__qualname__}; "
                "set event_name on one of them"
            )
        EVENT_TYPES[name] = cls  # the attrs-built class replaces its draft

    @property
    def event_id(self) -> UUID:
        """Stable id: the same change always has the same id (outbox de-duplication)."""
        return event_id_for(self.aggregate_id, self.sequence)

    @property
    def name(self) -> str:
        """The event's registered type name, e.g. ``"EngineerAssigned"``."""
        return type(self).__dict__.get("event_name") or type(self).__name__


# --- aggregates ----------------------------------------------------------------------------


def _cloned_list(value: list[Any]) -> list[Any]:
    # items of an undeclared kind: clone them when the first one clones
    if value and hasattr(value[0], "clone"):
        return [item.clone() for item in value]
    return list(value)


def _cloned_dict(value: dict[Any, Any]) -> dict[Any, Any]:
    if value and hasattr(next(iter(value.values())), "clone"):
        return {key: item.clone() for key, item in value.items()}
    return dict(value)


def _copy(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return _cloned_list(value)
    if kind is dict:
        return _cloned_dict(value)
    if kind is set:
        return set(value)
    if hasattr(value, "clone"):
        return value.clone()
    return value


_CLONERS: dict[type[Any], Callable[[Any], Any]] = {}

#: Types whose values never change (a clone shares them).
_IMMUTABLE: tuple[type[Any], ...] = (
    str, int, bool, float, UUID, datetime, date, Decimal, timedelta, Enum, type(None),
)


def _is_frozen(cls: type[Any]) -> bool:
    """True for a class whose instances never change (a clone may share them)."""
    if issubclass(cls, _IMMUTABLE):
        return True
    if attrs.has(cls):
        guard = getattr(cls.__setattr__, "__name__", "")
        return guard == "_frozen_setattrs" and all(  # attrs.frozen, of values that never change
            _shared(hint) for hint in _hints(cls).values()
        ) and len(_hints(cls)) == len(attrs.fields(cls))
    return False


def _shared(hint: Any) -> bool:
    """True when a value declared as ``hint`` never changes (a clone may share it)."""
    if isinstance(hint, type):
        return _is_frozen(hint)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return all(_shared(arg) for arg in typing.get_args(hint))
    if origin is typing.Literal:
        return True
    if origin in (tuple, frozenset):
        return all(_shared(arg) for arg in typing.get_args(hint) if arg is not Ellipsis)
    return False


def _clones(hint: Any) -> bool:
    """True when every value declared as ``hint`` is None or has a ``clone`` method."""
    if isinstance(hint, type):
        return hint is type(None) or callable(getattr(hint, "clone", None))
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return all(_clones(arg) for arg in typing.get_args(hint))
    return False


def _copy_expression(hint: Any, value: str) -> str:
    """Python source copying ``value``, a value declared as ``hint``."""
    if hint is None:
        return f"copy({value})"  # undeclared: decided by the value at run time
    if _shared(hint):
        return value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list and args:
        if _shared(args[0]):
            return f"list({value})"
        if _clones(args[0]):
            return f"[i.clone() for i in {value}]"
        return f"cloned_list({value})"
    if origin is dict and len(args) == 2:
        if _shared(args[1]):
            return f"dict({value})"
        if _clones(args[1]):
            return f"{{k: i.clone() for k, i in {value}.items()}}"
        return f"cloned_dict({value})"
    if origin is set and args and _shared(args[0]):
        return f"set({value})"
    if _clones(hint) and hint is not type(None):
        return f"(None if {value} is None else {value}.clone())"
    return f"copy({value})"


def _hints(cls: type[Any]) -> dict[str, Any]:
    """The resolved field types of ``cls`` (empty where a name does not resolve)."""
    try:
        return typing.get_type_hints(cls)
    except Exception:  # a forward reference that cannot be resolved: decide at run time
        return {}


def _cloner(cls: type[Any]) -> Callable[[Any], Any]:
    """A function that copies instances of the attrs class ``cls`` field by field, without
    running ``__init__`` again (the original was valid). What each field needs is decided
    once from its declared type: values that never change are shared, lists, dicts and sets
    are copied and their items cloned when they clone; pending events are never copied."""
    found = _CLONERS.get(cls)
    if found is not None:
        return found
    hints = _hints(cls)
    plain = getattr(cls, "__setattr__", None) is object.__setattr__  # no frozen guard
    lines = ["def clone(entity):", "    new = new_instance(cls)"]
    for field in attrs.fields(cls):
        name = field.name
        if name == "pending_events":
            value = "[]"
        else:
            value = _copy_expression(hints.get(name), f"entity.{name}")
        if plain:
            lines.append(f"    new.{name} = {value}")
        else:
            lines.append(f"    set_field(new, {name!r}, {value})")
    lines.append("    return new")
    namespace: dict[str, Any] = {
        "new_instance": object.__new__, "cls": cls, "copy": _copy, "set_field": object.__setattr__,
        "cloned_list": _cloned_list, "cloned_dict": _cloned_dict,
    }
    exec("\n".join(lines), namespace)
    made: Callable[[Any], Any] = namespace["clone"]
    _CLONERS[cls] = made
    return made


def clone_attrs(entity: Any) -> Any:
    """A working copy of an attrs entity: the same values, its lists, dicts and sets copied
    (and their mutable items cloned), so the copy can change without touching the original."""
    return _cloner(type(entity))(entity)


#: The record entries each aggregate's own :meth:`Aggregate.record_step` made (by identity): a
#: unit of work need not hash them again when they are exactly what the record added.
_STEPPED: weakref.WeakKeyDictionary[Aggregate, list[RecordEntry]] = weakref.WeakKeyDictionary()


def chained_by_steps(item: Aggregate, start: int = 0) -> bool:
    """True when every entry of ``item``'s record after the first ``start`` ones was made by
    its own :meth:`Aggregate.record_step`, in order and numbered on from ``start``: then each
    was chained to the entry before it when it was made, and need not be hashed again."""
    added = item.record[start:]
    made = _STEPPED.get(item)
    if not added or made is None or len(made) < len(added):
        return False
    return all(map(operator.is_, added, made[len(made) - len(added):])) and (
        added[0].sequence == start + 1 and added[-1].sequence == start + len(added)
    )


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class Aggregate:
    """Base of every aggregate: an id, a version, an event sequence, pending events and the
    R9 record.

    - ``version`` is the storage's optimistic-concurrency counter (it grows by one with every
      committed change);
    - ``event_sequence`` numbers the aggregate's events 1, 2, 3 ...;
    - ``record`` is the append-only, digest-chained step record (R9);
    - ``pending_events`` are the events of changes not yet committed; a unit of work writes
      back exactly the aggregates that have some, and clears them.
    """

    id: UUID
    version: int = attrs.field(default=0, kw_only=True)
    event_sequence: int = attrs.field(default=0, kw_only=True)
    record: list[RecordEntry] = attrs.field(factory=list, kw_only=True)
    pending_events: list[AggregateEvent] = attrs.field(factory=list, init=False, repr=False)

    def clone(self) -> Self:
        """A working copy: same values, independent collections, no pending events."""
        copy: Self = clone_attrs(self)
        return copy

    @property
    def changed(self) -> bool:
        """True while the aggregate carries changes not yet committed."""
        return bool(self.pending_events)

    @property
    def record_head(self) -> str:
        """The digest of the newest record entry ('' for an empty record)."""
        return self.record[-1].digest if self.record else ""

    def record_step(
        self,
        *,
        at: datetime,
        actor_id: UUID,
        workflow: str,
        subject_id: UUID,
        action: str,
        from_state: str | None,
        to_state: str,
        note: str = "",
    ) -> RecordEntry:
        """R9: append one step to the record, chained to the one before; return it."""
        sequence = len(self.record) + 1
        digest = entry_digest(
            self.record_head, sequence, at, actor_id, workflow, subject_id, action,
            from_state, to_state, note,
        )
        entry = RecordEntry(
            sequence, at, actor_id, workflow, subject_id, action, from_state, to_state, note,
            digest,
        )
        self.record.append(entry)
        made = _STEPPED.get(self)
        if made is None:
            _STEPPED[self] = [entry]
        else:
            made.append(entry)
        return entry

    def next_sequence(self) -> int:
        """The sequence number for the next event of this aggregate (ordered, no gaps)."""
        self.event_sequence += 1
        return self.event_sequence

    def emit(self, cls: type[E], *, actor_id: UUID, at: datetime, **fields: Any) -> E:
        """Create the next event of this aggregate and queue it for the unit of work."""
        event = cls(
            aggregate_id=self.id, sequence=self.next_sequence(), occurred_at=at,
            actor_id=actor_id, **fields,
        )
        self.pending_events.append(event)
        return event


# --- kind declarations ---------------------------------------------------------------------

#: The Python types a query field may have (each maps to one column type in SQL).
FIELD_TYPES: tuple[type[Any], ...] = (UUID, str, int, bool, datetime, date, Decimal)


def _column_value(value: Any) -> Any:
    """A query field's value as stored: enumerations by value, the rest as they are."""
    if isinstance(value, Enum):
        return value.value
    return value


@attrs.frozen
class QueryField:
    """One field users query an aggregate kind by (a column and an index in SQL).

    ``type`` is one of :data:`FIELD_TYPES`; ``get`` reads the value from an aggregate
    (default: the attribute ``name``; enumerations are stored by value); ``max_length``
    bounds text (and is what the commands check text against); ``unique`` makes the value a
    key (None is never a duplicate): ``get_by`` finds an aggregate by it.
    """

    name: str
    type: type[Any]
    get: Callable[[Any], Any] | None = None
    unique: bool = False
    max_length: int = 120
    index: bool = True

    def __attrs_post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ConfigurationError(f"query field name {self.name!r} is not an identifier")
        if self.type not in FIELD_TYPES:
            raise ConfigurationError(
                f"query field {self.name!r}: type {self.type!r} is not one of "
                f"{[t.__name__ for t in FIELD_TYPES]}"
            )

    def read(self, item: Any) -> Any:
        """This field's value of ``item``, as stored."""
        if self.get is not None:
            return _column_value(self.get(item))
        return _column_value(getattr(item, self.name))


def _fields(values: Iterable[QueryField]) -> tuple[QueryField, ...]:
    return tuple(values)


def _names(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _groups(values: Iterable[Iterable[str]]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(group) for group in values)


@attrs.frozen
class AggregateKind(Generic[A]):
    """The declaration of one aggregate kind: everything storage and the service layer need.

    - ``cls``: the aggregate class (a subclass of :class:`Aggregate`);
    - ``entity``: its name in messages and events (``"ServiceRequest"``);
    - ``table``: the storage name (a SQL table; its record table is ``<table>_record``);
    - ``fields``: the :class:`QueryField` users query by;
    - ``order_by``: the fields ``find`` orders by (the id breaks ties);
    - ``unique_together``: groups of fields whose values together are unique;
    - ``indexes``: composite indexes for the queries users run most (each field with
      ``index=True`` gets its own index too);
    - ``number_prefix``: the prefix of the human-readable numbers of this kind (``SR``), if
      it has numbers (then ``number`` must be a unique query field);
    - ``owner_field`` / ``assignee_field``: the attributes naming the customer who owns an
      aggregate and the engineer assigned to it (the default authorization reads them);
    - ``workflows``: the names of the workflows whose steps its record holds.
    """

    cls: type[A]
    entity: str
    table: str
    fields: tuple[QueryField, ...] = attrs.field(default=(), converter=_fields)
    order_by: tuple[str, ...] = attrs.field(default=(), converter=_names)
    unique_together: tuple[tuple[str, ...], ...] = attrs.field(default=(), converter=_groups)
    indexes: tuple[tuple[str, ...], ...] = attrs.field(default=(), converter=_groups)
    number_prefix: str | None = None
    owner_field: str | None = None
    assignee_field: str | None = None
    workflows: tuple[str, ...] = attrs.field(default=(), converter=_names)
    description: str = ""
    _by_name: dict[str, QueryField] = attrs.field(
        init=False, repr=False, eq=False, factory=dict, alias="_by_name"
    )

    def __attrs_post_init__(self) -> None:
        self._by_name.update((f.name, f) for f in self.fields)
        if not (isinstance(self.cls, type) and issubclass(self.cls, Aggregate)):
            raise ConfigurationError(f"kind {self.entity!r}: {self.cls!r} is not an Aggregate")
        if not self.table.isidentifier() or self.table != self.table.lower():
            raise ConfigurationError(f"kind {self.entity!r}: table {self.table!r} must be a "
                                     "lower-case identifier")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"kind {self.entity!r}: a query field is declared twice")
        reserved = {"id", "version", "doc", "record_head"}
        if reserved & set(names):
            raise ConfigurationError(
                f"kind {self.entity!r}: {sorted(reserved & set(names))} are reserved names"
            )
        grouped = (*self.unique_together, *self.indexes)
        for name in (*self.order_by, *(n for group in grouped for n in group)):
            if name not in names:
                raise ConfigurationError(f"kind {self.entity!r}: {name!r} is not a query field")
        if self.number_prefix is not None:
            number = self.field("number") if "number" in names else None
            if number is None or not number.unique:
                raise ConfigurationError(
                    f"kind {self.entity!r}: a numbered kind needs a unique 'number' field"
                )

    def field(self, name: str) -> QueryField:
        """The query field ``name`` (ConfigurationError when there is none)."""
        found = self._by_name.get(name)
        if found is not None:
            return found
        raise ConfigurationError(f"kind {self.entity!r} has no query field {name!r}")

    @property
    def field_names(self) -> frozenset[str]:
        """The names of the query fields."""
        return frozenset(f.name for f in self.fields)

    @property
    def unique_fields(self) -> tuple[QueryField, ...]:
        """The query fields that are keys on their own."""
        return tuple(f for f in self.fields if f.unique)

    def row(self, item: A) -> dict[str, Any]:
        """The query fields' values of ``item``, by name."""
        return {f.name: f.read(item) for f in self.fields}

    def sort_key(self, item: A) -> tuple[Any, ...]:
        """The ``find`` order of ``item``: the ``order_by`` fields, then the id."""
        return (*(_sortable(self.field(n).read(item)) for n in self.order_by), str(item.id))

    def owner_of(self, item: Any) -> UUID | None:
        """The customer who owns ``item`` (None when the kind names no owner)."""
        return getattr(item, self.owner_field, None) if self.owner_field else None

    def assignee_of(self, item: Any) -> UUID | None:
        """The engineer assigned to ``item`` (None when none is or the kind has none)."""
        return getattr(item, self.assignee_field, None) if self.assignee_field else None


def _sortable(value: Any) -> Any:
    """A sort key that orders None first and absolute instants correctly."""
    if value is None:
        return (0, "")
    if isinstance(value, datetime):
        return (1, value.astimezone(UTC))
    return (1, value)


class Kinds:
    """A set of aggregate kinds, by class and by table: what one store holds.

    ``Kinds(aftersales.domain.KINDS)`` is the shipped set; :meth:`plus` adds your own kinds
    (without touching the package)::

        kinds = Kinds(KINDS).plus(MY_KIND)
        store = InMemoryStore(kinds=kinds)
    """

    def __init__(self, kinds: Iterable[AggregateKind[Any]] = ()) -> None:
        self._by_table: dict[str, AggregateKind[Any]] = {}
        self._by_class: dict[type[Any], AggregateKind[Any]] = {}
        self._by_entity: dict[str, AggregateKind[Any]] = {}
        for kind in kinds:
            self._register(kind)

    def _register(self, kind: AggregateKind[Any]) -> None:
        if not isinstance(kind, AggregateKind):
            raise ConfigurationError(f"{kind!r} is not an AggregateKind")
        clashes = (
            (self._by_table.get(kind.table), "table", kind.table),
            (self._by_class.get(kind.cls), "class", kind.cls.__name__),
            (self._by_entity.get(kind.entity), "entity name", kind.entity),
        )
        for known, what, key in clashes:
            if known is not None and known is not kind:
                raise ConfigurationError(f"two kinds share the {what} {key!r}")
        self._by_table[kind.table] = kind
        self._by_class[kind.cls] = kind
        self._by_entity[kind.entity] = kind

    def plus(self, *kinds: AggregateKind[Any]) -> Kinds:
        """A new set: these kinds and ``kinds``."""
        return Kinds((*self, *kinds))

    def __iter__(self) -> Iterator[AggregateKind[Any]]:
        return iter(self._by_table.values())

    def __len__(self) -> int:
        return len(self._by_table)

    def __contains__(self, kind: object) -> bool:
        return isinstance(kind, AggregateKind) and self._by_table.get(kind.table) is kind

    def of(self, item: Any) -> AggregateKind[Any]:
        """The kind of aggregate ``item`` (or of the class ``item``); ConfigurationError if
        this set does not hold it."""
        cls = item if isinstance(item, type) else type(item)
        found = self._by_class.get(cls)
        if found is None:
            for base in cls.__mro__[1:]:
                found = self._by_class.get(base)
                if found is not None:
                    break
        if found is None:
            raise ConfigurationError(f"no aggregate kind is declared for {cls.__name__}")
        return found

    def by_table(self, table: str) -> AggregateKind[Any]:
        """The kind stored under ``table``."""
        try:
            return self._by_table[table]
        except KeyError:
            raise ConfigurationError(f"no aggregate kind is stored as {table!r}") from None

    def by_entity(self, entity: str) -> AggregateKind[Any]:
        """The kind named ``entity`` (e.g. ``"ServiceRequest"``)."""
        try:
            return self._by_entity[entity]
        except KeyError:
            raise ConfigurationError(f"no aggregate kind is named {entity!r}") from None
