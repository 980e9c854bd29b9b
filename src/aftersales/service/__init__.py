"""The service (application) layer: commands, authorization and wiring."""

from aftersales.service.authorization import DEFAULT_PERMISSIONS, Permission, RoleBasedPolicy
from aftersales.service.desk import NullPublisher, ServiceDesk
from aftersales.service.repairs import REPAIR_PERMISSIONS, RepairDesk

__all__ = [
    "DEFAULT_PERMISSIONS",
    "REPAIR_PERMISSIONS",
    "NullPublisher",
    "Permission",
    "RepairDesk",
    "RoleBasedPolicy",
    "ServiceDesk",
]
