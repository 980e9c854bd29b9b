"""Workflows as data: the shipped definitions, the graph check, diagrams and the steps.

>>> from aftersales.workflows import WORKFLOWS, check_workflow
>>> sorted(WORKFLOWS)
['onsite', 'remote', 'request']
>>> [check_workflow(w.definition) for w in WORKFLOWS.values()]
[[], [], []]
"""

from aftersales.workflows.core import (
    MustPassThrough,
    RequiresCondition,
    Transition,
    Workflow,
    WorkflowDefinition,
    check_workflow,
    replay_record,
    verify_workflow,
)
from aftersales.workflows.definitions import ONSITE, REMOTE, REQUEST
from aftersales.workflows.steps import (
    ONSITE_FLOW,
    REMOTE_FLOW,
    REQUEST_FLOW,
    WORKFLOWS,
    verify_record,
)

__all__ = [
    "ONSITE",
    "ONSITE_FLOW",
    "REMOTE",
    "REMOTE_FLOW",
    "REQUEST",
    "REQUEST_FLOW",
    "WORKFLOWS",
    "MustPassThrough",
    "RequiresCondition",
    "Transition",
    "Workflow",
    "WorkflowDefinition",
    "check_workflow",
    "replay_record",
    "verify_record",
    "verify_workflow",
]
