"""R13 depot repair (维修服务 / 送修): the workflow as data and its steps.

intake (the customer signs the intake form) → diagnosis with the warranty determination (R20,
R21) → estimate and customer approval when chargeable (R22) → repair, which may wait for parts
(R28) or find additional work needing new consent and a later promised date → the QC checklist
→ ready for pick-up with the R16 notice → settlement (R25) → the customer signs delivery →
closed. Declined estimates, unrepairable units, replacement offers (R21) and outsourcing to a
vendor (R14) branch off. Each step validates its input, runs every check, then fires the shared
machine, appends to the record (R9) and emits its event; a refused step changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from aftersales.domain.repair import RepairOrder
from aftersales.workflows.core import Workflow, active, replay_record
from aftersales.workflows.depot_delivery import (
    accept_replacement,
    apply_discount,
    close,
    declare_unrepairable,
    deliver,
    offer_replacement,
    receive_from_vendor,
    return_unrepaired,
    send_to_vendor,
    settle,
    vendor_gave_up,
)
from aftersales.workflows.depot_flow import DEPOT, DEPOT_FLOW
from aftersales.workflows.depot_intake import (
    approve_estimate,
    assign_engineer,
    decline_estimate,
    diagnose,
    open_repair_order,
    reopen_diagnosis,
    send_estimate,
    sign_intake,
)
from aftersales.workflows.depot_repair import (
    approve_additional_work,
    decline_additional_work,
    finish_repair,
    fit_part,
    mark_ready,
    notify_delay,
    propose_additional_work,
    receive_deposit,
    record_parts_released,
    record_parts_reserved,
    record_progress_check,
    record_qc,
    record_repair_work,
    resume_repair,
    rework,
    start_repair,
    wait_for_parts,
)
from aftersales.workflows.outsourced import OUTSOURCED_FLOW

__all__ = [
    "DEPOT",
    "DEPOT_FLOW",
    "REPAIR_WORKFLOWS",
    "accept_replacement",
    "apply_discount",
    "approve_additional_work",
    "approve_estimate",
    "assign_engineer",
    "close",
    "declare_unrepairable",
    "decline_additional_work",
    "decline_estimate",
    "deliver",
    "diagnose",
    "finish_repair",
    "fit_part",
    "mark_ready",
    "notify_delay",
    "offer_replacement",
    "open_repair_order",
    "propose_additional_work",
    "receive_deposit",
    "receive_from_vendor",
    "record_parts_released",
    "record_parts_reserved",
    "record_progress_check",
    "record_qc",
    "record_repair_work",
    "reopen_diagnosis",
    "resume_repair",
    "return_unrepaired",
    "rework",
    "send_estimate",
    "send_to_vendor",
    "settle",
    "sign_intake",
    "start_repair",
    "vendor_gave_up",
    "verify_repair_record",
    "wait_for_parts",
]

#: The repair workflows by name, to merge into the global registry (``aftersales diagram``).
REPAIR_WORKFLOWS: dict[str, Workflow] = {"depot": DEPOT_FLOW, "outsourced": OUTSOURCED_FLOW}


def verify_repair_record(
    order: RepairOrder, workflows: Mapping[str, Workflow] | None = None
) -> list[str]:
    """R9: replay the order's record against the depot workflow; return every inconsistency
    (empty when clean). ``workflows``: the desk's, when it extends the depot workflow."""
    chosen = workflows or {}
    flows = {name: chosen.get(name) or active(flow) for name, flow in REPAIR_WORKFLOWS.items()}
    return replay_record(order.record, [order], flows)
