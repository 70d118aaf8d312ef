"""Webhook deliveries: claiming due ones (in order per endpoint and persona), recording attempts,
the retry schedule, redelivery and the delivery log. Callers own the transaction.

A delivery is *due* when it is pending (or its sender's lease ran out) and its time has come, and
no earlier event of the same persona is still pending or sending to the same endpoint: a persona's
events reach an endpoint in ``persona_seq`` order, other personas are not held up. A dead-lettered
(failed) delivery no longer blocks: the next event of its persona goes out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, aliased

from greenlight.clock import isoformat, new_id, utcnow
from greenlight.digits import is_position
from greenlight.errors import Conflict, InvalidRequest, NotFound
from greenlight.models import DeliveryStatus, OutboxEvent, WebhookDelivery, WebhookEndpoint
from greenlight.models.webhooks import ACTIVE_STATUSES
from greenlight.notifications.endpoints import get_endpoint, signing_secrets
from greenlight.notifications.events import encode, envelope
from greenlight.notifications.transport import AttemptResult
from greenlight.settings import Settings

MAX_PAGE = 100
GONE = 410


@dataclass(frozen=True)
class Claim:
    delivery_id: str
    token: str


@dataclass(frozen=True)
class PreparedAttempt:
    claim: Claim
    endpoint_id: str
    persona_id: str
    url: str
    message_id: str
    body: bytes
    secrets: list[str]


def _due_heads(now: datetime) -> Any:
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        earlier.endpoint_id == WebhookDelivery.endpoint_id,
        earlier.persona_id == WebhookDelivery.persona_id,
        earlier.persona_seq < WebhookDelivery.persona_seq,
        earlier.status.in_(ACTIVE_STATUSES),
    )
    return (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status.in_(ACTIVE_STATUSES),
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.enabled,
            ~blocked,
        )
    )


def _claim(session: Session, delivery_ids: list[str], now: datetime, lease: float) -> list[Claim]:
    """Take each delivery for one sender until ``now + lease``; a row someone else took is skipped."""
    claims = []
    for delivery_id in delivery_ids:
        token = new_id()
        taken = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status.in_(ACTIVE_STATUSES),
                WebhookDelivery.next_attempt_at <= now,
            )
            .values(
                status=DeliveryStatus.SENDING.value,
                claim_token=token,
                next_attempt_at=now + timedelta(seconds=lease),
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            claims.append(Claim(delivery_id, token))
    return claims


def claim_due(session: Session, settings: Settings) -> list[Claim]:
    now = utcnow()
    ids = list(
        session.scalars(
            _due_heads(now)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(settings.webhook_dispatch_batch_size)
        )
    )
    return _claim(session, ids, now, settings.webhook_lease_seconds)


def claim_next_in_stream(
    session: Session, endpoint_id: str, persona_id: str, settings: Settings
) -> Claim | None:
    """The next due event of one endpoint-and-persona stream, for the sender that just finished one."""
    now = utcnow()
    head = session.scalar(
        _due_heads(now)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.persona_id == persona_id)
        .order_by(WebhookDelivery.persona_seq)
        .limit(1)
    )
    claims = _claim(session, [head], now, settings.webhook_lease_seconds) if head else []
    return claims[0] if claims else None


def _owned_claim(session: Session, claim: Claim) -> WebhookDelivery | None:
    delivery = session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == claim.delivery_id, WebhookDelivery.claim_token == claim.token)
        .with_for_update()
    )
    if delivery is None or delivery.status != DeliveryStatus.SENDING.value:
        return None
    return delivery


def begin_attempt(session: Session, claim: Claim, settings: Settings) -> PreparedAttempt | None:
    """Count the attempt and renew the lease just before sending; None if the claim was lost.

    Counting here (not when claiming) means a claim that waited in a queue costs no attempt, while
    a sender killed mid-request does: a poison endpoint cannot loop forever.
    """
    delivery = _owned_claim(session, claim)
    if delivery is None:
        return None
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    event = session.get(OutboxEvent, delivery.event_id)
    now = utcnow()
    if endpoint is None or event is None or not endpoint.enabled:
        delivery.status = DeliveryStatus.PENDING.value
        delivery.claim_token = None
        delivery.next_attempt_at = now
        return None
    delivery.attempts += 1
    delivery.total_attempts += 1
    delivery.last_attempt_at = now
    delivery.next_attempt_at = now + timedelta(seconds=settings.webhook_lease_seconds)
    delivery.updated_at = now
    return PreparedAttempt(
        claim=claim,
        endpoint_id=endpoint.id,
        persona_id=delivery.persona_id,
        url=endpoint.url,
        message_id=event.id,
        body=encode(envelope(event)),
        secrets=signing_secrets(endpoint, now),
    )


def retry_delay(attempts: int, result: AttemptResult, settings: Settings, rng: random.Random) -> float | None:
    """Seconds until the next attempt, or None when the schedule is spent (the delivery fails)."""
    schedule = settings.webhook_retry_schedule_seconds
    if attempts >= len(schedule):
        return None
    delay = schedule[attempts]
    if settings.webhook_retry_jitter:
        delay *= 1 + rng.uniform(-settings.webhook_retry_jitter, settings.webhook_retry_jitter)
    if result.retry_after_seconds is not None:
        delay = max(delay, min(result.retry_after_seconds, settings.webhook_max_retry_after_seconds))
    return delay


def record_attempt(
    session: Session,
    claim: Claim,
    result: AttemptResult,
    settings: Settings,
    rng: random.Random | None = None,
) -> bool:
    """Store the outcome. True when the delivery is finished (delivered or dead-lettered) and its
    stream may move on; False when it will be retried, or the claim was lost meanwhile."""
    delivery = _owned_claim(session, claim)
    if delivery is None:
        return False
    now = utcnow()
    delivery.claim_token = None
    delivery.last_status_code = result.status_code
    delivery.last_latency_ms = result.latency_ms
    delivery.last_error = result.error
    delivery.updated_at = now
    if result.succeeded:
        delivery.status = DeliveryStatus.SUCCEEDED.value
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        return True
    if result.status_code == GONE:
        delivery.status = DeliveryStatus.FAILED.value
        delivery.next_attempt_at = None
        delivery.last_error = "the endpoint answered 410 Gone and was disabled"
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == delivery.endpoint_id)
            .values(enabled=False, disabled_reason="answered 410 Gone", updated_at=now)
        )
        return False
    delay = retry_delay(delivery.attempts, result, settings, rng or random.Random())
    if delay is None:
        delivery.status = DeliveryStatus.FAILED.value
        delivery.next_attempt_at = None
        return True
    delivery.status = DeliveryStatus.PENDING.value
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    return False


def redeliver(session: Session, workspace_id: str, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
    """Send again now: a finished delivery starts a new round of the schedule; a pending one stops
    waiting. It is delivered in its persona's order again (it holds back later pending events)."""
    endpoint = get_endpoint(session, workspace_id, endpoint_id)
    delivery = get_delivery(session, endpoint, delivery_id, for_update=True)
    if not endpoint.enabled:
        raise Conflict(
            "The webhook is disabled; enable it before redelivering",
            {"webhook_id": endpoint.id, "disabled_reason": endpoint.disabled_reason},
            code="WEBHOOK_DISABLED",
        )
    now = utcnow()
    if delivery.status == DeliveryStatus.SENDING.value:
        return delivery
    if delivery.status != DeliveryStatus.PENDING.value:
        delivery.attempts = 0
        delivery.delivered_at = None
    delivery.status = DeliveryStatus.PENDING.value
    delivery.next_attempt_at = now
    delivery.claim_token = None
    delivery.updated_at = now
    return delivery


def get_delivery(
    session: Session, endpoint: WebhookEndpoint, delivery_id: str, *, for_update: bool = False
) -> WebhookDelivery:
    query = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id,
        WebhookDelivery.endpoint_id == endpoint.id,
        WebhookDelivery.workspace_id == endpoint.workspace_id,
    )
    if for_update:
        query = query.with_for_update()
    delivery = session.scalar(query)
    if delivery is None:
        raise NotFound("Delivery not found", {"delivery_id": delivery_id})
    return delivery


def parse_page(
    limit: int | None, cursor: str | None, status: str | None
) -> tuple[int, int | None, str | None]:
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(
            f"limit must be between 1 and {MAX_PAGE}", {"limit": limit}, code="INVALID_LIMIT"
        )
    before = None
    if cursor is not None:
        if not is_position(cursor):
            raise InvalidRequest("cursor must be a next_cursor from an earlier page", {"cursor": cursor})
        before = int(cursor)
    statuses = [s.value for s in DeliveryStatus]
    if status is not None and status not in statuses:
        raise InvalidRequest("Unknown delivery status", {"status": status, "allowed": statuses})
    return limit or 50, before, status


def list_deliveries(
    session: Session,
    workspace_id: str,
    endpoint_id: str,
    *,
    limit: int | None = None,
    cursor: str | None = None,
    status: str | None = None,
) -> tuple[list[WebhookDelivery], str | None]:
    """Newest first (by stream position), keyset-paginated: pass ``next_cursor`` back as ``cursor``."""
    size, before, wanted = parse_page(limit, cursor, status)
    endpoint = get_endpoint(session, workspace_id, endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if before is not None:
        query = query.where(WebhookDelivery.global_seq < before)
    if wanted is not None:
        query = query.where(WebhookDelivery.status == wanted)
    rows = list(session.scalars(query.order_by(WebhookDelivery.global_seq.desc()).limit(size + 1)))
    next_cursor = str(rows[size - 1].global_seq) if len(rows) > size else None
    return rows[:size], next_cursor


def delivery_to_dict(delivery: WebhookDelivery) -> dict[str, Any]:
    sending = delivery.status == DeliveryStatus.SENDING.value
    return {
        "id": delivery.id,
        "webhook_id": delivery.endpoint_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "persona_id": delivery.persona_id,
        "persona_seq": delivery.persona_seq,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "total_attempts": delivery.total_attempts,
        "response_status_code": delivery.last_status_code,
        "latency_ms": delivery.last_latency_ms,
        "error": delivery.last_error,
        "last_attempt_at": isoformat(delivery.last_attempt_at),
        "next_attempt_at": None if sending else isoformat(delivery.next_attempt_at),
        "delivered_at": isoformat(delivery.delivered_at),
        "created_at": isoformat(delivery.created_at),
    }
