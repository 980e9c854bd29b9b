"""R8: priority from impact × urgency.

The default matrix is checked cell by cell against the table below, written out by hand from
the rule (an ITIL-style matrix: rows are impact from extensive to minor, columns urgency from
high to low), never against the library's own table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from aftersales import ManualClock, SequentialIds, in_memory_desk
from aftersales.domain import (
    DEFAULT_PRIORITY_TABLE,
    Actor,
    Category,
    Channel,
    Impact,
    Priority,
    PriorityMatrix,
    Role,
    Urgency,
)
from aftersales.errors import ConfigurationError, ValidationError
from aftersales.workflows import steps

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

#: R8, written out: impact (rows) × urgency (columns: high, medium, low).
EXPECTED = """
    extensive    P1 P1 P2
    significant  P1 P2 P3
    moderate     P2 P3 P4
    minor        P3 P4 P4
"""
_URGENCIES = ("high", "medium", "low")
CELLS = [
    pytest.param(impact, urgency, priority, id=f"{impact}-{urgency}")
    for line in EXPECTED.strip().splitlines()
    for impact, *row in [line.split()]
    for urgency, priority in zip(_URGENCIES, row, strict=True)
]


def test_r8_the_expected_table_names_all_twelve_cells_once() -> None:
    assert len(CELLS) == 12
    assert {(c.values[0], c.values[1]) for c in CELLS} == {
        (i.name.lower(), u.name.lower()) for i in Impact for u in Urgency
    }


@pytest.mark.parametrize(("impact", "urgency", "priority"), CELLS)
def test_r8_the_default_matrix_gives_each_cell_its_priority(
    impact: str, urgency: str, priority: str
) -> None:
    chosen = PriorityMatrix().priority(Impact[impact.upper()], Urgency[urgency.upper()])
    assert chosen is Priority[priority]


@pytest.mark.parametrize(("impact", "urgency", "priority"), CELLS)
def test_r8_the_shipped_default_table_holds_each_cell(
    impact: str, urgency: str, priority: str
) -> None:
    assert DEFAULT_PRIORITY_TABLE[Impact[impact.upper()], Urgency[urgency.upper()]] is (
        Priority[priority]
    )


def test_r8_the_default_table_has_no_cell_beyond_the_twelve() -> None:
    assert len(DEFAULT_PRIORITY_TABLE) == 12
    assert len(PriorityMatrix().table) == 12


def _register(matrix: PriorityMatrix, impact: Impact, urgency: Urgency) -> Priority:
    request = steps.register(
        request_id=UUID(int=1), number="SR-1", customer_id=UUID(int=2), category=Category.FAULT,
        channel=Channel.PHONE, impact=impact, urgency=urgency, summary="printer down",
        actor=Actor(UUID(int=3), "Li Clerk", {Role.CLERK}), at=T0, matrix=matrix,
    )
    return request.priority


@pytest.mark.parametrize(("impact", "urgency", "priority"), CELLS)
def test_r8_a_registered_request_takes_its_priority_from_the_matrix(
    impact: str, urgency: str, priority: str
) -> None:
    chosen = _register(PriorityMatrix(), Impact[impact.upper()], Urgency[urgency.upper()])
    assert chosen is Priority[priority]


def _desk(**options: Any) -> Any:
    boss = Actor(UUID(int=10_000), "Zhang Supervisor", {Role.SUPERVISOR, Role.CLERK})
    desk, _ = in_memory_desk(supervisor=boss, clock=ManualClock(T0), ids=SequentialIds(),
                             **options)
    customer = desk.register_customer(boss, name="ACME")

    def register(impact: Impact, urgency: Urgency) -> Priority:
        request = desk.register_request(boss, customer_id=customer.id, summary="printer down",
                                        impact=impact, urgency=urgency)
        return request.priority

    return register


def test_r8_an_outage_is_p1_and_a_question_is_p4_at_the_desk() -> None:
    register = _desk()
    assert register(Impact.EXTENSIVE, Urgency.HIGH) is Priority.P1
    assert register(Impact.MINOR, Urgency.LOW) is Priority.P4


def test_r8_priority_follows_a_replaced_matrix() -> None:
    table = {(i, u): Priority.P2 for i in Impact for u in Urgency}
    table[Impact.MINOR, Urgency.LOW] = Priority.P1  # a deliberately odd policy
    odd = PriorityMatrix(table)
    assert odd.priority(Impact.MINOR, Urgency.LOW) is Priority.P1
    assert odd.priority(Impact.EXTENSIVE, Urgency.HIGH) is Priority.P2
    assert _register(odd, Impact.MINOR, Urgency.LOW) is Priority.P1
    register = _desk(priority_matrix=odd)
    assert register(Impact.MINOR, Urgency.LOW) is Priority.P1
    assert register(Impact.EXTENSIVE, Urgency.HIGH) is Priority.P2
    assert PriorityMatrix().priority(Impact.MINOR, Urgency.LOW) is Priority.P4  # default intact


@pytest.mark.parametrize(
    ("impact", "urgency"), [(i, u) for i in Impact for u in Urgency],
    ids=[f"{i.name}-{u.name}" for i in Impact for u in Urgency],
)
def test_r8_a_matrix_with_a_gap_is_a_configuration_error(impact: Impact, urgency: Urgency) -> None:
    table = {(i, u): Priority.P3 for i in Impact for u in Urgency}
    del table[impact, urgency]
    with pytest.raises(ConfigurationError, match=f"does not cover {impact.name}×{urgency.name}$"):
        PriorityMatrix(table)


def test_r8_a_matrix_with_several_gaps_names_each_of_them() -> None:
    table = dict(DEFAULT_PRIORITY_TABLE)
    del table[Impact.MODERATE, Urgency.LOW]
    del table[Impact.EXTENSIVE, Urgency.HIGH]
    with pytest.raises(ConfigurationError, match="EXTENSIVE×HIGH, MODERATE×LOW"):
        PriorityMatrix(table)


@pytest.mark.parametrize("value", ["P1", 1, None], ids=["text", "int", "none"])
def test_r8_a_matrix_cell_that_is_not_a_priority_is_a_configuration_error(value: object) -> None:
    table: dict[tuple[Impact, Urgency], Any] = dict(DEFAULT_PRIORITY_TABLE)
    table[Impact.MINOR, Urgency.MEDIUM] = value
    with pytest.raises(ConfigurationError, match="MINOR×MEDIUM"):
        PriorityMatrix(table)


def test_r8_an_unknown_impact_or_urgency_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="impact"):
        PriorityMatrix().priority(9, Urgency.LOW)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="urgency"):
        PriorityMatrix().priority(Impact.MINOR, "low")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="impact"):
        _register(PriorityMatrix(), 1, Urgency.LOW)  # type: ignore[arg-type]
