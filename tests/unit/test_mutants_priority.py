"""R8 at its edges: what a bad matrix and a bad impact or urgency are refused with.

Written against the mutants of ``domain/priority.py`` that survived the rest of the suite (see
docs/mutation.md): a refusal must name the entity and the field, and a matrix with bad cells
must name every one of them.
"""

from __future__ import annotations

import pytest

from aftersales.domain import Impact, Priority, PriorityMatrix, Urgency
from aftersales.errors import ConfigurationError, ValidationError


def _table() -> dict[tuple[Impact, Urgency], object]:
    return {(i, u): Priority.P3 for i in Impact for u in Urgency}


def test_r8_a_matrix_with_cells_that_are_not_priorities_names_each_of_them() -> None:
    table = _table()
    table[Impact.EXTENSIVE, Urgency.HIGH] = "P1"
    table[Impact.MINOR, Urgency.LOW] = 4
    with pytest.raises(ConfigurationError) as refused:
        PriorityMatrix(table)  # type: ignore[arg-type]
    assert str(refused.value) == (
        "priority matrix cells EXTENSIVE×HIGH, MINOR×LOW are not Priority values"
    )


def test_r8_a_matrix_with_gaps_names_every_missing_cell() -> None:
    table = _table()
    del table[Impact.SIGNIFICANT, Urgency.MEDIUM]
    del table[Impact.MODERATE, Urgency.LOW]
    with pytest.raises(ConfigurationError) as refused:
        PriorityMatrix(table)  # type: ignore[arg-type]
    assert str(refused.value) == (
        "priority matrix does not cover SIGNIFICANT×MEDIUM, MODERATE×LOW"
    )


def test_r8_an_unknown_impact_is_refused_naming_the_request_the_field_and_the_value() -> None:
    with pytest.raises(ValidationError) as refused:
        PriorityMatrix().priority("huge", Urgency.HIGH)  # type: ignore[arg-type]
    assert (refused.value.entity, refused.value.field) == ("ServiceRequest", "impact")
    assert "'huge'" in refused.value.problem


def test_r8_an_unknown_urgency_is_refused_naming_the_request_the_field_and_the_value() -> None:
    with pytest.raises(ValidationError) as refused:
        PriorityMatrix().priority(Impact.MINOR, "soon")  # type: ignore[arg-type]
    assert (refused.value.entity, refused.value.field) == ("ServiceRequest", "urgency")
    assert "'soon'" in refused.value.problem
