"""The audit log: one row per change in a workspace (who, with which key, what, when, the outcome)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from greenlight.clock import new_id, utcnow
from greenlight.models.base import Base, IdType, JSONType


class AuditOutcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    # The change could not be applied: given up (TOO_MANY_ATTEMPTS), refused by the database.
    FAILED = "failed"
    # The domain refused the change as asked (a conflict, a missing draft, production moved).
    REFUSED = "refused"


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        # Every listing is one workspace's, newest first, keyset-paged on (occurred_at, id).
        Index("ix_audit_events_workspace", "workspace_id", "occurred_at", "id"),
        Index("ix_audit_events_actor", "workspace_id", "actor_user_id", "occurred_at", "id"),
        Index("ix_audit_events_persona", "workspace_id", "persona_id", "occurred_at", "id"),
        Index("ix_audit_events_action", "workspace_id", "action", "occurred_at", "id"),
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(IdType)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None: the system or an operator on the command line, not a member.
    actor_user_id: Mapped[str | None] = mapped_column(IdType, default=None)
    # The id of the key used, never the key.
    key_id: Mapped[str | None] = mapped_column(IdType, default=None)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    persona_id: Mapped[str | None] = mapped_column(IdType, default=None)
    operation_id: Mapped[str | None] = mapped_column(IdType, default=None)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
