"""Examples of the directory and the files: actors (R30), customers (R1), equipment (R2),
service plans (R4), vendors (R14) and catalogue parts (R28), opened as the commands open them.

The files have no shipped change step yet (their ``file`` workflow declares ``update``); the
suite changes them with :func:`amend`, an ``update`` step of that workflow that emits a
test-only :class:`ContractAmendment` event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

import attrs
from hypothesis import strategies as st

from aftersales.domain.kernel import Aggregate, AggregateEvent
from aftersales.domain.parts import PARTS, Part, PartOrigin
from aftersales.domain.records import (
    ACTORS,
    CUSTOMERS,
    EQUIPMENT,
    SERVICE_PLANS,
    Actor,
    ActorRegistered,
    Customer,
    CustomerRegistered,
    Equipment,
    EquipmentRegistered,
    FileState,
    ServicePlan,
    ServicePlanAdded,
)
from aftersales.domain.repair import VENDORS, Vendor
from aftersales.domain.repair_events import PartAdded, VendorRegistered
from aftersales.domain.values import Address, Contact, CustomerKind, CustomerTier, Money, Role
from aftersales.ports import UnitOfWork
from aftersales.testing.contracts._shipped import (
    CLERK,
    STAFF,
    SUPERVISOR,
    recorded_actors,
    refer_actors,
    refer_customers,
    refer_equipment,
)
from aftersales.testing.contracts._support import (
    days,
    ids,
    instants,
    long_texts,
    money,
    names,
    texts,
)
from aftersales.testing.contracts.kind import KindExamples, ensure
from aftersales.workflows import records as flow

__all__ = [
    "ActorExamples",
    "ContractAmendment",
    "CustomerExamples",
    "EquipmentExamples",
    "PartExamples",
    "ServicePlanExamples",
    "VendorExamples",
    "amend",
]

F = TypeVar("F", bound=Aggregate)
_OPENED = datetime(2024, 5, 1, 8, 30, tzinfo=timezone(timedelta(hours=8)))
_PRICE = Money(Decimal("1280.00"), "CNY")


@attrs.frozen(kw_only=True)
class ContractAmendment(AggregateEvent):
    """Test-only: the contract suite amended a file through its ``update`` step."""

    __abstract_event__ = True
    field: str
    value: str


@attrs.frozen(kw_only=True)
class ContractCustomerAmended(ContractAmendment):
    """Test-only amendment of a customer file."""

    aggregate_type = "Customer"


@attrs.frozen(kw_only=True)
class ContractEquipmentAmended(ContractAmendment):
    """Test-only amendment of an equipment file."""

    aggregate_type = "Equipment"


@attrs.frozen(kw_only=True)
class ContractServicePlanAmended(ContractAmendment):
    """Test-only amendment of a service plan."""

    aggregate_type = "ServicePlan"


@attrs.frozen(kw_only=True)
class ContractVendorAmended(ContractAmendment):
    """Test-only amendment of a vendor."""

    aggregate_type = "Vendor"


@attrs.frozen(kw_only=True)
class ContractPartAmended(ContractAmendment):
    """Test-only amendment of a catalogue part."""

    aggregate_type = "Part"


def amend(item: Aggregate, event: type[ContractAmendment], field: str, value: Any,
          at: datetime) -> bool:
    """R9: set ``field`` of an active file to ``value`` through the ``file`` workflow's
    ``update`` step (on the record, with ``event``); False once the file is retired."""
    if getattr(item, "state", None) != FileState.ACTIVE:
        return False
    before, after = flow.FILE_FLOW.fire(item, "update", item.id)
    item.record_step(at=at, actor_id=CLERK.id, workflow=flow.FILE_FLOW.name, subject_id=item.id,
                     action="update", from_state=before, to_state=after,
                     note=f"{field}: {value}")
    setattr(item, field, value)
    item.emit(event, actor_id=CLERK.id, at=at, field=field, value=str(value))
    return True


def _amended(draw: st.DrawFn, item: F, event: type[ContractAmendment], field: str,
             values: st.SearchStrategy[Any]) -> F:
    """``item`` amended zero to two times (so examples hold longer records too)."""
    at = item.record[-1].at
    for _ in range(draw(st.integers(0, 2))):
        at = at + timedelta(hours=draw(st.integers(1, 500)))
        amend(item, event, field, draw(values), at)
    return item


class _FileExamples(KindExamples[F]):
    """A file kind: each amendment sets ``field`` (and emits ``event``)."""

    event: ClassVar[type[ContractAmendment]]
    field: ClassVar[str]

    def new_value(self, item: F, at: datetime) -> Any:
        """The value an amendment at ``at`` sets."""
        return f"{self.field} {at.isoformat()}"

    def change(self, item: F, at: datetime) -> bool:
        return amend(item, self.event, self.field, self.new_value(item, at), at)


# --- R30 actors ------------------------------------------------------------------------------


def _register_actor(actor: Actor, at: datetime) -> Actor:
    flow.open_file(actor, ActorRegistered, actor_id=SUPERVISOR.id, at=at,
                   workflow=flow.DIRECTORY_FLOW, person=actor.name, roles=actor.roles,
                   customer_id=actor.customer_id)
    return actor


def _directory_step(actor: Actor, at: datetime) -> bool:
    """R30: deactivate an active actor (or change its roles), reactivate an inactive one."""
    if actor.state == FileState.INACTIVE:
        flow.reactivate(actor, by=SUPERVISOR, at=at, note="回来了 back")
    elif actor.state != FileState.ACTIVE:
        return False
    elif actor.event_sequence % 2:
        roles = actor.roles ^ {Role.CLERK} or frozenset({Role.ENGINEER})
        flow.change_roles(actor, roles=roles, by=SUPERVISOR, at=at)
    else:
        flow.deactivate(actor, reason="离职 left", by=SUPERVISOR, at=at)
    return True


class ActorExamples(KindExamples[Actor]):
    """R30: actors registered by a supervisor, then (de/re)activated or given other roles."""

    kind = ACTORS

    def make(self, n: int) -> list[Actor]:
        return [_register_actor(Actor(uuid4(), f"员工 {i}", STAFF - {Role.SUPERVISOR}), _OPENED)
                for i in range(n)]

    def change(self, item: Actor, at: datetime) -> bool:
        return _directory_step(item, at)

    def examples(self) -> st.SearchStrategy[Actor]:
        @st.composite
        def build(draw: st.DrawFn) -> Actor:
            roles = draw(st.frozensets(st.sampled_from(Role), min_size=1))
            customer = draw(ids) if Role.CUSTOMER in roles else draw(st.none() | ids)
            at = draw(instants())
            actor = _register_actor(Actor(draw(ids), draw(names()), roles, customer), at)
            for _ in range(draw(st.integers(0, 3))):
                at = at + timedelta(hours=draw(st.integers(1, 300)))
                if Role.CUSTOMER in actor.roles and actor.state == FileState.ACTIVE:
                    flow.deactivate(actor, reason=draw(names()), by=SUPERVISOR, at=at)
                else:
                    _directory_step(actor, at)
            return actor

        return build()

    def batches(self) -> st.SearchStrategy[list[Actor]]:
        customer = uuid4()
        return st.lists(self.examples(), min_size=1, max_size=5).map(
            lambda actors: [_same_customer(a, customer, i) for i, a in enumerate(actors)]
        )

    def refer(self, uow: UnitOfWork, items: Sequence[Actor]) -> None:
        refer_customers(uow, (a.customer_id for a in items))
        refer_actors(uow, recorded_actors(items) - {a.id for a in items})


def _same_customer(actor: Actor, customer: UUID, index: int) -> Actor:
    if index % 2 and actor.customer_id is not None:
        actor.customer_id = customer  # several actors of one customer
    return actor


# --- R1 customers ----------------------------------------------------------------------------

_contacts = st.builds(Contact, names(), st.none() | st.text("0123456789+- ()", min_size=3,
                                                            max_size=20),
                      st.none() | st.builds(lambda u: f"{u.hex[:8]}@例子.中国", ids))
_addresses = st.builds(Address, names(), texts(), texts(), texts(10), texts(20))


def _register_customer(customer: Customer, at: datetime) -> Customer:
    flow.open_file(customer, CustomerRegistered, actor_id=CLERK.id, at=at,
                   customer=customer.name, kind=customer.kind, tier=customer.tier)
    return customer


class CustomerExamples(_FileExamples[Customer]):
    """R1: customer files; amendments move them to the next tier."""

    kind = CUSTOMERS
    event = ContractCustomerAmended
    field = "tier"

    def new_value(self, item: Customer, at: datetime) -> Any:
        tiers = list(CustomerTier)
        return tiers[(tiers.index(item.tier) + 1) % len(tiers)]

    def make(self, n: int) -> list[Customer]:
        return [_register_customer(Customer(uuid4(), f"客户 {uuid4().hex[:6]}"), _OPENED)
                for _ in range(n)]

    def examples(self) -> st.SearchStrategy[Customer]:
        @st.composite
        def build(draw: st.DrawFn) -> Customer:
            customer = Customer(
                draw(ids), draw(st.sampled_from(["甲公司", "Acme"]) | names(200)),
                draw(st.sampled_from(CustomerKind)), draw(st.sampled_from(CustomerTier)),
                tuple(draw(st.lists(_contacts, max_size=4))),
                tuple(draw(st.lists(_addresses, max_size=3))),
            )
            _register_customer(customer, draw(instants()))
            return _amended(draw, customer, self.event, "tier", st.sampled_from(CustomerTier))

        return build()


# --- R2 equipment ----------------------------------------------------------------------------


def _register_equipment(unit: Equipment, at: datetime) -> Equipment:
    flow.open_file(unit, EquipmentRegistered, actor_id=CLERK.id, at=at, serial=unit.serial,
                   model=unit.model, owner_id=unit.owner_id)
    return unit


class EquipmentExamples(_FileExamples[Equipment]):
    """R2: equipment files (with or without invoice and dates), moved to other product
    lines by amendments."""

    kind = EQUIPMENT
    event = ContractEquipmentAmended
    field = "product_line"

    def make(self, n: int) -> list[Equipment]:
        owner = uuid4()
        return [_register_equipment(Equipment(uuid4(), f"SN-{uuid4().hex}", "激光打印机 LJ-1020",
                                              owner), _OPENED) for _ in range(n)]

    def examples(self, owner: UUID | None = None, model: str | None = None) -> (
        st.SearchStrategy[Equipment]
    ):
        @st.composite
        def build(draw: st.DrawFn) -> Equipment:
            unit = Equipment(
                draw(ids), f"{draw(texts(8))}{uuid4().hex[:16]}",
                model or draw(names(120)), owner or draw(st.none() | ids),
                product_line=draw(texts(120)), maker=draw(texts()),
                hardware_version=draw(texts(10)), software_version=draw(texts(10)),
                installed_on=draw(st.none() | days), purchased_on=draw(st.none() | days),
                invoice_ref=draw(st.none() | texts()), produced_on=draw(st.none() | days),
                location=draw(texts(500)), user=draw(texts()), asset_label=draw(texts()),
            )
            _register_equipment(unit, draw(instants()))
            return _amended(draw, unit, self.event, self.field, texts(120))

        return build()

    def batches(self) -> st.SearchStrategy[list[Equipment]]:
        return st.tuples(ids, names(120)).flatmap(
            lambda pair: st.lists(self.examples(pair[0], pair[1]) | self.examples(),
                                  min_size=1, max_size=5)
        ).map(self.distinct)

    def refer(self, uow: UnitOfWork, items: Sequence[Equipment]) -> None:
        refer_customers(uow, (u.owner_id for u in items))
        refer_actors(uow, recorded_actors(items))


# --- R4 service plans ------------------------------------------------------------------------


def _add_plan(plan: ServicePlan, at: datetime) -> ServicePlan:
    flow.open_file(plan, ServicePlanAdded, actor_id=CLERK.id, at=at, customer_id=plan.customer_id,
                   starts_on=plan.starts_on, ends_on=plan.ends_on,
                   equipment_ids=plan.equipment_ids)
    return plan


_periods = st.none() | st.integers(1, 3650 * 86_400).map(lambda s: timedelta(seconds=s))


class ServicePlanExamples(_FileExamples[ServicePlan]):
    """R4: service plans of a customer; amendments extend them."""

    kind = SERVICE_PLANS
    event = ContractServicePlanAmended
    field = "ends_on"

    def new_value(self, item: ServicePlan, at: datetime) -> Any:
        return item.ends_on + timedelta(days=30)

    def make(self, n: int) -> list[ServicePlan]:
        customer = uuid4()
        return [_add_plan(ServicePlan(uuid4(), customer, date(2024, 1, 1), date(2026, 12, 31),
                                      frozenset({uuid4()}), content="三年保修 3-year cover"),
                          _OPENED) for _ in range(n)]

    def examples(self, customer: UUID | None = None) -> st.SearchStrategy[ServicePlan]:
        @st.composite
        def build(draw: st.DrawFn) -> ServicePlan:
            starts = draw(days)
            plan = ServicePlan(
                draw(ids), customer or draw(ids), starts,
                starts + timedelta(days=draw(st.integers(0, 3650))),
                draw(st.frozensets(ids, max_size=5)), content=draw(long_texts()),
                callback_every=draw(_periods), response_within=draw(_periods),
                maintenance_every=draw(_periods), extends_warranty=draw(st.booleans()),
            )
            _add_plan(plan, draw(instants()))
            at = plan.record[-1].at
            for _ in range(draw(st.integers(0, 2))):
                at = at + timedelta(hours=draw(st.integers(1, 500)))
                self.change(plan, at)
            return plan

        return build()

    def batches(self) -> st.SearchStrategy[list[ServicePlan]]:
        return ids.flatmap(lambda c: st.lists(self.examples(c) | self.examples(), min_size=1,
                                              max_size=5))

    def refer(self, uow: UnitOfWork, items: Sequence[ServicePlan]) -> None:
        refer_equipment(uow, {u: p.customer_id for p in items for u in p.equipment_ids})
        refer_actors(uow, recorded_actors(items))


# --- R14 vendors and R28 parts ---------------------------------------------------------------


def _register_vendor(vendor: Vendor, at: datetime) -> Vendor:
    flow.open_file(vendor, VendorRegistered, actor_id=CLERK.id, at=at, vendor=vendor.name)
    return vendor


class VendorExamples(_FileExamples[Vendor]):
    """R14: repair stations in the vendor registry; amendments change the contact."""

    kind = VENDORS
    event = ContractVendorAmended
    field = "contact"

    def make(self, n: int) -> list[Vendor]:
        return [_register_vendor(Vendor(uuid4(), f"授权维修站 {i}", "0755-1234", {"笔记本"}),
                                 _OPENED) for i in range(n)]

    def examples(self) -> st.SearchStrategy[Vendor]:
        @st.composite
        def build(draw: st.DrawFn) -> Vendor:
            vendor = Vendor(draw(ids), draw(st.sampled_from(["联想授权站", "Acme"]) | names(200)),
                            draw(names(500)), draw(st.frozensets(names(120), max_size=4)))
            _register_vendor(vendor, draw(instants()))
            return _amended(draw, vendor, self.event, self.field, names(500))

        return build()

    def refer(self, uow: UnitOfWork, items: Sequence[Vendor]) -> None:
        refer_actors(uow, recorded_actors(items))


def _add_part(part: Part, at: datetime) -> Part:
    flow.open_file(part, PartAdded, actor_id=CLERK.id, at=at, sku=part.sku, title=part.name)
    return part


class PartExamples(_FileExamples[Part]):
    """R28: catalogue parts with unique SKUs; amendments rename them."""

    kind = PARTS
    event = ContractPartAmended
    field = "name"

    def make(self, n: int) -> list[Part]:
        supplier = uuid4()
        return [_add_part(Part(uuid4(), f"SKU-{uuid4().hex[:20]}", "主板 mainboard",
                               PartOrigin.OEM, _PRICE,
                               supplier_id=supplier), _OPENED) for _ in range(n)]

    def examples(self, supplier: UUID | None = None) -> st.SearchStrategy[Part]:
        @st.composite
        def build(draw: st.DrawFn) -> Part:
            part = Part(
                draw(ids), f"{draw(texts(20))}{uuid4().hex[:20]}"[:64].strip() or "P",
                draw(st.sampled_from(["硬盘 2TB", "fan"]) | names(200)),
                draw(st.sampled_from(PartOrigin)), draw(money()),
                warranty_months=draw(st.none() | st.integers(0, 240)),
                supplier_id=supplier or draw(st.none() | ids),
                storage_media=draw(st.booleans()),
            )
            _add_part(part, draw(instants()))
            return _amended(draw, part, self.event, self.field, names(200))

        return build()

    def batches(self) -> st.SearchStrategy[list[Part]]:
        return ids.flatmap(lambda s: st.lists(self.examples(s) | self.examples(), min_size=1,
                                              max_size=5)).map(self.distinct)

    def refer(self, uow: UnitOfWork, items: Sequence[Part]) -> None:
        for supplier in sorted({p.supplier_id for p in items if p.supplier_id is not None}):
            ensure(uow, VENDORS, supplier,
                   lambda i: Vendor(i, "参考供应商 supplier", "021-5555"))
        refer_actors(uow, recorded_actors(items))
