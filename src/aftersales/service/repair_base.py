"""The base of the repair desk's typed methods: the desk's runner with the repair settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from aftersales.domain.records import Actor
from aftersales.service.commands import Command
from aftersales.service.desk import ServiceDesk
from aftersales.service.runner import Context, Settings

__all__ = ["RepairRunner"]

T = TypeVar("T")


class RepairRunner:
    """Runs repair commands on a :class:`ServiceDesk` with this desk's :class:`Settings` (its
    repair policy and authorization)."""

    desk: ServiceDesk
    settings: Settings

    def _run(self, command: Command) -> Any:
        return self.desk.execute(command, settings=self.settings)

    def _as(self, kind: type[T], command: Command) -> T:
        result = self._run(command)
        assert isinstance(result, kind)
        return result

    def _query(self, actor: Actor | UUID, action: str, read: Callable[[Context], T]) -> T:
        return self.desk.query(actor, action, read, settings=self.settings)
