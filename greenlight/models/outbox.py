"""Outbox events, written in the same transaction as the change they report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from greenlight.clock import new_id, utcnow
from greenlight.models.base import Base, IdType, JSONType


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        UniqueConstraint("persona_id", "persona_seq", name="uq_outbox_events_persona_seq"),
        Index("ix_outbox_events_unrelayed", "relayed_at", "created_at"),
        Index("uq_outbox_events_global_seq", "global_seq", unique=True),
        Index("ix_outbox_events_workspace_global_seq", "workspace_id", "global_seq"),
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(IdType)
    user_id: Mapped[str] = mapped_column(IdType)
    persona_id: Mapped[str] = mapped_column(IdType)
    persona_seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    operation_id: Mapped[str | None] = mapped_column(IdType, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    relayed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Position in the global stream, given by the relay (one at a time, in commit order), so every
    # position up to the highest visible one is already committed: a resumable SSE cursor.
    global_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)


class OutboxCursor(Base):
    """The relay's single row: its lock serialises relays, ``last_seq`` is the stream's head."""

    __tablename__ = "outbox_cursor"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
