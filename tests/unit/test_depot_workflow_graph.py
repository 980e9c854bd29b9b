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
        Workflow(_with(DEPOT, skip), "RepairOrder")
    with pytest.raises(WorkflowDefinitionError, match="quality_check"):
        Workflow(DEPOT.extend(transitions=[skip]), "RepairOrder")


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
    assert DEPOT_FLOW.initial == DepotState.INTAKE
    assert OUTSOURCED_FLOW.initial == OutsourcedState.OPENED


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


def test_r14_a_vendor_failing_while_holding_the_unit_keeps_it_out_until_it_returns() -> None:
    assert OUTSOURCED_FLOW.transition_for("at_vendor", "vendor_failed") == Transition(
        "vendor_failed", ["at_vendor"], "failed_at_vendor", rule="R14"
    )
    returned = OUTSOURCED_FLOW.transition_for("returned", "vendor_failed")
    assert returned is not None and returned.dest == "vendor_failed"
    way_out = {t.trigger: t.dest for t in OUTSOURCED.transitions
               if "failed_at_vendor" in t.sources}
    assert way_out == {"chase": "failed_at_vendor", "failed_unit_returned": "vendor_failed"}
    assert OUTSOURCED_FLOW.transition_for("failed_at_vendor", "choose_vendor") is None
    assert "failed_at_vendor --> vendor_failed: failed_unit_returned" in OUTSOURCED.to_mermaid()


@attrs.define
class _Order:
    id: str = "RO-9"
    state: str = DepotState.READY_FOR_PICKUP
    qc_passed_after_last_repair: bool = False
    settled: bool = False
    photos_taken: bool = False


def test_r13_r25_a_refused_delivery_names_every_missing_precondition() -> None:
    with pytest.raises(GuardFailed) as info:
        DEPOT_FLOW.check(_Order(), "deliver")
    assert info.value.codes == ("qc_passed_after_last_repair", "settled")
    assert "no QC checklist has passed" in str(info.value)
    assert "R25: the job is not settled" in str(info.value)
    assert DEPOT_FLOW.refusal(_Order(settled=True, qc_passed_after_last_repair=True),
                              "deliver") is None
    early = _Order(state=DepotState.QUALITY_CHECK)
    refusal = DEPOT_FLOW.refusal(early, "deliver")
    assert type(refusal) is InvalidTransition
    assert refusal.codes == ("state", "qc_passed_after_last_repair", "settled")
    assert refusal.reasons[0] == "needs state ready_for_pickup"


def test_r13_an_extended_depot_adds_a_guard_the_shipped_checks_still_hold_for() -> None:
    extended = DEPOT.extend(name="depot", conditions={"mark_ready": ["photos_taken"]},
                            condition_reasons={"photos_taken": "no photos of the unit"})
    assert check_workflow(extended) == []
    flow = Workflow(extended, "RepairOrder",
                    guards={"photos_taken": lambda subject, _order: subject.photos_taken})
    qc_passed = _Order(state=DepotState.QUALITY_CHECK, qc_passed_after_last_repair=True)
    with pytest.raises(GuardFailed, match="no photos of the unit") as info:
        flow.check(qc_passed, "mark_ready")
    assert info.value.codes == ("photos_taken",)
    assert flow.refusal(attrs.evolve(qc_passed, photos_taken=True), "mark_ready") is None
    assert DEPOT_FLOW.refusal(qc_passed, "mark_ready") is None  # the shipped flow is untouched
    with pytest.raises(WorkflowDefinitionError, match="is on no transition"):
        Workflow(DEPOT, "RepairOrder", guards={"photos_taken": lambda s, o: True})
    dropped = DEPOT.extend(remove=[("mark_ready", "quality_check"), ("rework", "quality_check")])
    assert "state 'quality_check' cannot reach any final state" in check_workflow(dropped)
