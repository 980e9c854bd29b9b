"""Hypothesis strategies for every ``aftersales`` domain type.

One shared module that every new domain type joins (like ``attrs``' own strategies): when you
add an entity, a value object or an event, add its strategy here and the round-trip and
contract tests pick it up.

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

import enum
import functools
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid5

import attrs
from hypothesis import strategies as st

from aftersales.domain.events import EVENT_TYPES, DomainEvent
from aftersales.domain.priority import PriorityMatrix
from aftersales.domain.records import Customer, Equipment, ServicePlan
from aftersales.domain.request import (
    ContactLog,
    DispatchApproval,
    Job,
    OnSiteJob,
    OnSiteState,
    RecordEntry,
    RemoteJob,
    RemoteState,
    RequestState,
    Reschedule,
    ServiceReport,
    ServiceRequest,
    WorkEntry,
)
from aftersales.domain.values import (
    Actor,
    Address,
    Category,
    Channel,
    Contact,
    CustomerKind,
    CustomerTier,
    Impact,
    Money,
    Priority,
    Role,
    Urgency,
)
from aftersales.domain.warranty import Exclusion, WarrantyBasis, WarrantyPolicy
from aftersales.errors import AftersalesError
from aftersales.workflows import steps
from aftersales.workflows.core import Workflow

__all__ = [
    "ISO_CURRENCIES",
    "NATURAL_ROLE",
    "STEP_NAMES",
    "actors",
    "addresses",
    "amounts",
    "aware_datetimes",
    "candidate_steps",
    "categories",
    "channels",
    "chinese_texts",
    "contact_logs",
    "contacts",
    "currencies",
    "customer_kinds",
    "customer_tiers",
    "customers",
    "dates",
    "dispatch_approvals",
    "domain_events",
    "durations",
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
    "work_entries",
]

T = TypeVar("T")
_E = TypeVar("_E", bound=DomainEvent)

# --- text ---------------------------------------------------------------------------------

#: Characters every adapter can store: no surrogates (Cs) and no NUL.
_CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)


@functools.cache
def texts(*, min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Any unicode text (blank allowed), without surrogates or NUL."""
    return st.text(_CHARACTERS, min_size=min_size, max_size=max_size)


@functools.cache
def chinese_texts(*, min_size: int = 1, max_size: int = 20) -> st.SearchStrategy[str]:
    """Text of CJK unified ideographs only, e.g. ``"打印机卡纸"``."""
    return st.text(_CJK, min_size=min_size, max_size=max_size)


@functools.cache
def non_blank_texts(*, max_size: int = 40) -> st.SearchStrategy[str]:
    """Text with at least one non-whitespace character: Chinese, ASCII or any unicode."""
    return st.one_of(
        chinese_texts(max_size=min(max_size, 20)),
        st.text(_CHARACTERS, min_size=1, max_size=max_size),
        st.from_regex(r"[A-Za-z][A-Za-z0-9 .-]{0,20}", fullmatch=True),
    ).filter(lambda s: bool(s.strip()))


@functools.cache
def names() -> st.SearchStrategy[str]:
    """Person or organisation names: Chinese (``"王工"``), Latin or mixed, never blank."""
    return st.one_of(
        chinese_texts(min_size=2, max_size=12),
        st.from_regex(r"[A-Z][a-z]{1,10}( [A-Z][a-z]{1,10})?", fullmatch=True),
        non_blank_texts(max_size=24),
    )


# --- time ---------------------------------------------------------------------------------

_COMMON_OFFSETS = (0, 8 * 60, 5 * 60 + 30, 5 * 60 + 45, -5 * 60, -3 * 60 - 30, 9 * 60,
                   14 * 60, -12 * 60, 12 * 60 + 45)


@functools.cache
def fixed_offset_timezones() -> st.SearchStrategy[tzinfo]:
    """Fixed-offset timezones: UTC, +08:00 (China), +05:30, +05:45, -03:30 ... and any whole
    minute offset strictly between -24 h and +24 h."""
    minutes = st.one_of(
        st.sampled_from(_COMMON_OFFSETS), st.integers(min_value=-(24 * 60 - 1),
                                                       max_value=24 * 60 - 1)
    )
    return minutes.map(lambda m: timezone(timedelta(minutes=m)))


@functools.cache
def aware_datetimes(
    *,
    min_value: datetime = datetime(1990, 1, 1),
    max_value: datetime = datetime(2199, 12, 31),
) -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes in fixed-offset zones (bounds are naive, as in Hypothesis)."""
    return st.datetimes(
        min_value=min_value, max_value=max_value, timezones=fixed_offset_timezones()
    )


@functools.cache
def dates(
    *, min_value: date = date(1980, 1, 1), max_value: date = date(2199, 12, 31)
) -> st.SearchStrategy[date]:
    """Calendar dates (installation, invoice, production, plan dates)."""
    return st.dates(min_value=min_value, max_value=max_value)


@functools.cache
def durations(
    *, min_value: timedelta = timedelta(0), max_value: timedelta = timedelta(days=3660)
) -> st.SearchStrategy[timedelta]:
    """Durations such as a callback frequency or a response commitment (R4, R26)."""
    return st.timedeltas(min_value=min_value, max_value=max_value)


# --- money --------------------------------------------------------------------------------

#: A sample of ISO 4217 codes, CNY first.
ISO_CURRENCIES: tuple[str, ...] = (
    "CNY", "USD", "EUR", "HKD", "JPY", "GBP", "TWD", "KRW", "SGD", "CHF", "KWD", "BHD", "CLF",
)


def currencies() -> st.SearchStrategy[str]:
    """ISO 4217 currency codes (including 0- and 3/4-decimal currencies such as JPY, KWD)."""
    return st.sampled_from(ISO_CURRENCIES)


@functools.cache
def amounts() -> st.SearchStrategy[Decimal]:
    """Finite Decimal amounts: everyday prices with 0-4 places, and extremes (huge and tiny
    exponents, negative zero, many digits)."""
    return st.one_of(
        st.decimals(min_value=Decimal(-10**9), max_value=Decimal(10**9), places=2),
        st.decimals(allow_nan=False, allow_infinity=False, places=4),
        st.decimals(allow_nan=False, allow_infinity=False),
        st.sampled_from([Decimal("0"), Decimal("-0"), Decimal("0.00"), Decimal("1E+999999"),
                         Decimal("-1E-999999"), Decimal("99999999999999999999999999.99")]),
    )


@functools.cache
def money(*, currency: str | None = None) -> st.SearchStrategy[Money]:
    """:class:`Money` (R22, R25) in ``currency`` or a random ISO code."""
    codes = st.just(currency) if currency is not None else currencies()
    return st.builds(Money, amounts(), codes)


# --- enumerations -------------------------------------------------------------------------


def impacts() -> st.SearchStrategy[Impact]:
    """R8 impact levels."""
    return st.sampled_from(Impact)


def urgencies() -> st.SearchStrategy[Urgency]:
    """R8 urgency levels."""
    return st.sampled_from(Urgency)


def priorities() -> st.SearchStrategy[Priority]:
    """R8 priorities P1-P4."""
    return st.sampled_from(Priority)


def categories() -> st.SearchStrategy[Category]:
    """R5 request categories."""
    return st.sampled_from(Category)


def channels() -> st.SearchStrategy[Channel]:
    """R6 intake channels."""
    return st.sampled_from(Channel)


def roles() -> st.SearchStrategy[Role]:
    """R30 roles."""
    return st.sampled_from(Role)


def role_sets(*, min_size: int = 1) -> st.SearchStrategy[frozenset[Role]]:
    """Non-empty sets of roles (an actor may hold several)."""
    return st.frozensets(roles(), min_size=max(min_size, 1))


def customer_kinds() -> st.SearchStrategy[CustomerKind]:
    """R1 person / organisation."""
    return st.sampled_from(CustomerKind)


def customer_tiers() -> st.SearchStrategy[CustomerTier]:
    """R1 tiers (standard, key account, VIP)."""
    return st.sampled_from(CustomerTier)


def exclusions() -> st.SearchStrategy[Exclusion]:
    """R20 warranty exclusions (human damage, modification, ...)."""
    return st.sampled_from(Exclusion)


def exclusion_lists(*, max_size: int = 6) -> st.SearchStrategy[list[Exclusion]]:
    """Diagnosis findings as a list (repeats allowed), as passed to ``determine``."""
    return st.lists(exclusions(), max_size=max_size)


def exclusion_sets() -> st.SearchStrategy[frozenset[Exclusion]]:
    """Sets of exclusions, as configured on a :class:`WarrantyPolicy`."""
    return st.frozensets(exclusions())


def warranty_bases() -> st.SearchStrategy[WarrantyBasis]:
    """Every R20 warranty basis."""
    return st.sampled_from(WarrantyBasis)


def dispatch_approvals() -> st.SearchStrategy[DispatchApproval]:
    """R12 dispatch-approval states."""
    return st.sampled_from(DispatchApproval)


# --- values and records --------------------------------------------------------------------

_PHONES = st.from_regex(r"(\+86 ?)?1[3-9][0-9]{9}|0[1-9][0-9]{1,2}-[0-9]{7,8}", fullmatch=True)
_EMAILS = st.from_regex(r"[a-z][a-z0-9._]{0,12}@[a-z]{2,10}\.(com|cn|net)", fullmatch=True)


@functools.cache
def contacts() -> st.SearchStrategy[Contact]:
    """R1 contact persons with optional phone and e-mail."""
    return st.builds(
        Contact, name=names(), phone=st.none() | _PHONES, email=st.none() | _EMAILS
    )


@functools.cache
def addresses() -> st.SearchStrategy[Address]:
    """R1 postal / site addresses (Chinese and other)."""
    return st.builds(
        Address, line=non_blank_texts(), city=texts(max_size=12), region=texts(max_size=12),
        postcode=st.from_regex(r"[0-9]{6}|", fullmatch=True), country=texts(max_size=12),
    )


@st.composite
def actors(
    draw: st.DrawFn,
    *,
    roles: st.SearchStrategy[frozenset[Role]] | None = None,
    customer_id: st.SearchStrategy[UUID | None] | None = None,
) -> Actor:
    """R30 actors with one or more roles; an actor with the CUSTOMER role always names its
    customer (``customer_id``), staff may or may not."""
    held = draw(roles if roles is not None else role_sets())
    owner = draw(customer_id if customer_id is not None else st.none() | st.uuids())
    if Role.CUSTOMER in held and owner is None:
        owner = draw(st.uuids())
    return Actor(id=draw(st.uuids()), name=draw(names()), roles=held, customer_id=owner)


def customers() -> st.SearchStrategy[Customer]:
    """R1 customer files: kind, tier, contacts and addresses."""
    return st.builds(
        Customer, id=st.uuids(), name=names(), kind=customer_kinds(), tier=customer_tiers(),
        contacts=st.lists(contacts(), max_size=3).map(tuple),
        addresses=st.lists(addresses(), max_size=3).map(tuple),
        version=st.integers(min_value=0, max_value=1000),
    )


def equipment(
    *, owner_id: st.SearchStrategy[UUID | None] | None = None
) -> st.SearchStrategy[Equipment]:
    """R2 equipment files, each date optional: with or without an invoice (R20's fallback),
    installation date or production date."""
    optional_date = st.none() | dates()
    return st.builds(
        Equipment, id=st.uuids(), serial=st.from_regex(r"[A-Z0-9]{4,16}", fullmatch=True)
        | non_blank_texts(max_size=16),
        model=non_blank_texts(max_size=16),
        owner_id=owner_id if owner_id is not None else st.none() | st.uuids(),
        product_line=texts(max_size=12), maker=texts(max_size=12),
        hardware_version=texts(max_size=8), software_version=texts(max_size=8),
        installed_on=optional_date, purchased_on=optional_date,
        invoice_ref=st.none() | st.just("") | st.from_regex(r"INV-[0-9]{4,10}", fullmatch=True),
        produced_on=optional_date, location=texts(max_size=16), user=texts(max_size=12),
        asset_label=texts(max_size=12), version=st.integers(min_value=0, max_value=1000),
    )


@st.composite
def service_plans(
    draw: st.DrawFn,
    *,
    customer_id: UUID | None = None,
    equipment_ids: Sequence[UUID] | None = None,
) -> ServicePlan:
    """R4 service plans: a period (``ends_on`` never before ``starts_on``), covered equipment
    and optional callback / response / maintenance cadences."""
    starts = draw(dates())
    ends = draw(dates(min_value=starts))
    covered = (
        frozenset(equipment_ids) if equipment_ids is not None
        else draw(st.frozensets(st.uuids(), max_size=4))
    )
    optional = st.none() | durations(min_value=timedelta(minutes=1))
    return ServicePlan(
        id=draw(st.uuids()),
        customer_id=customer_id if customer_id is not None else draw(st.uuids()),
        starts_on=starts, ends_on=ends, equipment_ids=covered, content=draw(texts()),
        callback_every=draw(optional), response_within=draw(optional),
        maintenance_every=draw(optional), extends_warranty=draw(st.booleans()),
        version=draw(st.integers(min_value=0, max_value=1000)),
    )


# --- policies ------------------------------------------------------------------------------


@functools.cache
def warranty_policies() -> st.SearchStrategy[WarrantyPolicy]:
    """R20 policies with random parameters: period (0-10 years), basis order, production
    grace, exclusions, and whether service plans extend coverage."""
    basis_orders = st.sampled_from([
        (WarrantyBasis.INSTALLATION, WarrantyBasis.INVOICE),
        (WarrantyBasis.INVOICE, WarrantyBasis.INSTALLATION),
        (WarrantyBasis.INSTALLATION,),
        (WarrantyBasis.INVOICE,),
    ])
    return st.builds(
        WarrantyPolicy, period_months=st.integers(min_value=0, max_value=120),
        basis_order=basis_orders, production_grace_months=st.integers(min_value=0, max_value=24),
        exclusions=exclusion_sets(), service_plans_extend=st.booleans(),
    )


@functools.cache
def priority_tables() -> st.SearchStrategy[dict[tuple[Impact, Urgency], Priority]]:
    """Complete R8 tables: every impact × urgency mapped to a random priority."""
    return st.fixed_dictionaries(
        {(impact, urgency): priorities() for impact in Impact for urgency in Urgency}
    )


@functools.cache
def priority_matrices() -> st.SearchStrategy[PriorityMatrix]:
    """R8 matrices with random full tables (the default one included)."""
    return st.one_of(st.just(PriorityMatrix()), priority_tables().map(PriorityMatrix))


# --- parts of a request ---------------------------------------------------------------------


def record_entries() -> st.SearchStrategy[RecordEntry]:
    """R9 record entries as plain values (not necessarily a consistent record: use
    :func:`service_requests` for that)."""
    state_names = st.sampled_from(
        sorted({s.value for e in (RequestState, RemoteState, OnSiteState) for s in e})
    )
    return st.builds(
        RecordEntry, sequence=st.integers(min_value=1, max_value=10**6), at=aware_datetimes(),
        actor_id=st.uuids(), workflow=st.sampled_from(sorted(steps.REQUEST_WORKFLOWS)),
        subject_id=st.uuids(), action=non_blank_texts(max_size=20),
        from_state=st.none() | state_names, to_state=state_names, note=texts(),
    )


def contact_logs() -> st.SearchStrategy[ContactLog]:
    """R11 remote contacts."""
    return st.builds(ContactLog, aware_datetimes(), channels(), non_blank_texts())


def work_entries() -> st.SearchStrategy[WorkEntry]:
    """R12 on-site work entries."""
    return st.builds(WorkEntry, aware_datetimes(), non_blank_texts())


def reschedules() -> st.SearchStrategy[Reschedule]:
    """R12 rescheduled visits with their reason."""
    return st.builds(
        Reschedule, aware_datetimes(), st.none() | aware_datetimes(), aware_datetimes(),
        non_blank_texts(),
    )


def service_reports() -> st.SearchStrategy[ServiceReport]:
    """R3/R12 signed technical service reports."""
    return st.builds(
        ServiceReport, found=non_blank_texts(), result=non_blank_texts(), signed_by=names(),
        signed_at=aware_datetimes(),
        parts_replaced=st.lists(non_blank_texts(max_size=12), max_size=3).map(tuple),
        fee=st.none() | money(), open_issues=texts(),
        measurements=st.lists(st.tuples(texts(max_size=8), texts(max_size=8)), max_size=3)
        .map(tuple),
        rating=st.none() | st.integers(min_value=1, max_value=5), remarks=texts(),
    )


def remote_jobs() -> st.SearchStrategy[RemoteJob]:
    """R11 remote jobs in any state, with contacts."""
    return st.builds(
        RemoteJob, id=st.uuids(), engineer_id=st.uuids(), started_at=aware_datetimes(),
        state=st.sampled_from(RemoteState), contacts=st.lists(contact_logs(), max_size=3),
    )


def onsite_jobs() -> st.SearchStrategy[OnSiteJob]:
    """R12 on-site jobs in any state and approval, with arrivals, work and reschedules."""
    return st.builds(
        OnSiteJob, id=st.uuids(), engineer_id=st.uuids(), planned_at=aware_datetimes(),
        promised_at=st.none() | aware_datetimes(), state=st.sampled_from(OnSiteState),
        approval=dispatch_approvals(), approved_by=st.none() | st.uuids(),
        need_confirmed_at=st.none() | aware_datetimes(),
        arrivals=st.lists(aware_datetimes(), max_size=3),
        work=st.lists(work_entries(), max_size=3),
        reschedules=st.lists(reschedules(), max_size=2),
        consultation_plans=st.lists(non_blank_texts(), max_size=2),
        report=st.none() | service_reports(),
    )


def jobs() -> st.SearchStrategy[Job]:
    """Either kind of job."""
    return st.one_of(remote_jobs(), onsite_jobs())


# --- events --------------------------------------------------------------------------------

_FIELD_OVERRIDES: Mapping[str, Callable[[], st.SearchStrategy[Any]]] = {
    "sequence": lambda: st.integers(min_value=1, max_value=2**31),
    "rating": lambda: st.none() | st.integers(min_value=1, max_value=5),
    "number": lambda: st.from_regex(r"SR-[0-9]{8}-[0-9A-Z]{4,8}", fullmatch=True),
}


def _for_type(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy for a field's (resolved) type: our own for domain types, generic for
    enums, containers and nested attrs classes."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[_for_type(arg) for arg in args])
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(_for_type(args[0]), max_size=3).map(tuple)
        return st.tuples(*[_for_type(arg) for arg in args])
    if origin is list:
        return st.lists(_for_type(args[0]), max_size=3)
    if origin is frozenset:
        return st.frozensets(_for_type(args[0]), max_size=3)
    known: dict[Any, Callable[[], st.SearchStrategy[Any]]] = {
        type(None): st.none, UUID: st.uuids, datetime: aware_datetimes, date: dates,
        timedelta: durations, str: texts, bool: st.booleans, Decimal: amounts, Money: money,
        int: lambda: st.integers(min_value=0, max_value=2**31),
    }
    if tp in known:
        return known[tp]()
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(tp)
    if isinstance(tp, type) and attrs.has(tp):
        return _attrs_instances(tp)
    raise TypeError(f"aftersales.testing.strategies has no strategy for {tp!r}: add one")


def _attrs_instances(cls: Any) -> st.SearchStrategy[Any]:
    attrs.resolve_types(cls)
    fields = {
        f.name: _FIELD_OVERRIDES[f.name]() if f.name in _FIELD_OVERRIDES else _for_type(f.type)
        for f in attrs.fields(cls)
        if f.init
    }
    return st.builds(cls, **fields)


def events_of(cls: type[_E]) -> st.SearchStrategy[_E]:
    """Events of one :class:`DomainEvent` subclass, every field drawn from its type."""
    strategy: st.SearchStrategy[_E] = _attrs_instances(cls)
    return strategy


def domain_events(
    types: Sequence[type[DomainEvent]] | None = None,
) -> st.SearchStrategy[DomainEvent]:
    """Events of every type in :data:`aftersales.domain.events.EVENT_TYPES` (or of ``types``)."""
    chosen = list(types) if types is not None else list(EVENT_TYPES.values())
    return st.one_of(*[events_of(cls) for cls in chosen])


# --- whole aggregates ----------------------------------------------------------------------


@attrs.frozen
class _StepArgs:
    """Pre-drawn arguments of one workflow step."""

    text: str = "x"
    channel: Channel = Channel.PHONE
    when: datetime | None = None
    rating: int | None = None
    fee: Money | None = None
    engineer_index: int = 0


_StepFn = Callable[[ServiceRequest, Actor, datetime, _StepArgs, Sequence[Actor]], object]


def _job_id(request: ServiceRequest) -> UUID:
    return uuid5(request.id, f"job-{len(request.jobs) + 1}")


def _later(at: datetime, args: _StepArgs) -> datetime:
    return args.when if args.when is not None else at + timedelta(days=1)


_STEPS: dict[str, _StepFn] = {
    "route": lambda r, a, at, x, _: steps.route(r, department=x.text, actor=a, at=at),
    "assign": lambda r, a, at, x, engineers: steps.assign(
        r, engineer_id=engineers[x.engineer_index % len(engineers)].id, actor=a, at=at),
    "reject": lambda r, a, at, x, _: steps.reject(r, reason=x.text, actor=a, at=at),
    "cancel": lambda r, a, at, x, _: steps.cancel(r, reason=x.text, actor=a, at=at),
    "start_remote": lambda r, a, at, x, _: steps.start_remote(
        r, job_id=_job_id(r), actor=a, at=at),
    "record_contact": lambda r, a, at, x, _: steps.record_contact(
        r, channel=x.channel, summary=x.text, actor=a, at=at),
    "escalate_onsite": lambda r, a, at, x, _: steps.escalate_onsite(
        r, job_id=_job_id(r), reason=x.text, actor=a, at=at, promised_at=x.when),
    "hand_to_depot": lambda r, a, at, x, _: steps.hand_to_depot(
        r, reason=x.text, actor=a, at=at),
    "start_onsite": lambda r, a, at, x, _: steps.start_onsite(
        r, job_id=_job_id(r), actor=a, at=at, promised_at=x.when),
    "confirm_need": lambda r, a, at, x, _: steps.confirm_need(r, note=x.text, actor=a, at=at),
    "approve_dispatch": lambda r, a, at, x, _: steps.approve_dispatch(r, actor=a, at=at),
    "dispatch_emergency": lambda r, a, at, x, _: steps.dispatch_emergency(
        r, reason=x.text, actor=a, at=at),
    "retro_approve": lambda r, a, at, x, _: steps.retro_approve(r, actor=a, at=at),
    "prepare": lambda r, a, at, x, _: steps.prepare(r, note=x.text, actor=a, at=at),
    "depart": lambda r, a, at, x, _: steps.depart(r, actor=a, at=at),
    "record_arrival": lambda r, a, at, x, _: steps.record_arrival(r, actor=a, at=at),
    "record_work": lambda r, a, at, x, _: steps.record_work(
        r, description=x.text, actor=a, at=at),
    "sign_off": lambda r, a, at, x, _: steps.sign_off(
        r, found=x.text, result=x.text, signed_by=x.text, actor=a, at=at, rating=x.rating,
        fee=x.fee),
    "call_consultation": lambda r, a, at, x, _: steps.call_consultation(
        r, reason=x.text, actor=a, at=at),
    "plan_revisit": lambda r, a, at, x, _: steps.plan_revisit(
        r, plan=x.text, promised_at=_later(at, x), actor=a, at=at),
    "reschedule": lambda r, a, at, x, _: steps.reschedule(
        r, new_time=_later(at, x), reason=x.text, actor=a, at=at),
    "resolve": lambda r, a, at, x, _: steps.resolve(r, resolution=x.text, actor=a, at=at),
    "complete_depot": lambda r, a, at, x, _: steps.complete_depot(
        r, resolution=x.text, actor=a, at=at),
    "confirm": lambda r, a, at, x, _: steps.confirm(r, note=x.text, actor=a, at=at),
    "reopen": lambda r, a, at, x, _: steps.reopen(r, reason=x.text, actor=a, at=at),
    "close": lambda r, a, at, x, _: steps.close(r, actor=a, at=at),
}

#: Every workflow step (and :class:`~aftersales.service.ServiceDesk` command) on a request.
STEP_NAMES: tuple[str, ...] = tuple(_STEPS)

#: R30: the role that naturally performs each step under the default permissions.
NATURAL_ROLE: Mapping[str, Role] = {
    **{name: Role.ENGINEER for name in STEP_NAMES},
    "route": Role.CLERK, "assign": Role.CLERK, "reject": Role.CLERK, "cancel": Role.CLERK,
    "close": Role.CLERK, "approve_dispatch": Role.SUPERVISOR,
    "retro_approve": Role.SUPERVISOR, "confirm": Role.CUSTOMER, "reopen": Role.CUSTOMER,
}


@functools.cache
def _step_args(engineers: int) -> st.SearchStrategy[_StepArgs]:
    return st.builds(
        _StepArgs, text=non_blank_texts(max_size=24), channel=channels(),
        when=st.none() | aware_datetimes(min_value=datetime(2000, 1, 1)),
        rating=st.none() | st.integers(min_value=1, max_value=5), fee=st.none() | money(),
        engineer_index=st.integers(min_value=0, max_value=max(engineers - 1, 0)),
    )


#: Workflow triggers whose step (and desk command) has another name.
_TRIGGER_STEPS: Mapping[str, tuple[str, ...]] = {
    "start": ("start_remote", "start_onsite"),
    "depot_completed": ("complete_depot",),
    "approve": ("approve_dispatch",),
    "arrive": ("record_arrival",),
}


def candidate_steps(request: ServiceRequest, *, moving_only: bool = False) -> list[str]:
    """The steps the workflow definitions offer from the request's state and its active job's
    state (guards not evaluated: a candidate may still be refused). With ``moving_only``,
    only steps that change a state (no self-loops such as ``reschedule``)."""
    found: list[str] = []
    subjects: list[tuple[Workflow, str]] = [(steps.REQUEST_FLOW, str(request.state))]
    job = request.active_job
    if job is not None:
        flow = steps.REMOTE_FLOW if isinstance(job, RemoteJob) else steps.ONSITE_FLOW
        subjects.append((flow, str(job.state)))
    for flow, state in subjects:
        for transition in flow.definition.transitions:
            if state in transition.sources and not (moving_only and transition.dest == state):
                for name in _TRIGGER_STEPS.get(transition.trigger, (transition.trigger,)):
                    if name in _STEPS and name not in found:
                        found.append(name)
    return found


def _possible(request: ServiceRequest, at: datetime, pool: Sequence[Actor]) -> list[str]:
    """The candidate steps that succeed on ``request`` now (tried on throw-away clones)."""
    possible = []
    for name in candidate_steps(request):
        try:
            _STEPS[name](request.clone(), pool[0], at, _StepArgs(), pool)
        except AftersalesError:
            continue
        possible.append(name)
    return possible


#: Steps that end a request early; :func:`service_requests` takes them less often.
_ENDINGS = frozenset({"cancel", "reject"})


@st.composite
def service_requests(
    draw: st.DrawFn,
    *,
    max_steps: int = 25,
    matrix: PriorityMatrix | None = None,
    customer_id: UUID | None = None,
) -> ServiceRequest:
    """Whole :class:`ServiceRequest` aggregates in arbitrary *reachable* states.

    The request is registered (R7, priority from ``matrix`` or a random one, R8) and then up
    to ``max_steps`` random valid steps of :mod:`aftersales.workflows.steps` run on it, each
    by an actor of the role that performs it (R30), at increasing timezone-aware times.
    Records therefore replay (``verify_record(request) == []``, R9). The domain events of the
    steps are still pending on the aggregate (``request.pending_events``), as they would be
    before a unit of work commits.
    """
    customer = customer_id if customer_id is not None else draw(st.uuids())
    pool: dict[Role, list[Actor]] = {
        role: [Actor(draw(st.uuids()), draw(names()), frozenset({role}),
                     customer if role is Role.CUSTOMER else None)]
        for role in (Role.CLERK, Role.SUPERVISOR, Role.CUSTOMER)
    }
    pool[Role.ENGINEER] = [
        Actor(draw(st.uuids()), draw(names()), frozenset({Role.ENGINEER})) for _ in range(2)
    ]
    at = draw(aware_datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2150, 1, 1)))
    request = steps.register(
        request_id=draw(st.uuids()),
        number=draw(_FIELD_OVERRIDES["number"]()),
        customer_id=customer, category=draw(categories()), channel=draw(channels()),
        impact=draw(impacts()),
        urgency=draw(urgencies()), summary=draw(non_blank_texts()),
        actor=pool[Role.CLERK][0], at=at,
        matrix=matrix if matrix is not None else draw(priority_matrices()),
        equipment_id=draw(st.none() | st.uuids()),
    )
    engineers = pool[Role.ENGINEER]
    for _ in range(draw(st.sampled_from(range(max_steps + 1)))):
        at = at + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)))
        possible = _possible(request, at, engineers)
        onward = [name for name in possible if name not in _ENDINGS]
        if not possible:
            break
        ending = not onward or draw(st.integers(min_value=0, max_value=15)) == 0
        name = draw(st.sampled_from(possible if ending else onward))
        role = NATURAL_ROLE[name]
        actor = pool[role][0]
        if role is Role.ENGINEER:
            actor = next((e for e in engineers if e.id == request.engineer_id), engineers[0])
        _STEPS[name](request, actor, at, draw(_step_args(len(engineers))), engineers)
    return request
