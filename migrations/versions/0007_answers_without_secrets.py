"""stored idempotent answers keep no webhook secret

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 11:00:00

Answers stored before kept a webhook's signing secret as it was answered, for as long as the record
lived (after the secret's rotation too). They keep its SHA-256 instead, as new answers do
(greenlight/idempotency.py): a replay reads the secret from the webhook while it is unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from greenlight.idempotency import withhold_secret
from greenlight.models.base import JSONType

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    records = sa.table("idempotency_records", sa.column("id", sa.String), sa.column("body", JSONType))
    bind = op.get_bind()
    found = bind.execute(
        sa.select(records.c.id, records.c.body).where(sa.cast(records.c.body, sa.Text).contains("whsec"))
    )
    for record_id, body in found.all():
        stored = withhold_secret(body)
        if stored is not body:
            bind.execute(records.update().where(records.c.id == record_id).values(body=stored))


def downgrade() -> None:
    """Nothing to put back: the secrets live in their webhooks, where replays read them."""
