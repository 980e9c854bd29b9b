"""Strategies for plain values: text (Chinese included), time, money and the
enumerations.

Part of :mod:`aftersales.testing.strategies`: import them from there.
"""

from __future__ import annotations

import functools
import math
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal

from hypothesis import strategies as st

from aftersales.domain.currencies import minor_unit
from aftersales.domain.request import DispatchApproval
from aftersales.domain.values import (
    MAX_AMOUNT,
    Category,
    Channel,
    CustomerKind,
    CustomerTier,
    Impact,
    Money,
    Priority,
    Role,
    Urgency,
)
from aftersales.domain.warranty import Exclusion, WarrantyBasis

__all__ = [
    "ISO_CURRENCIES",
    "WORDS",
    "amounts",
    "aware_datetimes",
    "categories",
    "channels",
    "chinese_texts",
    "currencies",
    "customer_kinds",
    "customer_tiers",
    "dates",
    "dispatch_approvals",
    "durations",
    "exclusion_lists",
    "exclusion_sets",
    "exclusions",
    "fixed_offset_timezones",
    "impacts",
    "money",
    "names",
    "non_blank_texts",
    "priorities",
    "role_sets",
    "roles",
    "texts",
    "urgencies",
    "warranty_bases",
    "words",
    "words_or_blank",
]

# --- text ---------------------------------------------------------------------------------

#: Characters every adapter can store: no surrogates (Cs) and no NUL.
_CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)


@functools.cache
def texts(*, min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Any unicode text (blank allowed), without surrogates or NUL."""
    return st.text(_CHARACTERS, min_size=min_size, max_size=max_size)


@functools.cache
def chinese_texts(*, min_size: int = 1, max_size: int = 20) -> st.SearchStrategy[str]:
    """Text of CJK unified ideographs only, e.g. ``"打印机卡纸"``."""
    return st.text(_CJK, min_size=min_size, max_size=max_size)


@functools.cache
def non_blank_texts(*, max_size: int = 40) -> st.SearchStrategy[str]:
    """Text with at least one non-whitespace character: Chinese, ASCII or any unicode."""
    return st.one_of(
        chinese_texts(max_size=min(max_size, 20)),
        st.text(_CHARACTERS, min_size=1, max_size=max_size),
        st.from_regex(r"[A-Za-z][A-Za-z0-9 .-]{0,20}", fullmatch=True),
    ).filter(lambda s: bool(s.strip()))


@functools.cache
def names() -> st.SearchStrategy[str]:
    """Person or organisation names: Chinese (``"王工"``), Latin or mixed, never blank."""
    return st.one_of(
        chinese_texts(min_size=2, max_size=12),
        st.from_regex(r"[A-Z][a-z]{1,10}( [A-Z][a-z]{1,10})?", fullmatch=True),
        non_blank_texts(max_size=24),
    )


#: Realistic, never blank phrases of the seed documents (Chinese, English and mixed).
WORDS: tuple[str, ...] = (
    "不开机", "屏幕闪烁 flicker", "no power", "硬盘异响", "已修复 fixed", "客户确认",
    "键盘失灵", "replaced the fan", "系统重装 OS restore", "王工", "A", "一",
)


@functools.cache
def words() -> st.SearchStrategy[str]:
    """Short, never blank text from :data:`WORDS`: fast to draw and to shrink, for stateful
    tests whose rules do not depend on the text (use :func:`non_blank_texts` to fuzz it)."""
    return st.sampled_from(WORDS)


@functools.cache
def words_or_blank() -> st.SearchStrategy[str]:
    """Like :func:`words`, but blank now and then: ``""``, spaces, a tab, an ideographic
    space (U+3000): what a required text field must refuse."""
    return st.one_of(words(), st.sampled_from(("", " ", "\t", "\u3000")))


# --- time ---------------------------------------------------------------------------------

_COMMON_OFFSETS = (0, 8 * 60, 5 * 60 + 30, 5 * 60 + 45, -5 * 60, -3 * 60 - 30, 9 * 60,
                   14 * 60, -12 * 60, 12 * 60 + 45)


@functools.cache
def fixed_offset_timezones() -> st.SearchStrategy[tzinfo]:
    """Fixed-offset timezones: UTC, +08:00 (China), +05:30, +05:45, -03:30 ... and any whole
    minute offset strictly between -24 h and +24 h."""
    minutes = st.one_of(
        st.sampled_from(_COMMON_OFFSETS), st.integers(min_value=-(24 * 60 - 1),
                                                       max_value=24 * 60 - 1)
    )
    return minutes.map(lambda m: timezone(timedelta(minutes=m)))


@functools.cache
def aware_datetimes(
    *,
    min_value: datetime = datetime(1990, 1, 1),
    max_value: datetime = datetime(2199, 12, 31),
) -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes in fixed-offset zones (bounds are naive, as in Hypothesis)."""
    return st.datetimes(
        min_value=min_value, max_value=max_value, timezones=fixed_offset_timezones()
    )


@functools.cache
def dates(
    *, min_value: date = date(1980, 1, 1), max_value: date = date(2199, 12, 31)
) -> st.SearchStrategy[date]:
    """Calendar dates (installation, invoice, production, plan dates)."""
    return st.dates(min_value=min_value, max_value=max_value)


@functools.cache
def durations(
    *, min_value: timedelta = timedelta(0), max_value: timedelta = timedelta(days=3660)
) -> st.SearchStrategy[timedelta]:
    """Durations such as a callback frequency or a response commitment (R4, R26)."""
    return st.timedeltas(min_value=min_value, max_value=max_value)


# --- money --------------------------------------------------------------------------------

#: A sample of ISO 4217 codes, CNY first.
ISO_CURRENCIES: tuple[str, ...] = (
    "CNY", "USD", "EUR", "HKD", "JPY", "GBP", "TWD", "KRW", "SGD", "CHF", "KWD", "BHD", "CLF",
)


def currencies() -> st.SearchStrategy[str]:
    """ISO 4217 currency codes (including 0- and 3/4-decimal currencies such as JPY, KWD)."""
    return st.sampled_from(ISO_CURRENCIES)


@functools.cache
def amounts() -> st.SearchStrategy[Decimal]:
    """Finite Decimal numbers of any shape: everyday prices with 0-4 places, and extremes
    (huge and tiny exponents, negative zero, many digits). Most are *not* valid
    :class:`Money` amounts (use :func:`money` for those): they test what refuses them."""
    return st.one_of(
        st.decimals(min_value=Decimal(-10**9), max_value=Decimal(10**9), places=2),
        st.decimals(allow_nan=False, allow_infinity=False, places=4),
        st.decimals(allow_nan=False, allow_infinity=False),
        st.sampled_from([Decimal("0"), Decimal("-0"), Decimal("0.00"), Decimal("1E+999999"),
                         Decimal("-1E-999999"), Decimal("99999999999999999999999999.99")]),
    )


@st.composite
def _money(
    draw: st.DrawFn, currency: str | None, min_value: Decimal | None,
    max_value: Decimal | None,
) -> Money:
    code = currency if currency is not None else draw(currencies())
    places = minor_unit(code)
    scale = 10**places
    top = int(MAX_AMOUNT) * scale - 1  # |amount| < MAX_AMOUNT, in minor units
    low = -top if min_value is None else max(-top, math.ceil(min_value * scale))
    high = top if max_value is None else min(top, math.floor(max_value * scale))
    if low > high:
        raise ValueError(f"money(): no {code} amount between {min_value} and {max_value}")
    edges = sorted({low, high, min(max(0, low), high), min(max(1, low), high)})
    units = draw(st.one_of(
        st.integers(min_value=max(low, -10**6 * scale), max_value=min(high, 10**6 * scale))
        if max(low, -10**6 * scale) <= min(high, 10**6 * scale) else st.nothing(),
        st.integers(min_value=low, max_value=high),
        st.sampled_from(edges),
    ))
    return Money(Decimal(units).scaleb(-places), code)


@functools.cache
def money(
    *, currency: str | None = None, min_value: Decimal | None = None,
    max_value: Decimal | None = None,
) -> st.SearchStrategy[Money]:
    """Valid :class:`Money` (R22, R25) in ``currency`` or a random ISO code: exactly at the
    currency's minor unit (0 decimals for JPY, 3 for KWD, 4 for CLF), below
    :data:`~aftersales.domain.values.MAX_AMOUNT` in size, the extremes (the largest
    amounts, zero, the smallest unit) drawn often. ``min_value``/``max_value`` bound the
    amount (in the currency's units, e.g. ``Decimal(0)`` for prices)."""
    return _money(currency, min_value, max_value)


# --- enumerations -------------------------------------------------------------------------


def impacts() -> st.SearchStrategy[Impact]:
    """R8 impact levels."""
    return st.sampled_from(Impact)


def urgencies() -> st.SearchStrategy[Urgency]:
    """R8 urgency levels."""
    return st.sampled_from(Urgency)


def priorities() -> st.SearchStrategy[Priority]:
    """R8 priorities P1-P4."""
    return st.sampled_from(Priority)


def categories() -> st.SearchStrategy[Category]:
    """R5 request categories."""
    return st.sampled_from(Category)


def channels() -> st.SearchStrategy[Channel]:
    """R6 intake channels."""
    return st.sampled_from(Channel)


def roles() -> st.SearchStrategy[Role]:
    """R30 roles."""
    return st.sampled_from(Role)


def role_sets(*, min_size: int = 1) -> st.SearchStrategy[frozenset[Role]]:
    """Non-empty sets of roles (an actor may hold several)."""
    return st.frozensets(roles(), min_size=max(min_size, 1))


def customer_kinds() -> st.SearchStrategy[CustomerKind]:
    """R1 person / organisation."""
    return st.sampled_from(CustomerKind)


def customer_tiers() -> st.SearchStrategy[CustomerTier]:
    """R1 tiers (standard, key account, VIP)."""
    return st.sampled_from(CustomerTier)


def exclusions() -> st.SearchStrategy[Exclusion]:
    """R20 warranty exclusions (human damage, modification, ...)."""
    return st.sampled_from(Exclusion)


def exclusion_lists(*, max_size: int = 6) -> st.SearchStrategy[list[Exclusion]]:
    """Diagnosis findings as a list (repeats allowed), as passed to ``determine``."""
    return st.lists(exclusions(), max_size=max_size)


def exclusion_sets() -> st.SearchStrategy[frozenset[Exclusion]]:
    """Sets of exclusions, as configured on a :class:`WarrantyPolicy`."""
    return st.frozensets(exclusions())


def warranty_bases() -> st.SearchStrategy[WarrantyBasis]:
    """Every R20 warranty basis."""
    return st.sampled_from(WarrantyBasis)


def dispatch_approvals() -> st.SearchStrategy[DispatchApproval]:
    """R12 dispatch-approval states."""
    return st.sampled_from(DispatchApproval)
