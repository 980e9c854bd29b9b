"""The oracle of the shipped stateful machines: what a desk MUST answer to each command.

A stateful test that only checks invariants cannot see a command refused that should have
been accepted (the flow simply stops there), nor one accepted that the rules refuse but that
happens to leave the invariants intact. The machines of :mod:`aftersales.testing.stateful`
and :mod:`aftersales.testing.repair_stateful` therefore predict, before every command and from
the committed state alone, whether the desk must accept it, and compare the desk's answer
with the prediction. The prediction is built from the same data a user configures, computed
here independently of the code under test:

- the workflow definitions' transitions and guards (:func:`transition_of`, :func:`fire`):
  the transitions are read as data, the guards are the desk's own guard functions;
- R30 from the authorization policy's permission table (:func:`permitted`);
- R20 from the warranty policy's parameters (:func:`expected_coverage`);
- R16 and R21 from the repair policy's parameters (:func:`expected_pickup_lead`,
  :func:`expected_free_rerepair`);
- argument validity from the documented limits of the commands (:func:`text_ok`,
  :func:`instant_ok`, :func:`money_ok`).

An :class:`Expectation` collects the reasons a command must be refused, stage by stage in the
order every command is checked (its arguments, the acting actor, the target, the
authorization, then the rules of its steps). The first stage that has a reason decides: the
desk must refuse with one of that stage's error classes. A stage may hold several reasons (the
rules of a step are checked in an order the oracle does not assume), so a refusal must match
one of them. With no reason at all, the desk must accept.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs

from aftersales.domain.kernel import Aggregate, AggregateKind
from aftersales.domain.records import Actor, Equipment, ServicePlan
from aftersales.domain.repair import FaultKind, RepairPolicy
from aftersales.domain.values import Money, Role
from aftersales.domain.warranty import Exclusion, WarrantyBasis, WarrantyPolicy
from aftersales.errors import AftersalesError, InvalidTransition, NotAuthorized
from aftersales.workflows.core import Transition, Workflow

__all__ = [
    "STAGES",
    "Coverage",
    "Expectation",
    "Refusal",
    "expected_coverage",
    "expected_free_rerepair",
    "expected_pickup_lead",
    "fire",
    "instant_ok",
    "money_ok",
    "months_later",
    "permitted",
    "text_ok",
    "transition_of",
]

#: The stages of a command, in the order every command is checked: its arguments (when it is
#: built), the acting actor (from the directory), its idempotency key (a key used before for
#: other arguments), its target (found, at the expected version), the authorization against the
#: target as loaded, and the rules of its steps.
STAGES: tuple[str, ...] = ("arguments", "actor", "key", "target", "authorization", "rules")

#: The earliest and latest instants a command accepts (the library's documented range).
_FIRST_INSTANT = datetime(1900, 1, 2)
_LAST_INSTANT = datetime(2999, 12, 30)


@attrs.frozen
class Refusal:
    """One reason a command must be refused: the error class the desk must raise for it,
    the stage it belongs to and a sentence for the failure message."""

    error: type[AftersalesError]
    stage: str
    reason: str


@attrs.define
class Expectation:
    """What one command must do. Add reasons with :meth:`refuse`; :attr:`accepted` is True
    when there are none; :attr:`errors` are the classes the refusal must be one of."""

    what: str
    refusals: list[Refusal] = attrs.field(factory=list)
    #: The record entries an accepted command must append, as (workflow, action, from-state,
    #: to-state), in any order (filled by :func:`fire`).
    steps: list[tuple[str, str, str | None, str]] = attrs.field(factory=list)

    def refuse(self, error: type[AftersalesError], stage: str, reason: str) -> None:
        """The command must be refused at ``stage`` (one of :data:`STAGES`) with ``error``."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; use one of {STAGES}")
        self.refusals.append(Refusal(error, stage, reason))

    @property
    def accepted(self) -> bool:
        """True when nothing refuses the command: the desk must accept it."""
        return not self.refusals

    @property
    def deciding(self) -> list[Refusal]:
        """The reasons of the first stage that has any (the ones the desk must report)."""
        for stage in STAGES:
            found = [r for r in self.refusals if r.stage == stage]
            if found:
                return found
        return []

    @property
    def errors(self) -> tuple[type[AftersalesError], ...]:
        """The error classes the desk's refusal must be an instance of."""
        return tuple(dict.fromkeys(r.error for r in self.deciding))

    def describe(self) -> str:
        """The prediction in words, for failure messages."""
        if self.accepted:
            return f"{self.what} must be accepted"
        reasons = "; ".join(f"{r.error.__name__}: {r.reason}" for r in self.deciding)
        return f"{self.what} must be refused ({reasons})"

    def judge(self, error: AftersalesError | None) -> None:
        """Assert that the desk's answer (``None`` when it accepted, else the refusal) is the
        predicted one."""
        if error is None:
            assert self.accepted, f"wrongly accepted: {self.describe()}"
            return
        assert not self.accepted, (
            f"wrongly refused: {self.describe()}, but the desk said "
            f"{type(error).__name__}: {error}"
        )
        assert isinstance(error, self.errors), (
            f"refused for the wrong reason: {self.describe()}, but the desk said "
            f"{type(error).__name__}: {error}"
        )


# --- argument validity -----------------------------------------------------------------------


def text_ok(value: object, *, required: bool = True, max_length: int = 10_000) -> bool:
    """Acceptable command text: a string, not blank when required, at most ``max_length``
    characters, without NUL or lone surrogates."""
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        return False
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        return False
    return bool(value.strip()) or not required


def instant_ok(value: object) -> bool:
    """An acceptable instant: timezone-aware, its wall time within 1900-01-02..2999-12-30."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        return False
    return _FIRST_INSTANT <= value.replace(tzinfo=None) <= _LAST_INSTANT


def money_ok(value: object, *, positive: bool = False) -> bool:
    """Acceptable Money for a command: not negative (and not zero when ``positive``)."""
    if not isinstance(value, Money):
        return False
    return value.amount > 0 if positive else value.amount >= 0


# --- workflows -------------------------------------------------------------------------------


def transition_of(workflow: Workflow, state: str, trigger: str) -> Transition | None:
    """The transition ``trigger`` takes from ``state`` in ``workflow``'s definition (read as
    data), or None when the definition has none."""
    for transition in workflow.definition.transitions:
        if transition.trigger == trigger and state in transition.sources:
            return transition
    return None


def _holds(workflow: Workflow, condition: str, subject: Any, aggregate: Any) -> bool:
    guard = workflow.guards.get(condition)
    if guard is not None:
        return bool(guard(subject, aggregate))
    value = getattr(subject, condition)
    return bool(value() if callable(value) else value)


def fire(
    expectation: Expectation, workflow: Workflow, subject: Any, trigger: str,
    aggregate: Any = None, *, what: str = "",
) -> bool:
    """Model one step: if ``trigger`` may fire on ``subject`` (its state has the transition
    and every guard holds), move the model ``subject`` to the transition's destination and
    return True; otherwise add the reason to ``expectation`` and return False.

    ``subject`` must be a model (a clone), never a committed aggregate."""
    state = str(subject.state)
    label = what or f"{workflow.name} {getattr(subject, 'id', '')}"
    transition = transition_of(workflow, state, trigger)
    if transition is None:
        expectation.refuse(InvalidTransition, "rules",
                           f"{label} is {state}: {workflow.name} has no {trigger!r} from there")
        return False
    whole = aggregate if aggregate is not None else subject
    failing = [c for c in transition.conditions if not _holds(workflow, c, subject, whole)]
    if failing:
        expectation.refuse(InvalidTransition, "rules",
                           f"{label} is {state}: {trigger} needs {', '.join(failing)}")
        return False
    expectation.steps.append((workflow.name, trigger, state, transition.dest))
    subject.state = transition.dest
    return True


# --- R30 -------------------------------------------------------------------------------------


def permitted(
    policy: object, actor: Actor, action: str, target: Aggregate | None,
    kind: AggregateKind[Any] | None,
) -> bool:
    """R30: may ``actor`` (as in the directory) do ``action`` on ``target`` under ``policy``?

    A policy with a ``permissions`` table (:class:`~aftersales.service.authorization.
    RoleBasedPolicy` and its subclasses) is read as data: an active actor may act if one of
    their roles is in the action's permission, an ENGINEER under ``assigned_only`` only on
    what is assigned to them, a CUSTOMER under ``own_only`` only on what their customer owns
    (never on something not yet created). Any other policy is asked itself (override the
    machine's ``expect_permission`` to state your rule independently)."""
    if not actor.active:
        return False
    table = getattr(policy, "permissions", None)
    if not isinstance(table, Mapping):
        try:
            policy.authorize(actor, action, target, kind)  # type: ignore[attr-defined]
        except NotAuthorized:
            return False
        return True
    permission = table.get(action)
    if permission is None:
        return False
    for role in actor.roles & permission.roles:
        if role == Role.ENGINEER and permission.assigned_only and kind is not None and (
            kind.assignee_field is not None
        ):
            if getattr(target, kind.assignee_field, None) == actor.id:
                return True
            continue
        if role == Role.CUSTOMER and permission.own_only:
            if target is None or kind is None:
                continue
            owner = getattr(target, kind.owner_field, None) if kind.owner_field else None
            if actor.customer_id is not None and owner == actor.customer_id:
                return True
            continue
        return True
    return False


# --- R20 -------------------------------------------------------------------------------------


def months_later(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (negative: earlier), clamped to the last day of
    the month it lands in (31 January + 1 month = 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@attrs.frozen
class Coverage:
    """R20 as the policy's parameters say: covered or not, from which date, until when (the
    end day itself no longer covered), the exclusion that voids it, the plan that covers."""

    in_warranty: bool
    basis: WarrantyBasis
    starts_on: date | None
    ends_on: date | None
    exclusion: Exclusion | None = None
    plan_id: Any = None


def expected_coverage(
    policy: WarrantyPolicy, unit: Equipment, day: date, findings: Iterable[Exclusion] = (),
    plans: Iterable[ServicePlan] = (),
) -> Coverage:
    """R20 from ``policy``'s parameters: coverage starts at the first date of
    ``basis_order`` on file (an invoice counts only with its reference and purchase date),
    else at the production date plus ``production_grace_months``, and lasts
    ``period_months``: covered from the start day to the day before the end. A finding in
    the policy's ``exclusions`` voids it; otherwise, when ``service_plans_extend``, an active
    plan that extends warranty and lists the unit covers it from its first to its last day."""
    basis, start = WarrantyBasis.NONE, None
    for wanted in policy.basis_order:
        if wanted == WarrantyBasis.INSTALLATION and unit.installed_on is not None:
            basis, start = wanted, unit.installed_on
            break
        if wanted == WarrantyBasis.INVOICE and unit.invoice_ref and unit.purchased_on:
            basis, start = wanted, unit.purchased_on
            break
    if start is None and unit.produced_on is not None:
        basis = WarrantyBasis.PRODUCTION_FALLBACK
        start = months_later(unit.produced_on, policy.production_grace_months)
    end = months_later(start, policy.period_months) if start is not None else None
    excluded = [f for f in findings if f in policy.exclusions]
    if excluded:
        return Coverage(False, basis, start, end, excluded[0])
    if start is not None and end is not None and start <= day < end:
        return Coverage(True, basis, start, end)
    if policy.service_plans_extend:
        for plan in plans:
            if (plan.extends_warranty and plan.state == "active" and unit.id in plan.equipment_ids
                    and plan.starts_on <= day <= plan.ends_on):
                return Coverage(True, WarrantyBasis.SERVICE_PLAN, plan.starts_on, plan.ends_on,
                                plan_id=plan.id)
    return Coverage(False, basis, start, end)


# --- R16, R21 --------------------------------------------------------------------------------


def _absolute(start: datetime, end: datetime) -> timedelta:
    return end.astimezone(UTC) - start.astimezone(UTC)


def expected_pickup_lead(policy: RepairPolicy, received_at: datetime,
                         ready_at: datetime) -> timedelta:
    """R16: the pick-up notice for a job from ``received_at`` to ``ready_at`` (absolute
    time, whatever the zones): ``short_job_notice`` (1 h) under ``long_job_threshold`` (2
    days), ``long_job_notice`` (4 h) at the threshold or beyond (两天以上包括两天)."""
    took = _absolute(received_at, ready_at)
    return policy.long_job_notice if took >= policy.long_job_threshold else (
        policy.short_job_notice
    )


def expected_free_rerepair(
    policy: RepairPolicy, picked_up_at: datetime, back_at: datetime, fault_kind: FaultKind,
    *, same_fault: bool,
) -> bool:
    """R21: a unit back within ``rerepair_window_days`` calendar days (inclusive, days counted
    in the policy's ``zone``) after its pick-up gets a free service of the kinds the policy
    names; the same fault again is free only when ``rerepair_same_fault_free``."""
    zone = policy.zone
    days = (back_at.astimezone(zone).date() - picked_up_at.astimezone(zone).date()).days
    if not 0 <= days <= policy.rerepair_window_days:
        return False
    return fault_kind in policy.rerepair_free_kinds or (
        same_fault and policy.rerepair_same_fault_free
    )
