"""Composable draft resources, their connections to versions, and draft entries (change sets)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from greenlight.clock import new_id, utcnow
from greenlight.models.base import Base, IdType, JSONType


class Resource(Base):
    """An immutable value of one kind (a name, an example, a voice ...) owned by one user.

    Flag options are resources too, with no owner: the catalogue every user selects from.
    """

    __tablename__ = "resources"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "value_hash", name="uq_resources_value"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    workspace_id: Mapped[str | None] = mapped_column(ForeignKey("workspaces.id"), default=None)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(Text)
    value_hash: Mapped[str] = mapped_column(String(64))
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VersionResource(Base):
    """A version's connection to a resource in one slot; inactive connections are 'pending'."""

    __tablename__ = "version_resources"
    __table_args__ = (Index("ix_version_resources_version", "version_id", "slot", "position"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    version_id: Mapped[str] = mapped_column(ForeignKey("persona_versions.id"))
    slot: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id"))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class EntryStatus(enum.StrEnum):
    APPLIED = "applied"
    DORMANT = "dormant"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"


class DraftEntry(Base):
    """One patch of a draft: applied at once, or a dormant proposal awaiting its ack."""

    __tablename__ = "draft_entries"
    __table_args__ = (
        Index("ix_draft_entries_persona", "persona_id", "created_at"),
        Index("ix_draft_entries_expiry", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    persona_id: Mapped[str] = mapped_column(IdType)
    draft_version_id: Mapped[str | None] = mapped_column(IdType, default=None)
    operation_id: Mapped[str | None] = mapped_column(IdType, default=None)
    soft: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16))
    # Slot -> [[resource_id, active], ...]: what the entry sets, and what the draft had when proposed.
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType)
    base: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    decided_by: Mapped[str | None] = mapped_column(IdType, default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_reason: Mapped[str | None] = mapped_column(Text, default=None)
    decision_operation_id: Mapped[str | None] = mapped_column(IdType, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
