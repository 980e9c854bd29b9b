"""Every shipped command handler, in one table the desk registers."""

from __future__ import annotations

from typing import Any

from aftersales.service.depot_closing import CLOSING_HANDLERS
from aftersales.service.depot_handlers import DEPOT_HANDLERS
from aftersales.service.outsourced import OUTSOURCED_HANDLERS
from aftersales.service.parts import PARTS_HANDLERS
from aftersales.service.records import RECORD_HANDLERS
from aftersales.service.requests import REQUEST_HANDLERS
from aftersales.service.runner import Handler

__all__ = ["SHIPPED_HANDLERS"]

#: The handlers of every shipped command.
SHIPPED_HANDLERS: tuple[Handler[Any], ...] = (
    *RECORD_HANDLERS, *REQUEST_HANDLERS, *DEPOT_HANDLERS, *CLOSING_HANDLERS,
    *OUTSOURCED_HANDLERS, *PARTS_HANDLERS,
)
