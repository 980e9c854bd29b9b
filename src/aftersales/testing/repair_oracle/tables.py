"""What the repair oracle works from: the states that finish an order or keep a unit out
(:data:`FINISHED`, :data:`LIVE_OUTSOURCED`), the commands aimed at a stock location or
an outsourced repair (:data:`STOCK_TARGETED`, :data:`OUTSOURCED_TARGETED`), the limits of
the commands' arguments, and durations in absolute time.

Part of :mod:`aftersales.testing.repair_oracle`: import from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from aftersales.domain.repair import DepotState, OutsourcedState

__all__ = ["FINISHED", "LIVE_OUTSOURCED", "OUTSOURCED_TARGETED", "STOCK_TARGETED"]

#: An order in one of these states no longer holds its unit at the depot.
FINISHED: frozenset[str] = frozenset(
    {DepotState.DELIVERED, DepotState.RETURNED, DepotState.REPLACED, DepotState.CLOSED}
)
#: An outsourced repair in one of these states holds (or is about to hold) the unit.
LIVE_OUTSOURCED: frozenset[str] = frozenset({
    OutsourcedState.OPENED, OutsourcedState.VENDOR_CHOSEN, OutsourcedState.AT_VENDOR,
    OutsourcedState.RETURNED, OutsourcedState.FAILED_AT_VENDOR, OutsourcedState.VENDOR_FAILED,
})
#: Commands whose target is a stock location (``location_id``).
STOCK_TARGETED: frozenset[str] = frozenset({
    "receive_stock", "issue_part", "release_parts", "return_defective_part",
    "report_dead_on_arrival",
})
#: Commands whose target is an outsourced repair.
OUTSOURCED_TARGETED: frozenset[str] = frozenset({
    "choose_vendor", "ship_to_vendor", "chase_vendor", "vendor_returned", "reinspect",
    "back_to_depot", "record_vendor_failure", "failed_unit_returned",
    "offer_replacement_after_vendors", "give_up_outsourcing",
})
# Every other command acts on a repair order (``reserve_parts`` names its location too).

#: Required text arguments (and their longest length) of each command.
_TEXTS: Mapping[str, tuple[tuple[str, int], ...]] = {
    "sign_intake": (("signed_by", 200),), "deliver": (("signed_by", 200),),
    "return_unrepaired": (("signed_by", 200),),
    "diagnose": (("fault", 10_000), ("cause", 10_000), ("fault_code", 40)),
    "reopen_diagnosis": (("reason", 10_000),), "decline_estimate": (("reason", 10_000),),
    "propose_additional_work": (("reason", 10_000),),
    "record_repair_work": (("description", 10_000),), "wait_for_parts": (("reason", 10_000),),
    "finish_repair": (("summary", 10_000),), "rework": (("reason", 10_000),),
    "record_progress_check": (("note", 10_000),),
    "notify_delay": (("reason", 10_000), ("apology", 10_000)),
    "apply_discount": (("reason", 10_000),),
    "accept_replacement": (("serial", 120), ("signed_by", 200)),
    "declare_unrepairable": (("reason", 10_000),), "offer_replacement": (("model", 120),),
    "send_to_vendor": (("reason", 10_000),),
    "ship_to_vendor": (("carrier", 200), ("tracking_number", 200), ("voucher", 500)),
    "chase_vendor": (("response", 10_000),), "vendor_returned": (("vendor_report", 10_000),),
    "record_vendor_failure": (("reason", 10_000),), "give_up_outsourcing": (("reason", 10_000),),
    "offer_replacement_after_vendors": (("reason", 10_000), ("model", 120)),
    "fit_part": (("sku", 64),), "reserve_parts": (("sku", 64),),
    "receive_stock": (("sku", 64),), "return_defective_part": (("sku", 64),),
}
#: Optional names (None, or non-blank text of at most 200 characters).
_NAMES = ("approved_by", "declined_by")
#: Quantities and their ranges.
_QUANTITIES: Mapping[str, tuple[int, int]] = {
    "receive_stock": (1, 1_000_000), "reserve_parts": (1, 100_000),
    "issue_part": (1, 100_000), "return_defective_part": (1, 100_000),
}


def _took(start: datetime, end: datetime) -> timedelta:
    """The absolute time from ``start`` to ``end``."""
    return end.astimezone(UTC) - start.astimezone(UTC)


def _absolute_before(pickup_at: datetime, lead: timedelta, now: datetime) -> bool:
    """True when ``pickup_at`` minus ``lead`` is before ``now`` (absolute time)."""
    return pickup_at.astimezone(UTC) - lead < now.astimezone(UTC)
