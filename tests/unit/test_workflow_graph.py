"""Workflows as data: the graph check, the Mermaid diagrams and the shared machines."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import attrs
import pytest

from aftersales import ManualClock, SequentialIds, in_memory_desk
from aftersales.cli import main
from aftersales.domain import Actor, Channel, RequestState, Role
from aftersales.errors import InvalidTransition, ValidationError, WorkflowDefinitionError
from aftersales.workflows import (
    ONSITE_FLOW,
    REMOTE_FLOW,
    REQUEST,
    REQUEST_FLOW,
    WORKFLOWS,
    RequiresCondition,
    Transition,
    Workflow,
    WorkflowDefinition,
    check_workflow,
    verify_workflow,
)

TOY = WorkflowDefinition(
    name="toy",
    states=["new", "open", "done"],
    initial="new",
    finals={"done"},
    transitions=[Transition("open", ["new"], "open"), Transition("finish", ["open"], "done")],
)


def _with(definition: WorkflowDefinition, *extra: Transition, states: tuple[str, ...] = ()) -> (
    WorkflowDefinition
):
    return attrs.evolve(
        definition,
        states=[*definition.states, *states],
        transitions=[*definition.transitions, *extra],
    )


def _without(definition: WorkflowDefinition, trigger: str, source: str) -> WorkflowDefinition:
    kept = [t for t in definition.transitions if not (t.trigger == trigger and source in t.sources)]
    return attrs.evolve(definition, transitions=kept)


# --- the shipped workflows ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_every_shipped_workflow_passes_the_graph_check(name: str) -> None:
    definition = WORKFLOWS[name].definition
    assert check_workflow(definition) == []
    assert verify_workflow(definition) is definition


def test_the_shipped_workflows_are_the_request_repair_and_record_flows() -> None:
    assert set(WORKFLOWS) == {
        "request", "remote", "onsite", "depot", "outsourced", "file", "directory"
    }
    assert WORKFLOWS["request"] is REQUEST_FLOW
    assert all(flow.name == name for name, flow in WORKFLOWS.items())


def test_a_sound_toy_workflow_passes() -> None:
    assert check_workflow(TOY) == []


# --- broken definitions are reported with the reason -----------------------------------------


def test_an_unreachable_state_is_reported() -> None:
    broken = _with(TOY, Transition("wake", ["limbo"], "done"), states=("limbo",))
    assert check_workflow(broken) == ["state 'limbo' is unreachable from 'new'"]


def test_a_dead_end_non_final_state_is_reported() -> None:
    broken = _with(TOY, Transition("jam", ["open"], "stuck"), states=("stuck",))
    assert check_workflow(broken) == ["state 'stuck' cannot reach any final state"]


def test_a_transition_naming_an_unknown_state_is_reported() -> None:
    broken = _with(TOY, Transition("go", ["open"], "nowhere"))
    assert check_workflow(broken) == ["transition 'go' names unknown state 'nowhere'"]
    from_nowhere = _with(TOY, Transition("come", ["elsewhere"], "open"))
    assert check_workflow(from_nowhere) == ["transition 'come' names unknown state 'elsewhere'"]


def test_a_final_state_with_a_way_out_is_reported() -> None:
    broken = _with(TOY, Transition("revive", ["done"], "open"))
    assert check_workflow(broken) == ["final state 'done' has a way out ('revive' to 'open')"]


def test_an_ambiguous_trigger_is_reported() -> None:
    broken = _with(TOY, Transition("finish", ["open"], "new"))
    assert check_workflow(broken) == ["trigger 'finish' is ambiguous from state 'open'"]


def test_an_unknown_initial_or_final_state_is_reported() -> None:
    problems = check_workflow(attrs.evolve(TOY, initial="start", finals={"done", "gone"}))
    assert "initial state 'start' is not a declared state" in problems
    assert "final state 'gone' is not a declared state" in problems


def test_a_workflow_without_a_final_state_is_reported() -> None:
    looping = WorkflowDefinition(
        name="loop", states=["a", "b"], initial="a", finals=set(),
        transitions=[Transition("go", ["a"], "b"), Transition("back", ["b"], "a")],
    )
    problems = check_workflow(looping)
    assert "no final state" in problems
    assert "state 'a' cannot reach any final state" in problems


def test_a_path_to_closed_that_bypasses_confirmed_is_reported() -> None:
    shortcut = Transition("shortcut", ["resolved"], "closed", ["onsite_approvals_recorded"])
    (problem,) = check_workflow(_with(REQUEST, shortcut))
    assert problem.startswith("'closed' is reachable without passing confirmed (R10): ")
    path = problem.split(": ", 1)[1].split(" -> ")
    assert path[0] == "registered" and path[-2:] == ["resolved", "closed"]
    assert "confirmed" not in path


def test_a_shortcut_without_the_guard_is_reported_twice_with_both_reasons() -> None:
    problems = check_workflow(_with(REQUEST, Transition("shortcut", ["resolved"], "closed")))
    assert len(problems) == 2
    assert any("without passing confirmed" in p and "resolved -> closed" in p for p in problems)
    assert (
        "transition 'shortcut' from 'resolved' enters 'closed' without the guard "
        "'onsite_approvals_recorded' (R12)"
    ) in problems


def test_a_transition_into_closed_missing_the_approval_guard_is_reported() -> None:
    unguarded = _with(_without(REQUEST, "close", "confirmed"),
                      Transition("close", ["confirmed"], "closed"))
    assert check_workflow(unguarded) == [
        "transition 'close' from 'confirmed' enters 'closed' without the guard "
        "'onsite_approvals_recorded' (R12)"
    ]


def test_a_guarantee_naming_an_unknown_state_is_reported() -> None:
    broken = attrs.evolve(TOY, guarantees=[RequiresCondition("archived", "ok", rule="R9")])
    assert check_workflow(broken) == ["guarantee (R9) names unknown state 'archived'"]


def test_verify_workflow_raises_listing_every_problem() -> None:
    broken = _with(
        TOY,
        Transition("wake", ["limbo"], "done"),
        Transition("jam", ["open"], "stuck"),
        states=("limbo", "stuck"),
    )
    with pytest.raises(WorkflowDefinitionError) as refused:
        verify_workflow(broken)
    assert refused.value.workflow == "toy"
    assert refused.value.problems == [
        "state 'limbo' is unreachable from 'new'",
        "state 'stuck' cannot reach any final state",
    ]
    message = str(refused.value)
    assert message.startswith("workflow 'toy' is not sound:")
    assert all(f"- {p}" in message for p in refused.value.problems)


def test_a_workflow_refuses_a_broken_definition() -> None:
    broken = _with(REQUEST, Transition("shortcut", ["resolved"], "closed"))
    with pytest.raises(WorkflowDefinitionError, match="without passing confirmed"):
        Workflow(broken, "ServiceRequest")


def test_a_workflow_refuses_a_guard_that_is_on_no_transition() -> None:
    with pytest.raises(WorkflowDefinitionError, match="guard 'second_look' is on no transition"):
        Workflow(REQUEST, "ServiceRequest", guards={"second_look": lambda _s, _a: True})


# --- Mermaid ------------------------------------------------------------------------------


def _check_mermaid(text: str, name: str) -> None:
    definition = WORKFLOWS[name].definition
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert f"    [*] --> {definition.initial}" in lines
    edge_lines = [line.strip() for line in lines if "-->" in line and "[*]" not in line]
    assert len(edge_lines) == len(definition.edges())
    for source, dest, transition in definition.edges():
        wanted = f"{source} --> {dest}: {transition.trigger}"
        matching = [e for e in edge_lines if e == wanted or e.startswith(wanted + " [")]
        assert len(matching) == 1, wanted
    for state in definition.states:
        assert any(state in line.split() or f"{state}:" in line for line in lines[1:]), state
    for final in definition.finals:
        assert f"    {final} --> [*]" in lines


def test_the_onsite_diagram_is_a_mermaid_state_diagram(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "onsite"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("stateDiagram-v2\n")
    assert "    [*] --> planned" in out.splitlines()
    assert "approved --> preparing: prepare" in out
    _check_mermaid(out, "onsite")


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_every_workflow_draws_one_line_per_edge(name: str) -> None:
    _check_mermaid(WORKFLOWS[name].definition.to_mermaid(), name)


def test_guards_are_shown_on_the_diagram() -> None:
    assert "confirmed --> closed: close [onsite_approvals_recorded]" in REQUEST.to_mermaid()


def test_the_console_script_prints_the_diagram() -> None:
    script = Path(sys.executable).with_name("aftersales")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "aftersales.cli"]
    done = subprocess.run(
        [*command, "diagram", "onsite"], capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == WORKFLOWS["onsite"].definition.to_mermaid()


def test_an_unknown_workflow_name_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "warehouse"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "unknown workflow 'warehouse'" in captured.err
    assert "onsite" in captured.err


# --- one module-level machine per workflow kind -------------------------------------------


def test_triggering_many_entities_never_adds_models_to_the_machine() -> None:
    boss = Actor(UUID(int=10_000), "Boss", {Role.SUPERVISOR, Role.CLERK, Role.ENGINEER})
    desk, _ = in_memory_desk(
        supervisor=boss, clock=ManualClock(datetime(2026, 3, 2, tzinfo=UTC), timedelta(1)),
        ids=SequentialIds(),
    )
    customer = desk.register_customer(boss, name="ACME")
    for n in range(20):
        rid = desk.register_request(boss, customer_id=customer.id, summary=f"fault {n}").id
        desk.assign(boss, rid, engineer_id=boss.id)
        if n % 2:
            desk.start_remote(boss, rid)
            desk.record_contact(boss, rid, channel=Channel.PHONE, summary="called")
        else:
            desk.start_onsite(boss, rid)
            desk.confirm_need(boss, rid)
            desk.approve_dispatch(boss, rid)
            desk.prepare(boss, rid)
            desk.depart(boss, rid)
            desk.record_arrival(boss, rid)
            desk.sign_off(boss, rid, found="f", result="ok", signed_by="Zhao")
        desk.resolve(boss, rid, resolution="fixed")
        desk.confirm(boss, rid)
        assert desk.close(boss, rid).state == RequestState.CLOSED
    for flow in (REQUEST_FLOW, REMOTE_FLOW, ONSITE_FLOW):
        assert len(flow.machine.models) == 0


def test_the_machines_are_shared_module_level_objects() -> None:
    from aftersales.workflows import steps

    assert steps.REQUEST_FLOW is REQUEST_FLOW
    assert {id(w.machine) for w in steps.REQUEST_WORKFLOWS.values()} == {
        id(REQUEST_FLOW.machine), id(REMOTE_FLOW.machine), id(ONSITE_FLOW.machine)
    }
    assert len({id(w.machine) for w in WORKFLOWS.values()}) == len(WORKFLOWS)


@attrs.define
class _Plain:
    id: str
    state: str


def test_an_entity_whose_state_is_plain_text_fires() -> None:
    entity = _Plain("X-1", "registered")
    assert REQUEST_FLOW.fire(entity, "route") == ("registered", "routed")
    assert entity.state == "routed"
    assert REQUEST_FLOW.fire(entity, "assign") == ("routed", "assigned")


@pytest.mark.parametrize("state", ["limbo", "", 3, None], ids=["unknown", "empty", "int", "none"])
def test_an_entity_in_no_state_of_the_workflow_is_refused_and_left_as_it_was(
    state: object,
) -> None:
    entity = _Plain("X-1", state)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="is not a state of request"):
        REQUEST_FLOW.fire(entity, "route")
    assert entity.state == state


def test_a_refused_trigger_leaves_the_entity_in_its_state_and_names_what_it_needs() -> None:
    entity = _Plain("X-1", "registered")
    with pytest.raises(InvalidTransition, match="needs state confirmed") as refused:
        REQUEST_FLOW.fire(entity, "close")
    assert refused.value.codes[0] == "state"
    assert entity.state == "registered"
    with pytest.raises(InvalidTransition, match="request has no action 'fly'") as unknown:
        REQUEST_FLOW.fire(entity, "fly")
    assert unknown.value.codes == ("unknown_action",)
