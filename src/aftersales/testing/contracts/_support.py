"""Shared pieces of the contract suite: value strategies, the comparison of stored and
read-back data, the query oracle and a clock for changes. Private: use the contract classes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from aftersales.domain.kernel import Aggregate, AggregateKind
from aftersales.domain.values import MAX_TEXT, Money
from aftersales.ports import UnitOfWork
from aftersales.serialization import make_converter

UowFactory = Callable[[], UnitOfWork]

_HEALTH = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.differing_executors,
    HealthCheck.data_too_large,
]
#: Real databases are slower than memory: moderate example counts. A failure is reported as
#: generated (shrinking aggregates built step by step against a database takes minutes);
#: Hypothesis prints the seed to replay it.
SETTINGS = settings(
    max_examples=10, deadline=None, suppress_health_check=_HEALTH,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
#: Tests that commit or query many times per example.
HEAVY = settings(SETTINGS, max_examples=5)

# --- values ----------------------------------------------------------------------------------

ids: st.SearchStrategy[UUID] = st.builds(uuid4)

TIMEZONES = [
    UTC,
    timezone(timedelta(hours=8)),  # Beijing
    timezone(timedelta(hours=5, minutes=45)),
    timezone(timedelta(hours=-3, minutes=-30)),
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=-12)),
    ZoneInfo("Europe/Berlin"),  # DST: the same wall time means two instants
    ZoneInfo("America/New_York"),
]
timezones = st.sampled_from(TIMEZONES)
CHINESE = [
    "北京某某科技有限公司",
    "打印机卡纸",
    "服务器宕机，核心系统无法访问",
    "上海市浦东新区张江路88号",
    "王工程师",
    "客户投诉：维修超期三天",
    "已更换硒鼓，测试打印正常",
    "会诊：主板故障，需返厂",
]
_chars = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")


def texts(max_size: int = 40) -> st.SearchStrategy[str]:
    """Possibly blank text: Chinese samples or any Unicode (no NUL, no lone surrogates)."""
    return st.one_of(st.sampled_from(CHINESE), st.text(_chars, max_size=max_size))


def names(max_size: int = 40) -> st.SearchStrategy[str]:
    """Non-blank text of at most ``max_size`` characters."""
    return st.one_of(
        st.sampled_from(CHINESE),
        st.text(_chars, min_size=1, max_size=max_size).filter(lambda s: bool(s.strip())),
    )


def big_texts(size: int = MAX_TEXT) -> st.SearchStrategy[str]:
    """Texts of ``size`` characters (the longest notes the domain takes)."""
    return names(8).map(lambda s: (s * (size // len(s) + 1))[:size])


def long_texts() -> st.SearchStrategy[str]:
    """Mostly short non-blank text, sometimes as long as the domain allows (10,000)."""
    return st.one_of(names(), names(), names(), big_texts())


def instants(
    low: datetime = datetime(2000, 1, 1), high: datetime = datetime(2080, 12, 31)
) -> st.SearchStrategy[datetime]:
    """Aware datetimes in fixed offsets and DST zones, microseconds included."""
    return st.datetimes(min_value=low, max_value=high, timezones=timezones)


def later(at: datetime, low: timedelta, high: timedelta) -> st.SearchStrategy[datetime]:
    """An instant ``low``..``high`` after ``at``, in any of the zones."""
    span = int((high - low).total_seconds())
    return st.tuples(st.integers(0, span), timezones).map(
        lambda pair: (at.astimezone(UTC) + low + timedelta(seconds=pair[0])).astimezone(pair[1])
    )


days = st.dates(min_value=date(1990, 1, 1), max_value=date(2079, 12, 31))


def money(currency: str = "CNY", high: int = 10**12) -> st.SearchStrategy[Money]:
    """Non-negative money of ``currency`` (two decimals), extremes included."""
    cents = st.one_of(st.sampled_from([0, 1, 99, high * 100 - 1]), st.integers(0, high * 100 - 1))
    return cents.map(lambda c: Money(Decimal(c).scaleb(-2), currency))


# --- time for changes ----------------------------------------------------------------------

#: Changes made by the contract happen after every generated time.
CHANGES_FROM = datetime(2090, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))


class Clock:
    """Strictly increasing instants, one per call, after every generated time."""

    def __init__(self, start: datetime = CHANGES_FROM) -> None:
        self._next = start

    def __call__(self) -> datetime:
        now, self._next = self._next, self._next + timedelta(minutes=7, microseconds=1)
        return now


# --- comparison ----------------------------------------------------------------------------

_CONVERTER = make_converter()
_ISO_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def _instants(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"amount", "currency"}:  # Money: compare the amount by value
            return {"amount": Decimal(value["amount"]), "currency": value["currency"]}
        return {k: _instants(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_instants(v) for v in value]
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC).isoformat()
    return value


def snapshot(item: object) -> Any:
    """What must survive storage: the unstructured data without ``version``, datetimes as
    UTC instants (a store may normalise zones; microseconds must survive), money by value."""
    data = _CONVERTER.unstructure(item)
    if isinstance(data, dict):
        data.pop("version", None)
    return _instants(data)


def same_instant(a: datetime, b: datetime) -> bool:
    """True if ``a`` and ``b`` are the same absolute instant."""
    return a.astimezone(UTC) == b.astimezone(UTC)


# --- the query oracle (written apart from the adapters' own matching and ordering) -----------


def stored_value(kind: AggregateKind[Any], name: str, item: Aggregate) -> Any:
    """The value of query field ``name`` of ``item`` as a storage holds it (enumerations by
    their value)."""
    field = kind.field(name)
    value = field.get(item) if field.get is not None else getattr(item, name)
    return value.value if isinstance(value, Enum) else value


def wanted(kind: AggregateKind[Any], item: Aggregate, criteria: dict[str, Any]) -> bool:
    """True if ``item`` satisfies every criterion: equal to a value (None: absent), or any of
    the values of a collection."""
    for name, value in criteria.items():
        have = stored_value(kind, name, item)
        if isinstance(value, list | tuple | set | frozenset):
            if have not in set(value):
                return False
        elif have != value:
            return False
    return True


def _order_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, datetime):
        return (1, value.astimezone(UTC))
    return (1, value)


def find_order(kind: AggregateKind[Any], item: Aggregate) -> tuple[Any, ...]:
    """Where ``find`` puts ``item``: by the kind's ``order_by`` fields (None first, instants
    as instants), then by id."""
    return (*(_order_key(stored_value(kind, n, item)) for n in kind.order_by), item.id)


def in_find_order(kind: AggregateKind[Any], items: Iterable[Aggregate]) -> list[Aggregate]:
    """``items`` sorted as ``find`` must return them."""
    return sorted(items, key=lambda i: find_order(kind, i))
