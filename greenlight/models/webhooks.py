"""Webhook endpoints (per workspace) and their deliveries (one row per event and endpoint)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from greenlight.clock import new_id, utcnow
from greenlight.models.base import Base, IdType, JSONType


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    # None: every event type; otherwise exact types or prefixes such as "version.*".
    event_types: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True, default=None)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    # Stored as given out (``whsec_...``): signing needs the key itself.
    secret: Mapped[str] = mapped_column(String(128))
    previous_secret: Mapped[str | None] = mapped_column(String(128), default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for next_attempt_at (or for an earlier event of its persona)
    SENDING = "sending"  # claimed by a sender until next_attempt_at (its lease)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # dead letter: the schedule ran out, or the endpoint answered 410


ACTIVE_STATUSES = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_stream", "endpoint_id", "persona_id", "persona_seq"),
        Index("ix_webhook_deliveries_log", "endpoint_id", "global_seq"),
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    workspace_id: Mapped[str] = mapped_column(IdType)
    user_id: Mapped[str] = mapped_column(IdType)
    event_id: Mapped[str] = mapped_column(ForeignKey("outbox_events.id"))
    event_type: Mapped[str] = mapped_column(String(64))
    persona_id: Mapped[str] = mapped_column(IdType)
    persona_seq: Mapped[int]
    global_seq: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    # Attempts in the current round (a redelivery starts a new round); total_attempts never resets.
    attempts: Mapped[int] = mapped_column(default=0)
    total_attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    claim_token: Mapped[str | None] = mapped_column(IdType, default=None)
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_latency_ms: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
