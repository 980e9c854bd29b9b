"""Commands of the directory and the files (R1, R2, R4, R30), and their handlers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import attrs

from aftersales.domain.records import (
    Actor,
    ActorRegistered,
    Customer,
    CustomerRegistered,
    Equipment,
    EquipmentRegistered,
    ServicePlan,
    ServicePlanAdded,
)
from aftersales.domain.values import (
    Address,
    Contact,
    CustomerKind,
    CustomerTier,
    Role,
    require_aware,
)
from aftersales.errors import NotAuthorized, ValidationError
from aftersales.ports import UnitOfWork
from aftersales.service.commands import (
    Command,
    boolean,
    day,
    duration,
    frozenset_,
    instance,
    member,
    optional,
    sequence_of,
    set_of,
    text,
    tuple_,
    uuid,
)
from aftersales.service.runner import Context, Handler
from aftersales.workflows import records as flow

__all__ = [
    "RECORD_HANDLERS",
    "AddServicePlan",
    "ChangeRoles",
    "DeactivateActor",
    "ReactivateActor",
    "RegisterActor",
    "RegisterCustomer",
    "RegisterEquipment",
    "enroll_first_supervisor",
]


# --- the directory (R30) -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RegisterActor(Command):
    """R30: add a person to the directory (a supervisor's job)."""

    name = "register_actor"
    person: str = attrs.field(validator=text(max_length=200))
    roles: frozenset[Role] = attrs.field(
        converter=frozenset_, validator=set_of(member(Role), min_items=1, max_items=5)
    )
    customer_id: UUID | None = attrs.field(default=None, validator=optional(uuid()))


@attrs.frozen(kw_only=True)
class ChangeRoles(Command):
    """R30: give an actor other roles."""

    name = "change_roles"
    target_id: UUID = attrs.field(validator=uuid())
    roles: frozenset[Role] = attrs.field(
        converter=frozenset_, validator=set_of(member(Role), min_items=1, max_items=5)
    )


@attrs.frozen(kw_only=True)
class DeactivateActor(Command):
    """R30: the actor may no longer act (every later command of theirs is refused)."""

    name = "deactivate_actor"
    target_id: UUID = attrs.field(validator=uuid())
    reason: str = attrs.field(validator=text())


@attrs.frozen(kw_only=True)
class ReactivateActor(Command):
    """R30: a deactivated actor may act again."""

    name = "reactivate_actor"
    target_id: UUID = attrs.field(validator=uuid())
    note: str = attrs.field(default="", validator=text(required=False))


def _register_actor(ctx: Context, cmd: RegisterActor, _: None) -> Actor:
    if cmd.customer_id is not None:
        ctx.uow.customers.get(cmd.customer_id)
    actor = Actor(ctx.new_id(), cmd.person, cmd.roles, cmd.customer_id)
    flow.open_file(actor, ActorRegistered, actor_id=ctx.actor.id, at=ctx.now,
                   workflow=flow.DIRECTORY_FLOW, person=actor.name, roles=actor.roles,
                   customer_id=actor.customer_id)
    ctx.uow.actors.add(actor)
    return actor


def _target_actor(ctx: Context, cmd: ChangeRoles | DeactivateActor | ReactivateActor) -> Actor:
    return ctx.uow.actors.get(cmd.target_id)


def _change_roles(ctx: Context, cmd: ChangeRoles, target: Actor) -> Actor:
    flow.change_roles(target, roles=cmd.roles, by=ctx.actor, at=ctx.now)
    return target


def _deactivate(ctx: Context, cmd: DeactivateActor, target: Actor) -> Actor:
    if target.id == ctx.actor.id:
        raise NotAuthorized(ctx.actor.name, cmd.name, "Actor", target.name, target.state,
                            "nobody deactivates themselves")
    flow.deactivate(target, reason=cmd.reason, by=ctx.actor, at=ctx.now)
    return target


def _reactivate(ctx: Context, cmd: ReactivateActor, target: Actor) -> Actor:
    flow.reactivate(target, by=ctx.actor, at=ctx.now, note=cmd.note)
    return target


# --- files (R1, R2, R4) --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RegisterCustomer(Command):
    """R1: open a customer file."""

    name = "register_customer"
    customer: str = attrs.field(validator=text(max_length=200))
    kind: CustomerKind = attrs.field(default=CustomerKind.ORGANISATION,
                                     validator=member(CustomerKind))
    tier: CustomerTier = attrs.field(default=CustomerTier.STANDARD, validator=member(CustomerTier))
    contacts: tuple[Contact, ...] = attrs.field(
        default=(), converter=tuple_, validator=sequence_of(instance(Contact), max_items=50)
    )
    addresses: tuple[Address, ...] = attrs.field(
        default=(), converter=tuple_, validator=sequence_of(instance(Address), max_items=50)
    )


def _short(max_length: int) -> Any:
    return attrs.field(default="", validator=text(max_length=max_length, required=False))


@attrs.frozen(kw_only=True)
class RegisterEquipment(Command):
    """R2: open an equipment file (other makers' units too: give ``maker``)."""

    name = "register_equipment"
    serial: str = attrs.field(validator=text(max_length=120))
    model: str = attrs.field(validator=text(max_length=120))
    owner_id: UUID | None = attrs.field(default=None, validator=optional(uuid()))
    installed_on: date | None = attrs.field(default=None, validator=optional(day()))
    purchased_on: date | None = attrs.field(default=None, validator=optional(day()))
    invoice_ref: str | None = attrs.field(
        default=None, validator=optional(text(max_length=200))
    )
    produced_on: date | None = attrs.field(default=None, validator=optional(day()))
    product_line: str = _short(120)
    maker: str = _short(200)
    hardware_version: str = _short(200)
    software_version: str = _short(200)
    location: str = _short(500)
    user: str = _short(200)
    asset_label: str = _short(200)


@attrs.frozen(kw_only=True)
class AddServicePlan(Command):
    """R4: file a service plan (客户服务计划) for a customer and some of its units."""

    name = "add_service_plan"
    customer_id: UUID = attrs.field(validator=uuid())
    starts_on: date = attrs.field(validator=day())
    ends_on: date = attrs.field(validator=day())
    equipment_ids: frozenset[UUID] = attrs.field(
        default=frozenset(), converter=frozenset_, validator=set_of(uuid(), max_items=1000)
    )
    content: str = attrs.field(default="", validator=text(required=False))
    callback_every: timedelta | None = attrs.field(default=None, validator=optional(duration()))
    response_within: timedelta | None = attrs.field(default=None,
                                                    validator=optional(duration()))
    maintenance_every: timedelta | None = attrs.field(default=None,
                                                      validator=optional(duration()))
    extends_warranty: bool = attrs.field(default=True, validator=boolean())

    def __attrs_post_init__(self) -> None:
        if self.ends_on < self.starts_on:
            raise ValidationError("AddServicePlan", "ends_on", "ends before it starts")


def _register_customer(ctx: Context, cmd: RegisterCustomer, _: None) -> Customer:
    customer = Customer(ctx.new_id(), cmd.customer, cmd.kind, cmd.tier, cmd.contacts,
                        cmd.addresses)
    flow.open_file(customer, CustomerRegistered, actor_id=ctx.actor.id, at=ctx.now,
                   customer=customer.name, kind=customer.kind, tier=customer.tier)
    ctx.uow.customers.add(customer)
    return customer


def _register_equipment(ctx: Context, cmd: RegisterEquipment, _: None) -> Equipment:
    if cmd.owner_id is not None:
        ctx.uow.customers.get(cmd.owner_id)
    if ctx.uow.equipment.find(model=cmd.model, serial=cmd.serial, limit=1):
        raise ValidationError("Equipment", "serial", f"{cmd.model} {cmd.serial} already exists")
    unit = Equipment(
        ctx.new_id(), cmd.serial, cmd.model, cmd.owner_id, product_line=cmd.product_line,
        maker=cmd.maker, hardware_version=cmd.hardware_version,
        software_version=cmd.software_version, installed_on=cmd.installed_on,
        purchased_on=cmd.purchased_on, invoice_ref=cmd.invoice_ref, produced_on=cmd.produced_on,
        location=cmd.location, user=cmd.user, asset_label=cmd.asset_label,
    )
    flow.open_file(unit, EquipmentRegistered, actor_id=ctx.actor.id, at=ctx.now,
                   serial=unit.serial, model=unit.model, owner_id=unit.owner_id)
    ctx.uow.equipment.add(unit)
    return unit


def _add_service_plan(ctx: Context, cmd: AddServicePlan, _: None) -> ServicePlan:
    ctx.uow.customers.get(cmd.customer_id)
    for equipment_id in sorted(cmd.equipment_ids):
        unit = ctx.uow.equipment.get(equipment_id)
        if unit.owner_id != cmd.customer_id:
            raise ValidationError("ServicePlan", "equipment_ids",
                                  f"{unit.model} {unit.serial} belongs to another customer")
    plan = ServicePlan(
        ctx.new_id(), cmd.customer_id, cmd.starts_on, cmd.ends_on, cmd.equipment_ids,
        content=cmd.content, callback_every=cmd.callback_every,
        response_within=cmd.response_within, maintenance_every=cmd.maintenance_every,
        extends_warranty=cmd.extends_warranty,
    )
    flow.open_file(plan, ServicePlanAdded, actor_id=ctx.actor.id, at=ctx.now,
                   customer_id=plan.customer_id, starts_on=plan.starts_on, ends_on=plan.ends_on,
                   equipment_ids=plan.equipment_ids)
    ctx.uow.plans.add(plan)
    return plan


RECORD_HANDLERS: tuple[Handler[Any], ...] = (
    Handler(RegisterActor, _register_actor),
    Handler(ChangeRoles, _change_roles, _target_actor),
    Handler(DeactivateActor, _deactivate, _target_actor),
    Handler(ReactivateActor, _reactivate, _target_actor),
    Handler(RegisterCustomer, _register_customer),
    Handler(RegisterEquipment, _register_equipment),
    Handler(AddServicePlan, _add_service_plan),
)


def enroll_first_supervisor(
    uow_factory: Callable[[], UnitOfWork], *, actor_id: UUID, name: str, at: datetime,
    roles: frozenset[Role] = frozenset({Role.SUPERVISOR}),
) -> Actor:
    """R30: put the first supervisor into an empty directory (who then registers everyone
    else). Refused once the directory holds anybody."""
    require_aware("Actor", "at", at)
    if Role.SUPERVISOR not in roles:
        raise ValidationError("Actor", "roles", "the first actor is a supervisor")
    actor = Actor(actor_id, name, roles)
    flow.open_file(actor, ActorRegistered, actor_id=actor.id, at=at,
                   workflow=flow.DIRECTORY_FLOW, person=actor.name, roles=actor.roles,
                   customer_id=None, note="first supervisor")
    with uow_factory() as uow:
        if uow.actors.find(limit=1):
            raise NotAuthorized(name, "enroll_first_supervisor", "directory", "-", None,
                                "the directory is not empty; a supervisor registers actors")
        uow.actors.add(actor)
        uow.commit()
    return actor
