"""The relay: give new outbox events their place in the global stream and fan them out to endpoints.

Relays run one at a time: each starts by updating the single ``outbox_cursor`` row, whose lock
holds any other relay until this one commits. So ``global_seq`` follows commit order, every
position up to the highest committed one is visible (readers of the stream never skip a late
commit), and a persona's events get increasing positions in ``persona_seq`` order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from greenlight.clock import utcnow
from greenlight.models import DeliveryStatus, OutboxCursor, OutboxEvent, WebhookDelivery, WebhookEndpoint
from greenlight.notifications.events import type_matches
from greenlight.settings import Settings, get_settings
from greenlight.upsert import insert_missing

CURSOR_ID = 1


@dataclass(frozen=True)
class Relayed:
    count: int = 0
    head: int = 0
    workspace_ids: frozenset[str] = field(default_factory=frozenset)
    deliveries: int = 0


def has_unrelayed(session: Session) -> bool:
    return session.scalar(select(OutboxEvent.id).where(OutboxEvent.relayed_at.is_(None)).limit(1)) is not None


def _lock_cursor(session: Session, now: datetime) -> int:
    """Take the relay's row lock (first statement: a write, so SQLite takes its write lock too)."""
    last = _touch_cursor(session, now)
    if last is None:
        # No row (a schema made without the migration): start after whatever is already numbered.
        # Two relays may both find none: the second's insert waits for the first's and leaves it.
        start = session.scalar(select(func.max(OutboxEvent.global_seq))) or 0
        row = {"id": CURSOR_ID, "last_seq": start, "updated_at": now}
        insert_missing(session, OutboxCursor, row, ("id",))
        last = _touch_cursor(session, now)
        assert last is not None
    return last


def _touch_cursor(session: Session, now: datetime) -> int | None:
    last = session.execute(
        update(OutboxCursor)
        .where(OutboxCursor.id == CURSOR_ID)
        .values(updated_at=now)
        .returning(OutboxCursor.last_seq)
    ).scalar_one_or_none()
    return None if last is None else int(last)


def _next_events(session: Session, limit: int) -> list[OutboxEvent]:
    """The oldest unrelayed events, in commit-ish order, each persona's in ``persona_seq`` order."""
    batch = list(
        session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.relayed_at.is_(None))
            .order_by(OutboxEvent.created_at, OutboxEvent.persona_id, OutboxEvent.persona_seq)
            .limit(limit)
        )
    )
    if not batch:
        return []
    # Clocks of different workers may disagree: take any earlier unrelayed event of these personas too.
    highest: dict[str, int] = {}
    for event in batch:
        highest[event.persona_id] = max(highest.get(event.persona_id, 0), event.persona_seq)
    known = {event.id for event in batch}
    earlier = session.scalars(
        select(OutboxEvent).where(OutboxEvent.relayed_at.is_(None), OutboxEvent.persona_id.in_(list(highest)))
    )
    batch += [e for e in earlier if e.id not in known and e.persona_seq <= highest[e.persona_id]]
    batch.sort(key=lambda e: (e.created_at, e.persona_id, e.persona_seq))
    # Keep the slots, but fill each persona's slots with its events in sequence order.
    slots: dict[str, list[int]] = defaultdict(list)
    for index, event in enumerate(batch):
        slots[event.persona_id].append(index)
    ordered: list[OutboxEvent] = list(batch)
    for indexes in slots.values():
        events = sorted((batch[i] for i in indexes), key=lambda e: e.persona_seq)
        for index, event in zip(indexes, events, strict=True):
            ordered[index] = event
    return ordered


def _endpoints_by_workspace(session: Session, workspace_ids: set[str]) -> dict[str, list[WebhookEndpoint]]:
    found: dict[str, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.workspace_id.in_(list(workspace_ids)), WebhookEndpoint.enabled
        )
    ):
        found[endpoint.workspace_id].append(endpoint)
    return found


def relay_batch(session: Session, settings: Settings | None = None) -> Relayed:
    """Number up to a batch of events and create their deliveries, in the caller's transaction."""
    settings = settings or get_settings()
    now = utcnow()
    last = _lock_cursor(session, now)
    events = _next_events(session, settings.outbox_relay_batch_size)
    if not events:
        return Relayed(head=last)
    first_attempt = now + timedelta(seconds=settings.webhook_retry_schedule_seconds[0])
    endpoints = _endpoints_by_workspace(session, {event.workspace_id for event in events})
    deliveries = 0
    for event in events:
        last += 1
        event.global_seq = last
        event.relayed_at = now
        for endpoint in endpoints.get(event.workspace_id, []):
            if not type_matches(endpoint.event_types, event.type):
                continue
            session.add(
                WebhookDelivery(
                    endpoint_id=endpoint.id,
                    workspace_id=event.workspace_id,
                    user_id=event.user_id,
                    event_id=event.id,
                    event_type=event.type,
                    persona_id=event.persona_id,
                    persona_seq=event.persona_seq,
                    global_seq=last,
                    status=DeliveryStatus.PENDING.value,
                    next_attempt_at=first_attempt,
                    created_at=now,
                    updated_at=now,
                )
            )
            deliveries += 1
    session.execute(
        update(OutboxCursor).where(OutboxCursor.id == CURSOR_ID).values(last_seq=last, updated_at=now)
    )
    return Relayed(
        count=len(events),
        head=last,
        workspace_ids=frozenset(e.workspace_id for e in events),
        deliveries=deliveries,
    )
