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

from aftersales.domain.events import EVENT_TYPES, DomainEvent, Event
from aftersales.domain.repair_events import REPAIR_EVENT_TYPES, RepairEvent
from aftersales.domain.request import Job, OnSiteJob, RemoteJob, ServiceRequest
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
    conv.register_unstructure_hook(
        ServiceRequest,
        make_dict_unstructure_fn(
            ServiceRequest, conv, pending_events=override(omit=True)
        ),
    )
    conv.register_structure_hook(
        ServiceRequest,
        make_dict_structure_fn(
            ServiceRequest, conv, pending_events=override(omit=True),
            _cattrs_forbid_extra_keys=True,
        ),
    )
    return conv


def _structure_datetime(value: Any, _: Any) -> datetime:
    result = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if result.tzinfo is None:
        raise StorageError(f"naive datetime {value!r} in stored data")
    return result


@functools.cache
def _default() -> cattrs.Converter:
    return make_converter()


#: Every event type of every aggregate, by name.
ALL_EVENT_TYPES: dict[str, type[DomainEvent] | type[RepairEvent]] = {
    **EVENT_TYPES, **REPAIR_EVENT_TYPES
}

AnyEvent = DomainEvent | RepairEvent


def event_to_dict(event: Event, converter: cattrs.Converter | None = None) -> dict[str, Any]:
    """A JSON-ready dict of ``event`` with its type under ``"type"``."""
    data: dict[str, Any] = (converter or _default()).unstructure(event)
    data["type"] = event.name
    return data


def event_from_dict(
    data: dict[str, Any], converter: cattrs.Converter | None = None
) -> AnyEvent:
    """Rebuild an event from :func:`event_to_dict` output."""
    payload = dict(data)
    name = payload.pop("type", None)
    cls = ALL_EVENT_TYPES.get(str(name))
    if cls is None:
        raise StorageError(f"unknown event type {name!r}")
    return (converter or _default()).structure(payload, cls)
