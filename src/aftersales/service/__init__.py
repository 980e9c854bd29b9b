"""The service (application) layer: commands, authorization and wiring."""

from aftersales.service.authorization import DEFAULT_PERMISSIONS, Permission, RoleBasedPolicy
from aftersales.service.desk import NullPublisher, ServiceDesk

__all__ = ["DEFAULT_PERMISSIONS", "NullPublisher", "Permission", "RoleBasedPolicy", "ServiceDesk"]
