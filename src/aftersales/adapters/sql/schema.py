"""The tables of the SQL adapter, built from the aggregate kind declarations.

Nothing is built at import time: :func:`build_schema` makes a :class:`SqlSchema` (a
:class:`sqlalchemy.MetaData` and its tables) for a set of kinds. For every kind there is

- ``<table>``: the id (UUID key), the optimistic-concurrency ``version``, the aggregate as a
  JSON document (``doc``, without its record), the digest of its newest record entry
  (``record_head``) and one indexed column per declared query field;
- ``<table>_record``: its R9 record, one row per entry, append-only, each row chained to the
  one before by a digest (so an edited, inserted or deleted row is found on load);

and, shared, the transactional ``outbox`` and the ``idempotency_keys``. Datetimes are stored
in UTC on every engine (engines without time zones get naive UTC; the zone is re-attached on
read). Text that may be long is ``TEXT`` (``LONGTEXT`` on MariaDB/MySQL).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect

from aftersales.domain.kernel import AggregateKind, Kinds, QueryField

__all__ = [
    "HEAD_REVISION",
    "LONG_TEXT",
    "NAMING_CONVENTION",
    "REVISIONS",
    "SqlSchema",
    "UtcDateTime",
    "build_schema",
]

#: Every schema revision the code knows, oldest first (mirrors ``migrations/versions``).
REVISIONS: tuple[str, ...] = ("aftersales_0001",)
#: The revision this code needs; a database at another revision is refused (StorageError).
HEAD_REVISION = REVISIONS[-1]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: MariaDB/MySQL: 4-byte UTF-8 and exact (binary) comparison of keys such as service
#: numbers, whatever the database's defaults; ignored by other engines.
TABLE_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

#: Long text: TEXT on most engines, LONGTEXT on MariaDB/MySQL (TEXT holds only 64 KB there).
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")

#: The longest workflow, state and action names the record table holds.
NAME_LENGTH = 64


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


def column_type(field: QueryField) -> sa.types.TypeEngine[Any]:
    """The column type of a query field."""
    kind = field.type
    if kind is UUID:
        return sa.Uuid()
    if kind is str:
        return sa.String(field.max_length)
    if kind is bool:
        return sa.Boolean()
    if kind is int:
        return sa.BigInteger()
    if kind is datetime:
        return UtcDateTime()
    if kind is date:
        return sa.Date()
    if kind is Decimal:
        return sa.Numeric(24, 4)
    raise TypeError(f"no column type for {kind!r}")  # pragma: no cover - kinds check it


@attrs.frozen
class SqlSchema:
    """The metadata and tables for a set of kinds (see :func:`build_schema`)."""

    metadata: sa.MetaData
    kinds: Kinds
    tables: dict[str, sa.Table]
    records: dict[str, sa.Table]
    outbox: sa.Table
    keys: sa.Table
    prefix: str = ""

    def table(self, kind: AggregateKind[Any]) -> sa.Table:
        """The table of ``kind``."""
        return self.tables[kind.table]

    def record(self, kind: AggregateKind[Any]) -> sa.Table:
        """The R9 record table of ``kind``."""
        return self.records[kind.table]


def _aggregate_table(
    metadata: sa.MetaData, kind: AggregateKind[Any], prefix: str, schema: str | None
) -> sa.Table:
    name = prefix + kind.table
    columns: list[Any] = [
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record_head", sa.String(64), nullable=False),
        sa.Column("doc", LONG_TEXT, nullable=False),
    ]
    for field in kind.fields:
        columns.append(sa.Column(field.name, column_type(field), nullable=True))
    extras: list[Any] = []
    composite = {group[0] for group in kind.indexes}
    for field in kind.fields:
        if field.unique:
            extras.append(sa.UniqueConstraint(field.name))
        elif field.index and field.name not in composite:
            extras.append(sa.Index(None, field.name))
    for group in kind.unique_together:
        extras.append(sa.UniqueConstraint(*group))
    for group in kind.indexes:
        extras.append(sa.Index(None, *group))
    return sa.Table(name, metadata, *columns, *extras, schema=schema, **TABLE_OPTIONS)


def _record_table(
    metadata: sa.MetaData, kind: AggregateKind[Any], owner: sa.Table, prefix: str,
    schema: str | None,
) -> sa.Table:
    return sa.Table(
        f"{prefix}{kind.table}_record",
        metadata,
        sa.Column("owner_id", sa.Uuid(), sa.ForeignKey(owner.c.id), primary_key=True),
        sa.Column("sequence", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("workflow", sa.String(NAME_LENGTH), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(NAME_LENGTH), nullable=False),
        sa.Column("from_state", sa.String(NAME_LENGTH), nullable=True),
        sa.Column("to_state", sa.String(NAME_LENGTH), nullable=False),
        sa.Column("note", LONG_TEXT, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        schema=schema,
        **TABLE_OPTIONS,
    )


def build_schema(
    kinds: Kinds | Iterable[AggregateKind[Any]], *, prefix: str = "", schema: str | None = None
) -> SqlSchema:
    """The tables for ``kinds``, named ``<prefix><table>`` (in database schema ``schema``)."""
    chosen = kinds if isinstance(kinds, Kinds) else Kinds(kinds)
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    tables: dict[str, sa.Table] = {}
    records: dict[str, sa.Table] = {}
    for kind in chosen:
        table = tables[kind.table] = _aggregate_table(metadata, kind, prefix, schema)
        records[kind.table] = _record_table(metadata, kind, table, prefix, schema)
    outbox = sa.Table(
        f"{prefix}outbox",
        metadata,
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("aggregate_type", sa.String(NAME_LENGTH), nullable=False),
        sa.Column("aggregate_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("payload", LONG_TEXT, nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=True),
        sa.Column("failed_at", UtcDateTime(), nullable=True),
        sa.Column("error", LONG_TEXT, nullable=True),
        sa.UniqueConstraint("aggregate_id", "sequence"),
        sa.Index(None, "published_at", "failed_at", "aggregate_id", "sequence"),
        schema=schema,
        **TABLE_OPTIONS,
    )
    keys = sa.Table(
        f"{prefix}idempotency_keys",
        metadata,
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("command", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(NAME_LENGTH), nullable=False),
        sa.Column("aggregate_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        schema=schema,
        **TABLE_OPTIONS,
    )
    return SqlSchema(metadata, chosen, tables, records, outbox, keys, prefix)
