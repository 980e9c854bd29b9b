"""The depot (R13) and outsourced (R14) workflows as data: graph check, guarantees, machines."""

from __future__ import annotations

import attrs
import pytest

from aftersales.domain.repair import DepotState, OutsourcedState
from aftersales.errors import GuardFailed, InvalidTransition, WorkflowDefinitionError
from aftersales.workflows.core import (
    MustPassThrough,
    RequiresCondition,
    Transition,
    Workflow,
    WorkflowDefinition,
    check_workflow,
)
from aftersales.workflows.depot import DEPOT, DEPOT_FLOW, REPAIR_WORKFLOWS
from aftersales.workflows.outsourced import OUTSOURCED, OUTSOURCED_FLOW


def _with(definition: WorkflowDefinition, *extra: Transition) -> WorkflowDefinition:
    return attrs.evolve(definition, transitions=[*definition.transitions, *extra])


def _without(definition: WorkflowDefinition, trigger: str) -> WorkflowDefinition:
    return attrs.evolve(
        definition, transitions=[t for t in definition.transitions if t.trigger != trigger]
    )


@pytest.mark.parametrize("name", sorted(REPAIR_WORKFLOWS))
def test_both_repair_workflows_pass_the_graph_check(name: str) -> None:
    assert check_workflow(REPAIR_WORKFLOWS[name].definition) == []


def test_the_registry_names_depot_and_outsourced() -> None:
    assert REPAIR_WORKFLOWS == {"depot": DEPOT_FLOW, "outsourced": OUTSOURCED_FLOW}
    assert DEPOT_FLOW.definition is DEPOT and OUTSOURCED_FLOW.definition is OUTSOURCED
    assert {s.value for s in DepotState} == set(DEPOT.states)
    assert {s.value for s in OutsourcedState} == set(OUTSOURCED.states)


def test_r13_the_depot_declares_its_guarantees() -> None:
    guarantees = set(DEPOT.guarantees)
    assert MustPassThrough("delivered", ["quality_check"], rule="R13") in guarantees
    assert RequiresCondition("delivered", "qc_passed_after_last_repair", rule="R13") in (
        guarantees
    )
    assert RequiresCondition("repairing", "repair_authorized", rule="R13,R22") in guarantees


def test_r13_a_broken_copy_that_skips_qc_fails_the_check() -> None:
    skip = Transition("skip_qc", ["repairing"], "ready_for_pickup",
                      ["qc_passed_after_last_repair"])
    problems = check_workflow(_with(DEPOT, skip))
    assert len(problems) == 1
    assert problems[0].startswith("'delivered' is reachable without passing quality_check (R13)")
    with pytest.raises(WorkflowDefinitionError):
        Workflow(_with(DEPOT, skip), DepotState, "RepairOrder")


def test_r13_delivery_without_the_qc_guard_fails_the_check() -> None:
    unguarded = Transition("hand_over", ["ready_for_pickup"], "delivered", ["settled"])
    problems = check_workflow(_with(DEPOT, unguarded))
    assert (
        "transition 'hand_over' from 'ready_for_pickup' enters 'delivered' without the guard "
        "'qc_passed_after_last_repair' (R13)"
    ) in problems


def test_r22_repair_without_approval_fails_the_check() -> None:
    eager = Transition("just_fix_it", ["awaiting_approval"], "repairing")
    problems = check_workflow(_with(DEPOT, eager))
    assert any("'just_fix_it'" in p and "repair_authorized" in p for p in problems)


def test_r14_an_unbounded_vendor_loop_fails_the_check() -> None:
    loop = Transition("retry", ["vendor_failed"], "vendor_chosen")
    problems = check_workflow(_with(OUTSOURCED, loop))
    assert any("'retry'" in p and "attempts_left" in p for p in problems)
    skip = Transition("skip", ["at_vendor"], "back_at_depot", ["reinspection_passed"])
    assert any("without passing returned" in p for p in check_workflow(_with(OUTSOURCED, skip)))


def test_removing_the_way_out_of_quality_check_is_reported() -> None:
    problems = check_workflow(_without(_without(DEPOT, "mark_ready"), "rework"))
    assert "state 'quality_check' cannot reach any final state" in problems


def test_the_machines_are_shared_and_hold_no_models() -> None:
    assert DEPOT_FLOW.machine.models == [] and OUTSOURCED_FLOW.machine.models == []
    assert DEPOT_FLOW.initial is DepotState.INTAKE
    assert OUTSOURCED_FLOW.initial is OutsourcedState.OPENED


def test_check_names_the_refusal() -> None:
    @attrs.define
    class Fake:
        id: str = "RO-1"
        state: DepotState = DepotState.QUALITY_CHECK
        qc_passed_after_last_repair: bool = False

    with pytest.raises(GuardFailed, match="no QC checklist has passed"):
        DEPOT_FLOW.check(Fake(), "mark_ready")
    with pytest.raises(InvalidTransition, match="RO-1 is quality_check: cannot deliver"):
        DEPOT_FLOW.check(Fake(), "deliver")


def test_mermaid_diagrams_show_the_guards() -> None:
    diagram = DEPOT.to_mermaid()
    assert "quality_check --> ready_for_pickup: mark_ready [qc_passed_after_last_repair]" in (
        diagram
    )
    assert "[*] --> intake" in diagram and "closed --> [*]" in diagram
    assert "at_vendor --> returned: vendor_returned" in OUTSOURCED.to_mermaid()
    assert all(t.rule for t in DEPOT.transitions)
