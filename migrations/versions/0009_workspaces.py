"""workspaces are the tenant: workspaces, their members, and a workspace_id on every tenant row

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 17:00:00

Each existing user becomes a workspace whose id is the user's id (named as the user), with that user
as its admin, so ``workspace_id = user_id`` on every existing row and every existing key keeps
working with the same effect. ``user_id`` columns stay: they now name the member who did or
created it. Idempotency keys, operation keys and resources become unique per workspace.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table whose rows belong to a tenant, with whether its rows always have one.
TENANT_TABLES: dict[str, bool] = {
    "api_keys": True,
    "personas": True,
    "resources": False,  # the flag catalogue belongs to no one
    "operations": True,
    "scheduled_promotions": True,
    "promotions": True,
    "draft_entries": True,
    "webhook_endpoints": True,
    "webhook_deliveries": True,
    "outbox_events": True,
    "idempotency_records": True,
}
# Tables whose workspace_id is a foreign key (the others carry plain ids, as their user_id does).
WITH_FOREIGN_KEY = (
    "api_keys",
    "personas",
    "resources",
    "operations",
    "scheduled_promotions",
    "promotions",
    "draft_entries",
    "webhook_endpoints",
    "idempotency_records",
)
INDEXED = ("api_keys", "personas", "webhook_endpoints")
# Unique per tenant: (table, old name, new name, the columns after user_id/workspace_id).
UNIQUE_PER_TENANT = (
    ("operations", "uq_operations_user_key", "uq_operations_workspace_key", ["idempotency_key"]),
    (
        "idempotency_records",
        "uq_idempotency_records_user_key",
        "uq_idempotency_records_workspace_key",
        ["key"],
    ),
    ("resources", "uq_resources_value", "uq_resources_value", ["kind", "value_hash"]),
)


def _create_tables() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workspaces"),
        sa.UniqueConstraint("name", name="uq_workspaces_name"),
    )
    op.create_table(
        "workspace_members",
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name="fk_workspace_members_workspace_id_workspaces"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_workspace_members_user_id_users"),
        sa.PrimaryKeyConstraint("workspace_id", "user_id", name="pk_workspace_members"),
    )
    op.create_index("ix_workspace_members_user_id", "workspace_members", ["user_id"])


def _carry_data_over() -> None:
    """Each user a workspace of one with the same id and name, the user its admin; every row's
    workspace is its user's."""
    op.execute("INSERT INTO workspaces (id, name, created_at) SELECT id, name, created_at FROM users")
    op.execute(
        "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) "
        "SELECT id, id, 'admin', created_at FROM users"
    )
    for table in TENANT_TABLES:
        op.execute(f"UPDATE {table} SET workspace_id = user_id")  # table names from the list above


def upgrade() -> None:
    _create_tables()
    for table in TENANT_TABLES:
        op.add_column(table, sa.Column("workspace_id", sa.String(36), nullable=True))
    op.add_column("api_keys", sa.Column("name", sa.String(200), nullable=True))
    _carry_data_over()
    for table, required in TENANT_TABLES.items():
        with op.batch_alter_table(table) as batch:
            if required:
                batch.alter_column("workspace_id", existing_type=sa.String(36), nullable=False)
            if table in WITH_FOREIGN_KEY:
                batch.create_foreign_key(
                    f"fk_{table}_workspace_id_workspaces", "workspaces", ["workspace_id"], ["id"]
                )
            if table in INDEXED:
                batch.create_index(f"ix_{table}_workspace_id", ["workspace_id"])
            for unique_table, old, new, columns in UNIQUE_PER_TENANT:
                if unique_table == table:
                    batch.drop_constraint(old, type_="unique")
                    batch.create_unique_constraint(new, ["workspace_id", *columns])
            if table == "outbox_events":
                batch.drop_index("ix_outbox_events_user_global_seq")
                batch.create_index("ix_outbox_events_workspace_global_seq", ["workspace_id", "global_seq"])


def downgrade() -> None:
    for table in TENANT_TABLES:
        with op.batch_alter_table(table) as batch:
            if table == "outbox_events":
                batch.drop_index("ix_outbox_events_workspace_global_seq")
                batch.create_index("ix_outbox_events_user_global_seq", ["user_id", "global_seq"])
            for unique_table, old, new, columns in UNIQUE_PER_TENANT:
                if unique_table == table:
                    batch.drop_constraint(new, type_="unique")
                    batch.create_unique_constraint(old, ["user_id", *columns])
            if table in INDEXED:
                batch.drop_index(f"ix_{table}_workspace_id")
            if table in WITH_FOREIGN_KEY:
                batch.drop_constraint(f"fk_{table}_workspace_id_workspaces", type_="foreignkey")
            batch.drop_column("workspace_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("name")
    op.drop_index("ix_workspace_members_user_id", table_name="workspace_members")
    op.drop_table("workspace_members")
    op.drop_table("workspaces")
