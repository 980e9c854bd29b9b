"""Test support for ``aftersales`` users: property-test your own policies and adapters.

Everything the library's own tests use to find bugs ships here, so that the priority
matrices, warranty policies, repair policies, authorization rules and storage adapters *you*
write can be checked the same way:

- :mod:`aftersales.testing.strategies`: Hypothesis strategies for every domain type (money,
  contacts, actors, customers, equipment, service plans, policies, timezone-aware datetimes,
  Chinese text, every domain event, and whole service requests in any reachable state), and
  strategies aimed at the edges of the rules (the first and last day of coverage, exactly 2
  days, day 15 and 16 after pick-up, daylight-saving changes);
- :mod:`aftersales.testing.stateful`: :class:`ServiceDeskStateMachine`, a stateful test that
  drives random command sequences by random actors through a :class:`~aftersales.ServiceDesk`
  and checks every answer against an oracle (accepted exactly when the rules say so, refused
  for the predicted reason), R8 and R20 both ways, and the record (R9), confirmation (R10)
  and dispatch-approval (R12) rules after every step; subclass it and override
  ``make_priority_matrix()``, ``make_warranty_policy()``, ``make_authorization()`` or
  ``make_desk()`` to test yours;
- :mod:`aftersales.testing.repair_stateful`: :class:`RepairDeskStateMachine`, the same for
  depot and outsourced repair and parts (R13-R16, R20-R23, R25, R28), with R16, R20 and R21
  checked both ways at their edges: override ``make_repair_policy()`` to check your own
  repair policy;
- :mod:`aftersales.testing.oracle` and :mod:`aftersales.testing.repair_oracle`: the
  predictions the machines make (:class:`Expectation`), and the rules they compute from the
  policies' parameters (:func:`~aftersales.testing.oracle.expected_coverage`, ...);
- :mod:`aftersales.testing.repair_strategies`: strategies for repair values;
- :mod:`aftersales.testing.contracts`: the storage contract suite for your own adapters.

See ``docs/testing.md`` for a worked example. This package needs Hypothesis (the ``test``
extra); nothing else in ``aftersales`` imports it.
"""

from aftersales.testing.oracle import Coverage, Expectation, Refusal
from aftersales.testing.repair_oracle import RepairOracle
from aftersales.testing.repair_stateful import REPAIR_ACTOR_KEYS, RepairDeskStateMachine
from aftersales.testing.stateful import ACTOR_KEYS, DESK_COMMANDS, ServiceDeskStateMachine
from aftersales.testing.strategies import (
    DST_ZONES,
    ISO_CURRENCIES,
    NATURAL_ROLE,
    STEP_NAMES,
    WORDS,
    actors,
    addresses,
    amounts,
    aware_datetimes,
    before_dst_changes,
    candidate_steps,
    categories,
    channels,
    chinese_texts,
    contact_logs,
    contacts,
    coverage_boundary_days,
    coverage_start_dates,
    currencies,
    customer_kinds,
    customer_tiers,
    customers,
    dates,
    day_edges,
    days_after,
    dispatch_approvals,
    domain_events,
    dst_datetimes,
    dst_transitions,
    durations,
    durations_around,
    equipment,
    events_of,
    exclusion_lists,
    exclusion_sets,
    exclusions,
    fixed_offset_timezones,
    impacts,
    jobs,
    money,
    names,
    non_blank_texts,
    onsite_jobs,
    priorities,
    priority_matrices,
    priority_tables,
    record_entries,
    remote_jobs,
    reschedules,
    role_sets,
    roles,
    service_plans,
    service_reports,
    service_requests,
    texts,
    urgencies,
    warranty_bases,
    warranty_policies,
    words,
    words_or_blank,
    work_entries,
)

__all__ = [
    "ACTOR_KEYS",
    "DESK_COMMANDS",
    "DST_ZONES",
    "ISO_CURRENCIES",
    "NATURAL_ROLE",
    "REPAIR_ACTOR_KEYS",
    "STEP_NAMES",
    "WORDS",
    "Coverage",
    "Expectation",
    "Refusal",
    "RepairDeskStateMachine",
    "RepairOracle",
    "ServiceDeskStateMachine",
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
