"""The aftersales schema: one table per declared aggregate kind and its R9 record table, the
outbox and the idempotency keys.

Revision ID: aftersales_0001
Revises:
Create Date: 2026-12-02

Generated from :func:`aftersales.adapters.sql.schema.build_schema` over the shipped kinds;
``tests/integration/test_migrations.py`` keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aftersales.adapters.sql.schema import LONG_TEXT, UtcDateTime

revision: str = "aftersales_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("aftersales",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "actors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record_head", sa.String(length=64), nullable=False),
        sa.Column("doc", LONG_TEXT, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actors")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index(op.f("ix_actors_customer_id"), "actors", ["customer_id"], unique=False)
    op.create_index(op.f("ix_actors_name"), "actors", ["name"], unique=False)
    op.create_index(op.f("ix_actors_state"), "actors", ["state"], unique=False)
    op.create_table(
        "customers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record_head", sa.String(length=64), nullable=False),
        sa.Column("doc", LONG_TEXT, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("tier", sa.String(length=40), nullable=True),
        sa.Column("state", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index(op.f("ix_customers_name"), "customers", ["name"], unique=False)
    op.create_index(op.f("ix_customers_state"), "customers", ["state"], unique=False)
    op.create_index(op.f("ix_customers_tier"), "customers", ["tier"], unique=False)
    op.create_table(
        "equipment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record_head", sa.String(length=64), nullable=False),
        sa.Column("doc", LONG_TEXT, nullable=False),
        sa.Column("serial", sa.String(length=120), nullable=True),
        sa.Column("model", sa.String(length=120), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("product_line", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equipment")),
        sa.UniqueConstraint("model", "serial", name=op.f("uq_equipment_model_serial")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index(op.f("ix_equipment_model"), "equipment", ["model"], unique=False)
    op.create_index(op.f("ix_equipment_owner_id"), "equipment", ["owner_id"], unique=False)
    op.create_index(op.f("ix_equipment_product_line"), "equipment", ["product_line"], unique=False)
    op.create_index(op.f("ix_equipment_serial"), "equipment", ["serial"], unique=False)
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("command", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("aggregate_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_idempotency_keys")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "outbox",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("aggregate_type", sa.String(length=64), nullable=False),
        sa.Column("aggregate_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("payload", LONG_TEXT, nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=True),
        sa.Column("failed_at", UtcDateTime(), nullable=True),
        sa.Column("error", LONG_TEXT, nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_outbox")),
        sa.UniqueConstraint(
            "aggregate_id", "sequence", name=op.f("uq_outbox_aggregate_id_sequence")
        ),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index(
        op.f("ix_outbox_published_at_failed_at_aggregate_id_sequence"),
        "outbox",
        ["published_at", "failed_at", "aggregate_id", "sequence"],
        unique=False,
    )
    op.create_table(
        "outsourced_repairs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record_head", sa.String(length=64), nullable=False),
        sa.Column("doc", LONG_TEXT, nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("equipment_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("engineer_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(length=64), nullable=True),
        sa.Column("opened_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outsourced_repairs")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index(
        op.f("ix_outsourced_repairs_customer_id"),
        "outsourced_repairs",
        ["customer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_outsourced_repairs_engineer_id"),
        "outsourced_repairs",
        ["engineer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_outsourced_repairs_equipment_id"),
        "outsourced_repairs",
        ["equipment_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_outsourced_repairs_opened_at"), "outsourced_repairs", ["opened_at"], unique=False
    )
    op.create_index(
        op.f("ix_outsourced_repairs_order_id"), "outsourced_repairs", ["order_id"], unique=False
    )
    op.create_index(
        op.f("ix_outsourced_repairs_state"), "outsourced_repairs", ["state"], unique=False
    )
    op.create_table(
        "parts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record_head", sa.String(length=64), nullable=False),
        sa.Column("doc", LONG_TEXT, nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("supplier_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parts")),
        sa.UniqueConstraint("sku", name=op.f("uq_parts_sku")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index(op.f("ix_parts_name"), "parts", ["name"], unique=False)
    op.create_index(op.f("ix_parts_supplier_id"), "parts", ["supplier_id"], unique=False)
    op.create_table(
        "repair_orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record_head", sa.String(length=64), nullable=False),
        sa.Column("doc", LONG_TEXT, nullable=False),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("equipment_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("engineer_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(length=64), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=True),
        sa.Column("open_equipment_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_repair_orders_number")),
        sa.UniqueConstraint("open_equipment_id", name=op.f("uq_repair_orders_open_equipment_id")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index(
        op.f("ix_repair_orders_customer_id"), "repair_orders", ["customer_id"], unique=False
    )
    op.create_index(
        op.f("ix_repair_orders_engineer_id"), "repair_orders", ["engineer_id"], unique=False
    )
    op.create_index(
        op.f("ix_repair_orders_equipment_id"), "repair_orders", ["equipment_id"], unique=False
    )
    op.create_index(
        op.f("ix_repair_orders_received_at"), "repair_orders", ["received_at"], unique=False
    )
    op.create_index(
        op.f("ix_repair_orders_request_id"), "repair_orders", ["request_id"], unique=False
    )
    op.create_index(op.f("ix_repair_orders_state"), "repair_orders", ["state"], unique=False)
    op.create_table(
        "service_plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record_head", sa.String(length=64), nullable=False),
        sa.Column("doc", LONG_TEXT, nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_plans")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index(
        op.f("ix_service_plans_customer_id"), "service_plans", ["customer_id"], unique=False
    )
    op.create_index(op.f("ix_service_plans_ends_on"), "service_plans", ["ends_on"], unique=False)
    op.create_index(
        op.f("ix_service_plans_starts_on"), "service_plans", ["starts_on"], unique=False
    )
    op.create_table(
        "service_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record_head", sa.String(length=64), nullable=False),
        sa.Column("doc", LONG_TEXT, nullable=False),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("equipment_id", sa.Uuid(), nullable=True),
        sa.Column("engineer_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.BigInteger(), nullable=True),
        sa.Column("registered_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_requests")),
        sa.UniqueConstraint("number", name=op.f("uq_service_requests_number")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index(
        op.f("ix_service_requests_customer_id_state"),
        "service_requests",
        ["customer_id", "state"],
        unique=False,
    )
    op.create_index(
        op.f("ix_service_requests_engineer_id_state"),
        "service_requests",
        ["engineer_id", "state"],
        unique=False,
    )
    op.create_index(
        op.f("ix_service_requests_equipment_id"), "service_requests", ["equipment_id"], unique=False
    )
    op.create_index(
        op.f("ix_service_requests_priority"), "service_requests", ["priority"], unique=False
    )
    op.create_index(
        op.f("ix_service_requests_registered_at"),
        "service_requests",
        ["registered_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_service_requests_state_priority_registered_at_number"),
        "service_requests",
        ["state", "priority", "registered_at", "number"],
        unique=False,
    )
    op.create_table(
        "stock",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record_head", sa.String(length=64), nullable=False),
        sa.Column("doc", LONG_TEXT, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("location_kind", sa.String(length=40), nullable=True),
        sa.Column("engineer_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index(op.f("ix_stock_engineer_id"), "stock", ["engineer_id"], unique=False)
    op.create_index(op.f("ix_stock_location_kind"), "stock", ["location_kind"], unique=False)
    op.create_index(op.f("ix_stock_name"), "stock", ["name"], unique=False)
    op.create_table(
        "vendors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record_head", sa.String(length=64), nullable=False),
        sa.Column("doc", LONG_TEXT, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendors")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_index(op.f("ix_vendors_name"), "vendors", ["name"], unique=False)
    op.create_index(op.f("ix_vendors_state"), "vendors", ["state"], unique=False)
    op.create_table(
        "actors_record",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("workflow", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=64), nullable=True),
        sa.Column("to_state", sa.String(length=64), nullable=False),
        sa.Column("note", LONG_TEXT, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["actors.id"], name=op.f("fk_actors_record_owner_id_actors")
        ),
        sa.PrimaryKeyConstraint("owner_id", "sequence", name=op.f("pk_actors_record")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "customers_record",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("workflow", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=64), nullable=True),
        sa.Column("to_state", sa.String(length=64), nullable=False),
        sa.Column("note", LONG_TEXT, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["customers.id"], name=op.f("fk_customers_record_owner_id_customers")
        ),
        sa.PrimaryKeyConstraint("owner_id", "sequence", name=op.f("pk_customers_record")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "equipment_record",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("workflow", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=64), nullable=True),
        sa.Column("to_state", sa.String(length=64), nullable=False),
        sa.Column("note", LONG_TEXT, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["equipment.id"], name=op.f("fk_equipment_record_owner_id_equipment")
        ),
        sa.PrimaryKeyConstraint("owner_id", "sequence", name=op.f("pk_equipment_record")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "outsourced_repairs_record",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("workflow", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=64), nullable=True),
        sa.Column("to_state", sa.String(length=64), nullable=False),
        sa.Column("note", LONG_TEXT, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["outsourced_repairs.id"],
            name=op.f("fk_outsourced_repairs_record_owner_id_outsourced_repairs"),
        ),
        sa.PrimaryKeyConstraint("owner_id", "sequence", name=op.f("pk_outsourced_repairs_record")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "parts_record",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("workflow", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=64), nullable=True),
        sa.Column("to_state", sa.String(length=64), nullable=False),
        sa.Column("note", LONG_TEXT, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["parts.id"], name=op.f("fk_parts_record_owner_id_parts")
        ),
        sa.PrimaryKeyConstraint("owner_id", "sequence", name=op.f("pk_parts_record")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "repair_orders_record",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("workflow", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=64), nullable=True),
        sa.Column("to_state", sa.String(length=64), nullable=False),
        sa.Column("note", LONG_TEXT, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["repair_orders.id"],
            name=op.f("fk_repair_orders_record_owner_id_repair_orders"),
        ),
        sa.PrimaryKeyConstraint("owner_id", "sequence", name=op.f("pk_repair_orders_record")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "service_plans_record",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("workflow", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=64), nullable=True),
        sa.Column("to_state", sa.String(length=64), nullable=False),
        sa.Column("note", LONG_TEXT, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["service_plans.id"],
            name=op.f("fk_service_plans_record_owner_id_service_plans"),
        ),
        sa.PrimaryKeyConstraint("owner_id", "sequence", name=op.f("pk_service_plans_record")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "service_requests_record",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("workflow", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=64), nullable=True),
        sa.Column("to_state", sa.String(length=64), nullable=False),
        sa.Column("note", LONG_TEXT, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["service_requests.id"],
            name=op.f("fk_service_requests_record_owner_id_service_requests"),
        ),
        sa.PrimaryKeyConstraint("owner_id", "sequence", name=op.f("pk_service_requests_record")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "stock_record",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("workflow", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=64), nullable=True),
        sa.Column("to_state", sa.String(length=64), nullable=False),
        sa.Column("note", LONG_TEXT, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["stock.id"], name=op.f("fk_stock_record_owner_id_stock")
        ),
        sa.PrimaryKeyConstraint("owner_id", "sequence", name=op.f("pk_stock_record")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.create_table(
        "vendors_record",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("workflow", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=64), nullable=True),
        sa.Column("to_state", sa.String(length=64), nullable=False),
        sa.Column("note", LONG_TEXT, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["vendors.id"], name=op.f("fk_vendors_record_owner_id_vendors")
        ),
        sa.PrimaryKeyConstraint("owner_id", "sequence", name=op.f("pk_vendors_record")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )


def downgrade() -> None:
    """Drop every table."""
    op.drop_table("vendors_record")
    op.drop_table("stock_record")
    op.drop_table("service_requests_record")
    op.drop_table("service_plans_record")
    op.drop_table("repair_orders_record")
    op.drop_table("parts_record")
    op.drop_table("outsourced_repairs_record")
    op.drop_table("equipment_record")
    op.drop_table("customers_record")
    op.drop_table("actors_record")
    op.drop_index(op.f("ix_vendors_state"), table_name="vendors")
    op.drop_index(op.f("ix_vendors_name"), table_name="vendors")
    op.drop_table("vendors")
    op.drop_index(op.f("ix_stock_name"), table_name="stock")
    op.drop_index(op.f("ix_stock_location_kind"), table_name="stock")
    op.drop_index(op.f("ix_stock_engineer_id"), table_name="stock")
    op.drop_table("stock")
    op.drop_index(
        op.f("ix_service_requests_state_priority_registered_at_number"),
        table_name="service_requests",
    )
    op.drop_index(op.f("ix_service_requests_registered_at"), table_name="service_requests")
    op.drop_index(op.f("ix_service_requests_priority"), table_name="service_requests")
    op.drop_index(op.f("ix_service_requests_equipment_id"), table_name="service_requests")
    op.drop_index(op.f("ix_service_requests_engineer_id_state"), table_name="service_requests")
    op.drop_index(op.f("ix_service_requests_customer_id_state"), table_name="service_requests")
    op.drop_table("service_requests")
    op.drop_index(op.f("ix_service_plans_starts_on"), table_name="service_plans")
    op.drop_index(op.f("ix_service_plans_ends_on"), table_name="service_plans")
    op.drop_index(op.f("ix_service_plans_customer_id"), table_name="service_plans")
    op.drop_table("service_plans")
    op.drop_index(op.f("ix_repair_orders_state"), table_name="repair_orders")
    op.drop_index(op.f("ix_repair_orders_request_id"), table_name="repair_orders")
    op.drop_index(op.f("ix_repair_orders_received_at"), table_name="repair_orders")
    op.drop_index(op.f("ix_repair_orders_equipment_id"), table_name="repair_orders")
    op.drop_index(op.f("ix_repair_orders_engineer_id"), table_name="repair_orders")
    op.drop_index(op.f("ix_repair_orders_customer_id"), table_name="repair_orders")
    op.drop_table("repair_orders")
    op.drop_index(op.f("ix_parts_supplier_id"), table_name="parts")
    op.drop_index(op.f("ix_parts_name"), table_name="parts")
    op.drop_table("parts")
    op.drop_index(op.f("ix_outsourced_repairs_state"), table_name="outsourced_repairs")
    op.drop_index(op.f("ix_outsourced_repairs_order_id"), table_name="outsourced_repairs")
    op.drop_index(op.f("ix_outsourced_repairs_opened_at"), table_name="outsourced_repairs")
    op.drop_index(op.f("ix_outsourced_repairs_equipment_id"), table_name="outsourced_repairs")
    op.drop_index(op.f("ix_outsourced_repairs_engineer_id"), table_name="outsourced_repairs")
    op.drop_index(op.f("ix_outsourced_repairs_customer_id"), table_name="outsourced_repairs")
    op.drop_table("outsourced_repairs")
    op.drop_index(
        op.f("ix_outbox_published_at_failed_at_aggregate_id_sequence"), table_name="outbox"
    )
    op.drop_table("outbox")
    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_equipment_serial"), table_name="equipment")
    op.drop_index(op.f("ix_equipment_product_line"), table_name="equipment")
    op.drop_index(op.f("ix_equipment_owner_id"), table_name="equipment")
    op.drop_index(op.f("ix_equipment_model"), table_name="equipment")
    op.drop_table("equipment")
    op.drop_index(op.f("ix_customers_tier"), table_name="customers")
    op.drop_index(op.f("ix_customers_state"), table_name="customers")
    op.drop_index(op.f("ix_customers_name"), table_name="customers")
    op.drop_table("customers")
    op.drop_index(op.f("ix_actors_state"), table_name="actors")
    op.drop_index(op.f("ix_actors_name"), table_name="actors")
    op.drop_index(op.f("ix_actors_customer_id"), table_name="actors")
    op.drop_table("actors")
