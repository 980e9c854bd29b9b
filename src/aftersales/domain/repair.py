"""Depot repair (R13) and outsourced repair (R14), with their policy (R15, R16, R21, R22, R25).

A :class:`RepairOrder` follows one unit through the depot: intake and the customer's signature,
diagnosis with the warranty determination (R20), the estimate and the customer's approval when
chargeable (R22), repair (waiting for parts, additional work needing new consent), the QC
checklist, pick-up notice (R16), settlement (R25) and delivery. An :class:`OutsourcedRepair`
follows a unit sent to an external repair station (R14), chased on a schedule (R15).

This module holds data, invariants and pure policy computations only; the state changes are
driven by :mod:`aftersales.workflows.depot` and :mod:`aftersales.workflows.outsourced`, which
append to the record (R9) and emit the events of :mod:`aftersales.domain.repair_events`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs

from aftersales.domain.parts import PartOrigin, PartSource
from aftersales.domain.repair_events import RepairEvent
from aftersales.domain.request import RecordEntry
from aftersales.domain.values import Money, non_blank
from aftersales.domain.warranty import Exclusion, WarrantyDetermination
from aftersales.errors import ConfigurationError, ValidationError

__all__ = [
    "DEFAULT_QC_CHECKLIST",
    "Appointment",
    "Chase",
    "DataHandling",
    "Deposit",
    "DepotState",
    "Diagnosis",
    "Discount",
    "Estimate",
    "EstimateBasis",
    "EstimateLine",
    "EstimateStatus",
    "FaultClass",
    "FaultKind",
    "FittedPart",
    "Intake",
    "LedgerLine",
    "LineKind",
    "OldPartDisposition",
    "OutsourcedRepair",
    "OutsourcedState",
    "PartWarranty",
    "PickupNotice",
    "PromiseChange",
    "QcItemResult",
    "QualityCheck",
    "ReopenKind",
    "RepairHistoryItem",
    "RepairOrder",
    "RepairPolicy",
    "ReplacementOffer",
    "Settlement",
    "Shipment",
    "Signature",
    "Vendor",
    "VendorAttempt",
    "VendorRegistry",
    "WorkNote",
    "appointment_reminder_at",
    "book_appointment",
    "count_repeat_failures",
    "is_free_rerepair",
    "next_vendor_chase",
    "pickup_notice_at",
    "pickup_notice_lead",
    "progress_check_at",
    "required_deposit",
    "return_ledger",
    "should_offer_replacement",
]


# --- enumerations ----------------------------------------------------------------------------


class DepotState(enum.StrEnum):
    """R13: the depot repair lifecycle (see :data:`aftersales.workflows.depot.DEPOT`)."""

    INTAKE = "intake"  # received; the intake form (机器接收单) awaits the customer's signature
    DIAGNOSING = "diagnosing"
    AWAITING_APPROVAL = "awaiting_approval"  # chargeable: estimate sent (R22)
    APPROVED = "approved"
    REPAIRING = "repairing"
    WAITING_FOR_PARTS = "waiting_for_parts"
    ADDITIONAL_WORK_PENDING = "additional_work_pending"  # new consent needed (R13)
    AT_VENDOR = "at_vendor"  # outsourced (R14)
    QUALITY_CHECK = "quality_check"  # self re-inspection before delivery
    READY_FOR_PICKUP = "ready_for_pickup"
    DELIVERED = "delivered"
    DECLINED = "declined"  # the customer declined the estimate
    UNREPAIRABLE = "unrepairable"
    REPLACEMENT_OFFERED = "replacement_offered"  # R21/R14
    REPLACED = "replaced"
    RETURNED = "returned"  # handed back unrepaired
    CLOSED = "closed"


class DataHandling(enum.StrEnum):
    """§9 "the customer wants to keep the old disk": what we may do with the unit's data.

    - ``keep_old_disk``: the unit's own disk stays in it with its data: no wipe, no disk swap.
    - ``customer_keeps_disk``: a disk we replace goes back to the customer (not to the
      supplier as a defective return), and nothing is wiped.
    - ``wipe_allowed``: we may wipe and reinstall; a replaced disk is returned as usual.
    """

    KEEP_OLD_DISK = "keep_old_disk"
    CUSTOMER_KEEPS_DISK = "customer_keeps_disk"
    WIPE_ALLOWED = "wipe_allowed"


class FaultClass(enum.StrEnum):
    """R20/R21: a quality fault, damage the customer caused, or something else."""

    QUALITY = "quality"
    CUSTOMER_CAUSED = "customer_caused"
    OTHER = "other"


class FaultKind(enum.StrEnum):
    """R21: the kind of fault; the free re-repair names the kinds it covers."""

    HARDWARE = "hardware"
    SOFTWARE = "software"


class EstimateBasis(enum.StrEnum):
    """R22: an estimate line prices a system, a symptom or an item."""

    SYSTEM = "system"
    SYMPTOM = "symptom"
    ITEM = "item"


class LineKind(enum.StrEnum):
    """R20/R25: the charge components: labour, parts, call-out fee."""

    LABOUR = "labour"
    PART = "part"
    CALL_OUT = "call_out"


class EstimateStatus(enum.StrEnum):
    """R13/R22: the customer's answer to an estimate."""

    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # superseded by a re-diagnosis


class OldPartDisposition(enum.StrEnum):
    """R28/§9: where a removed part goes."""

    RETURN_TO_SUPPLIER = "return_to_supplier"
    HANDED_TO_CUSTOMER = "handed_to_customer"
    SCRAPPED = "scrapped"


class ReopenKind(enum.StrEnum):
    """§9: why a diagnosis is reopened."""

    DISPUTED_BY_CUSTOMER = "disputed_by_customer"
    ENGINEER_MISJUDGEMENT = "engineer_misjudgement"
    NEW_FINDINGS = "new_findings"


class OutsourcedState(enum.StrEnum):
    """R14: the outsourced repair lifecycle (see :data:`aftersales.workflows.outsourced`)."""

    OPENED = "opened"
    VENDOR_CHOSEN = "vendor_chosen"
    AT_VENDOR = "at_vendor"
    RETURNED = "returned"
    BACK_AT_DEPOT = "back_at_depot"
    VENDOR_FAILED = "vendor_failed"
    REPLACEMENT_OFFERED = "replacement_offered"
    UNREPAIRED = "unrepaired"


# --- validation helpers ----------------------------------------------------------------------


def _names(entity: str, field: str) -> Any:
    def convert(values: Iterable[str]) -> tuple[str, ...]:
        if isinstance(values, str | bytes):
            raise ValidationError(entity, field, "must be a sequence of names, not one string")
        names = tuple(values)
        if not all(isinstance(v, str) and v.strip() for v in names):
            raise ValidationError(entity, field, "must be non-blank names")
        if len(set(names)) != len(names):
            raise ValidationError(entity, field, "a name is listed twice")
        return names

    return convert


def _accessories(values: Iterable[str]) -> tuple[str, ...]:
    converted: tuple[str, ...] = _names("Intake", "accessories")(values)
    return converted


def _checklist(values: Iterable[str]) -> tuple[str, ...]:
    converted: tuple[str, ...] = _names("RepairPolicy", "qc_checklist")(values)
    return converted


def _text(entity: str) -> Any:
    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, str):
            raise ValidationError(entity, attribute.name, "must be text")

    return check


def _enum(entity: str, kind: type[enum.Enum]) -> Any:
    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            raise ValidationError(entity, attribute.name, f"unknown {kind.__name__} {value!r}")

    return check


def _aware(entity: str) -> Any:
    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise ValidationError(entity, attribute.name, "must be a timezone-aware datetime")

    return check


# --- values ----------------------------------------------------------------------------------


@attrs.frozen
class Signature:
    """R13: a customer's signature: who signed and when."""

    signed_by: str = attrs.field(validator=non_blank("Signature"))
    at: datetime = attrs.field(validator=_aware("Signature"))


@attrs.frozen
class Intake:
    """R13: the intake form (机器接收单): appearance and configuration inspection, the
    accessories received, damage already present, and what may happen to the data (§9)."""

    appearance: str = attrs.field(validator=non_blank("Intake"))
    configuration: str = attrs.field(validator=non_blank("Intake"))
    accessories: tuple[str, ...] = attrs.field(converter=_accessories)
    data_handling: DataHandling = attrs.field(validator=_enum("Intake", DataHandling))
    damage_notes: str = attrs.field(default="", validator=_text("Intake"))


@attrs.frozen
class Diagnosis:
    """R13: what is wrong and why; ``findings`` are the R20 exclusions the engineer saw.

    ``fault_code`` identifies "the same fault" for R21 (defaults to the fault text).
    """

    fault: str = attrs.field(validator=non_blank("Diagnosis"))
    cause: str = attrs.field(validator=non_blank("Diagnosis"))
    fault_class: FaultClass = attrs.field(validator=_enum("Diagnosis", FaultClass))
    fault_kind: FaultKind = attrs.field(validator=_enum("Diagnosis", FaultKind))
    findings: tuple[Exclusion, ...]
    fault_code: str
    engineer_id: UUID
    at: datetime
    revision_reason: str = ""


@attrs.frozen
class EstimateLine:
    """R22: one priced line, by system, symptom or item; a part line says who supplies the part
    (us or the customer), whether it is OEM or third-party, and whether the customer insisted.
    """

    basis: EstimateBasis = attrs.field(validator=_enum("EstimateLine", EstimateBasis))
    subject: str = attrs.field(validator=non_blank("EstimateLine"))  # the system/symptom/item
    description: str = attrs.field(validator=non_blank("EstimateLine"))
    kind: LineKind = attrs.field(validator=_enum("EstimateLine", LineKind))
    amount: Money
    sku: str | None = None
    source: PartSource | None = None
    origin: PartOrigin | None = None
    customer_insisted: bool = False
    to_order: bool = False  # R23: a part we must order in (a deposit may be due)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.amount, Money) or self.amount.amount < 0:
            raise ValidationError("EstimateLine", "amount", "must be non-negative Money")
        if not isinstance(self.to_order, bool):
            raise ValidationError("EstimateLine", "to_order", "must be a bool")
        if self.to_order and (self.kind is not LineKind.PART or self.source is not PartSource.OURS):
            raise ValidationError("EstimateLine", "to_order", "only a part we supply is ordered")
        if self.kind is LineKind.PART:
            if not isinstance(self.source, PartSource):
                raise ValidationError("EstimateLine", "source", "a part line names its source")
            if not isinstance(self.origin, PartOrigin):
                raise ValidationError("EstimateLine", "origin", "a part line names its origin")
        elif self.source is not None or self.origin is not None or self.sku is not None:
            raise ValidationError("EstimateLine", "kind", "only a part line has a part")
        if not isinstance(self.customer_insisted, bool):
            raise ValidationError("EstimateLine", "customer_insisted", "must be a bool")

    @property
    def voids_guarantee(self) -> bool:
        """R22: a customer-supplied part, or a third-party part the customer insisted on."""
        return self.source is PartSource.CUSTOMER or (
            self.origin is PartOrigin.THIRD_PARTY and self.customer_insisted
        )


def _lines(values: Iterable[EstimateLine]) -> tuple[EstimateLine, ...]:
    if isinstance(values, str | bytes):
        raise ValidationError("Estimate", "lines", "must be EstimateLine values")
    lines = tuple(values)
    if not lines or not all(isinstance(v, EstimateLine) for v in lines):
        raise ValidationError("Estimate", "lines", "must be one or more EstimateLine values")
    currencies = {line.amount.currency for line in lines}
    if len(currencies) != 1:
        raise ValidationError("Estimate", "lines", f"mixes currencies {sorted(currencies)}")
    return lines


def _total(lines: Iterable[EstimateLine], currency: str, kind: LineKind | None = None) -> Money:
    total = Money.zero(currency)
    for line in lines:
        if kind is None or line.kind is kind:
            total = total + line.amount
    return total


@attrs.frozen
class Estimate:
    """R22: an estimate (维修估价) sent to the customer; ``additional`` marks work found later
    (R13), which carries the promised date it would move to."""

    id: UUID
    lines: tuple[EstimateLine, ...] = attrs.field(converter=_lines)
    sent_at: datetime
    additional: bool = False
    reason: str = ""
    new_promised_at: datetime | None = None
    status: EstimateStatus = EstimateStatus.PENDING
    answered_by: str | None = None  # the customer's name
    answered_at: datetime | None = None

    @property
    def currency(self) -> str:
        """The currency of every line."""
        return self.lines[0].amount.currency

    @property
    def total(self) -> Money:
        """The sum of the lines."""
        return _total(self.lines, self.currency)

    @property
    def voids_guarantee(self) -> bool:
        """R22: some line uses customer-supplied or customer-insisted third-party parts."""
        return any(line.voids_guarantee for line in self.lines)


@attrs.frozen
class FittedPart:
    """R13/R21/R28: a part fitted during the repair, and where the removed part went."""

    sku: str
    description: str
    origin: PartOrigin
    source: PartSource
    customer_insisted: bool
    storage_media: bool
    old_part: OldPartDisposition
    at: datetime
    warranty_months: int | None = None  # the part's own warranty; None: the policy's default

    @property
    def voids_guarantee(self) -> bool:
        """R22: customer-supplied, or third-party at the customer's insistence."""
        return self.source is PartSource.CUSTOMER or (
            self.origin is PartOrigin.THIRD_PARTY and self.customer_insisted
        )


@attrs.frozen
class WorkNote:
    """R13: one line of the repair process record (产品维修过程记录)."""

    at: datetime
    engineer_id: UUID
    description: str
    wipes_data: bool = False


@attrs.frozen
class QcItemResult:
    """R13: one item of the QC checklist, passed or failed."""

    item: str
    passed: bool
    note: str = ""


@attrs.frozen
class QualityCheck:
    """R13/R14: one run of the QC checklist (self re-inspection / re-inspection after a vendor)."""

    at: datetime
    inspector_id: UUID
    results: tuple[QcItemResult, ...]

    @property
    def passed(self) -> bool:
        """True when every item passed."""
        return all(r.passed for r in self.results)

    @property
    def failed_items(self) -> tuple[str, ...]:
        """The items that failed."""
        return tuple(r.item for r in self.results if not r.passed)


@attrs.frozen
class PromiseChange:
    """R13/R15: the promised date moved (additional work, a delay), with the reason."""

    at: datetime
    previous: datetime
    new: datetime
    reason: str
    apology: str = ""
    late_notice: bool = False


@attrs.frozen
class PickupNotice:
    """R16: when the unit can be picked up and when the customer is told."""

    pickup_at: datetime
    notice_at: datetime
    lead: timedelta


@attrs.frozen
class Appointment:
    """R23: a booked drop-off slot, with the reminder time computed from the policy."""

    slot_start: datetime = attrs.field(validator=_aware("Appointment"))
    slot_end: datetime = attrs.field(validator=_aware("Appointment"))
    booked_at: datetime = attrs.field(validator=_aware("Appointment"))
    reminder_at: datetime = attrs.field(validator=_aware("Appointment"))

    def __attrs_post_init__(self) -> None:
        if self.slot_end <= self.slot_start:
            raise ValidationError("Appointment", "slot_end", "must be after the slot start")
        if self.booked_at > self.slot_start:
            raise ValidationError("Appointment", "booked_at", "must be before the slot")


@attrs.frozen
class Deposit:
    """R23: a deposit received before expensive parts are ordered; it counts toward the
    settlement (R25)."""

    amount: Money
    at: datetime
    received_by: UUID


@attrs.frozen
class Discount:
    """R22: a discount, always with the supervisor who authorized it."""

    amount: Money
    reason: str
    authorized_by: UUID
    authorized_by_name: str
    at: datetime


@attrs.frozen
class Settlement:
    """R25: the settlement of the job: labour + parts + call-out (+ diagnosis fee) − discount.

    ``paid`` False leaves a receivable; ``outlet`` is the service outlet that settled.
    """

    labour: Money
    parts: Money
    call_out: Money
    diagnosis_fee: Money
    discount: Money
    total: Money
    paid: bool
    outlet: str
    at: datetime
    settled_by: UUID
    deposit: Money | None = None

    @property
    def due_on_pickup(self) -> Money:
        """R23/R25: the total less the deposit already received."""
        return self.total - self.deposit if self.deposit is not None else self.total

    @property
    def receivable(self) -> Money:
        """R25: what is still owed."""
        return Money.zero(self.total.currency) if self.paid else self.due_on_pickup


@attrs.frozen
class PartWarranty:
    """R21: a replaced part's own warranty."""

    sku: str
    description: str
    starts_on: date
    ends_on: date

    def covers(self, on: date) -> bool:
        """True if the part is in its own warranty on day ``on``."""
        return self.starts_on <= on < self.ends_on


@attrs.frozen
class ReplacementOffer:
    """R21/R14: a replacement unit (same model or better) offered, and taken or not."""

    grounds: str
    model: str
    offered_at: datetime
    serial: str | None = None
    accepted_by: str | None = None
    accepted_at: datetime | None = None


@attrs.frozen
class RepairHistoryItem:
    """R21: what an earlier repair of the same unit tells the rules of 三包."""

    order_id: UUID
    equipment_id: UUID
    fault_code: str
    fault_class: FaultClass
    in_warranty: bool
    picked_up_at: datetime | None
    guarantee_void: bool = False


# --- policy ----------------------------------------------------------------------------------

#: R13: the default self re-inspection checklist for a PC or similar equipment.
DEFAULT_QC_CHECKLIST: tuple[str, ...] = (
    "appearance matches the intake form",
    "accessories complete per the intake checklist",
    "powers on and passes self-test",
    "display: no dead pixels, backlight even",
    "keyboard and pointing device",
    "ports: USB, audio, video",
    "network: wired and wireless",
    "storage: health check and data as agreed",
    "memory test",
    "battery and charging",
    "thermal: fans and temperature under load",
    "operating system and drivers start cleanly",
    "reported fault no longer reproducible",
)


def _positive(value: timedelta, name: str) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ConfigurationError(f"RepairPolicy.{name} must be a positive duration")


@attrs.frozen
class RepairPolicy:
    """R13-R16, R21, R22 as parameters; every number of DOMAIN.md is a default here.

    - ``currency``: the currency of estimates and settlements (default CNY).
    - ``qc_checklist``: the QC items (default :data:`DEFAULT_QC_CHECKLIST`), copied onto each
      order when it is opened.
    - ``diagnosis_fee``: charged when a customer declines a chargeable estimate (None: free).
    - ``progress_check_fraction``: R15, the progress check at this share of the promised
      duration (default 0.75, DOMAIN.md says 70-80 %).
    - ``long_job_threshold``, ``short_job_notice``, ``long_job_notice``: R16, a job that took
      less than the threshold (2 days) gets 1 h of pick-up notice; 2 days or more get 4 h.
    - ``rerepair_window_days``, ``rerepair_free_kinds``, ``rerepair_same_fault_free``: R21,
      a unit back within 15 days (inclusive) of pick-up gets a free service of these kinds
      (default: a software fault); the same fault again is free only if the flag says so.
    - ``repeat_failure_threshold``: R21, after this many in-warranty repairs of the same
      quality fault a replacement is proposed (default 2).
    - ``replaced_part_warranty_months``: R21, a replaced part's own warranty when its catalogue
      entry names none (default 3 months).
    - ``vendor_chase_lead``, ``vendor_chase_every``: R15, chase the vendor 12 h before its
      promised date, then every 24 h.
    - ``max_vendor_attempts``: R14, how many vendors may be tried for one unit (default 3).
    - ``deposit_share``, ``expensive_part_from``: R23, a part we must order that costs at least
      this amount (default 1000 in ``currency``) needs a deposit of at least this share of its
      price (default one half) before it is ordered.
    - ``appointment_reminder_lead``: R23, the reminder goes out this long before a booked slot
      (default 24 h).
    """

    currency: str = "CNY"
    qc_checklist: tuple[str, ...] = attrs.field(
        default=DEFAULT_QC_CHECKLIST, converter=_checklist
    )
    diagnosis_fee: Money | None = None
    progress_check_fraction: float = 0.75
    long_job_threshold: timedelta = timedelta(days=2)
    short_job_notice: timedelta = timedelta(hours=1)
    long_job_notice: timedelta = timedelta(hours=4)
    rerepair_window_days: int = 15
    rerepair_free_kinds: frozenset[FaultKind] = attrs.field(
        default=frozenset({FaultKind.SOFTWARE}), converter=frozenset
    )
    rerepair_same_fault_free: bool = False
    repeat_failure_threshold: int = 2
    replaced_part_warranty_months: int = 3
    vendor_chase_lead: timedelta = timedelta(hours=12)
    vendor_chase_every: timedelta = timedelta(hours=24)
    max_vendor_attempts: int = 3
    deposit_share: Decimal = Decimal("0.5")
    expensive_part_from: Decimal = Decimal(1000)
    appointment_reminder_lead: timedelta = timedelta(hours=24)

    def __attrs_post_init__(self) -> None:
        try:
            Money.zero(self.currency)
        except ValidationError as exc:
            raise ConfigurationError(f"RepairPolicy.currency: {exc}") from None
        if not self.qc_checklist:
            raise ConfigurationError("RepairPolicy.qc_checklist needs at least one item")
        fee = self.diagnosis_fee
        if fee is not None and (
            not isinstance(fee, Money) or fee.amount < 0 or fee.currency != self.currency
        ):
            raise ConfigurationError("RepairPolicy.diagnosis_fee must be Money >= 0 in currency")
        if not 0 < self.progress_check_fraction < 1:
            raise ConfigurationError("RepairPolicy.progress_check_fraction must be in (0, 1)")
        if not isinstance(self.deposit_share, Decimal) or not 0 <= self.deposit_share <= 1:
            raise ConfigurationError("RepairPolicy.deposit_share must be a Decimal in [0, 1]")
        if not isinstance(self.expensive_part_from, Decimal) or self.expensive_part_from < 0:
            raise ConfigurationError("RepairPolicy.expensive_part_from must be a Decimal >= 0")
        for name in ("long_job_threshold", "short_job_notice", "long_job_notice",
                     "vendor_chase_lead", "vendor_chase_every", "appointment_reminder_lead"):
            _positive(getattr(self, name), name)
        for name in ("rerepair_window_days", "replaced_part_warranty_months"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"RepairPolicy.{name} must not be negative")
        for name in ("repeat_failure_threshold", "max_vendor_attempts"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"RepairPolicy.{name} must be at least 1")
        if not all(isinstance(k, FaultKind) for k in self.rerepair_free_kinds):
            raise ConfigurationError("RepairPolicy.rerepair_free_kinds must be FaultKind values")


# --- pure policy computations (R15, R16, R21) ------------------------------------------------


def progress_check_at(policy: RepairPolicy, received_at: datetime, promised_at: datetime) -> (
    datetime
):
    """R15: when to check progress: at ``progress_check_fraction`` of the promised duration."""
    return received_at + (promised_at - received_at) * policy.progress_check_fraction


def pickup_notice_lead(policy: RepairPolicy, job_took: timedelta) -> timedelta:
    """R16: 1 h of notice for a job under 2 days, 4 h for 2 days or more (2 days exactly: 4 h)."""
    return policy.long_job_notice if job_took >= policy.long_job_threshold else (
        policy.short_job_notice
    )


def pickup_notice_at(
    policy: RepairPolicy, received_at: datetime, ready_at: datetime, pickup_at: datetime
) -> datetime:
    """R16: when to tell the customer, for a unit received and ready at these times."""
    return pickup_at - pickup_notice_lead(policy, ready_at - received_at)


def is_free_rerepair(
    policy: RepairPolicy, picked_up_at: datetime, back_at: datetime, fault_kind: FaultKind,
    *, same_fault: bool = False,
) -> bool:
    """R21: a unit back within ``rerepair_window_days`` (inclusive, by calendar day of the
    pick-up's time zone) gets a free service of the kinds the policy names; a repeat of the
    same fault is free too only when ``rerepair_same_fault_free``."""
    days = (back_at.astimezone(picked_up_at.tzinfo).date() - picked_up_at.date()).days
    if not 0 <= days <= policy.rerepair_window_days:
        return False
    return fault_kind in policy.rerepair_free_kinds or (
        same_fault and policy.rerepair_same_fault_free
    )


def count_repeat_failures(history: Iterable[RepairHistoryItem], fault_code: str) -> int:
    """R21: earlier completed in-warranty repairs of the same quality fault."""
    return sum(
        1 for item in history
        if item.fault_code == fault_code and item.fault_class is FaultClass.QUALITY
        and item.in_warranty and item.picked_up_at is not None
    )


def should_offer_replacement(
    history: Iterable[RepairHistoryItem], fault_code: str, policy: RepairPolicy | None = None
) -> bool:
    """R21 (三包): the same quality fault is back after ``repeat_failure_threshold`` (2)
    in-warranty repairs: propose a replacement with the same model or better."""
    threshold = (policy or RepairPolicy()).repeat_failure_threshold
    return count_repeat_failures(history, fault_code) >= threshold


def _deposit(lines: Iterable[EstimateLine], share: Decimal, threshold: Decimal,
             currency: str) -> Money:
    total = Money.zero(currency)
    for line in lines:
        if line.to_order and line.amount.amount >= threshold:
            total = total + line.amount
    return Money(total.amount * share, currency)


def required_deposit(policy: RepairPolicy, lines: Iterable[EstimateLine]) -> Money:
    """R23: at least ``deposit_share`` (half) of the price of the expensive parts that must be
    ordered (part lines we supply, ``to_order``, priced at ``expensive_part_from`` or more)."""
    return _deposit(lines, policy.deposit_share, policy.expensive_part_from, policy.currency)


def appointment_reminder_at(policy: RepairPolicy, slot_start: datetime) -> datetime:
    """R23: when to remind the customer of a booked slot."""
    return slot_start - policy.appointment_reminder_lead


def book_appointment(
    policy: RepairPolicy, slot_start: datetime, slot_end: datetime, booked_at: datetime
) -> Appointment:
    """R23: a booked slot with its reminder ``appointment_reminder_lead`` before the start
    (never before the booking itself)."""
    reminder = max(appointment_reminder_at(policy, slot_start), booked_at)
    return Appointment(slot_start, slot_end, booked_at, reminder)


def next_vendor_chase(
    policy: RepairPolicy, promised_by: datetime, last_chase_at: datetime | None
) -> datetime:
    """R15: the first chase is ``vendor_chase_lead`` (12 h) before the vendor's promised date;
    after that, every ``vendor_chase_every``."""
    first = promised_by - policy.vendor_chase_lead
    if last_chase_at is None or last_chase_at < first:
        return first
    return last_chase_at + policy.vendor_chase_every


# --- the depot repair order (R13) ------------------------------------------------------------


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def _clone(entity: Any) -> Any:
    values = {a.alias: _copy(getattr(entity, a.name)) for a in attrs.fields(type(entity)) if a.init}
    return type(entity)(**values)


_UNREPAIRED = (DepotState.DECLINED, DepotState.UNREPAIRABLE, DepotState.REPLACEMENT_OFFERED)


@attrs.define(eq=False)
class RepairOrder:
    """R13: a depot repair order (维修单) for one unit of one service request.

    Guards read by the workflow (:data:`aftersales.workflows.depot.DEPOT`): ``chargeable``,
    ``repair_authorized``, ``parts_available``, ``qc_passed_after_last_repair``, ``settled``,
    ``unsettled``, ``replacement_justified``.
    """

    id: UUID
    number: str
    request_id: UUID
    equipment_id: UUID
    customer_id: UUID
    received_at: datetime
    promised_at: datetime
    intake: Intake
    currency: str
    qc_checklist: tuple[str, ...]
    progress_check_due: datetime
    deposit_share: Decimal = Decimal("0.5")  # R23, copied from the policy at intake
    expensive_part_from: Decimal = Decimal(1000)
    appointment: Appointment | None = None
    state: DepotState = DepotState.INTAKE
    intake_signature: Signature | None = None
    diagnoses: list[Diagnosis] = attrs.field(factory=list)
    warranty: WarrantyDetermination | None = None
    free_reason: str | None = None  # R20/R21: why the repair is free (None: chargeable)
    replacement_grounds: str | None = None  # R21/R14: why a replacement may be offered
    estimates: list[Estimate] = attrs.field(factory=list)
    guarantee_waiver: str | None = None  # R22: written when our quality guarantee is void
    work: list[WorkNote] = attrs.field(factory=list)
    fitted_parts: list[FittedPart] = attrs.field(factory=list)
    parts_needed: dict[str, int] = attrs.field(factory=dict)
    parts_reserved: dict[str, int] = attrs.field(factory=dict)
    reservation_ids: list[UUID] = attrs.field(factory=list)
    quality_checks: list[QualityCheck] = attrs.field(factory=list)
    last_repair_step: int = 0  # record sequence of the last repair step
    last_repair_at: datetime | None = None
    last_qc_pass: int = 0  # record sequence of the last passed QC
    last_qc_passed_at: datetime | None = None
    promise_changes: list[PromiseChange] = attrs.field(factory=list)
    progress_checked_at: datetime | None = None
    pickup: PickupNotice | None = None
    unrepaired_reason: str | None = None
    diagnosis_fee: Money | None = None
    deposits: list[Deposit] = attrs.field(factory=list)
    discount: Discount | None = None
    settlement: Settlement | None = None
    delivery: Signature | None = None
    part_warranties: tuple[PartWarranty, ...] = ()
    replacement: ReplacementOffer | None = None
    outsourced_ids: list[UUID] = attrs.field(factory=list)
    record: list[RecordEntry] = attrs.field(factory=list)
    version: int = 0
    event_sequence: int = 0
    pending_events: list[RepairEvent] = attrs.field(
        factory=list, init=False, repr=False, alias="_pending_events"
    )

    def clone(self) -> RepairOrder:
        """A working copy: same values, independent lists, no pending events."""
        copy: RepairOrder = _clone(self)
        return copy

    # --- queries ------------------------------------------------------------------------------

    @property
    def diagnosis(self) -> Diagnosis | None:
        """The current diagnosis (the newest one)."""
        return self.diagnoses[-1] if self.diagnoses else None

    @property
    def diagnosed(self) -> bool:
        """True once a diagnosis and its warranty determination are recorded."""
        return bool(self.diagnoses) and self.warranty is not None

    @property
    def chargeable(self) -> bool:
        """R20: diagnosed and not free (out of warranty or excluded, no free re-repair)."""
        return self.diagnosed and self.free_reason is None

    def live_estimates(self) -> list[Estimate]:
        """Estimates not withdrawn by a re-diagnosis."""
        return [e for e in self.estimates if e.status is not EstimateStatus.WITHDRAWN]

    @property
    def base_estimate(self) -> Estimate | None:
        """R22: the current (not additional, not withdrawn) estimate."""
        return next((e for e in reversed(self.live_estimates()) if not e.additional), None)

    @property
    def pending_estimate(self) -> Estimate | None:
        """The estimate awaiting the customer's answer, if any."""
        return next((e for e in self.estimates if e.status is EstimateStatus.PENDING), None)

    @property
    def approved_estimates(self) -> list[Estimate]:
        """R25: the approved estimate and approved additions (withdrawn ones excluded)."""
        return [e for e in self.estimates if e.status is EstimateStatus.APPROVED]

    @property
    def repair_authorized(self) -> bool:
        """R13/R22: diagnosed, and either free or the customer approved the estimate."""
        if not self.diagnosed:
            return False
        if not self.chargeable:
            return True
        base = self.base_estimate
        return base is not None and base.status is EstimateStatus.APPROVED

    @property
    def parts_available(self) -> bool:
        """R28: every part the repair waits for is reserved."""
        return all(self.parts_reserved.get(sku, 0) >= n for sku, n in self.parts_needed.items())

    @property
    def missing_parts(self) -> dict[str, int]:
        """Parts still to reserve (sku → quantity)."""
        return {
            sku: n - self.parts_reserved.get(sku, 0)
            for sku, n in self.parts_needed.items() if self.parts_reserved.get(sku, 0) < n
        }

    @property
    def qc_passed_after_last_repair(self) -> bool:
        """R13: a QC passed after the last repair step (delivery is impossible otherwise)."""
        return self.last_qc_pass > self.last_repair_step

    @property
    def deposit_required(self) -> Money:
        """R23: the deposit the approved estimates call for (none when the repair is free)."""
        if not self.chargeable:
            return Money.zero(self.currency)
        lines = [line for e in self.approved_estimates for line in e.lines]
        return _deposit(lines, self.deposit_share, self.expensive_part_from, self.currency)

    @property
    def deposit_paid(self) -> Money:
        """R23: the deposits received so far."""
        total = Money.zero(self.currency)
        for deposit in self.deposits:
            total = total + deposit.amount
        return total

    @property
    def deposit_covered(self) -> bool:
        """R23: the deposits received cover the deposit required before ordering parts."""
        return self.deposit_paid.amount >= self.deposit_required.amount

    @property
    def settled(self) -> bool:
        """R25: the job is settled."""
        return self.settlement is not None

    @property
    def unsettled(self) -> bool:
        """R25: not settled yet (discounts only before settlement)."""
        return self.settlement is None

    @property
    def replacement_justified(self) -> bool:
        """R21/R14: a replacement may be offered (repeat failure or unrepairable)."""
        return self.replacement_grounds is not None

    @property
    def quality_guarantee_void(self) -> bool:
        """R22: customer-supplied or customer-insisted third-party parts void our guarantee."""
        return self.guarantee_waiver is not None

    def gross_due(self) -> Money:
        """R25: what the job costs before a discount: free when in warranty and covered; the
        diagnosis fee when the unit goes back unrepaired; otherwise the approved estimate plus
        the approved additions."""
        zero = Money.zero(self.currency)
        if self.unrepaired_reason is not None:
            return self.diagnosis_fee or zero
        if not self.chargeable:
            return zero
        total = zero
        for estimate in self.approved_estimates:
            total = total + estimate.total
        return total

    def amount_due(self) -> Money:
        """R22/R25: gross due minus the authorized discount."""
        due = self.gross_due()
        return due - self.discount.amount if self.discount is not None else due

    def breakdown(self) -> tuple[Money, Money, Money, Money]:
        """R25: (labour, parts, call-out, diagnosis fee) of the amount due before discount."""
        zero = Money.zero(self.currency)
        if self.unrepaired_reason is not None:
            return zero, zero, zero, self.diagnosis_fee or zero
        if not self.chargeable:
            return zero, zero, zero, zero
        lines = [line for e in self.approved_estimates for line in e.lines]
        return (
            _total(lines, self.currency, LineKind.LABOUR),
            _total(lines, self.currency, LineKind.PART),
            _total(lines, self.currency, LineKind.CALL_OUT),
            zero,
        )

    def history_item(self) -> RepairHistoryItem | None:
        """R21: this order as an item of the unit's repair history (once diagnosed).

        Only a unit delivered repaired has a pick-up time: an order handed back unrepaired or
        replaced is no repair, so it neither counts towards a replacement nor opens the free
        re-repair window."""
        diagnosis = self.diagnosis
        if diagnosis is None or self.warranty is None:
            return None
        repaired = self.delivery is not None and self.state in (
            DepotState.DELIVERED, DepotState.CLOSED
        ) and self.replacement is None and self.unrepaired_reason is None
        return RepairHistoryItem(
            self.id, self.equipment_id, diagnosis.fault_code, diagnosis.fault_class,
            self.warranty.in_warranty, self.delivery.at if repaired and self.delivery else None,
            self.quality_guarantee_void,
        )

    # --- bookkeeping used by the workflow steps -----------------------------------------------

    def append_record(self, entry: RecordEntry) -> None:
        """R9: append one step; the record is never rewritten."""
        self.record.append(entry)

    def mark_repair_step(self, at: datetime) -> None:
        """R13: the newest record entry was a repair step; any earlier QC no longer counts."""
        self.last_repair_step = len(self.record)
        self.last_repair_at = at

    def mark_qc_passed(self, at: datetime) -> None:
        """R13: the newest record entry was a passed QC."""
        self.last_qc_pass = len(self.record)
        self.last_qc_passed_at = at

    def next_sequence(self) -> int:
        """The sequence number for the next event of this aggregate (ordered, no gaps)."""
        self.event_sequence += 1
        return self.event_sequence

    def emit(self, event: RepairEvent) -> None:
        """Queue a domain event for the unit of work to collect."""
        self.pending_events.append(event)


# --- vendors and outsourced repair (R14, R15) -------------------------------------------------


def _capabilities(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str | bytes):
        raise ValidationError("Vendor", "capabilities", "must be a set of names")
    caps = frozenset(values)
    if not all(isinstance(c, str) and c.strip() for c in caps):
        raise ValidationError("Vendor", "capabilities", "must be non-blank names")
    return caps


@attrs.define(eq=False)
class Vendor:
    """R14: an external repair station in the vendor registry."""

    id: UUID
    name: str = attrs.field(validator=non_blank("Vendor"))
    contact: str = attrs.field(validator=non_blank("Vendor"))
    capabilities: frozenset[str] = attrs.field(factory=frozenset, converter=_capabilities)
    active: bool = True
    version: int = 0

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


@attrs.define(eq=False)
class OutsourcedRepair:
    """R14: a unit sent out to an external repair station for a depot :class:`RepairOrder`.

    Guards read by :data:`aftersales.workflows.outsourced.OUTSOURCED`: ``attempts_left``
    (the vendor loop is bounded by ``max_attempts``) and ``reinspection_passed``.
    """

    id: UUID
    order_id: UUID
    order_number: str
    equipment_id: UUID
    opened_at: datetime
    maker_warranty: bool
    beyond_local_ability: bool
    reason: str
    max_attempts: int
    qc_checklist: tuple[str, ...]
    state: OutsourcedState = OutsourcedState.OPENED
    attempts: list[VendorAttempt] = attrs.field(factory=list)
    reinspections: list[QualityCheck] = attrs.field(factory=list)
    next_chase_at: datetime | None = None
    last_return: int = 0  # record sequence of the last return from a vendor
    last_reinspection_pass: int = 0
    outcome_reason: str = ""
    record: list[RecordEntry] = attrs.field(factory=list)
    version: int = 0
    event_sequence: int = 0
    pending_events: list[RepairEvent] = attrs.field(
        factory=list, init=False, repr=False, alias="_pending_events"
    )

    def clone(self) -> OutsourcedRepair:
        """A working copy: same values, independent lists, no pending events."""
        copy: OutsourcedRepair = _clone(self)
        return copy

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

    def append_record(self, entry: RecordEntry) -> None:
        """R9: append one step; the record is never rewritten."""
        self.record.append(entry)

    def next_sequence(self) -> int:
        """The sequence number for the next event of this aggregate (ordered, no gaps)."""
        self.event_sequence += 1
        return self.event_sequence

    def emit(self, event: RepairEvent) -> None:
        """Queue a domain event for the unit of work to collect."""
        self.pending_events.append(event)


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


def return_ledger(repairs: Iterable[OutsourcedRepair], now: datetime) -> list[LedgerLine]:
    """R14: every unit currently at a vendor, for how long, and whether it is overdue
    (past the vendor's promised date), oldest shipment first."""
    lines: list[LedgerLine] = []
    for repair in repairs:
        attempt = repair.current_attempt
        if repair.state is not OutsourcedState.AT_VENDOR or attempt is None:
            continue
        shipment = attempt.shipment
        assert shipment is not None  # at_vendor is entered only by shipping
        promised = attempt.promised_by
        lines.append(
            LedgerLine(
                repair.id, repair.order_id, repair.order_number, repair.equipment_id,
                attempt.vendor_id, shipment.carrier, shipment.tracking_number,
                shipment.shipped_at, now - shipment.shipped_at, promised,
                promised is not None and now > promised, len(attempt.chases),
                repair.next_chase_at,
            )
        )
    return sorted(lines, key=lambda line: (line.shipped_at, str(line.outsourced_id)))
