"""R28 spare parts, first slice: catalogue, stock per location, reservations, DOA."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs
import pytest

from aftersales.domain import Actor, Money, Role
from aftersales.domain import repair_events as rev
from aftersales.domain.parts import (
    LocationKind,
    MovementKind,
    Part,
    PartOrigin,
    PartsCatalogue,
    Stock,
    StockLocation,
    doa_by_supplier,
)
from aftersales.errors import GuardFailed, NotFound, ValidationError

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
KEEPER = Actor(UUID(int=1), "Sun Storekeeper", {Role.CLERK})
ENGINEER = Actor(UUID(int=2), "Wang Engineer", {Role.ENGINEER})
SUPPLIER = UUID(int=900)
ORDER = UUID(int=500)
_ids = itertools.count(30_000)


def uid() -> UUID:
    return UUID(int=next(_ids))


def stocked(quantity: int = 3, sku: str = "SSD-512") -> Stock:
    stock = Stock.open(StockLocation(uid(), "Main warehouse"))
    stock.receive(sku=sku, quantity=quantity, actor=KEEPER, at=T0, supplier_id=SUPPLIER)
    return stock


def snapshot(stock: Stock) -> dict[str, Any]:
    return attrs.asdict(stock, recurse=True)


def test_r28_catalogue_entries_carry_origin_price_and_own_warranty() -> None:
    ssd = Part(uid(), "SSD-512", "512 GB SSD", PartOrigin.OEM, Money(Decimal(399), "CNY"),
               warranty_months=12, supplier_id=SUPPLIER, storage_media=True)
    fan = Part(uid(), "FAN-1", "fan", PartOrigin.THIRD_PARTY, Money(Decimal(40), "CNY"))
    catalogue = PartsCatalogue([ssd, fan])
    assert catalogue.get("SSD-512") is ssd and "FAN-1" in catalogue
    assert ssd.warranty_months == 12 and ssd.storage_media and ssd.supplier_id == SUPPLIER
    # R21: no warranty of its own means the repair policy's default applies at delivery
    assert fan.warranty_months is None and fan.state == "active"
    with pytest.raises(NotFound):
        catalogue.get("GPU-1")
    with pytest.raises(ValidationError):
        PartsCatalogue([fan, fan])
    with pytest.raises(ValidationError):
        PartsCatalogue([fan, "SSD-512"])  # type: ignore[list-item]


@pytest.mark.parametrize("kw", [
    {"unit_price": Money(Decimal(-1), "CNY")},
    {"unit_price": Decimal(1)},
    {"origin": "oem"},
    {"warranty_months": -1},
    {"warranty_months": 241},
    {"warranty_months": True},
    {"sku": ""},
    {"sku": "S" * 65},
    {"name": " "},
    {"supplier_id": "acme"},
    {"storage_media": "yes"},
], ids=lambda kw: "-".join(f"{k}={v!r}"[:30] for k, v in kw.items()))
def test_r28_a_bad_catalogue_entry_is_refused(kw: dict[str, Any]) -> None:
    values: dict[str, Any] = {"id": uid(), "sku": "X", "name": "x", "origin": PartOrigin.OEM,
                              "unit_price": Money(Decimal(1), "CNY")}
    values.update(kw)
    with pytest.raises(ValidationError):
        Part(**values)


def test_r28_catalogue_warranty_bounds_are_inclusive() -> None:
    price = Money(Decimal(1), "CNY")
    assert Part(uid(), "A", "a", PartOrigin.OEM, price, warranty_months=0).warranty_months == 0
    assert Part(uid(), "B", "b", PartOrigin.OEM, price, warranty_months=240).warranty_months == (
        240
    )
    assert len(Part(uid(), "S" * 64, "s", PartOrigin.OEM, price).sku) == 64


def test_r28_stock_is_kept_per_warehouse_and_per_engineer() -> None:
    van = StockLocation(uid(), "Wang's van", LocationKind.ENGINEER, engineer_id=ENGINEER.id)
    assert van.kind is LocationKind.ENGINEER
    with pytest.raises(ValidationError):
        StockLocation(uid(), "van", LocationKind.ENGINEER)
    with pytest.raises(ValidationError):
        StockLocation(uid(), "hall", LocationKind.WAREHOUSE, engineer_id=ENGINEER.id)
    stock = Stock.open(van)
    assert stock.id == van.id and stock.name == "Wang's van"
    assert stock.level("SSD-512").available == 0 and stock.pending_events == []
    assert Stock(van.id, van).location is van
    with pytest.raises(ValidationError):
        Stock(uid(), van)  # a stock's id is its location's id
    with pytest.raises(ValidationError):
        Stock(van.id, "Wang's van")  # type: ignore[arg-type]


def test_r28_reserve_issue_and_release_move_stock_and_append_movements() -> None:
    stock = stocked(3)
    res = stock.reserve(reservation_id=uid(), order_id=ORDER, sku="SSD-512", quantity=2,
                        actor=KEEPER, at=T0 + H)
    level = stock.level("SSD-512")
    assert (level.on_hand, level.reserved, level.available) == (3, 2, 1)
    stock.issue(reservation_id=res.id, actor=KEEPER, at=T0 + 2 * H)
    assert stock.level("SSD-512") == attrs.evolve(level, on_hand=2, reserved=1)
    released = stock.release(reservation_id=res.id, actor=KEEPER, at=T0 + 3 * H)
    assert released == 1 and stock.level("SSD-512").available == 2
    assert not stock.reservations[res.id].open
    assert [m.kind for m in stock.movements] == [
        MovementKind.RECEIPT, MovementKind.RESERVE, MovementKind.ISSUE, MovementKind.RELEASE,
    ]
    assert [m.sequence for m in stock.movements] == [1, 2, 3, 4]
    assert [e.name for e in stock.pending_events] == [
        "PartsReceived", "PartsReserved", "PartIssued", "PartsReleased",
    ]
    assert all(isinstance(e, rev.StockEvent) and e.aggregate_type == "Stock"
               and e.aggregate_id == stock.id for e in stock.pending_events)
    assert stock.reservations_for(ORDER) == [stock.reservations[res.id]]


def test_r28_reserving_more_than_available_is_refused_and_changes_nothing() -> None:
    stock = stocked(2)
    stock.reserve(reservation_id=uid(), order_id=ORDER, sku="SSD-512", quantity=2,
                  actor=KEEPER, at=T0)
    before = snapshot(stock)
    with pytest.raises(GuardFailed, match="only 0 available") as info:
        stock.reserve(reservation_id=uid(), order_id=uid(), sku="SSD-512", quantity=1,
                      actor=KEEPER, at=T0)
    assert "Main warehouse" in str(info.value)
    assert snapshot(stock) == before


def test_r28_issuing_more_than_reserved_or_releasing_twice_is_refused() -> None:
    stock = stocked(3)
    res = stock.reserve(reservation_id=uid(), order_id=ORDER, sku="SSD-512", quantity=1,
                        actor=KEEPER, at=T0)
    before = snapshot(stock)
    with pytest.raises(GuardFailed):
        stock.issue(reservation_id=res.id, quantity=2, actor=KEEPER, at=T0)
    assert snapshot(stock) == before
    stock.release(reservation_id=res.id, actor=KEEPER, at=T0)
    before = snapshot(stock)
    with pytest.raises(GuardFailed, match="nothing left"):
        stock.release(reservation_id=res.id, actor=KEEPER, at=T0)
    with pytest.raises(NotFound):
        stock.issue(reservation_id=uid(), actor=KEEPER, at=T0)
    assert snapshot(stock) == before


def test_r28_dead_on_arrival_part_is_replaced_and_recorded_against_supplier() -> None:
    stock = stocked(2)
    res = stock.reserve(reservation_id=uid(), order_id=ORDER, sku="SSD-512", quantity=1,
                        actor=KEEPER, at=T0, supplier_id=SUPPLIER)
    before = snapshot(stock)
    with pytest.raises(GuardFailed, match="issued nothing"):
        stock.dead_on_arrival(reservation_id=res.id, actor=ENGINEER, at=T0)
    assert snapshot(stock) == before
    stock.issue(reservation_id=res.id, actor=KEEPER, at=T0 + H)
    record = stock.dead_on_arrival(reservation_id=res.id, actor=ENGINEER, at=T0 + 2 * H,
                                   note="not detected by BIOS")
    assert record.replaced and record.supplier_id == SUPPLIER and record.order_id == ORDER
    assert stock.level("SSD-512").on_hand == 0
    assert stock.reservations[res.id].issued == 2
    assert [m.kind for m in stock.movements][-2:] == [
        MovementKind.DEAD_ON_ARRIVAL, MovementKind.DOA_REPLACEMENT,
    ]
    event = stock.pending_events[-1]
    assert isinstance(event, rev.PartDeadOnArrival) and event.replaced
    assert doa_by_supplier(stock.doa) == {SUPPLIER: 1}


def test_r28_dead_on_arrival_without_a_spare_is_recorded_but_not_replaced() -> None:
    stock = stocked(1)
    res = stock.reserve(reservation_id=uid(), order_id=ORDER, sku="SSD-512", quantity=1,
                        actor=KEEPER, at=T0)
    stock.issue(reservation_id=res.id, actor=KEEPER, at=T0)
    other_supplier = uid()
    record = stock.dead_on_arrival(reservation_id=res.id, actor=ENGINEER, at=T0 + H,
                                   supplier_id=other_supplier)
    assert not record.replaced and record.supplier_id == other_supplier
    assert stock.movements[-1].kind is MovementKind.DEAD_ON_ARRIVAL


def test_r28_a_defective_part_is_booked_for_return_without_touching_stock() -> None:
    stock = stocked(1)
    stock.return_defective(order_id=ORDER, sku="VR-1", actor=ENGINEER, at=T0 + H,
                           supplier_id=SUPPLIER, note="burnt")
    assert stock.level("VR-1").on_hand == 0 and stock.level("SSD-512").on_hand == 1
    assert stock.movements[-1].kind is MovementKind.DEFECTIVE_RETURN
    assert isinstance(stock.pending_events[-1], rev.PartReturned)


@pytest.mark.parametrize("kw", [
    {"quantity": 0}, {"quantity": -1}, {"quantity": True}, {"sku": ""}, {"order_id": "x"},
    {"reservation_id": 5}, {"at": datetime(2026, 3, 2)}, {"actor": "me"},
])
def test_bad_reservation_input_raises_validation_error_and_changes_nothing(
    kw: dict[str, Any],
) -> None:
    stock = stocked(3)
    values: dict[str, Any] = {"reservation_id": uid(), "order_id": ORDER, "sku": "SSD-512",
                              "quantity": 1, "actor": KEEPER, "at": T0}
    values.update(kw)
    before = snapshot(stock)
    with pytest.raises(ValidationError):
        stock.reserve(**values)
    assert snapshot(stock) == before


def test_a_reservation_id_cannot_be_reused() -> None:
    stock = stocked(3)
    rid = uid()
    stock.reserve(reservation_id=rid, order_id=ORDER, sku="SSD-512", quantity=1, actor=KEEPER,
                  at=T0)
    with pytest.raises(ValidationError):
        stock.reserve(reservation_id=rid, order_id=ORDER, sku="SSD-512", quantity=1,
                      actor=KEEPER, at=T0)


def test_stock_clone_is_independent_and_events_are_stable() -> None:
    stock = stocked(3)
    copy = stock.clone()
    copy.receive(sku="SSD-512", quantity=1, actor=KEEPER, at=T0)
    assert stock.level("SSD-512").on_hand == 3 and copy.level("SSD-512").on_hand == 4
    assert copy.pending_events[0].sequence == 2 and len(stock.movements) == 1
    event = stock.pending_events[0]
    assert event.event_id == attrs.evolve(event).event_id


@pytest.mark.parametrize("kw", [
    {"sku": "S" * 65}, {"sku": "SSD\x00"}, {"quantity": 0}, {"supplier_id": "acme"},
    {"note": 5}, {"at": datetime(1, 1, 1, tzinfo=UTC)},
])
def test_r28_a_bad_goods_receipt_is_refused_and_changes_nothing(kw: dict[str, Any]) -> None:
    stock = stocked(1)
    values: dict[str, Any] = {"sku": "SSD-512", "quantity": 1, "actor": KEEPER, "at": T0}
    values.update(kw)
    before = snapshot(stock)
    with pytest.raises(ValidationError):
        stock.receive(**values)
    assert snapshot(stock) == before


def test_r28_a_dead_on_arrival_report_with_a_bad_note_changes_nothing() -> None:
    stock = stocked(2)
    res = stock.reserve(reservation_id=uid(), order_id=ORDER, sku="SSD-512", quantity=1,
                        actor=KEEPER, at=T0)
    stock.issue(reservation_id=res.id, actor=KEEPER, at=T0)
    before = snapshot(stock)
    with pytest.raises(ValidationError):
        stock.dead_on_arrival(reservation_id=res.id, actor=ENGINEER, at=T0 + H,
                              note="dead\x00")
    with pytest.raises(ValidationError):
        stock.return_defective(order_id=ORDER, sku="VR-1", actor=ENGINEER, at=T0 + H,
                               note="burnt\ud800")
    assert snapshot(stock) == before
