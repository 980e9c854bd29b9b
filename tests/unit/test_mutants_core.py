"""R10's guarantees and the workflow machinery at their edges, on a toy workflow.

Written against the mutants of ``workflows/core.py`` that survived the rest of the suite (see
docs/mutation.md): every problem the graph check reports, exactly, when several occur at once;
the path it shows for a bypassed guarantee; conditions and descriptions of an extension;
guards that read the aggregate when none is passed; method guards; what a refusal names; the
shared machine built without models or automatic transitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import pytest

from aftersales.errors import (
    ConfigurationError,
    GuardFailed,
    InvalidTransition,
    ValidationError,
    WorkflowDefinitionError,
)
from aftersales.workflows import (
    MustPassThrough,
    RequiresCondition,
    Transition,
    Workflow,
    WorkflowDefinition,
    check_workflow,
)


@attrs.define
class Ticket:
    """A toy entity: its state and two boolean attributes the toy guards read."""

    id: str
    state: str
    ready: bool = False
    confirmed: bool = False


@attrs.define
class Polled:
    """A toy entity whose guard is a method."""

    id: str
    state: str
    answer: bool

    def ready(self) -> bool:
        return self.answer


def toy(
    transitions: Sequence[Transition] = (), *, states: Sequence[str] = (),
    guarantees: Sequence[MustPassThrough | RequiresCondition] = (), description: str = "",
) -> WorkflowDefinition:
    """new -> working -> done -> closed, finishing needs ``ready``, closing ``confirmed``."""
    return WorkflowDefinition(
        name="toy",
        states=["new", "working", "done", "closed", *states],
        initial="new",
        finals=["closed"],
        transitions=[
            Transition("start_work", ["new"], "working"),
            Transition("finish", ["working"], "done", conditions=["ready"]),
            Transition("close", ["done"], "closed", conditions=["confirmed"]),
            *transitions,
        ],
        guarantees=guarantees,
        description=description,
    )


# --- the graph check: every problem, exactly -------------------------------------------------


def test_a_state_declared_twice_is_the_one_problem_reported() -> None:
    twice = WorkflowDefinition("twice", ["new", "closed", "closed"], "new", ["closed"],
                               [Transition("close", ["new"], "closed")])
    assert check_workflow(twice) == ["a state is declared twice"]


def test_an_unreachable_dead_end_is_reported_as_unreachable_only() -> None:
    orphan = toy(states=["orphan"])
    assert check_workflow(orphan) == ["state 'orphan' is unreachable from 'new'"]


def test_r10_every_broken_guarantee_is_reported_after_one_naming_an_unknown_state() -> None:
    shortcut = Transition("skip", ["working"], "closed")
    definition = toy([shortcut], guarantees=[
        RequiresCondition("archived", "confirmed"),
        MustPassThrough("closed", ["ghost"], rule="R10"),
        MustPassThrough("closed", ["done"], rule="R10"),
        MustPassThrough("working", ["new"]),  # the initial state is always passed
        RequiresCondition("closed", "confirmed"),
    ])
    assert check_workflow(definition) == [
        "guarantee names unknown state 'archived'",
        "guarantee (R10) names unknown states ['ghost']",
        "'closed' is reachable without passing done (R10): new -> working -> closed",
        "transition 'skip' from 'working' enters 'closed' without the guard 'confirmed'",
    ]


def test_r10_a_bypass_is_shown_along_a_path_that_avoids_every_required_state() -> None:
    detours = toy([
        Transition("hurry", ["new"], "done"),
        Transition("escalate", ["new"], "escalated"),
        Transition("settle", ["escalated"], "settled"),
        Transition("wrap_up", ["settled"], "closed"),
    ], states=["escalated", "settled"], guarantees=[
        MustPassThrough("closed", ["working", "done"], rule="R10"),
    ])
    assert check_workflow(detours) == [
        "'closed' is reachable without passing working or done (R10): "
        "new -> escalated -> settled -> closed",
    ]


# --- extending a definition -------------------------------------------------------------------


def test_an_extension_puts_its_conditions_on_the_added_transitions_once_each() -> None:
    extended = toy().extend(
        transitions=[Transition("close", ["working"], "closed", conditions=["ready"])],
        conditions={"close": ["ready", "confirmed"]},
    )
    closing = [t for t in extended.transitions if t.trigger == "close"]
    assert [(t.sources, t.conditions) for t in closing] == [
        (("done",), ("confirmed", "ready")),
        (("working",), ("ready", "confirmed")),
    ]


def test_an_extension_keeps_the_description_unless_it_gives_one() -> None:
    base = toy(description="the toy flow")
    assert base.extend().description == "the toy flow"
    assert base.extend(description="the toy flow, stricter").description == (
        "the toy flow, stricter"
    )
    assert base.extend(description="").description == ""


# --- drawing and listing ----------------------------------------------------------------------


def test_a_diagram_lists_every_guard_of_a_transition_separated_by_commas() -> None:
    definition = toy([Transition("close", ["working"], "closed", conditions=["ready",
                                                                             "confirmed"])])
    assert "    working --> closed: close [ready, confirmed]\n" in definition.to_mermaid()


def test_the_table_has_one_row_per_edge_with_its_guards() -> None:
    definition = toy([Transition("close", ["working"], "closed", conditions=["ready",
                                                                             "confirmed"])])
    assert definition.to_table() == [
        ("start_work", "new", "working", ""),
        ("finish", "working", "done", "ready"),
        ("close", "done", "closed", "confirmed"),
        ("close", "working", "closed", "ready, confirmed"),
    ]


# --- the shared machine -----------------------------------------------------------------------


def test_a_workflow_machine_has_no_models_no_automatic_transitions_and_the_initial_state() -> (
    None
):
    flow = Workflow(toy(), "Ticket")
    assert flow.machine.models == []
    assert set(flow.machine.events) == {"start_work", "finish", "close"}
    assert flow.machine.initial == "new"
    assert set(flow.machine.states) == {"new", "working", "done", "closed"}


def test_a_guard_function_on_no_transition_is_refused_naming_the_workflow() -> None:
    with pytest.raises(WorkflowDefinitionError) as refused:
        Workflow(toy(), "Ticket", guards={"paid": lambda subject, aggregate: True})
    assert refused.value.workflow == "toy"
    assert refused.value.problems == ["guard 'paid' is on no transition"]


# --- guards -----------------------------------------------------------------------------------


def test_a_guard_that_is_a_method_is_called_and_its_answer_decides() -> None:
    flow = Workflow(toy(), "Polled")
    yes = Polled("T-1", "working", answer=True)
    assert flow.fire(yes, "finish") == ("working", "done")
    no = Polled("T-2", "working", answer=False)
    with pytest.raises(GuardFailed):
        flow.fire(no, "finish")
    assert no.state == "working"


def test_a_guard_naming_a_missing_attribute_is_a_configuration_error_naming_both() -> None:
    @attrs.define
    class Bare:
        id: str
        state: str

    flow = Workflow(toy(), "Bare")
    with pytest.raises(ConfigurationError) as refused:
        flow.check(Bare("B-1", "working"), "finish")
    assert str(refused.value) == (
        "guard 'ready': Bare has no such attribute and the workflow was given no guard "
        "function of that name"
    )


def _aggregate_guard(subject: Any, aggregate: Any) -> bool:
    return bool(aggregate.ready)


def test_a_guard_reads_the_entity_itself_when_no_aggregate_is_given() -> None:
    flow = Workflow(toy(), "Ticket", guards={"ready": _aggregate_guard})
    ticket = Ticket("T-1", "working", ready=True)
    assert flow.refusal(ticket, "finish") is None
    assert flow.check(ticket, "finish").dest == "done"
    assert flow.fire(ticket, "finish") == ("working", "done")


def test_a_refusal_from_the_wrong_state_asks_the_guards_with_the_entity_as_aggregate() -> None:
    flow = Workflow(toy(), "Ticket", guards={"ready": _aggregate_guard})
    refused = flow.refusal(Ticket("T-1", "new"), "finish")
    assert refused is not None
    assert refused.codes == ("state", "ready")


# --- refusals ---------------------------------------------------------------------------------


def test_a_refusal_names_the_entity_its_id_state_and_the_action_in_words() -> None:
    definition = toy([Transition("hand_over", ["done"], "closed")])
    flow = Workflow(definition, "Ticket")
    refused = flow.refusal(Ticket("T-9", "new"), "hand_over")
    assert isinstance(refused, InvalidTransition)
    assert (refused.entity, refused.entity_id, refused.state, refused.action) == (
        "Ticket", "T-9", "new", "hand over"
    )


def test_a_transition_refused_by_two_guards_names_both_reasons() -> None:
    definition = toy([Transition("close", ["working"], "closed",
                                 conditions=["ready", "confirmed"])])
    flow = Workflow(definition, "Ticket")
    with pytest.raises(GuardFailed) as refused:
        flow.check(Ticket("T-1", "working"), "close")
    assert refused.value.entity == "Ticket"
    assert refused.value.reason == "ready does not hold; confirmed does not hold"
    assert refused.value.codes == ("ready", "confirmed")


def test_a_refusal_names_every_failing_guard_of_every_transition_of_the_trigger_once() -> None:
    definition = toy([Transition("close", ["working"], "closed",
                                 conditions=["confirmed", "ready"])])
    flow = Workflow(definition, "Ticket")
    refused = flow.refusal(Ticket("T-1", "new"), "close")
    assert refused is not None
    assert refused.codes == ("state", "confirmed", "ready")
    assert refused.reasons == (
        "needs state done or working", "confirmed does not hold", "ready does not hold"
    )


def test_a_guard_that_cannot_apply_in_this_state_does_not_hide_the_others() -> None:
    def broken(subject: Any, aggregate: Any) -> bool:
        raise LookupError("no job in this state")

    definition = toy([Transition("close", ["working"], "closed",
                                 conditions=["confirmed", "ready"])])
    flow = Workflow(definition, "Ticket", guards={"confirmed": broken})
    refused = flow.refusal(Ticket("T-1", "new"), "close")
    assert refused is not None
    assert refused.codes == ("state", "ready")


def test_an_entity_in_no_state_of_the_workflow_is_refused_naming_entity_and_state_field() -> None:
    flow = Workflow(toy(), "Ticket")
    with pytest.raises(ValidationError) as refused:
        flow.fire(Ticket("T-1", "limbo"), "start_work")
    assert (refused.value.entity, refused.value.field) == ("Ticket", "state")
    assert refused.value.problem == "'limbo' is not a state of toy"
