"""Outsourced repair (R14, R15): the vendor registry and the units sent to vendors.

An :class:`OutsourcedRepair` follows a unit sent to an external repair station for a depot
order: vendor chosen, shipment with its voucher, chases on the R15 schedule, return and
re-inspection, another vendor or a replacement. :func:`return_ledger` lists every unit out
at a vendor (返厂记录)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from uuid import UUID

import attrs

from aftersales.domain.kernel import Aggregate, AggregateKind, QueryField
from aftersales.domain.repair_values import (
    QualityCheck,
)
from aftersales.domain.values import elapsed, non_blank
from aftersales.errors import ValidationError

__all__ = [
    "OUTSOURCED_REPAIRS",
    "VENDORS",
    "Chase",
    "LedgerLine",
    "OutsourcedRepair",
    "OutsourcedState",
    "Shipment",
    "Vendor",
    "VendorAttempt",
    "VendorRegistry",
    "return_ledger",
]


class OutsourcedState(enum.StrEnum):
    """R14: the outsourced repair lifecycle (see :data:`aftersales.workflows.outsourced`)."""

    OPENED = "opened"
    VENDOR_CHOSEN = "vendor_chosen"
    AT_VENDOR = "at_vendor"
    RETURNED = "returned"
    BACK_AT_DEPOT = "back_at_depot"
    FAILED_AT_VENDOR = "failed_at_vendor"  # the vendor gave up; it still holds the unit
    VENDOR_FAILED = "vendor_failed"
    REPLACEMENT_OFFERED = "replacement_offered"
    UNREPAIRED = "unrepaired"


# --- vendors and outsourced repair (R14, R15) -------------------------------------------------


def _capabilities(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str | bytes):
        raise ValidationError("Vendor", "capabilities", "must be a set of names")
    caps = frozenset(values)
    if not all(isinstance(c, str) and c.strip() for c in caps):
        raise ValidationError("Vendor", "capabilities", "must be non-blank names")
    return caps


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class Vendor(Aggregate):
    """R14: an external repair station in the vendor registry."""

    name: str = attrs.field(validator=non_blank("Vendor", 200))
    contact: str = attrs.field(validator=non_blank("Vendor", 500))
    capabilities: frozenset[str] = attrs.field(factory=frozenset, converter=_capabilities)
    state: str = attrs.field(default="active", converter=str)

    @property
    def active(self) -> bool:
        """True while the vendor is in the registry (not retired)."""
        return self.state == "active"

    def can(self, capability: str) -> bool:
        """True if the vendor repairs ``capability`` (e.g. a product line or a maker)."""
        return capability in self.capabilities


def _vendors(values: Iterable[Vendor]) -> dict[UUID, Vendor]:
    vendors = tuple(values)
    if not all(isinstance(v, Vendor) for v in vendors):
        raise ValidationError("VendorRegistry", "vendors", "must be Vendor values")
    return {v.id: v for v in vendors}


@attrs.frozen
class VendorRegistry:
    """R14: the external repair stations we work with."""

    vendors: Mapping[UUID, Vendor] = attrs.field(factory=dict, converter=_vendors)

    def capable_of(self, capability: str) -> list[Vendor]:
        """Active vendors that repair ``capability``, by name."""
        return sorted(
            (v for v in self.vendors.values() if v.active and v.can(capability)),
            key=lambda v: v.name,
        )


@attrs.frozen
class Shipment:
    """R14: how the unit went out: carrier, tracking number and the pick-up voucher kept."""

    carrier: str
    tracking_number: str
    voucher: str
    shipped_at: datetime


@attrs.frozen
class Chase:
    """R15: one chase of the vendor and its answer."""

    at: datetime
    response: str
    promised_by: datetime
    next_chase_at: datetime


@attrs.frozen
class VendorAttempt:
    """R14: one vendor's attempt at the repair."""

    vendor_id: UUID
    chosen_at: datetime
    shipment: Shipment | None = None
    promised_by: datetime | None = None
    chases: tuple[Chase, ...] = ()
    returned_at: datetime | None = None
    vendor_report: str = ""
    failure: str | None = None


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class OutsourcedRepair(Aggregate):
    """R14: a unit sent out to an external repair station for a depot :class:`RepairOrder`.

    Guards read by :data:`aftersales.workflows.outsourced.OUTSOURCED`: ``attempts_left``
    (the vendor loop is bounded by ``max_attempts``) and ``reinspection_passed``.
    """

    order_id: UUID
    order_number: str
    equipment_id: UUID
    opened_at: datetime
    maker_warranty: bool
    beyond_local_ability: bool
    reason: str
    max_attempts: int
    qc_checklist: tuple[str, ...]
    customer_id: UUID | None = None
    engineer_id: UUID | None = None
    state: str = attrs.field(default=OutsourcedState.OPENED, converter=str)
    attempts: list[VendorAttempt] = attrs.field(factory=list)
    reinspections: list[QualityCheck] = attrs.field(factory=list)
    next_chase_at: datetime | None = None
    last_return: int = 0  # record sequence of the last return from a vendor
    last_reinspection_pass: int = 0
    outcome_reason: str = ""

    @property
    def current_attempt(self) -> VendorAttempt | None:
        """The newest vendor attempt."""
        return self.attempts[-1] if self.attempts else None

    @property
    def vendor_id(self) -> UUID | None:
        """The vendor now holding (or about to hold) the unit."""
        attempt = self.current_attempt
        return attempt.vendor_id if attempt is not None else None

    @property
    def failed_vendor_ids(self) -> frozenset[UUID]:
        """Vendors that already failed on this unit."""
        return frozenset(a.vendor_id for a in self.attempts if a.failure is not None)

    @property
    def attempts_left(self) -> bool:
        """R14: another vendor may still be tried (bounded by the policy)."""
        return len(self.attempts) < self.max_attempts

    @property
    def reinspection_passed(self) -> bool:
        """R14: the re-inspection after the last return passed."""
        return self.last_reinspection_pass > self.last_return > 0

    def replace_attempt(self, attempt: VendorAttempt) -> None:
        """Replace the current attempt with an updated copy."""
        self.attempts[-1] = attempt





@attrs.frozen
class LedgerLine:
    """R14: one line of the return ledger (返厂记录): a unit out at a vendor."""

    outsourced_id: UUID
    order_id: UUID
    order_number: str
    equipment_id: UUID
    vendor_id: UUID
    carrier: str
    tracking_number: str
    shipped_at: datetime
    out_for: timedelta
    promised_by: datetime | None
    overdue: bool
    chases: int
    next_chase_at: datetime | None


#: R14: an outsourced repair in one of these states has the unit at a vendor.
_AT_A_VENDOR = frozenset({OutsourcedState.AT_VENDOR, OutsourcedState.FAILED_AT_VENDOR})


def return_ledger(repairs: Iterable[OutsourcedRepair], now: datetime) -> list[LedgerLine]:
    """R14: every unit currently at a vendor, for how long, and whether it is overdue
    (past the vendor's promised date), oldest shipment first."""
    lines: list[LedgerLine] = []
    for repair in repairs:
        attempt = repair.current_attempt
        if repair.state not in _AT_A_VENDOR or attempt is None:
            continue
        shipment = attempt.shipment
        assert shipment is not None  # at_vendor is entered only by shipping
        promised = attempt.promised_by
        lines.append(
            LedgerLine(
                repair.id, repair.order_id, repair.order_number, repair.equipment_id,
                attempt.vendor_id, shipment.carrier, shipment.tracking_number,
                shipment.shipped_at, elapsed(shipment.shipped_at, now), promised,
                promised is not None and now > promised, len(attempt.chases),
                repair.next_chase_at,
            )
        )
    return sorted(lines, key=lambda line: (line.shipped_at, str(line.outsourced_id)))


OUTSOURCED_REPAIRS: AggregateKind[OutsourcedRepair] = AggregateKind(
    cls=OutsourcedRepair,
    entity="OutsourcedRepair",
    table="outsourced_repairs",
    fields=[
        QueryField("order_id", UUID),
        QueryField("equipment_id", UUID),
        QueryField("customer_id", UUID),
        QueryField("engineer_id", UUID),
        QueryField("state", str, max_length=64),
        QueryField("opened_at", datetime),
    ],
    order_by=["opened_at"],
    owner_field="customer_id",
    assignee_field="engineer_id",
    workflows=["outsourced"],
    description="R14 outsourced repairs",
)


VENDORS: AggregateKind[Vendor] = AggregateKind(
    cls=Vendor,
    entity="Vendor",
    table="vendors",
    fields=[
        QueryField("name", str, max_length=200),
        QueryField("state", str, max_length=64),
    ],
    order_by=["name"],
    workflows=["file"],
    description="R14 the vendor registry",
)
