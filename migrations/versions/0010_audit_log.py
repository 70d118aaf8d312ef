"""the audit log: audit_events, and the key id and request id of each operation

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 17:00:00

Operations recorded before this carry no key id or request id (null); nothing is back-filled in
the audit log: it starts with the changes made after the upgrade.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from greenlight.models.base import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "ix_audit_events_workspace": ["workspace_id", "occurred_at", "id"],
    "ix_audit_events_actor": ["workspace_id", "actor_user_id", "occurred_at", "id"],
    "ix_audit_events_persona": ["workspace_id", "persona_id", "occurred_at", "id"],
    "ix_audit_events_action": ["workspace_id", "action", "occurred_at", "id"],
}


def upgrade() -> None:
    with op.batch_alter_table("operations") as batch:
        batch.add_column(sa.Column("key_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("request_id", sa.String(128), nullable=True))
    op.create_table(
        "audit_events",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("actor_user_id", sa.String(36), nullable=True),
        sa.Column("key_id", sa.String(36), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("persona_id", sa.String(36), nullable=True),
        sa.Column("operation_id", sa.String(36), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    for name, columns in _INDEXES.items():
        op.create_index(name, "audit_events", columns)


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="audit_events")
    op.drop_table("audit_events")
    with op.batch_alter_table("operations") as batch:
        batch.drop_column("request_id")
        batch.drop_column("key_id")
