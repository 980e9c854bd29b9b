"""The typed methods of depot repair (R13, R15, R16, R20-R23, R25)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from uuid import UUID

from aftersales.domain.parts import PartOrigin, PartSource
from aftersales.domain.records import Actor
from aftersales.domain.repair import (
    Appointment,
    EstimateLine,
    FaultClass,
    FaultKind,
    Intake,
    OldPartDisposition,
    ReopenKind,
    RepairOrder,
)
from aftersales.domain.values import Money
from aftersales.domain.warranty import Exclusion
from aftersales.service import depot as dp
from aftersales.service import depot_closing as dc
from aftersales.service.repair_base import RepairRunner
from aftersales.service.runner import actor_id_of

__all__ = ["DepotCommands"]


class DepotCommands(RepairRunner):
    """Typed methods of the depot commands (mixed into
    :class:`~aftersales.service.repairs.RepairDesk`)."""

    def receive_at_depot(
        self, actor: Actor | UUID, request_id: UUID, *, intake: Intake, promised_at: datetime,
        equipment_id: UUID | None = None, appointment: Appointment | None = None,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13: receive the unit of a request ``handed_to_depot``: a repair order with the
        intake inspection and the promised date; the request waits ``at_depot`` (it cannot
        be cancelled while the unit is here). One open order per unit."""
        return self._as(RepairOrder, dp.ReceiveAtDepot(
            actor_id=actor_id_of(actor), request_id=request_id, intake=intake,
            promised_at=promised_at, equipment_id=equipment_id, appointment=appointment,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def assign_repair_engineer(
        self, actor: Actor | UUID, order_id: UUID, *, engineer_id: UUID,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13: the engineer who works on the order (only they do its technical steps)."""
        return self._as(RepairOrder, dp.AssignRepairEngineer(
            actor_id=actor_id_of(actor), order_id=order_id, engineer_id=engineer_id,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def sign_intake(
        self, actor: Actor | UUID, order_id: UUID, *, signed_by: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13: the customer signs the intake form (机器接收单); diagnosis may begin."""
        return self._as(RepairOrder, dp.SignIntake(
            actor_id=actor_id_of(actor), order_id=order_id, signed_by=signed_by,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def diagnose(
        self, actor: Actor | UUID, order_id: UUID, *, fault: str, cause: str,
        fault_class: FaultClass, fault_kind: FaultKind, fault_code: str,
        findings: Iterable[Exclusion] = (), idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> RepairOrder:
        """R13/R20/R21: record the diagnosis: ``fault_code`` from the policy's catalogue for
        the unit's product line, ``fault`` in words. The warranty determination uses the
        unit's file, the customer's plans and the unit's repair history (R21)."""
        return self._as(RepairOrder, dp.Diagnose(
            actor_id=actor_id_of(actor), order_id=order_id, fault=fault, cause=cause,
            fault_class=fault_class, fault_kind=fault_kind, fault_code=fault_code,
            findings=findings, idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def reopen_diagnosis(
        self, actor: Actor | UUID, order_id: UUID, *, reason: str, kind: ReopenKind,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """§9: back to diagnosis; every live estimate is withdrawn (refused once settled)."""
        return self._as(RepairOrder, dp.ReopenDiagnosis(
            actor_id=actor_id_of(actor), order_id=order_id, reason=reason, kind=kind,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def send_estimate(
        self, actor: Actor | UUID, order_id: UUID, *, lines: Sequence[EstimateLine],
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R22: the estimate of a chargeable repair; it is ``order.estimates[-1]``."""
        return self._as(RepairOrder, dp.SendEstimate(
            actor_id=actor_id_of(actor), order_id=order_id, lines=lines,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def approve_estimate(
        self, actor: Actor | UUID, order_id: UUID, *, approved_by: str | None = None,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13/R22: the customer approves (staff recording it name the customer)."""
        return self._as(RepairOrder, dp.ApproveEstimate(
            actor_id=actor_id_of(actor), order_id=order_id, approved_by=approved_by,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def decline_estimate(
        self, actor: Actor | UUID, order_id: UUID, *, reason: str, declined_by: str | None = None,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13: the customer declines; the unit goes back unrepaired (diagnosis fee per policy)."""
        return self._as(RepairOrder, dp.DeclineEstimate(
            actor_id=actor_id_of(actor), order_id=order_id, reason=reason, declined_by=declined_by,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def start_repair(
        self, actor: Actor | UUID, order_id: UUID, *, note: str = "",
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13/R22: start the repair: free, or chargeable with the customer's approval."""
        return self._as(RepairOrder, dp.StartRepair(
            actor_id=actor_id_of(actor), order_id=order_id, note=note,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def record_repair_work(
        self, actor: Actor | UUID, order_id: UUID, *, description: str, wipes_data: bool = False,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13: a step of the repair process record (a wipe needs ``wipe_allowed``, §9)."""
        return self._as(RepairOrder, dp.RecordRepairWork(
            actor_id=actor_id_of(actor), order_id=order_id, description=description,
            wipes_data=wipes_data, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def fit_part(
        self, actor: Actor | UUID, order_id: UUID, *, sku: str,
        source: PartSource = PartSource.OURS, customer_insisted: bool = False,
        old_part: OldPartDisposition | None = None, description: str | None = None,
        origin: PartOrigin | None = None, storage_media: bool | None = None,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13/R22/R28: fit a part: ours from the catalogue, or the customer's with its
        description and origin; never a part whose work the customer declined."""
        return self._as(RepairOrder, dp.FitPart(
            actor_id=actor_id_of(actor), order_id=order_id, sku=sku, source=source,
            customer_insisted=customer_insisted, old_part=old_part, description=description,
            origin=origin, storage_media=storage_media, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def receive_deposit(
        self, actor: Actor | UUID, order_id: UUID, *, amount: Money,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R23: a deposit toward expensive parts that must be ordered."""
        return self._as(RepairOrder, dp.ReceiveDeposit(
            actor_id=actor_id_of(actor), order_id=order_id, amount=amount,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def wait_for_parts(
        self, actor: Actor | UUID, order_id: UUID, *, needed: Mapping[str, int], reason: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13/R28: the repair waits until these parts (sku → quantity) are reserved."""
        return self._as(RepairOrder, dp.WaitForParts(
            actor_id=actor_id_of(actor), order_id=order_id, needed=needed, reason=reason,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def resume_repair(
        self, actor: Actor | UUID, order_id: UUID, *, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> RepairOrder:
        """R13/R28: every part waited for is reserved; the repair continues."""
        return self._as(RepairOrder, dp.ResumeRepair(
            actor_id=actor_id_of(actor), order_id=order_id, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def propose_additional_work(
        self, actor: Actor | UUID, order_id: UUID, *, lines: Sequence[EstimateLine], reason: str,
        new_promised_at: datetime, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> RepairOrder:
        """R13: more work found needs the customer's consent again and a later promised date."""
        return self._as(RepairOrder, dp.ProposeAdditionalWork(
            actor_id=actor_id_of(actor), order_id=order_id, lines=lines, reason=reason,
            new_promised_at=new_promised_at, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def approve_additional_work(
        self, actor: Actor | UUID, order_id: UUID, *, approved_by: str | None = None,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13: the customer consents to the additional work; the promised date moves."""
        return self._as(RepairOrder, dp.ApproveAdditionalWork(
            actor_id=actor_id_of(actor), order_id=order_id, approved_by=approved_by,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def decline_additional_work(
        self, actor: Actor | UUID, order_id: UUID, *, declined_by: str | None = None,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13: the customer refuses the additional work; the original job continues."""
        return self._as(RepairOrder, dp.DeclineAdditionalWork(
            actor_id=actor_id_of(actor), order_id=order_id, declined_by=declined_by,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def finish_repair(
        self, actor: Actor | UUID, order_id: UUID, *, summary: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13: the repair is done; the QC checklist comes next."""
        return self._as(RepairOrder, dp.FinishRepair(
            actor_id=actor_id_of(actor), order_id=order_id, summary=summary,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def record_qc(
        self, actor: Actor | UUID, order_id: UUID, *, results: Mapping[str, bool],
        notes: Mapping[str, str] | None = None, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> RepairOrder:
        """R13: run the QC checklist (every item answered)."""
        return self._as(RepairOrder, dp.RecordQc(
            actor_id=actor_id_of(actor), order_id=order_id, results=results, notes=notes,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def rework(
        self, actor: Actor | UUID, order_id: UUID, *, reason: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13/§9: back to repair after a failed QC or a complaint at pick-up."""
        return self._as(RepairOrder, dp.Rework(
            actor_id=actor_id_of(actor), order_id=order_id, reason=reason,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def record_progress_check(
        self, actor: Actor | UUID, order_id: UUID, *, note: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R15: the progress check at ``progress_check_fraction`` of the promised duration."""
        return self._as(RepairOrder, dp.RecordProgressCheck(
            actor_id=actor_id_of(actor), order_id=order_id, note=note,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def notify_delay(
        self, actor: Actor | UUID, order_id: UUID, *, new_promised_at: datetime, reason: str,
        apology: str, idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R15/R16: tell the customer of a delay with the reason and an apology."""
        return self._as(RepairOrder, dp.NotifyDelay(
            actor_id=actor_id_of(actor), order_id=order_id, new_promised_at=new_promised_at,
            reason=reason, apology=apology, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def mark_ready(
        self, actor: Actor | UUID, order_id: UUID, *, pickup_at: datetime,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R16: QC passed; the customer is told 1 h (under 2 days) or 4 h ahead."""
        return self._as(RepairOrder, dp.MarkReady(
            actor_id=actor_id_of(actor), order_id=order_id, pickup_at=pickup_at,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def apply_discount(
        self, actor: Actor | UUID, order_id: UUID, *, amount: Money, reason: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R22: a discount, granted by the supervisor who runs this command."""
        return self._as(RepairOrder, dc.ApplyDiscount(
            actor_id=actor_id_of(actor), order_id=order_id, amount=amount, reason=reason,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def settle(
        self, actor: Actor | UUID, order_id: UUID, *, amount: Money, paid: bool = True,
        outlet: str = "", idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R25: settle the job; ``amount`` must equal the amount due."""
        return self._as(RepairOrder, dc.Settle(
            actor_id=actor_id_of(actor), order_id=order_id, amount=amount, paid=paid,
            outlet=outlet, idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def deliver(
        self, actor: Actor | UUID, order_id: UUID, *, signed_by: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13: the customer signs for the repaired unit; the request is resolved."""
        return self._as(RepairOrder, dc.Deliver(
            actor_id=actor_id_of(actor), order_id=order_id, signed_by=signed_by,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def close_order(
        self, actor: Actor | UUID, order_id: UUID, *, idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> RepairOrder:
        """R13/R28: close a delivered, returned or replaced order."""
        return self._as(RepairOrder, dc.CloseOrder(
            actor_id=actor_id_of(actor), order_id=order_id, idempotency_key=idempotency_key,
            expected_version=expected_version,
        ))

    def declare_unrepairable(
        self, actor: Actor | UUID, order_id: UUID, *, reason: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13: the unit cannot be repaired."""
        return self._as(RepairOrder, dc.DeclareUnrepairable(
            actor_id=actor_id_of(actor), order_id=order_id, reason=reason,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def offer_replacement(
        self, actor: Actor | UUID, order_id: UUID, *, model: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R21: offer a replacement of the same model or better (only with grounds)."""
        return self._as(RepairOrder, dc.OfferReplacement(
            actor_id=actor_id_of(actor), order_id=order_id, model=model,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def accept_replacement(
        self, actor: Actor | UUID, order_id: UUID, *, serial: str, signed_by: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R21: the customer takes the replacement unit; the request is resolved."""
        return self._as(RepairOrder, dc.AcceptReplacement(
            actor_id=actor_id_of(actor), order_id=order_id, serial=serial, signed_by=signed_by,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))

    def return_unrepaired(
        self, actor: Actor | UUID, order_id: UUID, *, signed_by: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> RepairOrder:
        """R13/R25: hand the unit back unrepaired; the request is resolved."""
        return self._as(RepairOrder, dc.ReturnUnrepaired(
            actor_id=actor_id_of(actor), order_id=order_id, signed_by=signed_by,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))
