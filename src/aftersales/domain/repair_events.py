"""Domain events of depot repair (R13), outsourced repair (R14, R15) and spare parts (R28).

The request events of :mod:`aftersales.domain.events` carry a ``request_id``; these belong to
other aggregates (a :class:`~aftersales.domain.repair.RepairOrder`, an
:class:`~aftersales.domain.repair.OutsourcedRepair`, a :class:`~aftersales.domain.parts.Stock`),
so their base :class:`RepairEvent` names the aggregate in the class variable ``aggregate`` and
its id in ``aggregate_id``. Like every event, one carries a per-aggregate ``sequence``
(ordered, gap-free), when it happened and who did it; its :attr:`RepairEvent.event_id` is
derived from the aggregate id and the sequence, so it is stable across retries and never random.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import attrs

from aftersales.domain.kernel import AggregateEvent
from aftersales.domain.values import Money
from aftersales.domain.warranty import Exclusion, WarrantyBasis

__all__ = [
    "AdditionalWorkApproved",
    "AdditionalWorkDeclined",
    "AdditionalWorkProposed",
    "CatalogueEvent",
    "DelayNotified",
    "Delivered",
    "DepositReceived",
    "Diagnosed",
    "DiagnosisReopened",
    "DiscountApplied",
    "EstimateApproved",
    "EstimateDeclined",
    "EstimateSent",
    "FailedUnitReturned",
    "IntakeSigned",
    "OutsourcedEvent",
    "OutsourcingClosed",
    "OutsourcingOpened",
    "PartAdded",
    "PartDeadOnArrival",
    "PartFitted",
    "PartIssued",
    "PartReturned",
    "PartsReceived",
    "PartsReleased",
    "PartsReleasedFromOrder",
    "PartsReserved",
    "PartsReservedForOrder",
    "ProgressChecked",
    "QualityCheckRecorded",
    "ReadyForPickup",
    "ReceivedFromVendor",
    "RepairEngineerAssigned",
    "RepairEvent",
    "RepairFinished",
    "RepairOrderClosed",
    "RepairOrderOpened",
    "RepairResumed",
    "RepairStarted",
    "RepairWorkRecorded",
    "ReplacementAccepted",
    "ReplacementOffered",
    "ReturnedUnrepaired",
    "ReworkStarted",
    "SentToVendor",
    "Settled",
    "ShippedToVendor",
    "StockEvent",
    "StockLocationOpened",
    "UnitReinspected",
    "UnrepairableDeclared",
    "VendorChased",
    "VendorChosen",
    "VendorFailed",
    "VendorGaveUp",
    "VendorRegistered",
    "VendorReturned",
    "WaitingForParts",
    "WarrantyDetermined",
]


@attrs.frozen(kw_only=True)
class RepairEvent(AggregateEvent):
    """Base of the events of a depot repair order (R13)."""

    __abstract_event__ = True
    aggregate_type = "RepairOrder"


@attrs.frozen(kw_only=True)
class OutsourcedEvent(AggregateEvent):
    """Base of the events of an outsourced repair (R14)."""

    __abstract_event__ = True
    aggregate_type = "OutsourcedRepair"


@attrs.frozen(kw_only=True)
class StockEvent(AggregateEvent):
    """Base of the events of a stock location (R28)."""

    __abstract_event__ = True
    aggregate_type = "Stock"


@attrs.frozen(kw_only=True)
class CatalogueEvent(AggregateEvent):
    """Base of the events of the parts catalogue and the vendor registry (R28, R14)."""

    __abstract_event__ = True


@attrs.frozen(kw_only=True)
class PartAdded(CatalogueEvent):
    """R28: a part joined the catalogue."""

    aggregate_type = "Part"
    sku: str
    title: str  # the part's name (``name`` is the event's type name)


@attrs.frozen(kw_only=True)
class VendorRegistered(CatalogueEvent):
    """R14: a repair station joined the vendor registry."""

    aggregate_type = "Vendor"
    vendor: str  # the vendor's name (``name`` is the event's type name)


@attrs.frozen(kw_only=True)
class StockLocationOpened(StockEvent):
    """R28: a stock location (warehouse or engineer's stock) was opened."""

    location: str  # the location's name (``name`` is the event's type name)
    location_kind: str
    engineer_id: UUID | None


# --- depot repair (R13) -----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RepairOrderOpened(RepairEvent):
    """R13: the unit was received at the depot (机器接收单 drawn up)."""

    number: str
    request_id: UUID
    equipment_id: UUID
    customer_id: UUID
    promised_at: datetime
    progress_check_at: datetime


@attrs.frozen(kw_only=True)
class RepairEngineerAssigned(RepairEvent):
    """R13: the engineer who works on the order."""

    engineer_id: UUID


@attrs.frozen(kw_only=True)
class IntakeSigned(RepairEvent):
    """R13: the customer signed the intake form."""

    signed_by: str


@attrs.frozen(kw_only=True)
class Diagnosed(RepairEvent):
    """R13: the fault and its cause were found (a re-diagnosis carries ``revision``)."""

    fault: str
    cause: str
    fault_class: str
    findings: tuple[Exclusion, ...]
    revision: int


@attrs.frozen(kw_only=True)
class WarrantyDetermined(RepairEvent):
    """R20/R21: the warranty determination recorded with the diagnosis, and why it is free."""

    in_warranty: bool
    basis: WarrantyBasis
    exclusion: Exclusion | None
    explanation: str
    free_reason: str | None
    replacement_grounds: str | None


@attrs.frozen(kw_only=True)
class DiagnosisReopened(RepairEvent):
    """R13/§9: the diagnosis is reopened (disputed by the customer or misjudged)."""

    reason: str
    kind: str
    withdrawn_estimate_ids: tuple[UUID, ...]


@attrs.frozen(kw_only=True)
class EstimateSent(RepairEvent):
    """R22: an estimate was sent to the customer."""

    estimate_id: UUID
    total: Money
    voids_guarantee: bool


@attrs.frozen(kw_only=True)
class EstimateApproved(RepairEvent):
    """R13/R22: the customer approved the estimate."""

    estimate_id: UUID
    approved_by: str


@attrs.frozen(kw_only=True)
class EstimateDeclined(RepairEvent):
    """R13: the customer declined; the unit goes back unrepaired (diagnosis fee per policy)."""

    estimate_id: UUID
    declined_by: str
    reason: str
    diagnosis_fee: Money | None


@attrs.frozen(kw_only=True)
class RepairStarted(RepairEvent):
    """R13: repair work began."""


@attrs.frozen(kw_only=True)
class RepairWorkRecorded(RepairEvent):
    """R13: a step of the repair process record (产品维修过程记录)."""

    description: str


@attrs.frozen(kw_only=True)
class PartFitted(RepairEvent):
    """R13/R22/R28: a part was fitted; ``old_part`` says where the removed one went."""

    sku: str
    origin: str
    source: str
    voids_guarantee: bool
    old_part: str


@attrs.frozen(kw_only=True)
class WaitingForParts(RepairEvent):
    """R13/R28: the repair waits for parts (sku, quantity)."""

    needed: tuple[tuple[str, int], ...]
    reason: str


@attrs.frozen(kw_only=True)
class PartsReservedForOrder(RepairEvent):
    """R28: a reservation for the order was made at a stock location."""

    reservation_id: UUID
    sku: str
    quantity: int


@attrs.frozen(kw_only=True)
class PartsReleasedFromOrder(RepairEvent):
    """R28: the unused rest of a reservation went back to stock; the order no longer counts
    it as reserved."""

    reservation_id: UUID
    sku: str
    quantity: int


@attrs.frozen(kw_only=True)
class RepairResumed(RepairEvent):
    """R13: the parts are reserved; repair continues."""


@attrs.frozen(kw_only=True)
class AdditionalWorkProposed(RepairEvent):
    """R13: more work found during repair; it needs the customer's consent again."""

    estimate_id: UUID
    total: Money
    reason: str
    new_promised_at: datetime
    voids_guarantee: bool


@attrs.frozen(kw_only=True)
class AdditionalWorkApproved(RepairEvent):
    """R13: the customer consented to the additional work; the promised date moved."""

    estimate_id: UUID
    approved_by: str
    promised_at: datetime


@attrs.frozen(kw_only=True)
class AdditionalWorkDeclined(RepairEvent):
    """R13: the customer refused the additional work; the original job continues."""

    estimate_id: UUID
    declined_by: str


@attrs.frozen(kw_only=True)
class RepairFinished(RepairEvent):
    """R13: repair done; self re-inspection (QC) next."""

    summary: str


@attrs.frozen(kw_only=True)
class ReworkStarted(RepairEvent):
    """R13/§9: back to repair after a failed QC or a customer who says the job is not right."""

    reason: str


@attrs.frozen(kw_only=True)
class QualityCheckRecorded(RepairEvent):
    """R13: a QC checklist was run; ``failed_items`` empty means passed."""

    passed: bool
    failed_items: tuple[str, ...]


@attrs.frozen(kw_only=True)
class ProgressChecked(RepairEvent):
    """R15: the progress check at 70-80 % of the promised duration was made."""

    note: str


@attrs.frozen(kw_only=True)
class DelayNotified(RepairEvent):
    """R15/R16: the customer was told of a delay, with the reason and an apology."""

    previous_promised_at: datetime
    new_promised_at: datetime
    reason: str
    late_notice: bool


@attrs.frozen(kw_only=True)
class ReadyForPickup(RepairEvent):
    """R16: QC passed; the customer is notified ``lead`` before the pick-up time."""

    pickup_at: datetime
    notice_at: datetime
    lead: timedelta


@attrs.frozen(kw_only=True)
class DepositReceived(RepairEvent):
    """R23: a deposit for expensive parts to be ordered was received."""

    amount: Money
    total_paid: Money


@attrs.frozen(kw_only=True)
class DiscountApplied(RepairEvent):
    """R22: a discount with the supervisor who authorized it."""

    amount: Money
    authorized_by: UUID
    reason: str


@attrs.frozen(kw_only=True)
class Settled(RepairEvent):
    """R25: the job was settled (paid on pick-up, or a receivable)."""

    total: Money
    paid: bool
    outlet: str
    refund_due: Money


@attrs.frozen(kw_only=True)
class Delivered(RepairEvent):
    """R13: the customer signed for the repaired unit."""

    signed_by: str
    part_warranties: int


@attrs.frozen(kw_only=True)
class RepairOrderClosed(RepairEvent):
    """R13: the repair order was closed."""

    outcome: str


@attrs.frozen(kw_only=True)
class UnrepairableDeclared(RepairEvent):
    """R13/R14: the unit cannot be repaired."""

    reason: str


@attrs.frozen(kw_only=True)
class ReplacementOffered(RepairEvent):
    """R21/R14: a replacement with the same model or better was offered."""

    grounds: str
    model: str


@attrs.frozen(kw_only=True)
class ReplacementAccepted(RepairEvent):
    """R21: the customer took the replacement unit."""

    model: str
    serial: str
    signed_by: str


@attrs.frozen(kw_only=True)
class ReturnedUnrepaired(RepairEvent):
    """R13: the unit went back to the customer unrepaired."""

    signed_by: str
    reason: str


@attrs.frozen(kw_only=True)
class SentToVendor(RepairEvent):
    """R14: the depot order's unit went out for outsourced repair."""

    outsourced_id: UUID


@attrs.frozen(kw_only=True)
class ReceivedFromVendor(RepairEvent):
    """R14: the unit is back from the vendor, re-inspected; depot QC next."""

    outsourced_id: UUID


@attrs.frozen(kw_only=True)
class VendorGaveUp(RepairEvent):
    """R14: no vendor could repair the unit; it is unrepairable here."""

    outsourced_id: UUID
    reason: str


# --- outsourced repair (R14, R15) -------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OutsourcingOpened(OutsourcedEvent):
    """R14: a unit qualifies for outsourced repair (maker's warranty or beyond our ability)."""

    order_id: UUID
    equipment_id: UUID
    maker_warranty: bool
    beyond_local_ability: bool
    reason: str


@attrs.frozen(kw_only=True)
class VendorChosen(OutsourcedEvent):
    """R14: an external repair station agreed to take the unit (attempt ``attempt``)."""

    vendor_id: UUID
    attempt: int


@attrs.frozen(kw_only=True)
class ShippedToVendor(OutsourcedEvent):
    """R14: shipped; the receipt / pick-up voucher is kept."""

    vendor_id: UUID
    carrier: str
    tracking_number: str
    voucher: str
    promised_by: datetime
    next_chase_at: datetime


@attrs.frozen(kw_only=True)
class VendorChased(OutsourcedEvent):
    """R15: the vendor was chased; the answer and the next chase are recorded."""

    vendor_id: UUID
    response: str
    promised_by: datetime
    next_chase_at: datetime


@attrs.frozen(kw_only=True)
class VendorReturned(OutsourcedEvent):
    """R14: the unit came back from the vendor."""

    vendor_id: UUID
    vendor_report: str


@attrs.frozen(kw_only=True)
class UnitReinspected(OutsourcedEvent):
    """R14: re-inspection with the depot QC checklist before it goes back to the customer."""

    passed: bool
    failed_items: tuple[str, ...]


@attrs.frozen(kw_only=True)
class VendorFailed(OutsourcedEvent):
    """R14: the vendor could not repair the unit."""

    vendor_id: UUID
    reason: str
    attempts_left: int


@attrs.frozen(kw_only=True)
class FailedUnitReturned(OutsourcedEvent):
    """R14: the unit a failed vendor held is back at the depot."""

    vendor_id: UUID


@attrs.frozen(kw_only=True)
class OutsourcingClosed(OutsourcedEvent):
    """R14: the outsourced repair ended (``back_at_depot``, ``replacement_offered``...)."""

    outcome: str
    reason: str


# --- spare parts (R28) ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PartsReceived(StockEvent):
    """R28: goods receipt signed off at a stock location."""

    sku: str
    quantity: int
    supplier_id: UUID | None


@attrs.frozen(kw_only=True)
class PartsReserved(StockEvent):
    """R28: parts reserved for a repair order."""

    reservation_id: UUID
    order_id: UUID
    sku: str
    quantity: int


@attrs.frozen(kw_only=True)
class PartIssued(StockEvent):
    """R28: reserved parts issued to the job (consumed from stock)."""

    reservation_id: UUID
    sku: str
    quantity: int


@attrs.frozen(kw_only=True)
class PartsReleased(StockEvent):
    """R28: the unused rest of a reservation went back to available stock."""

    reservation_id: UUID
    sku: str
    quantity: int


@attrs.frozen(kw_only=True)
class PartReturned(StockEvent):
    """R28: a defective part removed from a unit was booked for return to its supplier."""

    order_id: UUID
    sku: str
    quantity: int
    supplier_id: UUID | None


@attrs.frozen(kw_only=True)
class PartDeadOnArrival(StockEvent):
    """R28/§9: an issued part was dead on arrival; recorded against its supplier, replaced."""

    reservation_id: UUID
    order_id: UUID
    sku: str
    supplier_id: UUID | None
    replaced: bool
