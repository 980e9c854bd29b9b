"""The SQL adapter's repair tables (revision 0002) on SQLite, PostgreSQL and MariaDB:
migrating a database that holds data, refusing an outdated schema, the stored rows (R9
record, outbox, plain JSON documents), malformed data and collation-independent ordering."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from aftersales.adapters.sql import (
    HEAD_REVISION,
    SqlStore,
    current_revision,
    downgrade,
    metadata,
    upgrade,
)
from aftersales.adapters.sql import schema as sql_schema
from aftersales.domain.events import Event
from aftersales.domain.parts import Part, PartOrigin, Stock, StockLocation
from aftersales.domain.priority import PriorityMatrix
from aftersales.domain.records import Customer, Equipment
from aftersales.domain.repair import (
    DataHandling,
    DepotState,
    FaultClass,
    FaultKind,
    Intake,
    OutsourcedState,
    RepairOrder,
    RepairPolicy,
    Vendor,
)
from aftersales.domain.values import Actor, Category, Channel, Impact, Money, Role, Urgency
from aftersales.domain.warranty import WarrantyPolicy
from aftersales.errors import StorageError, ValidationError
from aftersales.serialization import make_converter
from aftersales.workflows import depot, outsourced, steps

BEIJING = timezone(timedelta(hours=8))
T0 = datetime(2024, 5, 1, 8, 30, 0, 123456, tzinfo=BEIJING)
H = timedelta(hours=1)
CLERK = Actor(UUID(int=1), "文员", frozenset({Role.CLERK}))
ENGINEER = Actor(UUID(int=2), "王工程师", frozenset({Role.ENGINEER}))
POLICY = RepairPolicy()

EngineFactory = Callable[..., sa.Engine]


def new_order(number: str | None = None, *, at: datetime = T0, customer_id: UUID | None = None,
              request_id: UUID | None = None) -> RepairOrder:
    return depot.open_repair_order(
        order_id=uuid4(), number=number or f"RO-{uuid4().hex}", request_id=request_id or uuid4(),
        equipment_id=uuid4(), customer_id=customer_id or uuid4(),
        intake=Intake(appearance="外壳划痕", configuration="i5 / 16 GB", accessories=("充电器",),
                      data_handling=DataHandling.CUSTOMER_KEEPS_DISK),
        promised_at=at + 72 * H, actor=CLERK, at=at, policy=POLICY,
    )


def diagnosed(order: RepairOrder, at: datetime = T0 + H) -> RepairOrder:
    depot.sign_intake(order, signed_by="赵先生", actor=CLERK, at=at)
    unit = Equipment(order.equipment_id, "SN-1", "ThinkBook", order.customer_id,
                     installed_on=(at - timedelta(days=100)).date())
    depot.diagnose(order, fault="不开机", cause="稳压器损坏", fault_class=FaultClass.QUALITY,
                   fault_kind=FaultKind.HARDWARE, equipment=unit, warranty_policy=WarrantyPolicy(),
                   actor=ENGINEER, at=at, policy=POLICY)
    return order


def save(store: SqlStore, *items: Any) -> list[Event]:
    with store.unit_of_work() as uow:
        for item in items:
            repo = {
                RepairOrder: uow.repairs, Stock: uow.stock, Vendor: uow.vendors, Part: uow.parts,
            }.get(type(item), uow.outsourced)
            repo.add(item)
        uow.commit()
        return uow.collect_new_events()


def rows(store: SqlStore, table: sa.Table, *where: Any) -> list[sa.Row[Any]]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(table).where(*where)).all())


def corrupt(store: SqlStore, table: sa.Table, key: str, item_id: UUID, **values: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(table.update().where(table.c[key] == item_id).values(**values))


# --- migrations ------------------------------------------------------------------------------


def test_revision_0001_is_refused_and_upgrading_it_keeps_its_data(engine: sa.Engine) -> None:
    """A database at 0001 holding requests is refused until upgraded; ``upgrade`` adds the
    repair tables without touching the data, and the result equals the declared schema."""
    upgrade(engine, "0001")
    old = SqlStore(engine, check_schema=False)
    request = steps.register(
        request_id=uuid4(), number=f"SR-{uuid4().hex}", customer_id=uuid4(),
        category=Category.FAULT, channel=Channel.PHONE, impact=Impact.MODERATE,
        urgency=Urgency.HIGH, summary="笔记本送修", actor=CLERK, at=T0, matrix=PriorityMatrix(),
    )
    with old.unit_of_work() as uow:
        uow.customers.add(Customer(request.customer_id, "北京某某科技有限公司"))
        uow.requests.add(request)
        uow.commit()
    with pytest.raises(StorageError, match="outdated"):
        SqlStore(engine).unit_of_work()
    with pytest.raises(StorageError, match="outdated"):
        SqlStore(engine).outbox()
    upgrade(engine)
    assert current_revision(engine) == HEAD_REVISION == "0003"
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    store = SqlStore(engine)
    order = diagnosed(new_order(customer_id=request.customer_id, request_id=request.id))
    save(store, order)
    with store.unit_of_work() as uow:
        assert uow.requests.get(request.id).summary == "笔记本送修"
        assert uow.repairs.find(request_id=request.id)[0].state is DepotState.DIAGNOSING
    downgrade(engine, "0001")  # drops the repair tables only
    assert not sa.inspect(engine).has_table("repair_orders")
    with pytest.raises(StorageError, match="outdated"):
        SqlStore(engine).unit_of_work()
    with SqlStore(engine, check_schema=False).unit_of_work() as uow:
        assert uow.requests.get(request.id).number == request.number
    upgrade(engine)
    with SqlStore(engine).unit_of_work() as uow:
        assert uow.repairs.find(request_id=request.id) == []


# --- stored rows -----------------------------------------------------------------------------


def test_rows_record_and_outbox_of_an_outsourced_repair(store: SqlStore) -> None:
    """The query columns follow the aggregates, the R9 records get one row per entry (only
    new ones are appended), every event gets one outbox row with its aggregate id."""
    order = diagnosed(new_order())
    repair = depot.send_to_vendor(order, outsourced_id=uuid4(), reason="需返厂", actor=CLERK,
                                  at=T0 + 2 * H, policy=POLICY)
    vendor = Vendor(uuid4(), "联想维修站", contact="0755-1234", capabilities={"笔记本"})
    events = save(store, vendor, order, repair)
    with store.unit_of_work() as uow:
        loaded = uow.outsourced.get(repair.id)
        outsourced.choose_vendor(loaded, vendor=uow.vendors.get(vendor.id), actor=CLERK,
                                 at=T0 + 3 * H)
        outsourced.ship_to_vendor(loaded, carrier="顺丰", tracking_number="SF1", voucher="V-1",
                                  promised_by=T0 + 100 * H, actor=CLERK, at=T0 + 3 * H,
                                  policy=POLICY)
        uow.commit()
        events += uow.collect_new_events()
    (order_row,) = rows(store, sql_schema.repair_orders, sql_schema.repair_orders.c.id == order.id)
    assert (order_row.state, order_row.number, order_row.version) == (
        "at_vendor", order.number, 1
    )
    assert order_row.received_at == T0.astimezone(UTC)
    # the document carries the R9 record (one read loads it), never the version (a column)
    assert "version" not in order_row.doc
    assert [e["action"] for e in order_row.doc["record"]] == [e.action for e in order.record]
    (repair_row,) = rows(store, sql_schema.outsourced_repairs,
                         sql_schema.outsourced_repairs.c.id == repair.id)
    assert (repair_row.state, repair_row.version) == ("at_vendor", 2)
    assert repair_row.updated_at == (T0 + 3 * H).astimezone(UTC)
    record = rows(store, sql_schema.outsourced_record,
                  sql_schema.outsourced_record.c.outsourced_id == repair.id)
    assert [r.action for r in sorted(record, key=lambda r: r.sequence)] == [
        "open", "choose_vendor", "ship"
    ]
    assert len(rows(store, sql_schema.repair_record,
                    sql_schema.repair_record.c.order_id == order.id)) == len(order.record)
    outbox = rows(store, sql_schema.outbox,
                  sql_schema.outbox.c.aggregate_id.in_([order.id, repair.id]))
    assert sorted(r.event_id for r in outbox) == sorted(e.event_id for e in events)
    assert {r.aggregate_id for r in outbox if r.name == "ShippedToVendor"} == {repair.id}
    with store.unit_of_work() as uow:
        ledger = uow.outsourced.find(states=[OutsourcedState.AT_VENDOR])
        assert [r.id for r in ledger] == [repair.id]


def test_stock_and_parts_are_plain_json(store: SqlStore) -> None:
    """Reservations keyed by UUID, levels keyed by SKU, Decimal prices: plain JSON that
    reads back exactly."""
    location = StockLocation(uuid4(), "北京仓")
    stock = Stock(location)
    stock.receive(sku="硬盘-2TB", quantity=3, actor=CLERK, at=T0)
    reservation = stock.reserve(reservation_id=uuid4(), order_id=uuid4(), sku="硬盘-2TB",
                                quantity=2, actor=ENGINEER, at=T0 + H)
    part = Part("硬盘-2TB", "希捷 2TB", PartOrigin.THIRD_PARTY, Money(Decimal("499.9900"), "CNY"),
                storage_media=True)
    expected = make_converter().unstructure(stock)
    save(store, stock, part)
    (row,) = rows(store, sql_schema.stock, sql_schema.stock.c.location_id == location.id)
    assert row.doc["levels"] == {"硬盘-2TB": {"on_hand": 3, "reserved": 2}}
    assert list(row.doc["reservations"]) == [str(reservation.id)]
    (part_row,) = rows(store, sql_schema.parts, sql_schema.parts.c.sku == part.sku)
    assert part_row.doc["unit_price"] == {"amount": "499.9900", "currency": "CNY"}
    with store.unit_of_work() as uow:
        loaded = uow.stock.get(location.id)
        assert make_converter().unstructure(loaded) == {**expected, "version": 1}
        assert loaded.reservations[reservation.id] == reservation
        assert uow.parts.get(part.sku) == part


def test_orders_received_together_are_ordered_by_number_on_every_engine(
    store: SqlStore,
) -> None:
    """``find`` breaks ties of intake time by number in code-point order, whatever the
    database's collation, with and without ``limit``."""
    customer_id = uuid4()
    numbers = ["RO-b", "RO-a", "RO-Z", "RO-é", "RO-10", "RO-9", "维修-1"]
    suffix = uuid4().hex[:8]
    orders = [new_order(f"{n}-{suffix}", customer_id=customer_id) for n in numbers]
    orders.append(new_order(f"RO-0-{suffix}", customer_id=customer_id, at=T0 + H))
    save(store, *orders)
    expected = [o.number for o in sorted(orders, key=lambda o: (o.received_at, o.number))]
    with store.unit_of_work() as uow:
        assert [o.number for o in uow.repairs.find(customer_id=customer_id)] == expected
        for limit in range(len(orders) + 1):
            found = uow.repairs.find(customer_id=customer_id, limit=limit)
            assert [o.number for o in found] == expected[:limit]


# --- malformed data and the append-only record -----------------------------------------------


def test_malformed_repair_data_raises_storage_error(store: SqlStore) -> None:
    """A document of the wrong shape, a document disagreeing with its row and a gap in the
    R9 record are reported, never half-read."""
    order = diagnosed(new_order())
    save(store, order)
    table = sql_schema.repair_orders
    (row,) = rows(store, table, table.c.id == order.id)
    corrupt(store, table, "id", order.id, doc={**row.doc, "surprise": 1})
    with store.unit_of_work() as uow, pytest.raises(StorageError, match="malformed"):
        uow.repairs.get(order.id)
    corrupt(store, table, "id", order.id, doc={**row.doc, "state": "closed"})
    with store.unit_of_work() as uow, pytest.raises(StorageError, match="disagrees"):
        uow.repairs.find(customer_id=order.customer_id)
    corrupt(store, table, "id", order.id, doc=row.doc)
    record = sql_schema.repair_record
    with store.engine.begin() as conn:
        conn.execute(record.delete().where(record.c.order_id == order.id,
                                           record.c.sequence == 2))
    with store.unit_of_work() as uow, pytest.raises(StorageError, match="gap"):
        uow.repairs.get(order.id)
    stock = Stock(StockLocation(uuid4(), "上海仓"))
    save(store, stock)
    corrupt(store, sql_schema.stock, "location_id", stock.id, doc=[1, 2])
    with store.unit_of_work() as uow, pytest.raises(StorageError, match="not a JSON object"):
        uow.stock.get(stock.id)


def test_the_record_of_a_repair_order_is_append_only(store: SqlStore) -> None:
    """R9: rewriting an entry already stored is refused at commit; nothing is written."""
    order = diagnosed(new_order())
    save(store, order)
    with store.unit_of_work() as uow:
        loaded = uow.repairs.get(order.id)
        depot.record_progress_check(loaded, note="检测中", actor=CLERK, at=T0 + 2 * H)
        loaded.record[0] = loaded.record[1]
        with pytest.raises(ValidationError, match="append-only"):
            uow.commit()
    with store.unit_of_work() as uow:
        assert uow.repairs.get(order.id).progress_checked_at is None
