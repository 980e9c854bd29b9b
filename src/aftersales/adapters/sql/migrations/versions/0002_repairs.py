"""Depot and outsourced repairs, their R9 records, vendors, parts and stock.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types of this revision (migrations never import the live schema).
UTC_DATETIME = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def _id(name: str, *, nullable: bool = False, primary_key: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Uuid(), nullable=nullable, primary_key=primary_key)


def _record(name: str, owner: str, owner_table: str) -> None:
    op.create_table(
        name,
        sa.Column(owner, sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        _id("actor_id"),
        sa.Column("workflow", sa.String(32), nullable=False),
        _id("subject_id"),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(64), nullable=True),
        sa.Column("to_state", sa.String(64), nullable=False),
        sa.Column("note", LONG_TEXT, nullable=False),
        sa.PrimaryKeyConstraint(owner, "sequence", name=f"pk_{name}"),
        sa.ForeignKeyConstraint(
            [owner], [f"{owner_table}.id"], name=f"fk_{name}_{owner}_{owner_table}"
        ),
        **OPTIONS,
    )


def upgrade() -> None:
    """Create the repair, vendor, parts and stock tables (existing data is untouched)."""
    op.create_table(
        "repair_orders",
        _id("id", primary_key=True),
        sa.Column("number", sa.String(64), nullable=False),
        _id("request_id"),
        _id("equipment_id"),
        _id("customer_id"),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("promised_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_repair_orders"),
        sa.UniqueConstraint("number", name="uq_repair_orders_number"),
        **OPTIONS,
    )
    op.create_index(
        "ix_repair_orders_customer_id_state", "repair_orders", ["customer_id", "state"]
    )
    op.create_index("ix_repair_orders_equipment_id", "repair_orders", ["equipment_id"])
    op.create_index("ix_repair_orders_request_id", "repair_orders", ["request_id"])
    op.create_index("ix_repair_orders_state", "repair_orders", ["state"])
    op.create_index(
        "ix_repair_orders_received_at_number", "repair_orders", ["received_at", "number"]
    )
    _record("repair_record", "order_id", "repair_orders")
    op.create_table(
        "outsourced_repairs",
        _id("id", primary_key=True),
        _id("order_id"),
        _id("equipment_id"),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outsourced_repairs"),
        **OPTIONS,
    )
    op.create_index("ix_outsourced_repairs_state", "outsourced_repairs", ["state"])
    op.create_index("ix_outsourced_repairs_order_id", "outsourced_repairs", ["order_id"])
    op.create_index("ix_outsourced_repairs_equipment_id", "outsourced_repairs", ["equipment_id"])
    op.create_index("ix_outsourced_repairs_opened_at", "outsourced_repairs", ["opened_at"])
    _record("outsourced_record", "outsourced_id", "outsourced_repairs")
    op.create_table(
        "vendors",
        _id("id", primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_vendors"),
        **OPTIONS,
    )
    op.create_table(
        "parts",
        sa.Column("sku", sa.String(255), nullable=False),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("sku", name="pk_parts"),
        **OPTIONS,
    )
    op.create_table(
        "stock",
        _id("location_id", primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("location_id", name="pk_stock"),
        **OPTIONS,
    )


def downgrade() -> None:
    """Drop the tables of this revision (their data is lost)."""
    for table in (
        "stock", "parts", "vendors", "outsourced_record", "outsourced_repairs",
        "repair_record", "repair_orders",
    ):
        op.drop_table(table)
