"""Hypothesis strategies for every ``aftersales`` domain type.

One shared package that every new domain type joins (like ``attrs``' own strategies): when you
add an entity, a value object or an event, add its strategy to the module of its kind and
export it here; the round-trip and contract tests pick it up. The modules:
:mod:`~aftersales.testing.strategies.values` (text, time, money, enumerations),
:mod:`~aftersales.testing.strategies.boundaries` (the edges of R16, R20, R21 and
daylight-saving changes), :mod:`~aftersales.testing.strategies.records` (customers, equipment,
plans, actors, policies), :mod:`~aftersales.testing.strategies.requests` (parts of a request
and whole requests) and :mod:`~aftersales.testing.strategies.events`. Import from this package:
the modules are its implementation.

Everything generated is *valid*: values pass the domain's validators, datetimes are
timezone-aware, and :func:`service_requests` builds aggregates only by running valid workflow
steps from :mod:`aftersales.workflows.steps`, so their record (R9) replays to their state.
Text includes Chinese and other non-ASCII characters (the seed documents are Chinese), but
never surrogates or NUL, which no storage adapter can hold.

Use them in your own property tests::

    from hypothesis import given
    from aftersales.testing import strategies as ast

    @given(ast.equipment(), ast.dates())
    def test_my_policy_never_covers_units_without_dates(unit, day): ...
"""

from __future__ import annotations

from aftersales.testing.strategies.boundaries import (
    DST_ZONES,
    before_dst_changes,
    coverage_boundary_days,
    coverage_start_dates,
    day_edges,
    days_after,
    dst_datetimes,
    dst_transitions,
    durations_around,
)
from aftersales.testing.strategies.events import domain_events, events_of
from aftersales.testing.strategies.records import (
    actors,
    addresses,
    contacts,
    customers,
    equipment,
    priority_matrices,
    priority_tables,
    service_plans,
    warranty_policies,
)
from aftersales.testing.strategies.requests import (
    NATURAL_ROLE,
    STEP_NAMES,
    candidate_steps,
    contact_logs,
    jobs,
    onsite_jobs,
    record_entries,
    remote_jobs,
    reschedules,
    service_reports,
    service_requests,
    work_entries,
)
from aftersales.testing.strategies.values import (
    ISO_CURRENCIES,
    WORDS,
    amounts,
    aware_datetimes,
    categories,
    channels,
    chinese_texts,
    currencies,
    customer_kinds,
    customer_tiers,
    dates,
    dispatch_approvals,
    durations,
    exclusion_lists,
    exclusion_sets,
    exclusions,
    fixed_offset_timezones,
    impacts,
    money,
    names,
    non_blank_texts,
    priorities,
    role_sets,
    roles,
    texts,
    urgencies,
    warranty_bases,
    words,
    words_or_blank,
)

__all__ = [
    "DST_ZONES",
    "ISO_CURRENCIES",
    "NATURAL_ROLE",
    "STEP_NAMES",
    "WORDS",
    "actors",
    "addresses",
    "amounts",
    "aware_datetimes",
    "before_dst_changes",
    "candidate_steps",
    "categories",
    "channels",
    "chinese_texts",
    "contact_logs",
    "contacts",
    "coverage_boundary_days",
    "coverage_start_dates",
    "currencies",
    "customer_kinds",
    "customer_tiers",
    "customers",
    "dates",
    "day_edges",
    "days_after",
    "dispatch_approvals",
    "domain_events",
    "dst_datetimes",
    "dst_transitions",
    "durations",
    "durations_around",
    "equipment",
    "events_of",
    "exclusion_lists",
    "exclusion_sets",
    "exclusions",
    "fixed_offset_timezones",
    "impacts",
    "jobs",
    "money",
    "names",
    "non_blank_texts",
    "onsite_jobs",
    "priorities",
    "priority_matrices",
    "priority_tables",
    "record_entries",
    "remote_jobs",
    "reschedules",
    "role_sets",
    "roles",
    "service_plans",
    "service_reports",
    "service_requests",
    "texts",
    "urgencies",
    "warranty_bases",
    "warranty_policies",
    "words",
    "words_or_blank",
    "work_entries",
]
