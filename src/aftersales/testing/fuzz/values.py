"""The classes of bad input (:data:`BAD_VALUES`) and what they are made from."""

from __future__ import annotations

import enum
import math
import types
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID

import attrs

from aftersales.domain.parts import PartOrigin
from aftersales.domain.repair import DataHandling, DepotState, FaultKind
from aftersales.domain.request import RequestState
from aftersales.domain.values import Category, Channel, Impact, Money, Role
from aftersales.testing.fuzz.world import FuzzWorld


@attrs.frozen
class Probe:
    """What a bad value may be made from: the world, the valid value it replaces and the
    field's declared type."""

    world: FuzzWorld
    base: Any
    annotation: Any


@attrs.frozen
class BadValue:
    """One class of bad input. ``make(probe)`` builds the value (it may raise an
    :class:`~aftersales.errors.AftersalesError` itself: Money refuses NaN). ``always_invalid``
    marks values no field may accept (NUL, a naive datetime ...); any other value must be
    refused unless its type is the field's type (then it may be valid there)."""

    label: str
    make: Callable[[Probe], Any]
    always_invalid: bool = False


def _deep_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def _deep_dict(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def _deep_tuple(depth: int) -> tuple[Any, ...]:
    value: tuple[Any, ...] = ()
    for _ in range(depth):
        value = (value,)
    return value


def _cyclic() -> list[Any]:
    value: list[Any] = []
    value.append(value)
    return value


class _BrokenZone(tzinfo):
    """A tzinfo whose offset cannot be read."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        raise RuntimeError("broken zone")

    def dst(self, dt: datetime | None) -> timedelta:
        raise RuntimeError("broken zone")

    def tzname(self, dt: datetime | None) -> str:
        return "broken"


class _NoOffsetZone(tzinfo):
    """A tzinfo that answers None (a naive datetime in disguise)."""

    def utcoffset(self, dt: datetime | None) -> None:
        return None

    def dst(self, dt: datetime | None) -> None:
        return None

    def tzname(self, dt: datetime | None) -> str:
        return "none"


class _Text(str):
    """A str subclass (a caller's own string type)."""

    __slots__ = ()


_WRONG_ENUMS: tuple[enum.Enum, ...] = (
    Role.CLERK, Channel.PHONE, Category.FAULT, Impact.MINOR, FaultKind.HARDWARE,
    DataHandling.WIPE_ALLOWED, PartOrigin.OEM, RequestState.REGISTERED, DepotState.INTAKE,
)


def _wrong_enum(p: Probe) -> enum.Enum:
    return next(e for e in _WRONG_ENUMS if type(e) is not type(p.base))


def _as_text(p: Probe) -> Any:
    base = p.base
    if isinstance(base, enum.Enum):
        return str(base.value)
    return str(base)


def _base_as(p: Probe, convert: Callable[[Any], Any], fallback: Any) -> Any:
    try:
        return convert(p.base)
    except Exception:
        return fallback


def _now(p: Probe) -> datetime:
    return p.world.now()


def _money(p: Probe, amount: Any, currency: str | None = None) -> Money:
    cur = p.base.currency if isinstance(p.base, Money) else p.world.currency
    return Money(amount, currency or cur)


def _other_currency(p: Probe) -> str:
    cur = p.base.currency if isinstance(p.base, Money) else p.world.currency
    return "USD" if cur != "USD" else "EUR"


def _v(label: str, make: Callable[[Probe], Any], *, always: bool = False) -> BadValue:
    return BadValue(label, make, always)


def _const(label: str, value: Any, *, always: bool = False) -> BadValue:
    return BadValue(label, lambda _p: value, always)


_BIG = 10**100
_DEEP = 5000

#: The classes of bad input every field is tried with (about 120).
BAD_VALUES: tuple[BadValue, ...] = (
    # missing, and every wrong type
    _const("None", None),
    _const("int 0", 0),
    _const("int 1", 1),
    _const("int -1", -1, always=True),
    _const("int 2**31", 2**31, always=True),
    _const("int 2**63", 2**63, always=True),
    _const("int -2**63", -(2**63), always=True),
    _const("int 10**100", _BIG, always=True),
    _const("int -10**100", -_BIG, always=True),
    _const("float 0.0", 0.0),
    _const("float -0.0", -0.0),
    _const("float 1.5", 1.5),
    _const("float nan", math.nan, always=True),
    _const("float inf", math.inf, always=True),
    _const("float -inf", -math.inf, always=True),
    _const("bool True", True),
    _const("bool False", False),
    _const("complex", 1j, always=True),
    _const("Fraction", Fraction(1, 3), always=True),
    _const("Decimal 1", Decimal(1)),
    _const("Decimal -1", Decimal(-1), always=True),
    _const("Decimal NaN", Decimal("NaN"), always=True),
    _const("Decimal sNaN", Decimal("sNaN"), always=True),
    _const("Decimal Infinity", Decimal("Infinity"), always=True),
    _const("Decimal -Infinity", Decimal("-Infinity"), always=True),
    _const("Decimal 1E+1000", Decimal("1E+1000"), always=True),
    _const("Decimal 1E-1000", Decimal("1E-1000"), always=True),
    _const("Decimal -0", Decimal("-0")),
    _const("bytes", b"x", always=True),
    _const("bytes not UTF-8", b"\xff\xfe\x00", always=True),
    _const("bytearray", bytearray(b"x"), always=True),
    _const("memoryview", memoryview(b"x"), always=True),
    _const("empty list", []),
    _const("list of mixed items", ["x", 1, None]),
    _const("empty tuple", ()),
    _const("tuple of None", (None,)),
    _const("empty dict", {}),
    _const("dict", {"x": 1}),
    _const("mapping proxy", types.MappingProxyType({"x": 1})),
    _const("set", {1, 2}),
    _const("empty frozenset", frozenset()),
    _const("range of a million", range(1_000_000)),
    _v("iterator", lambda _p: iter(["x", "y"])),
    _const("object", object(), always=True),
    _const("a class", int, always=True),
    _const("a function", len, always=True),
    _const("Ellipsis", ..., always=True),
    _const("NotImplemented", NotImplemented, always=True),
    _const("list nested 5000 deep", _deep_list(_DEEP)),
    _const("dict nested 5000 deep", _deep_dict(_DEEP)),
    _const("tuple nested 5000 deep", _deep_tuple(_DEEP)),
    _const("list containing itself", _cyclic()),
    # text
    _const("empty text", ""),
    _const("blank text", "   "),
    _const("tab and newline", "\t\n"),
    _const("ideographic space", "\u3000"),
    _const("no-break space", "\u00a0"),
    _const("zero-width space", "\u200b"),
    _const("NUL", "\x00", always=True),
    _const("text with NUL", "a\x00b", always=True),
    _const("lone high surrogate", "\ud800", always=True),
    _const("text with lone low surrogate", "x\udfff", always=True),
    _const("surrogate pair as two code points", "\ud83d\ude00", always=True),
    _const("control characters", "\x1b[31m\x07\x1f"),
    _const("CJK text", "维修服务" * 3),
    _const("emoji (4-byte UTF-8)", "\U0001f527" * 70),
    _const("combining marks", "e\u0301" * 20),
    _const("right-to-left override", "\u202eabc"),
    _const("SQL-like text", "'; DROP TABLE requests; --"),
    _const("format placeholders", "%s %(x)s {0} {x!r}"),
    _const("text 41 chars", "x" * 41),
    _const("text 65 chars", "x" * 65),
    _const("text 101 chars", "x" * 101),
    _const("text 121 chars", "x" * 121),
    _const("text 201 chars", "x" * 201),
    _const("text 256 chars", "x" * 256),
    _const("text 256 CJK chars", "修" * 256),
    _const("text 501 chars", "x" * 501),
    _const("text 2001 chars", "x" * 2001),
    _const("text 10000 chars", "x" * 10_000),
    _const("text 10001 chars", "x" * 10_001, always=True),
    _const("text 1000000 chars", "x" * 1_000_000, always=True),
    _const("digits as text", "5"),
    _const("negative number as text", "-1"),
    _const("decimal as text", "1.50"),
    _const("ISO datetime as text", "2026-03-04T10:00:00+00:00"),
    _const("UUID-looking text", "00000000-0000-0000-0000-000000000001"),
    _v("the valid value as text", _as_text),
    _v("a str subclass", lambda p: _Text(p.base) if isinstance(p.base, str) else _Text("x")),
    # ids
    _const("unknown UUID", UUID("6f1c2b9e-0d4b-4c6e-9a57-0f0e9a6c1d23")),
    _const("nil UUID", UUID(int=0)),
    _const("max UUID", UUID(int=2**128 - 1)),
    _v("UUID of another kind", lambda p: p.world.other_kind_id(p.base)),
    _v("UUID as int", lambda p: _base_as(p, lambda b: b.int, 12345)),
    _v("UUID as bytes", lambda p: _base_as(p, lambda b: b.bytes, b"0" * 16), always=True),
    # times
    _v("naive datetime", lambda p: _now(p).replace(tzinfo=None), always=True),
    _v("date where a datetime belongs", lambda p: _now(p).date()),
    _const("date year 1", date(1, 1, 1), always=True),
    _const("date year 9999", date(9999, 12, 31), always=True),
    _v("datetime where a date belongs", lambda p: _now(p)),
    _const("datetime year 1", datetime(1, 1, 1, tzinfo=UTC), always=True),
    _const("datetime year 9999", datetime(9999, 12, 31, 23, 59, tzinfo=UTC), always=True),
    _const("datetime year 1 at +23:59",
           datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=23, minutes=59))), always=True),
    _const("datetime 1900-01-01 UTC", datetime(1900, 1, 1, tzinfo=UTC), always=True),
    _const("datetime 2999-12-31 UTC", datetime(2999, 12, 31, tzinfo=UTC), always=True),
    _v("datetime ten years ago", lambda p: _now(p) - timedelta(days=3653)),
    _v("datetime in 900 years", lambda p: _now(p) + timedelta(days=365 * 900)),
    _v("datetime with an unusable zone",
       lambda p: _now(p).replace(tzinfo=_BrokenZone()), always=True),
    _v("datetime whose zone has no offset",
       lambda p: _now(p).replace(tzinfo=_NoOffsetZone()), always=True),
    _v("datetime as ISO text", lambda p: _now(p).isoformat()),
    _v("datetime as timestamp", lambda p: _now(p).timestamp()),
    _const("zero duration", timedelta(0), always=True),
    _const("negative duration", timedelta(seconds=-1), always=True),
    _const("largest duration", timedelta.max, always=True),
    _const("one microsecond", timedelta(microseconds=1)),
    # money
    _v("Money zero", lambda p: _money(p, Decimal(0))),
    _v("Money negative", lambda p: _money(p, Decimal(-1)), always=True),
    _v("Money in another currency", lambda p: _money(p, Decimal(10), _other_currency(p)),
       always=True),
    _v("Money with too many decimals", lambda p: _money(p, Decimal("1.001")), always=True),
    _v("Money NaN", lambda p: _money(p, Decimal("NaN")), always=True),
    _v("Money infinite", lambda p: _money(p, Decimal("Infinity")), always=True),
    _v("Money beyond the largest amount", lambda p: _money(p, Decimal(10) ** 15),
       always=True),
    _v("Money at the largest amount", lambda p: _money(p, Decimal(10) ** 15 - 1)),
    _v("Money of a float", lambda p: _money(p, 10.5), always=True),
    _v("Money of an int", lambda p: _money(p, 10)),
    _v("Money in an unknown currency", lambda p: _money(p, Decimal(1), "XYZ"), always=True),
    _v("Money in a lower-case currency", lambda p: _money(p, Decimal(1), "cny"), always=True),
    _v("float where Money belongs", lambda p: _base_as(p, lambda b: float(b.amount), 10.5)),
    _v("Decimal where Money belongs", lambda p: _base_as(p, lambda b: b.amount, Decimal(10))),
    # enumerations
    _v("member of the wrong enumeration", _wrong_enum),
    _v("enumeration value as text", lambda p: _as_text(p) if isinstance(p.base, enum.Enum)
       else "phone"),
)
