"""docs/testing.md's code runs: its ```python blocks are executed in order, in one namespace,
and every test they define is run, the stateful machines with the documented 200 examples
(and fewer steps per example)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from aftersales.testing import RepairDeskStateMachine, ServiceDeskStateMachine

DOC = Path(__file__).resolve().parents[1] / "docs" / "testing.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
STEPS = {"OurDeskFlows": 20, "OurRepairFlows": 30}


def _doc_namespace() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "docs_testing"}
    blocks = BLOCK.findall(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 4, "docs/testing.md lost its examples"
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"{DOC}:block{number}", "exec"), namespace)
    return namespace


NAMESPACE = _doc_namespace()
TESTS = sorted(name for name in NAMESPACE if name.startswith("test_"))
MACHINES = sorted(
    name for name, value in NAMESPACE.items()
    if isinstance(value, type) and issubclass(value, RuleBasedStateMachine)
    and value.__module__ == "docs_testing"
)


def test_the_doc_defines_property_tests_and_both_stateful_machines() -> None:
    assert TESTS
    assert MACHINES == ["OurDeskFlows", "OurRepairFlows"]
    assert issubclass(NAMESPACE["OurDeskFlows"], ServiceDeskStateMachine)
    assert issubclass(NAMESPACE["OurRepairFlows"], RepairDeskStateMachine)


def test_the_doc_names_every_public_name_of_the_kit() -> None:
    text = DOC.read_text(encoding="utf-8")
    from aftersales import testing

    missing = [name for name in testing.__all__
               if f"`{name}`" not in text and f"`{name}(" not in text]
    assert not missing, f"docs/testing.md does not name {missing}"


@pytest.mark.parametrize("name", TESTS)
def test_each_property_test_in_the_doc_passes(name: str) -> None:
    NAMESPACE[name]()


@pytest.mark.parametrize("name", MACHINES)
def test_the_docs_stateful_machines_run_with_the_users_policies(name: str) -> None:
    run_state_machine_as_test(
        NAMESPACE[name],
        settings=settings(max_examples=200, stateful_step_count=STEPS[name], deadline=None),
    )


def test_the_docs_machines_predict_with_the_users_policies() -> None:
    desk = NAMESPACE["OurDeskFlows"]()
    repairs = NAMESPACE["OurRepairFlows"]()
    assert desk.warranty_policy is desk.desk.warranty_policy
    assert desk.warranty_policy.period_months == 24
    assert desk.priority_matrix is desk.desk.priority_matrix
    assert repairs.repair_policy is repairs.repairs.policy
    assert repairs.repair_policy.rerepair_window_days == 30
