"""Value objects and enumerations shared by the whole domain (R1, R5, R6, R8, R30)."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs

from aftersales.errors import ValidationError

__all__ = [
    "Actor",
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
    "non_blank",
    "optional_date",
    "optional_text",
    "require_aware",
]


def require_aware(entity: str, field: str, value: datetime) -> datetime:
    """Return ``value`` if it is a timezone-aware datetime, else raise ValidationError."""
    if not isinstance(value, datetime):
        raise ValidationError(entity, field, f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(entity, field, "datetime must be timezone-aware")
    return value


def non_blank(entity: str) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """An attrs validator: the field must be a non-blank string (ValidationError otherwise)."""

    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(entity, attribute.name, "must be a non-blank string")

    return check


def optional_date(entity: str) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """An attrs validator: the field is None or a ``datetime.date`` (not a datetime)."""

    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
            raise ValidationError(entity, attribute.name, "must be a date (or absent)")

    return check


def optional_text(entity: str) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """An attrs validator: the field is None or a string."""

    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not isinstance(value, str):
            raise ValidationError(entity, attribute.name, "must be text")

    return check


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


_CURRENCY = re.compile(r"^[A-Z]{3}$")


@attrs.frozen
class Money:
    """An amount of money: a Decimal and an ISO 4217 currency code, never a float."""

    amount: Decimal
    currency: str

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or isinstance(self.amount, bool):
            raise ValidationError("Money", "amount", "must be a Decimal (never a float)")
        if not self.amount.is_finite():
            raise ValidationError("Money", "amount", "must be finite")
        if not isinstance(self.currency, str) or not _CURRENCY.match(self.currency):
            raise ValidationError("Money", "currency", "must be a 3-letter ISO 4217 code")

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``."""
        return cls(Decimal(0), currency)

    def _same(self, other: Money) -> None:
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

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


@attrs.frozen
class Contact:
    """R1: a contact person of a customer."""

    name: str = attrs.field(validator=non_blank("Contact"))
    phone: str | None = None
    email: str | None = None


@attrs.frozen
class Address:
    """R1: a postal or site address."""

    line: str = attrs.field(validator=non_blank("Address"))
    city: str = ""
    region: str = ""
    postcode: str = ""
    country: str = ""


def _roles(values: Any) -> frozenset[Role]:
    roles = frozenset(values)
    if isinstance(values, str) or not roles or not all(isinstance(r, Role) for r in roles):
        raise ValidationError("Actor", "roles", "must be one or more Role values")
    return roles


@attrs.frozen
class Actor:
    """R30: someone acting on the system, with roles.

    ``customer_id`` is set when the actor is (a contact of) a customer; customers may act only
    on their own requests.
    """

    id: UUID
    name: str = attrs.field(validator=non_blank("Actor"))
    roles: frozenset[Role] = attrs.field(converter=_roles)
    customer_id: UUID | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.id, UUID):
            raise ValidationError("Actor", "id", "must be a UUID")
        if self.customer_id is not None and not isinstance(self.customer_id, UUID):
            raise ValidationError("Actor", "customer_id", "must be a UUID")
        if Role.CUSTOMER in self.roles and self.customer_id is None:
            raise ValidationError("Actor", "customer_id", "a customer actor names its customer")

    def has(self, role: Role) -> bool:
        """True if the actor holds ``role``."""
        return role in self.roles
