"""Promotions scheduled for later: durable rows, not broker ETAs (which misbehave on Redis)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from greenlight.clock import new_id, utcnow
from greenlight.models.base import Base, IdType, JSONType


class ScheduleStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    SUBMITTED = "submitted"
    CANCELLED = "cancelled"


class ScheduledPromotion(Base):
    __tablename__ = "scheduled_promotions"
    __table_args__ = (Index("ix_scheduled_promotions_due", "status", "run_at"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    persona_id: Mapped[str] = mapped_column(ForeignKey("personas.id"), index=True)
    # The operation to submit when due: its kind and payload.
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    run_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=ScheduleStatus.SCHEDULED.value)
    created_by_operation_id: Mapped[str | None] = mapped_column(IdType, default=None)
    operation_id: Mapped[str | None] = mapped_column(IdType, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
