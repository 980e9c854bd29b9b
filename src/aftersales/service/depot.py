"""Commands of depot repair (R13, R15, R16, R20-R23, R25) and their handlers.

A command on an order is authorized against the order as loaded (its customer owns it, its
engineer is assigned to it). Receiving a unit moves its request to ``at_depot`` in the same
transaction (so the request cannot be cancelled while the unit is at the depot) and the
storage keeps one open order per unit as a unique key; handing the unit back resolves the
request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from aftersales.domain.parts import PartOrigin, PartSource
from aftersales.domain.repair import (
    Appointment,
    EstimateLine,
    FaultClass,
    FaultKind,
    Intake,
    OldPartDisposition,
    ReopenKind,
)
from aftersales.domain.values import Money
from aftersales.domain.warranty import Exclusion
from aftersales.errors import ValidationError
from aftersales.service.commands import (
    Command,
    boolean,
    instance,
    instant,
    integer,
    member,
    money,
    optional,
    sequence_of,
    text,
    tuple_,
    uuid,
)

__all__ = [
    "QC_NOTES",
    "QC_RESULTS",
    "ApproveAdditionalWork",
    "ApproveEstimate",
    "AssignRepairEngineer",
    "DeclineAdditionalWork",
    "DeclineEstimate",
    "Diagnose",
    "FinishRepair",
    "FitPart",
    "MarkReady",
    "NotifyDelay",
    "OrderCommand",
    "ProposeAdditionalWork",
    "ReceiveAtDepot",
    "ReceiveDeposit",
    "RecordProgressCheck",
    "RecordQc",
    "RecordRepairWork",
    "ReopenDiagnosis",
    "ResumeRepair",
    "Rework",
    "SendEstimate",
    "SignIntake",
    "StartRepair",
    "WaitForParts",
    "pair",
    "pairs",
]

_ORDER = "RepairOrder"


def _text(**kw: Any) -> Any:
    return attrs.field(validator=text(**kw))


def _note() -> Any:
    return attrs.field(default="", validator=text(required=False))


def _name() -> Any:
    return attrs.field(default=None, validator=optional(text(max_length=200)))


def pair(key: Callable[..., None], value: Callable[..., None]) -> Callable[..., None]:
    def check(inst: Any, attribute: attrs.Attribute[Any], item: Any) -> None:
        if not isinstance(item, tuple) or len(item) != 2:
            raise ValidationError(type(inst).__name__, attribute.name, "expects (key, value) pairs")
        key(inst, attribute, item[0])
        value(inst, attribute, item[1])

    return check


def pairs(value: Any) -> Any:
    """Converter: a mapping (or pairs) becomes a tuple of (key, value) pairs in key order;
    None becomes no pairs."""
    if value is None:
        return ()
    items = value.items() if hasattr(value, "items") else value
    converted = tuple_(items)
    if isinstance(converted, tuple) and all(
        isinstance(p, tuple) and len(p) == 2 for p in converted
    ):
        try:
            return tuple(sorted(converted, key=lambda p: str(p[0])))
        except Exception:
            return converted
    return converted


#: The QC checklist's answers, (item, passed) pairs: the depot's QC (R13) and the re-inspection
#: of a unit back from its vendor (R14) use the same checklist.
QC_RESULTS = sequence_of(pair(text(max_length=500), boolean()), max_items=500)
#: Notes on QC checklist items, (item, note) pairs.
QC_NOTES = sequence_of(pair(text(max_length=500), text(required=False)), max_items=500)


@attrs.frozen(kw_only=True)
class ReceiveAtDepot(Command):
    """R13: receive the unit of a request ``handed_to_depot``: open a repair order with the
    intake inspection and the promised date; the request waits ``at_depot``."""

    name = "receive_at_depot"
    request_id: UUID = attrs.field(validator=uuid())
    intake: Intake = attrs.field(validator=instance(Intake))
    promised_at: datetime = attrs.field(validator=instant())
    equipment_id: UUID | None = attrs.field(default=None, validator=optional(uuid()))
    appointment: Appointment | None = attrs.field(default=None,
                                                  validator=optional(instance(Appointment)))


@attrs.frozen(kw_only=True)
class OrderCommand(Command):
    """Base of a command on one repair order."""

    name = "order_command"
    order_id: UUID = attrs.field(validator=uuid())


@attrs.frozen(kw_only=True)
class AssignRepairEngineer(OrderCommand):
    """R13: the engineer who works on the order (by default the request's engineer)."""

    name = "assign_repair_engineer"
    engineer_id: UUID = attrs.field(validator=uuid())


@attrs.frozen(kw_only=True)
class SignIntake(OrderCommand):
    """R13: the customer signs the intake form (机器接收单)."""

    name = "sign_intake"
    signed_by: str = _text(max_length=200)


@attrs.frozen(kw_only=True)
class Diagnose(OrderCommand):
    """R13/R20/R21: the diagnosis, with a fault code from the policy's catalogue for the unit's
    product line; the warranty determination follows."""

    name = "diagnose"
    fault: str = _text()
    cause: str = _text()
    fault_class: FaultClass = attrs.field(validator=member(FaultClass))
    fault_kind: FaultKind = attrs.field(validator=member(FaultKind))
    fault_code: str = _text(max_length=40)
    findings: tuple[Exclusion, ...] = attrs.field(
        default=(), converter=tuple_, validator=sequence_of(member(Exclusion), max_items=10)
    )


@attrs.frozen(kw_only=True)
class ReopenDiagnosis(OrderCommand):
    """§9: back to diagnosis (disputed, misjudged, new findings); live estimates withdrawn."""

    name = "reopen_diagnosis"
    reason: str = _text()
    kind: ReopenKind = attrs.field(validator=member(ReopenKind))


@attrs.frozen(kw_only=True)
class SendEstimate(OrderCommand):
    """R22: the estimate of a chargeable repair."""

    name = "send_estimate"
    lines: tuple[EstimateLine, ...] = attrs.field(
        converter=tuple_, validator=sequence_of(instance(EstimateLine), min_items=1,
                                                max_items=100)
    )


@attrs.frozen(kw_only=True)
class ApproveEstimate(OrderCommand):
    """R13/R22: the customer approves (staff recording it name the customer)."""

    name = "approve_estimate"
    approved_by: str | None = _name()


@attrs.frozen(kw_only=True)
class DeclineEstimate(OrderCommand):
    """R13: the customer declines; the unit goes back unrepaired."""

    name = "decline_estimate"
    reason: str = _text()
    declined_by: str | None = _name()


@attrs.frozen(kw_only=True)
class StartRepair(OrderCommand):
    """R13/R22: start the repair (free, or with the customer's approval)."""

    name = "start_repair"
    note: str = _note()


@attrs.frozen(kw_only=True)
class RecordRepairWork(OrderCommand):
    """R13: a step of the repair process record."""

    name = "record_repair_work"
    description: str = _text()
    wipes_data: bool = attrs.field(default=False, validator=boolean())


@attrs.frozen(kw_only=True)
class FitPart(OrderCommand):
    """R13/R22/R28: fit a part (ours from the catalogue, or the customer's)."""

    name = "fit_part"
    sku: str = _text(max_length=64)
    source: PartSource = attrs.field(default=PartSource.OURS, validator=member(PartSource))
    customer_insisted: bool = attrs.field(default=False, validator=boolean())
    old_part: OldPartDisposition | None = attrs.field(
        default=None, validator=optional(member(OldPartDisposition))
    )
    description: str | None = attrs.field(default=None, validator=optional(text()))
    origin: PartOrigin | None = attrs.field(default=None, validator=optional(member(PartOrigin)))
    storage_media: bool | None = attrs.field(default=None, validator=optional(boolean()))


@attrs.frozen(kw_only=True)
class ReceiveDeposit(OrderCommand):
    """R23: a deposit toward expensive parts that must be ordered."""

    name = "receive_deposit"
    amount: Money = attrs.field(validator=money(positive=True))


@attrs.frozen(kw_only=True)
class WaitForParts(OrderCommand):
    """R13/R28: the repair waits until these parts (sku → quantity) are reserved."""

    name = "wait_for_parts"
    needed: tuple[tuple[str, int], ...] = attrs.field(
        converter=pairs,
        validator=sequence_of(pair(text(max_length=64), integer(low=1, high=100_000)),
                              min_items=1, max_items=100),
    )
    reason: str = _text()


@attrs.frozen(kw_only=True)
class ResumeRepair(OrderCommand):
    """R13/R28: every part waited for is reserved; the repair continues."""

    name = "resume_repair"


@attrs.frozen(kw_only=True)
class ProposeAdditionalWork(OrderCommand):
    """R13: more work found; the customer's consent again, a later promised date."""

    name = "propose_additional_work"
    lines: tuple[EstimateLine, ...] = attrs.field(
        converter=tuple_, validator=sequence_of(instance(EstimateLine), min_items=1,
                                                max_items=100)
    )
    reason: str = _text()
    new_promised_at: datetime = attrs.field(validator=instant())


@attrs.frozen(kw_only=True)
class ApproveAdditionalWork(OrderCommand):
    """R13: the customer consents to the additional work."""

    name = "approve_additional_work"
    approved_by: str | None = _name()


@attrs.frozen(kw_only=True)
class DeclineAdditionalWork(OrderCommand):
    """R13: the customer refuses the additional work; the original job continues."""

    name = "decline_additional_work"
    declined_by: str | None = _name()


@attrs.frozen(kw_only=True)
class FinishRepair(OrderCommand):
    """R13: the repair is done; the QC checklist comes next."""

    name = "finish_repair"
    summary: str = _text()


@attrs.frozen(kw_only=True)
class RecordQc(OrderCommand):
    """R13: the QC checklist, every item answered."""

    name = "record_qc"
    results: tuple[tuple[str, bool], ...] = attrs.field(converter=pairs, validator=QC_RESULTS)
    notes: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=pairs,
                                                     validator=QC_NOTES)


@attrs.frozen(kw_only=True)
class Rework(OrderCommand):
    """R13/§9: back to repair after a failed QC or a complaint at pick-up."""

    name = "rework"
    reason: str = _text()


@attrs.frozen(kw_only=True)
class RecordProgressCheck(OrderCommand):
    """R15: the progress check was made."""

    name = "record_progress_check"
    note: str = _text()


@attrs.frozen(kw_only=True)
class NotifyDelay(OrderCommand):
    """R15/R16: tell the customer of a delay, with the reason and an apology."""

    name = "notify_delay"
    new_promised_at: datetime = attrs.field(validator=instant())
    reason: str = _text()
    apology: str = _text()


@attrs.frozen(kw_only=True)
class MarkReady(OrderCommand):
    """R16: QC passed; the customer is told ahead of pick-up."""

    name = "mark_ready"
    pickup_at: datetime = attrs.field(validator=instant())
