"""Promotion requests and the votes on them (greenlight/reviews/); a persona's review policy is
kept on its row (greenlight/models/personas.py), read with it at no cost when operations apply."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from greenlight.clock import new_id, utcnow
from greenlight.models.base import Base, IdType

# The environment every promotion path changes today; environments (#24) add more names.
PRODUCTION = "production"


class RequestStatus(enum.StrEnum):
    OPEN = "open"  # waiting for approvals
    APPROVED = "approved"  # every approval is in: its operation is queued again, in the persona's order
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    STALE = "stale"  # the draft or production changed after the request: its approvals are void


class PromotionRequest(Base):
    """A promotion held until enough members approve the exact content it would promote."""

    __tablename__ = "promotion_requests"
    __table_args__ = (
        Index("ix_promotion_requests_workspace_status", "workspace_id", "status", "created_at"),
        Index("ix_promotion_requests_persona_status", "persona_id", "status"),
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(IdType)
    persona_id: Mapped[str] = mapped_column(ForeignKey("personas.id"))
    environment: Mapped[str] = mapped_column(String(64), default=PRODUCTION)
    operation_id: Mapped[str] = mapped_column(IdType, unique=True)
    requested_by: Mapped[str] = mapped_column(IdType)
    requested_key_id: Mapped[str | None] = mapped_column(IdType, default=None)
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.OPEN.value)
    # The policy as it was when the request was made: a later change of policy does not move it.
    required_approvals: Mapped[int]
    allow_self_approval: Mapped[bool]
    # What the approvals are for: this version's content, replacing this production version.
    version_id: Mapped[str] = mapped_column(IdType)
    version_number: Mapped[int]
    content_digest: Mapped[str] = mapped_column(String(80))
    production_version_id: Mapped[str | None] = mapped_column(IdType, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)


class Vote(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class PromotionVote(Base):
    """One member's vote on a request (one per member)."""

    __tablename__ = "promotion_votes"
    __table_args__ = (UniqueConstraint("request_id", "user_id", name="uq_promotion_votes_request_user"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("promotion_requests.id"), index=True)
    user_id: Mapped[str] = mapped_column(IdType)
    key_id: Mapped[str | None] = mapped_column(IdType, default=None)
    vote: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
