"""The service layer of depot repair (R13), outsourced repair (R14) and spare parts (R28).

:class:`RepairDesk` composes a :class:`~aftersales.service.desk.ServiceDesk` and reuses its
transaction runner (:meth:`ServiceDesk.execute`: one unit of work per command, bounded retry
on ConcurrencyConflict, events published after the commit), its clock, id generator and
warranty policy. Every command takes the acting :class:`Actor` first, asks the authorization
policy (R30) with the order's service request as context (so a customer acts only on their own
orders), runs one or more pure workflow steps in the same unit of work and returns the
aggregate it changed. A refused command raises an :mod:`aftersales.errors` exception and
leaves every order, outsourced repair, stock location, request and event unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar
from uuid import UUID, uuid5

from aftersales.domain.parts import (
    LocationKind,
    Part,
    PartOrigin,
    PartSource,
    Reservation,
    Stock,
    StockLocation,
)
from aftersales.domain.records import Equipment
from aftersales.domain.repair import (
    Appointment,
    DataHandling,
    DepotState,
    EstimateLine,
    FaultClass,
    FaultKind,
    Intake,
    LedgerLine,
    OldPartDisposition,
    OutsourcedRepair,
    OutsourcedState,
    ReopenKind,
    RepairHistoryItem,
    RepairOrder,
    RepairPolicy,
    Vendor,
    return_ledger,
)
from aftersales.domain.request import RequestState, ServiceRequest
from aftersales.domain.values import Actor, Money, Role
from aftersales.domain.warranty import Exclusion
from aftersales.errors import GuardFailed, NotAuthorized, ValidationError
from aftersales.ports import AuthorizationPolicy, UnitOfWork
from aftersales.service.authorization import Permission, RoleBasedPolicy
from aftersales.service.desk import ServiceDesk
from aftersales.workflows import depot, outsourced, steps

__all__ = ["REPAIR_PERMISSIONS", "RepairDesk"]

A = TypeVar("A")


def _p(*roles: Role) -> Permission:
    return Permission(frozenset(roles))


C, E, S, REP, CU = Role.CLERK, Role.ENGINEER, Role.SUPERVISOR, Role.CUSTOMER_REP, Role.CUSTOMER

#: R30 defaults for the repair commands (action name = :class:`RepairDesk` method name):
#: engineers do the technical steps, clerks and customer representatives intake, notices and
#: settlement, a supervisor authorizes discounts (R22) and replacements, and the customer
#: (own orders only) answers estimates. Merged under the desk's own table when the desk uses a
#: :class:`RoleBasedPolicy` (the desk's entries win).
REPAIR_PERMISSIONS: Mapping[str, Permission] = {
    # depot repair (R13)
    "receive_at_depot": _p(C, REP, S),
    "sign_intake": _p(C, REP),
    "diagnose": _p(E, S),
    "reopen_diagnosis": _p(E, S),
    "send_estimate": _p(E, S),
    "approve_estimate": _p(CU, C, REP),
    "decline_estimate": _p(CU, C, REP),
    "start_repair": _p(E),
    "record_repair_work": _p(E),
    "fit_part": _p(E),
    "receive_deposit": _p(C, REP),
    "wait_for_parts": _p(E, S),
    "resume_repair": _p(E),
    "propose_additional_work": _p(E, S),
    "approve_additional_work": _p(CU, C, REP),
    "decline_additional_work": _p(CU, C, REP),
    "finish_repair": _p(E),
    "record_qc": _p(E, S),
    "rework": _p(E, S),
    "record_progress_check": _p(C, REP, E, S),
    "notify_delay": _p(C, REP, S),
    "mark_ready": _p(C, REP),
    "apply_discount": _p(C, REP, S),
    "settle": _p(C, REP),
    "deliver": _p(C, REP),
    "close_order": _p(C, S),
    "declare_unrepairable": _p(E, S),
    "offer_replacement": _p(S, REP),
    "accept_replacement": _p(C, REP),
    "return_unrepaired": _p(C, REP),
    # outsourced repair (R14, R15)
    "send_to_vendor": _p(E, S),
    "register_vendor": _p(S),
    "choose_vendor": _p(C, S),
    "ship_to_vendor": _p(C, S),
    "chase_vendor": _p(C, REP, S),
    "vendor_returned": _p(C, E, S),
    "reinspect": _p(E, S),
    "back_to_depot": _p(E, S),
    "record_vendor_failure": _p(C, E, S),
    "offer_replacement_after_vendors": _p(S, REP),
    "give_up_outsourcing": _p(S),
    # spare parts (R28)
    "add_part": _p(C, S),
    "open_stock_location": _p(S),
    "receive_stock": _p(C, S),
    "reserve_parts": _p(E, C, S),
    "issue_part": _p(E, C, S),
    "release_parts": _p(E, C, S),
    "return_defective_part": _p(E, C, S),
    "report_dead_on_arrival": _p(E, C, S),
    # queries
    "view_repairs": _p(C, E, S, REP, CU),
    "view_return_ledger": _p(C, E, S, REP),
    "view_stock": _p(C, E, S, REP),
}

_ORDER = "RepairOrder"
_OUT = "OutsourcedRepair"
_STOCK = "Stock"
_PART_KEYS = UUID("6f1d2a9e-5c1b-4d7e-9a55-6b0c1f2e7d31")  # uuid5 namespace: part SKUs
#: An equipment that is in one of these states is at the depot (R13: one order at a time).
_AT_DEPOT = frozenset(DepotState) - {
    DepotState.DELIVERED, DepotState.RETURNED, DepotState.REPLACED, DepotState.CLOSED,
}
#: An outsourced repair in one of these states holds (or is about to hold) the unit (R14).
_OUT_LIVE = (OutsourcedState.OPENED, OutsourcedState.VENDOR_CHOSEN, OutsourcedState.AT_VENDOR,
             OutsourcedState.RETURNED, OutsourcedState.VENDOR_FAILED)


def _actor(entity: str, actor: object) -> Actor:
    if not isinstance(actor, Actor):
        raise ValidationError(entity, "actor", "an Actor is required")
    return actor


def _uuid(entity: str, field: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, UUID):
        raise ValidationError(entity, field, f"expected a UUID, got {type(value).__name__}")


def _name(entity: str, field: str, value: object, actor: Actor) -> str:
    """The customer's name for an answer: given, or the acting customer's own name."""
    if value is None:
        if not actor.has(Role.CUSTOMER):
            raise ValidationError(entity, field, "staff answering for the customer must name "
                                  "the customer")
        return actor.name
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(entity, field, "must be a non-blank name")
    return value


def _default_authorization(desk: ServiceDesk) -> AuthorizationPolicy:
    policy = desk.authorization
    if isinstance(policy, RoleBasedPolicy):
        return RoleBasedPolicy({**REPAIR_PERMISSIONS, **policy.permissions})
    return policy


class RepairDesk:
    """The application service for depot repair (R13), outsourced repair (R14/R15) and spare
    parts (R28), built on a :class:`ServiceDesk`::

        desk, store = aftersales.in_memory_desk(supervisor=boss, start=t0)
        repairs = RepairDesk(desk)
        order = repairs.receive_at_depot(clerk, request.id, intake=..., promised_at=...)

    ``policy`` is the :class:`RepairPolicy` (R13-R16, R21-R23 defaults). ``authorization``
    decides who may do what (R30); by default the desk's :class:`RoleBasedPolicy` extended
    with :data:`REPAIR_PERMISSIONS`, or the desk's own policy when it is something else (it
    must then know the repair actions).
    """

    def __init__(
        self,
        desk: ServiceDesk,
        *,
        policy: RepairPolicy | None = None,
        authorization: AuthorizationPolicy | None = None,
    ) -> None:
        if not isinstance(desk, ServiceDesk):
            raise ValidationError("RepairDesk", "desk", "a ServiceDesk is required")
        if policy is not None and not isinstance(policy, RepairPolicy):
            raise ValidationError("RepairDesk", "policy", "a RepairPolicy is required")
        self.desk = desk
        self.policy = policy or RepairPolicy()
        self.authorization: AuthorizationPolicy = authorization or _default_authorization(desk)

    # --- plumbing ----------------------------------------------------------------------------

    def _run(
        self,
        key: str | None,
        work: Callable[[UnitOfWork], A],
        lookup: Callable[[UnitOfWork, UUID], A],
        ident: Callable[[A], UUID],
    ) -> A:
        """Run ``work`` through :meth:`ServiceDesk.execute`; with an idempotency ``key`` a
        repeat returns ``lookup(uow, recorded id)`` instead of running ``work`` again."""
        return self.desk.execute(work, idempotency_key=key, lookup=lookup, ident=ident)

    def _authorize(
        self, actor: Actor, action: str, request: ServiceRequest | None,
        order: RepairOrder | None = None,
    ) -> None:
        """R30: ask the policy, with the order's request as context; name the order when
        refused."""
        try:
            self.authorization.authorize(actor, action, request)
        except NotAuthorized as refused:
            if order is None:
                raise
            raise NotAuthorized(refused.actor, refused.action, _ORDER, order.number,
                                str(order.state), refused.why) from None

    def _now(self) -> datetime:
        return self.desk.clock.now()

    def _on_order(
        self,
        action: str,
        actor: object,
        order_id: object,
        step: Callable[[UnitOfWork, RepairOrder, ServiceRequest, datetime], object],
        key: str | None,
    ) -> RepairOrder:
        who = _actor(_ORDER, actor)
        _uuid(_ORDER, "id", order_id)

        def work(uow: UnitOfWork) -> RepairOrder:
            order = uow.repairs.get(order_id)  # type: ignore[arg-type]
            request = uow.requests.get(order.request_id)
            self._authorize(who, action, request, order)
            step(uow, order, request, self._now())
            self._still_matches_settlement(order, action)
            return order

        return self._run(key, work, lambda uow, i: uow.repairs.get(i), lambda o: o.id)

    def _on_outsourced(
        self,
        action: str,
        actor: object,
        outsourced_id: object,
        step: Callable[[UnitOfWork, OutsourcedRepair, RepairOrder, datetime], object],
        key: str | None,
    ) -> OutsourcedRepair:
        who = _actor(_OUT, actor)
        _uuid(_OUT, "id", outsourced_id)

        def work(uow: UnitOfWork) -> OutsourcedRepair:
            repair = uow.outsourced.get(outsourced_id)  # type: ignore[arg-type]
            order = uow.repairs.get(repair.order_id)
            self._authorize(who, action, uow.requests.get(order.request_id), order)
            step(uow, repair, order, self._now())
            self._still_matches_settlement(order, action)
            return repair

        return self._run(key, work, lambda uow, i: uow.outsourced.get(i), lambda r: r.id)

    def _on_stock(
        self,
        action: str,
        actor: object,
        location_id: object,
        step: Callable[[UnitOfWork, Stock, Actor, datetime], object],
        key: str | None,
    ) -> Stock:
        who = _actor(_STOCK, actor)
        _uuid(_STOCK, "location_id", location_id)

        def work(uow: UnitOfWork) -> Stock:
            stock = uow.stock.get(location_id)  # type: ignore[arg-type]
            self._authorize(who, action, None)
            step(uow, stock, who, self._now())
            return stock

        return self._run(key, work, lambda uow, i: uow.stock.get(i), lambda s: s.id)

    @staticmethod
    def _history(uow: UnitOfWork, order: RepairOrder) -> list[RepairHistoryItem]:
        """R21: the repair history of the unit: its other orders, as history items. Only an
        order delivered *repaired* counts as a repair picked up: one handed back unrepaired
        (declined, unrepairable) or replaced carries no pick-up, so it never counts toward a
        replacement nor opens the free re-repair window."""
        items: list[RepairHistoryItem] = []
        for other in uow.repairs.find(equipment_id=order.equipment_id):
            item = other.history_item()  # an unrepaired return carries no pick-up time
            if other.id != order.id and item is not None:
                items.append(item)
        return items

    @staticmethod
    def _complete_request(request: ServiceRequest, order: RepairOrder, actor: Actor,
                          at: datetime, outcome: str) -> None:
        """R13 seam: the depot job ended; the request waits for the customer's confirmation
        (R10). A request no longer waiting for the depot (cancelled meanwhile) is left alone."""
        if request.state is RequestState.HANDED_TO_DEPOT:
            steps.complete_depot(request, resolution=f"{order.number}: {outcome}", actor=actor,
                                 at=at)

    # --- intake (R13, R23) ----------------------------------------------------------------

    def receive_at_depot(
        self,
        actor: Actor,
        request_id: UUID,
        *,
        intake: Intake,
        promised_at: datetime,
        equipment_id: UUID | None = None,
        appointment: Appointment | None = None,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R13: receive the unit of a request ``handed_to_depot``: open a repair order linked
        to the request, its equipment (the request's, or ``equipment_id`` when the request
        names none) and its customer, with the intake inspection and the promised date. A
        unit already at the depot is refused (one order at a time)."""
        who = _actor(_ORDER, actor)
        _uuid(_ORDER, "request_id", request_id)
        _uuid(_ORDER, "equipment_id", equipment_id, optional=True)

        def work(uow: UnitOfWork) -> RepairOrder:
            request = uow.requests.get(request_id)
            self._authorize(who, "receive_at_depot", request)
            if request.state is not RequestState.HANDED_TO_DEPOT:
                raise GuardFailed("ServiceRequest", request.number, str(request.state),
                                  "receive at the depot", "R13: the request was not handed to "
                                  "the depot")
            unit_id = request.equipment_id or equipment_id
            if unit_id is None:
                raise ValidationError(_ORDER, "equipment_id", "the request names no unit; "
                                      "pass equipment_id")
            if equipment_id is not None and equipment_id != unit_id:
                raise ValidationError(_ORDER, "equipment_id", "is not the request's unit")
            unit = uow.equipment.get(unit_id)
            if unit.owner_id is not None and unit.owner_id != request.customer_id:
                raise ValidationError(_ORDER, "equipment_id",
                                      f"equipment {unit.serial} belongs to another customer")
            if uow.repairs.find(request_id=request.id, states=_AT_DEPOT, limit=1):
                raise GuardFailed("ServiceRequest", request.number, str(request.state),
                                  "receive at the depot", "R13: its unit is already at the "
                                  "depot")
            if uow.repairs.find(equipment_id=unit.id, states=_AT_DEPOT, limit=1):
                raise GuardFailed("Equipment", unit.serial, "at the depot",
                                  "receive at the depot", "R13: the unit has an open order")
            now = self._now()
            number = self.desk.ids.service_number(now)
            order = depot.open_repair_order(
                order_id=self.desk.ids.new_id(), number=f"RO-{number.partition('-')[2] or number}",
                request_id=request.id, equipment_id=unit.id, customer_id=request.customer_id,
                intake=intake, promised_at=promised_at, actor=who, at=now, policy=self.policy,
                appointment=appointment,
            )
            uow.repairs.add(order)
            return order

        return self._run(idempotency_key, work, lambda uow, i: uow.repairs.get(i),
                         lambda o: o.id)

    def sign_intake(
        self, actor: Actor, order_id: UUID, *, signed_by: str, idempotency_key: str | None = None
    ) -> RepairOrder:
        """R13: the customer signs the intake form (机器接收单); diagnosis may begin."""
        return self._on_order(
            "sign_intake", actor, order_id,
            lambda uow, o, r, at: depot.sign_intake(o, signed_by=signed_by, actor=actor, at=at),
            idempotency_key,
        )

    # --- diagnosis and estimate (R13, R20-R22) ----------------------------------------------

    def diagnose(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        fault: str,
        cause: str,
        fault_class: FaultClass,
        fault_kind: FaultKind,
        findings: Iterable[Exclusion] = (),
        fault_code: str | None = None,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R13/R20/R21: record the diagnosis. The warranty determination uses the unit's
        equipment file, the customer's service plans and the unit's repair history (other
        orders of the same equipment): free when in warranty and covered or a free re-repair,
        grounds for a replacement after repeated in-warranty repairs of the same fault.
        Damage the customer caused (§9) and dealer-fitted third-party parts (a finding) void
        the coverage."""
        found: object = (
            tuple(findings)
            if isinstance(findings, Iterable) and not isinstance(findings, str | bytes)
            else findings
        )

        def step(uow: UnitOfWork, order: RepairOrder, _: ServiceRequest, at: datetime) -> None:
            unit: Equipment = uow.equipment.get(order.equipment_id)
            depot.diagnose(
                order, fault=fault, cause=cause, fault_class=fault_class, fault_kind=fault_kind,
                equipment=unit, warranty_policy=self.desk.warranty_policy, actor=actor, at=at,
                policy=self.policy, findings=found, fault_code=fault_code,  # type: ignore[arg-type]
                plans=uow.plans.of_customer(order.customer_id),
                history=self._history(uow, order),
            )

        return self._on_order("diagnose", actor, order_id, step, idempotency_key)

    def reopen_diagnosis(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        reason: str,
        kind: ReopenKind,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """§9 (disputed diagnosis, engineer's misjudgement): back to diagnosis; every live
        estimate is withdrawn, so chargeable work needs a new estimate and approval. Refused
        once the job is settled (R25: the settlement would no longer match)."""

        def step(uow: UnitOfWork, order: RepairOrder, _: ServiceRequest, at: datetime) -> None:
            depot.reopen_diagnosis(order, reason=reason, kind=kind, actor=actor, at=at)

        return self._on_order("reopen_diagnosis", actor, order_id, step, idempotency_key)

    def send_estimate(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        lines: Sequence[EstimateLine],
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R22: send the estimate of a chargeable repair (by system, symptom or item; parts
        ours or the customer's, OEM or third-party). The new estimate is
        ``order.estimates[-1]``."""
        estimate_id = self.desk.ids.new_id()
        return self._on_order(
            "send_estimate", actor, order_id,
            lambda uow, o, r, at: depot.send_estimate(
                o, estimate_id=estimate_id, lines=lines, actor=actor, at=at
            ),
            idempotency_key,
        )

    def approve_estimate(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        approved_by: str | None = None,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R13/R22: the customer approves the estimate (a customer acts on their own orders
        only; staff recording the answer name the customer in ``approved_by``)."""
        who = _actor(_ORDER, actor)
        name = _name(_ORDER, "approved_by", approved_by, who)
        return self._on_order(
            "approve_estimate", who, order_id,
            lambda uow, o, r, at: depot.approve_estimate(o, approved_by=name, actor=who, at=at),
            idempotency_key,
        )

    def decline_estimate(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        reason: str,
        declined_by: str | None = None,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R13: the customer declines; the unit goes back unrepaired (the policy's diagnosis
        fee, if any, is settled first)."""
        who = _actor(_ORDER, actor)
        name = _name(_ORDER, "declined_by", declined_by, who)
        return self._on_order(
            "decline_estimate", who, order_id,
            lambda uow, o, r, at: depot.decline_estimate(
                o, declined_by=name, reason=reason, actor=who, at=at, policy=self.policy
            ),
            idempotency_key,
        )

    # --- repair (R13, R22, R23, R28) ------------------------------------------------------

    def start_repair(
        self, actor: Actor, order_id: UUID, *, note: str = "", idempotency_key: str | None = None
    ) -> RepairOrder:
        """R13/R22: start the repair: free, or chargeable with the customer's approval."""
        return self._on_order(
            "start_repair", actor, order_id,
            lambda uow, o, r, at: depot.start_repair(o, actor=actor, at=at, note=note),
            idempotency_key,
        )

    def record_repair_work(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        description: str,
        wipes_data: bool = False,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R13: a step of the repair process record; wiping data needs the customer's
        ``wipe_allowed`` at intake (§9 keeps the old disk)."""
        return self._on_order(
            "record_repair_work", actor, order_id,
            lambda uow, o, r, at: depot.record_repair_work(
                o, description=description, actor=actor, at=at, wipes_data=wipes_data
            ),
            idempotency_key,
        )

    def fit_part(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        sku: str,
        source: PartSource = PartSource.OURS,
        customer_insisted: bool = False,
        old_part: OldPartDisposition | None = None,
        description: str | None = None,
        origin: PartOrigin | None = None,
        storage_media: bool | None = None,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R13/R22/R28: fit a part. A part we supply comes from the catalogue (its name,
        origin, own warranty and whether it is a disk); a customer-supplied part names its
        ``description`` and ``origin``. Customer-supplied or customer-insisted third-party
        parts write the R22 waiver on the order; a disk the customer keeps is never swapped
        or goes back to them (§9)."""

        def step(uow: UnitOfWork, order: RepairOrder, _: ServiceRequest, at: datetime) -> None:
            months: int | None = None
            desc, kind, media = description, origin, storage_media
            if source is PartSource.OURS:
                if not isinstance(sku, str) or not sku.strip():
                    raise ValidationError(_ORDER, "sku", "must be a non-blank string")
                part = uow.parts.get(sku)
                desc = part.name if desc is None else desc
                kind = part.origin if kind is None else kind
                media = part.storage_media if media is None else media
                months = part.warranty_months
            if desc is None or kind is None:
                raise ValidationError(_ORDER, "description/origin",
                                      "a customer-supplied part names its description and origin")
            depot.fit_part(
                order, sku=sku, description=desc, origin=kind, source=source, actor=actor,
                at=at, customer_insisted=customer_insisted,
                storage_media=False if media is None else media, warranty_months=months,
                old_part=old_part,
            )

        return self._on_order("fit_part", actor, order_id, step, idempotency_key)

    def receive_deposit(
        self, actor: Actor, order_id: UUID, *, amount: Money, idempotency_key: str | None = None
    ) -> RepairOrder:
        """R23: a deposit toward expensive parts that must be ordered (at least the policy's
        share of their price); it counts toward the settlement."""
        return self._on_order(
            "receive_deposit", actor, order_id,
            lambda uow, o, r, at: depot.receive_deposit(o, amount=amount, actor=actor, at=at)
           ,
            idempotency_key,
        )

    def wait_for_parts(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        needed: Mapping[str, int],
        reason: str,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R13/R28 (§9 no spare part in stock): the repair waits until these parts (sku →
        quantity, each in the catalogue) are reserved; expensive parts to order need the R23
        deposit first."""

        def step(uow: UnitOfWork, order: RepairOrder, _: ServiceRequest, at: datetime) -> None:
            if isinstance(needed, Mapping):
                for sku in needed:
                    if isinstance(sku, str) and sku.strip():
                        uow.parts.get(sku)
            depot.wait_for_parts(order, needed=needed, reason=reason, actor=actor, at=at)

        return self._on_order("wait_for_parts", actor, order_id, step, idempotency_key)

    def reserve_parts(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        location_id: UUID,
        sku: str,
        quantity: int = 1,
        idempotency_key: str | None = None,
    ) -> Reservation:
        """R28: reserve ``quantity`` × ``sku`` at a stock location for the order and record
        the reservation on the order, in one transaction. Refused (GuardFailed) when fewer
        are available: wait for parts."""
        who = _actor(_ORDER, actor)
        _uuid(_ORDER, "id", order_id)
        _uuid(_ORDER, "location_id", location_id)
        reservation_id = self.desk.ids.new_id()

        def work(uow: UnitOfWork) -> Reservation:
            order = uow.repairs.get(order_id)
            self._authorize(who, "reserve_parts", uow.requests.get(order.request_id), order)
            stock = uow.stock.get(location_id)
            if not isinstance(sku, str) or not sku.strip():
                raise ValidationError(_STOCK, "sku", "must be a non-blank string")
            part = uow.parts.get(sku)
            at = self._now()
            depot.DEPOT_FLOW.check(order, "record_parts_reserved", order.number)
            reservation = stock.reserve(
                reservation_id=reservation_id, order_id=order.id, sku=sku, quantity=quantity,
                actor=who, at=at, supplier_id=part.supplier_id,
            )
            depot.record_parts_reserved(order, reservation=reservation, actor=who, at=at)
            return reservation

        def lookup(uow: UnitOfWork, rid: UUID) -> Reservation:
            return uow.stock.get(location_id).reservations[rid]

        return self._run(idempotency_key, work, lookup, lambda r: r.id)

    def resume_repair(
        self, actor: Actor, order_id: UUID, *, idempotency_key: str | None = None
    ) -> RepairOrder:
        """R13/R28: every part waited for is reserved; the repair continues."""
        return self._on_order(
            "resume_repair", actor, order_id,
            lambda uow, o, r, at: depot.resume_repair(o, actor=actor, at=at),
            idempotency_key,
        )

    def propose_additional_work(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        lines: Sequence[EstimateLine],
        reason: str,
        new_promised_at: datetime,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R13: more work found during the repair needs the customer's consent again and moves
        the promised date later. Refused once the job is settled (R25)."""
        estimate_id = self.desk.ids.new_id()

        def step(uow: UnitOfWork, order: RepairOrder, _: ServiceRequest, at: datetime) -> None:
            depot.propose_additional_work(
                order, estimate_id=estimate_id, lines=lines, reason=reason,
                new_promised_at=new_promised_at, actor=actor, at=at,
            )

        return self._on_order("propose_additional_work", actor, order_id, step, idempotency_key)

    def approve_additional_work(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        approved_by: str | None = None,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R13: the customer consents to the additional work; the promised date moves."""
        who = _actor(_ORDER, actor)
        name = _name(_ORDER, "approved_by", approved_by, who)
        return self._on_order(
            "approve_additional_work", who, order_id,
            lambda uow, o, r, at: depot.approve_additional_work(
                o, approved_by=name, actor=who, at=at, policy=self.policy
            ),
            idempotency_key,
        )

    def decline_additional_work(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        declined_by: str | None = None,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R13: the customer refuses the additional work; the original job continues."""
        who = _actor(_ORDER, actor)
        name = _name(_ORDER, "declined_by", declined_by, who)
        return self._on_order(
            "decline_additional_work", who, order_id,
            lambda uow, o, r, at: depot.decline_additional_work(
                o, declined_by=name, actor=who, at=at
            ),
            idempotency_key,
        )

    def finish_repair(
        self, actor: Actor, order_id: UUID, *, summary: str, idempotency_key: str | None = None
    ) -> RepairOrder:
        """R13: the repair is done; the QC checklist comes next."""
        return self._on_order(
            "finish_repair", actor, order_id,
            lambda uow, o, r, at: depot.finish_repair(o, summary=summary, actor=actor, at=at),
            idempotency_key,
        )

    # --- QC, progress, pick-up (R13, R15, R16) ----------------------------------------------

    def record_qc(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        results: Mapping[str, bool],
        notes: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R13: run the QC checklist (every item answered); only a QC that passes after the
        last repair step opens the way to pick-up and delivery."""
        return self._on_order(
            "record_qc", actor, order_id,
            lambda uow, o, r, at: depot.record_qc(
                o, results=results, actor=actor, at=at, notes=notes
            ),
            idempotency_key,
        )

    def rework(
        self, actor: Actor, order_id: UUID, *, reason: str, idempotency_key: str | None = None
    ) -> RepairOrder:
        """R13/§9: back to repair after a failed QC, or when the customer says at pick-up that
        the job is not right (and refuses to pay for it); a new QC must pass afterwards."""
        return self._on_order(
            "rework", actor, order_id,
            lambda uow, o, r, at: depot.rework(o, reason=reason, actor=actor, at=at),
            idempotency_key,
        )

    def record_progress_check(
        self, actor: Actor, order_id: UUID, *, note: str, idempotency_key: str | None = None
    ) -> RepairOrder:
        """R15: the progress check at ``progress_check_fraction`` of the promised duration."""
        return self._on_order(
            "record_progress_check", actor, order_id,
            lambda uow, o, r, at: depot.record_progress_check(o, note=note, actor=actor, at=at),
            idempotency_key,
        )

    def notify_delay(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        new_promised_at: datetime,
        reason: str,
        apology: str,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R15/R16: tell the customer early of a delay with the reason and an apology; a
        notice later than the R16 lead before the old promise is recorded as late."""
        return self._on_order(
            "notify_delay", actor, order_id,
            lambda uow, o, r, at: depot.notify_delay(
                o, new_promised_at=new_promised_at, reason=reason, apology=apology,
                actor=actor, at=at, policy=self.policy,
            ),
            idempotency_key,
        )

    def mark_ready(
        self, actor: Actor, order_id: UUID, *, pickup_at: datetime,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R16: QC passed; notify the customer 1 h before pick-up for a job under 2 days, 4 h
        for 2 days or more (policy)."""
        return self._on_order(
            "mark_ready", actor, order_id,
            lambda uow, o, r, at: depot.mark_ready(
                o, pickup_at=pickup_at, actor=actor, at=at, policy=self.policy
            ),
            idempotency_key,
        )

    # --- money (R22, R25) ------------------------------------------------------------------

    def apply_discount(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        amount: Money,
        reason: str,
        authorized_by: Actor,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R22/R30: a discount needs a supervisor: ``authorized_by`` must be in the directory
        and hold the SUPERVISOR role there (NotAuthorized otherwise). At most one discount,
        never above what is due, only before settlement."""

        def step(uow: UnitOfWork, order: RepairOrder, _: ServiceRequest, at: datetime) -> None:
            if not isinstance(authorized_by, Actor):
                raise ValidationError(_ORDER, "authorized_by",
                                      "R22: a discount needs the Actor who authorized it")
            approver = uow.actors.get(authorized_by.id)
            if not approver.has(Role.SUPERVISOR):
                raise NotAuthorized(approver.name, "authorize a discount", _ORDER, order.number,
                                    str(order.state), "R22: discounts need a supervisor")
            depot.apply_discount(order, amount=amount, reason=reason, authorized_by=approver,
                                 actor=actor, at=at)

        return self._on_order("apply_discount", actor, order_id, step, idempotency_key)

    def settle(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        amount: Money,
        paid: bool = True,
        outlet: str = "",
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R25: settle the job: ``amount`` must equal the approved estimate + approved
        additions − the authorized discount (zero when free; the diagnosis fee when the unit
        goes back unrepaired). ``paid`` False books a receivable."""
        return self._on_order(
            "settle", actor, order_id,
            lambda uow, o, r, at: depot.settle(
                o, amount=amount, actor=actor, at=at, paid=paid, outlet=outlet
            ),
            idempotency_key,
        )

    # --- outcomes (R13, R21) -----------------------------------------------------------------

    def deliver(
        self, actor: Actor, order_id: UUID, *, signed_by: str, idempotency_key: str | None = None
    ) -> RepairOrder:
        """R13: the customer signs for the repaired unit (after a QC passed since the last
        repair step, and settlement); replaced parts get their own warranty (R21). The linked
        request moves to ``resolved`` in the same transaction (R10: the customer confirms)."""

        def step(uow: UnitOfWork, order: RepairOrder, request: ServiceRequest,
                 at: datetime) -> None:
            depot.deliver(order, signed_by=signed_by, actor=actor, at=at, policy=self.policy)
            self._complete_request(request, order, actor, at, f"delivered to {signed_by}")

        return self._on_order("deliver", actor, order_id, step, idempotency_key)

    def close_order(
        self, actor: Actor, order_id: UUID, *, idempotency_key: str | None = None
    ) -> RepairOrder:
        """R13/R28: close a delivered, returned or replaced order; refused while a part
        reservation for it still holds stock (issue or release it first)."""

        def step(uow: UnitOfWork, order: RepairOrder, _: ServiceRequest, at: datetime) -> None:
            depot.DEPOT_FLOW.check(order, "close", order.number)
            for stock in uow.stock.all():
                for held in stock.reservations_for(order.id):
                    if held.open:
                        raise GuardFailed(
                            _ORDER, order.number, str(order.state), "close",
                            f"R28: reservation {held.id} at {stock.location.name} still holds "
                            f"{held.remaining} × {held.sku}",
                        )
            depot.close(order, actor=actor, at=at)

        return self._on_order("close_order", actor, order_id, step, idempotency_key)

    def declare_unrepairable(
        self, actor: Actor, order_id: UUID, *, reason: str, idempotency_key: str | None = None
    ) -> RepairOrder:
        """R13: the unit cannot be repaired: it goes back unrepaired, or a replacement is
        offered. Refused once the job is settled (R25: no refund is modelled)."""

        def step(uow: UnitOfWork, order: RepairOrder, _: ServiceRequest, at: datetime) -> None:
            depot.DEPOT_FLOW.check(order, "declare_unrepairable", order.number)
            depot.declare_unrepairable(order, reason=reason, actor=actor, at=at)

        return self._on_order("declare_unrepairable", actor, order_id, step, idempotency_key)

    def offer_replacement(
        self, actor: Actor, order_id: UUID, *, model: str, idempotency_key: str | None = None
    ) -> RepairOrder:
        """R21 (§9 repaired several times, the customer wants a replacement): a replacement
        with the same model or better, only with grounds (the same quality fault after enough
        in-warranty repairs, or an unrepairable unit); GuardFailed otherwise."""
        return self._on_order(
            "offer_replacement", actor, order_id,
            lambda uow, o, r, at: depot.offer_replacement(o, model=model, actor=actor, at=at),
            idempotency_key,
        )

    def accept_replacement(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        serial: str,
        signed_by: str,
        idempotency_key: str | None = None,
    ) -> RepairOrder:
        """R21: the customer takes the replacement unit and signs; the request is resolved."""

        def step(uow: UnitOfWork, order: RepairOrder, request: ServiceRequest,
                 at: datetime) -> None:
            depot.accept_replacement(order, serial=serial, signed_by=signed_by, actor=actor,
                                     at=at)
            self._complete_request(request, order, actor, at, f"replaced by {serial}")

        return self._on_order("accept_replacement", actor, order_id, step, idempotency_key)

    def return_unrepaired(
        self, actor: Actor, order_id: UUID, *, signed_by: str, idempotency_key: str | None = None
    ) -> RepairOrder:
        """R13/R25: hand the unit back unrepaired (declined, unrepairable, replacement
        refused) after settling any diagnosis fee; the customer signs and the request is
        resolved."""

        def step(uow: UnitOfWork, order: RepairOrder, request: ServiceRequest,
                 at: datetime) -> None:
            depot.return_unrepaired(order, signed_by=signed_by, actor=actor, at=at)
            self._complete_request(request, order, actor, at, "returned unrepaired")

        return self._on_order("return_unrepaired", actor, order_id, step, idempotency_key)

    # --- outsourced repair (R14, R15) --------------------------------------------------------

    def send_to_vendor(
        self,
        actor: Actor,
        order_id: UUID,
        *,
        reason: str,
        beyond_local_ability: bool = False,
        maker_warranty: bool | None = None,
        idempotency_key: str | None = None,
    ) -> OutsourcedRepair:
        """R14: open an outsourced repair: only for a unit in the maker's warranty (by default
        the order's determination) or beyond our local ability; a chargeable repair needs the
        customer's approval first; a unit never goes to two vendors at once; a settled job is
        reworked locally (R25: a vendor that fails would leave nothing to charge)."""
        who = _actor(_ORDER, actor)
        _uuid(_ORDER, "id", order_id)
        outsourced_id = self.desk.ids.new_id()

        def work(uow: UnitOfWork) -> OutsourcedRepair:
            order = uow.repairs.get(order_id)
            self._authorize(who, "send_to_vendor", uow.requests.get(order.request_id), order)
            depot.DEPOT_FLOW.check(order, "send_to_vendor", order.number)
            if uow.outsourced.find(equipment_id=order.equipment_id, states=_OUT_LIVE, limit=1):
                raise GuardFailed(_ORDER, order.number, str(order.state), "send to a vendor",
                                  "R14: the unit is already out to a vendor")
            repair = depot.send_to_vendor(
                order, outsourced_id=outsourced_id, reason=reason, actor=who, at=self._now(),
                policy=self.policy, beyond_local_ability=beyond_local_ability,
                maker_warranty=maker_warranty,
            )
            uow.outsourced.add(repair)
            return repair

        return self._run(idempotency_key, work, lambda uow, i: uow.outsourced.get(i),
                         lambda r: r.id)

    def register_vendor(
        self,
        actor: Actor,
        *,
        name: str,
        contact: str,
        capabilities: Iterable[str] = (),
        idempotency_key: str | None = None,
    ) -> Vendor:
        """R14: add an external repair station to the vendor registry."""
        who = _actor("Vendor", actor)
        self._authorize(who, "register_vendor", None)
        vendor = Vendor(self.desk.ids.new_id(), name, contact, capabilities)

        def work(uow: UnitOfWork) -> Vendor:
            uow.vendors.add(vendor)
            return vendor

        return self._run(idempotency_key, work, lambda uow, i: uow.vendors.get(i),
                         lambda v: v.id)

    def choose_vendor(
        self,
        actor: Actor,
        outsourced_id: UUID,
        *,
        vendor_id: UUID,
        capability: str | None = None,
        idempotency_key: str | None = None,
    ) -> OutsourcedRepair:
        """R14: agree with a vendor from the registry (active, not one that already failed on
        this unit, able to repair ``capability``); the loop is bounded by the policy."""
        _uuid(_OUT, "vendor_id", vendor_id)

        def step(uow: UnitOfWork, repair: OutsourcedRepair, _: RepairOrder, at: datetime) -> None:
            vendor = uow.vendors.get(vendor_id)
            outsourced.choose_vendor(repair, vendor=vendor, actor=actor, at=at,
                                     capability=capability)

        return self._on_outsourced("choose_vendor", actor, outsourced_id, step, idempotency_key)

    def ship_to_vendor(
        self,
        actor: Actor,
        outsourced_id: UUID,
        *,
        carrier: str,
        tracking_number: str,
        voucher: str,
        promised_by: datetime,
        idempotency_key: str | None = None,
    ) -> OutsourcedRepair:
        """R14/R15: ship the unit keeping the receipt / pick-up voucher; the first chase is
        scheduled ``vendor_chase_lead`` before the vendor's promised date."""
        return self._on_outsourced(
            "ship_to_vendor", actor, outsourced_id,
            lambda uow, rep, o, at: outsourced.ship_to_vendor(
                rep, carrier=carrier, tracking_number=tracking_number, voucher=voucher,
                promised_by=promised_by, actor=actor, at=at, policy=self.policy,
            ),
            idempotency_key,
        )

    def chase_vendor(
        self,
        actor: Actor,
        outsourced_id: UUID,
        *,
        response: str,
        new_promised_by: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> OutsourcedRepair:
        """R15: chase the vendor; its answer (and a new promised date) is recorded and the
        next chase scheduled."""
        return self._on_outsourced(
            "chase_vendor", actor, outsourced_id,
            lambda uow, rep, o, at: outsourced.chase_vendor(
                rep, response=response, actor=actor, at=at, policy=self.policy,
                new_promised_by=new_promised_by,
            ),
            idempotency_key,
        )

    def vendor_returned(
        self,
        actor: Actor,
        outsourced_id: UUID,
        *,
        vendor_report: str,
        idempotency_key: str | None = None,
    ) -> OutsourcedRepair:
        """R14: the unit came back from the vendor; it must be re-inspected."""
        return self._on_outsourced(
            "vendor_returned", actor, outsourced_id,
            lambda uow, rep, o, at: outsourced.unit_returned(
                rep, vendor_report=vendor_report, actor=actor, at=at
            ),
            idempotency_key,
        )

    def reinspect(
        self,
        actor: Actor,
        outsourced_id: UUID,
        *,
        results: Mapping[str, bool],
        notes: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> OutsourcedRepair:
        """R14: re-inspect the returned unit with the depot's QC checklist."""
        return self._on_outsourced(
            "reinspect", actor, outsourced_id,
            lambda uow, rep, o, at: outsourced.reinspect(
                rep, results=results, actor=actor, at=at, notes=notes
            ),
            idempotency_key,
        )

    def back_to_depot(
        self, actor: Actor, outsourced_id: UUID, *, idempotency_key: str | None = None
    ) -> OutsourcedRepair:
        """R14: the re-inspected unit goes back to its depot order, which leaves
        ``at_vendor`` for its own QC (the vendor's work counts as the last repair step)."""

        def step(uow: UnitOfWork, repair: OutsourcedRepair, order: RepairOrder,
                 at: datetime) -> None:
            depot.DEPOT_FLOW.check(order, "receive_from_vendor", order.number)
            outsourced.back_to_depot(repair, actor=actor, at=at)
            depot.receive_from_vendor(order, outsourced=repair, actor=actor, at=at)

        return self._on_outsourced("back_to_depot", actor, outsourced_id, step, idempotency_key)

    def record_vendor_failure(
        self,
        actor: Actor,
        outsourced_id: UUID,
        *,
        reason: str,
        idempotency_key: str | None = None,
    ) -> OutsourcedRepair:
        """R14: the vendor could not repair the unit (or it failed re-inspection); another
        vendor may be chosen while the policy allows, else offer a replacement or give up."""
        return self._on_outsourced(
            "record_vendor_failure", actor, outsourced_id,
            lambda uow, rep, o, at: outsourced.record_vendor_failure(
                rep, reason=reason, actor=actor, at=at
            ),
            idempotency_key,
        )

    def offer_replacement_after_vendors(
        self,
        actor: Actor,
        outsourced_id: UUID,
        *,
        reason: str,
        model: str,
        idempotency_key: str | None = None,
    ) -> OutsourcedRepair:
        """R14/R21: no vendor could repair the unit: the outsourced repair ends, the depot
        order becomes unrepairable and a replacement ``model`` is offered on it."""

        def step(uow: UnitOfWork, repair: OutsourcedRepair, order: RepairOrder,
                 at: datetime) -> None:
            depot.DEPOT_FLOW.check(order, "vendor_gave_up", order.number)
            if not isinstance(model, str) or not model.strip():
                raise ValidationError(_ORDER, "model", "must not be blank")
            outsourced.offer_replacement(repair, reason=reason, actor=actor, at=at)
            depot.vendor_gave_up(order, outsourced=repair, actor=actor, at=at)
            depot.offer_replacement(order, model=model, actor=actor, at=at)

        return self._on_outsourced("offer_replacement_after_vendors", actor, outsourced_id,
                                   step, idempotency_key)

    def give_up_outsourcing(
        self,
        actor: Actor,
        outsourced_id: UUID,
        *,
        reason: str,
        idempotency_key: str | None = None,
    ) -> OutsourcedRepair:
        """R14: stop trying vendors; the depot order becomes unrepairable (return it
        unrepaired, or offer a replacement on the order)."""

        def step(uow: UnitOfWork, repair: OutsourcedRepair, order: RepairOrder,
                 at: datetime) -> None:
            depot.DEPOT_FLOW.check(order, "vendor_gave_up", order.number)
            outsourced.give_up(repair, reason=reason, actor=actor, at=at)
            depot.vendor_gave_up(order, outsourced=repair, actor=actor, at=at)

        return self._on_outsourced("give_up_outsourcing", actor, outsourced_id, step,
                                   idempotency_key)

    # --- spare parts (R28) -----------------------------------------------------------------

    def add_part(
        self, actor: Actor, part: Part, *, idempotency_key: str | None = None
    ) -> Part:
        """R28: add a part to the catalogue (SKUs are unique)."""
        who = _actor("Part", actor)
        self._authorize(who, "add_part", None)
        if not isinstance(part, Part):
            raise ValidationError("Part", "part", "must be a Part")

        def work(uow: UnitOfWork) -> Part:
            uow.parts.add(part)
            return part

        return self._run(idempotency_key, work, lambda uow, _: uow.parts.get(part.sku),
                         lambda p: uuid5(_PART_KEYS, p.sku))

    def open_stock_location(
        self,
        actor: Actor,
        *,
        name: str,
        kind: LocationKind = LocationKind.WAREHOUSE,
        engineer_id: UUID | None = None,
        idempotency_key: str | None = None,
    ) -> Stock:
        """R28: open a stock location: a warehouse, or an engineer's own stock."""
        who = _actor(_STOCK, actor)
        self._authorize(who, "open_stock_location", None)
        _uuid(_STOCK, "engineer_id", engineer_id, optional=True)
        location = StockLocation(self.desk.ids.new_id(), name, kind, engineer_id)

        def work(uow: UnitOfWork) -> Stock:
            if engineer_id is not None and not uow.actors.get(engineer_id).has(Role.ENGINEER):
                raise ValidationError(_STOCK, "engineer_id", "is not an engineer")
            stock = Stock(location)
            uow.stock.add(stock)
            return stock

        return self._run(idempotency_key, work, lambda uow, i: uow.stock.get(i), lambda s: s.id)

    def receive_stock(
        self,
        actor: Actor,
        location_id: UUID,
        *,
        sku: str,
        quantity: int,
        supplier_id: UUID | None = None,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> Stock:
        """R28: goods receipt signed off at a location (the SKU must be in the catalogue)."""

        def step(uow: UnitOfWork, stock: Stock, who: Actor, at: datetime) -> None:
            if isinstance(sku, str) and sku.strip():
                uow.parts.get(sku)
            stock.receive(sku=sku, quantity=quantity, actor=who, at=at, supplier_id=supplier_id,
                          note=note)

        return self._on_stock("receive_stock", actor, location_id, step, idempotency_key)

    def issue_part(
        self,
        actor: Actor,
        location_id: UUID,
        *,
        reservation_id: UUID,
        quantity: int = 1,
        idempotency_key: str | None = None,
    ) -> Stock:
        """R28: issue reserved units to the job (consumed from stock)."""
        return self._on_stock(
            "issue_part", actor, location_id,
            lambda uow, s, who, at: s.issue(reservation_id=reservation_id, actor=who, at=at,
                                            quantity=quantity),
            idempotency_key,
        )

    def release_parts(
        self,
        actor: Actor,
        location_id: UUID,
        *,
        reservation_id: UUID,
        idempotency_key: str | None = None,
    ) -> Stock:
        """R28: give the unused rest of a reservation back to available stock."""
        return self._on_stock(
            "release_parts", actor, location_id,
            lambda uow, s, who, at: s.release(reservation_id=reservation_id, actor=who, at=at)
           ,
            idempotency_key,
        )

    def return_defective_part(
        self,
        actor: Actor,
        location_id: UUID,
        *,
        order_id: UUID,
        sku: str,
        quantity: int = 1,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> Stock:
        """R28: a defective part removed from the order's unit is booked for return to its
        supplier (the catalogue's). §9: a disk the customer keeps is never returned."""

        def step(uow: UnitOfWork, stock: Stock, who: Actor, at: datetime) -> None:
            _uuid(_STOCK, "order_id", order_id)
            order = uow.repairs.get(order_id)
            if not isinstance(sku, str) or not sku.strip():
                raise ValidationError(_STOCK, "sku", "must be a non-blank string")
            part = uow.parts.get(sku)
            if part.storage_media and order.intake.data_handling is not (
                DataHandling.WIPE_ALLOWED
            ):
                raise GuardFailed(_ORDER, order.number, str(order.state),
                                  f"return {sku} to its supplier",
                                  f"§9: the customer keeps the old disk "
                                  f"({order.intake.data_handling})")
            stock.return_defective(order_id=order.id, sku=sku, actor=who, at=at,
                                   quantity=quantity, supplier_id=part.supplier_id, note=note)

        return self._on_stock("return_defective_part", actor, location_id, step,
                              idempotency_key)

    def report_dead_on_arrival(
        self,
        actor: Actor,
        location_id: UUID,
        *,
        reservation_id: UUID,
        note: str = "",
        supplier_id: UUID | None = None,
        idempotency_key: str | None = None,
    ) -> Stock:
        """R28/§9: an issued part was dead on arrival: recorded against its supplier and
        replaced from stock when one is available (else the job waits for parts)."""
        return self._on_stock(
            "report_dead_on_arrival", actor, location_id,
            lambda uow, s, who, at: s.dead_on_arrival(
                reservation_id=reservation_id, actor=who, at=at, note=note,
                supplier_id=supplier_id,
            ),
            idempotency_key,
        )

    # --- queries -----------------------------------------------------------------------------

    def get_order(self, actor: Actor, order_id: UUID) -> RepairOrder:
        """One repair order (a customer sees only their own)."""
        who = _actor(_ORDER, actor)
        _uuid(_ORDER, "id", order_id)
        with self.desk.uow_factory() as uow:
            order = uow.repairs.get(order_id)
            self._authorize(who, "view_repairs", uow.requests.get(order.request_id), order)
            return order

    def get_outsourced(self, actor: Actor, outsourced_id: UUID) -> OutsourcedRepair:
        """One outsourced repair (a customer sees only their own)."""
        who = _actor(_OUT, actor)
        _uuid(_OUT, "id", outsourced_id)
        with self.desk.uow_factory() as uow:
            repair = uow.outsourced.get(outsourced_id)
            order = uow.repairs.get(repair.order_id)
            self._authorize(who, "view_repairs", uow.requests.get(order.request_id), order)
            return repair

    def orders_of_equipment(self, actor: Actor, equipment_id: UUID) -> list[RepairOrder]:
        """R3/R21: every repair order of a unit, oldest intake first (a customer: own only)."""
        who = _actor(_ORDER, actor)
        _uuid(_ORDER, "equipment_id", equipment_id)
        self._authorize(who, "view_repairs", None)
        with self.desk.uow_factory() as uow:
            orders = uow.repairs.find(equipment_id=equipment_id)
        return self._visible(who, orders)

    def orders_of_customer(self, actor: Actor, customer_id: UUID) -> list[RepairOrder]:
        """R3: every repair order of a customer, oldest intake first (a customer: own only)."""
        who = _actor(_ORDER, actor)
        _uuid(_ORDER, "customer_id", customer_id)
        self._authorize(who, "view_repairs", None)
        with self.desk.uow_factory() as uow:
            orders = uow.repairs.find(customer_id=customer_id)
        return self._visible(who, orders)

    def get_stock(self, actor: Actor, location_id: UUID) -> Stock:
        """R28: a location's stock levels, reservations and movements (staff only)."""
        who = _actor(_STOCK, actor)
        _uuid(_STOCK, "location_id", location_id)
        self._authorize(who, "view_stock", None)
        with self.desk.uow_factory() as uow:
            return uow.stock.get(location_id)

    def return_ledger(self, actor: Actor) -> list[LedgerLine]:
        """R14: the return ledger (返厂记录): every unit now at a vendor, for how long and
        whether it is overdue (staff only)."""
        who = _actor(_OUT, actor)
        self._authorize(who, "view_return_ledger", None)
        with self.desk.uow_factory() as uow:
            repairs = uow.outsourced.find(states=[OutsourcedState.AT_VENDOR])
        return return_ledger(repairs, self._now())

    @staticmethod
    def _visible(actor: Actor, orders: list[RepairOrder]) -> list[RepairOrder]:
        staff = actor.roles - {Role.CUSTOMER}
        if staff:
            return orders
        return [o for o in orders if o.customer_id == actor.customer_id]

    @staticmethod
    def _still_matches_settlement(order: RepairOrder, action: str) -> None:
        """R25: a step may not change what a settled job costs (no refund or credit note is
        modelled); the whole command is refused instead."""
        settled = order.settlement
        if settled is not None and order.amount_due() != settled.total:
            raise GuardFailed(_ORDER, order.number, str(order.state), action.replace("_", " "),
                              f"R25: the job was settled at {settled.total}; this would make "
                              f"{order.amount_due()} due")

