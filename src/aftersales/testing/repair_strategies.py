"""Hypothesis strategies for depot repair (R13), outsourced repair (R14) and parts (R28).

Values are *valid* (they pass the domain's validators); the command tables map the depot and
outsourced workflow triggers to :class:`~aftersales.service.repairs.RepairDesk` commands, so a
stateful test can ask which commands the workflow offers an order now::

    from aftersales.testing import repair_strategies as rst

    rst.depot_candidates(order)        # e.g. ["diagnose", "record_progress_check", ...]
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

from hypothesis import strategies as st

from aftersales.domain.parts import (
    LocationKind,
    Part,
    PartOrigin,
    PartSource,
    Stock,
    StockLocation,
)
from aftersales.domain.records import Actor
from aftersales.domain.repair import (
    DEFAULT_QC_CHECKLIST,
    DataHandling,
    EstimateBasis,
    EstimateLine,
    FaultClass,
    FaultKind,
    Intake,
    LineKind,
    OldPartDisposition,
    OutsourcedRepair,
    ReopenKind,
    RepairOrder,
    RepairPolicy,
    Vendor,
)
from aftersales.domain.values import Money, Role
from aftersales.errors import AftersalesError
from aftersales.testing.strategies import names, non_blank_texts
from aftersales.workflows.depot import DEPOT
from aftersales.workflows.outsourced import OUTSOURCED

__all__ = [
    "DEPOT_COMMANDS",
    "NATURAL_REPAIR_ROLE",
    "OUTSOURCED_COMMANDS",
    "PARTS_COMMANDS",
    "data_handlings",
    "depot_candidates",
    "estimate_line_lists",
    "estimate_lines",
    "fault_classes",
    "fault_kinds",
    "intakes",
    "old_part_dispositions",
    "outsourced_candidates",
    "part_origins",
    "part_sources",
    "parts",
    "qc_answers",
    "reopen_kinds",
    "repair_policies",
    "stock_locations",
    "stocks",
    "vendors",
]

#: Depot workflow trigger → the RepairDesk command that fires it (others share the name).
_DEPOT_TRIGGER: Mapping[str, str] = {
    "assign_engineer": "assign_repair_engineer",
    "record_parts_reserved": "reserve_parts",
    "record_parts_released": "",  # fired by release_parts on the stock location
    "close": "close_order",
    "receive_from_vendor": "",  # fired by back_to_depot on the outsourced repair
    "vendor_gave_up": "",  # fired by give_up_outsourcing / offer_replacement_after_vendors
}
#: Outsourced workflow trigger → RepairDesk command.
_OUTSOURCED_TRIGGER: Mapping[str, str] = {
    "ship": "ship_to_vendor",
    "chase": "chase_vendor",
    "vendor_failed": "record_vendor_failure",
    "offer_replacement": "offer_replacement_after_vendors",
    "give_up": "give_up_outsourcing",
}

#: Every RepairDesk command acting on a depot order (R13, R20-R23, R25).
DEPOT_COMMANDS: tuple[str, ...] = tuple(dict.fromkeys(
    _DEPOT_TRIGGER.get(t.trigger, t.trigger) for t in DEPOT.transitions
    if _DEPOT_TRIGGER.get(t.trigger, t.trigger)
))
#: Every RepairDesk command acting on an outsourced repair (R14, R15).
OUTSOURCED_COMMANDS: tuple[str, ...] = tuple(dict.fromkeys(
    _OUTSOURCED_TRIGGER.get(t.trigger, t.trigger) for t in OUTSOURCED.transitions
))
#: RepairDesk commands acting on a stock location for an order (R28).
PARTS_COMMANDS: tuple[str, ...] = (
    "issue_part", "release_parts", "return_defective_part", "report_dead_on_arrival",
)

C, E, S, REP, CU = Role.CLERK, Role.ENGINEER, Role.SUPERVISOR, Role.CUSTOMER_REP, Role.CUSTOMER
#: Who normally issues each command under
#: :data:`~aftersales.service.authorization.DEFAULT_PERMISSIONS`.
NATURAL_REPAIR_ROLE: Mapping[str, Role] = {
    "assign_repair_engineer": C, "sign_intake": C, "diagnose": E, "reopen_diagnosis": E,
    "send_estimate": E,
    "approve_estimate": CU, "decline_estimate": CU, "start_repair": E,
    "record_repair_work": E, "fit_part": E, "receive_deposit": C, "wait_for_parts": E,
    "reserve_parts": E, "resume_repair": E, "propose_additional_work": E,
    "approve_additional_work": CU, "decline_additional_work": CU, "finish_repair": E,
    "record_qc": E, "rework": E, "record_progress_check": C, "notify_delay": C,
    "mark_ready": C, "apply_discount": S, "settle": C, "deliver": C, "close_order": C,
    "declare_unrepairable": E, "offer_replacement": S, "accept_replacement": C,
    "return_unrepaired": C, "send_to_vendor": E, "choose_vendor": C, "ship_to_vendor": C,
    "chase_vendor": C, "vendor_returned": C, "reinspect": E, "back_to_depot": E,
    "record_vendor_failure": C, "failed_unit_returned": C,
    "offer_replacement_after_vendors": S,
    "give_up_outsourcing": S, "issue_part": E, "release_parts": E,
    "return_defective_part": E, "report_dead_on_arrival": E,
}


def _candidates(
    definition: object, state: str, mapping: Mapping[str, str], moving_only: bool
) -> list[str]:
    found: list[str] = []
    for transition in definition.transitions:  # type: ignore[attr-defined]
        if state not in transition.sources or (moving_only and transition.dest == state):
            continue
        name = mapping.get(transition.trigger, transition.trigger)
        if name and name not in found:
            found.append(name)
    return found


def depot_candidates(order: RepairOrder, *, moving_only: bool = False) -> list[str]:
    """The RepairDesk commands the depot workflow offers from the order's state (guards not
    evaluated). With ``moving_only``, only those that change the state."""
    return _candidates(DEPOT, str(order.state), _DEPOT_TRIGGER, moving_only)


def outsourced_candidates(repair: OutsourcedRepair, *, moving_only: bool = False) -> list[str]:
    """The RepairDesk commands the outsourced workflow offers from the repair's state."""
    return _candidates(OUTSOURCED, str(repair.state), _OUTSOURCED_TRIGGER, moving_only)


# --- enumerations ----------------------------------------------------------------------------


def data_handlings() -> st.SearchStrategy[DataHandling]:
    """§9: what may happen to the unit's data."""
    return st.sampled_from(DataHandling)


def fault_classes() -> st.SearchStrategy[FaultClass]:
    """R20/R21: quality fault, customer-caused damage, other."""
    return st.sampled_from(FaultClass)


def fault_kinds() -> st.SearchStrategy[FaultKind]:
    """R21: hardware or software fault."""
    return st.sampled_from(FaultKind)


def reopen_kinds() -> st.SearchStrategy[ReopenKind]:
    """§9: why a diagnosis is reopened."""
    return st.sampled_from(ReopenKind)


def part_origins() -> st.SearchStrategy[PartOrigin]:
    """R22: OEM or third-party."""
    return st.sampled_from(PartOrigin)


def part_sources() -> st.SearchStrategy[PartSource]:
    """R22: our part or the customer's."""
    return st.sampled_from(PartSource)


def old_part_dispositions() -> st.SearchStrategy[OldPartDisposition]:
    """R28/§9: where a removed part goes."""
    return st.sampled_from(OldPartDisposition)


# --- values ----------------------------------------------------------------------------------


def _prices(low: int = 0, high: int = 3000) -> st.SearchStrategy[Decimal]:
    edges = tuple(e for e in (low, 999, 1000, 1001, high) if low <= e <= high)
    return st.one_of(st.integers(min_value=low, max_value=high), st.sampled_from(edges)).map(
        Decimal
    )


@functools.cache
def intakes(
    handling: DataHandling | None = None, *, texts: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[Intake]:
    """R13: a filled-in intake form (appearance, configuration, accessories, data handling);
    ``texts`` draws its descriptions (default: :func:`~aftersales.testing.strategies.
    non_blank_texts`)."""
    text = texts if texts is not None else non_blank_texts(max_size=20)
    return st.builds(
        Intake,
        appearance=text,
        configuration=text,
        accessories=st.lists(st.sampled_from(("charger", "bag", "mouse", "电源适配器")),
                             max_size=3, unique=True).map(tuple),
        data_handling=st.just(handling) if handling is not None else data_handlings(),
        damage_notes=st.sampled_from(("", "corner dent", "屏幕划痕")),
    )


def estimate_lines(
    *, currency: str = "CNY", skus: Sequence[str] = ("VR-1",),
    texts: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[EstimateLine]:
    """R22: one priced line: labour, a call-out, or a part (ours or the customer's, OEM or
    third-party, perhaps to be ordered); prices include the R23 edge of an expensive part
    (999, 1000, 1001)."""
    return _estimate_lines(currency, tuple(skus), texts)


@functools.cache
def _estimate_lines(
    currency: str, skus: tuple[str, ...], texts: st.SearchStrategy[str] | None
) -> st.SearchStrategy[EstimateLine]:
    text = texts if texts is not None else non_blank_texts(max_size=16)
    money = _prices().map(lambda a: Money(a, currency))
    plain = st.builds(
        EstimateLine, st.sampled_from(EstimateBasis), text, text,
        st.sampled_from((LineKind.LABOUR, LineKind.CALL_OUT)), money,
    )

    @st.composite
    def part_line(draw: st.DrawFn) -> EstimateLine:
        source = draw(part_sources())
        return EstimateLine(
            EstimateBasis.ITEM, draw(text), draw(text), LineKind.PART, draw(money),
            sku=draw(st.sampled_from(skus)), source=source, origin=draw(part_origins()),
            customer_insisted=draw(st.booleans()),
            to_order=source is PartSource.OURS and draw(st.booleans()),
        )

    return st.one_of(plain, part_line())


def estimate_line_lists(
    *, currency: str = "CNY", skus: Sequence[str] = ("VR-1",), max_size: int = 3,
    texts: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[list[EstimateLine]]:
    """R22: the lines of one estimate (never empty)."""
    return st.lists(estimate_lines(currency=currency, skus=skus, texts=texts), min_size=1,
                    max_size=max_size)


def qc_answers(
    checklist: Sequence[str] = DEFAULT_QC_CHECKLIST, *, passing: bool | None = None
) -> st.SearchStrategy[dict[str, bool]]:
    """R13/R14: an answer for every QC item: all passed, at least one failed, or either."""
    items = list(checklist)
    if passing is True:
        return st.just(dict.fromkeys(items, True))
    failing = st.sampled_from(items).map(
        lambda bad: {item: item != bad for item in items}
    )
    if passing is False:
        return failing
    return st.one_of(st.just(dict.fromkeys(items, True)), failing)


def parts(
    *, currency: str = "CNY", skus: Sequence[str] | None = None, supplier_id: UUID | None = None
) -> st.SearchStrategy[Part]:
    """R28: catalogue entries (some of them disks, §9)."""
    sku = st.sampled_from(list(skus)) if skus else st.from_regex(r"[A-Z]{2,4}-[0-9]{1,4}",
                                                                 fullmatch=True)
    return st.builds(
        Part, st.uuids(), sku, names(), part_origins(),
        _prices(1, 2000).map(lambda a: Money(a, currency)),
        warranty_months=st.none() | st.integers(min_value=0, max_value=24),
        supplier_id=st.just(supplier_id), storage_media=st.booleans(),
    )


@functools.cache
def vendors() -> st.SearchStrategy[Vendor]:
    """R14: external repair stations of the vendor registry, with their capabilities."""
    return st.builds(
        Vendor, st.uuids(), names(), non_blank_texts(max_size=24),
        st.frozensets(st.sampled_from(("laptop", "desktop", "printer", "联想", "Dell")),
                      max_size=3),
    )


def stock_locations() -> st.SearchStrategy[StockLocation]:
    """R28: a warehouse, or an engineer's own stock."""
    warehouse = st.builds(StockLocation, st.uuids(), names(), st.just(LocationKind.WAREHOUSE))
    carried = st.builds(StockLocation, st.uuids(), names(), st.just(LocationKind.ENGINEER),
                        st.uuids())
    return st.one_of(warehouse, carried)


@st.composite
def stocks(draw: st.DrawFn, *, skus: tuple[str, ...] = ("VR-1", "SSD-1"),
           max_steps: int = 12) -> Stock:
    """R28: a location's stock in a *reachable* state: opened empty, then random goods
    receipts, reservations, issues, releases and dead-on-arrival reports, each refused one
    skipped, so levels always agree with the reservations and the movement ledger."""
    clerk = Actor(draw(st.uuids()), "库管 Ma", frozenset({Role.CLERK}))
    stock = Stock.open(draw(stock_locations()))
    at = datetime(2026, 11, 23, 9, tzinfo=timezone(timedelta(hours=8)))
    for _ in range(draw(st.integers(min_value=0, max_value=max_steps))):
        at = at + timedelta(minutes=draw(st.integers(min_value=1, max_value=600)))
        step = draw(st.sampled_from(("receive", "reserve", "issue", "release", "doa")))
        held = sorted(stock.reservations, key=str)
        try:
            if step == "receive":
                stock.receive(sku=draw(st.sampled_from(skus)), actor=clerk, at=at,
                              quantity=draw(st.integers(min_value=1, max_value=5)))
            elif step == "reserve":
                stock.reserve(reservation_id=draw(st.uuids()), order_id=draw(st.uuids()),
                              sku=draw(st.sampled_from(skus)), actor=clerk, at=at,
                              quantity=draw(st.integers(min_value=1, max_value=3)))
            elif held and step == "issue":
                stock.issue(reservation_id=draw(st.sampled_from(held)), actor=clerk, at=at)
            elif held and step == "release":
                stock.release(reservation_id=draw(st.sampled_from(held)), actor=clerk, at=at)
            elif held:
                stock.dead_on_arrival(reservation_id=draw(st.sampled_from(held)), actor=clerk,
                                      at=at)
        except AftersalesError:
            continue
    return stock


def repair_policies(*, currency: str = "CNY") -> st.SearchStrategy[RepairPolicy]:
    """R13-R16, R21-R23: repair policies with random (valid) parameters."""
    return st.builds(
        RepairPolicy,
        currency=st.just(currency),
        diagnosis_fee=st.none() | _prices(1, 200).map(lambda a: Money(a, currency)),
        progress_check_fraction=st.sampled_from((0.7, 0.75, 0.8)),
        rerepair_window_days=st.integers(min_value=0, max_value=30),
        rerepair_same_fault_free=st.booleans(),
        repeat_failure_threshold=st.integers(min_value=1, max_value=3),
        max_vendor_attempts=st.integers(min_value=1, max_value=3),
        expensive_part_from=_prices(0, 2000),
    )
