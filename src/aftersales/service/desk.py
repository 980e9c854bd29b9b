"""The service desk: the command runner wired with every shipped handler, and typed methods.

Each method builds one command (validated on construction) and runs it through the one
:class:`~aftersales.service.runner.CommandRunner` path. ``actor`` may be an
:class:`~aftersales.domain.records.Actor` or its id: only the id is taken, the roles come from
the directory. Every method that changes something accepts ``idempotency_key`` and
``expected_version``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from aftersales.domain import KINDS
from aftersales.domain.kernel import AggregateKind, Kinds
from aftersales.domain.priority import PriorityMatrix
from aftersales.domain.records import Actor, Customer, Equipment, ServicePlan
from aftersales.domain.repair import RepairPolicy
from aftersales.domain.values import Address, Contact, CustomerKind, CustomerTier, Role
from aftersales.domain.warranty import Exclusion, WarrantyDetermination, WarrantyPolicy
from aftersales.errors import ValidationError
from aftersales.ports import AuthorizationPolicy, Clock, EventPublisher, IdGenerator, UnitOfWork
from aftersales.service import records as rc
from aftersales.service.authorization import RoleBasedPolicy
from aftersales.service.desk_requests import RequestCommands
from aftersales.service.handlers import SHIPPED_HANDLERS
from aftersales.service.runner import (
    Context,
    Handler,
    NullPublisher,
    Settings,
    actor_id_of,
)
from aftersales.workflows import WORKFLOWS, Workflow

__all__ = ["NullPublisher", "ServiceDesk"]


class ServiceDesk(RequestCommands):
    """The application service: every command of every shipped context (R1-R30).

    Wire it with ports (see :func:`aftersales.in_memory_desk` and
    :func:`aftersales.sql_desk` for ready ones)::

        desk = ServiceDesk(store.unit_of_work, clock=clock, ids=ids, kinds=store.kinds)
        request = desk.register_request(clerk, customer_id=..., summary=...)

    The policies are defaults you replace: ``priority_matrix`` (R8), ``warranty_policy``
    (R20), ``repair_policy`` (R13-R16, R21-R23), ``authorization`` (R30); ``workflows``
    replaces shipped workflows by name for this desk only (an extended one must keep the
    name); ``handlers`` adds your own commands. :class:`~aftersales.service.repairs.RepairDesk`
    offers the typed methods of depot and outsourced repair and spare parts on top of it.
    """

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        *,
        clock: Clock,
        ids: IdGenerator,
        authorization: AuthorizationPolicy | None = None,
        publisher: EventPublisher | None = None,
        priority_matrix: PriorityMatrix | None = None,
        warranty_policy: WarrantyPolicy | None = None,
        repair_policy: RepairPolicy | None = None,
        workflows: Mapping[str, Workflow] | None = None,
        kinds: Kinds | Iterable[AggregateKind[Any]] | None = None,
        handlers: Iterable[Handler[Any]] = (),
        max_attempts: int = 4,
        backoff: float = 0.002,
    ) -> None:
        for name, value, kind in (
            ("priority_matrix", priority_matrix, PriorityMatrix),
            ("warranty_policy", warranty_policy, WarrantyPolicy),
            ("repair_policy", repair_policy, RepairPolicy),
        ):
            if value is not None and not isinstance(value, kind):
                raise ValidationError("ServiceDesk", name, f"must be a {kind.__name__}")
        chosen = dict(WORKFLOWS)
        for name, workflow in (workflows or {}).items():
            if not isinstance(workflow, Workflow) or workflow.name != name:
                raise ValidationError("ServiceDesk", "workflows",
                                      f"{name!r} must map to a Workflow of that name")
            chosen[name] = workflow
        settings = Settings(
            authorization=authorization or RoleBasedPolicy(),
            priority_matrix=priority_matrix or PriorityMatrix(),
            warranty_policy=warranty_policy or WarrantyPolicy(),
            repair_policy=repair_policy or RepairPolicy(),
            workflows=chosen,
        )
        super().__init__(
            uow_factory, clock=clock, ids=ids, settings=settings,
            handlers=(*SHIPPED_HANDLERS, *handlers),
            kinds=kinds if isinstance(kinds, Kinds) else Kinds(KINDS if kinds is None
                                                               else kinds),
            publisher=publisher, max_attempts=max_attempts, backoff=backoff,
        )

    @property
    def authorization(self) -> AuthorizationPolicy:
        """R30: the authorization policy."""
        return self.settings.authorization

    @property
    def priority_matrix(self) -> PriorityMatrix:
        """R8: the impact × urgency matrix."""
        return self.settings.priority_matrix

    @property
    def warranty_policy(self) -> WarrantyPolicy:
        """R20: the warranty policy."""
        return self.settings.warranty_policy

    @property
    def repair_policy(self) -> RepairPolicy:
        """R13-R16, R21-R23: the repair policy."""
        return self.settings.repair_policy

    # --- the directory (R30) ---------------------------------------------------------------

    def register_actor(
        self, actor: Actor | UUID, *, name: str, roles: Iterable[Role],
        customer_id: UUID | None = None, idempotency_key: str | None = None,
    ) -> Actor:
        """R30: add a person to the directory (a supervisor's job)."""
        result: Actor = self.execute(rc.RegisterActor(
            actor_id=actor_id_of(actor), person=name, roles=roles, customer_id=customer_id,
            idempotency_key=idempotency_key,
        ))
        return result

    def change_roles(
        self, actor: Actor | UUID, target_id: UUID, *, roles: Iterable[Role],
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> Actor:
        """R30: give an actor other roles."""
        result: Actor = self.execute(rc.ChangeRoles(
            actor_id=actor_id_of(actor), target_id=target_id, roles=roles,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))
        return result

    def deactivate_actor(
        self, actor: Actor | UUID, target_id: UUID, *, reason: str,
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> Actor:
        """R30: the actor may no longer act; their later commands are refused."""
        result: Actor = self.execute(rc.DeactivateActor(
            actor_id=actor_id_of(actor), target_id=target_id, reason=reason,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))
        return result

    def reactivate_actor(
        self, actor: Actor | UUID, target_id: UUID, *, note: str = "",
        idempotency_key: str | None = None, expected_version: int | None = None,
    ) -> Actor:
        """R30: a deactivated actor may act again."""
        result: Actor = self.execute(rc.ReactivateActor(
            actor_id=actor_id_of(actor), target_id=target_id, note=note,
            idempotency_key=idempotency_key, expected_version=expected_version,
        ))
        return result

    # --- files (R1, R2, R4) --------------------------------------------------------------

    def register_customer(
        self, actor: Actor | UUID, *, name: str,
        kind: CustomerKind = CustomerKind.ORGANISATION,
        tier: CustomerTier = CustomerTier.STANDARD, contacts: Iterable[Contact] = (),
        addresses: Iterable[Address] = (), idempotency_key: str | None = None,
    ) -> Customer:
        """R1: open a customer file."""
        result: Customer = self.execute(rc.RegisterCustomer(
            actor_id=actor_id_of(actor), customer=name, kind=kind, tier=tier,
            contacts=contacts, addresses=addresses, idempotency_key=idempotency_key,
        ))
        return result

    def register_equipment(
        self, actor: Actor | UUID, *, serial: str, model: str, owner_id: UUID | None = None,
        installed_on: date | None = None, purchased_on: date | None = None,
        invoice_ref: str | None = None, produced_on: date | None = None,
        product_line: str = "", maker: str = "", hardware_version: str = "",
        software_version: str = "", location: str = "", user: str = "",
        asset_label: str = "", idempotency_key: str | None = None,
    ) -> Equipment:
        """R2: open an equipment file (other makers' units too: give ``maker``)."""
        result: Equipment = self.execute(rc.RegisterEquipment(
            actor_id=actor_id_of(actor), serial=serial, model=model, owner_id=owner_id,
            installed_on=installed_on, purchased_on=purchased_on, invoice_ref=invoice_ref,
            produced_on=produced_on, product_line=product_line, maker=maker,
            hardware_version=hardware_version, software_version=software_version,
            location=location, user=user, asset_label=asset_label,
            idempotency_key=idempotency_key,
        ))
        return result

    def add_service_plan(
        self, actor: Actor | UUID, *, customer_id: UUID, starts_on: date, ends_on: date,
        equipment_ids: Iterable[UUID] = (), content: str = "",
        callback_every: timedelta | None = None, response_within: timedelta | None = None,
        maintenance_every: timedelta | None = None, extends_warranty: bool = True,
        idempotency_key: str | None = None,
    ) -> ServicePlan:
        """R4: file a service plan for a customer and some of its units."""
        result: ServicePlan = self.execute(rc.AddServicePlan(
            actor_id=actor_id_of(actor), customer_id=customer_id, starts_on=starts_on,
            ends_on=ends_on, equipment_ids=equipment_ids, content=content,
            callback_every=callback_every, response_within=response_within,
            maintenance_every=maintenance_every, extends_warranty=extends_warranty,
            idempotency_key=idempotency_key,
        ))
        return result

    def warranty(
        self, actor: Actor | UUID, equipment_id: UUID, *, findings: Iterable[Exclusion] = (),
        on: date | None = None,
    ) -> WarrantyDetermination:
        """R20: is the unit in warranty today (or on ``on``) given these findings? A customer
        asks only about their own units."""
        if not isinstance(equipment_id, UUID):
            raise ValidationError("Equipment", "id", "expected a UUID")
        if on is not None and (not isinstance(on, date) or isinstance(on, datetime)):
            raise ValidationError("Equipment", "on", "must be a date")
        if isinstance(findings, str | bytes):
            raise ValidationError("Equipment", "findings", "must be Exclusion values")
        chosen = tuple(findings)

        def read(ctx: Context) -> WarrantyDetermination:
            unit = ctx.uow.equipment.get(equipment_id)
            ctx.authorize("view", unit)
            plans = ctx.uow.plans.find(customer_id=unit.owner_id) if unit.owner_id else []
            zone = ctx.settings.repair_policy.zone
            day = on if on is not None else ctx.now.astimezone(zone).date()
            return ctx.settings.warranty_policy.determine(unit, day, chosen, plans)

        return self.query(actor, "view", read)
