"""Personas and their numbered versions."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from greenlight.clock import new_id, utcnow
from greenlight.models.base import Base, IdType, JSONType


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Persona(Base):
    __tablename__ = "personas"

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    # The member who created it (Bland's user_id).
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(200), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    image_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    # Plain ids, not foreign keys: a version points back at its persona, and a cycle of
    # constraints would need deferred checks that SQLite cannot add later.
    current_production_version_id: Mapped[str | None] = mapped_column(IdType, default=None)
    current_draft_version_id: Mapped[str | None] = mapped_column(IdType, default=None)
    # Fencing token: every applied operation compares-and-bumps it in its own transaction.
    revision: Mapped[int] = mapped_column(default=0)
    last_version_number: Mapped[int] = mapped_column(default=0)
    last_event_seq: Mapped[int] = mapped_column(default=0)
    # Its review policy for production (greenlight/reviews/): 0 approvals, the default, reviews nothing.
    required_approvals: Mapped[int] = mapped_column(default=0)
    allow_self_approval: Mapped[bool] = mapped_column(default=False)
    # Promotion requests waiting for votes: the engine looks for ones to void only when there are.
    open_promotion_requests: Mapped[int] = mapped_column(default=0)


# Version content: the fields copied when a draft is promoted or a draft is made from production.
CONTENT_FIELDS: tuple[str, ...] = (
    "orchestration_prompt",
    "personality_prompt",
    "pathway_conditions",
    "kb_ids",
    "call_config",
    "default_tools",
    "version_description",
)


class PersonaVersion(Base):
    __tablename__ = "persona_versions"
    __table_args__ = (
        UniqueConstraint("persona_id", "version_number", name="uq_persona_versions_number"),
        # The database itself refuses a second production version of one persona. On PostgreSQL as
        # an exclusion constraint checked at the end of each statement (deferrable), so that one
        # statement may archive the old and insert the new (migration 0006); SQLite checks its
        # partial unique index row by row, and gets the archive first.
        ExcludeConstraint(
            ("persona_id", "="),
            name="uq_persona_versions_one_published",
            using="btree",
            where=text("status = 'published'"),
            deferrable=True,
            initially="IMMEDIATE",
        ).ddl_if(dialect="postgresql"),
        Index(
            "uq_persona_versions_one_published",
            "persona_id",
            unique=True,
            sqlite_where=text("status = 'published'"),
        ).ddl_if(dialect="sqlite"),
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    persona_id: Mapped[str] = mapped_column(ForeignKey("personas.id"), index=True)
    version_number: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=VersionStatus.DRAFT.value)
    orchestration_prompt: Mapped[str | None] = mapped_column(Text, default=None)
    personality_prompt: Mapped[str | None] = mapped_column(Text, default=None)
    pathway_conditions: Mapped[Any] = mapped_column(JSONType, nullable=True, default=None)
    kb_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    call_config: Mapped[Any] = mapped_column(JSONType, nullable=True, default=None)
    default_tools: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    version_description: Mapped[str | None] = mapped_column(Text, default=None)
    promoted_from_version_id: Mapped[str | None] = mapped_column(IdType, default=None)
    promoted_at: Mapped[datetime | None] = mapped_column(default=None)
    promoted_by: Mapped[str | None] = mapped_column(IdType, default=None)
    # The last accepted proposal applied to this draft; promotions record it.
    last_proposal_id: Mapped[str | None] = mapped_column(IdType, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
