"""Customer, equipment and service-plan files (R1, R2, R4)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from uuid import UUID

import attrs

from aftersales.domain.values import (
    Address,
    Contact,
    CustomerKind,
    CustomerTier,
    non_blank,
    optional_date,
    optional_text,
)
from aftersales.errors import ValidationError

__all__ = ["Customer", "Equipment", "ServicePlan"]


def _contacts(values: Iterable[Contact]) -> tuple[Contact, ...]:
    if isinstance(values, str | bytes) or not all(isinstance(v, Contact) for v in values):
        raise ValidationError("Customer", "contacts", "must be Contact values")
    return tuple(values)


def _addresses(values: Iterable[Address]) -> tuple[Address, ...]:
    if isinstance(values, str | bytes) or not all(isinstance(v, Address) for v in values):
        raise ValidationError("Customer", "addresses", "must be Address values")
    return tuple(values)


@attrs.define(eq=False)
class Customer:
    """R1: the customer service file (客户服务档案).

    The service history is not copied here: it is queried from the requests that name the
    customer (R3).
    """

    id: UUID
    name: str = attrs.field(validator=non_blank("Customer"))
    kind: CustomerKind = CustomerKind.ORGANISATION
    tier: CustomerTier = CustomerTier.STANDARD
    contacts: tuple[Contact, ...] = attrs.field(default=(), converter=_contacts)
    addresses: tuple[Address, ...] = attrs.field(default=(), converter=_addresses)
    version: int = 0


@attrs.define(eq=False)
class Equipment:
    """R2: the equipment file (设备档案). Equipment of other makers gets a file too (``maker``)."""

    id: UUID
    serial: str = attrs.field(validator=non_blank("Equipment"))
    model: str = attrs.field(validator=non_blank("Equipment"))
    owner_id: UUID | None = None
    product_line: str = attrs.field(default="", validator=optional_text("Equipment"))
    maker: str = attrs.field(default="", validator=optional_text("Equipment"))
    hardware_version: str = attrs.field(default="", validator=optional_text("Equipment"))
    software_version: str = attrs.field(default="", validator=optional_text("Equipment"))
    # installation / acceptance (验收) date:
    installed_on: date | None = attrs.field(default=None, validator=optional_date("Equipment"))
    purchased_on: date | None = attrs.field(default=None, validator=optional_date("Equipment"))
    # 发票 reference; None when the customer has no invoice:
    invoice_ref: str | None = attrs.field(default=None, validator=optional_text("Equipment"))
    produced_on: date | None = attrs.field(default=None, validator=optional_date("Equipment"))
    location: str = attrs.field(default="", validator=optional_text("Equipment"))
    user: str = attrs.field(default="", validator=optional_text("Equipment"))
    asset_label: str = attrs.field(default="", validator=optional_text("Equipment"))
    version: int = 0

    @property
    def has_invoice(self) -> bool:
        """True when a purchase invoice is on file (R20 uses its date)."""
        return bool(self.invoice_ref) and self.purchased_on is not None


def _uuid_set(values: Iterable[UUID]) -> frozenset[UUID]:
    return frozenset(values)


@attrs.define(eq=False)
class ServicePlan:
    """R4: a service plan / agreement (客户服务计划) for one customer.

    The numbers (callback frequency, response commitment, maintenance cadence) are per
    contract; nothing here has a built-in default beyond "not promised".
    """

    id: UUID
    customer_id: UUID
    starts_on: date
    ends_on: date
    equipment_ids: frozenset[UUID] = attrs.field(factory=frozenset, converter=_uuid_set)
    content: str = ""
    callback_every: timedelta | None = None
    response_within: timedelta | None = None
    maintenance_every: timedelta | None = None
    extends_warranty: bool = True
    version: int = 0

    def __attrs_post_init__(self) -> None:
        if self.ends_on < self.starts_on:
            raise ValidationError("ServicePlan", "ends_on", "ends before it starts")

    def covers(self, equipment_id: UUID, on: date) -> bool:
        """True if the plan covers ``equipment_id`` on day ``on``."""
        return equipment_id in self.equipment_ids and self.starts_on <= on <= self.ends_on
