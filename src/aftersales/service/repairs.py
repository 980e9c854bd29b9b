"""The repair desk: the typed methods of depot repair (R13), outsourced repair (R14, R15) and
spare parts (R28), and their queries, on a :class:`~aftersales.service.desk.ServiceDesk`.

Every command runs through the desk's one runner (directory, idempotency, authorization
against what was loaded, commit, publication), with this desk's repair policy.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import attrs

from aftersales.domain.parts import Stock
from aftersales.domain.records import Actor
from aftersales.domain.repair import (
    LedgerLine,
    OutsourcedRepair,
    OutsourcedState,
    RepairOrder,
    RepairPolicy,
    return_ledger,
)
from aftersales.errors import NotAuthorized, ValidationError
from aftersales.ports import AuthorizationPolicy
from aftersales.service.desk import ServiceDesk
from aftersales.service.desk_depot import DepotCommands
from aftersales.service.desk_outsourced import OutsourcedCommands, PartsCommands
from aftersales.service.runner import Context

__all__ = ["RepairDesk"]


def _uuid(entity: str, field: str, value: object) -> None:
    if not isinstance(value, UUID):
        raise ValidationError(entity, field, f"expected a UUID, got {type(value).__name__}")


class RepairDesk(DepotCommands, OutsourcedCommands, PartsCommands):
    """Depot repair, outsourced repair and spare parts on a :class:`ServiceDesk`::

        desk, store = aftersales.in_memory_desk(supervisor=boss, start=t0)
        repairs = RepairDesk(desk)
        order = repairs.receive_at_depot(clerk, request.id, intake=..., promised_at=...)

    ``policy`` replaces the desk's :class:`RepairPolicy` (R13-R16, R21-R23 defaults) for the
    commands of this desk; ``authorization`` its authorization policy (R30).
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
        self.settings = attrs.evolve(
            desk.settings,
            repair_policy=policy or desk.settings.repair_policy,
            authorization=authorization or desk.settings.authorization,
        )

    @property
    def policy(self) -> RepairPolicy:
        """The repair policy of this desk's commands."""
        return self.settings.repair_policy

    # --- queries -------------------------------------------------------------------------

    def get_order(self, actor: Actor | UUID, order_id: UUID) -> RepairOrder:
        """One repair order (a customer sees only their own)."""
        _uuid("RepairOrder", "id", order_id)

        def read(ctx: Context) -> RepairOrder:
            order = ctx.uow.repairs.get(order_id)
            ctx.authorize("view", order)
            return order

        return self._query(actor, "view", read)

    def get_outsourced(self, actor: Actor | UUID, outsourced_id: UUID) -> OutsourcedRepair:
        """One outsourced repair (a customer sees only their own)."""
        _uuid("OutsourcedRepair", "id", outsourced_id)

        def read(ctx: Context) -> OutsourcedRepair:
            repair = ctx.uow.outsourced.get(outsourced_id)
            ctx.authorize("view", repair)
            return repair

        return self._query(actor, "view", read)

    def orders_of_equipment(self, actor: Actor | UUID, equipment_id: UUID) -> list[RepairOrder]:
        """R3/R21: every repair order of a unit, oldest intake first (a customer: own only)."""
        _uuid("RepairOrder", "equipment_id", equipment_id)
        return self._visible_orders(actor, equipment_id=equipment_id)

    def orders_of_customer(self, actor: Actor | UUID, customer_id: UUID) -> list[RepairOrder]:
        """R3: every repair order of a customer, oldest intake first (a customer: own only)."""
        _uuid("RepairOrder", "customer_id", customer_id)
        return self._visible_orders(actor, customer_id=customer_id)

    def _visible_orders(self, actor: Actor | UUID, **criteria: Any) -> list[RepairOrder]:
        def read(ctx: Context) -> list[RepairOrder]:
            found = []
            for order in ctx.uow.repairs.find(**criteria):
                try:
                    ctx.authorize("view", order)
                except NotAuthorized:
                    continue
                found.append(order)
            return found

        return self._query(actor, "view", read)

    def get_stock(self, actor: Actor | UUID, location_id: UUID) -> Stock:
        """R28: a location's stock levels, reservations and movements (staff only)."""
        _uuid("Stock", "location_id", location_id)

        def read(ctx: Context) -> Stock:
            stock = ctx.uow.stock.get(location_id)
            ctx.authorize("view_stock", stock)
            return stock

        return self._query(actor, "view_stock", read)

    def return_ledger(self, actor: Actor | UUID) -> list[LedgerLine]:
        """R14: the return ledger (返厂记录): every unit now at a vendor (a failed vendor's
        too, until the unit is back), for how long and whether overdue (staff only)."""

        def read(ctx: Context) -> list[LedgerLine]:
            ctx.authorize("view_return_ledger", None)
            repairs = ctx.uow.outsourced.find(
                state=[OutsourcedState.AT_VENDOR, OutsourcedState.FAILED_AT_VENDOR]
            )
            return return_ledger(repairs, ctx.now)

        return self._query(actor, "view_return_ledger", read)
