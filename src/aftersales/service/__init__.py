"""The service (application) layer: commands, the one runner, authorization and the desks."""

from aftersales.service.authorization import DEFAULT_PERMISSIONS, Permission, RoleBasedPolicy
from aftersales.service.commands import Command
from aftersales.service.desk import NullPublisher, ServiceDesk
from aftersales.service.records import enroll_first_supervisor
from aftersales.service.repairs import RepairDesk
from aftersales.service.runner import CommandRunner, Context, Handler, Settings

__all__ = [
    "DEFAULT_PERMISSIONS",
    "Command",
    "CommandRunner",
    "Context",
    "Handler",
    "NullPublisher",
    "Permission",
    "RepairDesk",
    "RoleBasedPolicy",
    "ServiceDesk",
    "Settings",
    "enroll_first_supervisor",
]
