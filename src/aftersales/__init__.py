"""aftersales: after-sales service management as a library.

Customers, equipment, service requests and their remote and on-site flows as typed entities
with explicit, checkable state machines; ports for storage, clock, ids, events and
authorization; in-memory and SQL adapters. The public API is re-exported here; everything
else lives in the subpackages (``domain``, ``workflows``, ``ports``, ``service``,
``adapters``, ``testing``).
"""

from __future__ import annotations

from datetime import datetime

from aftersales import errors
from aftersales.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from aftersales.adapters.system import ManualClock, RandomIds, SequentialIds, SystemClock
from aftersales.domain import (
    Actor,
    Address,
    Category,
    Channel,
    Contact,
    Customer,
    CustomerKind,
    CustomerTier,
    DepotState,
    DomainEvent,
    Equipment,
    Exclusion,
    Impact,
    Money,
    OnSiteState,
    OutsourcedRepair,
    OutsourcedState,
    Part,
    Priority,
    PriorityMatrix,
    RemoteState,
    RepairOrder,
    RepairPolicy,
    RequestState,
    Role,
    ServicePlan,
    ServiceRequest,
    Stock,
    StockLocation,
    Urgency,
    Vendor,
    WarrantyBasis,
    WarrantyDetermination,
    WarrantyPolicy,
)
from aftersales.ports import Clock, EventPublisher, IdGenerator
from aftersales.service import RepairDesk, RoleBasedPolicy, ServiceDesk
from aftersales.workflows import WORKFLOWS, check_workflow, verify_record

__all__ = [
    "WORKFLOWS",
    "Actor",
    "Address",
    "Category",
    "Channel",
    "Contact",
    "Customer",
    "CustomerKind",
    "CustomerTier",
    "DepotState",
    "DomainEvent",
    "Equipment",
    "Exclusion",
    "Impact",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "ManualClock",
    "Money",
    "OnSiteState",
    "OutsourcedRepair",
    "OutsourcedState",
    "Part",
    "Priority",
    "PriorityMatrix",
    "RandomIds",
    "RemoteState",
    "RepairDesk",
    "RepairOrder",
    "RepairPolicy",
    "RequestState",
    "Role",
    "RoleBasedPolicy",
    "SequentialIds",
    "ServiceDesk",
    "ServicePlan",
    "ServiceRequest",
    "Stock",
    "StockLocation",
    "SystemClock",
    "Urgency",
    "Vendor",
    "WarrantyBasis",
    "WarrantyDetermination",
    "WarrantyPolicy",
    "check_workflow",
    "errors",
    "in_memory_desk",
    "verify_record",
]


def in_memory_desk(
    *,
    supervisor: Actor,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    publisher: EventPublisher | None = None,
    priority_matrix: PriorityMatrix | None = None,
    warranty_policy: WarrantyPolicy | None = None,
    start: datetime | None = None,
) -> tuple[ServiceDesk, InMemoryStore]:
    """A ready :class:`ServiceDesk` on a fresh in-memory store, with ``supervisor`` enrolled
    as the first actor (who can then register everyone else)."""
    store = InMemoryStore()
    store.actors[supervisor.id] = supervisor
    if clock is None:
        clock = ManualClock(start) if start is not None else SystemClock()
    desk = ServiceDesk(
        store.unit_of_work,
        clock=clock,
        ids=ids or RandomIds(),
        publisher=publisher,
        priority_matrix=priority_matrix,
        warranty_policy=warranty_policy,
    )
    return desk, store
