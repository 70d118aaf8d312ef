"""Promotion history: one row per promotion, never updated."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from greenlight.clock import new_id, utcnow
from greenlight.models.base import Base, IdType


class Promotion(Base):
    __tablename__ = "promotions"
    __table_args__ = (
        Index("ix_promotions_persona_time", "persona_id", "promoted_at", "id"),
        Index("ix_promotions_persona_by_time", "persona_id", "promoted_by", "promoted_at", "id"),
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    persona_id: Mapped[str] = mapped_column(ForeignKey("personas.id"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    version_id: Mapped[str] = mapped_column(IdType)
    version_number: Mapped[int]
    previous_version_id: Mapped[str | None] = mapped_column(IdType, default=None)
    previous_version_number: Mapped[int | None] = mapped_column(default=None)
    promoted_by: Mapped[str] = mapped_column(IdType)
    promoted_at: Mapped[datetime] = mapped_column(default=utcnow)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    operation_id: Mapped[str | None] = mapped_column(IdType, default=None)
    proposal_id: Mapped[str | None] = mapped_column(IdType, default=None)
