"""Depot repair (R13): the :class:`RepairOrder` aggregate and its kind declaration.

A :class:`RepairOrder` follows one unit through the depot: intake and the customer's signature,
diagnosis with the warranty determination (R20), the estimate and the customer's approval when
chargeable (R22), repair (waiting for parts, additional work needing new consent), the QC
checklist, pick-up notice (R16), settlement (R25) and delivery.

The order's value objects live in :mod:`aftersales.domain.repair_values`, the policy and its
pure computations in :mod:`aftersales.domain.repair_policy`, outsourced repair (R14) in
:mod:`aftersales.domain.outsourced`; this module re-exports all of them, so
``from aftersales.domain.repair import Intake, RepairPolicy, OutsourcedRepair`` works. The state
changes are driven by :mod:`aftersales.workflows.depot` and :mod:`aftersales.workflows.outsourced`,
which append to the record (R9) and emit the events of :mod:`aftersales.domain.repair_events`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import attrs

from aftersales.domain.kernel import Aggregate, AggregateKind, QueryField
from aftersales.domain.outsourced import (
    OUTSOURCED_REPAIRS,
    VENDORS,
    Chase,
    LedgerLine,
    OutsourcedRepair,
    OutsourcedState,
    Shipment,
    Vendor,
    VendorAttempt,
    VendorRegistry,
    return_ledger,
)
from aftersales.domain.repair_policy import (
    DEFAULT_FAULT_CODES,
    DEFAULT_QC_CHECKLIST,
    FaultCatalogue,
    RepairPolicy,
    _deposit,
    appointment_reminder_at,
    book_appointment,
    count_repeat_failures,
    is_free_rerepair,
    next_vendor_chase,
    pickup_notice_at,
    pickup_notice_lead,
    progress_check_at,
    required_deposit,
    should_offer_replacement,
)
from aftersales.domain.repair_values import (
    Appointment,
    DataHandling,
    Deposit,
    Diagnosis,
    Discount,
    Estimate,
    EstimateBasis,
    EstimateLine,
    EstimateStatus,
    FaultClass,
    FaultKind,
    FittedPart,
    Intake,
    LineKind,
    OldPartDisposition,
    PartWarranty,
    PickupNotice,
    PromiseChange,
    QcItemResult,
    QualityCheck,
    ReopenKind,
    RepairHistoryItem,
    ReplacementOffer,
    Settlement,
    Signature,
    WorkNote,
    _total,
)
from aftersales.domain.values import Money
from aftersales.domain.warranty import WarrantyDetermination

__all__ = [
    "DEFAULT_FAULT_CODES",
    "DEFAULT_QC_CHECKLIST",
    "FINISHED_ORDER_STATES",
    "OUTSOURCED_REPAIRS",
    "REPAIR_ORDERS",
    "VENDORS",
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
    "FaultCatalogue",
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


# --- the depot repair order (R13) ------------------------------------------------------------





_UNREPAIRED = (DepotState.DECLINED, DepotState.UNREPAIRABLE, DepotState.REPLACEMENT_OFFERED)


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class RepairOrder(Aggregate):
    """R13: a depot repair order (维修单) for one unit of one service request.

    Guards read by the workflow (:data:`aftersales.workflows.depot.DEPOT`): ``chargeable``,
    ``repair_authorized``, ``parts_available``, ``qc_passed_after_last_repair``, ``settled``,
    ``unsettled``, ``replacement_justified``.
    """

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
    bills_additional_work: bool = True  # R25, copied from the policy at intake
    engineer_id: UUID | None = None  # R13: the engineer who works on the order
    appointment: Appointment | None = None
    state: str = attrs.field(default=DepotState.INTAKE, converter=str)
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
        """R23: the deposit the billable estimates call for (none when nothing is billed)."""
        lines = [line for e in self.billable_estimates for line in e.lines]
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

    @property
    def billable_estimates(self) -> list[Estimate]:
        """R25: the approved estimates the customer pays for: all of them when the repair is
        chargeable; on a free repair only approved additional work, when the order bills it
        (``bills_additional_work``, from the policy)."""
        if self.chargeable:
            return self.approved_estimates
        if self.diagnosed and self.bills_additional_work:
            return [e for e in self.approved_estimates if e.additional]
        return []

    def gross_due(self) -> Money:
        """R25: what the job costs before a discount: the diagnosis fee when the unit goes back
        unrepaired; otherwise the billable estimates (nothing when in warranty and covered,
        unless approved additional work is billed)."""
        zero = Money.zero(self.currency)
        if self.unrepaired_reason is not None:
            return self.diagnosis_fee or zero
        total = zero
        for estimate in self.billable_estimates:
            total = total + estimate.total
        return total

    @property
    def effective_discount(self) -> Money:
        """R22: the discount as it applies now: never more than the gross due (a discount
        granted on a larger amount shrinks when rework or a declared failure lowers it)."""
        zero = Money.zero(self.currency)
        if self.discount is None:
            return zero
        gross = self.gross_due()
        return self.discount.amount if self.discount.amount.amount <= gross.amount else gross

    def amount_due(self) -> Money:
        """R22/R25: gross due minus the effective discount; never negative."""
        return self.gross_due() - self.effective_discount

    def breakdown(self) -> tuple[Money, Money, Money, Money]:
        """R25: (labour, parts, call-out, diagnosis fee) of the amount due before discount."""
        zero = Money.zero(self.currency)
        if self.unrepaired_reason is not None:
            return zero, zero, zero, self.diagnosis_fee or zero
        lines = [line for e in self.billable_estimates for line in e.lines]
        return (
            _total(lines, self.currency, LineKind.LABOUR),
            _total(lines, self.currency, LineKind.PART),
            _total(lines, self.currency, LineKind.CALL_OUT),
            zero,
        )

    def part_declined(self, sku: str) -> bool:
        """R13: ``sku`` was priced only in estimates the customer declined (or that were
        withdrawn), never in an approved one: it may not be fitted."""
        def priced(estimates: Iterable[Estimate]) -> set[str]:
            return {line.sku for e in estimates for line in e.lines if line.sku is not None}

        refused = priced(e for e in self.estimates if e.status == EstimateStatus.DECLINED)
        return sku in refused and sku not in priced(self.approved_estimates)

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


    def mark_repair_step(self, at: datetime) -> None:
        """R13: the newest record entry was a repair step; any earlier QC no longer counts."""
        self.last_repair_step = len(self.record)
        self.last_repair_at = at

    def mark_qc_passed(self, at: datetime) -> None:
        """R13: the newest record entry was a passed QC."""
        self.last_qc_pass = len(self.record)
        self.last_qc_passed_at = at


#: R13: an order in one of these states no longer holds the unit at the depot.
FINISHED_ORDER_STATES: frozenset[str] = frozenset(
    {DepotState.DELIVERED, DepotState.RETURNED, DepotState.REPLACED, DepotState.CLOSED}
)


def _open_equipment(order: RepairOrder) -> UUID | None:
    """The unit while the order holds it at the depot (unique: one open order per unit)."""
    return None if order.state in FINISHED_ORDER_STATES else order.equipment_id


REPAIR_ORDERS: AggregateKind[RepairOrder] = AggregateKind(
    cls=RepairOrder,
    entity="RepairOrder",
    table="repair_orders",
    fields=[
        QueryField("number", str, unique=True, max_length=64),
        QueryField("request_id", UUID),
        QueryField("equipment_id", UUID),
        QueryField("customer_id", UUID),
        QueryField("engineer_id", UUID),
        QueryField("state", str, max_length=64),
        QueryField("received_at", datetime),
        # R13: at most one open order per unit, kept by the storage as a unique key.
        QueryField("open_equipment_id", UUID, get=_open_equipment, unique=True),
    ],
    order_by=["received_at", "number"],
    number_prefix="RO",
    owner_field="customer_id",
    assignee_field="engineer_id",
    workflows=["depot"],
    description="R13 depot repair orders",
)
