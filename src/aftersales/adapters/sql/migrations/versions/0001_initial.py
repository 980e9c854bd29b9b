"""Initial schema: records, service requests, the R9 record, outbox and idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types of this revision (migrations never import the live schema).
UTC_DATETIME = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def _id(name: str, *, nullable: bool = False, primary_key: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Uuid(), nullable=nullable, primary_key=primary_key)


def upgrade() -> None:
    """Create every table and index."""
    op.create_table(
        "customers",
        _id("id", primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        **OPTIONS,
    )
    op.create_table(
        "equipment",
        _id("id", primary_key=True),
        _id("customer_id", nullable=True),
        sa.Column("serial", sa.String(255), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_equipment"),
        sa.UniqueConstraint("model", "serial", name="uq_equipment_model_serial"),
        **OPTIONS,
    )
    op.create_index("ix_equipment_customer_id", "equipment", ["customer_id"])
    op.create_table(
        "service_plans",
        _id("id", primary_key=True),
        _id("customer_id"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_service_plans"),
        **OPTIONS,
    )
    op.create_index("ix_service_plans_customer_id", "service_plans", ["customer_id"])
    op.create_table(
        "actors",
        _id("id", primary_key=True),
        _id("customer_id", nullable=True),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_actors"),
        **OPTIONS,
    )
    op.create_table(
        "service_requests",
        _id("id", primary_key=True),
        sa.Column("number", sa.String(64), nullable=False),
        _id("customer_id"),
        _id("equipment_id", nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        _id("engineer_id", nullable=True),
        sa.Column("registered_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_service_requests"),
        sa.UniqueConstraint("number", name="uq_service_requests_number"),
        **OPTIONS,
    )
    op.create_index(
        "ix_service_requests_customer_id_state", "service_requests", ["customer_id", "state"]
    )
    op.create_index(
        "ix_service_requests_state_priority", "service_requests", ["state", "priority"]
    )
    op.create_index(
        "ix_service_requests_engineer_id_state", "service_requests", ["engineer_id", "state"]
    )
    op.create_index("ix_service_requests_equipment_id", "service_requests", ["equipment_id"])
    op.create_index(
        "ix_service_requests_registered_at_number", "service_requests", ["registered_at", "number"]
    )
    op.create_table(
        "request_record",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        _id("actor_id"),
        sa.Column("workflow", sa.String(32), nullable=False),
        _id("subject_id"),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(64), nullable=True),
        sa.Column("to_state", sa.String(64), nullable=False),
        sa.Column("note", LONG_TEXT, nullable=False),
        sa.PrimaryKeyConstraint("request_id", "sequence", name="pk_request_record"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["service_requests.id"],
            name="fk_request_record_request_id_service_requests",
        ),
        **OPTIONS,
    )
    op.create_table(
        "outbox",
        _id("event_id", primary_key=True),
        _id("aggregate_id"),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("published_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_outbox"),
        **OPTIONS,
    )
    op.create_index("ix_outbox_published_at_occurred_at", "outbox", ["published_at", "occurred_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(255), nullable=False),
        _id("aggregate_id"),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_keys"),
        **OPTIONS,
    )


def downgrade() -> None:
    """Drop every table (data is lost)."""
    for table in (
        "idempotency_keys", "outbox", "request_record", "service_requests", "actors",
        "service_plans", "equipment", "customers",
    ):
        op.drop_table(table)
