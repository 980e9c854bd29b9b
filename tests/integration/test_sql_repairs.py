"""The SQL adapter's repair-side tables on SQLite, PostgreSQL and MariaDB: the stored rows of
repair orders, outsourced repairs, stock and parts (query columns, R9 record rows, outbox rows,
plain JSON documents), an upgrade over data, malformed data, the append-only record, the one
open order per unit (a database key), and collation-independent ordering.

(The old schema had three revisions and a test upgrading 0001 data to 0002; there is one
revision now, ``aftersales_0001``: ``test_migrations.py`` keeps it equal to the declarations,
and here an upgrade of a database at head that holds data changes nothing.)
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from aftersales import ManualClock, RepairDesk, SequentialIds, ServiceDesk, enroll_first_supervisor
from aftersales.adapters.sql import VERSION_TABLE, SqlStore, current_revision, upgrade
from aftersales.domain import KINDS
from aftersales.domain.parts import PARTS, STOCK, PartOrigin
from aftersales.domain.records import Actor, Equipment
from aftersales.domain.repair import (
    OUTSOURCED_REPAIRS,
    REPAIR_ORDERS,
    DataHandling,
    FaultClass,
    FaultKind,
    Intake,
    OutsourcedState,
    RepairOrder,
    RepairPolicy,
)
from aftersales.domain.values import Money, Role
from aftersales.errors import ConcurrencyConflict, StorageError, ValidationError
from aftersales.serialization import make_converter
from aftersales.workflows import depot

T0 = datetime(2024, 5, 1, 8, 30, 0, 123456, tzinfo=UTC)
BOSS_ID = UUID(int=1)


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


def intake() -> Intake:
    return Intake(appearance="外壳划痕", configuration="i5 / 16 GB", accessories=("充电器",),
                  data_handling=DataHandling.CUSTOMER_KEEPS_DISK)


class Depot:
    """A service desk and a repair desk on a SQL store, with a clerk, an engineer, a
    customer, a unit in warranty, a vendor, two catalogue parts and a warehouse."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.clock = ManualClock(T0, step=timedelta(minutes=1))
        enroll_first_supervisor(store.unit_of_work, actor_id=BOSS_ID, name="主管", at=T0)
        self.desk = ServiceDesk(store.unit_of_work, clock=self.clock,
                                ids=SequentialIds(start=1000), kinds=store.kinds)
        self.repairs = RepairDesk(self.desk)
        desk = self.desk
        self.clerk = desk.register_actor(BOSS_ID, name="文员", roles={Role.CLERK})
        self.engineer = desk.register_actor(BOSS_ID, name="王工程师", roles={Role.ENGINEER})
        self.customer = desk.register_customer(self.clerk, name="北京某某科技有限公司")
        self.unit = self.new_unit("SN-1")
        self.vendor = self.repairs.register_vendor(BOSS_ID, name="联想维修站", contact="0755-1234",
                                                   capabilities=("笔记本",))
        self.disk = self.repairs.add_part(
            self.clerk, sku="硬盘-2TB", name="希捷 2TB", origin=PartOrigin.THIRD_PARTY,
            unit_price=cny("499.99"), storage_media=True,
        )
        self.warehouse = self.repairs.open_stock_location(BOSS_ID, name="北京仓")

    def new_unit(self, serial: str) -> Equipment:
        return self.desk.register_equipment(self.clerk, serial=serial, model="ThinkBook",
                                            owner_id=self.customer.id,
                                            installed_on=date(2024, 1, 10))

    def received(self, unit: Equipment | None = None) -> RepairOrder:
        unit = unit or self.unit
        desk = self.desk
        request = desk.register_request(self.clerk, customer_id=self.customer.id,
                                        summary="不开机", equipment_id=unit.id)
        desk.assign(self.clerk, request.id, engineer_id=self.engineer.id)
        desk.start_remote(self.engineer, request.id)
        desk.hand_to_depot(self.engineer, request.id, reason="硬件故障")
        order = self.repairs.receive_at_depot(
            self.clerk, request.id, promised_at=self.clock.now() + timedelta(days=3),
            intake=intake(),
        )
        return self.repairs.sign_intake(self.clerk, order.id, signed_by="赵先生")

    def diagnosed(self, unit: Equipment | None = None) -> RepairOrder:
        order = self.received(unit)
        return self.repairs.diagnose(self.engineer, order.id, fault="不开机", cause="稳压器损坏",
                                     fault_class=FaultClass.QUALITY,
                                     fault_kind=FaultKind.HARDWARE, fault_code="HW-POWER")


def rows(store: SqlStore, table: sa.Table, *where: Any) -> list[sa.Row[Any]]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(table).where(*where)).all())


def doc_of(row: sa.Row[Any]) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(row.doc)
    return doc


def corrupt(store: SqlStore, table: sa.Table, item_id: UUID, **values: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == item_id).values(**values))


# --- migrations ------------------------------------------------------------------------------


def test_upgrading_a_database_at_head_that_holds_data_changes_nothing(store: SqlStore) -> None:
    """``upgrade`` over a populated database at head keeps every row and the schema equal to
    the declarations; the store goes on working."""
    world = Depot(store)
    order = world.diagnosed()

    def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        with store.engine.connect() as conn:
            return {
                name: sorted(tuple(map(str, row)) for row in conn.execute(sa.select(table)))
                for name, table in store.schema.metadata.tables.items()
            }

    before = snapshot()
    upgrade(store.engine)
    assert snapshot() == before
    assert current_revision(store.engine) == "aftersales_0001"
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "version_table": VERSION_TABLE})
        assert compare_metadata(context, store.schema.metadata) == []
    checked = world.repairs.record_progress_check(world.engineer, order.id, note="检测中")
    assert checked.version == order.version + 1
    with store.unit_of_work() as uow:
        again = uow.repairs.get(order.id)
    assert again.state == order.state and again.progress_checked_at is not None


# --- stored rows -----------------------------------------------------------------------------


def test_r14_rows_record_and_outbox_of_an_outsourced_repair(store: SqlStore) -> None:
    """R14/R9: the query columns follow the aggregates, the record gets one row per entry
    (only new ones are appended), every event gets one outbox row with its aggregate id, and
    the document holds neither the version nor the record."""
    world = Depot(store)
    order = world.diagnosed()
    trip = world.repairs.send_to_vendor(world.engineer, order.id, reason="需返厂")
    world.repairs.choose_vendor(world.clerk, trip.id, vendor_id=world.vendor.id,
                                capability="笔记本")
    shipped = world.repairs.ship_to_vendor(
        world.clerk, trip.id, carrier="顺丰", tracking_number="SF1", voucher="V-1",
        promised_by=world.clock.now() + timedelta(days=4),
    )
    orders, outsourced = store.schema.table(REPAIR_ORDERS), store.schema.table(OUTSOURCED_REPAIRS)
    with store.unit_of_work() as uow:
        order = uow.repairs.get(order.id)
    (order_row,) = rows(store, orders, orders.c.id == order.id)
    assert (order_row.state, order_row.number, order_row.version) == (
        "at_vendor", order.number, order.version
    )
    assert order_row.received_at == order.received_at
    assert order_row.received_at.utcoffset() == timedelta(0)
    assert not {"version", "record"} & set(doc_of(order_row))
    (trip_row,) = rows(store, outsourced, outsourced.c.id == trip.id)
    assert (trip_row.state, trip_row.version, trip_row.order_id) == (
        "at_vendor", shipped.version, order.id
    )
    record = store.schema.record(OUTSOURCED_REPAIRS)
    entries = sorted(rows(store, record, record.c.owner_id == trip.id), key=lambda r: r.sequence)
    assert [r.action for r in entries] == [e.action for e in shipped.record]
    assert [r.digest for r in entries] == [e.digest for e in shipped.record]
    assert trip_row.record_head == shipped.record[-1].digest
    order_record = store.schema.record(REPAIR_ORDERS)
    assert len(rows(store, order_record, order_record.c.owner_id == order.id)) == len(
        order.record
    )
    outbox = store.schema.outbox
    events = rows(store, outbox, outbox.c.aggregate_id.in_([order.id, trip.id]))
    assert sorted((r.aggregate_id, r.sequence) for r in events) == sorted(
        [(order.id, s) for s in range(1, order.event_sequence + 1)]
        + [(trip.id, s) for s in range(1, shipped.event_sequence + 1)]
    )
    assert {r.aggregate_id for r in events if r.name == "ShippedToVendor"} == {trip.id}
    assert {r.aggregate_type for r in events if r.aggregate_id == trip.id} == {
        "OutsourcedRepair"
    }
    with store.unit_of_work() as uow:
        ledger = uow.outsourced.find(state=[OutsourcedState.AT_VENDOR])
        assert [r.id for r in ledger] == [trip.id]


def test_r28_stock_and_parts_are_plain_json(store: SqlStore) -> None:
    """R28: reservations keyed by UUID, levels keyed by SKU, Decimal prices: plain JSON text
    that reads back exactly."""
    world = Depot(store)
    order = world.repairs.start_repair(world.engineer, world.diagnosed().id)  # in warranty
    world.repairs.receive_stock(world.clerk, world.warehouse.id, sku=world.disk.sku, quantity=3)
    reservation = world.repairs.reserve_parts(world.engineer, order.id,
                                              location_id=world.warehouse.id,
                                              sku=world.disk.sku, quantity=2)
    stock_table, parts_table = store.schema.table(STOCK), store.schema.table(PARTS)
    (row,) = rows(store, stock_table, stock_table.c.id == world.warehouse.id)
    doc = doc_of(row)
    assert doc["levels"] == {"硬盘-2TB": {"on_hand": 3, "reserved": 2}}
    assert list(doc["reservations"]) == [str(reservation.id)]
    assert "硬盘-2TB" in row.doc  # UTF-8 as is, not \\u escapes
    (part_row,) = rows(store, parts_table, parts_table.c.sku == world.disk.sku)
    assert doc_of(part_row)["unit_price"] == {"amount": "499.99", "currency": "CNY"}
    dump = make_converter().unstructure
    with store.unit_of_work() as uow:
        loaded = uow.stock.get(world.warehouse.id)
        assert loaded.reservations[reservation.id] == reservation
        assert dump(uow.parts.get_by("sku", world.disk.sku)) == dump(
            uow.parts.get(world.disk.id)
        )
        assert uow.parts.get(world.disk.id).unit_price == cny("499.99")
    with store.unit_of_work() as uow:
        again = uow.stock.get(world.warehouse.id)
    assert dump(again) == dump(loaded)


def test_r13_orders_received_together_are_ordered_by_number_on_every_engine(
    store: SqlStore,
) -> None:
    """R13: ``find`` breaks ties of intake time by number in code-point order, whatever the
    database's collation, with and without ``limit``."""
    boss = Actor(BOSS_ID, "主管", frozenset({Role.SUPERVISOR}))
    customer_id = uuid4()
    suffix = uuid4().hex[:8]

    def order(number: str, at: datetime) -> RepairOrder:
        return depot.open_repair_order(
            order_id=uuid4(), number=f"{number}-{suffix}", request_id=uuid4(),
            equipment_id=uuid4(), customer_id=customer_id, intake=intake(),
            promised_at=at + timedelta(days=3), actor=boss, at=at, policy=RepairPolicy(),
        )

    numbers = ["RO-b", "RO-a", "RO-Z", "RO-é", "RO-10", "RO-9", "维修-1"]
    orders = [order(n, T0) for n in numbers] + [order("RO-0", T0 + timedelta(hours=1))]
    with store.unit_of_work() as uow:
        for item in orders:
            uow.repairs.add(item)
        uow.commit()
    expected = [o.number for o in sorted(orders, key=lambda o: (o.received_at, o.number))]
    assert expected[-1] == f"RO-0-{suffix}" and expected[0] == f"RO-10-{suffix}"
    with store.unit_of_work() as uow:
        assert [o.number for o in uow.repairs.find(customer_id=customer_id)] == expected
        for limit in range(len(orders) + 1):
            found = uow.repairs.find(customer_id=customer_id, limit=limit)
            assert [o.number for o in found] == expected[:limit]


# --- invariants, malformed data and the append-only record -----------------------------------


def test_r13_two_open_repair_orders_for_one_unit_never_both_commit(store: SqlStore) -> None:
    """R13: one open repair order per unit is a database key (``open_equipment_id``): two
    units of work opening an order for the same unit at once, the second commit raises
    ConcurrencyConflict and stores nothing; while the first is open a third is refused at
    once."""
    boss = Actor(BOSS_ID, "主管", frozenset({Role.SUPERVISOR}))
    unit_id = uuid4()

    def order() -> RepairOrder:
        return depot.open_repair_order(
            order_id=uuid4(), number=f"RO-{uuid4().hex}", request_id=uuid4(),
            equipment_id=unit_id, customer_id=uuid4(), intake=intake(),
            promised_at=T0 + timedelta(days=3), actor=boss, at=T0, policy=RepairPolicy(),
        )

    one, two = order(), order()
    with store.unit_of_work() as first, store.unit_of_work() as second:
        first.repairs.add(one)
        second.repairs.add(two)
        first.commit()
        with pytest.raises(ConcurrencyConflict):
            second.commit()
    with store.unit_of_work() as uow:
        assert [o.id for o in uow.repairs.find(equipment_id=unit_id)] == [one.id]
        with pytest.raises(ValidationError, match="already exists"):
            uow.repairs.add(order())


def test_malformed_repair_data_raises_storage_error(store: SqlStore) -> None:
    """A document of the wrong shape, a document disagreeing with its row, a record row gone
    and a stock document that is not an object are reported, never half-read, each naming
    its table and row."""
    world = Depot(store)
    order = world.diagnosed()
    table = store.schema.table(REPAIR_ORDERS)
    (row,) = rows(store, table, table.c.id == order.id)
    doc = doc_of(row)
    where = f"repair_orders {order.id}"
    corrupt(store, table, order.id, doc=json.dumps({**doc, "surprise": 1}))
    with store.unit_of_work() as uow, pytest.raises(StorageError, match=f"{where}.*malformed"):
        uow.repairs.get(order.id)
    corrupt(store, table, order.id, doc=json.dumps({**doc, "state": "closed"}))
    with store.unit_of_work() as uow, pytest.raises(StorageError,
                                                    match=f"{where}.*disagrees.*state"):
        uow.repairs.find(customer_id=order.customer_id)
    corrupt(store, table, order.id, doc=row.doc)
    with store.unit_of_work() as uow:
        assert uow.repairs.get(order.id).state == order.state
    record = store.schema.record(REPAIR_ORDERS)
    with store.engine.begin() as conn:
        conn.execute(record.delete().where(record.c.owner_id == order.id,
                                           record.c.sequence == 2))
    with store.unit_of_work() as uow, pytest.raises(StorageError, match=f"{where}.*entry 2"):
        uow.repairs.get(order.id)
    stock = store.schema.table(STOCK)
    corrupt(store, stock, world.warehouse.id, doc="[1, 2]")
    with store.unit_of_work() as uow, pytest.raises(
        StorageError, match=f"stock {world.warehouse.id}.*not a JSON object"
    ):
        uow.stock.get(world.warehouse.id)


def test_r9_the_record_of_a_repair_order_is_append_only(store: SqlStore) -> None:
    """R9: rewriting an entry already stored is refused at commit (StorageError); nothing is
    written."""
    world = Depot(store)
    order = world.diagnosed()
    with store.unit_of_work() as uow:
        loaded = uow.repairs.get(order.id)
        depot.record_progress_check(loaded, note="检测中", actor=world.engineer,
                                    at=world.clock.now())
        loaded.record[0] = loaded.record[1]
        with pytest.raises(StorageError, match=r"append-only|only grows"):
            uow.commit()
    with store.unit_of_work() as uow:
        again = uow.repairs.get(order.id)
    assert again.progress_checked_at is None and again.version == order.version
    record = store.schema.record(REPAIR_ORDERS)
    assert len(rows(store, record, record.c.owner_id == order.id)) == len(order.record)


def test_kinds_of_a_store_are_its_tables(store: SqlStore) -> None:
    """Every declared kind has its table and record table in the migrated database, named by
    its declaration."""
    names = set(sa.inspect(store.engine).get_table_names())
    for kind in KINDS:
        assert {kind.table, f"{kind.table}_record"} <= names
    assert {"outbox", "idempotency_keys", VERSION_TABLE} <= names

