"""The value objects of depot repair (R13, R20-R23, R25): what an order records.

Intake forms, diagnoses, estimates and their lines, fitted parts, work notes, QC results,
promise changes, pick-up notices, appointments, deposits, discounts, settlements, part
warranties, replacement offers and repair-history items: frozen attrs values, validated when
built."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import attrs

from aftersales.domain.parts import PartOrigin, PartSource
from aftersales.domain.values import (
    MAX_TEXT,
    Money,
    instant_problem,
    non_blank,
    shown,
    text_problem,
)
from aftersales.domain.warranty import Exclusion
from aftersales.errors import ValidationError

__all__ = [
    "Appointment",
    "DataHandling",
    "Deposit",
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
    "LineKind",
    "OldPartDisposition",
    "PartWarranty",
    "PickupNotice",
    "PromiseChange",
    "QcItemResult",
    "QualityCheck",
    "ReopenKind",
    "RepairHistoryItem",
    "ReplacementOffer",
    "Settlement",
    "Signature",
    "WorkNote",
]


# --- enumerations ----------------------------------------------------------------------------




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


# --- validation helpers ----------------------------------------------------------------------


def _names(entity: str, field: str) -> Any:
    def convert(values: Iterable[str]) -> tuple[str, ...]:
        if isinstance(values, str | bytes):
            raise ValidationError(entity, field, "must be a sequence of names, not one string")
        try:
            names = tuple(values)
        except TypeError:
            raise ValidationError(entity, field, "must be a sequence of names") from None
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
        problem = text_problem(value, required=False, max_length=MAX_TEXT)
        if problem is not None:
            raise ValidationError(entity, attribute.name, problem)

    return check


def _enum(entity: str, kind: type[enum.Enum]) -> Any:
    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            raise ValidationError(entity, attribute.name,
                                  f"unknown {kind.__name__} {shown(value)}")

    return check


def _aware(entity: str) -> Any:
    def check(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
        problem = instant_problem(value)
        if problem is not None:
            raise ValidationError(entity, attribute.name, problem)

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
        """R23/R25: the total less the deposit already received (never below zero)."""
        if self.deposit is None:
            return self.total
        rest = self.total - self.deposit
        return Money.zero(self.total.currency) if rest.is_negative else rest

    @property
    def refund_due(self) -> Money:
        """R23/R25: the part of the deposit beyond the total, owed back to the customer."""
        if self.deposit is None:
            return Money.zero(self.total.currency)
        beyond = self.deposit - self.total
        return beyond if not beyond.is_negative else Money.zero(self.total.currency)

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
