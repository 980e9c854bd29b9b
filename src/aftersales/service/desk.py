"""The service layer: one command per user action, each taking the acting :class:`Actor`.

A command opens a unit of work, loads what it needs, asks the authorization policy (R30),
runs one workflow step, commits, and publishes the step's domain events. A refused command
raises an :mod:`aftersales.errors` exception and leaves state, record and events unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import TypeVar
from uuid import UUID

from aftersales.domain.priority import PriorityMatrix
from aftersales.domain.records import Customer, Equipment, ServicePlan
from aftersales.domain.repair import DepotState
from aftersales.domain.request import RequestState, ServiceRequest
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
from aftersales.domain.warranty import Exclusion, WarrantyDetermination, WarrantyPolicy
from aftersales.errors import ConcurrencyConflict, GuardFailed, ValidationError
from aftersales.ports import (
    AuthorizationPolicy,
    Clock,
    EventPublisher,
    IdGenerator,
    UnitOfWork,
)
from aftersales.service.authorization import RoleBasedPolicy
from aftersales.workflows import steps

__all__ = ["NullPublisher", "ServiceDesk"]

T = TypeVar("T")
Step = Callable[[ServiceRequest, datetime], object]


def _require_uuid(entity: str, field: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, UUID):
        raise ValidationError(entity, field, f"expected a UUID, got {type(value).__name__}")


_FINISHED_ORDER_STATES = frozenset(
    {DepotState.DELIVERED, DepotState.RETURNED, DepotState.REPLACED, DepotState.CLOSED}
)


class NullPublisher:
    """An EventPublisher that drops events (the default when nobody listens)."""

    def publish(self, events: object) -> None:
        """Do nothing."""


class ServiceDesk:
    """The application service: every command of the request flows (R1-R12, R30).

    Wire it with ports (see :func:`aftersales.in_memory_desk` for a ready one)::

        desk = ServiceDesk(uow_factory, clock=clock, ids=ids)
        request = desk.register_request(clerk, customer_id=..., summary=..., ...)
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
        max_attempts: int = 3,
    ) -> None:
        if max_attempts < 1:
            raise ValidationError("ServiceDesk", "max_attempts", "must be at least 1")
        self.uow_factory = uow_factory
        self.clock = clock
        self.ids = ids
        self.authorization: AuthorizationPolicy = authorization or RoleBasedPolicy()
        self.publisher: EventPublisher = publisher or NullPublisher()
        self.priority_matrix = priority_matrix or PriorityMatrix()
        self.warranty_policy = warranty_policy or WarrantyPolicy()
        self.max_attempts = max_attempts

    # --- plumbing ------------------------------------------------------------------------

    def _retrying(self, work: Callable[[UnitOfWork], T]) -> T:
        attempt = 1
        while True:
            try:
                with self.uow_factory() as uow:
                    result = work(uow)
                    uow.commit()
                    events = uow.collect_new_events()
                break
            except ConcurrencyConflict:
                if attempt >= self.max_attempts:
                    raise
                attempt += 1
        if events:
            self.publisher.publish(events)
        return result

    def execute(
        self,
        work: Callable[[UnitOfWork], T],
        *,
        idempotency_key: str | None = None,
        lookup: Callable[[UnitOfWork, UUID], T] | None = None,
        ident: Callable[[T], UUID] | None = None,
        entity: str = "command",
    ) -> T:
        """Run ``work`` in a unit of work: commit, retry on ConcurrencyConflict (bounded by
        ``max_attempts``), then publish the committed events. Extensions (e.g.
        :class:`RepairDesk`) build their commands on this.

        With an ``idempotency_key`` the work runs once per key: the key is stored with the id
        of the aggregate the work returned (``ident``, default ``result.id``) in the same
        transaction, and a repeat returns ``lookup(uow, id)`` (default: the service request
        with that id) instead of running ``work`` again.
        """
        if idempotency_key is None:
            return self._retrying(work)
        if not isinstance(idempotency_key, str) or not idempotency_key.strip():
            raise ValidationError(entity, "idempotency_key", "must be non-blank text")
        key = idempotency_key

        def once(uow: UnitOfWork) -> T:
            done = uow.idempotency.get(key)
            if done is not None:
                if lookup is not None:
                    return lookup(uow, done)
                return uow.requests.get(done)  # type: ignore[return-value]
            result = work(uow)
            done = ident(result) if ident else result.id  # type: ignore[attr-defined]
            uow.idempotency.put(key, done)
            return result

        return self._retrying(once)

    def _idempotent(
        self, key: str | None, work: Callable[[UnitOfWork], ServiceRequest]
    ) -> ServiceRequest:
        """Run ``work`` once per idempotency ``key``; a repeat returns the request it touched."""
        return self.execute(work, idempotency_key=key, entity="ServiceRequest")

    def _authorize(self, actor: Actor, action: str, request: ServiceRequest | None) -> None:
        if not isinstance(actor, Actor):
            entity = "ServiceRequest" if request is not None or "request" in action else "records"
            raise ValidationError(entity, "actor", "an Actor is required")
        self.authorization.authorize(actor, action, request)

    def _on_request(
        self, action: str, actor: Actor, request_id: UUID, step: Step, key: str | None = None,
        precheck: Callable[[UnitOfWork, ServiceRequest], None] | None = None,
    ) -> ServiceRequest:
        if not isinstance(actor, Actor):
            raise ValidationError("ServiceRequest", "actor", "an Actor is required")
        _require_uuid("ServiceRequest", "id", request_id)

        def work(uow: UnitOfWork) -> ServiceRequest:
            request = uow.requests.get(request_id)
            self._authorize(actor, action, request)
            if precheck is not None:
                precheck(uow, request)
            step(request, self.clock.now())
            return request

        return self._idempotent(key, work)

    @staticmethod
    def _unit_not_at_depot(action: str) -> Callable[[UnitOfWork, ServiceRequest], None]:
        """R13: while a repair order of the request is open, only the depot (RepairDesk)
        finishes the request; cancelling or completing it here would strand the unit."""

        def check(uow: UnitOfWork, request: ServiceRequest) -> None:
            if request.state is not RequestState.HANDED_TO_DEPOT:
                return
            open_orders = [
                o for o in uow.repairs.find(request_id=request.id)
                if o.state not in _FINISHED_ORDER_STATES
            ]
            if open_orders:
                raise GuardFailed(
                    "ServiceRequest", request.number, str(request.state), action,
                    f"R13: repair order {open_orders[0].number} is open at the depot",
                )

        return check

    # --- records (R1, R2, R4, R30) ------------------------------------------------------------

    def register_actor(
        self, actor: Actor, *, name: str, roles: Iterable[Role], customer_id: UUID | None = None
    ) -> Actor:
        """R30: add a person to the directory (a supervisor's job)."""
        self._authorize(actor, "register_actor", None)
        _require_uuid("Actor", "customer_id", customer_id, optional=True)
        new = Actor(self.ids.new_id(), name, frozenset(roles), customer_id)

        def work(uow: UnitOfWork) -> Actor:
            if customer_id is not None:
                uow.customers.get(customer_id)
            uow.actors.add(new)
            return new

        return self._retrying(work)

    def register_customer(
        self,
        actor: Actor,
        *,
        name: str,
        kind: CustomerKind = CustomerKind.ORGANISATION,
        tier: CustomerTier = CustomerTier.STANDARD,
        contacts: Iterable[Contact] = (),
        addresses: Iterable[Address] = (),
    ) -> Customer:
        """R1: open a customer file."""
        self._authorize(actor, "register_customer", None)
        if not isinstance(kind, CustomerKind) or not isinstance(tier, CustomerTier):
            raise ValidationError("Customer", "kind/tier", "unknown kind or tier")
        customer = Customer(self.ids.new_id(), name, kind, tier, tuple(contacts), tuple(addresses))

        def work(uow: UnitOfWork) -> Customer:
            uow.customers.add(customer)
            return customer

        return self._retrying(work)

    def register_equipment(
        self,
        actor: Actor,
        *,
        serial: str,
        model: str,
        owner_id: UUID | None = None,
        installed_on: date | None = None,
        purchased_on: date | None = None,
        invoice_ref: str | None = None,
        produced_on: date | None = None,
        product_line: str = "",
        maker: str = "",
        hardware_version: str = "",
        software_version: str = "",
        location: str = "",
        user: str = "",
        asset_label: str = "",
    ) -> Equipment:
        """R2: open an equipment file (other makers' units too: pass ``maker``)."""
        self._authorize(actor, "register_equipment", None)
        _require_uuid("Equipment", "owner_id", owner_id, optional=True)
        unit = Equipment(
            self.ids.new_id(),
            serial,
            model,
            owner_id,
            installed_on=installed_on,
            purchased_on=purchased_on,
            invoice_ref=invoice_ref,
            produced_on=produced_on,
            product_line=product_line,
            maker=maker,
            hardware_version=hardware_version,
            software_version=software_version,
            location=location,
            user=user,
            asset_label=asset_label,
        )

        def work(uow: UnitOfWork) -> Equipment:
            if owner_id is not None:
                uow.customers.get(owner_id)
            uow.equipment.add(unit)
            return unit

        return self._retrying(work)

    def add_service_plan(self, actor: Actor, plan: ServicePlan) -> ServicePlan:
        """R4: file a service plan for a customer."""
        self._authorize(actor, "add_service_plan", None)

        def work(uow: UnitOfWork) -> ServicePlan:
            uow.customers.get(plan.customer_id)
            for equipment_id in plan.equipment_ids:
                uow.equipment.get(equipment_id)
            uow.plans.add(plan)
            return plan

        return self._retrying(work)

    def warranty(
        self,
        actor: Actor,
        equipment_id: UUID,
        *,
        findings: Iterable[Exclusion] = (),
        on: date | None = None,
    ) -> WarrantyDetermination:
        """R20: is the unit in warranty today (or on ``on``) given these findings?"""
        self._authorize(actor, "view", None)
        day = on or self.clock.now().date()
        with self.uow_factory() as uow:
            unit = uow.equipment.get(equipment_id)
            plans = uow.plans.of_customer(unit.owner_id) if unit.owner_id else []
            return self.warranty_policy.determine(unit, day, findings, plans)

    # --- queries -------------------------------------------------------------------------

    def get_request(
        self, actor: Actor, request_id: UUID, *, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """One request (the customer sees only their own)."""
        with self.uow_factory() as uow:
            request = uow.requests.get(request_id)
            self._authorize(actor, "view", request)
            return request

    def find_requests(
        self,
        actor: Actor,
        *,
        customer_id: UUID | None = None,
        states: Iterable[RequestState] | None = None,
        engineer_id: UUID | None = None,
    ) -> list[ServiceRequest]:
        """Requests by customer, state and engineer (staff only)."""
        self._authorize(actor, "view", None)
        if actor.roles == {Role.CUSTOMER}:
            customer_id = actor.customer_id
        with self.uow_factory() as uow:
            return uow.requests.find(
                customer_id=customer_id, states=states, engineer_id=engineer_id
            )

    # --- request lifecycle (R5-R10) ----------------------------------------------------------

    def register_request(
        self,
        actor: Actor,
        *,
        customer_id: UUID,
        summary: str,
        category: Category = Category.FAULT,
        channel: Channel = Channel.PHONE,
        impact: Impact = Impact.MODERATE,
        urgency: Urgency = Urgency.MEDIUM,
        equipment_id: UUID | None = None,
        idempotency_key: str | None = None,
    ) -> ServiceRequest:
        """R7: register a request; it gets a service number and its first record entry.

        Pass an ``idempotency_key`` (every command accepts one) to make a retry safe: the
        same key returns the first result and writes nothing twice.
        """
        self._authorize(actor, "register_request", None)
        _require_uuid("ServiceRequest", "customer_id", customer_id)
        _require_uuid("ServiceRequest", "equipment_id", equipment_id, optional=True)

        def work(uow: UnitOfWork) -> ServiceRequest:
            customer = uow.customers.get(customer_id)
            if equipment_id is not None:
                unit = uow.equipment.get(equipment_id)
                if unit.owner_id is not None and unit.owner_id != customer.id:
                    raise ValidationError(
                        "ServiceRequest",
                        "equipment_id",
                        f"equipment {unit.serial} belongs to another customer",
                    )
            now = self.clock.now()
            request = steps.register(
                request_id=self.ids.new_id(),
                number=self.ids.service_number(now),
                customer_id=customer.id,
                category=category,
                channel=channel,
                impact=impact,
                urgency=urgency,
                summary=summary,
                actor=actor,
                at=now,
                matrix=self.priority_matrix,
                equipment_id=equipment_id,
            )
            uow.requests.add(request)
            return request

        return self._idempotent(idempotency_key, work)

    def route(
        self, actor: Actor, request_id: UUID, *, department: str, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R7: route to a department."""
        return self._on_request(
            "route",
            actor,
            request_id,
            lambda r, at: steps.route(r, department=department, actor=actor, at=at),
            key=idempotency_key,
        )

    def assign(
        self,
        actor: Actor,
        request_id: UUID,
        *,
        engineer_id: UUID,
        idempotency_key: str | None = None,
    ) -> ServiceRequest:
        """R11/R12: assign (or reassign) an engineer; the engineer must be in the directory."""

        if not isinstance(actor, Actor):
            raise ValidationError("ServiceRequest", "actor", "an Actor is required")
        _require_uuid("ServiceRequest", "id", request_id)
        _require_uuid("ServiceRequest", "engineer_id", engineer_id)

        def work(uow: UnitOfWork) -> ServiceRequest:
            request = uow.requests.get(request_id)
            self._authorize(actor, "assign", request)
            engineer = uow.actors.get(engineer_id)
            if not engineer.has(Role.ENGINEER):
                raise ValidationError(
                    "ServiceRequest", "engineer_id", f"{engineer.name} is not an engineer"
                )
            steps.assign(request, engineer_id=engineer_id, actor=actor, at=self.clock.now())
            return request

        return self._idempotent(idempotency_key, work)

    def reject(
        self, actor: Actor, request_id: UUID, *, reason: str, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """Reject a request at registration or routing; the record is kept."""
        return self._on_request(
            "reject",
            actor,
            request_id,
            lambda r, at: steps.reject(r, reason=reason, actor=actor, at=at),
            key=idempotency_key,
        )

    def cancel(
        self, actor: Actor, request_id: UUID, *, reason: str, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """Cancel an open request; the record is kept."""
        return self._on_request(
            "cancel",
            actor,
            request_id,
            lambda r, at: steps.cancel(r, reason=reason, actor=actor, at=at),
            key=idempotency_key,
            precheck=self._unit_not_at_depot("cancel"),
        )

    def resolve(
        self, actor: Actor, request_id: UUID, *, resolution: str, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R11/R12: the assigned engineer reports the problem solved."""
        return self._on_request(
            "resolve",
            actor,
            request_id,
            lambda r, at: steps.resolve(r, resolution=resolution, actor=actor, at=at),
            key=idempotency_key,
        )

    def complete_depot(
        self, actor: Actor, request_id: UUID, *, resolution: str, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R13 seam for a depot run outside this library: the repair finished; the request
        waits for the customer to confirm. With :class:`RepairDesk`, delivering the order does
        this itself, and this command is refused while the order is open."""
        return self._on_request(
            "complete_depot",
            actor,
            request_id,
            lambda r, at: steps.complete_depot(r, resolution=resolution, actor=actor, at=at),
            key=idempotency_key,
            precheck=self._unit_not_at_depot("complete depot"),
        )

    def confirm(
        self, actor: Actor, request_id: UUID, *, note: str = "", idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R10: the customer confirms completion (or staff record it on their behalf)."""
        return self._on_request(
            "confirm",
            actor,
            request_id,
            lambda r, at: steps.confirm(r, note=note, actor=actor, at=at),
            key=idempotency_key,
        )

    def reopen(
        self, actor: Actor, request_id: UUID, *, reason: str, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R10: the customer does not accept the resolution."""
        return self._on_request(
            "reopen",
            actor,
            request_id,
            lambda r, at: steps.reopen(r, reason=reason, actor=actor, at=at),
            key=idempotency_key,
        )

    def close(
        self, actor: Actor, request_id: UUID, *, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R10/R12: close a confirmed request whose dispatches are all approved."""
        return self._on_request(
            "close",
            actor,
            request_id,
            lambda r, at: steps.close(r, actor=actor, at=at),
            key=idempotency_key,
        )

    # --- remote service (R11) ------------------------------------------------------------

    def start_remote(
        self, actor: Actor, request_id: UUID, *, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R11: the assigned engineer starts remote work."""
        job_id = self.ids.new_id()
        return self._on_request(
            "start_remote",
            actor,
            request_id,
            lambda r, at: steps.start_remote(r, job_id=job_id, actor=actor, at=at),
            key=idempotency_key,
        )

    def record_contact(
        self,
        actor: Actor,
        request_id: UUID,
        *,
        channel: Channel,
        summary: str,
        idempotency_key: str | None = None,
    ) -> ServiceRequest:
        """R11: record a remote contact."""
        return self._on_request(
            "record_contact",
            actor,
            request_id,
            lambda r, at: steps.record_contact(
                r, channel=channel, summary=summary, actor=actor, at=at
            ),
            key=idempotency_key,
        )

    def escalate_onsite(
        self,
        actor: Actor,
        request_id: UUID,
        *,
        reason: str,
        promised_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> ServiceRequest:
        """R11: remote work failed; plan an on-site visit."""
        job_id = self.ids.new_id()
        return self._on_request(
            "escalate_onsite",
            actor,
            request_id,
            lambda r, at: steps.escalate_onsite(
                r, job_id=job_id, reason=reason, actor=actor, at=at, promised_at=promised_at
            ),
            key=idempotency_key,
        )

    def hand_to_depot(
        self, actor: Actor, request_id: UUID, *, reason: str, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R11/R12: send the unit to depot repair (R13)."""
        return self._on_request(
            "hand_to_depot",
            actor,
            request_id,
            lambda r, at: steps.hand_to_depot(r, reason=reason, actor=actor, at=at),
            key=idempotency_key,
        )

    # --- on-site service (R12) -------------------------------------------------------------

    def start_onsite(
        self,
        actor: Actor,
        request_id: UUID,
        *,
        promised_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> ServiceRequest:
        """R12: plan an on-site visit for an assigned request."""
        job_id = self.ids.new_id()
        return self._on_request(
            "start_onsite",
            actor,
            request_id,
            lambda r, at: steps.start_onsite(
                r, job_id=job_id, actor=actor, at=at, promised_at=promised_at
            ),
            key=idempotency_key,
        )

    def confirm_need(
        self, actor: Actor, request_id: UUID, *, note: str = "", idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R12: the engineer confirmed the need for a visit with the customer."""
        return self._on_request(
            "confirm_need",
            actor,
            request_id,
            lambda r, at: steps.confirm_need(r, note=note, actor=actor, at=at),
            key=idempotency_key,
        )

    def approve_dispatch(
        self, actor: Actor, request_id: UUID, *, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R12: a supervisor approves the dispatch."""
        return self._on_request(
            "approve_dispatch",
            actor,
            request_id,
            lambda r, at: steps.approve_dispatch(r, actor=actor, at=at),
            key=idempotency_key,
        )

    def dispatch_emergency(
        self, actor: Actor, request_id: UUID, *, reason: str, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R12: the engineer goes first; the approval must be recorded before closing."""
        return self._on_request(
            "dispatch_emergency",
            actor,
            request_id,
            lambda r, at: steps.dispatch_emergency(r, reason=reason, actor=actor, at=at),
            key=idempotency_key,
        )

    def retro_approve(
        self, actor: Actor, request_id: UUID, *, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R12: a supervisor records the approval of an emergency dispatch (补办手续)."""
        return self._on_request(
            "retro_approve",
            actor,
            request_id,
            lambda r, at: steps.retro_approve(r, actor=actor, at=at),
            key=idempotency_key,
        )

    def prepare(
        self, actor: Actor, request_id: UUID, *, note: str = "", idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R12: prepare parts and tools."""
        return self._on_request(
            "prepare",
            actor,
            request_id,
            lambda r, at: steps.prepare(r, note=note, actor=actor, at=at),
            key=idempotency_key,
        )

    def depart(
        self, actor: Actor, request_id: UUID, *, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R12: the engineer sets off."""
        return self._on_request(
            "depart",
            actor,
            request_id,
            lambda r, at: steps.depart(r, actor=actor, at=at),
            key=idempotency_key,
        )

    def record_arrival(
        self, actor: Actor, request_id: UUID, *, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R12: record the arrival time (now)."""
        return self._on_request(
            "record_arrival",
            actor,
            request_id,
            lambda r, at: steps.record_arrival(r, actor=actor, at=at),
            key=idempotency_key,
        )

    def record_work(
        self,
        actor: Actor,
        request_id: UUID,
        *,
        description: str,
        idempotency_key: str | None = None,
    ) -> ServiceRequest:
        """R12: record work done on site."""
        return self._on_request(
            "record_work",
            actor,
            request_id,
            lambda r, at: steps.record_work(r, description=description, actor=actor, at=at),
            key=idempotency_key,
        )

    def sign_off(
        self,
        actor: Actor,
        request_id: UUID,
        *,
        found: str,
        result: str,
        signed_by: str,
        rating: int | None = None,
        parts_replaced: tuple[str, ...] = (),
        fee: Money | None = None,
        open_issues: str = "",
        remarks: str = "",
        idempotency_key: str | None = None,
    ) -> ServiceRequest:
        """R12/R3: the customer signs the service report on site."""
        return self._on_request(
            "sign_off",
            actor,
            request_id,
            lambda r, at: steps.sign_off(
                r,
                found=found,
                result=result,
                signed_by=signed_by,
                actor=actor,
                at=at,
                rating=rating,
                parts_replaced=parts_replaced,
                fee=fee,
                open_issues=open_issues,
                remarks=remarks,
            ),
            key=idempotency_key,
        )

    def call_consultation(
        self, actor: Actor, request_id: UUID, *, reason: str, idempotency_key: str | None = None
    ) -> ServiceRequest:
        """R12: not solved on site; call a consultation (会诊)."""
        return self._on_request(
            "call_consultation",
            actor,
            request_id,
            lambda r, at: steps.call_consultation(r, reason=reason, actor=actor, at=at),
            key=idempotency_key,
        )

    def plan_revisit(
        self,
        actor: Actor,
        request_id: UUID,
        *,
        plan: str,
        promised_at: datetime,
        idempotency_key: str | None = None,
    ) -> ServiceRequest:
        """R12: the consultation's plan and the date of the new visit."""
        return self._on_request(
            "plan_revisit",
            actor,
            request_id,
            lambda r, at: steps.plan_revisit(
                r, plan=plan, promised_at=promised_at, actor=actor, at=at
            ),
            key=idempotency_key,
        )

    def reschedule(
        self,
        actor: Actor,
        request_id: UUID,
        *,
        new_time: datetime,
        reason: str,
        idempotency_key: str | None = None,
    ) -> ServiceRequest:
        """R12: move a promised visit, recording the reason."""
        return self._on_request(
            "reschedule",
            actor,
            request_id,
            lambda r, at: steps.reschedule(r, new_time=new_time, reason=reason, actor=actor, at=at),
            key=idempotency_key,
        )
