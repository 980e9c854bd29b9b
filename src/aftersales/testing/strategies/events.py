"""Strategies for every domain event, each field drawn from its type.

Part of :mod:`aftersales.testing.strategies`: import them from there.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import attrs
from hypothesis import strategies as st

from aftersales.domain.kernel import EVENT_TYPES, AggregateEvent
from aftersales.domain.values import Money
from aftersales.testing.strategies.values import (
    amounts,
    aware_datetimes,
    dates,
    durations,
    money,
    texts,
)

__all__ = ["domain_events", "events_of"]

_E = TypeVar("_E", bound=AggregateEvent)

_FIELD_OVERRIDES: Mapping[str, Callable[[], st.SearchStrategy[Any]]] = {
    "sequence": lambda: st.integers(min_value=1, max_value=2**31),
    "rating": lambda: st.none() | st.integers(min_value=1, max_value=5),
    "number": lambda: st.from_regex(r"SR-[0-9]{8}-[0-9A-Z]{4,8}", fullmatch=True),
}


def _for_type(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy for a field's (resolved) type: our own for domain types, generic for
    enums, containers and nested attrs classes."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[_for_type(arg) for arg in args])
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(_for_type(args[0]), max_size=3).map(tuple)
        return st.tuples(*[_for_type(arg) for arg in args])
    if origin is list:
        return st.lists(_for_type(args[0]), max_size=3)
    if origin is frozenset:
        return st.frozensets(_for_type(args[0]), max_size=3)
    known: dict[Any, Callable[[], st.SearchStrategy[Any]]] = {
        type(None): st.none, UUID: st.uuids, datetime: aware_datetimes, date: dates,
        timedelta: durations, str: texts, bool: st.booleans, Decimal: amounts, Money: money,
        int: lambda: st.integers(min_value=0, max_value=2**31),
    }
    if tp in known:
        return known[tp]()
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(tp)
    if isinstance(tp, type) and attrs.has(tp):
        return _attrs_instances(tp)
    raise TypeError(f"aftersales.testing.strategies has no strategy for {tp!r}: add one")


def _attrs_instances(cls: Any) -> st.SearchStrategy[Any]:
    attrs.resolve_types(cls)
    fields = {
        f.name: _FIELD_OVERRIDES[f.name]() if f.name in _FIELD_OVERRIDES else _for_type(f.type)
        for f in attrs.fields(cls)
        if f.init
    }
    return st.builds(cls, **fields)


def events_of(cls: type[_E]) -> st.SearchStrategy[_E]:
    """Events of one :class:`~aftersales.domain.kernel.AggregateEvent` subclass, every field
    drawn from its type."""
    strategy: st.SearchStrategy[_E] = _attrs_instances(cls)
    return strategy


def domain_events(
    types: Sequence[type[AggregateEvent]] | None = None,
) -> st.SearchStrategy[AggregateEvent]:
    """Events of every type in :data:`aftersales.domain.kernel.EVENT_TYPES` (or of
    ``types``): request, repair, outsourced, stock, catalogue and directory events."""
    chosen = list(types) if types is not None else list(EVENT_TYPES.values())
    return st.one_of(*[events_of(cls) for cls in chosen])
