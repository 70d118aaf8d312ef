"""Durable operations: the source of truth for every accepted change."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, ForeignKey, Index, String, UniqueConstraint, and_
from sqlalchemy.orm import Mapped, mapped_column

from greenlight.clock import new_id, utcnow
from greenlight.models.base import Base, IdType, JSONType


class OperationStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # Its turn came, and it waits outside the persona's order for approvals (greenlight/reviews/):
    # neither pending (no drain claims it) nor finished (it may still apply).
    AWAITING_APPROVAL = "awaiting_approval"


PENDING_STATUSES = (OperationStatus.QUEUED.value, OperationStatus.RUNNING.value)


class Operation(Base):
    __tablename__ = "operations"
    __table_args__ = (
        UniqueConstraint("persona_id", "seq", name="uq_operations_persona_seq"),
        UniqueConstraint("workspace_id", "idempotency_key", name="uq_operations_workspace_key"),
        Index("ix_operations_pending", "status", "created_at"),
        Index("ix_operations_persona_status", "persona_id", "status", "seq"),
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    # The member who asked for it.
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    # The id of the key the request came with (never the key) and its X-Request-ID, for the audit
    # log; None for what the system submits itself (a retry from the command line, a due schedule).
    key_id: Mapped[str | None] = mapped_column(IdType, default=None)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    # Not a foreign key: an operation may create its persona.
    persona_id: Mapped[str] = mapped_column(IdType)
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    request_hash: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(24), default=OperationStatus.QUEUED.value)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The promotion request it waits behind (or waited behind), when its persona reviews promotions.
    promotion_request_id: Mapped[str | None] = mapped_column(IdType, default=None)
    # Accepted from a member who may not change production themselves: it applies only approved.
    review_required: Mapped[bool] = mapped_column(default=False)


class OperationCounter(Base):
    """Per-persona sequence for accepted operations.

    Incremented in the accepting transaction, so its row lock makes sequence order
    equal to commit order for one persona. Only the API touches it; workers never do.
    """

    __tablename__ = "operation_counters"

    persona_id: Mapped[str] = mapped_column(IdType, primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)


def pending_of(persona_id: Any, operations: Any = Operation) -> ColumnElement[bool]:
    """A persona's operations not yet applied (what its drain claims, in ``seq`` order); for the
    mapped class or an alias of it, with the persona's id as a value or a bound parameter."""
    return and_(operations.persona_id == persona_id, operations.status.in_(PENDING_STATUSES))
