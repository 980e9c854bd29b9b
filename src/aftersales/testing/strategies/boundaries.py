"""Strategies aimed at the edges of the rules: the days around a coverage (R20), the
durations around a threshold (R16), the days that decide a window (R21) and the
instants around a daylight-saving change.

Part of :mod:`aftersales.testing.strategies`: import them from there.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from aftersales.testing.oracle import months_later

__all__ = [
    "DST_ZONES",
    "before_dst_changes",
    "coverage_boundary_days",
    "coverage_start_dates",
    "day_edges",
    "days_after",
    "dst_datetimes",
    "dst_transitions",
    "durations_around",
]

# --- boundaries ------------------------------------------------------------------------------
#
# A rule with a threshold is wrong most often exactly at it (``<`` for ``<=``, wall clock for
# absolute time, a day off at midnight). Uniform random values almost never land there; these
# strategies aim at the edges of R16 (exactly 2 days), R20 (the first and last day of
# coverage), R21 (day 15 and 16 after pick-up) and daylight-saving changes.

#: Zones with daylight saving time, whose wall clocks jump (one hour, twice a year).
DST_ZONES: tuple[str, ...] = ("Europe/Berlin", "America/New_York")

_MIN_DAY = date(1900, 1, 2)
_MAX_DAY = date(2999, 12, 30)


def _day_plus(day: date, days: int) -> date:
    try:
        moved = day + timedelta(days=days)
    except OverflowError:
        return day
    return min(max(moved, _MIN_DAY), _MAX_DAY)


def coverage_boundary_days(starts_on: date, ends_on: date) -> st.SearchStrategy[date]:
    """R20: the days a coverage rule gets wrong: the day before ``starts_on``, ``starts_on``
    (the first covered day), the last covered day (``ends_on`` - 1), ``ends_on`` (the first
    uncovered day) and the day after, and now and then a few days around them."""
    edges = sorted({_day_plus(starts_on, -1), starts_on, _day_plus(ends_on, -1), ends_on,
                    _day_plus(ends_on, 1)})
    return st.one_of(
        st.sampled_from(edges),
        st.builds(_day_plus, st.sampled_from(edges), st.integers(min_value=-3, max_value=3)),
    )


def coverage_start_dates(on: date, period_months: int) -> st.SearchStrategy[date]:
    """R20: basis dates (installation, invoice, production) that put day ``on`` on an edge of
    a ``period_months`` coverage: ``on`` itself (its first day), one period earlier (``on`` is
    then the first day out of coverage, or the last one in after a month-end clamp) and the
    days next to those."""
    back = months_later(on, -period_months)
    edges = sorted({_day_plus(on, -1), on, _day_plus(on, 1), _day_plus(back, -1), back,
                    _day_plus(back, 1), _day_plus(back, 2)})
    return st.sampled_from(edges)


def durations_around(threshold: timedelta = timedelta(days=2)) -> st.SearchStrategy[timedelta]:
    """R16: durations at a threshold (default 2 days) and just either side of it: exactly,
    ± 1 µs, ± 1 s, ± 1 h (what a daylight-saving change does to wall-clock arithmetic), and
    now and then anything within a day of it."""
    edges = [threshold, *(threshold + timedelta(microseconds=k) for k in (-1, 0, 1))]
    edges += [threshold + timedelta(seconds=k) for k in (-1, 1)]
    edges += [threshold + timedelta(hours=k) for k in (-1, 1)]
    exact = st.sampled_from([e for e in edges if e > timedelta(0)])
    near = st.timedeltas(min_value=threshold - timedelta(days=1),
                         max_value=threshold + timedelta(days=1))
    return st.one_of(exact, exact, near).filter(lambda d: d > timedelta(0))


def day_edges(day: date, zone: tzinfo) -> st.SearchStrategy[datetime]:
    """The first and the last instant of calendar day ``day`` in ``zone`` (00:00 and
    23:59:59.999999), and noon."""
    moments = [time(0, 0), time(23, 59, 59, 999_999), time(12, 0)]
    return st.sampled_from([datetime.combine(day, t, tzinfo=zone) for t in moments])


def days_after(
    start: datetime, zone: tzinfo, *, window_days: int = 15,
) -> st.SearchStrategy[datetime]:
    """R21: instants on the calendar days (in ``zone``) that decide a ``window_days``-day
    window counted from ``start``: day ``window_days`` (the last one inside) and day
    ``window_days`` + 1 (the first one out) most often, day ``window_days`` - 1 and the same
    day now and then, each at its first or last instant (or noon); never before ``start``."""
    first = start.astimezone(zone).date()
    last = window_days
    days = (last, last + 1, last, last + 1, max(last - 1, 0), 0)
    return st.sampled_from(days).flatmap(
        lambda n: day_edges(_day_plus(first, n), zone)
    ).map(lambda at: at if at >= start else start)


@functools.cache
def _transitions(zone_name: str, first_year: int, last_year: int) -> tuple[datetime, ...]:
    """The UTC instants (to the second) at which ``zone_name`` changes its UTC offset."""
    zone = ZoneInfo(zone_name)
    found: list[datetime] = []
    cursor = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    step = timedelta(days=1)
    while cursor < end:
        nxt = cursor + step
        if cursor.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            low, high = cursor, nxt
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if low.astimezone(zone).utcoffset() == middle.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
        cursor = nxt
    return tuple(found)


def dst_transitions(
    zones: Sequence[str] = DST_ZONES, *, years: tuple[int, int] = (2024, 2032),
) -> st.SearchStrategy[datetime]:
    """The instants at which a daylight-saving zone changes its offset (spring forward, fall
    back), expressed in that zone (a :class:`zoneinfo.ZoneInfo`; needs the system time-zone
    database or the ``tzdata`` package)."""
    pairs = [(ZoneInfo(name), at) for name in zones
             for at in _transitions(name, years[0], years[1])]
    return st.sampled_from(pairs).map(lambda pair: pair[1].astimezone(pair[0]))


def dst_datetimes(
    zones: Sequence[str] = DST_ZONES, *, years: tuple[int, int] = (2024, 2032),
) -> st.SearchStrategy[datetime]:
    """Instants near a daylight-saving change, in the changing zone: the change itself,
    ± 1 µs, ± 1 h, ± 1 day, or anything within two days of it. Durations computed across
    them by wall clock are an hour off."""
    offsets = st.one_of(
        st.sampled_from([timedelta(0), timedelta(microseconds=-1), timedelta(microseconds=1),
                         timedelta(hours=-1), timedelta(hours=1), timedelta(days=-1),
                         timedelta(days=1)]),
        st.timedeltas(min_value=timedelta(days=-2), max_value=timedelta(days=2)),
    )
    return st.tuples(dst_transitions(zones, years=years), offsets).map(
        lambda pair: (pair[0].astimezone(UTC) + pair[1]).astimezone(pair[0].tzinfo)
    )


def before_dst_changes(
    zones: Sequence[str] = DST_ZONES, *, years: tuple[int, int] = (2024, 2032),
    within: timedelta = timedelta(days=2),
) -> st.SearchStrategy[datetime]:
    """Instants shortly before a daylight-saving change (1 µs, 1 h, 12 h, 1 day ... up to
    ``within``), in the changing zone: a job started then runs across the change."""
    before = st.one_of(
        st.sampled_from([d for d in (timedelta(microseconds=1), timedelta(hours=1),
                                     timedelta(hours=12), timedelta(days=1), within)
                         if d <= within]),
        st.timedeltas(min_value=timedelta(microseconds=1), max_value=within),
    )
    return st.tuples(dst_transitions(zones, years=years), before).map(
        lambda pair: (pair[0].astimezone(UTC) - pair[1]).astimezone(pair[0].tzinfo)
    )
