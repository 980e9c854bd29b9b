"""R20 at its edges: the warranty policy's boundaries, defaults and answers, pinned exactly.

These tests were written against the mutants that survived the rest of the suite (see
docs/mutation.md): the first and last day of coverage, the default period and grace, a policy
of zero months, every field of an excluded or plan-based answer, the sentence given to the
customer, and the entity and field a refusal names.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import pytest

from aftersales.domain import Equipment, Exclusion, ServicePlan, WarrantyBasis
from aftersales.domain.warranty import WarrantyDetermination, WarrantyPolicy, add_months
from aftersales.errors import ConfigurationError, ValidationError

DAY = timedelta(days=1)
INSTALLED = date(2025, 6, 1)


def _unit(**dates: object) -> Equipment:
    return Equipment(UUID(int=7), "SN-7", "X200", UUID(int=8), **dates)  # type: ignore[arg-type]


def _plan(starts_on: date, ends_on: date, unit: Equipment) -> ServicePlan:
    return ServicePlan(UUID(int=9), UUID(int=8), starts_on, ends_on, equipment_ids=[unit.id])


# --- the coverage window ----------------------------------------------------------------------


def test_r20_the_first_day_of_coverage_is_covered_and_the_day_before_is_not() -> None:
    unit = _unit(installed_on=INSTALLED)
    assert WarrantyPolicy().determine(unit, INSTALLED).in_warranty
    assert not WarrantyPolicy().determine(unit, INSTALLED - DAY).in_warranty


def test_r20_by_default_coverage_lasts_exactly_twelve_months() -> None:
    unit = _unit(installed_on=INSTALLED)
    last_day = date(2026, 5, 31)
    covered = WarrantyPolicy().determine(unit, last_day)
    assert (covered.in_warranty, covered.starts_on, covered.ends_on) == (
        True, INSTALLED, date(2026, 6, 1)
    )
    assert not WarrantyPolicy().determine(unit, last_day + DAY).in_warranty


def test_r20_by_default_the_production_fallback_adds_three_months_of_grace() -> None:
    unit = _unit(produced_on=date(2025, 1, 31))
    result = WarrantyPolicy().determine(unit, date(2025, 4, 30))
    assert (result.basis, result.starts_on, result.ends_on, result.in_warranty) == (
        WarrantyBasis.PRODUCTION_FALLBACK, date(2025, 4, 30), date(2026, 4, 30), True
    )
    assert not WarrantyPolicy().determine(unit, date(2025, 4, 29)).in_warranty


def test_r20_a_zero_month_policy_is_valid_and_covers_no_day_by_date() -> None:
    policy = WarrantyPolicy(period_months=0, production_grace_months=0)
    unit = _unit(installed_on=INSTALLED)
    result = policy.determine(unit, INSTALLED)
    assert (result.in_warranty, result.starts_on, result.ends_on) == (False, INSTALLED, INSTALLED)
    plan = _plan(INSTALLED, INSTALLED, unit)
    assert policy.determine(unit, INSTALLED, plans=[plan]).in_warranty


@pytest.mark.parametrize("field", ["period_months", "production_grace_months"])
def test_r20_a_negative_period_is_refused_with_a_message_saying_so(field: str) -> None:
    with pytest.raises(ConfigurationError, match="warranty periods must not be negative"):
        WarrantyPolicy(**{field: -1})  # type: ignore[arg-type]


def test_r20_a_basis_order_naming_other_bases_is_refused_with_a_message_saying_so() -> None:
    with pytest.raises(ConfigurationError, match="basis_order may name only installation"):
        WarrantyPolicy(basis_order=(WarrantyBasis.SERVICE_PLAN,))


# --- the whole answer -------------------------------------------------------------------------


def test_r20_an_excluded_answer_keeps_the_basis_dates_and_the_day_checked() -> None:
    unit = _unit(installed_on=INSTALLED)
    day = date(2025, 8, 1)
    result = WarrantyPolicy().determine(unit, day, findings=[Exclusion.CONSUMABLES])
    assert result == WarrantyDetermination(
        False, WarrantyBasis.INSTALLATION, day, INSTALLED, date(2026, 6, 1),
        Exclusion.CONSUMABLES,
    )


def test_r20_a_plan_based_answer_names_the_plan_its_period_and_the_day_checked() -> None:
    unit = _unit(installed_on=date(2020, 1, 1))
    plan = _plan(date(2026, 1, 1), date(2026, 12, 31), unit)
    day = date(2026, 3, 3)
    result = WarrantyPolicy().determine(unit, day, plans=[plan])
    assert result == WarrantyDetermination(
        True, WarrantyBasis.SERVICE_PLAN, day, date(2026, 1, 1), date(2026, 12, 31),
        service_plan_id=plan.id,
    )


def test_r20_an_answer_out_of_coverage_keeps_the_coverage_it_missed() -> None:
    unit = _unit(installed_on=INSTALLED)
    day = date(2027, 1, 1)
    assert WarrantyPolicy().determine(unit, day) == WarrantyDetermination(
        False, WarrantyBasis.INSTALLATION, day, INSTALLED, date(2026, 6, 1)
    )


def test_r20_the_sentence_for_the_customer_says_in_or_out_and_the_coverage() -> None:
    unit = _unit(installed_on=INSTALLED)
    inside = WarrantyPolicy().determine(unit, date(2025, 7, 1))
    assert inside.explain() == (
        "in warranty: coverage 2025-06-01 to 2026-06-01 based on installation date"
    )
    outside = WarrantyPolicy().determine(unit, date(2026, 7, 1))
    assert outside.explain() == (
        "out of warranty: coverage 2025-06-01 to 2026-06-01 based on installation date"
    )
    excluded = WarrantyPolicy().determine(unit, date(2025, 7, 1), [Exclusion.HUMAN_DAMAGE])
    assert excluded.explain() == "out of warranty: excluded (human_damage)"
    nothing = WarrantyPolicy().determine(_unit(), date(2025, 7, 1))
    assert nothing.explain() == (
        "out of warranty: no installation, invoice or production date on file"
    )


def test_r20_add_months_clamps_to_the_last_day_of_a_shorter_month() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)


# --- refusals name the entity and the field ---------------------------------------------------


def test_r20_a_day_that_is_not_a_date_is_refused_naming_equipment_and_checked_on() -> None:
    with pytest.raises(ValidationError) as refused:
        WarrantyPolicy().determine(_unit(), "2026-01-01")  # type: ignore[arg-type]
    assert (refused.value.entity, refused.value.field) == ("Equipment", "checked_on")
    assert "date" in refused.value.problem


def test_r20_an_unknown_finding_is_refused_naming_equipment_findings_and_the_value() -> None:
    with pytest.raises(ValidationError) as refused:
        WarrantyPolicy().determine(_unit(), date(2026, 1, 1), ["dropped"])  # type: ignore[list-item]
    assert (refused.value.entity, refused.value.field) == ("Equipment", "findings")
    assert "'dropped'" in refused.value.problem
