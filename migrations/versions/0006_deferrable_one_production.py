"""one production version per persona, checked at the end of each statement on PostgreSQL

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 13:40:00

The partial unique index is checked row by row, so archiving the old production version and
inserting the new one had to be two statements. An exclusion constraint with the same rule, declared
DEFERRABLE INITIALLY IMMEDIATE, is checked once at the end of each statement: one statement may do
both, and no transaction ever sees (or commits) two production versions. SQLite keeps its index.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "uq_persona_versions_one_published"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(NAME, table_name="persona_versions")
    op.execute(
        f"ALTER TABLE persona_versions ADD CONSTRAINT {NAME} EXCLUDE USING btree (persona_id WITH =) "
        "WHERE (status = 'published') DEFERRABLE INITIALLY IMMEDIATE"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_constraint(NAME, "persona_versions")
    op.execute(f"CREATE UNIQUE INDEX {NAME} ON persona_versions (persona_id) WHERE status = 'published'")
