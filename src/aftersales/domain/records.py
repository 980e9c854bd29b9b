"""Customer, equipment and service-plan files (R1, R2, R4) and the directory of actors (R30).

Each is an aggregate of the kernel: it has a version, a record of every step (R9: opening the
file, each change) and events. Their small lifecycles (a file is ``active`` or ``retired``; an
actor ``active`` or ``inactive``) are the ``file`` and ``directory`` workflows of
:mod:`aftersales.workflows.records`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import attrs

from aftersales.domain.kernel import Aggregate, AggregateEvent, AggregateKind, QueryField
from aftersales.domain.values import (
    Address,
    Contact,
    CustomerKind,
    CustomerTier,
    Role,
    date_problem,
    non_blank,
    optional_date,
    optional_text,
)
from aftersales.errors import ValidationError

__all__ = [
    "ACTORS",
    "CUSTOMERS",
    "EQUIPMENT",
    "SERVICE_PLANS",
    "Actor",
    "ActorDeactivated",
    "ActorReactivated",
    "ActorRegistered",
    "ActorRolesChanged",
    "Customer",
    "CustomerRegistered",
    "Equipment",
    "EquipmentRegistered",
    "FileState",
    "ServicePlan",
    "ServicePlanAdded",
]


class FileState:
    """The states of a file (customer, equipment, plan, vendor, part) and of an actor."""

    ACTIVE = "active"
    RETIRED = "retired"
    INACTIVE = "inactive"


def _contacts(values: Iterable[Contact]) -> tuple[Contact, ...]:
    if isinstance(values, str | bytes) or not all(isinstance(v, Contact) for v in values):
        raise ValidationError("Customer", "contacts", "must be Contact values")
    return tuple(values)


def _addresses(values: Iterable[Address]) -> tuple[Address, ...]:
    if isinstance(values, str | bytes) or not all(isinstance(v, Address) for v in values):
        raise ValidationError("Customer", "addresses", "must be Address values")
    return tuple(values)


def _enum(entity: str, kind: type[Any]) -> Any:
    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            raise ValidationError(entity, attribute.name, f"unknown {kind.__name__} {value!r}")

    return check


def _optional_uuid(entity: str) -> Any:
    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not isinstance(value, UUID):
            raise ValidationError(entity, attribute.name, "must be a UUID")

    return check


# --- R1 customers ---------------------------------------------------------------------------


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class Customer(Aggregate):
    """R1: the customer service file (客户服务档案).

    The service history is not copied here: it is queried from the requests and repair orders
    that name the customer (R3).
    """

    name: str = attrs.field(validator=non_blank("Customer", 200))
    kind: CustomerKind = attrs.field(
        default=CustomerKind.ORGANISATION, validator=_enum("Customer", CustomerKind)
    )
    tier: CustomerTier = attrs.field(
        default=CustomerTier.STANDARD, validator=_enum("Customer", CustomerTier)
    )
    contacts: tuple[Contact, ...] = attrs.field(default=(), converter=_contacts)
    addresses: tuple[Address, ...] = attrs.field(default=(), converter=_addresses)
    state: str = attrs.field(default=FileState.ACTIVE, converter=str)


@attrs.frozen(kw_only=True)
class CustomerRegistered(AggregateEvent):
    """R1: a customer file was opened."""

    aggregate_type = "Customer"
    customer: str  # the customer's name (``name`` is the event's type name)
    kind: CustomerKind
    tier: CustomerTier


CUSTOMERS: AggregateKind[Customer] = AggregateKind(
    cls=Customer,
    entity="Customer",
    table="customers",
    fields=[
        QueryField("name", str, max_length=200),
        QueryField("tier", str, max_length=40),
        QueryField("state", str, max_length=64),
    ],
    order_by=["name"],
    workflows=["file"],
    description="R1 customer files",
)


# --- R2 equipment ---------------------------------------------------------------------------


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class Equipment(Aggregate):
    """R2: the equipment file (设备档案). Equipment of other makers gets a file too (``maker``).

    ``serial`` is unique per ``model``; ``owner_id`` names the customer who owns the unit.
    """

    serial: str = attrs.field(validator=non_blank("Equipment", 120))
    model: str = attrs.field(validator=non_blank("Equipment", 120))
    owner_id: UUID | None = attrs.field(default=None, validator=_optional_uuid("Equipment"))
    product_line: str = attrs.field(default="", validator=optional_text("Equipment", 120))
    maker: str = attrs.field(default="", validator=optional_text("Equipment", 200))
    hardware_version: str = attrs.field(default="", validator=optional_text("Equipment", 200))
    software_version: str = attrs.field(default="", validator=optional_text("Equipment", 200))
    # installation / acceptance (验收) date:
    installed_on: date | None = attrs.field(default=None, validator=optional_date("Equipment"))
    purchased_on: date | None = attrs.field(default=None, validator=optional_date("Equipment"))
    # 发票 reference; None when the customer has no invoice:
    invoice_ref: str | None = attrs.field(default=None, validator=optional_text("Equipment", 200))
    produced_on: date | None = attrs.field(default=None, validator=optional_date("Equipment"))
    location: str = attrs.field(default="", validator=optional_text("Equipment", 500))
    user: str = attrs.field(default="", validator=optional_text("Equipment", 200))
    asset_label: str = attrs.field(default="", validator=optional_text("Equipment", 200))
    state: str = attrs.field(default=FileState.ACTIVE, converter=str)

    @property
    def has_invoice(self) -> bool:
        """True when a purchase invoice is on file (R20 uses its date)."""
        return bool(self.invoice_ref) and self.purchased_on is not None


@attrs.frozen(kw_only=True)
class EquipmentRegistered(AggregateEvent):
    """R2: an equipment file was opened."""

    aggregate_type = "Equipment"
    serial: str
    model: str
    owner_id: UUID | None


EQUIPMENT: AggregateKind[Equipment] = AggregateKind(
    cls=Equipment,
    entity="Equipment",
    table="equipment",
    fields=[
        QueryField("serial", str, max_length=120),
        QueryField("model", str, max_length=120),
        QueryField("owner_id", UUID),
        QueryField("product_line", str, max_length=120),
    ],
    order_by=["model", "serial"],
    unique_together=[("model", "serial")],
    owner_field="owner_id",
    workflows=["file"],
    description="R2 equipment files",
)


# --- R4 service plans -----------------------------------------------------------------------


def _uuid_set(values: Iterable[UUID]) -> frozenset[UUID]:
    if isinstance(values, str | bytes):
        raise ValidationError("ServicePlan", "equipment_ids", "must be UUIDs")
    found = frozenset(values)
    if not all(isinstance(v, UUID) for v in found):
        raise ValidationError("ServicePlan", "equipment_ids", "must be UUIDs")
    return found


def _duration(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (
        not isinstance(value, timedelta) or value <= timedelta(0) or value > timedelta(days=3660)
    ):
        raise ValidationError("ServicePlan", attribute.name, "must be a positive duration")


def _day(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    problem = date_problem(value)
    if problem is not None:
        raise ValidationError("ServicePlan", attribute.name, problem)


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class ServicePlan(Aggregate):
    """R4: a service plan / agreement (客户服务计划) for one customer.

    The numbers (callback frequency, response commitment, maintenance cadence) are per
    contract; nothing here has a built-in default beyond "not promised".
    """

    customer_id: UUID = attrs.field(validator=_optional_uuid("ServicePlan"))
    starts_on: date = attrs.field(validator=_day)
    ends_on: date = attrs.field(validator=_day)
    equipment_ids: frozenset[UUID] = attrs.field(factory=frozenset, converter=_uuid_set)
    content: str = attrs.field(default="", validator=optional_text("ServicePlan"))
    callback_every: timedelta | None = attrs.field(default=None, validator=_duration)
    response_within: timedelta | None = attrs.field(default=None, validator=_duration)
    maintenance_every: timedelta | None = attrs.field(default=None, validator=_duration)
    extends_warranty: bool = True
    state: str = attrs.field(default=FileState.ACTIVE, converter=str)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.customer_id, UUID):
            raise ValidationError("ServicePlan", "customer_id", "must be a UUID")
        if self.ends_on < self.starts_on:
            raise ValidationError("ServicePlan", "ends_on", "ends before it starts")
        if not isinstance(self.extends_warranty, bool):
            raise ValidationError("ServicePlan", "extends_warranty", "must be a bool")

    def covers(self, equipment_id: UUID, on: date) -> bool:
        """True if the plan covers ``equipment_id`` on day ``on`` (both ends included)."""
        return (
            self.state == FileState.ACTIVE
            and equipment_id in self.equipment_ids
            and self.starts_on <= on <= self.ends_on
        )


@attrs.frozen(kw_only=True)
class ServicePlanAdded(AggregateEvent):
    """R4: a service plan was filed for a customer."""

    aggregate_type = "ServicePlan"
    customer_id: UUID
    starts_on: date
    ends_on: date
    equipment_ids: frozenset[UUID]


SERVICE_PLANS: AggregateKind[ServicePlan] = AggregateKind(
    cls=ServicePlan,
    entity="ServicePlan",
    table="service_plans",
    fields=[
        QueryField("customer_id", UUID),
        QueryField("starts_on", date),
        QueryField("ends_on", date),
    ],
    order_by=["starts_on"],
    owner_field="customer_id",
    workflows=["file"],
    description="R4 service plans",
)


# --- R30 the directory ----------------------------------------------------------------------


def _roles(values: Any) -> frozenset[Role]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValidationError("Actor", "roles", "must be one or more Role values")
    roles = frozenset(values)
    if not roles or not all(isinstance(r, Role) for r in roles):
        raise ValidationError("Actor", "roles", "must be one or more Role values")
    return roles


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class Actor(Aggregate):
    """R30: someone acting on the system, in the directory, with roles.

    The service layer never trusts an actor object a caller passes: it looks the actor up by
    id and decides from the directory's roles and state (an ``inactive`` actor may do
    nothing). ``customer_id`` is set when the actor is (a contact of) a customer; customers
    may act only on what belongs to their customer.
    """

    name: str = attrs.field(validator=non_blank("Actor", 200))
    roles: frozenset[Role] = attrs.field(converter=_roles)
    customer_id: UUID | None = attrs.field(default=None, validator=_optional_uuid("Actor"))
    state: str = attrs.field(default=FileState.ACTIVE, converter=str)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.id, UUID):
            raise ValidationError("Actor", "id", "must be a UUID")
        if Role.CUSTOMER in self.roles and self.customer_id is None:
            raise ValidationError("Actor", "customer_id", "a customer actor names its customer")

    def has(self, role: Role) -> bool:
        """True if the actor holds ``role``."""
        return role in self.roles

    @property
    def active(self) -> bool:
        """True unless the actor was deactivated."""
        return self.state == FileState.ACTIVE


@attrs.frozen(kw_only=True)
class ActorRegistered(AggregateEvent):
    """R30: a person joined the directory."""

    aggregate_type = "Actor"
    person: str  # the actor's name (``name`` is the event's type name)
    roles: frozenset[Role]
    customer_id: UUID | None


@attrs.frozen(kw_only=True)
class ActorRolesChanged(AggregateEvent):
    """R30: an actor's roles changed."""

    aggregate_type = "Actor"
    roles: frozenset[Role]


@attrs.frozen(kw_only=True)
class ActorDeactivated(AggregateEvent):
    """R30: an actor may no longer act (left the company, lost access)."""

    aggregate_type = "Actor"
    reason: str


@attrs.frozen(kw_only=True)
class ActorReactivated(AggregateEvent):
    """R30: a deactivated actor may act again."""

    aggregate_type = "Actor"


ACTORS: AggregateKind[Actor] = AggregateKind(
    cls=Actor,
    entity="Actor",
    table="actors",
    fields=[
        QueryField("name", str, max_length=200),
        QueryField("customer_id", UUID),
        QueryField("state", str, max_length=64),
    ],
    order_by=["name"],
    owner_field="customer_id",
    workflows=["directory"],
    description="R30 the directory of actors",
)
