"""docs/testing.md's code runs: its ```python blocks are executed in order, in one namespace,
and every test they define is run (the stateful machine with a smaller example budget)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

DOC = Path(__file__).resolve().parents[1] / "docs" / "testing.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


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


def test_the_doc_defines_property_tests_and_a_stateful_machine() -> None:
    assert TESTS
    assert MACHINES == ["OurDeskFlows"]


@pytest.mark.parametrize("name", TESTS)
def test_each_property_test_in_the_doc_passes(name: str) -> None:
    NAMESPACE[name]()


@pytest.mark.parametrize("name", MACHINES)
def test_the_docs_stateful_machine_runs_with_the_users_policies(name: str) -> None:
    machine = NAMESPACE[name]
    run_state_machine_as_test(
        machine, settings=settings(max_examples=25, stateful_step_count=20, deadline=None)
    )
