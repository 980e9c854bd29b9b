"""aftersales: after-sales service management as a library.

Customers, equipment, service requests and their remote and on-site flows as typed entities
with explicit, checkable state machines; ports for storage, clock, ids, events and
authorization; in-memory and SQL adapters. The public API is re-exported here; everything
else lives in the subpackages (``domain``, ``workflows``, ``ports``, ``service``,
``adapters``, ``testing``).
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aftersales import commands, errors
from aftersales.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from aftersales.adapters.system import ManualClock, RandomIds, SequentialIds, SystemClock
from aftersales.domain import (
    KINDS,
    Actor,
    Address,
    Aggregate,
    AggregateEvent,
    AggregateKind,
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
    Kinds,
    Money,
    OnSiteState,
    OutsourcedRepair,
    OutsourcedState,
    Part,
    Priority,
    PriorityMatrix,
    QueryField,
    RecordEntry,
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
from aftersales.domain.parts import LocationKind, PartOrigin, PartSource
from aftersales.domain.repair import (
    Appointment,
    DataHandling,
    EstimateBasis,
    EstimateLine,
    FaultCatalogue,
    FaultClass,
    FaultKind,
    Intake,
    LineKind,
    OldPartDisposition,
    ReopenKind,
)
from aftersales.domain.request import DispatchApproval
from aftersales.ports import Clock, EventPublisher, IdGenerator
from aftersales.service import (
    Command,
    Handler,
    Permission,
    RepairDesk,
    RoleBasedPolicy,
    ServiceDesk,
    enroll_first_supervisor,
)
from aftersales.workflows import WORKFLOWS, check_workflow, verify_record

if TYPE_CHECKING:
    from aftersales.adapters.sql import SqlStore

__all__ = [
    "KINDS",
    "WORKFLOWS",
    "Actor",
    "Address",
    "Aggregate",
    "AggregateEvent",
    "AggregateKind",
    "Appointment",
    "Category",
    "Channel",
    "Clock",
    "Command",
    "Contact",
    "Customer",
    "CustomerKind",
    "CustomerTier",
    "DataHandling",
    "DepotState",
    "DispatchApproval",
    "DomainEvent",
    "Equipment",
    "EstimateBasis",
    "EstimateLine",
    "EventPublisher",
    "Exclusion",
    "FaultCatalogue",
    "FaultClass",
    "FaultKind",
    "Handler",
    "IdGenerator",
    "Impact",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "Intake",
    "Kinds",
    "LineKind",
    "LocationKind",
    "ManualClock",
    "Money",
    "OldPartDisposition",
    "OnSiteState",
    "OutsourcedRepair",
    "OutsourcedState",
    "Part",
    "PartOrigin",
    "PartSource",
    "Permission",
    "Priority",
    "PriorityMatrix",
    "QueryField",
    "RandomIds",
    "RecordEntry",
    "RemoteState",
    "ReopenKind",
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
    "commands",
    "enroll_first_supervisor",
    "errors",
    "in_memory_desk",
    "sql_desk",
    "verify_record",
]


def _first_supervisor(supervisor: Actor) -> Actor:
    if not isinstance(supervisor, Actor):
        raise errors.ValidationError("ServiceDesk", "supervisor", "an Actor is required")
    return supervisor


def in_memory_desk(
    *,
    supervisor: Actor,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    publisher: EventPublisher | None = None,
    priority_matrix: PriorityMatrix | None = None,
    warranty_policy: WarrantyPolicy | None = None,
    repair_policy: RepairPolicy | None = None,
    kinds: Kinds | None = None,
    start: datetime | None = None,
) -> tuple[ServiceDesk, InMemoryStore]:
    """A ready :class:`ServiceDesk` on a fresh in-memory store, with ``supervisor`` (its id
    and name) enrolled as the first actor, who can then register everyone else."""
    first = _first_supervisor(supervisor)
    store = InMemoryStore(kinds)
    if clock is None:
        clock = ManualClock(start) if start is not None else SystemClock()
    enroll_first_supervisor(store.unit_of_work, actor_id=first.id, name=first.name,
                            at=clock.now(), roles=first.roles)
    desk = ServiceDesk(
        store.unit_of_work, clock=clock, ids=ids or RandomIds(), publisher=publisher,
        priority_matrix=priority_matrix, warranty_policy=warranty_policy,
        repair_policy=repair_policy, kinds=store.kinds,
    )
    return desk, store


def sql_desk(
    url: str | os.PathLike[str],
    *,
    supervisor: Actor,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    publisher: EventPublisher | None = None,
    priority_matrix: PriorityMatrix | None = None,
    warranty_policy: WarrantyPolicy | None = None,
    repair_policy: RepairPolicy | None = None,
    migrate: bool = True,
    **engine_options: Any,
) -> tuple[ServiceDesk, SqlStore]:
    """A ready :class:`ServiceDesk` on SQL storage at ``url`` (a SQLAlchemy URL or a SQLite
    file path): the schema migrated to the head revision (unless ``migrate=False``) and
    ``supervisor`` enrolled as the first actor when the directory is empty. Run it again on
    the same database and it continues where it stopped. ``engine_options`` go to
    :func:`aftersales.adapters.sql.create_engine` (e.g. ``isolation_level``)."""
    from aftersales.adapters.sql import SqlStore, create_engine, upgrade

    first = _first_supervisor(supervisor)
    if clock is None:
        clock = SystemClock()
    engine = create_engine(url, **engine_options)
    if migrate:
        upgrade(engine)
    store = SqlStore(engine, clock=clock)
    with store.unit_of_work() as uow:
        empty = not uow.actors.find(limit=1)
    if empty:
        enroll_first_supervisor(store.unit_of_work, actor_id=first.id, name=first.name,
                                at=clock.now(), roles=first.roles)
    desk = ServiceDesk(
        store.unit_of_work, clock=clock, ids=ids or RandomIds(), publisher=publisher,
        priority_matrix=priority_matrix, warranty_policy=warranty_policy,
        repair_policy=repair_policy, kinds=store.kinds,
    )
    return desk, store
