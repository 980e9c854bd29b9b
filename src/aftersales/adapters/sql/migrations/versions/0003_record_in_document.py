"""The R9 record inside the aggregate documents; an index for "by state and priority".

Loading a request, repair order or outsourced repair becomes one statement: its document now
carries its R9 record too (the append-only record tables keep every entry as before, as the
queryable audit trail). The upgrade copies every stored record into its document; the
downgrade removes it again. The index ``(state, priority, registered_at, number)`` replaces
``(state, priority)``: it serves the filter and the ``ORDER BY registered_at`` of
``requests.find(states=..., priority=..., limit=...)`` on every engine.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types of this revision (migrations never import the live schema).
UTC_DATETIME = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

#: (aggregate table, record table, owner column of the record table)
RECORDS = (
    ("service_requests", "request_record", "request_id"),
    ("repair_orders", "repair_record", "order_id"),
    ("outsourced_repairs", "outsourced_record", "outsourced_id"),
)
BATCH = 500


def _tables(name: str, record_name: str, owner: str) -> tuple[sa.Table, sa.Table]:
    meta = sa.MetaData()
    table = sa.Table(
        name, meta, sa.Column("id", sa.Uuid(), primary_key=True), sa.Column("doc", sa.JSON())
    )
    record = sa.Table(
        record_name, meta,
        sa.Column(owner, sa.Uuid(), primary_key=True),
        sa.Column("sequence", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", UTC_DATETIME),
        sa.Column("actor_id", sa.Uuid()),
        sa.Column("workflow", sa.String(32)),
        sa.Column("subject_id", sa.Uuid()),
        sa.Column("action", sa.String(64)),
        sa.Column("from_state", sa.String(64)),
        sa.Column("to_state", sa.String(64)),
        sa.Column("note", sa.Text()),
    )
    return table, record


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _entry(row: sa.Row[Any]) -> dict[str, Any]:
    """One record row as the store's converter writes a RecordEntry."""
    return {
        "sequence": row.sequence, "at": _utc(row.at).isoformat(), "actor_id": str(row.actor_id),
        "workflow": row.workflow, "subject_id": str(row.subject_id), "action": row.action,
        "from_state": row.from_state, "to_state": row.to_state, "note": row.note,
    }


def _batches(conn: sa.Connection, table: sa.Table) -> Iterator[Sequence[Any]]:
    """Every row of ``table`` (id, doc), a batch at a time, in id order (keyset paging)."""
    last: UUID | None = None
    while True:
        query = sa.select(table.c.id, table.c.doc).order_by(table.c.id).limit(BATCH)
        if last is not None:
            query = query.where(table.c.id > last)
        rows = conn.execute(query).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _rewrite(with_record: bool) -> None:
    conn = op.get_bind()
    for name, record_name, owner in RECORDS:
        table, record = _tables(name, record_name, owner)
        update = (
            table.update().where(table.c.id == sa.bindparam("b_id"))
            .values(doc=sa.bindparam("b_doc"))
        )
        for rows in _batches(conn, table):
            entries: dict[UUID, list[dict[str, Any]]] = {row.id: [] for row in rows}
            if with_record:
                query = (
                    sa.select(record).where(record.c[owner].in_(list(entries)))
                    .order_by(record.c[owner], record.c.sequence)
                )
                for entry in conn.execute(query):
                    entries[entry[0]].append(_entry(entry))
            changes = []
            for row in rows:
                if not isinstance(row.doc, dict):
                    continue  # left as is: the store reports it when it is read
                doc = {key: value for key, value in row.doc.items() if key != "record"}
                if with_record:
                    doc["record"] = entries[row.id]
                changes.append({"b_id": row.id, "b_doc": doc})
            if changes:
                conn.execute(update, changes)


def upgrade() -> None:
    """Copy every R9 record into its aggregate's document; replace the (state, priority)
    index of service requests with (state, priority, registered_at, number)."""
    op.create_index(
        "ix_service_requests_state_priority_registered_at_number", "service_requests",
        ["state", "priority", "registered_at", "number"],
    )
    op.drop_index("ix_service_requests_state_priority", table_name="service_requests")
    _rewrite(with_record=True)


def downgrade() -> None:
    """Remove the records from the documents (the record tables keep them); restore the
    (state, priority) index."""
    _rewrite(with_record=False)
    op.create_index("ix_service_requests_state_priority", "service_requests",
                    ["state", "priority"])
    op.drop_index(
        "ix_service_requests_state_priority_registered_at_number", table_name="service_requests"
    )
