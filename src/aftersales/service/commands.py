"""Commands as data: every user action is a frozen attrs object validated at construction.

A command names the acting actor by id only (the runner looks the actor up in the directory
and never trusts anything else about them), may carry an ``idempotency_key`` (a retry with the
same key and the same arguments returns the first result; other arguments under the same key
are refused with :class:`~aftersales.errors.IdempotencyConflict`) and an ``expected_version``
(like HTTP ``If-Match``: the command runs only on that version of its target).

Every field is checked when the command is built: types, ranges, text that a storage can hold
(no NUL, no lone surrogates, bounded length), timezone-aware datetimes within range. A bad
value raises :class:`~aftersales.errors.ValidationError` naming the command and the field, so a
refused command never reaches the store.

Define your own command by subclassing :class:`Command` (set ``name``) and registering a
handler with the runner (see ``docs/architecture.md``).
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

import attrs

from aftersales.domain.values import (
    MAX_TEXT,
    Money,
    date_problem,
    instant_problem,
    shown,
    text_problem,
)
from aftersales.errors import ValidationError

__all__ = [
    "KEY_LENGTH",
    "Command",
    "boolean",
    "day",
    "duration",
    "fingerprint",
    "frozenset_",
    "instance",
    "instant",
    "integer",
    "member",
    "money",
    "optional",
    "scope",
    "sequence_of",
    "set_of",
    "text",
    "tuple_",
    "uuid",
]

#: The longest idempotency key (bytes of UTF-8 are bounded by the storage's column).
KEY_LENGTH = 200

Check = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _entity(inst: Any) -> str:
    return type(inst).__name__


def _fail(inst: Any, attribute: attrs.Attribute[Any], problem: str) -> None:
    raise ValidationError(_entity(inst), attribute.name, problem)


def uuid() -> Check:
    """The field is a UUID."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, UUID):
            _fail(inst, attribute, f"expected a UUID, got {type(value).__name__}")

    return check


def text(*, max_length: int = MAX_TEXT, required: bool = True) -> Check:
    """The field is storable text (see :func:`aftersales.domain.values.text_problem`)."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        problem = text_problem(value, required=required, max_length=max_length)
        if problem is not None:
            _fail(inst, attribute, problem)

    return check


def member(kind: type[enum.Enum]) -> Check:
    """The field is a member of the enumeration ``kind``."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, kind):
            _fail(inst, attribute, f"unknown {kind.__name__} {shown(value)}")

    return check


def instant() -> Check:
    """The field is a timezone-aware datetime within the supported range."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        problem = instant_problem(value)
        if problem is not None:
            _fail(inst, attribute, problem)

    return check


def day() -> Check:
    """The field is a calendar day (a ``date``, not a datetime) within range."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        problem = date_problem(value)
        if problem is not None:
            _fail(inst, attribute, problem)

    return check


def integer(*, low: int, high: int) -> Check:
    """The field is a whole number (not a bool) from ``low`` to ``high``."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(inst, attribute, f"expected a whole number, got {type(value).__name__}")
        elif not low <= value <= high:
            _fail(inst, attribute, f"must be from {low} to {high}")

    return check


def duration(*, longest: timedelta = timedelta(days=3660)) -> Check:
    """The field is a positive ``timedelta`` no longer than ``longest``."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, timedelta):
            _fail(inst, attribute, f"expected a duration, got {type(value).__name__}")
        elif not timedelta(0) < value <= longest:
            _fail(inst, attribute, f"must be positive and at most {longest}")

    return check


def boolean() -> Check:
    """The field is True or False."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, bool):
            _fail(inst, attribute, "must be True or False")

    return check


def money(*, positive: bool = False) -> Check:
    """The field is :class:`~aftersales.domain.values.Money`, not negative (or positive)."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, Money):
            _fail(inst, attribute, f"expected Money, got {type(value).__name__}")
        elif value.is_negative or (positive and value.is_zero):
            _fail(inst, attribute, "must be positive" if positive else "must not be negative")

    return check


def instance(kind: type[Any] | tuple[type[Any], ...]) -> Check:
    """The field is an instance of ``kind`` (a value object validated by its own class)."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            _fail(inst, attribute, f"expected {names}, got {type(value).__name__}")

    return check


def optional(check: Check) -> Check:
    """None, or a value ``check`` accepts."""

    def maybe(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check(inst, attribute, value)

    return maybe


def sequence_of(check: Check, *, max_items: int = 500, min_items: int = 0) -> Check:
    """A tuple whose every item ``check`` accepts (build the field with ``converter=tuple_``)."""

    def each(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, tuple):
            _fail(inst, attribute, f"expected a sequence, got {type(value).__name__}")
        if not min_items <= len(value) <= max_items:
            _fail(inst, attribute, f"must hold {min_items} to {max_items} items")
        for item in value:
            check(inst, attribute, item)

    return each


def set_of(check: Check, *, max_items: int = 100, min_items: int = 0) -> Check:
    """A frozenset whose every item ``check`` accepts (``converter=frozenset_``)."""

    def each(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, frozenset):
            _fail(inst, attribute, f"expected a set, got {type(value).__name__}")
        if not min_items <= len(value) <= max_items:
            _fail(inst, attribute, f"must hold {min_items} to {max_items} items")
        for item in value:
            check(inst, attribute, item)

    return each


def tuple_(value: Any) -> Any:
    """Converter: any iterable but text becomes a tuple (anything else is left for the
    validator to refuse)."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        return value
    try:
        return tuple(value)
    except Exception:
        return value


def frozenset_(value: Any) -> Any:
    """Converter: any iterable of hashable items but text becomes a frozenset."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        return value
    try:
        return frozenset(value)
    except Exception:
        return value


def _key(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    problem = text_problem(value, required=True, max_length=KEY_LENGTH)
    if problem is not None:
        _fail(inst, attribute, problem)


def _version(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        _fail(inst, attribute, "must be a whole number >= 0")


@attrs.frozen(kw_only=True)
class Command:
    """Base of every command.

    - ``actor_id``: who acts (looked up in the directory; only the id is taken);
    - ``idempotency_key``: optional; scoped by actor and command, bound to the arguments;
    - ``expected_version``: optional; the command runs only on this version of its target
      (ConcurrencyConflict otherwise, never retried).

    ``name`` (a class variable) is the action the authorization policy decides on.
    """

    name: ClassVar[str] = ""

    actor_id: UUID = attrs.field(validator=uuid())
    idempotency_key: str | None = attrs.field(default=None, validator=_key)
    expected_version: int | None = attrs.field(default=None, validator=_version)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name") and not cls.__name__.startswith("_"):
            raise TypeError(f"command {cls.__name__} must set the class variable name")


_SKIPPED = frozenset({"actor_id", "idempotency_key", "expected_version"})


def _canonical(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return ["instant", value.timestamp(), str(value.utcoffset())]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return ["duration", value.days, value.seconds, value.microseconds]
    if isinstance(value, frozenset | set):
        return sorted((_canonical(v) for v in value), key=json.dumps)
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    if isinstance(value, Mapping):
        return sorted(([_canonical(k), _canonical(v)] for k, v in value.items()), key=json.dumps)
    if attrs.has(type(value)):
        return [type(value).__name__, {
            a.name: _canonical(getattr(value, a.name)) for a in attrs.fields(type(value))
        }]
    return repr(value)


def fingerprint(command: Command) -> str:
    """A digest of the command's name and arguments (not its actor, key or expected version):
    equal for a faithful retry, different when any argument differs."""
    fields = {
        a.name: _canonical(getattr(command, a.name))
        for a in attrs.fields(type(command)) if a.name not in _SKIPPED
    }
    payload = json.dumps([command.name, fields], sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def scope(command: Command) -> str:
    """The idempotency scope of a keyed command: a digest of (actor, command, key)."""
    assert command.idempotency_key is not None
    payload = json.dumps([str(command.actor_id), command.name, command.idempotency_key])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
