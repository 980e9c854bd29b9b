"""The tables of the SQL adapter, declared with SQLAlchemy Core (nothing connects here).

Every aggregate table carries the columns users query and index plus the whole aggregate as
a JSON document (``doc``), its R9 step record included (so loading an aggregate is one
statement). The record is also kept, as the queryable and exportable audit trail, in its
own append-only table, ``request_record``, one row per entry, never updated; so are the
records of repair orders (``repair_record``) and outsourced repairs (``outsourced_record``).
Loading checks that the record rows agree with the document (count and newest time).
Datetimes are stored in
UTC; engines without time zones (MariaDB/MySQL, SQLite) get naive UTC values and the zone
is re-attached on read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect

__all__ = [
    "HEAD_REVISION",
    "REVISIONS",
    "UtcDateTime",
    "actors",
    "customers",
    "equipment",
    "idempotency_keys",
    "metadata",
    "outbox",
    "outsourced_record",
    "outsourced_repairs",
    "parts",
    "repair_orders",
    "repair_record",
    "request_record",
    "service_plans",
    "service_requests",
    "stock",
    "vendors",
]

#: Every schema revision the code knows, oldest first (mirrors ``migrations/versions``).
REVISIONS: tuple[str, ...] = ("0001", "0002", "0003")
#: The revision this code needs; a database at another revision is refused (StorageError).
HEAD_REVISION = REVISIONS[-1]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC on every engine.

    PostgreSQL keeps ``timestamptz``; MariaDB/MySQL get ``DATETIME(6)`` and SQLite text, both
    holding naive UTC. Values come back as aware UTC datetimes. Naive input is refused.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        """``DATETIME(6)`` on MariaDB/MySQL (microseconds), the plain impl elsewhere."""
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC (naive UTC where the engine has no time zones)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored")
        value = value.astimezone(UTC)
        if dialect.name == "postgresql":
            return value
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Re-attach UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _uuid(name: str, *, nullable: bool = False, primary_key: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Uuid(), nullable=nullable, primary_key=primary_key)


def _version() -> sa.Column[Any]:
    return sa.Column("version", sa.Integer(), nullable=False)


def _doc(name: str = "doc") -> sa.Column[Any]:
    return sa.Column(name, sa.JSON(), nullable=False)


#: MariaDB/MySQL: 4-byte UTF-8 and exact (binary) comparison of keys such as service
#: numbers, whatever the database's defaults; ignored by other engines.
TABLE_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

#: Long text: TEXT on most engines, LONGTEXT on MariaDB/MySQL (TEXT holds only 64 KB there).
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

#: R1 customer files.
customers = sa.Table(
    "customers",
    metadata,
    _uuid("id", primary_key=True),
    _version(),
    _doc(),
    **TABLE_OPTIONS,
)

#: R2 equipment files; ``customer_id`` is the owner.
equipment = sa.Table(
    "equipment",
    metadata,
    _uuid("id", primary_key=True),
    _uuid("customer_id", nullable=True),
    sa.Column("serial", sa.String(255), nullable=False),
    sa.Column("model", sa.String(255), nullable=False),
    _version(),
    _doc(),
    sa.Index(None, "customer_id"),
    sa.UniqueConstraint("model", "serial"),  # R2: serials are unique per model
    **TABLE_OPTIONS,
)

#: R4 service plans.
service_plans = sa.Table(
    "service_plans",
    metadata,
    _uuid("id", primary_key=True),
    _uuid("customer_id"),
    _version(),
    _doc(),
    sa.Index(None, "customer_id"),
    **TABLE_OPTIONS,
)

#: R30 the directory of actors.
actors = sa.Table(
    "actors",
    metadata,
    _uuid("id", primary_key=True),
    _uuid("customer_id", nullable=True),
    _doc(),
    **TABLE_OPTIONS,
)

#: Service requests (R5-R12): query columns plus the aggregate (with its record).
service_requests = sa.Table(
    "service_requests",
    metadata,
    _uuid("id", primary_key=True),
    sa.Column("number", sa.String(64), nullable=False),
    _uuid("customer_id"),
    _uuid("equipment_id", nullable=True),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("priority", sa.SmallInteger(), nullable=False),
    _uuid("engineer_id", nullable=True),
    sa.Column("registered_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    _version(),
    _doc(),
    sa.UniqueConstraint("number"),
    sa.Index(None, "customer_id", "state"),
    # "by state and priority, oldest first": serves the filter and the ORDER BY (0003)
    sa.Index(None, "state", "priority", "registered_at", "number"),
    sa.Index(None, "engineer_id", "state"),
    sa.Index(None, "equipment_id"),
    sa.Index(None, "registered_at", "number"),
    **TABLE_OPTIONS,
)

#: R9: the step record, append-only, one row per RecordEntry.
request_record = sa.Table(
    "request_record",
    metadata,
    sa.Column(
        "request_id",
        sa.Uuid(),
        sa.ForeignKey("service_requests.id"),
        primary_key=True,
    ),
    sa.Column("sequence", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    _uuid("actor_id"),
    sa.Column("workflow", sa.String(32), nullable=False),
    _uuid("subject_id"),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("from_state", sa.String(64), nullable=True),
    sa.Column("to_state", sa.String(64), nullable=False),
    sa.Column("note", LONG_TEXT, nullable=False),
    **TABLE_OPTIONS,
)

#: The transactional outbox: one row per committed domain event.
outbox = sa.Table(
    "outbox",
    metadata,
    _uuid("event_id", primary_key=True),
    _uuid("aggregate_id"),
    sa.Column("sequence", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("occurred_at", UtcDateTime(), nullable=False),
    _doc("payload"),
    sa.Column("published_at", UtcDateTime(), nullable=True),
    sa.Index(None, "published_at", "occurred_at"),
    **TABLE_OPTIONS,
)

#: Idempotency keys of commands and the aggregate each one produced or changed.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    _uuid("aggregate_id"),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    **TABLE_OPTIONS,
)


def _record_table(name: str, owner: str, owner_table: str) -> sa.Table:
    """An append-only R9 record: one row per RecordEntry of an aggregate of ``owner_table``."""
    return sa.Table(
        name,
        metadata,
        sa.Column(owner, sa.Uuid(), sa.ForeignKey(f"{owner_table}.id"), primary_key=True),
        sa.Column("sequence", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        _uuid("actor_id"),
        sa.Column("workflow", sa.String(32), nullable=False),
        _uuid("subject_id"),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(64), nullable=True),
        sa.Column("to_state", sa.String(64), nullable=False),
        sa.Column("note", LONG_TEXT, nullable=False),
        **TABLE_OPTIONS,
    )


#: R13 depot repair orders: query columns plus the aggregate (with its record).
repair_orders = sa.Table(
    "repair_orders",
    metadata,
    _uuid("id", primary_key=True),
    sa.Column("number", sa.String(64), nullable=False),
    _uuid("request_id"),
    _uuid("equipment_id"),
    _uuid("customer_id"),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("promised_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    _version(),
    _doc(),
    sa.UniqueConstraint("number"),
    sa.Index(None, "customer_id", "state"),
    sa.Index(None, "equipment_id"),
    sa.Index(None, "request_id"),
    sa.Index(None, "state"),
    sa.Index(None, "received_at", "number"),
    **TABLE_OPTIONS,
)

#: R9: the step record of a repair order, append-only.
repair_record = _record_table("repair_record", "order_id", "repair_orders")

#: R14 outsourced repairs (the return ledger asks for ``state = 'at_vendor'``).
outsourced_repairs = sa.Table(
    "outsourced_repairs",
    metadata,
    _uuid("id", primary_key=True),
    _uuid("order_id"),
    _uuid("equipment_id"),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("opened_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    _version(),
    _doc(),
    sa.Index(None, "state"),
    sa.Index(None, "order_id"),
    sa.Index(None, "equipment_id"),
    sa.Index(None, "opened_at"),
    **TABLE_OPTIONS,
)

#: R9: the step record of an outsourced repair, append-only.
outsourced_record = _record_table("outsourced_record", "outsourced_id", "outsourced_repairs")

#: R14 the vendor registry.
vendors = sa.Table(
    "vendors",
    metadata,
    _uuid("id", primary_key=True),
    _version(),
    _doc(),
    **TABLE_OPTIONS,
)

#: R28 the parts catalogue, keyed by SKU.
parts = sa.Table(
    "parts",
    metadata,
    sa.Column("sku", sa.String(255), primary_key=True),
    _doc(),
    **TABLE_OPTIONS,
)

#: R28 stock per location: one aggregate (levels, reservations, movements) per location.
stock = sa.Table(
    "stock",
    metadata,
    _uuid("location_id", primary_key=True),
    _version(),
    _doc(),
    **TABLE_OPTIONS,
)
