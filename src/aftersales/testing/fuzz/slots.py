"""Where a bad value goes: the fields of a command and of the value objects it carries,
and whether a value could be valid there by type."""

from __future__ import annotations

import contextlib
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

import attrs

from aftersales.service.commands import Command


def _plausible(value: Any, annotation: Any) -> bool:
    """Could ``value`` be valid for a field declared as ``annotation`` (by type alone)?"""
    if annotation is Any or annotation is None:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_plausible(value, a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if origin is not None and isinstance(origin, type) and issubclass(
        origin, (tuple, list, set, frozenset, Mapping)
    ):
        return isinstance(value, Iterable) and not isinstance(value, str | bytes)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is date:
        return isinstance(value, date) and not isinstance(value, datetime)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def _hints(cls: type[Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:
        return {}


def _converter(a: attrs.Attribute[Any]) -> Callable[[Any], Any] | None:
    conv = a.converter
    return conv if callable(conv) else None


def _init_values(item: Any) -> dict[str, Any]:
    return {a.alias: getattr(item, a.name) for a in attrs.fields(type(item)) if a.init}


@attrs.frozen
class _Slot:
    """A place a bad value goes: a field of the command, or a field of a value object in it
    (``path`` names it, ``rebuild(value)`` makes the command's field value around it)."""

    path: str
    field: str
    base: Any
    annotation: Any
    rebuild: Callable[[Any], Any]
    converter: Callable[[Any], Any] | None = None

    def plausible(self, value: Any) -> bool:
        """Could ``value`` be valid here (by type, as given or after the field's
        converter)?"""
        if _plausible(value, self.annotation):
            return True
        if self.converter is not None:
            with contextlib.suppress(Exception):  # a refusing converter: judged as given
                return _plausible(self.converter(value), self.annotation)
        return False


def _slots(command: Command, depth: int = 2) -> Iterator[_Slot]:
    cls = type(command)
    hints = _hints(cls)
    for a in attrs.fields(cls):
        if not a.init:
            continue
        base = getattr(command, a.name)
        yield _Slot(f"{cls.__name__}.{a.name}", a.alias, base, hints.get(a.name, Any),
                    lambda v: v, _converter(a))
        yield from _inner(f"{cls.__name__}.{a.name}", a.alias, base, lambda v: v, depth)


def _inner(path: str, field: str, base: Any, wrap: Callable[[Any], Any], depth: int
           ) -> Iterator[_Slot]:
    """Slots inside ``base``: the fields of an attrs value object, or of the first item of a
    tuple of them, or the two halves of the first pair of a tuple of pairs."""
    if depth <= 0:
        return
    if isinstance(base, tuple) and base:
        first = base[0]
        rest = base[1:]
        if isinstance(first, tuple) and len(first) == 2:
            for index in (0, 1):
                def pair(v: Any, i: int = index, f: tuple[Any, ...] = first) -> Any:
                    item = (v, f[1]) if i == 0 else (f[0], v)
                    return wrap((item, *rest))

                yield _Slot(f"{path}[0][{index}]", field, first[index], Any, pair)
            return
        if attrs.has(type(first)):
            yield from _inner(f"{path}[0]", field, first, lambda v: wrap((v, *rest)), depth)
        return
    if not attrs.has(type(base)) or isinstance(base, Command):
        return
    hints = _hints(type(base))
    for a in attrs.fields(type(base)):
        if not a.init:
            continue

        def rebuild(v: Any, alias: str = a.alias, item: Any = base) -> Any:
            return wrap(type(item)(**{**_init_values(item), alias: v}))

        inner = getattr(base, a.name)
        yield _Slot(f"{path}.{a.name}", field, inner, hints.get(a.name, Any), rebuild,
                    _converter(a))
        yield from _inner(f"{path}.{a.name}", field, inner, rebuild, depth - 1)
