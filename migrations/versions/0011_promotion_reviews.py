"""review policies (on the persona), promotion requests and their votes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 17:10:00

Every existing persona gets the policy that reviews nothing (0 approvals): promotions apply at once,
as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from greenlight.models.base import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("personas") as batch:
        batch.add_column(sa.Column("required_approvals", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("allow_self_approval", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("open_promotion_requests", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("operations") as batch:
        # "awaiting_approval" is longer than the statuses before it.
        batch.alter_column("status", existing_type=sa.String(length=16), type_=sa.String(length=24))
        batch.add_column(sa.Column("promotion_request_id", sa.String(length=36), nullable=True))
        batch.add_column(
            sa.Column("review_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "promotion_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("persona_id", sa.String(length=36), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("operation_id", sa.String(length=36), nullable=False),
        sa.Column("requested_by", sa.String(length=36), nullable=False),
        sa.Column("requested_key_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("required_approvals", sa.Integer(), nullable=False),
        sa.Column("allow_self_approval", sa.Boolean(), nullable=False),
        sa.Column("version_id", sa.String(length=36), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("content_digest", sa.String(length=80), nullable=False),
        sa.Column("production_version_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["persona_id"], ["personas.id"], name=op.f("fk_promotion_requests_persona_id_personas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_requests")),
        sa.UniqueConstraint("operation_id", name=op.f("uq_promotion_requests_operation_id")),
    )
    op.create_index(
        "ix_promotion_requests_workspace_status",
        "promotion_requests",
        ["workspace_id", "status", "created_at"],
    )
    op.create_index("ix_promotion_requests_persona_status", "promotion_requests", ["persona_id", "status"])
    op.create_table(
        "promotion_votes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=True),
        sa.Column("vote", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["promotion_requests.id"],
            name=op.f("fk_promotion_votes_request_id_promotion_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_votes")),
        sa.UniqueConstraint("request_id", "user_id", name="uq_promotion_votes_request_user"),
    )
    op.create_index(op.f("ix_promotion_votes_request_id"), "promotion_votes", ["request_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_promotion_votes_request_id"), table_name="promotion_votes")
    op.drop_table("promotion_votes")
    op.drop_index("ix_promotion_requests_persona_status", table_name="promotion_requests")
    op.drop_index("ix_promotion_requests_workspace_status", table_name="promotion_requests")
    op.drop_table("promotion_requests")
    with op.batch_alter_table("operations") as batch:
        batch.drop_column("review_required")
        batch.drop_column("promotion_request_id")
        batch.alter_column("status", existing_type=sa.String(length=24), type_=sa.String(length=16))
    with op.batch_alter_table("personas") as batch:
        batch.drop_column("open_promotion_requests")
        batch.drop_column("allow_self_approval")
        batch.drop_column("required_approvals")
