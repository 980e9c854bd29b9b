"""Value objects and enumerations shared by the whole domain (R1, R5, R6, R8, R30)."""

from __future__ import annotations

import enum
import reprlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs

from aftersales.domain.currencies import is_currency, minor_unit
from aftersales.errors import ValidationError

__all__ = [
    "MAX_AMOUNT",
    "MAX_INSTANT",
    "MAX_TEXT",
    "MIN_INSTANT",
    "Address",
    "Category",
    "Channel",
    "Contact",
    "CustomerKind",
    "CustomerTier",
    "Impact",
    "Money",
    "Priority",
    "Role",
    "Urgency",
    "check_text",
    "date_problem",
    "elapsed",
    "instant_problem",
    "non_blank",
    "optional_date",
    "optional_text",
    "plain_text",
    "require_aware",
    "shifted",
    "shown",
    "text_problem",
]


#: The earliest and latest instants the library accepts (far enough for any service record,
#: near enough that every arithmetic step and every storage engine stays in range).
MIN_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(2999, 12, 31, tzinfo=UTC)
# the wall-clock bounds an instant's own reading must keep (a day inside the range, so that
# no time zone's offset carries it out of it)
_EARLIEST = MIN_INSTANT.replace(tzinfo=None) + timedelta(days=1)
_LATEST = MAX_INSTANT.replace(tzinfo=None) - timedelta(days=1)
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2999, 12, 31)
#: Money magnitudes stay below this (a quadrillion).
MAX_AMOUNT = Decimal(10) ** 15
#: Text that no query column holds is still bounded (a note, a description, a report).
MAX_TEXT = 10_000

_EXPONENTS = {n: Decimal(1).scaleb(-n) for n in range(5)}


def elapsed(start: datetime, end: datetime) -> timedelta:
    """The absolute time from ``start`` to ``end``.

    Python subtracts two datetimes of the same ``tzinfo`` by wall clock (across a DST change
    that is an hour off); this subtracts instants, so the answer is the same whatever zones
    the values carry and whichever storage returned them.
    """
    return end.astimezone(UTC) - start.astimezone(UTC)


def shifted(at: datetime, delta: timedelta) -> datetime:
    """The instant ``delta`` after ``at`` (absolute time), expressed in ``at``'s zone."""
    return (at.astimezone(UTC) + delta).astimezone(at.tzinfo)


def text_problem(value: object, *, required: bool, max_length: int) -> str | None:
    """What is wrong with ``value`` as text, or None: not a string, blank when required, too
    long, a NUL character or a lone surrogate (neither can be stored faithfully)."""
    if not isinstance(value, str):
        return f"expected text, got {type(value).__name__}"
    if required and not value.strip():
        return "must not be blank"
    if len(value) > max_length:
        return f"is longer than {max_length} characters"
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain lone surrogates"
    return None


def check_text(
    entity: str, field: str, value: object, *, required: bool = True,
    max_length: int = MAX_TEXT,
) -> str:
    """``value`` if it is acceptable text (see :func:`text_problem`), else ValidationError."""
    problem = text_problem(value, required=required, max_length=max_length)
    if problem is not None:
        raise ValidationError(entity, field, problem)
    assert isinstance(value, str)
    return value


def instant_problem(value: object) -> str | None:
    """What is wrong with ``value`` as an instant, or None: it must be a timezone-aware
    datetime between :data:`MIN_INSTANT` and :data:`MAX_INSTANT`."""
    if not isinstance(value, datetime):
        return f"expected a datetime, got {type(value).__name__}"
    try:
        offset = value.utcoffset()
    except Exception as error:  # a broken tzinfo
        return f"has an unusable time zone ({type(error).__name__})"
    if value.tzinfo is None or offset is None:
        return "datetime must be timezone-aware"
    if not _EARLIEST <= value.replace(tzinfo=None) <= _LATEST:
        return f"must lie between {MIN_INSTANT:%Y} and {MAX_INSTANT:%Y}"
    return None


def require_aware(entity: str, field: str, value: datetime) -> datetime:
    """Return ``value`` if it is a timezone-aware datetime in range, else ValidationError."""
    problem = instant_problem(value)
    if problem is not None:
        raise ValidationError(entity, field, problem)
    return value


def date_problem(value: object) -> str | None:
    """What is wrong with ``value`` as a calendar day, or None."""
    if not isinstance(value, date) or isinstance(value, datetime):
        return f"expected a date, got {type(value).__name__}"
    if not MIN_DATE <= value <= MAX_DATE:
        return f"must lie between {MIN_DATE:%Y} and {MAX_DATE:%Y}"
    return None


def non_blank(
    entity: str, max_length: int = MAX_TEXT
) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """An attrs validator: the field must be non-blank, storable text."""

    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        check_text(entity, attribute.name, value, max_length=max_length)

    return check


def optional_date(entity: str) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """An attrs validator: the field is None or a ``datetime.date`` (not a datetime)."""

    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            problem = date_problem(value)
            if problem is not None:
                raise ValidationError(entity, attribute.name, problem)

    return check


def optional_text(
    entity: str, max_length: int = MAX_TEXT
) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """An attrs validator: the field is None or storable text (blank allowed)."""

    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            check_text(entity, attribute.name, value, required=False, max_length=max_length)

    return check


def plain_text(
    entity: str, max_length: int = MAX_TEXT
) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """An attrs validator: the field is storable text, blank allowed (never None)."""

    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        check_text(entity, attribute.name, value, required=False, max_length=max_length)

    return check


_SHOWN = reprlib.Repr()
_SHOWN.maxlevel = 3
_SHOWN.maxstring = _SHOWN.maxother = 60


def shown(value: object) -> str:
    """``value`` for an error message: a bounded repr that never fails (a structure nested
    thousands deep, or an object whose repr raises, is shown shortened)."""
    try:
        return _SHOWN.repr(value)
    except Exception:  # a repr that raises
        return f"<{type(value).__name__}>"


class CustomerKind(enum.StrEnum):
    """R1: a customer is a person or an organisation."""

    PERSON = "person"
    ORGANISATION = "organisation"


class CustomerTier(enum.StrEnum):
    """R1: customer tier; key accounts (大客户) may get stronger commitments."""

    STANDARD = "standard"
    KEY_ACCOUNT = "key_account"
    VIP = "vip"


class Category(enum.StrEnum):
    """R5: what kind of request the customer raised."""

    PRODUCT_INQUIRY = "product_inquiry"
    FAULT = "fault"
    COMPLAINT = "complaint"
    OTHER = "other"


class Channel(enum.StrEnum):
    """R6: where the request came in."""

    PHONE = "phone"
    EMAIL = "email"
    FAX = "fax"
    WEB = "web"
    WALK_IN = "walk_in"
    CALLBACK = "callback"


class Impact(enum.IntEnum):
    """R8: how much of the customer's operation is affected (1 = most)."""

    EXTENSIVE = 1  # core system down / large-area outage
    SIGNIFICANT = 2  # serious degradation
    MODERATE = 3  # a non-core fault affecting some users
    MINOR = 4  # a question, no operational impact


class Urgency(enum.IntEnum):
    """R8: how soon the customer needs it (1 = most urgent)."""

    HIGH = 1
    MEDIUM = 2
    LOW = 3


class Priority(enum.IntEnum):
    """R8: the derived priority; P1 is the most urgent."""

    P1 = 1
    P2 = 2
    P3 = 3
    P4 = 4


class Role(enum.StrEnum):
    """R30: who does what."""

    CLERK = "clerk"
    ENGINEER = "engineer"
    SUPERVISOR = "supervisor"
    CUSTOMER_REP = "customer_rep"
    CUSTOMER = "customer"


@attrs.frozen
class Money:
    """An amount of money: a Decimal in an ISO 4217 currency, never a float.

    The amount is kept at exactly its currency's minor unit (two decimals for CNY, none for
    JPY, three for KWD: :func:`~aftersales.domain.currencies.minor_unit`): ``Money(
    Decimal("5"), "CNY")`` holds ``5.00``, and an amount finer than the minor unit (0.001 CNY,
    0.5 JPY) is refused. Computed amounts round explicitly through :meth:`of` or
    :meth:`times`. Magnitudes are bounded by :data:`MAX_AMOUNT`.
    """

    amount: Decimal
    currency: str

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.currency, str) or not is_currency(self.currency):
            raise ValidationError("Money", "currency",
                                  f"{shown(self.currency)} is not an ISO 4217 code")
        amount = self.amount
        if not isinstance(amount, Decimal):
            raise ValidationError("Money", "amount", "must be a Decimal (never a float)")
        if not amount.is_finite():
            raise ValidationError("Money", "amount", "must be finite")
        if abs(amount) >= MAX_AMOUNT:
            raise ValidationError("Money", "amount", f"must be below {MAX_AMOUNT:,} in size")
        exponent = _EXPONENTS[minor_unit(self.currency)]
        quantized = amount.quantize(exponent)
        if quantized != amount:
            raise ValidationError(
                "Money", "amount",
                f"{amount} has more decimals than {self.currency} has "
                f"({minor_unit(self.currency)})",
            )
        object.__setattr__(self, "amount", quantized + 0)  # + 0 turns -0 into 0

    @classmethod
    def of(cls, amount: Decimal | int, currency: str, rounding: str = ROUND_HALF_UP) -> Money:
        """``amount`` rounded to ``currency``'s minor unit (half up by default)."""
        if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
            raise ValidationError("Money", "amount", "must be a Decimal or an int (never a float)")
        if not is_currency(currency):
            raise ValidationError("Money", "currency", f"{shown(currency)} is not an ISO 4217 code")
        value = Decimal(amount)
        if not value.is_finite() or abs(value) >= MAX_AMOUNT:
            raise ValidationError("Money", "amount", f"must be finite and below {MAX_AMOUNT:,}")
        return cls(value.quantize(_EXPONENTS[minor_unit(currency)], rounding=rounding), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``."""
        return cls(Decimal(0), currency)

    def times(self, factor: Decimal, rounding: str = ROUND_HALF_UP) -> Money:
        """This amount times ``factor``, rounded to the minor unit (half up by default)."""
        return Money.of(self.amount * factor, self.currency, rounding)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise ValidationError("Money", "amount", f"cannot combine Money with {shown(other)}")
        if other.currency != self.currency:
            raise ValidationError(
                "Money", "currency", f"cannot combine {self.currency} with {other.currency}"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    @property
    def is_negative(self) -> bool:
        """True below zero."""
        return self.amount < 0

    @property
    def is_zero(self) -> bool:
        """True at zero."""
        return self.amount == 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


@attrs.frozen
class Contact:
    """R1: a contact person of a customer."""

    name: str = attrs.field(validator=non_blank("Contact", 200))
    phone: str | None = attrs.field(default=None, validator=optional_text("Contact", 80))
    email: str | None = attrs.field(default=None, validator=optional_text("Contact", 320))


@attrs.frozen
class Address:
    """R1: a postal or site address."""

    line: str = attrs.field(validator=non_blank("Address", 500))
    city: str = attrs.field(default="", validator=plain_text("Address", 200))
    region: str = attrs.field(default="", validator=plain_text("Address", 200))
    postcode: str = attrs.field(default="", validator=plain_text("Address", 40))
    country: str = attrs.field(default="", validator=plain_text("Address", 100))
