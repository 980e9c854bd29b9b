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
:class:`IdempotencyContract`, :class:`OutboxContract`, :class:`RepairOrderRepositoryContract`,
:class:`OutsourcedRepairRepositoryContract`, :class:`VendorRepositoryContract`,
:class:`PartRepositoryContract`, :class:`StockRepositoryContract`) can be subclassed on their
own; all take the same two factory methods (only :class:`OutboxContract` needs
``make_outbox``). Repair orders are built with the real steps of
:mod:`aftersales.workflows.depot` and :mod:`aftersales.workflows.outsourced`, stock with the
operations of :class:`~aftersales.domain.parts.Stock`.

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
actors in its record; a repair order's request and vendor, an outsourced repair's order, the
order a stock reservation is for) first, so a store may enforce foreign keys.

Two units of work racing to insert the same unique key (a repair order number, a SKU): the
second commit raises ValidationError, or ConcurrencyConflict where the database aborts the
loser's transaction first (SQLite); a retry then reports the duplicate.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4, uuid5

import attrs
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from aftersales.domain.events import Event
from aftersales.domain.parts import (
    LocationKind,
    Part,
    PartOrigin,
    PartSource,
    Reservation,
    Stock,
    StockLocation,
)
from aftersales.domain.priority import PriorityMatrix
from aftersales.domain.records import Customer, Equipment, ServicePlan
from aftersales.domain.repair import (
    DataHandling,
    DepotState,
    EstimateBasis,
    EstimateLine,
    FaultClass,
    FaultKind,
    Intake,
    LineKind,
    OutsourcedRepair,
    OutsourcedState,
    ReopenKind,
    RepairOrder,
    RepairPolicy,
    Vendor,
)
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
from aftersales.domain.warranty import WarrantyPolicy
from aftersales.errors import AftersalesError, ConcurrencyConflict, NotFound, ValidationError
from aftersales.ports import Outbox, OutboxMessage, UnitOfWork
from aftersales.serialization import event_to_dict, make_converter
from aftersales.workflows import depot, outsourced, steps

__all__ = [
    "ActorRepositoryContract",
    "ContractBase",
    "CustomerRepositoryContract",
    "EquipmentRepositoryContract",
    "IdempotencyContract",
    "OutboxContract",
    "OutsourcedRepairRepositoryContract",
    "PartRepositoryContract",
    "RepairOrderRepositoryContract",
    "ServicePlanRepositoryContract",
    "ServiceRequestRepositoryContract",
    "StockRepositoryContract",
    "StorageContract",
    "UnitOfWorkContract",
    "VendorRepositoryContract",
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

    def test_repair_and_stock_events_are_pending_in_sequence_per_aggregate(
        self, uow_factory: UowFactory, outbox: Outbox
    ) -> None:
        """An order, the outsourced repair it opens and a stock location change in
        interleaved commits: each event is pending once, with its payload, in sequence order
        per aggregate; events of a failed commit never appear."""
        _drain(outbox)
        scenario = _fixed_job("vendor")
        job = scenario.open()
        committed = _store_job(uow_factory, scenario, job)
        location = StockLocation(uuid4(), "备件仓")
        with uow_factory() as uow:
            uow.stock.add(Stock(location))
            uow.commit()
        for index in range(len(scenario.steps)):
            with uow_factory() as uow:
                loaded = _load_job(uow, job)
                scenario.apply(loaded, index)
                if loaded.created is not None:
                    uow.outsourced.add(loaded.created)
                uow.stock.get(location.id).receive(
                    sku=f"P-{index}", quantity=1, actor=_CLERK, at=_T + timedelta(minutes=index)
                )
                uow.commit()
                committed += uow.collect_new_events()
            job = loaded
        with uow_factory() as uow, pytest.raises(ValidationError):  # its events never appear
            uow.stock.get(location.id).receive(sku="LOST", quantity=1, actor=_CLERK, at=_T)
            uow.repairs.add(_order_copy(job.order, order_id=uuid4(), number=job.order.number))
            uow.commit()
        assert job.outsourced is not None
        ours = {job.order.id, job.outsourced.id, location.id}
        messages = _ours(outbox, ours)
        assert all(_in_sequence(messages))
        assert sorted(m.event_id for m in messages) == sorted(e.event_id for e in committed)
        assert {m.aggregate_id for m in messages} == ours
        by_id = {e.event_id: e for e in committed}
        for message in messages:
            _assert_message(message, by_id[message.event_id])
        names = {m.name for m in messages}
        assert {"RepairOrderOpened", "OutsourcingOpened", "ShippedToVendor", "PartsReceived",
                "Delivered"} <= names
        outbox.mark_published([m.event_id for m in messages])
        assert _ours(outbox, ours) == []


# --- repairs, vendors, parts and stock (R13, R14, R28) ---------------------------------------

_ENGINEER = Actor(UUID("00000000-0000-4000-8000-000000000002"), "维修工程师", _STAFF)
_SUPERVISOR = Actor(UUID("00000000-0000-4000-8000-000000000003"), "主管", _STAFF)
_REPAIR_POLICY = RepairPolicy()
_WARRANTY = WarrantyPolicy()
_prices = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2, allow_nan=False,
    allow_infinity=False,
)


@attrs.frozen
class _RArgs:
    """Everything a repair step may need, drawn once per step."""

    at: datetime
    later: datetime  # at least 5 hours after ``at``
    text: str
    short: str
    note: str
    new_id: UUID
    amount: Decimal


@attrs.define
class _Job:
    """A depot repair order and the outsourced repair it opened (if any)."""

    order: RepairOrder
    vendor: Vendor
    outsourced: OutsourcedRepair | None = None
    created: OutsourcedRepair | None = None  # opened by the last step: add it

    def clone(self) -> _Job:
        repair = self.outsourced.clone() if self.outsourced is not None else None
        return _Job(self.order.clone(), self.vendor, repair)

    @property
    def out(self) -> OutsourcedRepair:
        if self.outsourced is None:
            raise ValidationError("OutsourcedRepair", "id", "nothing was sent to a vendor")
        return self.outsourced


def _unit(job: _Job, at: datetime, *, old: bool) -> Equipment:
    installed = (at - timedelta(days=2000 if old else 100)).date()
    order = job.order
    return Equipment(order.equipment_id, f"S-{order.equipment_id.hex}", "型号 X1",
                     order.customer_id, installed_on=installed)


def _diagnose(job: _Job, a: _RArgs, *, old: bool) -> None:
    depot.diagnose(
        job.order, fault=a.short, cause=a.text, fault_class=FaultClass.QUALITY,
        fault_kind=FaultKind.HARDWARE, equipment=_unit(job, a.at, old=old),
        warranty_policy=_WARRANTY, actor=_ENGINEER, at=a.at, policy=_REPAIR_POLICY,
        fault_code=f"FC-{a.new_id.hex[:6]}",
    )


def _lines(a: _RArgs) -> tuple[EstimateLine, ...]:
    return (
        EstimateLine(EstimateBasis.SYMPTOM, a.short, a.text, LineKind.LABOUR,
                     Money(a.amount, "CNY")),
        EstimateLine(EstimateBasis.ITEM, "主板", a.short, LineKind.PART,
                     Money(a.amount * 3, "CNY"), sku="VR-1", source=PartSource.OURS,
                     origin=PartOrigin.OEM, to_order=True),
    )


def _results(checklist: tuple[str, ...], passed: bool) -> dict[str, bool]:
    results = dict.fromkeys(checklist, True)
    if not passed:
        results[checklist[0]] = False
    return results


def _deposit(job: _Job, a: _RArgs) -> None:
    order = job.order
    due = order.deposit_required.amount - order.deposit_paid.amount
    amount = Money(due if due > 0 else a.amount, order.currency)
    depot.receive_deposit(order, amount=amount, actor=_CLERK, at=a.at)


def _reserve(job: _Job, a: _RArgs) -> None:
    order = job.order
    for sku, quantity in sorted(order.missing_parts.items()) or [("VR-1", 1)]:
        reservation = Reservation(uuid5(a.new_id, sku), order.id, sku, quantity)
        depot.record_parts_reserved(order, reservation=reservation, actor=_CLERK, at=a.at)


def _discount(job: _Job, a: _RArgs) -> None:
    due = job.order.gross_due()
    depot.apply_discount(
        job.order, amount=Money((due.amount / 2).quantize(Decimal("0.01")), due.currency),
        reason=a.short, authorized_by=_SUPERVISOR, actor=_CLERK, at=a.at,
    )


def _send_to_vendor(job: _Job, a: _RArgs) -> None:
    job.created = depot.send_to_vendor(job.order, outsourced_id=a.new_id, reason=a.short,
                                       actor=_CLERK, at=a.at, policy=_REPAIR_POLICY)
    job.outsourced = job.created


_RAction = Callable[[_Job, _RArgs], Any]
_R_ACTIONS: dict[str, _RAction] = {
    "sign": lambda j, a: depot.sign_intake(j.order, signed_by=a.short, actor=_CLERK, at=a.at),
    "diagnose_free": lambda j, a: _diagnose(j, a, old=False),
    "diagnose_old": lambda j, a: _diagnose(j, a, old=True),
    "send_estimate": lambda j, a: depot.send_estimate(
        j.order, estimate_id=a.new_id, lines=_lines(a), actor=_ENGINEER, at=a.at
    ),
    "approve": lambda j, a: depot.approve_estimate(
        j.order, approved_by=a.short, actor=_CLERK, at=a.at
    ),
    "decline": lambda j, a: depot.decline_estimate(
        j.order, declined_by=a.short, reason=a.text, actor=_CLERK, at=a.at,
        policy=_REPAIR_POLICY,
    ),
    "reopen": lambda j, a: depot.reopen_diagnosis(
        j.order, reason=a.text, kind=ReopenKind.NEW_FINDINGS, actor=_ENGINEER, at=a.at
    ),
    "deposit": _deposit,
    "start": lambda j, a: depot.start_repair(j.order, actor=_ENGINEER, at=a.at, note=a.note),
    "work": lambda j, a: depot.record_repair_work(
        j.order, description=a.text, actor=_ENGINEER, at=a.at
    ),
    "fit_part": lambda j, a: depot.fit_part(
        j.order, sku="VR-1", description=a.short, origin=PartOrigin.OEM,
        source=PartSource.OURS, actor=_ENGINEER, at=a.at, warranty_months=6,
    ),
    "wait_for_parts": lambda j, a: depot.wait_for_parts(
        j.order, needed={"VR-1": 1, "硬盘-2TB": 2}, reason=a.short, actor=_ENGINEER, at=a.at
    ),
    "reserve_parts": _reserve,
    "resume": lambda j, a: depot.resume_repair(j.order, actor=_ENGINEER, at=a.at),
    "propose": lambda j, a: depot.propose_additional_work(
        j.order, estimate_id=a.new_id, lines=_lines(a)[:1], reason=a.short,
        new_promised_at=j.order.promised_at + timedelta(days=2), actor=_ENGINEER, at=a.at,
    ),
    "approve_additional": lambda j, a: depot.approve_additional_work(
        j.order, approved_by=a.short, actor=_CLERK, at=a.at, policy=_REPAIR_POLICY
    ),
    "progress": lambda j, a: depot.record_progress_check(
        j.order, note=a.short, actor=_CLERK, at=a.at
    ),
    "delay": lambda j, a: depot.notify_delay(
        j.order, new_promised_at=j.order.promised_at + timedelta(days=1), reason=a.short,
        apology=a.note, actor=_CLERK, at=a.at, policy=_REPAIR_POLICY,
    ),
    "finish": lambda j, a: depot.finish_repair(
        j.order, summary=a.text, actor=_ENGINEER, at=a.at
    ),
    "qc_fail": lambda j, a: depot.record_qc(
        j.order, results=_results(j.order.qc_checklist, False), actor=_ENGINEER, at=a.at
    ),
    "qc_pass": lambda j, a: depot.record_qc(
        j.order, results=_results(j.order.qc_checklist, True), actor=_ENGINEER, at=a.at
    ),
    "rework": lambda j, a: depot.rework(j.order, reason=a.short, actor=_ENGINEER, at=a.at),
    "ready": lambda j, a: depot.mark_ready(
        j.order, pickup_at=a.later, actor=_CLERK, at=a.at, policy=_REPAIR_POLICY
    ),
    "discount": _discount,
    "settle": lambda j, a: depot.settle(
        j.order, amount=j.order.amount_due(), actor=_CLERK, at=a.at, outlet=a.note
    ),
    "deliver": lambda j, a: depot.deliver(
        j.order, signed_by=a.short, actor=_CLERK, at=a.at, policy=_REPAIR_POLICY
    ),
    "close": lambda j, a: depot.close(j.order, actor=_CLERK, at=a.at),
    "unrepairable": lambda j, a: depot.declare_unrepairable(
        j.order, reason=a.text, actor=_ENGINEER, at=a.at
    ),
    "return": lambda j, a: depot.return_unrepaired(
        j.order, signed_by=a.short, actor=_CLERK, at=a.at
    ),
    "send_to_vendor": _send_to_vendor,
    "choose_vendor": lambda j, a: outsourced.choose_vendor(
        j.out, vendor=j.vendor, actor=_CLERK, at=a.at
    ),
    "ship": lambda j, a: outsourced.ship_to_vendor(
        j.out, carrier=a.short, tracking_number=f"SF{a.new_id.hex[:12]}",
        voucher=f"取件凭证 {a.new_id.hex[:6]}", promised_by=a.later, actor=_CLERK, at=a.at,
        policy=_REPAIR_POLICY,
    ),
    "chase": lambda j, a: outsourced.chase_vendor(
        j.out, response=a.short, actor=_CLERK, at=a.at, policy=_REPAIR_POLICY,
        new_promised_by=a.later,
    ),
    "vendor_returned": lambda j, a: outsourced.unit_returned(
        j.out, vendor_report=a.text, actor=_CLERK, at=a.at
    ),
    "reinspect_fail": lambda j, a: outsourced.reinspect(
        j.out, results=_results(j.out.qc_checklist, False), actor=_ENGINEER, at=a.at
    ),
    "reinspect_pass": lambda j, a: outsourced.reinspect(
        j.out, results=_results(j.out.qc_checklist, True), actor=_ENGINEER, at=a.at
    ),
    "back_to_depot": lambda j, a: outsourced.back_to_depot(j.out, actor=_CLERK, at=a.at),
    "receive_from_vendor": lambda j, a: depot.receive_from_vendor(
        j.order, outsourced=j.out, actor=_CLERK, at=a.at
    ),
    "vendor_failed": lambda j, a: outsourced.record_vendor_failure(
        j.out, reason=a.short, actor=_CLERK, at=a.at
    ),
    "outsourced_replacement": lambda j, a: outsourced.offer_replacement(
        j.out, reason=a.short, actor=_CLERK, at=a.at
    ),
    "vendor_gave_up": lambda j, a: depot.vendor_gave_up(
        j.order, outsourced=j.out, actor=_CLERK, at=a.at
    ),
    "offer_replacement": lambda j, a: depot.offer_replacement(
        j.order, model=a.short, actor=_CLERK, at=a.at
    ),
    "accept_replacement": lambda j, a: depot.accept_replacement(
        j.order, serial=f"SN-{a.new_id.hex[:8]}", signed_by=a.short, actor=_CLERK, at=a.at
    ),
}

_R_PATHS: dict[str, list[str]] = {  # a trailing * repeats the step 0-3 times
    "free": ["sign", "diagnose_free", "progress", "start", "work*", "fit_part", "finish",
             "qc_fail", "rework", "finish", "qc_pass", "ready", "settle", "deliver", "close"],
    "chargeable": ["sign", "diagnose_old", "send_estimate", "approve", "deposit", "start",
                   "propose", "approve_additional", "deposit", "wait_for_parts",
                   "reserve_parts", "resume", "fit_part", "delay", "finish", "qc_pass",
                   "ready", "discount", "settle", "deliver", "close"],
    "declined": ["sign", "diagnose_old", "send_estimate", "decline", "settle", "return",
                 "close"],
    "reopened": ["sign", "diagnose_old", "send_estimate", "reopen", "diagnose_free", "start",
                 "work*", "finish", "qc_pass", "ready", "settle", "deliver", "close"],
    "vendor": ["sign", "diagnose_free", "send_to_vendor", "choose_vendor", "ship", "chase*",
               "vendor_returned", "reinspect_fail", "reinspect_pass", "back_to_depot",
               "receive_from_vendor", "qc_pass", "ready", "settle", "deliver", "close"],
    "vendor_failed": ["sign", "diagnose_free", "send_to_vendor", "choose_vendor", "ship",
                      "chase*", "vendor_failed", "outsourced_replacement", "vendor_gave_up",
                      "offer_replacement", "accept_replacement", "close"],
    "unrepairable": ["sign", "diagnose_free", "unrepairable", "settle", "return", "close"],
}
_VENDOR_PATHS = ("vendor", "vendor_failed")


def _try_repair(name: str, job: _Job, args: _RArgs) -> bool:
    """True if the repair step ``name`` is possible now (tried on copies)."""
    try:
        _R_ACTIONS[name](job.clone(), args)
    except AftersalesError:
        return False
    return True


@attrs.frozen
class _RepairScenario:
    """How to build one repair job: the intake, then steps replayed in order."""

    opening: dict[str, Any]
    vendor: Vendor
    steps: tuple[tuple[str, _RArgs], ...]

    @property
    def received_at(self) -> datetime:
        at: datetime = self.opening["at"]
        return at

    def open(self) -> _Job:
        order = depot.open_repair_order(**self.opening, actor=_CLERK, policy=_REPAIR_POLICY)
        return _Job(order, self.vendor)

    def apply(self, job: _Job, index: int) -> None:
        name, args = self.steps[index]
        job.created = None
        _R_ACTIONS[name](job, args)

    def build(self) -> _Job:
        job = self.open()
        for index in range(len(self.steps)):
            self.apply(job, index)
        return job


_vendors = st.builds(
    Vendor,
    id=_ids,
    name=_long_name,
    contact=_name(),
    capabilities=st.frozensets(_name(), max_size=4),
    active=st.booleans(),
)


@st.composite
def _repair_scenarios(
    draw: st.DrawFn,
    customer_id: UUID | None = None,
    equipment_ids: tuple[UUID, ...] = (),
    request_ids: tuple[UUID, ...] = (),
    max_steps: int = 40,
    near: datetime | None = None,
    paths: tuple[str, ...] | None = None,
    min_steps: int = 0,
) -> _RepairScenario:
    if near is None:
        at = draw(_datetimes)
    else:  # within a day of ``near``, in any timezone: the order depends on the instants
        at = (near + timedelta(seconds=draw(st.integers(0, 86_400)))).astimezone(draw(_tzs))
    equipment = st.sampled_from(equipment_ids) if equipment_ids else _ids
    requests = st.sampled_from(request_ids) if request_ids else _ids
    opening = {
        "order_id": draw(_ids),
        "number": f"{draw(st.sampled_from(['RO-', '维修-', 'Ω/']))}{draw(_ids).hex}",
        "request_id": draw(requests),
        "equipment_id": draw(equipment),
        "customer_id": customer_id or draw(_ids),
        "intake": Intake(
            appearance=draw(_name()),
            configuration=draw(_long_name),
            accessories=tuple(draw(st.lists(_name(), max_size=3, unique=True))),
            data_handling=draw(st.sampled_from(DataHandling)),
            damage_notes=draw(_text()),
        ),
        "promised_at": (at + timedelta(hours=draw(st.integers(2, 400)))).astimezone(
            draw(_tzs)
        ),
        "at": at,
    }
    vendor = draw(_vendors.map(lambda v: attrs.evolve(v, active=True)))
    path = _R_PATHS[draw(st.sampled_from(paths or sorted(_R_PATHS)))]
    planned: list[str] = []
    for step in path:
        repeat = draw(st.integers(0, 3)) if step.endswith("*") else 1
        planned.extend([step.rstrip("*")] * repeat)
    cut = draw(st.integers(min(min_steps, len(planned)), len(planned)) | st.just(len(planned)))
    scenario = _RepairScenario(opening, vendor, ())
    job = scenario.open()
    done: list[tuple[str, _RArgs]] = []
    for wanted in planned[: min(cut, max_steps)]:
        at = (at + timedelta(seconds=draw(st.integers(60, 3 * 86_400)))).astimezone(draw(_tzs))
        args = _RArgs(
            at=at,
            later=(at + timedelta(minutes=draw(st.integers(300, 20_000)))).astimezone(
                draw(_tzs)
            ),
            text=draw(_long_name),
            short=draw(_name()),
            note=draw(_text()),
            new_id=draw(_ids),
            amount=draw(_prices),
        )
        if not _try_repair(wanted, job, args):
            continue
        job.created = None
        _R_ACTIONS[wanted](job, args)
        done.append((wanted, args))
    return attrs.evolve(scenario, steps=tuple(done))


def _fixed_job(
    path: str, steps_done: int | None = None, *, at: datetime = _T,
    customer_id: UUID | None = None, equipment_id: UUID | None = None,
    request_id: UUID | None = None,
) -> _RepairScenario:
    """A deterministic scenario: the first ``steps_done`` possible steps of ``path``, one
    hour apart, from ``at``."""
    opening = {
        "order_id": uuid4(), "number": f"RO-{uuid4().hex}", "request_id": request_id or uuid4(),
        "equipment_id": equipment_id or uuid4(), "customer_id": customer_id or uuid4(),
        "intake": Intake(appearance="外观良好", configuration="i7 / 16 GB", accessories=("充电器",),
                         data_handling=DataHandling.WIPE_ALLOWED),
        "promised_at": at + timedelta(days=3), "at": at,
    }
    vendor = Vendor(uuid4(), "联想授权维修站", contact="0755-1234", capabilities={"笔记本"})
    scenario = _RepairScenario(opening, vendor, ())
    job = scenario.open()
    done: list[tuple[str, _RArgs]] = []
    names = [step.rstrip("*") for step in _R_PATHS[path]]
    for index, name in enumerate(names):
        if steps_done is not None and len(done) >= steps_done:
            break
        moment = at + timedelta(hours=index + 1)
        args = _RArgs(moment, moment + timedelta(hours=6), "更换主板", "王先生", "", uuid4(),
                      Decimal("150.00"))
        if _try_repair(name, job, args):
            _R_ACTIONS[name](job, args)
            done.append((name, args))
    return attrs.evolve(scenario, steps=tuple(done))


def _ensure_repair_refs(uow: UnitOfWork, scenario: _RepairScenario) -> None:
    """Store what a repair job refers to: customer, unit, request, staff and vendor."""
    opening = scenario.opening
    customer_id, equipment_id = opening["customer_id"], opening["equipment_id"]
    _ensure(
        uow, customers={customer_id}, equipment={equipment_id: customer_id},
        actors={_CLERK.id, _ENGINEER.id, _SUPERVISOR.id},
    )
    try:
        uow.requests.get(opening["request_id"])
    except NotFound:
        uow.requests.add(
            steps.register(
                request_id=opening["request_id"], number=f"SR-{uuid4().hex}",
                customer_id=customer_id, equipment_id=equipment_id, category=Category.FAULT,
                channel=Channel.PHONE, impact=Impact.MODERATE, urgency=Urgency.HIGH,
                summary="送修", actor=_CLERK, at=scenario.received_at, matrix=_MATRIX,
            )
        )
    try:
        uow.vendors.get(scenario.vendor.id)
    except NotFound:
        uow.vendors.add(attrs.evolve(scenario.vendor))


def _store_job(factory: UowFactory, scenario: _RepairScenario, job: _Job) -> list[Event]:
    """Add ``job`` (and what it refers to) in one unit of work; its committed events."""
    ids = {job.order.id}
    with factory() as uow:
        _ensure_repair_refs(uow, scenario)
        uow.repairs.add(job.order)
        if job.outsourced is not None:
            uow.outsourced.add(job.outsourced)
            ids.add(job.outsourced.id)
        uow.commit()
        return [e for e in uow.collect_new_events() if e.aggregate_id in ids]


def _stored_job(factory: UowFactory, path: str = "free", steps_done: int | None = 2,
                **kw: Any) -> _Job:
    scenario = _fixed_job(path, steps_done, **kw)
    job = scenario.build()
    _store_job(factory, scenario, job)
    return job


def _load_job(uow: UnitOfWork, job: _Job) -> _Job:
    repair = uow.outsourced.get(job.outsourced.id) if job.outsourced is not None else None
    return _Job(uow.repairs.get(job.order.id), job.vendor, repair)


def _order_copy(order: RepairOrder, *, order_id: UUID, number: str) -> RepairOrder:
    """A new order object like ``order`` but with ``order_id`` and ``number``."""
    return depot.open_repair_order(
        order_id=order_id, number=number, request_id=order.request_id,
        equipment_id=order.equipment_id, customer_id=order.customer_id, intake=order.intake,
        promised_at=order.promised_at, actor=_CLERK, at=order.received_at,
        policy=_REPAIR_POLICY,
    )


@st.composite
def _repair_sets(draw: st.DrawFn) -> tuple[UUID, list[_RepairScenario]]:
    """Repair jobs of one customer, over a few units and requests, at distinct instants."""
    customer_id = draw(_ids)
    equipment_ids = tuple(draw(st.lists(_ids, min_size=1, max_size=3)))
    request_ids = tuple(draw(st.lists(_ids, min_size=1, max_size=3)))
    near = draw(_datetimes)
    scenarios = draw(
        st.lists(
            _repair_scenarios(customer_id, equipment_ids, request_ids, max_steps=8, near=near),
            min_size=1,
            max_size=6,
            unique_by=lambda s: s.received_at.astimezone(UTC),
        )
    )
    return customer_id, scenarios


class RepairOrderRepositoryContract(ContractBase):
    """R13 depot repair orders: round-trip in every state (estimates, deposits, parts needed
    and reserved, QC, promise changes, settlement, delivery, the R9 record), step-by-step
    changes, queries, NotFound, uniqueness of ids and numbers, optimistic concurrency and
    rollback."""

    @_REQUESTS
    @given(scenario=_repair_scenarios())
    def test_a_repair_order_round_trips_in_any_state(
        self, uow_factory: UowFactory, scenario: _RepairScenario
    ) -> None:
        """An order built with the real depot steps reads back equal to the one stored."""
        job = scenario.build()
        expected = _snapshot(job.order)
        _store_job(uow_factory, scenario, job)
        with uow_factory() as uow:
            stored = uow.repairs.get(job.order.id)
            assert _snapshot(stored) == expected
            assert stored.pending_events == []
            assert stored.state is job.order.state
            assert depot.verify_repair_record(stored) == []

    @_HEAVY
    @given(scenario=_repair_scenarios(max_steps=25))
    def test_repair_changes_committed_step_by_step_round_trip_and_the_record_only_grows(
        self, uow_factory: UowFactory, scenario: _RepairScenario
    ) -> None:
        """R9: each step in its own unit of work (the outsourced repair it opens added in the
        same one); after every commit both read back as changed, the record only grows."""
        job = scenario.open()
        _store_job(uow_factory, scenario, job)
        previous = _snapshot(job.order)["record"]
        for index, (name, _args) in enumerate(scenario.steps):
            with uow_factory() as uow:
                loaded = _load_job(uow, job)
                scenario.apply(loaded, index)
                if loaded.created is not None:
                    uow.outsourced.add(loaded.created)
                expected = _snapshot(loaded.order)
                expected_out = _snapshot(loaded.outsourced) if loaded.outsourced else None
                uow.commit()
            job = loaded
            with uow_factory() as uow:
                stored = _snapshot(uow.repairs.get(job.order.id))
                assert stored == expected, f"after step {index} ({name})"
                if job.outsourced is not None:
                    assert _snapshot(uow.outsourced.get(job.outsourced.id)) == expected_out
            assert stored["record"][: len(previous)] == previous
            previous = stored["record"]

    def test_an_unknown_order_is_not_found(self, uow_factory: UowFactory) -> None:
        """``get`` raises NotFound for what was never stored."""
        with uow_factory() as uow, pytest.raises(NotFound):
            uow.repairs.get(uuid4())

    def test_a_duplicate_order_id_is_rejected(self, uow_factory: UowFactory) -> None:
        """A second order with a stored id raises ValidationError (at add or commit)."""
        job = _stored_job(uow_factory)
        copy = _order_copy(job.order, order_id=job.order.id, number=f"RO-{uuid4().hex}")
        with uow_factory() as uow, pytest.raises(ValidationError):
            uow.repairs.add(copy)
            uow.commit()
        with uow_factory() as uow:
            assert uow.repairs.get(job.order.id).number == job.order.number

    def test_a_duplicate_order_number_is_rejected(self, uow_factory: UowFactory) -> None:
        """R13: order numbers are unique: a new order reusing one raises ValidationError (at
        add or commit) and is not stored; so do two new orders with one number."""
        job = _stored_job(uow_factory)
        copy = _order_copy(job.order, order_id=uuid4(), number=job.order.number)
        with uow_factory() as uow, pytest.raises(ValidationError):
            uow.repairs.add(copy)
            uow.commit()
        number = f"RO-{uuid4().hex}"
        first = _order_copy(job.order, order_id=uuid4(), number=number)
        second = _order_copy(job.order, order_id=uuid4(), number=number)
        with uow_factory() as uow, pytest.raises(ValidationError):
            uow.repairs.add(first)
            uow.repairs.add(second)
            uow.commit()
        with uow_factory() as uow:
            for missing in (copy.id, first.id, second.id):
                with pytest.raises(NotFound):
                    uow.repairs.get(missing)
            assert [o.id for o in uow.repairs.find(customer_id=job.order.customer_id)] == [
                job.order.id
            ]

    def test_a_number_raced_by_two_units_of_work_is_stored_once(
        self, uow_factory: UowFactory
    ) -> None:
        """Two units of work add orders with the same new number: the second commit raises
        ValidationError (or ConcurrencyConflict: a retry then reports the duplicate) and only
        the first order is stored."""
        job = _stored_job(uow_factory)
        number = f"RO-{uuid4().hex}"
        first = _order_copy(job.order, order_id=uuid4(), number=number)
        second = _order_copy(job.order, order_id=uuid4(), number=number)
        with uow_factory() as a, uow_factory() as b:
            a.repairs.add(first)
            b.repairs.add(second)
            a.commit()
            with pytest.raises((ValidationError, ConcurrencyConflict)):
                b.commit()
        with uow_factory() as uow:
            assert uow.repairs.get(first.id).number == number
            with pytest.raises(NotFound):
                uow.repairs.get(second.id)

    @_REQUESTS
    @given(data=_repair_sets(), pick=st.data())
    def test_find_filters_and_orders_oldest_first(
        self, uow_factory: UowFactory, data: tuple[UUID, list[_RepairScenario]],
        pick: st.DataObject,
    ) -> None:
        """``find`` returns the orders matching every criterion given, oldest intake first
        (as instants, whatever the timezones), at most ``limit`` of them."""
        customer_id, scenarios = data
        jobs = {s.opening["order_id"]: (s, s.build()) for s in scenarios}
        for order_id in pick.draw(st.permutations(list(jobs))):  # insertion order is irrelevant
            _store_job(uow_factory, *jobs[order_id])
        orders = [job.order for _, job in jobs.values()]
        by_age = sorted(orders, key=lambda o: o.received_at.astimezone(UTC))

        def expect(keep: Callable[[RepairOrder], bool], limit: int | None = None) -> list[UUID]:
            ids = [o.id for o in by_age if keep(o)]
            return ids if limit is None else ids[:limit]

        def ids(found: list[RepairOrder]) -> list[UUID]:
            return [o.id for o in found]

        some = pick.draw(st.sampled_from(orders))
        states = pick.draw(st.sets(st.sampled_from(DepotState), max_size=4))
        limit = pick.draw(st.integers(1, len(orders) + 1))
        with uow_factory() as uow:
            find = uow.repairs.find
            assert ids(find(customer_id=customer_id)) == expect(lambda o: True)
            assert _snapshot(find(customer_id=customer_id)[0]) == _snapshot(by_age[0])
            assert ids(find(customer_id=customer_id, limit=limit)) == expect(
                lambda o: True, limit
            )
            assert ids(find(equipment_id=some.equipment_id)) == expect(
                lambda o: o.equipment_id == some.equipment_id
            )
            assert ids(find(request_id=some.request_id, limit=limit)) == expect(
                lambda o: o.request_id == some.request_id, limit
            )
            assert ids(find(customer_id=customer_id, states=iter(states))) == expect(
                lambda o: o.state in states
            )
            assert ids(
                find(
                    customer_id=customer_id, equipment_id=some.equipment_id,
                    request_id=some.request_id, states=[some.state], limit=limit,
                )
            ) == expect(
                lambda o: o.equipment_id == some.equipment_id
                and o.request_id == some.request_id and o.state is some.state,
                limit,
            )
            assert find(customer_id=uuid4()) == []
            assert find(customer_id=customer_id, states=[]) == []
            assert find(customer_id=customer_id, limit=0) == []

    def test_find_judges_orders_of_the_unit_of_work_on_their_working_copy(
        self, uow_factory: UowFactory
    ) -> None:
        """Orders added or changed in this unit of work are found by their current state,
        and ``find`` returns the very working copies ``get`` returns."""
        customer_id = uuid4()
        job = _stored_job(uow_factory, "free", 2, customer_id=customer_id)
        assert job.order.state is DepotState.DIAGNOSING
        later = _fixed_job("free", 1, at=_T + timedelta(days=1), customer_id=customer_id)
        with uow_factory() as uow:
            _ensure_repair_refs(uow, later)
            new = later.build().order
            uow.repairs.add(new)
            loaded = uow.repairs.get(job.order.id)
            depot.declare_unrepairable(loaded, reason="主板烧毁", actor=_ENGINEER, at=_T)
            find = uow.repairs.find
            assert find(customer_id=customer_id, states=[DepotState.DIAGNOSING]) == [new]
            assert find(customer_id=customer_id, states=[DepotState.UNREPAIRABLE]) == [loaded]
            assert find(customer_id=customer_id, limit=1) == [loaded]
            assert find(customer_id=customer_id) == [loaded, new]

    def test_concurrent_order_changes_conflict(self, uow_factory: UowFactory) -> None:
        """Two units of work change the same order: the first commit wins, the second raises
        ConcurrencyConflict and stores nothing."""
        job = _stored_job(uow_factory, "free", 2)
        with uow_factory() as first, uow_factory() as second:
            a = first.repairs.get(job.order.id)
            b = second.repairs.get(job.order.id)
            depot.declare_unrepairable(a, reason="无法修复", actor=_ENGINEER, at=_T)
            depot.record_progress_check(b, note="进度正常", actor=_CLERK, at=_T)
            first.commit()
            with pytest.raises(ConcurrencyConflict):
                second.commit()
            assert second.collect_new_events() == []
        with uow_factory() as uow:
            stored = uow.repairs.get(job.order.id)
            assert stored.state is DepotState.UNREPAIRABLE
            assert stored.progress_checked_at is None
            assert [e.action for e in stored.record][-1] == "declare_unrepairable"

    def test_uncommitted_or_failed_changes_are_discarded(self, uow_factory: UowFactory) -> None:
        """Without commit, after rollback or an exception, neither a new order nor a change
        to a stored one is kept; the events of a commit are collected once, in order."""
        job = _stored_job(uow_factory, "free", 0)
        fresh = _fixed_job("free", 0)
        with uow_factory() as uow:
            _ensure_repair_refs(uow, fresh)
            uow.repairs.add(fresh.build().order)
            depot.sign_intake(uow.repairs.get(job.order.id), signed_by="赵先生", actor=_CLERK,
                              at=_T)
            uow.rollback()
        with pytest.raises(RuntimeError), uow_factory() as uow:
            depot.sign_intake(uow.repairs.get(job.order.id), signed_by="赵先生", actor=_CLERK,
                              at=_T)
            raise RuntimeError("boom")
        with uow_factory() as uow:
            assert uow.repairs.get(job.order.id).state is DepotState.INTAKE
            with pytest.raises(NotFound):
                uow.repairs.get(fresh.opening["order_id"])
            loaded = uow.repairs.get(job.order.id)
            depot.sign_intake(loaded, signed_by="赵先生", actor=_CLERK, at=_T)
            depot.record_progress_check(loaded, note="已检测", actor=_CLERK, at=_T)
            pending = list(loaded.pending_events)
            uow.commit()
            assert uow.collect_new_events() == pending
            assert uow.collect_new_events() == []
        with uow_factory() as uow:
            assert uow.repairs.get(job.order.id).state is DepotState.DIAGNOSING

    def test_a_conflict_rolls_back_every_aggregate_of_the_unit_of_work(
        self, uow_factory: UowFactory
    ) -> None:
        """One unit of work changes an order, a stock location and a request; another one
        wins the race on the stock: nothing of the loser is stored."""
        job = _stored_job(uow_factory, "free", 2)
        location = StockLocation(uuid4(), f"仓库 {uuid4().hex[:6]}")
        with uow_factory() as uow:
            uow.stock.add(Stock(location))
            uow.commit()
        with uow_factory() as first, uow_factory() as second:
            order = second.repairs.get(job.order.id)
            depot.record_progress_check(order, note="进度正常", actor=_CLERK, at=_T)
            second.stock.get(location.id).receive(sku="VR-1", quantity=3, actor=_CLERK, at=_T)
            request = second.requests.get(job.order.request_id)
            steps.route(request, department="维修中心", actor=_CLERK, at=_T)
            first.stock.get(location.id).receive(sku="VR-2", quantity=1, actor=_CLERK, at=_T)
            first.commit()
            with pytest.raises(ConcurrencyConflict):
                second.commit()
        with uow_factory() as uow:
            assert uow.repairs.get(job.order.id).progress_checked_at is None
            assert uow.stock.get(location.id).level("VR-1").on_hand == 0
            assert uow.requests.get(job.order.request_id).state is RequestState.REGISTERED


class OutsourcedRepairRepositoryContract(ContractBase):
    """R14 outsourced repairs: round-trip in every state (attempts, shipments, chases,
    re-inspections), queries (the return ledger), NotFound, duplicates, concurrency."""

    @_REQUESTS
    @given(scenario=_repair_scenarios(paths=_VENDOR_PATHS, min_steps=3))
    def test_an_outsourced_repair_round_trips_in_any_state(
        self, uow_factory: UowFactory, scenario: _RepairScenario
    ) -> None:
        """An outsourced repair built with the real steps reads back equal to the one
        stored, and so does its order."""
        job = scenario.build()
        assert job.outsourced is not None
        expected = _snapshot(job.outsourced)
        _store_job(uow_factory, scenario, job)
        with uow_factory() as uow:
            stored = uow.outsourced.get(job.outsourced.id)
            assert _snapshot(stored) == expected
            assert stored.pending_events == []
            assert outsourced.verify_outsourced_record(stored) == []
            assert _snapshot(uow.repairs.get(job.order.id)) == _snapshot(job.order)

    def test_an_unknown_outsourced_repair_is_not_found(self, uow_factory: UowFactory) -> None:
        """``get`` raises NotFound for what was never stored."""
        with uow_factory() as uow, pytest.raises(NotFound):
            uow.outsourced.get(uuid4())

    def test_a_duplicate_outsourced_id_is_rejected(self, uow_factory: UowFactory) -> None:
        """A second outsourced repair with a stored id raises ValidationError."""
        job = _stored_job(uow_factory, "vendor", 3)
        assert job.outsourced is not None
        copy = _stored_job(uow_factory, "vendor", 3).outsourced
        assert copy is not None
        copy = copy.clone()
        copy.id = job.outsourced.id
        with uow_factory() as uow, pytest.raises(ValidationError):
            uow.outsourced.add(copy)
            uow.commit()
        with uow_factory() as uow:
            assert uow.outsourced.get(job.outsourced.id).order_id == job.order.id

    def test_find_filters_and_orders_oldest_first(self, uow_factory: UowFactory) -> None:
        """``find`` by order, unit and state (the R14 return ledger asks for the units at a
        vendor), oldest first, at most ``limit``."""
        unit = uuid4()
        made = [
            _stored_job(uow_factory, path, n, at=_T + timedelta(hours=h), equipment_id=unit)
            for path, n, h in (("vendor", 5, 30), ("vendor", 3, 10), ("vendor_failed", 6, 20),
                               ("vendor", 4, 0))
        ]
        repairs = [j.outsourced for j in made if j.outsourced is not None]
        assert len(repairs) == 4
        by_age = sorted(repairs, key=lambda r: r.opened_at)
        with uow_factory() as uow:
            find = uow.outsourced.find
            assert [r.id for r in find(equipment_id=unit)] == [r.id for r in by_age]
            assert [r.id for r in find(equipment_id=unit, limit=2)] == [
                r.id for r in by_age[:2]
            ]
            assert find(equipment_id=unit, limit=0) == []
            at_vendor = [r.id for r in by_age if r.state is OutsourcedState.AT_VENDOR]
            assert len(at_vendor) == 2
            assert [
                r.id for r in find(equipment_id=unit, states=[OutsourcedState.AT_VENDOR])
            ] == at_vendor
            ledger = find(states=[OutsourcedState.AT_VENDOR])
            assert set(at_vendor) <= {r.id for r in ledger}
            assert all(r.state is OutsourcedState.AT_VENDOR for r in ledger)
            assert [r.id for r in find(order_id=made[2].order.id)] == [repairs[2].id]
            assert find(order_id=uuid4()) == []
            assert find(equipment_id=unit, states=[]) == []

    def test_concurrent_outsourced_changes_conflict(self, uow_factory: UowFactory) -> None:
        """Two units of work chase the same vendor: the second commit conflicts."""
        job = _stored_job(uow_factory, "vendor", 5)
        assert job.outsourced is not None
        with uow_factory() as first, uow_factory() as second:
            a = first.outsourced.get(job.outsourced.id)
            b = second.outsourced.get(job.outsourced.id)
            for repair, response in ((a, "下周寄回"), (b, "明天寄回")):
                outsourced.chase_vendor(repair, response=response, actor=_CLERK,
                                        at=_T + timedelta(days=1), policy=_REPAIR_POLICY)
            first.commit()
            with pytest.raises(ConcurrencyConflict):
                second.commit()
        with uow_factory() as uow:
            attempt = uow.outsourced.get(job.outsourced.id).current_attempt
            assert attempt is not None
            assert [c.response for c in attempt.chases] == ["下周寄回"]


class VendorRepositoryContract(ContractBase):
    """R14 the vendor registry: round-trip, ``all`` by name, NotFound, duplicates, saved
    changes and optimistic concurrency."""

    @_SETTINGS
    @given(vendors=st.lists(_vendors, min_size=1, max_size=4))
    def test_vendors_round_trip_and_are_listed_by_name(
        self, uow_factory: UowFactory, vendors: list[Vendor]
    ) -> None:
        """Names, contacts, capabilities (a set) and the active flag come back exactly."""
        expected = {v.id: _snapshot(v) for v in vendors}
        with uow_factory() as uow:
            for vendor in vendors:
                uow.vendors.add(vendor)
            uow.commit()
        with uow_factory() as uow:
            for vendor in vendors:
                assert _snapshot(uow.vendors.get(vendor.id)) == expected[vendor.id]
            listed = [v.id for v in uow.vendors.all() if v.id in expected]
        assert listed == [v.id for v in sorted(vendors, key=lambda v: (v.name, str(v.id)))]

    def test_an_unknown_vendor_is_not_found(self, uow_factory: UowFactory) -> None:
        """``get`` raises NotFound for what was never stored."""
        with uow_factory() as uow, pytest.raises(NotFound):
            uow.vendors.get(uuid4())

    def test_a_duplicate_vendor_id_is_rejected(self, uow_factory: UowFactory) -> None:
        """A second vendor with a stored id raises ValidationError (at add or commit)."""
        vendor = Vendor(uuid4(), "戴尔维修站", contact="010-8888")
        with uow_factory() as uow:
            uow.vendors.add(vendor)
            uow.commit()
        with uow_factory() as uow, pytest.raises(ValidationError):
            uow.vendors.add(Vendor(vendor.id, "其他", contact="x"))
            uow.commit()
        with uow_factory() as uow:
            assert uow.vendors.get(vendor.id).name == "戴尔维修站"

    def test_saved_changes_are_kept_and_concurrent_ones_conflict(
        self, uow_factory: UowFactory
    ) -> None:
        """A saved change is stored; of two units of work saving the same vendor, the second
        commit raises ConcurrencyConflict."""
        vendor = Vendor(uuid4(), "惠普维修站", contact="021-6666", capabilities={"打印机"})
        with uow_factory() as uow:
            uow.vendors.add(vendor)
            uow.commit()
        with uow_factory() as uow:
            loaded = uow.vendors.get(vendor.id)
            loaded.active = False
            uow.vendors.save(loaded)
            uow.commit()
        with uow_factory() as first, uow_factory() as second:
            a = first.vendors.get(vendor.id)
            b = second.vendors.get(vendor.id)
            a.contact = "021-7777"
            b.contact = "021-9999"
            first.vendors.save(a)
            second.vendors.save(b)
            first.commit()
            with pytest.raises(ConcurrencyConflict):
                second.commit()
        with uow_factory() as uow:
            stored = uow.vendors.get(vendor.id)
            assert (stored.active, stored.contact) == (False, "021-7777")
            with pytest.raises(NotFound):
                uow.vendors.save(Vendor(uuid4(), "未登记", contact="x"))


_parts = st.builds(
    Part,
    sku=st.builds(lambda prefix, u: f"{prefix}{u.hex}", _text(8), _ids),
    name=_long_name,
    origin=st.sampled_from(PartOrigin),
    unit_price=st.builds(Money, _amounts.map(abs), st.sampled_from(["CNY", "USD"])),
    warranty_months=st.integers(0, 120),
    supplier_id=st.none() | _ids,
    storage_media=st.booleans(),
)


class PartRepositoryContract(ContractBase):
    """R28 the parts catalogue: round-trip by SKU, ``all`` by SKU, NotFound, unique SKUs."""

    @_SETTINGS
    @given(parts=st.lists(_parts, min_size=1, max_size=4, unique_by=lambda p: p.sku))
    def test_parts_round_trip_and_are_listed_by_sku(
        self, uow_factory: UowFactory, parts: list[Part]
    ) -> None:
        """A part read back by SKU equals the one stored; ``all`` lists them by SKU."""
        with uow_factory() as uow:
            for part in parts:
                uow.parts.add(part)
            assert uow.parts.get(parts[0].sku) == parts[0]  # visible in its unit of work
            uow.commit()
        skus = {p.sku for p in parts}
        with uow_factory() as uow:
            for part in parts:
                assert _snapshot(uow.parts.get(part.sku)) == _snapshot(part)
            assert [p.sku for p in uow.parts.all() if p.sku in skus] == sorted(skus)

    def test_an_unknown_sku_is_not_found(self, uow_factory: UowFactory) -> None:
        """``get`` raises NotFound for a SKU never stored."""
        with uow_factory() as uow, pytest.raises(NotFound):
            uow.parts.get(f"SKU-{uuid4().hex}")

    def test_a_duplicate_sku_is_rejected_and_rollback_stores_nothing(
        self, uow_factory: UowFactory
    ) -> None:
        """SKUs are unique (ValidationError at add or commit, also within one unit of work;
        between two racing ones the second commit may instead raise ConcurrencyConflict); a
        part not committed is not stored."""
        price = Money(Decimal("35.50"), "CNY")
        part = Part(f"VR-{uuid4().hex}", "稳压器", PartOrigin.OEM, price)
        with uow_factory() as uow:
            uow.parts.add(part)
            with pytest.raises(ValidationError):
                uow.parts.add(attrs.evolve(part, name="另一个"))
            uow.commit()
        with uow_factory() as uow, pytest.raises(ValidationError):
            uow.parts.add(attrs.evolve(part, name="另一个"))
            uow.commit()
        raced = Part(f"VR-{uuid4().hex}", "硬盘", PartOrigin.THIRD_PARTY, price)
        with uow_factory() as a, uow_factory() as b:
            a.parts.add(raced)
            b.parts.add(attrs.evolve(raced, name="硬盘 B"))
            a.commit()
            with pytest.raises((ValidationError, ConcurrencyConflict)):
                b.commit()
        dropped = Part(f"VR-{uuid4().hex}", "风扇", PartOrigin.OEM, price)
        with uow_factory() as uow:
            uow.parts.add(dropped)
        with uow_factory() as uow:
            assert uow.parts.get(part.sku).name == "稳压器"
            assert uow.parts.get(raced.sku).name == "硬盘"
            with pytest.raises(NotFound):
                uow.parts.get(dropped.sku)


_STOCK_OPS = ["receive", "reserve", "issue", "release", "return_defective", "doa"]


def _stock_op(stock: Stock, op: str, order_id: UUID, n: int, new_id: UUID, note: str,
              at: datetime) -> None:
    sku = ["VR-1", "硬盘-2TB", "FAN/3"][n % 3]
    open_ = [r for r in stock.reservations.values() if r.open]
    issued = [r for r in stock.reservations.values() if r.issued]
    if op == "receive":
        stock.receive(sku=sku, quantity=n + 1, actor=_CLERK, at=at, supplier_id=new_id,
                      note=note)
    elif op == "reserve":
        stock.reserve(reservation_id=new_id, order_id=order_id, sku=sku, quantity=n % 2 + 1,
                      actor=_ENGINEER, at=at, supplier_id=new_id if n % 2 else None)
    elif op == "issue" and open_:
        stock.issue(reservation_id=open_[n % len(open_)].id, actor=_ENGINEER, at=at)
    elif op == "release" and open_:
        stock.release(reservation_id=open_[n % len(open_)].id, actor=_ENGINEER, at=at)
    elif op == "return_defective":
        stock.return_defective(order_id=order_id, sku=sku, actor=_ENGINEER, at=at, note=note)
    elif op == "doa" and issued:
        stock.dead_on_arrival(reservation_id=issued[n % len(issued)].id, actor=_ENGINEER,
                              at=at, note=note)


@attrs.frozen
class _StockScenario:
    location: StockLocation
    ops: tuple[tuple[str, int, UUID, str, datetime], ...]

    def apply(self, stock: Stock, order_id: UUID, index: int) -> None:
        op, n, new_id, note, at = self.ops[index]
        with contextlib.suppress(AftersalesError):  # refused: nothing changed
            _stock_op(stock, op, order_id, n, new_id, note, at)


@st.composite
def _stock_scenarios(draw: st.DrawFn, max_ops: int = 25) -> _StockScenario:
    engineer = draw(st.booleans())
    location = StockLocation(
        draw(_ids), draw(_name()),
        LocationKind.ENGINEER if engineer else LocationKind.WAREHOUSE,
        _ENGINEER.id if engineer else None,
    )
    at = draw(_datetimes)
    ops = []
    for _ in range(draw(st.integers(0, max_ops))):
        at = (at + timedelta(seconds=draw(st.integers(1, 86_400)))).astimezone(draw(_tzs))
        ops.append((draw(st.sampled_from(_STOCK_OPS)), draw(st.integers(0, 5)), draw(_ids),
                    draw(_text()), at))
    return _StockScenario(location, tuple(ops))


class StockRepositoryContract(ContractBase):
    """R28 stock per location: levels, reservations (by id), the movement ledger and DOA
    records round-trip; step-by-step changes; ``all``; NotFound; duplicates; concurrency."""

    @_REQUESTS
    @given(scenario=_stock_scenarios())
    def test_stock_round_trips_and_changes_step_by_step(
        self, uow_factory: UowFactory, scenario: _StockScenario
    ) -> None:
        """A location built with the real stock operations reads back equal, whether stored
        at once or changed one operation per unit of work."""
        order_id = _stored_job(uow_factory, "free", 0).order.id
        whole = Stock(scenario.location)
        for index in range(len(scenario.ops)):
            scenario.apply(whole, order_id, index)
        stepwise = attrs.evolve(scenario.location, id=uuid4())
        with uow_factory() as uow:
            uow.stock.add(whole)
            uow.stock.add(Stock(stepwise))
            uow.commit()
        with uow_factory() as uow:
            assert _snapshot(uow.stock.get(whole.id)) == _snapshot(whole)
        for index in range(len(scenario.ops)):
            with uow_factory() as uow:
                stock = uow.stock.get(stepwise.id)
                scenario.apply(stock, order_id, index)
                expected = _snapshot(stock)
                uow.commit()
            with uow_factory() as uow:
                assert _snapshot(uow.stock.get(stepwise.id)) == expected
        expected = _snapshot(whole)
        expected["location"]["id"] = str(stepwise.id)
        with uow_factory() as uow:
            assert _snapshot(uow.stock.get(stepwise.id)) == expected

    def test_unknown_and_duplicate_locations(self, uow_factory: UowFactory) -> None:
        """``get`` raises NotFound for an unknown location; a second stock for a stored
        location raises ValidationError (at add or commit)."""
        location = StockLocation(uuid4(), "北京仓")
        with uow_factory() as uow:
            with pytest.raises(NotFound):
                uow.stock.get(location.id)
            uow.stock.add(Stock(location))
            uow.commit()
        with uow_factory() as uow, pytest.raises(ValidationError):
            uow.stock.add(Stock(location))
            uow.commit()

    def test_all_lists_locations_by_name(self, uow_factory: UowFactory) -> None:
        """``all`` returns every location's stock, by location name."""
        names = ["上海仓", "Beijing", "北京仓", "Állomás"]
        locations = [StockLocation(uuid4(), f"{n} {uuid4().hex[:4]}") for n in names]
        with uow_factory() as uow:
            for location in locations:
                uow.stock.add(Stock(location))
            uow.commit()
        ids = {loc.id for loc in locations}
        with uow_factory() as uow:
            listed = [s.id for s in uow.stock.all() if s.id in ids]
        assert listed == [loc.id for loc in sorted(locations, key=lambda loc: loc.name)]

    def test_two_reservations_of_the_last_unit_conflict(self, uow_factory: UowFactory) -> None:
        """R28: two units of work reserve the last unit at one location: the second commit
        raises ConcurrencyConflict, so the unit is never reserved twice."""
        order_id = _stored_job(uow_factory, "free", 0).order.id
        location = StockLocation(uuid4(), "工程师库存", LocationKind.ENGINEER, _ENGINEER.id)
        with uow_factory() as uow:
            stock = Stock(location)
            stock.receive(sku="VR-1", quantity=1, actor=_CLERK, at=_T)
            uow.stock.add(stock)
            uow.commit()
        with uow_factory() as first, uow_factory() as second:
            for uow in (first, second):
                uow.stock.get(location.id).reserve(
                    reservation_id=uuid4(), order_id=order_id, sku="VR-1", quantity=1,
                    actor=_ENGINEER, at=_T,
                )
            first.commit()
            with pytest.raises(ConcurrencyConflict):
                second.commit()
        with uow_factory() as uow:
            stored = uow.stock.get(location.id)
            assert stored.level("VR-1").available == 0
            assert len(stored.reservations) == 1


class StorageContract(
    CustomerRepositoryContract,
    EquipmentRepositoryContract,
    ServicePlanRepositoryContract,
    ActorRepositoryContract,
    ServiceRequestRepositoryContract,
    UnitOfWorkContract,
    IdempotencyContract,
    OutboxContract,
    RepairOrderRepositoryContract,
    OutsourcedRepairRepositoryContract,
    VendorRepositoryContract,
    PartRepositoryContract,
    StockRepositoryContract,
):
    """The whole storage contract. Subclass as ``TestMyStore`` and implement
    :meth:`make_uow_factory` and :meth:`make_outbox` (see the module docstring)."""

