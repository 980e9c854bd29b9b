"""The storage contract suite: the tests every adapter of :mod:`aftersales.ports` must pass.

Shipped in the package (like ``eventsourcing``'s persistence tests) so that a store you write
yourself can prove itself with the very tests the shipped in-memory and SQL adapters pass.

**The factory interface.** Subclass :class:`StorageContract` in a module pytest collects, name
the subclass ``Test...``, and implement two methods::

    from aftersales.testing.contracts import StorageContract

    class TestMyStore(StorageContract):
        def make_uow_factory(self) -> Callable[[], UnitOfWork]:
            self.store = MyStore(url)        # called once per test, before make_outbox
            return self.store.unit_of_work   # each call returns a new UnitOfWork
        def make_outbox(self) -> Outbox:
            return self.store.outbox()       # sees what those units of work commit

``make_uow_factory`` is called once per test (not per Hypothesis example) on a fresh instance
of your class; ``make_outbox`` is called after it, in the same test, on the same instance. The
store may be shared between tests and between runs: every example uses fresh random UUIDs and
service numbers, and queries always filter on such an id, so old rows never disturb a test.
The one exception is the outbox: :class:`OutboxContract` marks every message that is pending
when one of its examples starts as published, so run it against a test database only, and not
from several processes at once.

Smaller building blocks (:class:`CustomerRepositoryContract`, :class:`EquipmentRepositoryContract`,
:class:`ServicePlanRepositoryContract`, :class:`ActorRepositoryContract`,
:class:`ServiceRequestRepositoryContract`, :class:`UnitOfWorkContract`,
:class:`IdempotencyContract`, :class:`OutboxContract`) can be subclassed on their own; all take
the same two factory methods (only :class:`OutboxContract` needs ``make_outbox``).

**What "round-trips" means.** An aggregate read back in a later unit of work must unstructure
(:func:`aftersales.serialization.make_converter`) to the same data as the one stored, except:

* ``version`` is the store's business (it is excluded; the store must only detect conflicts);
* datetimes are compared as instants: a store may normalise the timezone (e.g. to UTC), so
  ``2024-05-01T08:00+08:00`` may come back as ``2024-05-01T00:00+00:00``; microseconds must
  survive;
* :class:`~aftersales.domain.values.Money` amounts are compared by value (a store may pad to a
  fixed scale); they have at most 4 decimal places and at most 14 integer digits.

Everything else must come back exactly: Unicode (Chinese included, any code point but NUL and
lone surrogates), 100 KB texts, the order of lists such as the record (R9), contacts and jobs.

The suite always stores what an entity refers to (its customer, equipment, engineers, the
actors in its record) first, so a store may enforce foreign keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import attrs
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from aftersales.domain.events import Event
from aftersales.domain.priority import PriorityMatrix
from aftersales.domain.records import Customer, Equipment, ServicePlan
from aftersales.domain.request import OnSiteJob, RequestState, ServiceRequest
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
    Role,
    Urgency,
)
from aftersales.errors import AftersalesError, ConcurrencyConflict, NotFound, ValidationError
from aftersales.ports import Outbox, OutboxMessage, UnitOfWork
from aftersales.serialization import event_to_dict, make_converter
from aftersales.workflows import steps

__all__ = [
    "ActorRepositoryContract",
    "ContractBase",
    "CustomerRepositoryContract",
    "EquipmentRepositoryContract",
    "IdempotencyContract",
    "OutboxContract",
    "ServicePlanRepositoryContract",
    "ServiceRequestRepositoryContract",
    "StorageContract",
    "UnitOfWorkContract",
]

UowFactory = Callable[[], UnitOfWork]

_HEALTH = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.differing_executors,
]
#: Real databases are slower than memory, so moderate counts.
_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=_HEALTH)
#: Tests on generated service requests: shrinking those (big, many commits) takes minutes
#: against a database, so failures are reported as generated (with the seed to replay).
_REQUESTS = settings(_SETTINGS, phases=[Phase.explicit, Phase.reuse, Phase.generate])
#: Tests that commit many times per example.
_HEAVY = settings(_REQUESTS, max_examples=12)

# --- private strategies (fresh random UUIDs, so examples never collide in a shared store) ----

_ids: st.SearchStrategy[UUID] = st.builds(uuid4)

_TIMEZONES = [
    UTC,
    timezone(timedelta(hours=8)),  # Beijing
    timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=5, minutes=45)),
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=-12)),
    timezone(timedelta(hours=-3, minutes=-30)),
]
_tzs = st.sampled_from(_TIMEZONES)
_CHINESE = [
    "北京某某科技有限公司",
    "打印机卡纸",
    "服务器宕机，核心系统无法访问",
    "上海市浦东新区张江路88号",
    "王工程师",
    "李小姐",
    "客户投诉：维修超期三天",
    "已更换硒鼓，测试打印正常",
    "会诊：主板故障，需返厂",
]
_chars = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")


def _text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Possibly blank text: Chinese samples or any Unicode (no NUL, no lone surrogates)."""
    return st.one_of(st.sampled_from(_CHINESE), st.text(_chars, max_size=max_size))


def _name(max_size: int = 40) -> st.SearchStrategy[str]:
    """Non-blank text."""
    return st.one_of(
        st.sampled_from(_CHINESE),
        st.text(_chars, min_size=1, max_size=max_size).filter(lambda s: bool(s.strip())),
    )


_big = _name(8).map(lambda s: (s * (100_000 // len(s) + 1))[:100_000])  # 100 KB notes
_long_name = st.one_of(_name(), _name(), _name(), _big)
_long_text = st.one_of(_text(), _text(), _text(), _big)
_datetimes = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=_tzs
)
_dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31))
_EXTREME = [
    Decimal("99999999999999.9999"),
    Decimal("-99999999999999.9999"),
    Decimal("-0.0001"),
    Decimal("0.0001"),
    Decimal("0"),
]
_amounts = st.one_of(
    st.sampled_from(_EXTREME),
    st.decimals(
        min_value=Decimal("-99999999999999.9999"),
        max_value=Decimal("99999999999999.9999"),
        places=4,
        allow_nan=False,
        allow_infinity=False,
    ),
)
_money = st.builds(Money, _amounts, st.sampled_from(["CNY", "USD", "EUR", "JPY", "HKD"]))
_phone = st.text("0123456789+- ()", min_size=3, max_size=20)
_email = st.builds(
    lambda u, d: f"{u.hex[:8]}@{d}", _ids, st.sampled_from(["example.com", "例子.中国"])
)
_contacts = st.builds(Contact, _name(), st.none() | _phone, st.none() | _email)
_addresses = st.builds(Address, _name(), _text(), _text(), _text(10), _text(20))
_customers = st.builds(
    Customer,
    id=_ids,
    name=_long_name,
    kind=st.sampled_from(CustomerKind),
    tier=st.sampled_from(CustomerTier),
    contacts=st.lists(_contacts, max_size=4).map(tuple),
    addresses=st.lists(_addresses, max_size=3).map(tuple),
)
_serials = st.builds(lambda prefix, u: f"{prefix}{u.hex[:16]}", _text(8), _ids)
_equipment = st.builds(
    Equipment,
    id=_ids,
    serial=_serials,
    model=_name(),
    owner_id=st.none() | _ids,
    product_line=_text(),
    maker=_text(),
    hardware_version=_text(10),
    software_version=_text(10),
    installed_on=st.none() | _dates,
    purchased_on=st.none() | _dates,
    invoice_ref=st.none() | _text(),
    produced_on=st.none() | _dates,
    location=_long_text,
    user=_text(),
    asset_label=_text(),
)
_periods = st.none() | st.integers(0, 3650 * 86_400).map(lambda s: timedelta(seconds=s))
_STAFF = frozenset(Role) - {Role.CUSTOMER}


@st.composite
def _actors(draw: st.DrawFn) -> Actor:
    roles = draw(st.frozensets(st.sampled_from(Role), min_size=1))
    customer = draw(_ids) if Role.CUSTOMER in roles else draw(st.none() | _ids)
    return Actor(draw(_ids), draw(_name()), roles, customer)



@st.composite
def _plans(draw: st.DrawFn) -> ServicePlan:
    starts = draw(_dates)
    ends = starts + timedelta(days=draw(st.integers(0, 3650)))
    return ServicePlan(
        id=draw(_ids),
        customer_id=draw(_ids),
        starts_on=starts,
        ends_on=ends,
        equipment_ids=draw(st.frozensets(_ids, max_size=5)),
        content=draw(_long_text),
        callback_every=draw(_periods),
        response_within=draw(_periods),
        maintenance_every=draw(_periods),
        extends_warranty=draw(st.booleans()),
    )


# --- service requests: registered, then moved along its flows by the real workflow steps ---


@attrs.frozen
class _Args:
    """Everything a step may need, drawn once per step."""

    at: datetime
    later: datetime
    text: str
    note: str
    short: str
    job_id: UUID
    engineer_id: UUID
    channel: Channel
    rating: int | None
    fee: Money | None
    parts: tuple[str, ...]
    promise: bool


_Action = Callable[[ServiceRequest, Actor, _Args], Any]
_ACTIONS: dict[str, _Action] = {
    "route": lambda r, u, a: steps.route(r, department=a.short, actor=u, at=a.at),
    "assign": lambda r, u, a: steps.assign(r, engineer_id=a.engineer_id, actor=u, at=a.at),
    "reject": lambda r, u, a: steps.reject(r, reason=a.text, actor=u, at=a.at),
    "cancel": lambda r, u, a: steps.cancel(r, reason=a.short, actor=u, at=a.at),
    "start_remote": lambda r, u, a: steps.start_remote(r, job_id=a.job_id, actor=u, at=a.at),
    "record_contact": lambda r, u, a: steps.record_contact(
        r, channel=a.channel, summary=a.text, actor=u, at=a.at
    ),
    "escalate_onsite": lambda r, u, a: steps.escalate_onsite(
        r, job_id=a.job_id, reason=a.short, actor=u, at=a.at,
        promised_at=a.later if a.promise else None,
    ),
    "hand_to_depot": lambda r, u, a: steps.hand_to_depot(r, reason=a.short, actor=u, at=a.at),
    "start_onsite": lambda r, u, a: steps.start_onsite(
        r, job_id=a.job_id, actor=u, at=a.at, promised_at=a.later if a.promise else None
    ),
    "confirm_need": lambda r, u, a: steps.confirm_need(r, actor=u, at=a.at, note=a.note),
    "approve_dispatch": lambda r, u, a: steps.approve_dispatch(r, actor=u, at=a.at),
    "dispatch_emergency": lambda r, u, a: steps.dispatch_emergency(
        r, reason=a.short, actor=u, at=a.at
    ),
    "retro_approve": lambda r, u, a: steps.retro_approve(r, actor=u, at=a.at),
    "prepare": lambda r, u, a: steps.prepare(r, actor=u, at=a.at, note=a.note),
    "depart": lambda r, u, a: steps.depart(r, actor=u, at=a.at),
    "record_arrival": lambda r, u, a: steps.record_arrival(r, actor=u, at=a.at),
    "record_work": lambda r, u, a: steps.record_work(r, description=a.text, actor=u, at=a.at),
    "sign_off": lambda r, u, a: steps.sign_off(
        r, found=a.short, result=a.text, signed_by=a.short, actor=u, at=a.at, rating=a.rating,
        parts_replaced=a.parts, fee=a.fee, open_issues=a.note, remarks=a.note,
    ),
    "call_consultation": lambda r, u, a: steps.call_consultation(
        r, reason=a.short, actor=u, at=a.at
    ),
    "plan_revisit": lambda r, u, a: steps.plan_revisit(
        r, plan=a.text, promised_at=a.later, actor=u, at=a.at
    ),
    "reschedule": lambda r, u, a: steps.reschedule(
        r, new_time=a.later, reason=a.short, actor=u, at=a.at
    ),
    "resolve": lambda r, u, a: steps.resolve(r, resolution=a.text, actor=u, at=a.at),
    "complete_depot": lambda r, u, a: steps.complete_depot(
        r, resolution=a.text, actor=u, at=a.at
    ),
    "confirm": lambda r, u, a: steps.confirm(r, actor=u, at=a.at, note=a.note),
    "reopen": lambda r, u, a: steps.reopen(r, reason=a.short, actor=u, at=a.at),
    "close": lambda r, u, a: steps.close(r, actor=u, at=a.at),
}

_ONSITE = ["confirm_need", "reschedule*", "approve_dispatch", "prepare", "depart",
           "record_arrival", "record_work*"]
_PATHS: dict[str, list[str]] = {  # a trailing * repeats the step 0-3 times
    "remote": ["route", "assign", "start_remote", "record_contact*", "resolve", "confirm",
               "close"],
    "onsite": ["assign", "start_onsite", *_ONSITE, "sign_off", "resolve", "confirm", "close"],
    "emergency": ["assign", "start_onsite", "confirm_need", "dispatch_emergency",
                  "record_arrival", "record_work*", "sign_off", "resolve", "retro_approve",
                  "confirm", "close"],
    "escalated": ["route", "assign", "start_remote", "record_contact*", "escalate_onsite",
                  *_ONSITE, "call_consultation", "plan_revisit", "reschedule*", "depart",
                  "record_arrival", "record_work*", "sign_off", "resolve", "confirm", "close"],
    "reopened": ["assign", "start_remote", "record_contact", "resolve", "reopen",
                 "start_onsite", *_ONSITE, "sign_off", "resolve", "confirm", "close"],
    "depot": ["route", "assign", "start_remote", "record_contact*", "hand_to_depot",
              "complete_depot", "confirm", "close"],
    "onsite_depot": ["assign", "start_onsite", *_ONSITE, "call_consultation", "hand_to_depot",
                     "complete_depot", "confirm"],
    "rejected": ["route", "reject"],
}

_MATRIX = PriorityMatrix()


def _try(name: str, request: ServiceRequest, actor: Actor, args: _Args) -> bool:
    """True if the step ``name`` is possible now (tried on a copy)."""
    try:
        _ACTIONS[name](request.clone(), actor, args)
    except AftersalesError:
        return False
    return True


@attrs.frozen
class _Scenario:
    """How to build one request: registration, then steps replayed in order."""

    registration: dict[str, Any]
    actor: Actor
    steps: tuple[tuple[str, _Args], ...]

    @property
    def registered_at(self) -> datetime:
        at: datetime = self.registration["at"]
        return at

    def register(self) -> ServiceRequest:
        return steps.register(**self.registration, actor=self.actor, matrix=_MATRIX)

    def apply(self, request: ServiceRequest, index: int) -> None:
        name, args = self.steps[index]
        _ACTIONS[name](request, self.actor, args)

    def build(self) -> ServiceRequest:
        request = self.register()
        for index in range(len(self.steps)):
            self.apply(request, index)
        return request


@st.composite
def _scenarios(
    draw: st.DrawFn,
    customer_id: UUID | None = None,
    equipment_ids: tuple[UUID, ...] = (),
    engineer_ids: tuple[UUID, ...] = (),
    max_steps: int = 40,
    near: datetime | None = None,
) -> _Scenario:
    actor = Actor(draw(_ids), draw(_name()), _STAFF)
    if near is None:
        at = draw(_datetimes)
    else:  # within a day of ``near``, in any timezone: the order depends on the instants
        at = (near + timedelta(seconds=draw(st.integers(0, 86_400)))).astimezone(draw(_tzs))
    equipment = draw(st.sampled_from(equipment_ids)) if equipment_ids else draw(st.none() | _ids)
    registration = {
        "request_id": draw(_ids),
        "number": f"{draw(st.sampled_from(['SR-', '售后-', 'Ω/']))}{draw(_ids).hex}",
        "customer_id": customer_id or draw(_ids),
        "category": draw(st.sampled_from(Category)),
        "channel": draw(st.sampled_from(Channel)),
        "impact": draw(st.sampled_from(Impact)),
        "urgency": draw(st.sampled_from(Urgency)),
        "summary": draw(_long_name),
        "at": at,
        "equipment_id": equipment,
    }
    engineers = st.sampled_from(engineer_ids) if engineer_ids else _ids
    request = steps.register(**registration, actor=actor, matrix=_MATRIX)
    path_name = draw(st.sampled_from([*_PATHS, "random"]))
    if path_name == "random":
        planned: list[str | None] = [None] * draw(st.integers(0, 12))
    else:
        planned = []
        for step in _PATHS[path_name]:
            repeat = draw(st.integers(0, 3)) if step.endswith("*") else 1
            planned.extend([step.rstrip("*")] * repeat)
        planned = planned[: draw(st.integers(0, len(planned)) | st.just(len(planned)))]
        if draw(st.integers(0, 5)) == 0:
            planned.append("cancel")
    done: list[tuple[str, _Args]] = []
    for wanted in planned[:max_steps]:
        at = (at + timedelta(seconds=draw(st.integers(1, 3 * 86_400)))).astimezone(draw(_tzs))
        args = _Args(
            at=at,
            later=(at + timedelta(minutes=draw(st.integers(1, 20_000)))).astimezone(draw(_tzs)),
            text=draw(_long_name),
            note=draw(_long_text),
            short=draw(_name()),
            job_id=draw(_ids),
            engineer_id=draw(engineers),
            channel=draw(st.sampled_from(Channel)),
            rating=draw(st.none() | st.integers(1, 5)),
            fee=draw(st.none() | _money),
            parts=tuple(draw(st.lists(_name(), max_size=3))),
            promise=draw(st.booleans()),
        )
        if wanted is None:
            possible = [name for name in _ACTIONS if _try(name, request, actor, args)]
            if not possible:
                break
            wanted = draw(st.sampled_from(possible))
        elif not _try(wanted, request, actor, args):
            continue
        _ACTIONS[wanted](request, actor, args)
        done.append((wanted, args))
    return _Scenario(registration, actor, tuple(done))


# --- comparison ------------------------------------------------------------------------------

_CONVERTER = make_converter()
_ISO_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def _instants(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"amount", "currency"}:  # Money: compare the amount by value
            return {"amount": Decimal(value["amount"]), "currency": value["currency"]}
        return {k: _instants(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_instants(v) for v in value]
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC).isoformat()
    return value


def _snapshot(item: object) -> Any:
    """What must survive storage: the unstructured data, without ``version``, datetimes as
    instants, Money amounts by value."""
    data = _CONVERTER.unstructure(item)
    if isinstance(data, dict):
        data.pop("version", None)
    return _instants(data)


def _same_instant(a: datetime, b: datetime) -> bool:
    return a.astimezone(UTC) == b.astimezone(UTC)


# --- references (a store may enforce foreign keys) -------------------------------------------


def _ensure(
    uow: UnitOfWork,
    customers: set[UUID] | None = None,
    equipment: dict[UUID, UUID | None] | None = None,
    actors: set[UUID] | None = None,
) -> None:
    """Add minimal records for ids not stored yet (customers first, then equipment, actors)."""
    for customer_id in sorted(customers or set()):
        try:
            uow.customers.get(customer_id)
        except NotFound:
            uow.customers.add(Customer(customer_id, "参考客户 reference customer"))
    for equipment_id, owner in (equipment or {}).items():
        try:
            uow.equipment.get(equipment_id)
        except NotFound:
            uow.equipment.add(Equipment(equipment_id, f"S-{equipment_id.hex}", "型号 X1", owner))
    for actor_id in sorted(actors or set()):
        try:
            uow.actors.get(actor_id)
        except NotFound:
            uow.actors.add(Actor(actor_id, "参考人员", _STAFF))


def _ensure_request_refs(uow: UnitOfWork, request: ServiceRequest) -> None:
    actors = {e.actor_id for e in request.record}
    actors.update(j.engineer_id for j in request.jobs)
    actors.update(
        j.approved_by for j in request.jobs if isinstance(j, OnSiteJob) and j.approved_by
    )
    if request.engineer_id is not None:
        actors.add(request.engineer_id)
    _ensure(
        uow,
        customers={request.customer_id},
        equipment={request.equipment_id: request.customer_id} if request.equipment_id else {},
        actors=actors,
    )


def _store_request(factory: UowFactory, request: ServiceRequest) -> list[Event]:
    """Add ``request`` (and what it refers to) in one unit of work; its committed events."""
    with factory() as uow:
        _ensure_request_refs(uow, request)
        uow.requests.add(request)
        uow.commit()
        return [e for e in uow.collect_new_events() if e.aggregate_id == request.id]


def _registered(factory: UowFactory, summary: str = "打印机卡纸") -> ServiceRequest:
    """A freshly registered, stored request (plain data for the non-Hypothesis tests)."""
    request = steps.register(
        request_id=uuid4(), number=f"SR-{uuid4().hex}", customer_id=uuid4(),
        category=Category.FAULT, channel=Channel.PHONE, impact=Impact.MODERATE,
        urgency=Urgency.HIGH, summary=summary, actor=_CLERK,
        at=datetime(2024, 5, 1, 8, 30, tzinfo=timezone(timedelta(hours=8))), matrix=_MATRIX,
    )
    _store_request(factory, request)
    return request


_CLERK = Actor(UUID("00000000-0000-4000-8000-000000000001"), "文员", frozenset({Role.CLERK}))
_T = datetime(2024, 5, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))


# --- the contract classes ---------------------------------------------------------------------


class ContractBase:
    """The two factory methods every contract class needs, and their pytest fixtures."""

    def make_uow_factory(self) -> UowFactory:
        """Return a callable that makes a new :class:`~aftersales.ports.UnitOfWork` per call.

        Called once per test on a fresh instance of your subclass; every unit of work the
        callable makes must see what the others committed.
        """
        raise NotImplementedError

    def make_outbox(self) -> Outbox:
        """Return the :class:`~aftersales.ports.Outbox` over the store of the factory made
        by :meth:`make_uow_factory` in this test (called after it, on the same instance)."""
        raise NotImplementedError

    @pytest.fixture
    def uow_factory(self) -> UowFactory:
        """The unit-of-work factory of this test."""
        return self.make_uow_factory()

    @pytest.fixture
    def outbox(self, uow_factory: UowFactory) -> Outbox:
        """The outbox of this test's store."""
        return self.make_outbox()


class CustomerRepositoryContract(ContractBase):
    """R1 customer files: round-trip, NotFound, duplicate ids, optimistic concurrency."""

    @_SETTINGS
    @given(customer=_customers)
    def test_a_customer_round_trips(self, uow_factory: UowFactory, customer: Customer) -> None:
        """Names, contacts and addresses (Unicode, 100 KB) come back as stored."""
        with uow_factory() as uow:
            uow.customers.add(customer)
            uow.commit()
        with uow_factory() as uow:
            assert _snapshot(uow.customers.get(customer.id)) == _snapshot(customer)

    def test_an_unknown_customer_is_not_found(self, uow_factory: UowFactory) -> None:
        """``get`` of an id never stored raises NotFound."""
        with uow_factory() as uow, pytest.raises(NotFound):
            uow.customers.get(uuid4())

    def test_a_duplicate_customer_id_is_rejected(self, uow_factory: UowFactory) -> None:
        """Adding a second customer with a stored id raises ValidationError (at add or
        commit) and keeps the first."""
        first = Customer(uuid4(), "北京某某科技有限公司")
        with uow_factory() as uow:
            uow.customers.add(first)
            uow.commit()
        with uow_factory() as uow, pytest.raises(ValidationError):
            uow.customers.add(Customer(first.id, "冒名 impostor"))
            uow.commit()
        with uow_factory() as uow:
            assert uow.customers.get(first.id).name == "北京某某科技有限公司"

    def test_a_saved_customer_change_is_kept(self, uow_factory: UowFactory) -> None:
        """``save`` of a customer read in the unit of work writes the change on commit."""
        customer = Customer(uuid4(), "旧名 old name")
        with uow_factory() as uow:
            uow.customers.add(customer)
            uow.commit()
        for name in ("新名 new name", "再改 renamed again"):
            with uow_factory() as uow:
                loaded = uow.customers.get(customer.id)
                loaded.name = name
                loaded.tier = CustomerTier.KEY_ACCOUNT
                uow.customers.save(loaded)
                uow.commit()
            with uow_factory() as uow:
                again = uow.customers.get(customer.id)
                assert (again.name, again.tier) == (name, CustomerTier.KEY_ACCOUNT)

    def test_concurrent_customer_changes_conflict(self, uow_factory: UowFactory) -> None:
        """Two units of work change the same customer: the second commit raises
        ConcurrencyConflict and the first one's change stays."""
        customer = Customer(uuid4(), "客户 customer")
        with uow_factory() as uow:
            uow.customers.add(customer)
            uow.commit()
        with uow_factory() as first, uow_factory() as second:
            a = first.customers.get(customer.id)
            b = second.customers.get(customer.id)
            a.name, b.name = "甲 first", "乙 second"
            first.customers.save(a)
            second.customers.save(b)
            first.commit()
            with pytest.raises(ConcurrencyConflict):
                second.commit()
        with uow_factory() as uow:
            assert uow.customers.get(customer.id).name == "甲 first"


class EquipmentRepositoryContract(ContractBase):
    """R2 equipment files: round-trip, ``of_customer``, NotFound, uniqueness, concurrency."""

    @_SETTINGS
    @given(unit=_equipment)
    def test_equipment_round_trips(self, uow_factory: UowFactory, unit: Equipment) -> None:
        """Every field, dates and missing invoice included, comes back as stored."""
        with uow_factory() as uow:
            _ensure(uow, customers={unit.owner_id} if unit.owner_id else set())
            uow.equipment.add(unit)
            uow.commit()
        with uow_factory() as uow:
            assert _snapshot(uow.equipment.get(unit.id)) == _snapshot(unit)

    @_SETTINGS
    @given(units=st.lists(_equipment, max_size=5), others=st.lists(_equipment, max_size=2))
    def test_of_customer_lists_exactly_the_customers_units(
        self, uow_factory: UowFactory, units: list[Equipment], others: list[Equipment]
    ) -> None:
        """``of_customer`` returns every unit of the owner and nothing else (any order)."""
        owner = uuid4()
        for unit in units:
            unit.owner_id = owner
        with uow_factory() as uow:
            _ensure(uow, customers={owner} | {u.owner_id for u in others if u.owner_id})
            for unit in [*units, *others]:
                uow.equipment.add(unit)
            uow.commit()
        with uow_factory() as uow:
            found = uow.equipment.of_customer(owner)
            assert sorted(_snapshot(u)["id"] for u in found) == sorted(str(u.id) for u in units)
            by_id = {u.id: _snapshot(u) for u in units}
            assert all(_snapshot(u) == by_id[u.id] for u in found)
            assert uow.equipment.of_customer(uuid4()) == []

    def test_unknown_equipment_is_not_found(self, uow_factory: UowFactory) -> None:
        """``get`` of an id never stored raises NotFound."""
        with uow_factory() as uow, pytest.raises(NotFound):
            uow.equipment.get(uuid4())

    def test_a_duplicate_equipment_id_is_rejected(self, uow_factory: UowFactory) -> None:
        """A second unit with a stored id raises ValidationError (at add or commit)."""
        unit = Equipment(uuid4(), f"SN-{uuid4().hex}", "激光打印机 LJ-1020")
        with uow_factory() as uow:
            uow.equipment.add(unit)
            uow.commit()
        with uow_factory() as uow, pytest.raises(ValidationError):
            uow.equipment.add(Equipment(unit.id, f"SN-{uuid4().hex}", "other"))
            uow.commit()
        with uow_factory() as uow:
            assert uow.equipment.get(unit.id).serial == unit.serial

    def test_a_serial_is_unique_per_model(self, uow_factory: UowFactory) -> None:
        """R2 (port docstring): serials are unique per model; the same serial under another
        model is fine, a second unit of the same model and serial raises ValidationError."""
        serial = f"SN-{uuid4().hex}"
        with uow_factory() as uow:
            uow.equipment.add(Equipment(uuid4(), serial, "型号 A"))
            uow.commit()
        with uow_factory() as uow:
            uow.equipment.add(Equipment(uuid4(), serial, "型号 B"))
            uow.commit()
        with uow_factory() as uow, pytest.raises(ValidationError):
            uow.equipment.add(Equipment(uuid4(), serial, "型号 A"))
            uow.commit()

    def test_concurrent_equipment_changes_conflict(self, uow_factory: UowFactory) -> None:
        """The second of two concurrent changes raises ConcurrencyConflict; the first stays."""
        unit = Equipment(uuid4(), f"SN-{uuid4().hex}", "服务器 R740")
        with uow_factory() as uow:
            uow.equipment.add(unit)
            uow.commit()
        with uow_factory() as first, uow_factory() as second:
            a = first.equipment.get(unit.id)
            b = second.equipment.get(unit.id)
            a.location, b.location = "机房 A", "机房 B"
            first.equipment.save(a)
            second.equipment.save(b)
            first.commit()
            with pytest.raises(ConcurrencyConflict):
                second.commit()
        with uow_factory() as uow:
            assert uow.equipment.get(unit.id).location == "机房 A"


class ServicePlanRepositoryContract(ContractBase):
    """R4 service plans: round-trip, ``of_customer``, NotFound."""

    @_SETTINGS
    @given(plan=_plans())
    def test_a_plan_round_trips(self, uow_factory: UowFactory, plan: ServicePlan) -> None:
        """Covered equipment, periods and content come back as stored."""
        with uow_factory() as uow:
            _ensure(
                uow,
                customers={plan.customer_id},
                equipment=dict.fromkeys(plan.equipment_ids, plan.customer_id),
            )
            uow.plans.add(plan)
            uow.commit()
        with uow_factory() as uow:
            assert _snapshot(uow.plans.get(plan.id)) == _snapshot(plan)
            assert [_snapshot(p) for p in uow.plans.of_customer(plan.customer_id)] == [
                _snapshot(plan)
            ]
            assert uow.plans.of_customer(uuid4()) == []

    def test_an_unknown_plan_is_not_found(self, uow_factory: UowFactory) -> None:
        """``get`` of an id never stored raises NotFound."""
        with uow_factory() as uow, pytest.raises(NotFound):
            uow.plans.get(uuid4())


class ActorRepositoryContract(ContractBase):
    """R30 the directory: round-trip, NotFound."""

    @_SETTINGS
    @given(actor=_actors())
    def test_an_actor_round_trips(self, uow_factory: UowFactory, actor: Actor) -> None:
        """Name, roles and customer link come back as stored."""
        with uow_factory() as uow:
            _ensure(uow, customers={actor.customer_id} if actor.customer_id else set())
            uow.actors.add(actor)
            uow.commit()
        with uow_factory() as uow:
            loaded = uow.actors.get(actor.id)
            assert _snapshot(loaded) == _snapshot(actor)
            assert loaded == actor

    def test_an_unknown_actor_is_not_found(self, uow_factory: UowFactory) -> None:
        """``get`` of an id never stored raises NotFound."""
        with uow_factory() as uow, pytest.raises(NotFound):
            uow.actors.get(uuid4())


@st.composite
def _request_sets(draw: st.DrawFn) -> tuple[UUID, list[_Scenario]]:
    """Requests of one customer, over a few units and engineers, at distinct instants."""
    customer_id = draw(_ids)
    equipment_ids = tuple(draw(st.lists(_ids, min_size=1, max_size=3)))
    engineer_ids = tuple(draw(st.lists(_ids, min_size=1, max_size=3)))
    near = draw(_datetimes)
    scenarios = draw(
        st.lists(
            _scenarios(customer_id, equipment_ids, engineer_ids, max_steps=6, near=near),
            min_size=1,
            max_size=7,
            unique_by=lambda s: s.registered_at.astimezone(UTC),
        )
    )
    return customer_id, scenarios


class ServiceRequestRepositoryContract(ContractBase):
    """Service requests: round-trip in every state, step-by-step changes, the record (R9),
    look-ups by number, queries, NotFound and uniqueness of ids and service numbers (R7)."""

    @_REQUESTS
    @given(scenario=_scenarios())
    def test_a_request_round_trips_in_any_state(
        self, uow_factory: UowFactory, scenario: _Scenario
    ) -> None:
        """Remote and on-site jobs, contacts, work, reschedules, signed reports with fees,
        the whole record: a request read back equals the one stored (by id and by number)."""
        request = scenario.build()
        expected = _snapshot(request)
        _store_request(uow_factory, request)
        with uow_factory() as uow:
            assert _snapshot(uow.requests.get(request.id)) == expected
            assert _snapshot(uow.requests.get_by_number(request.number)) == expected
            assert uow.requests.get(request.id).pending_events == []

    @_HEAVY
    @given(scenario=_scenarios(max_steps=25))
    def test_changes_committed_step_by_step_round_trip_and_the_record_only_grows(
        self, uow_factory: UowFactory, scenario: _Scenario
    ) -> None:
        """R9: each step in its own unit of work; after every commit the request reads back
        as changed, and the earlier record is an unchanged prefix of the new one."""
        request = scenario.register()
        with uow_factory() as uow:
            _ensure_request_refs(uow, scenario.build())
            uow.requests.add(request)
            uow.commit()
        previous = _snapshot(request)["record"]
        for index, (name, args) in enumerate(scenario.steps):
            with uow_factory() as uow:
                loaded = uow.requests.get(request.id)
                _ACTIONS[name](loaded, scenario.actor, args)
                expected = _snapshot(loaded)
                uow.commit()
            with uow_factory() as uow:
                stored = _snapshot(uow.requests.get(request.id))
            assert stored == expected, f"after step {index} ({name})"
            assert stored["record"][: len(previous)] == previous
            assert len(stored["record"]) > len(previous)
            previous = stored["record"]

    def test_unknown_ids_and_numbers_are_not_found(self, uow_factory: UowFactory) -> None:
        """``get`` and ``get_by_number`` raise NotFound for what was never stored."""
        with uow_factory() as uow:
            with pytest.raises(NotFound):
                uow.requests.get(uuid4())
            with pytest.raises(NotFound):
                uow.requests.get_by_number(f"SR-{uuid4().hex}")

    def test_a_duplicate_request_id_is_rejected(self, uow_factory: UowFactory) -> None:
        """R7: a second request with a stored id raises ValidationError (at add or commit)
        and the stored one is unchanged."""
        stored = _registered(uow_factory)
        copy = _registered_copy(stored, number=f"SR-{uuid4().hex}")
        with uow_factory() as uow, pytest.raises(ValidationError):
            uow.requests.add(copy)
            uow.commit()
        with uow_factory() as uow:
            assert uow.requests.get(stored.id).number == stored.number
            with pytest.raises(NotFound):
                uow.requests.get_by_number(copy.number)

    def test_a_duplicate_service_number_is_rejected(self, uow_factory: UowFactory) -> None:
        """R7: service numbers are unique: a new request reusing one raises ValidationError
        (at add or commit) and is not stored."""
        stored = _registered(uow_factory)
        copy = _registered_copy(stored, number=stored.number)
        copy.id = uuid4()
        with uow_factory() as uow, pytest.raises(ValidationError):
            uow.requests.add(copy)
            uow.commit()
        with uow_factory() as uow:
            assert uow.requests.get_by_number(stored.number).id == stored.id
            with pytest.raises(NotFound):
                uow.requests.get(copy.id)

    def test_a_duplicate_number_in_one_unit_of_work_is_rejected(
        self, uow_factory: UowFactory
    ) -> None:
        """R7: two new requests with one number in the same unit of work: ValidationError,
        and neither is stored."""
        first = _registered_copy(_registered(uow_factory), number=f"SR-{uuid4().hex}")
        first.id = uuid4()
        second = _registered_copy(first, number=first.number)
        second.id = uuid4()
        with uow_factory() as uow, pytest.raises(ValidationError):
            uow.requests.add(first)
            uow.requests.add(second)
            uow.commit()
        with uow_factory() as uow, pytest.raises(NotFound):
            uow.requests.get_by_number(first.number)

    @_REQUESTS
    @given(data=_request_sets(), pick=st.data())
    def test_find_filters_and_orders_oldest_first(
        self, uow_factory: UowFactory, data: tuple[UUID, list[_Scenario]], pick: st.DataObject
    ) -> None:
        """``find`` returns the requests matching every criterion given, oldest registration
        first (as instants, whatever the timezones), at most ``limit`` of them."""
        customer_id, scenarios = data
        requests = [s.build() for s in scenarios]
        for request in pick.draw(st.permutations(requests)):  # insertion order is irrelevant
            _store_request(uow_factory, request)
        by_age = sorted(requests, key=lambda r: r.registered_at.astimezone(UTC))

        def expect(keep: Callable[[ServiceRequest], bool], limit: int | None = None) -> list[UUID]:
            ids = [r.id for r in by_age if keep(r)]
            return ids if limit is None else ids[:limit]

        def ids(found: list[ServiceRequest]) -> list[UUID]:
            return [r.id for r in found]

        some = pick.draw(st.sampled_from(requests))
        states = pick.draw(st.sets(st.sampled_from(RequestState), max_size=4))
        limit = pick.draw(st.integers(1, len(requests) + 1))
        with uow_factory() as uow:
            find = uow.requests.find
            assert ids(find(customer_id=customer_id)) == expect(lambda r: True)
            assert _snapshot(find(customer_id=customer_id)[0]) == _snapshot(by_age[0])
            assert ids(find(customer_id=customer_id, limit=limit)) == expect(
                lambda r: True, limit
            )
            if some.equipment_id is not None:
                assert ids(find(equipment_id=some.equipment_id)) == expect(
                    lambda r: r.equipment_id == some.equipment_id
                )
            if some.engineer_id is not None:
                assert ids(find(engineer_id=some.engineer_id)) == expect(
                    lambda r: r.engineer_id == some.engineer_id
                )
            assert ids(find(customer_id=customer_id, states=iter(states))) == expect(
                lambda r: r.state in states
            )
            assert ids(find(customer_id=customer_id, priority=some.priority)) == expect(
                lambda r: r.priority is some.priority
            )
            assert ids(
                find(
                    customer_id=customer_id, equipment_id=some.equipment_id,
                    states=[some.state], priority=some.priority, limit=limit,
                )
            ) == expect(
                lambda r: r.equipment_id == some.equipment_id and r.state is some.state
                and r.priority is some.priority,
                limit,
            )
            assert find(customer_id=uuid4()) == []
            assert find(customer_id=customer_id, states=[]) == []

    def test_find_with_limit_zero_returns_nothing(self, uow_factory: UowFactory) -> None:
        """``limit=0`` means at most zero requests."""
        request = _registered(uow_factory)
        with uow_factory() as uow:
            assert [r.id for r in uow.requests.find(customer_id=request.customer_id)] == [
                request.id
            ]
            assert uow.requests.find(customer_id=request.customer_id, limit=0) == []


def _registered_copy(request: ServiceRequest, *, number: str) -> ServiceRequest:
    """A new registered request object with ``request``'s id and data but ``number``."""
    return steps.register(
        request_id=request.id, number=number, customer_id=request.customer_id,
        category=request.category, channel=request.channel, impact=request.impact,
        urgency=request.urgency, summary=request.summary, actor=_CLERK,
        at=request.registered_at, matrix=_MATRIX,
    )


class UnitOfWorkContract(ContractBase):
    """Transactions: nothing without ``commit``; optimistic concurrency on requests; the
    events a commit produced are collected once, in order."""

    def test_nothing_is_stored_without_commit(self, uow_factory: UowFactory) -> None:
        """Leaving the ``with`` block without ``commit`` discards every staged change."""
        customer = Customer(uuid4(), "未提交 uncommitted")
        request = _registered_copy(_registered(uow_factory), number=f"SR-{uuid4().hex}")
        request.id = uuid4()
        key = f"key-{uuid4()}"
        with uow_factory() as uow:
            uow.customers.add(customer)
            uow.equipment.add(Equipment(uuid4(), f"SN-{uuid4().hex}", "型号"))
            uow.requests.add(request)
            uow.idempotency.put(key, request.id)
        self._assert_absent(uow_factory, customer.id, request, key)

    def test_an_exception_inside_the_block_stores_nothing(self, uow_factory: UowFactory) -> None:
        """An exception raised inside ``with`` propagates and nothing is stored."""
        customer = Customer(uuid4(), "异常 failing")
        request = _registered_copy(_registered(uow_factory), number=f"SR-{uuid4().hex}")
        request.id = uuid4()
        key = f"key-{uuid4()}"

        class Boom(Exception):
            pass

        with pytest.raises(Boom), uow_factory() as uow:
            uow.customers.add(customer)
            uow.requests.add(request)
            uow.idempotency.put(key, request.id)
            raise Boom
        self._assert_absent(uow_factory, customer.id, request, key)

    def test_rollback_discards_staged_changes(self, uow_factory: UowFactory) -> None:
        """``rollback`` forgets what was staged; a later ``commit`` does not resurrect it."""
        customer = Customer(uuid4(), "回滚 rolled back")
        with uow_factory() as uow:
            uow.customers.add(customer)
            uow.rollback()
            uow.commit()
        with uow_factory() as uow, pytest.raises(NotFound):
            uow.customers.get(customer.id)

    def test_uncommitted_changes_to_a_request_are_discarded(
        self, uow_factory: UowFactory
    ) -> None:
        """A stored request changed but not committed reads back unchanged, with no new
        events collected."""
        request = _registered(uow_factory)
        before = _snapshot(request)
        with uow_factory() as uow:
            loaded = uow.requests.get(request.id)
            steps.route(loaded, department="售后服务部", actor=_CLERK, at=_T)
        assert uow.collect_new_events() == []
        with uow_factory() as uow:
            assert _snapshot(uow.requests.get(request.id)) == before

    def test_concurrent_request_changes_conflict(self, uow_factory: UowFactory) -> None:
        """Two units of work change the same request: the first commit wins, the second
        raises ConcurrencyConflict and leaves the first one's state and record."""
        request = _registered(uow_factory)
        with uow_factory() as first, uow_factory() as second:
            a = first.requests.get(request.id)
            b = second.requests.get(request.id)
            steps.route(a, department="北京服务站", actor=_CLERK, at=_T)
            steps.assign(b, engineer_id=uuid4(), actor=_CLERK, at=_T)
            first.commit()
            with pytest.raises(ConcurrencyConflict):
                second.commit()
            assert second.collect_new_events() == []
        with uow_factory() as uow:
            stored = uow.requests.get(request.id)
            assert stored.state is RequestState.ROUTED
            assert stored.department == "北京服务站"
            assert stored.engineer_id is None
            assert [e.action for e in stored.record] == ["register", "route"]

    def test_sequential_changes_do_not_conflict(self, uow_factory: UowFactory) -> None:
        """Each change made in a fresh unit of work after the previous commit succeeds."""
        request = _registered(uow_factory)
        engineer = uuid4()
        changes: list[Callable[[ServiceRequest], object]] = [
            lambda r: steps.route(r, department="二线支持", actor=_CLERK, at=_T),
            lambda r: steps.assign(r, engineer_id=engineer, actor=_CLERK, at=_T),
            lambda r: steps.start_remote(r, job_id=uuid4(), actor=_CLERK, at=_T),
        ]
        for change in changes:
            with uow_factory() as uow:
                _ensure(uow, actors={engineer})
                change(uow.requests.get(request.id))
                uow.commit()
        with uow_factory() as uow:
            assert uow.requests.get(request.id).state is RequestState.IN_PROGRESS

    @_REQUESTS
    @given(scenario=_scenarios())
    def test_committed_events_are_collected_once_in_order(
        self, uow_factory: UowFactory, scenario: _Scenario
    ) -> None:
        """``collect_new_events`` returns what the commit wrote, in sequence order, once."""
        request = scenario.build()
        expected = list(request.pending_events)
        with uow_factory() as uow:
            _ensure_request_refs(uow, request)
            uow.requests.add(request)
            assert uow.collect_new_events() == []
            uow.commit()
            events = uow.collect_new_events()
            assert uow.collect_new_events() == []
        assert events == expected
        assert [e.sequence for e in events] == list(range(1, len(expected) + 1))

    def test_events_of_later_changes_are_collected(self, uow_factory: UowFactory) -> None:
        """A change to a stored request yields exactly its new events, numbered on from the
        stored ones."""
        request = _registered(uow_factory)
        engineer = uuid4()
        with uow_factory() as uow:
            _ensure(uow, actors={engineer})
            loaded = uow.requests.get(request.id)
            steps.route(loaded, department="售后服务部", actor=_CLERK, at=_T)
            steps.assign(loaded, engineer_id=engineer, actor=_CLERK, at=_T)
            uow.commit()
            events = uow.collect_new_events()
        assert [(e.name, e.sequence) for e in events] == [
            ("RequestRouted", 2), ("EngineerAssigned", 3),
        ]

    @staticmethod
    def _assert_absent(
        uow_factory: UowFactory, customer_id: UUID, request: ServiceRequest, key: str
    ) -> None:
        with uow_factory() as uow:
            with pytest.raises(NotFound):
                uow.customers.get(customer_id)
            with pytest.raises(NotFound):
                uow.requests.get(request.id)
            with pytest.raises(NotFound):
                uow.requests.get_by_number(request.number)
            assert uow.idempotency.get(key) is None


_keys = st.builds(lambda text, u: f"{text}-{u}", _text(30), _ids)


class IdempotencyContract(ContractBase):
    """Idempotency keys are written with the unit of work, and only then."""

    @_SETTINGS
    @given(key=_keys, aggregate_id=_ids)
    def test_a_key_is_remembered_only_after_commit(
        self, uow_factory: UowFactory, key: str, aggregate_id: UUID
    ) -> None:
        """A key put and rolled back is unknown; put and committed, it maps to its id."""
        with uow_factory() as uow:
            assert uow.idempotency.get(key) is None
            uow.idempotency.put(key, aggregate_id)
        with uow_factory() as uow:
            assert uow.idempotency.get(key) is None
            uow.idempotency.put(key, aggregate_id)
            uow.commit()
        with uow_factory() as uow:
            assert uow.idempotency.get(key) == aggregate_id

    def test_a_key_is_visible_in_its_own_unit_of_work(self, uow_factory: UowFactory) -> None:
        """``get`` after ``put`` in the same unit of work returns the id (before commit)."""
        key, aggregate_id = f"ERP-重试-{uuid4()}", uuid4()
        with uow_factory() as uow:
            uow.idempotency.put(key, aggregate_id)
            assert uow.idempotency.get(key) == aggregate_id

    def test_a_committed_key_is_never_overwritten(self, uow_factory: UowFactory) -> None:
        """Putting a committed key again fails (ValidationError or ConcurrencyConflict) and
        the first id stays."""
        key, first = f"ERP-{uuid4()}", uuid4()
        with uow_factory() as uow:
            uow.idempotency.put(key, first)
            uow.commit()
        with uow_factory() as uow, pytest.raises((ValidationError, ConcurrencyConflict)):
            uow.idempotency.put(key, uuid4())
            uow.commit()
        with uow_factory() as uow:
            assert uow.idempotency.get(key) == first

    def test_a_key_raced_by_two_units_of_work_conflicts(self, uow_factory: UowFactory) -> None:
        """Both see a new key and put it: the second commit raises ConcurrencyConflict (so
        the service desk retries and finds the first result) and the first id stays."""
        key, first_id = f"ERP-{uuid4()}", uuid4()
        with uow_factory() as first, uow_factory() as second:
            assert first.idempotency.get(key) is None
            assert second.idempotency.get(key) is None
            first.idempotency.put(key, first_id)
            second.idempotency.put(key, uuid4())
            first.commit()
            with pytest.raises(ConcurrencyConflict):
                second.commit()
        with uow_factory() as uow:
            assert uow.idempotency.get(key) == first_id


def _drain(outbox: Outbox) -> None:
    """Mark everything pending as published (the outbox tests start from an empty outbox)."""
    while batch := outbox.pending(limit=1000):
        outbox.mark_published([m.event_id for m in batch])


def _ours(outbox: Outbox, aggregate_ids: set[UUID], limit: int = 10_000) -> list[OutboxMessage]:
    return [m for m in outbox.pending(limit=limit) if m.aggregate_id in aggregate_ids]


def _assert_message(message: OutboxMessage, event: Event) -> None:
    assert message.event_id == event.event_id
    assert message.aggregate_id == event.aggregate_id
    assert message.sequence == event.sequence
    assert message.name == event.name
    assert _same_instant(message.occurred_at, event.occurred_at)
    assert message.payload == event_to_dict(event)


def _in_sequence(messages: list[OutboxMessage]) -> Iterator[bool]:
    last: dict[UUID, int] = {}
    for m in messages:
        yield m.sequence > last.get(m.aggregate_id, 0)
        last[m.aggregate_id] = m.sequence


class OutboxContract(ContractBase):
    """The transactional outbox: each committed event pending once until published, in
    sequence order per aggregate; rolled-back events never appear.

    Each example first marks every pending message as published: use a test database.
    """

    @_REQUESTS
    @given(scenario=_scenarios())
    def test_committed_events_are_pending_with_their_payload(
        self, uow_factory: UowFactory, outbox: Outbox, scenario: _Scenario
    ) -> None:
        """Every committed event is pending exactly once, payload equal to
        :func:`~aftersales.serialization.event_to_dict`, until ``mark_published``."""
        _drain(outbox)
        request = scenario.build()
        events = _store_request(uow_factory, request)
        messages = _ours(outbox, {request.id})
        assert len(messages) == len(events)
        for message, event in zip(messages, events, strict=True):
            _assert_message(message, event)
        assert [m.event_id for m in _ours(outbox, {request.id})] == [e.event_id for e in events]
        first = outbox.pending(limit=1)
        assert [m.event_id for m in first] == [events[0].event_id]
        outbox.mark_published([events[0].event_id])
        assert [m.event_id for m in _ours(outbox, {request.id})] == [
            e.event_id for e in events[1:]
        ]
        outbox.mark_published([e.event_id for e in events])
        outbox.mark_published([e.event_id for e in events])  # idempotent
        outbox.mark_published([uuid4()])  # unknown ids are ignored
        assert _ours(outbox, {request.id}) == []

    @_HEAVY
    @given(a=_scenarios(max_steps=12), b=_scenarios(max_steps=12), order=st.data())
    def test_events_of_many_commits_are_pending_in_sequence_per_aggregate(
        self, uow_factory: UowFactory, outbox: Outbox, a: _Scenario, b: _Scenario,
        order: st.DataObject,
    ) -> None:
        """Two requests changed in interleaved commits: within each aggregate the pending
        messages come in sequence order, each once."""
        _drain(outbox)
        committed: list[Event] = []
        requests: dict[UUID, _Scenario] = {}
        for scenario in (a, b):
            request = scenario.register()
            with uow_factory() as uow:
                _ensure_request_refs(uow, scenario.build())
                uow.requests.add(request)
                uow.commit()
                committed += uow.collect_new_events()
            requests[request.id] = scenario
        work = [rid for rid, s in requests.items() for _ in s.steps]
        cursor = dict.fromkeys(requests, 0)
        for rid in order.draw(st.permutations(work)):
            with uow_factory() as uow:
                requests[rid].apply(uow.requests.get(rid), cursor[rid])
                uow.commit()
                committed += uow.collect_new_events()
            cursor[rid] += 1
        messages = _ours(outbox, set(requests))
        assert all(_in_sequence(messages))
        assert sorted(m.event_id for m in messages) == sorted(e.event_id for e in committed)
        by_id = {e.event_id: e for e in committed}
        for message in messages:
            _assert_message(message, by_id[message.event_id])
        outbox.mark_published([m.event_id for m in messages])
        assert _ours(outbox, set(requests)) == []

    def test_rolled_back_events_never_appear(
        self, uow_factory: UowFactory, outbox: Outbox
    ) -> None:
        """Events of a unit of work that did not commit, failed or lost a race are never
        pending."""
        _drain(outbox)
        request = _registered(uow_factory)
        outbox.mark_published([m.event_id for m in _ours(outbox, {request.id})])
        with uow_factory() as uow:  # not committed
            steps.route(uow.requests.get(request.id), department="甲", actor=_CLERK, at=_T)
        with pytest.raises(RuntimeError), uow_factory() as uow:  # failed
            steps.route(uow.requests.get(request.id), department="乙", actor=_CLERK, at=_T)
            raise RuntimeError("boom")
        with uow_factory() as first, uow_factory() as second:  # lost a race
            steps.route(first.requests.get(request.id), department="丙", actor=_CLERK, at=_T)
            steps.reject(second.requests.get(request.id), reason="丁", actor=_CLERK, at=_T)
            first.commit()
            with pytest.raises(ConcurrencyConflict):
                second.commit()
        messages = _ours(outbox, {request.id})
        assert [(m.name, m.sequence, m.payload["department"]) for m in messages] == [
            ("RequestRouted", 2, "丙")
        ]


class StorageContract(
    CustomerRepositoryContract,
    EquipmentRepositoryContract,
    ServicePlanRepositoryContract,
    ActorRepositoryContract,
    ServiceRequestRepositoryContract,
    UnitOfWorkContract,
    IdempotencyContract,
    OutboxContract,
):
    """The whole storage contract. Subclass as ``TestMyStore`` and implement
    :meth:`make_uow_factory` and :meth:`make_outbox` (see the module docstring)."""

