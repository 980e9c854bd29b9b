"""Workflows as data: the shipped definitions, the graph check, diagrams and the steps.

>>> from aftersales.workflows import WORKFLOWS, check_workflow
>>> sorted(WORKFLOWS)
['depot', 'directory', 'file', 'onsite', 'outsourced', 'remote', 'request']
>>> [check_workflow(w.definition) for w in WORKFLOWS.values()]
[[], [], [], [], [], [], []]
"""

from aftersales.workflows.core import (
    Guard,
    MustPassThrough,
    RequiresCondition,
    Transition,
    Workflow,
    WorkflowDefinition,
    active,
    check_workflow,
    replay_record,
    using,
    verify_workflow,
)
from aftersales.workflows.definitions import ONSITE, REMOTE, REQUEST
from aftersales.workflows.depot import DEPOT, DEPOT_FLOW, REPAIR_WORKFLOWS, verify_repair_record
from aftersales.workflows.outsourced import (
    OUTSOURCED,
    OUTSOURCED_FLOW,
    verify_outsourced_record,
)
from aftersales.workflows.records import RECORD_WORKFLOWS
from aftersales.workflows.steps import (
    ONSITE_FLOW,
    REMOTE_FLOW,
    REQUEST_FLOW,
    REQUEST_WORKFLOWS,
    verify_record,
)

#: Every shipped workflow by name: ``aftersales diagram NAME`` draws any of them.
WORKFLOWS: dict[str, Workflow] = {**REQUEST_WORKFLOWS, **REPAIR_WORKFLOWS, **RECORD_WORKFLOWS}

__all__ = [
    "DEPOT",
    "DEPOT_FLOW",
    "ONSITE",
    "ONSITE_FLOW",
    "OUTSOURCED",
    "OUTSOURCED_FLOW",
    "RECORD_WORKFLOWS",
    "REMOTE",
    "REMOTE_FLOW",
    "REPAIR_WORKFLOWS",
    "REQUEST",
    "REQUEST_FLOW",
    "REQUEST_WORKFLOWS",
    "WORKFLOWS",
    "Guard",
    "MustPassThrough",
    "RequiresCondition",
    "Transition",
    "Workflow",
    "WorkflowDefinition",
    "active",
    "check_workflow",
    "replay_record",
    "using",
    "verify_outsourced_record",
    "verify_record",
    "verify_repair_record",
    "verify_workflow",
]
