"""cattrs converters: turn entities and events into JSON-ready dicts and back.

Build one with :func:`make_converter` (never the global converter). UUIDs, datetimes, dates,
timedeltas and Decimals become strings or numbers that survive JSON exactly; unknown keys are
rejected; a job's ``kind`` tags the remote/on-site union.
"""

from __future__ import annotations

import functools
import typing
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

import aftersales.domain  # noqa: F401 - registers every shipped event type
from aftersales.domain.kernel import EVENT_TYPES, Aggregate, AggregateEvent
from aftersales.domain.request import Job, OnSiteJob, RemoteJob
from aftersales.errors import StorageError

__all__ = ["ALL_EVENT_TYPES", "AnyEvent", "event_from_dict", "event_to_dict", "make_converter"]


def _timedelta_to_micros(value: timedelta) -> int:
    """Whole microseconds: exact for every timedelta (seconds as a float are not)."""
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


def _timedelta_from_micros(value: Any, _: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise StorageError(f"a duration must be whole microseconds, got {value!r}")
    return timedelta(microseconds=value)


def _is_frozenset(cls: Any) -> bool:
    return cls is frozenset or typing.get_origin(cls) is frozenset


def make_converter() -> cattrs.Converter:
    """A fresh converter for every ``aftersales`` entity, value object and event."""
    conv = cattrs.Converter(forbid_extra_keys=True)
    # strict scalars: a stored "None" or 123 where text belongs is a malformed document, not
    # a value to coerce (cattrs would call str() / int() on anything)
    for kind in (str, int, bool):  # exactly these (an Enum of str/int keeps its own hook)
        conv.register_structure_hook_func(_exactly(kind), _strict(kind))
    conv.register_structure_hook_func(lambda t: t is float, _strict_float)
    conv.register_unstructure_hook(UUID, str)
    conv.register_structure_hook(UUID, lambda v, _: v if isinstance(v, UUID) else UUID(v))
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, lambda v, _: Decimal(v))
    conv.register_unstructure_hook(datetime, lambda v: v.isoformat())
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(date, lambda v: v.isoformat())
    conv.register_structure_hook(
        date, lambda v, _: v if isinstance(v, date) else date.fromisoformat(v)
    )
    conv.register_unstructure_hook(timedelta, _timedelta_to_micros)
    conv.register_structure_hook(timedelta, _timedelta_from_micros)
    conv.register_unstructure_hook_func(
        _is_frozenset, lambda v: sorted((conv.unstructure(x) for x in v), key=str)
    )

    def unstructure_job(job: Job) -> dict[str, Any]:
        return conv.unstructure(job, unstructure_as=type(job))  # type: ignore[no-any-return]

    def structure_job(value: dict[str, Any], _: Any) -> Job:
        kind = value.get("kind")
        if kind == "remote":
            return conv.structure(value, RemoteJob)
        if kind == "onsite":
            return conv.structure(value, OnSiteJob)
        raise StorageError(f"unknown job kind {kind!r}")

    conv.register_unstructure_hook(Job, unstructure_job)
    conv.register_structure_hook(Job, structure_job)

    def is_aggregate(cls: Any) -> bool:
        return isinstance(cls, type) and issubclass(cls, Aggregate)

    def unstructure_aggregate(cls: Any) -> Any:
        return make_dict_unstructure_fn(cls, conv, pending_events=override(omit=True))

    def structure_aggregate(cls: Any) -> Any:
        return make_dict_structure_fn(
            cls, conv, pending_events=override(omit=True), _cattrs_forbid_extra_keys=True
        )

    conv.register_unstructure_hook_factory(is_aggregate, unstructure_aggregate)
    conv.register_structure_hook_factory(is_aggregate, structure_aggregate)
    return conv


def _exactly(kind: type[Any]) -> Any:
    def test(cls: Any) -> bool:
        return cls is kind

    return test


def _strict(kind: type[Any]) -> Any:
    def structure(value: Any, _: Any) -> Any:
        if type(value) is not kind and not (kind is int and type(value) is not bool
                                             and isinstance(value, int)):
            raise StorageError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return structure


def _strict_float(value: Any, _: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StorageError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _structure_datetime(value: Any, _: Any) -> datetime:
    result = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if result.tzinfo is None:
        raise StorageError(f"naive datetime {value!r} in stored data")
    return result


@functools.cache
def _default() -> cattrs.Converter:
    return make_converter()


#: Every event type of every aggregate, by name (the kernel's self-filling registry).
ALL_EVENT_TYPES: dict[str, type[AggregateEvent]] = EVENT_TYPES

AnyEvent = AggregateEvent


def event_to_dict(
    event: AggregateEvent, converter: cattrs.Converter | None = None
) -> dict[str, Any]:
    """A JSON-ready dict of ``event``: its fields, its type under ``"type"`` and the version
    of its shape under ``"v"``."""
    data: dict[str, Any] = (converter or _default()).unstructure(event)
    data["type"] = event.name
    data["v"] = type(event).class_version
    return data


def event_from_dict(
    data: dict[str, Any], converter: cattrs.Converter | None = None
) -> AggregateEvent:
    """Rebuild an event from :func:`event_to_dict` output, upcasting a payload written with
    an older ``class_version`` through the class's ``upcasters``."""
    if not isinstance(data, dict):
        raise StorageError(f"an event payload is a JSON object, not {type(data).__name__}")
    payload = dict(data)
    name = payload.pop("type", None)
    version = payload.pop("v", 1)
    cls = ALL_EVENT_TYPES.get(str(name))
    if cls is None:
        raise StorageError(f"unknown event type {name!r}")
    if isinstance(version, bool) or not isinstance(version, int) or not (
        1 <= version <= cls.class_version
    ):
        raise StorageError(f"{name}: unknown payload version {version!r}")
    while version < cls.class_version:
        upcast = cls.upcasters.get(version)
        if upcast is None:
            raise StorageError(f"{name}: no upcaster from version {version}")
        payload = upcast(payload)
        version += 1
    try:
        return (converter or _default()).structure(payload, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as error:
        raise StorageError(f"{name}: malformed event payload: {error}") from error
